//! The account portal: what a signed-in user does with their own account at an issuer,
//! without any application in between (issue 5, "account portal").
//!
//! The portal belongs to the issuer, not to a client, so it has its own sign-in: the same
//! password check and brute-force protection as the sign-in page of an authorization request
//! ([`Core::sign_in_with_password`]), starting the same browser session. Everything else needs
//! that session: the portal shows the session's user and acts only on that user.
//!
//! A signed-in user edits their profile (name, picture URL, language) by the same rules as
//! the Core API ([`crate::users`]), changes their password (the current one asked again,
//! through the brute-force protection), ends their sessions, and deletes the account when the
//! issuer allows it.
//!
//! Forms carry CSRF tokens ([`crate::csrf`]): the sign-in form's is bound to the browser
//! cookie, the signed-in forms' to the session cookie, each with its own context, so a token
//! of one form is useless for another and for another browser.

use std::net::IpAddr;

use tessera_crypto::SecretToken;
use tessera_model::{Actor, Issuer, Session, SessionId, User};

use crate::authorize::{LoginRefusal, Refused, SignInAttempt};
use crate::consents::UserSession;
use crate::password_policy::PasswordProblem;
use crate::signup::BrowserForm;
use crate::users::{UserPatch, user_details, user_password_problem};
use crate::{Core, CoreError, csrf};

/// The CSRF context of the portal's sign-in form.
const SIGN_IN_CONTEXT: &str = "account/sign-in";
/// The CSRF context of the signed-in portal's forms.
const ACCOUNT_CONTEXT: &str = "account";

/// What the portal shows a signed-in user.
#[derive(Debug)]
pub struct AccountView {
    /// The user.
    pub user: User,
    /// The session this browser is signed in with.
    pub current: Session,
    /// The user's active sessions, newest first, this one included.
    pub sessions: Vec<UserSession>,
    /// The token the portal's forms must send back.
    pub csrf: String,
}

/// The portal's "change password" form.
#[derive(Clone, Copy)]
pub struct PasswordChange<'a> {
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// The current password, asked again.
    pub current: &'a str,
    /// The new password.
    pub new: &'a str,
    /// The browser's network address, for the brute-force protection.
    pub address: Option<IpAddr>,
}

impl std::fmt::Debug for PasswordChange<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// The portal's "profile" form: what a user may change about themselves. Each field is the
/// whole new value; an empty one (after trimming) clears it.
#[derive(Debug, Clone, Copy)]
pub struct ProfileChange<'a> {
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// Full name.
    pub name: &'a str,
    /// URL of a picture.
    pub picture: &'a str,
    /// Language, a BCP 47 tag.
    pub locale: &'a str,
}

