//! What a user has let in, as administrators see it: the consents (grants) the user gave to
//! third-party clients and the browser sessions the user signed in with, listed and revoked
//! through the Core API.
//!
//! Revoking a consent also revokes every token family of that user and client, in the same
//! transaction (`GrantRepo::delete`), so a refresh token stops working at once and the next
//! authorization asks again. Revoking a session ends it: the cookie no longer signs the user
//! in, so `prompt=none` answers `login_required`. Each use case first checks that the user
//! exists in the issuer; a grant or session of another user is `NotFound`, like a missing one.

use serde_json::json;
use tessera_model::{Actor, ClientId, Grant, Issuer, NewEvent, Session, SessionId, UserId};
use tessera_store::{IssuerScope, StoreError};

use crate::{Core, CoreError};

/// One of a user's sessions as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSession {
    /// The session, active or ended.
    pub session: Session,
    /// The clients that received tokens from it, in the order they first did.
    pub clients: Vec<ClientId>,
    /// Whether it can still sign the user in now (neither ended nor lapsed).
    pub active: bool,
}

impl Core {
    /// The user's consents, oldest first.
    pub async fn list_user_grants(
        &self,
        issuer: &Issuer,
        user: UserId,
    ) -> Result<Vec<Grant>, CoreError> {
        self.get_user(issuer, user).await?;
        Ok(self
            .store
            .grants()
            .list_by_user(IssuerScope::of(issuer), user)
            .await?)
    }

