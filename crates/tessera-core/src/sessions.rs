//! Signing in with a password, and the browser sessions that remember it.
//!
//! A session is a row keyed by the SHA-256 of a random cookie secret (DESIGN.md §3 invariant
//! 5); its public id is the `sid` of the ID tokens issued from it. Failed sign-ins look the
//! same whether or not the account exists, and take as long: a missing account is checked
//! against a fixed dummy hash (OWASP ASVS V2.2, DESIGN.md §6).

use std::net::IpAddr;
use std::sync::LazyLock;

use serde_json::json;
use tessera_crypto::{SecretHash, SecretToken, password};
use tessera_model::{
    Actor, Email, Issuer, NewEvent, PASSWORD_MAX_LENGTH, Session, SessionId, User, UserId,
};
use tessera_store::{IssuerScope, StoreError};

use crate::authorize::{LoginRefusal, Refused, SESSION_LIFETIME, SignInAttempt};
use crate::{Core, CoreError};

/// The longest identifier a sign-in accepts, in characters: room for any email address (254)
/// and any username ([`crate::users::USERNAME_MAX_CHARS`]), with white space around them.
pub(crate) const IDENTIFIER_MAX_CHARS: usize = 320;

/// A hash no password matches in practice, verified when the account does not exist so that
/// both answers cost one Argon2id verification.
static DUMMY_HASH: LazyLock<Option<String>> =
    LazyLock::new(|| password::hash_password(SecretToken::generate().expose()).ok());

/// The first of a typed identifier and password that is longer than any account's, as the
/// refusal that says so: checked before anything is looked up, hashed or counted, wherever a
/// typed password is checked.
pub(crate) fn over_long(identifier: &str, password: &str) -> Option<LoginRefusal> {
    let password_max = usize::try_from(PASSWORD_MAX_LENGTH.max).unwrap_or(usize::MAX);
    [
        ("username", identifier, IDENTIFIER_MAX_CHARS),
        ("password", password, password_max),
    ]
    .into_iter()
    .find(|(_, value, max)| value.chars().count() > *max)
    .map(|(field, _, max)| LoginRefusal::TooLong { field, max })
}

impl Core {
    /// The session a cookie secret names, if it is still active.
    pub async fn active_session(
        &self,
        issuer: &Issuer,
        secret: &str,
    ) -> Result<Option<Session>, CoreError> {
        let hash = SecretHash::of(secret);
        let session = self
            .store
            .sessions()
            .find_by_secret(IssuerScope::of(issuer), hash.as_bytes())
            .await?;
        let now = self.clock.now();
        Ok(session.filter(|s| s.is_active(now)))
    }

