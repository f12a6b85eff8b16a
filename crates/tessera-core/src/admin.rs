//! Administration from the command line: Core API credentials.
//!
//! A credential is a confidential client of the `system` issuer that may use the
//! client-credentials grant with the `core:read` and `core:write` scopes, optionally
//! restricted to some issuers. Its secret is returned once and stored only as a hash.

use serde_json::json;
use tessera_crypto::SecretToken;
use tessera_model::{
    Actor, Client, ClientId, ClientTokenSettings, ClientType, IssuerSlug, NewEvent,
};
use tessera_store::{IssuerScope, StoreError};

use crate::{Core, CoreError};

/// Scopes a Core API credential carries.
pub const CORE_SCOPES: [&str; 2] = ["core:read", "core:write"];

/// A credential just created: the only moment its secret exists in clear.
#[derive(Debug)]
pub struct NewCredential {
    /// The OAuth `client_id`.
    pub client_id: ClientId,
    /// The client secret, to be shown once.
    pub client_secret: SecretToken,
}

impl Core {
    /// Creates a Core API credential named `name`, restricted to `issuers` unless empty.
    pub async fn create_admin_credential(
        &self,
        name: &str,
        issuers: &[IssuerSlug],
    ) -> Result<NewCredential, CoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(CoreError::Invalid(
                "a credential name is 1 to 200 characters long".to_owned(),
            ));
        }
        for slug in issuers {
            if *slug == IssuerSlug::system() {
                return Err(CoreError::InvalidField {
                    field: "issuer",
                    reason: "cannot name the system issuer: restricted credentials never \
                             manage Core API credentials"
                        .to_owned(),
                });
            }
            if self.store.issuers().find_by_slug(slug).await?.is_none() {
                return Err(CoreError::UnknownIssuer(slug.to_string()));
            }
        }
        let system = self
            .store
            .issuers()
            .find_by_slug(&IssuerSlug::system())
            .await?
            .ok_or(CoreError::Store(StoreError::NotFound))?;

        let now = self.clock.now();
        let secret = SecretToken::generate();
        let client = Client {
            id: ClientId::new(),
            issuer_id: system.id,
            name: name.to_owned(),
            client_type: ClientType::Confidential,
            secret_hash: Some(*secret.hash().as_bytes()),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["client_credentials".to_owned()],
            token_endpoint_auth_method: "client_secret_basic".to_owned(),
            allowed_scopes: CORE_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            first_party: true,
            allowed_issuers: (!issuers.is_empty()).then(|| issuers.to_vec()),
            id_token_signed_response_alg: None,
            token_settings: ClientTokenSettings::default(),
            jwks: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        let restricted: Vec<&str> = issuers.iter().map(IssuerSlug::as_str).collect();
        let event = NewEvent::new(
            "client.created",
            client.id,
            Actor::System,
            json!({ "name": name, "kind": "core_api_credential", "allowed_issuers": restricted }),
            now,
        );
        self.store
            .clients()
            .create(IssuerScope::of(&system), &client, &event)
            .await?;
        Ok(NewCredential {
            client_id: client.id,
            client_secret: secret,
        })
    }
}

#[cfg(test)]
mod tests {

    use tessera_crypto::SecretHash;
    use tessera_model::IssuerSlug;
    use tessera_store::IssuerScope;

    use crate::CoreError;

    #[tokio::test]
    async fn a_credential_is_stored_hashed_and_restricted_to_existing_issuers() {
        let (core, _, db) = crate::test_core().await;
        let builtin = core.ensure_builtin_issuers().await.unwrap();

        let credential = core
            .create_admin_credential("ci", &[IssuerSlug::default_issuer()])
            .await
            .unwrap();
        let stored = db
            .store
            .clients()
            .find(IssuerScope::of(&builtin.system), credential.client_id)
            .await
            .unwrap()
            .expect("credential stored in the system issuer");
        let hash = SecretHash::from_bytes(stored.secret_hash.unwrap());
        assert!(hash.verify(credential.client_secret.expose()));
        assert_ne!(
            stored.secret_hash.unwrap().to_vec(),
            credential.client_secret.expose().as_bytes().to_vec()
        );
        assert_eq!(
            stored.allowed_issuers,
            Some(vec![IssuerSlug::default_issuer()])
        );
        assert_eq!(stored.grant_types, ["client_credentials"]);

        let unrestricted = core.create_admin_credential("all", &[]).await.unwrap();
        let stored = db
            .store
            .clients()
            .find(IssuerScope::of(&builtin.system), unrestricted.client_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.allowed_issuers, None);

        let missing = IssuerSlug::parse("nowhere").unwrap();
        assert!(matches!(
            core.create_admin_credential("x", &[missing]).await,
            Err(CoreError::UnknownIssuer(slug)) if slug == "nowhere"
        ));
        assert!(matches!(
            core.create_admin_credential("  ", &[]).await,
            Err(CoreError::Invalid(_))
        ));
    }
}