    /// Withdraws the user's consent to `client` and revokes the tokens issued under it
    /// (`grant.revoked`). [`CoreError::NotFound`] when there is no such consent.
    pub async fn revoke_user_grant(
        &self,
        issuer: &Issuer,
        user: UserId,
        client: ClientId,
        actor: Actor,
    ) -> Result<(), CoreError> {
        self.get_user(issuer, user).await?;
        let scope = IssuerScope::of(issuer);
        let grant = self
            .store
            .grants()
            .find(scope, user, client)
            .await?
            .ok_or(CoreError::NotFound)?;
        let now = self.clock.now();
        let event = NewEvent::new(
            "grant.revoked",
            grant.id,
            actor,
            json!({ "user_id": user.to_string(), "client_id": client.to_string() }),
            now,
        );
        match self
            .store
            .grants()
            .delete(scope, user, client, now, &event)
            .await
        {
            Ok(()) => Ok(()),
            // Withdrawn meanwhile by someone else: for this caller it is not there.
            Err(StoreError::NotFound) => Err(CoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// The user's sessions, newest first, active and ended, each with the clients that
    /// received tokens from it.
    pub async fn list_user_sessions(
        &self,
        issuer: &Issuer,
        user: UserId,
    ) -> Result<Vec<UserSession>, CoreError> {
        self.get_user(issuer, user).await?;
        let scope = IssuerScope::of(issuer);
        let sessions = self.store.sessions().list_by_user(scope, user).await?;
        let now = self.clock.now();
        let mut listed = Vec::with_capacity(sessions.len());
        for session in sessions {
            let clients = self
                .store
                .sessions()
                .list_clients(scope, session.id)
                .await?;
            listed.push(UserSession {
                active: session.is_active(now),
                session,
                clients,
            });
        }
        Ok(listed)
    }

    /// Ends one of the user's sessions (`session.revoked`). Ending an ended session changes
    /// nothing and succeeds; a session of another user is [`CoreError::NotFound`].
    pub async fn revoke_user_session(
        &self,
        issuer: &Issuer,
        user: UserId,
        session: SessionId,
        actor: Actor,
    ) -> Result<(), CoreError> {
        self.get_user(issuer, user).await?;
        let scope = IssuerScope::of(issuer);
        let session = self
            .store
            .sessions()
            .find(scope, session)
            .await?
            .filter(|s| s.user_id == user)
            .ok_or(CoreError::NotFound)?;
        self.end_session(issuer, &session, "session.revoked", actor)
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tessera_model::{ClientType, Event, FixedClock, GrantId, UnixTime, User};
    use tessera_store::{PageRequest, Store};

    use super::*;
    use crate::clients::NewClient;
    use crate::users::NewUser;

    const T0: UnixTime = crate::TEST_NOW;

    struct Fixture {
        _db: tessera_store::contract::TestStore,
        store: Arc<dyn Store>,
        clock: Arc<FixedClock>,
        core: Core,
        acme: Issuer,
        globex: Issuer,
        ada: User,
        client: ClientId,
    }

    async fn user(core: &Core, issuer: &Issuer, email: &str) -> User {
        let input = NewUser {
            email: email.to_owned(),
            ..NewUser::default()
        };
        core.create_user(issuer, input, Actor::System)
            .await
            .unwrap()
    }

    async fn fixture() -> Fixture {
        let (core, clock, db) = crate::test_core().await;
        let store = db.store.clone();
        let acme = crate::test_issuer(&*store, "acme").await;
        let globex = crate::test_issuer(&*store, "globex").await;
        let ada = user(&core, &acme, "ada@example.com").await;
        let client = core
            .create_client(
                &acme,
                NewClient {
                    redirect_uris: vec!["https://notes.example.com/callback".to_owned()],
                    allowed_scopes: vec!["openid".to_owned(), "email".to_owned()],
                    ..NewClient::new("Notes", ClientType::Confidential)
                },
                Actor::System,
            )
            .await
            .unwrap()
            .client
            .id;
        Fixture {
            _db: db,
            store,
            clock,
            core,
            acme,
            globex,
            ada,
            client,
        }
    }

    fn admin() -> Actor {
        Actor::AdminClient(ClientId::new())
    }

    async fn consent(f: &Fixture, user: UserId, client: ClientId) -> Grant {
        let grant = Grant {
            id: GrantId::new(),
            issuer_id: f.acme.id,
            user_id: user,
            client_id: client,
            scopes: vec!["email".to_owned(), "openid".to_owned()],
            created_at: T0,
            updated_at: T0,
        };
        let event = NewEvent::new("grant.created", grant.id, Actor::User(user), json!({}), T0);
        f.store
            .grants()
            .save(IssuerScope::of(&f.acme), &grant, &event)
            .await
            .unwrap()
    }

    async fn events_of_type(f: &Fixture, event_type: &str) -> Vec<Event> {
        f.store
            .events()
            .list(
                IssuerScope::of(&f.acme),
                &Default::default(),
                PageRequest::first(1000),
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.event_type == event_type)
            .collect()
    }

    #[tokio::test]
    async fn a_users_grants_are_listed_and_a_revoked_one_is_gone_with_its_event() {
        let f = fixture().await;
        assert!(
            f.core
                .list_user_grants(&f.acme, f.ada.id)
                .await
                .unwrap()
                .is_empty()
        );
        let grant = consent(&f, f.ada.id, f.client).await;
        let listed = f.core.list_user_grants(&f.acme, f.ada.id).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0], grant);

        f.clock.advance(60);
        let actor = admin();
        f.core
            .revoke_user_grant(&f.acme, f.ada.id, f.client, actor)
            .await
            .unwrap();
        assert!(
            f.core
                .list_user_grants(&f.acme, f.ada.id)
                .await
                .unwrap()
                .is_empty()
        );
        let revoked = events_of_type(&f, "grant.revoked").await;
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].subject, grant.id.to_string());
        assert_eq!(revoked[0].actor, actor);
        assert_eq!(revoked[0].data["client_id"], f.client.to_string());

        // Revoking it again finds nothing.
        assert!(matches!(
            f.core
                .revoke_user_grant(&f.acme, f.ada.id, f.client, admin())
                .await,
            Err(CoreError::NotFound)
        ));
    }