    /// Checks a username (or email address) and password. `None` for a wrong password, an
    /// unknown or blocked account, all alike; each attempt leaves an event.
    pub(crate) async fn check_password(
        &self,
        issuer: &Issuer,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, CoreError> {
        let scope = IssuerScope::of(issuer);
        let found = self.find_by_identifier(issuer, username).await?;
        let stored_hash = found
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .or_else(|| DUMMY_HASH.clone())
            .unwrap_or_default();
        let matches = self
            .passwords
            .verify(password.to_owned(), stored_hash)
            .await?;
        let now = self.clock.now();
        let outcome = match found {
            Some(user) if matches && user.password_hash.is_some() && !user.blocked => Ok(user),
            Some(user) if user.blocked => Err((user.id.to_string(), "blocked")),
            Some(user) => Err((user.id.to_string(), "wrong_password")),
            None => Err((issuer.id.to_string(), "unknown_user")),
        };
        match outcome {
            Ok(user) => {
                let event = NewEvent::new(
                    "user.login.succeeded",
                    user.id,
                    Actor::User(user.id),
                    json!({ "method": "pwd" }),
                    now,
                );
                self.store.events().append(scope, &event).await?;
                Ok(Some(user))
            }
            Err((subject, reason)) => {
                let event = NewEvent::new(
                    "user.login.failed",
                    subject,
                    Actor::System,
                    json!({ "method": "pwd", "reason": reason }),
                    now,
                );
                self.store.events().append(scope, &event).await?;
                Ok(None)
            }
        }
    }

    /// Signs a user in with an identifier and password, through the issuer's brute-force
    /// protection ([`crate::lockout`]): a new session and its cookie secret, or why not. An
    /// issuer that requires verified addresses refuses an unverified one, with the right
    /// password only, and mails a new verification link. The
    /// one password sign-in of the hosted pages, for an authorization request and for the
    /// account portal alike.
    pub(crate) async fn sign_in_with_password(
        &self,
        issuer: &Issuer,
        attempt: SignInAttempt<'_>,
    ) -> Result<Result<(User, Session, SecretToken), Refused>, CoreError> {
        let username = attempt.username.trim();
        if username.is_empty() || attempt.password.is_empty() {
            return Ok(Err(LoginRefusal::Incomplete.into()));
        }
        let checked = self
            .password_try(issuer, username, attempt.password, attempt.address, || {
                self.check_password(issuer, username, attempt.password)
            })
            .await?;
        let user = match checked {
            Ok(user) => user,
            Err(refusal) => return Ok(Err(refusal.into())),
        };
        if issuer.settings.require_email_verification() && !user.email_verified {
            return Ok(Err(Refused {
                refusal: LoginRefusal::Unverified,
                mail: self.verification_mail(issuer, &user, None).await?,
            }));
        }
        let (session, secret) = self
            .start_session(issuer, &user, vec!["pwd".to_owned()])
            .await?;
        Ok(Ok((user, session, secret)))
    }

    /// A typed password tried under the brute-force protection ([`crate::lockout`]), as
    /// every password typed on the hosted pages is: refused before anything is looked up
    /// when a field is over-long or `identifier` or `address` must wait; otherwise `check`
    /// runs (what the password unlocks, or `None` when it is wrong) and its outcome is
    /// counted under `identifier`.
    pub(crate) async fn password_try<T, F>(
        &self,
        issuer: &Issuer,
        identifier: &str,
        password: &str,
        address: Option<IpAddr>,
        check: impl FnOnce() -> F,
    ) -> Result<Result<T, LoginRefusal>, CoreError>
    where
        F: Future<Output = Result<Option<T>, CoreError>>,
    {
        if let Some(refusal) = over_long(identifier, password) {
            return Ok(Err(refusal));
        }
        let reservation = match self.reserve_sign_in(issuer, identifier, address).await? {
            Ok(reservation) => reservation,
            Err(until) => {
                let wait_seconds = until.0.saturating_sub(self.clock.now().0).max(1);
                return Ok(Err(LoginRefusal::TooManyAttempts { wait_seconds }));
            }
        };
        let Some(unlocked) = check().await? else {
            self.sign_in_failed(issuer, &reservation).await?;
            return Ok(Err(LoginRefusal::Credentials));
        };
        self.sign_in_succeeded(issuer, &reservation).await?;
        Ok(Ok(unlocked))
    }

    /// The user an identifier typed on the sign-in page names: the one with that email
    /// address (ignoring case), else the one with that username.
    pub(crate) async fn find_by_identifier(
        &self,
        issuer: &Issuer,
        identifier: &str,
    ) -> Result<Option<User>, CoreError> {
        let scope = IssuerScope::of(issuer);
        if let Ok(email) = Email::parse(identifier)
            && let Some(user) = self
                .store
                .users()
                .find_by_email(scope, email.normalized())
                .await?
        {
            return Ok(Some(user));
        }
        Ok(self
            .store
            .users()
            .find_by_username(scope, identifier)
            .await?)
    }

    /// Starts a session for a user who just authenticated with `amr`; returns it with the
    /// secret for the cookie (shown once, stored only as its hash).
    pub(crate) async fn start_session(
        &self,
        issuer: &Issuer,
        user: &User,
        amr: Vec<String>,
    ) -> Result<(Session, SecretToken), CoreError> {
        let now = self.clock.now();
        let secret = SecretToken::generate();
        let session = Session {
            id: SessionId::new(),
            issuer_id: issuer.id,
            user_id: user.id,
            secret_hash: *secret.hash().as_bytes(),
            auth_time: now,
            acr: tessera_oauth::acr_of(&amr).map(str::to_owned),
            amr,
            created_at: now,
            expires_at: now.plus_seconds(SESSION_LIFETIME),
            ended_at: None,
        };
        let event = NewEvent::new(
            "session.created",
            session.id,
            Actor::User(user.id),
            json!({ "user_id": user.id.to_string(), "amr": session.amr }),
            now,
        );
        self.store
            .sessions()
            .create(IssuerScope::of(issuer), &session, &event)
            .await?;
        Ok((session, secret))
    }

    /// Ends every active session of `user` but `except`, as the user's own doing
    /// (`session.ended` each); how many ended. Reads the sessions alone, not their clients.
    pub(crate) async fn end_user_sessions(
        &self,
        issuer: &Issuer,
        user: UserId,
        except: Option<SessionId>,
    ) -> Result<usize, CoreError> {
        let now = self.clock.now();
        let ending: Vec<Session> = self
            .store
            .sessions()
            .list_by_user(IssuerScope::of(issuer), user)
            .await?
            .into_iter()
            .filter(|s| s.is_active(now) && Some(s.id) != except)
            .collect();
        for session in &ending {
            self.end_session(issuer, session, "session.ended", Actor::User(user))
                .await?;
        }
        Ok(ending.len())
    }

    /// Ends a session, recording why as `event_type` (`session.ended` at logout,
    /// `session.revoked` by an administrator), and in the same transaction enqueues a
    /// back-channel logout for each of its clients that registered one ([`crate::backchannel`]).
    /// Ending an ended session changes nothing and writes no event.
    pub async fn end_session(
        &self,
        issuer: &Issuer,
        session: &Session,
        event_type: &'static str,
        actor: Actor,
    ) -> Result<(), CoreError> {
        if session.ended_at.is_some() {
            // Nothing to end, nobody to tell: the store would refuse the end anyway.
            return Ok(());
        }
        let now = self.clock.now();
        let event = NewEvent::new(
            event_type,
            session.id,
            actor,
            json!({ "user_id": session.user_id.to_string() }),
            now,
        );
        let deliveries = self.logout_deliveries(issuer, session, now).await?;
        match self
            .store
            .sessions()
            .end(
                IssuerScope::of(issuer),
                session.id,
                now,
                &event,
                &deliveries,
            )
            .await
        {
            Ok(true) if !deliveries.is_empty() => {
                self.deliveries_enqueued.notify_one();
                Ok(())
            }
            Ok(_) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limits are on characters, not bytes, and the identifier is judged first.
    #[test]
    fn a_field_is_too_long_only_past_its_limit_in_characters() {
        let identifier = "é".repeat(IDENTIFIER_MAX_CHARS);
        let password = "ü".repeat(4096);
        assert_eq!(over_long(&identifier, &password), None);
        let too_long = |field, max| Some(LoginRefusal::TooLong { field, max });
        assert_eq!(
            over_long(&identifier, &format!("{password}x")),
            too_long("password", 4096)
        );
        assert_eq!(
            over_long(&format!("{identifier}x"), &format!("{password}x")),
            too_long("username", IDENTIFIER_MAX_CHARS)
        );
    }
}