/// Why a portal form was not carried out. None of these redirect.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The browser is not signed in (any more).
    #[error("Sign in to see your account.")]
    SignedOut,
    /// A form without the right CSRF token.
    #[error("The form came from elsewhere or was sent twice; open your account again.")]
    Forbidden,
    /// A session that is not this user's, or is gone.
    #[error("No such session.")]
    NotFound,
    /// The current password, asked again before a change that needs it, is not right (or
    /// the brute-force protection holds it back).
    #[error("The current password is not right.")]
    CurrentPassword(LoginRefusal),
    /// The new password does not meet the issuer's policy.
    #[error("The new password is refused: {0}.")]
    NewPassword(PasswordProblem),
    /// A profile field breaks the rules of [`crate::users`]: which, and why (in English; the
    /// page words it in the user's language by the field).
    #[error("The {field} is refused: {reason}.")]
    Profile {
        /// `name`, `picture` or `locale`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The issuer does not let users delete their own accounts.
    #[error("Accounts cannot be deleted here; ask the organisation that runs this service.")]
    DeletionNotAllowed,
    /// Storage failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl Core {
    /// The portal's sign-in form for the browser holding `browser` (its cookie secret): the
    /// form's CSRF token, and a new browser secret to set as the cookie when it had none.
    pub fn account_sign_in_form(&self, browser: Option<&str>) -> BrowserForm {
        BrowserForm::new(SIGN_IN_CONTEXT, browser)
    }

    /// Signs in to the portal: a new session's cookie secret, or why not.
    pub async fn account_sign_in(
        &self,
        issuer: &Issuer,
        browser: Option<&str>,
        attempt: SignInAttempt<'_>,
    ) -> Result<Result<SecretToken, Refused>, AccountError> {
        if !BrowserForm::accepts(SIGN_IN_CONTEXT, browser, attempt.csrf) {
            return Err(AccountError::Forbidden);
        }
        Ok(self
            .sign_in_with_password(issuer, attempt)
            .await?
            .map(|(_, _, secret)| secret))
    }

    /// The account of the browser signed in with `session` (its cookie secret).
    pub async fn account(
        &self,
        issuer: &Issuer,
        session: Option<&str>,
    ) -> Result<AccountView, AccountError> {
        let (current, user, secret) = self.account_session(issuer, session).await?;
        let sessions = self
            .list_user_sessions(issuer, user.id)
            .await?
            .into_iter()
            .filter(|s| s.active)
            .collect();
        Ok(AccountView {
            user,
            current,
            sessions,
            csrf: csrf::token(ACCOUNT_CONTEXT, secret),
        })
    }

    /// Ends one of the signed-in user's sessions (`session.ended`, by the user); whether it
    /// was the browser's own, whose cookie then has nothing left to name.
    pub async fn account_end_session(
        &self,
        issuer: &Issuer,
        session: Option<&str>,
        csrf: &str,
        target: &str,
    ) -> Result<bool, AccountError> {
        let (current, _) = self.account_form(issuer, session, csrf).await?;
        let target: SessionId = target.parse().map_err(|_| AccountError::NotFound)?;
        let target = self
            .store
            .sessions()
            .find(tessera_store::IssuerScope::of(issuer), target)
            .await
            .map_err(CoreError::from)?
            .filter(|s| s.user_id == current.user_id)
            .ok_or(AccountError::NotFound)?;
        self.end_session(
            issuer,
            &target,
            "session.ended",
            Actor::User(current.user_id),
        )
        .await?;
        Ok(target.id == current.id)
    }

    /// Ends every session of the signed-in user but this one; returns how many ended.
    pub async fn account_end_other_sessions(
        &self,
        issuer: &Issuer,
        session: Option<&str>,
        csrf: &str,
    ) -> Result<usize, AccountError> {
        let (current, _) = self.account_form(issuer, session, csrf).await?;
        Ok(self
            .end_user_sessions(issuer, current.user_id, Some(current.id))
            .await?)
    }

    /// Changes the signed-in user's profile (`user.updated`, naming the fields that changed;
    /// nothing is written when none did).
    pub async fn account_update_profile(
        &self,
        issuer: &Issuer,
        session: Option<&str>,
        form: ProfileChange<'_>,
    ) -> Result<User, AccountError> {
        let (current, _) = self.account_form(issuer, session, form.csrf).await?;
        let value = |text: &str| {
            let text = text.trim();
            Some((!text.is_empty()).then(|| text.to_owned()))
        };
        let patch = UserPatch {
            name: value(form.name),
            picture: value(form.picture),
            locale: value(form.locale),
            ..UserPatch::default()
        };
        let actor = Actor::User(current.user_id);
        match self
            .update_user(issuer, current.user_id, None, patch, actor)
            .await
        {
            Ok(user) => Ok(user),
            Err(CoreError::InvalidField { field, reason }) => {
                Err(AccountError::Profile { field, reason })
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Changes the signed-in user's password: the current one is asked again (through the
    /// brute-force protection, as a sign-in), the new one must meet the issuer's policy.
    /// Every other session of the user ends (`user.password.changed`, then `session.ended`
    /// for each).
    pub async fn account_change_password(
        &self,
        issuer: &Issuer,
        session: Option<&str>,
        form: PasswordChange<'_>,
    ) -> Result<(), AccountError> {
        let (current, user) = self.account_form(issuer, session, form.csrf).await?;
        self.confirm_password(issuer, &user, form.current, form.address)
            .await?;
        user_password_problem(issuer, form.new, &user_details(&user))
            .map_err(AccountError::NewPassword)?;
        self.store_new_password(issuer, user.id, form.new, Actor::User(user.id))
            .await?;
        self.end_user_sessions(issuer, current.user_id, Some(current.id))
            .await?;
        Ok(())
    }

    /// Deletes the signed-in user's account, if the issuer allows it, once the password is
    /// asked again (`user.deleted`, by the user). Its sessions, grants and tokens go with it.
    pub async fn account_delete(
        &self,
        issuer: &Issuer,
        session: Option<&str>,
        csrf: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<(), AccountError> {
        let (_, user) = self.account_form(issuer, session, csrf).await?;
        if !issuer.settings.allow_account_deletion() {
            return Err(AccountError::DeletionNotAllowed);
        }
        self.confirm_password(issuer, &user, password, address)
            .await?;
        self.delete_user(issuer, user.id, None, Actor::User(user.id))
            .await?;
        Ok(())
    }

    /// Checks the signed-in user's password again, counted by the brute-force protection
    /// under the account's identifier, as a sign-in would be.
    async fn confirm_password(
        &self,
        issuer: &Issuer,
        user: &User,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<(), AccountError> {
        let identifier = user
            .email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .or_else(|| user.username.clone())
            .unwrap_or_else(|| user.id.to_string());
        let matches = self
            .password_try(issuer, &identifier, password, address, || async {
                let matches = match &user.password_hash {
                    Some(hash) => {
                        self.passwords
                            .verify(password.to_owned(), hash.clone())
                            .await?
                    }
                    None => false,
                };
                Ok(matches.then_some(()))
            })
            .await?;
        matches.map_err(AccountError::CurrentPassword)
    }

    /// The active session a cookie secret names, its user (unless blocked or gone: then the
    /// browser counts as signed out, for every page and form of the portal alike), and the
    /// secret.
    async fn account_session<'a>(
        &self,
        issuer: &Issuer,
        session: Option<&'a str>,
    ) -> Result<(Session, User, &'a str), AccountError> {
        let secret = session
            .filter(|s| !s.is_empty())
            .ok_or(AccountError::SignedOut)?;
        let current = self
            .active_session(issuer, secret)
            .await?
            .ok_or(AccountError::SignedOut)?;
        let user = self
            .usable_user(issuer, current.user_id)
            .await?
            .ok_or(AccountError::SignedOut)?;
        Ok((current, user, secret))
    }

    /// The session and user of a signed-in portal form, once its CSRF token is checked.
    async fn account_form(
        &self,
        issuer: &Issuer,
        session: Option<&str>,
        presented: &str,
    ) -> Result<(Session, User), AccountError> {
        let (current, user, secret) = self.account_session(issuer, session).await?;
        if !csrf::matches(ACCOUNT_CONTEXT, secret, presented) {
            return Err(AccountError::Forbidden);
        }
        Ok((current, user))
    }
}