    #[tokio::test]
    async fn grants_of_unknown_users_other_issuers_and_other_users_are_not_found() {
        let f = fixture().await;
        consent(&f, f.ada.id, f.client).await;
        let grace = user(&f.core, &f.acme, "grace@example.com").await;
        let elsewhere = user(&f.core, &f.globex, "ada@example.com").await;

        for (issuer, user) in [
            (&f.acme, UserId::new()),
            (&f.globex, f.ada.id),
            (&f.acme, elsewhere.id),
        ] {
            assert!(matches!(
                f.core.list_user_grants(issuer, user).await,
                Err(CoreError::NotFound)
            ));
            assert!(matches!(
                f.core
                    .revoke_user_grant(issuer, user, f.client, admin())
                    .await,
                Err(CoreError::NotFound)
            ));
        }
        // Grace never consented: Ada's grant is not hers to revoke.
        assert!(matches!(
            f.core
                .revoke_user_grant(&f.acme, grace.id, f.client, admin())
                .await,
            Err(CoreError::NotFound)
        ));
        assert_eq!(
            f.core
                .list_user_grants(&f.acme, f.ada.id)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(events_of_type(&f, "grant.revoked").await.is_empty());
    }

    #[tokio::test]
    async fn sessions_are_listed_with_their_clients_and_a_revoked_one_ends_once() {
        let f = fixture().await;
        let (older, _) = f
            .core
            .start_session(&f.acme, &f.ada, vec!["pwd".to_owned()])
            .await
            .unwrap();
        f.clock.advance(10);
        let (newer, secret) = f
            .core
            .start_session(&f.acme, &f.ada, vec!["pwd".to_owned()])
            .await
            .unwrap();
        f.store
            .sessions()
            .add_client(IssuerScope::of(&f.acme), newer.id, f.client)
            .await
            .unwrap();

        let listed = f.core.list_user_sessions(&f.acme, f.ada.id).await.unwrap();
        let summary: Vec<_> = listed
            .iter()
            .map(|s| (s.session.id, s.clients.clone(), s.active))
            .collect();
        assert_eq!(
            summary,
            [(newer.id, vec![f.client], true), (older.id, vec![], true)]
        );

        f.clock.advance(10);
        let actor = admin();
        f.core
            .revoke_user_session(&f.acme, f.ada.id, newer.id, actor)
            .await
            .unwrap();
        assert!(
            f.core
                .active_session(&f.acme, secret.expose())
                .await
                .unwrap()
                .is_none()
        );
        let listed = f.core.list_user_sessions(&f.acme, f.ada.id).await.unwrap();
        let ended = listed.iter().find(|s| s.session.id == newer.id).unwrap();
        assert_eq!(ended.session.ended_at, Some(T0.plus_seconds(20)));
        assert!(!ended.active);
        assert_eq!(
            ended.clients,
            [f.client],
            "an ended session keeps its clients"
        );
        let revoked = events_of_type(&f, "session.revoked").await;
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].subject, newer.id.to_string());
        assert_eq!(revoked[0].actor, actor);

        // Again: nothing changes, no second event.
        f.clock.advance(10);
        f.core
            .revoke_user_session(&f.acme, f.ada.id, newer.id, admin())
            .await
            .unwrap();
        assert_eq!(events_of_type(&f, "session.revoked").await.len(), 1);
        let listed = f.core.list_user_sessions(&f.acme, f.ada.id).await.unwrap();
        let ended = listed.iter().find(|s| s.session.id == newer.id).unwrap();
        assert_eq!(ended.session.ended_at, Some(T0.plus_seconds(20)));
    }

    #[tokio::test]
    async fn a_session_of_another_user_or_issuer_is_not_found() {
        let f = fixture().await;
        let (session, secret) = f
            .core
            .start_session(&f.acme, &f.ada, vec!["pwd".to_owned()])
            .await
            .unwrap();
        let grace = user(&f.core, &f.acme, "grace@example.com").await;

        for (issuer, user, id) in [
            (&f.acme, grace.id, session.id),
            (&f.acme, f.ada.id, SessionId::new()),
            (&f.acme, UserId::new(), session.id),
            (&f.globex, f.ada.id, session.id),
        ] {
            assert!(matches!(
                f.core.revoke_user_session(issuer, user, id, admin()).await,
                Err(CoreError::NotFound)
            ));
        }
        assert!(matches!(
            f.core.list_user_sessions(&f.globex, f.ada.id).await,
            Err(CoreError::NotFound)
        ));
        assert!(
            f.core
                .list_user_sessions(&f.acme, grace.id)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            f.core
                .active_session(&f.acme, secret.expose())
                .await
                .unwrap()
                .is_some(),
            "nothing was ended"
        );
    }
}
