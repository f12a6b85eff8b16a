//! Background work that any node may do but no two may do at once: a run of a job is taken
//! with a lease in the database ([`Core::lease_job`]), renewed while it runs. A node that dies
//! holding one blocks the job only until the lease expires; then the next node to ask takes it
//! over.

use tessera_model::Actor;

use crate::issuers::IssuerListing;
use crate::{Core, CoreError};

impl Core {
    /// Takes (or, when `holder` has it, renews) the lease on `job` for `seconds`; false while
    /// another holder's lease is live.
    pub async fn lease_job(
        &self,
        job: &str,
        holder: &str,
        seconds: i64,
    ) -> Result<bool, CoreError> {
        let now = self.clock.now();
        Ok(self
            .store
            .lease_job(job, holder, now, now.plus_seconds(seconds))
            .await?)
    }

    /// Deletes what expired (single-use tickets, interactions, sessions, token families with
    /// their refresh tokens, opaque access tokens, idempotency keys), up to `batch` rows of each
    /// kind; returns how many went. Call again until it returns 0.
    pub async fn purge_expired(&self, batch: u32) -> Result<u64, CoreError> {
        Ok(self.store.purge_expired(self.clock.now(), batch).await?)
    }

    /// Rotates the keys of every issuer whose `key_rotation_days` have passed since its last
    /// rotation (as [`Core::rotate_keys`] through the Core API does, with the system as the
    /// actor); returns how many issuers were rotated. Only issuers that set a period and are
    /// due are read. An issuer whose rotation fails is reported and the others still rotate.
    pub async fn rotate_due_keys(&self) -> Result<u64, CoreError> {
        let due = self
            .issuers_where(IssuerListing::DueForKeyRotation(self.clock.now()))
            .await?;
        let mut rotated = 0;
        for issuer in due {
            match self.rotate_keys(&issuer, Actor::System).await {
                Ok(()) => rotated += 1,
                Err(error) => tracing::warn!(
                    %error,
                    issuer = %issuer.slug,
                    "a scheduled key rotation failed; it is tried again at the next run"
                ),
            }
        }
        Ok(rotated)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tessera_model::{Actor, KeyState, NewEvent};
    use tessera_store::{Change, EventListFilter, IssuerScope, PageRequest};

    #[tokio::test]
    async fn keys_rotate_on_their_own_once_the_issuers_period_has_passed() {
        let (core, clock, _db) = crate::test_core().await;
        let builtin = core.ensure_builtin_issuers().await.unwrap();
        let mut daily = builtin.default.clone();
        daily.settings = daily
            .settings
            .clone()
            .with_key_rotation_days(Some(1))
            .unwrap();
        let event = NewEvent::new(
            "issuer.updated",
            daily.id,
            Actor::System,
            json!({ "fields": ["settings.key_rotation_days"] }),
            core.clock.now(),
        );
        let daily = core.store.issuers().update(&daily, &event).await.unwrap();
        core.invalidate(Change::Issuer(daily.id)).await;
        let state_of = async |issuer| {
            let mut keys: Vec<_> = core
                .list_keys(issuer)
                .await
                .unwrap()
                .into_iter()
                .map(|k| (k.id, k.state))
                .collect();
            keys.sort_by_key(|(id, _)| *id);
            keys
        };
        let before = state_of(&daily).await;
        let manual_before = state_of(&builtin.system).await;

        assert_eq!(core.rotate_due_keys().await.unwrap(), 0, "not due yet");
        clock.advance(86_400 - 1);
        assert_eq!(core.rotate_due_keys().await.unwrap(), 0, "a second early");
        clock.advance(1);
        assert_eq!(core.rotate_due_keys().await.unwrap(), 1);
        let after = state_of(&daily).await;
        let was_next: Vec<_> = before
            .iter()
            .filter(|(_, state)| *state == KeyState::Next)
            .map(|(id, _)| *id)
            .collect();
        assert!(!was_next.is_empty());
        for id in &was_next {
            assert!(
                after.contains(&(*id, KeyState::Current)),
                "next became current"
            );
        }
        let signing = core
            .issuer_keys(&daily)
            .await
            .unwrap()
            .signer()
            .kid()
            .to_owned();
        assert!(
            was_next.iter().any(|id| id.to_string() == signing),
            "this node signs with the new current key at once"
        );
        assert_eq!(
            state_of(&builtin.system).await,
            manual_before,
            "an issuer without a period is left alone"
        );
        let rotated = core
            .store
            .events()
            .list(
                IssuerScope::of(&daily),
                &EventListFilter::default(),
                PageRequest::first(100),
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.event_type == "key.rotated")
            .collect::<Vec<_>>();
        assert_eq!(rotated.len(), 1);
        assert_eq!(rotated[0].actor, Actor::System);

        assert_eq!(
            core.rotate_due_keys().await.unwrap(),
            0,
            "the new current key starts a new period"
        );
        clock.advance(86_400);
        assert_eq!(core.rotate_due_keys().await.unwrap(), 1);
    }
}
