//! First start: the built-in issuers.
//!
//! `system` owns the Core API's clients (the management plane eats its own cooking,
//! DESIGN.md §2); `default` gives the quickstart an issuer to sign in at. Creating them is
//! idempotent and safe when several processes start at once: a lost creation race is a
//! success.

use serde_json::json;
use tessera_model::{Actor, Issuer, IssuerId, IssuerSettings, IssuerSlug, NewEvent};
use tessera_store::StoreError;

use crate::{Core, CoreError};

/// The built-in issuers, as found or created.
#[derive(Debug, Clone)]
pub struct BuiltinIssuers {
    /// The issuer of Core API credentials.
    pub system: Issuer,
    /// The quickstart's issuer.
    pub default: Issuer,
}

impl Core {
    /// Creates the `system` and `default` issuers if they do not exist yet.
    pub async fn ensure_builtin_issuers(&self) -> Result<BuiltinIssuers, CoreError> {
        Ok(BuiltinIssuers {
            system: self.ensure_issuer(IssuerSlug::system(), "System").await?,
            default: self
                .ensure_issuer(IssuerSlug::default_issuer(), "Default")
                .await?,
        })
    }

    async fn ensure_issuer(
        &self,
        slug: IssuerSlug,
        display_name: &str,
    ) -> Result<Issuer, CoreError> {
        if let Some(issuer) = self.store.issuers().find_by_slug(&slug).await? {
            return Ok(issuer);
        }
        let now = self.clock.now();
        let issuer = Issuer {
            id: IssuerId::new(),
            slug: slug.clone(),
            display_name: display_name.to_owned(),
            settings: IssuerSettings::default(),
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        let event = NewEvent::new(
            "issuer.created",
            issuer.id,
            Actor::System,
            json!({ "slug": slug.as_str(), "builtin": true }),
            now,
        );
        match self.store.issuers().create(&issuer, &event).await {
            Ok(()) => {
                tracing::info!(issuer = %slug, "created built-in issuer");
                Ok(issuer)
            }
            // Another process created it first.
            Err(StoreError::AlreadyExists { .. }) => self
                .store
                .issuers()
                .find_by_slug(&slug)
                .await?
                .ok_or(CoreError::Store(StoreError::NotFound)),
            Err(other) => Err(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {

    use tessera_store::{IssuerScope, PageRequest};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn builtin_issuers_are_created_once_even_by_racing_starts() {
        let (core, _, db) = crate::test_core().await;
        let (a, b) = tokio::join!(core.ensure_builtin_issuers(), core.ensure_builtin_issuers());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.system.id, b.system.id);
        assert_eq!(a.default.id, b.default.id);
        let again = core.ensure_builtin_issuers().await.unwrap();
        assert_eq!(again.default, a.default);
        let issuers = db
            .store
            .issuers()
            .list(PageRequest::first(10))
            .await
            .unwrap()
            .items;
        assert_eq!(issuers.len(), 2);
        let events = db
            .store
            .events()
            .list(
                IssuerScope::of(&a.system),
                &Default::default(),
                PageRequest::first(10),
            )
            .await
            .unwrap()
            .items;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type, "issuer.created");
    }
}
