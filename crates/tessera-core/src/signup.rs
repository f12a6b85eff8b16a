//! Self-service accounts: signing up on the hosted pages, and the two links Tessera mails,
//! to verify an email address and to reset a forgotten password (issue 5).
//!
//! Neither sign-up nor "forgot password" may tell a stranger whether an address has an
//! account. Where the issuer requires verified addresses, signing up with an address that
//! has an account answers exactly as a new sign-up does ("check your email"), and the mail
//! tells the owner instead; where it does not, the new account is signed in at once, so a
//! taken address must be refused, as Auth0 and Keycloak do. A reset request answers the same
//! for every address, and only an address with a usable account gets a mail.
//!
//! Both links are single-use tickets ([`tessera_model::Ticket`]): only the SHA-256 of the
//! link's secret is stored, the database decides the one redemption (ARCHITECTURE.md
//! invariant 6), and they expire (verification after 24 hours, reset after one hour). A
//! ticket also remembers what it vouches for, so that a change in between voids it: a
//! verification link names the address it was sent to, and a reset link a fingerprint of the
//! password it replaces, so a reset voids every other reset link of the account.
//!
//! What to mail is returned as a [`LinkMail`], not sent: the pages compose it in the user's
//! language and send it off the request path, so the answer does not wait for (or reveal,
//! by its timing) a mail server.
//!
//! Anyone can make Tessera mail an address (sign up with it, ask to reset its password, sign
//! in to an unverified account, which sends the verification link again), so an address gets
//! at most [`MAILS_PER_ADDRESS`] of these mails from an issuer, of all kinds together, while
//! they come less than [`MAIL_PERIOD`] apart, then none until that long after the last one
//! (`Core::may_mail`): a flood of forms cannot flood an inbox. A mail held back makes no
//! link (no ticket, no event), and the page answers as if it went. Requests over the limit
//! are not counted, so the owner waits at most an hour after the last mail sent, however
//! long the flood goes on. The count shares the sign-in failure counts' table and mechanism
//! (`lockout`), under subjects of its own, so every node sees it.

use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_crypto::{SecretHash, SecretToken, base64url, sha256};
use tessera_model::{
    Actor, Email, Interaction, Issuer, NewEvent, SignupPolicy, Ticket, TicketId, TicketKind, User,
};
use tessera_store::{FailureCount, IssuerScope, StoreError};

use crate::authorize::{InteractionError, InteractionView, Next, Stage, check_csrf, view};
use crate::password_policy::PasswordProblem;
use crate::users::{CheckedUser, NAME_MAX_CHARS, NewUser, user_details, user_password_problem};
use crate::{Core, CoreError, csrf};

/// How long an email-verification link works.
pub const VERIFICATION_LINK_LIFETIME: i64 = 24 * 60 * 60;
/// How long a password-reset link works.
pub const RESET_LINK_LIFETIME: i64 = 60 * 60;

/// The most link mails one address gets from an issuer in a row, each less than
/// [`MAIL_PERIOD`] after the one before.
pub const MAILS_PER_ADDRESS: i64 = 5;
/// How long after its last mail an address's count starts again.
pub const MAIL_PERIOD: i64 = 60 * 60;

/// The CSRF context of the "forgot password" form.
const FORGOT_CONTEXT: &str = "password/forgot";

/// A mail the pages must send for a sign-up or a reset.
#[derive(Debug)]
pub struct LinkMail {
    /// Which mail.
    pub kind: MailKind,
    /// The address it goes to.
    pub to: Email,
    /// The user's name, to greet them.
    pub name: Option<String>,
    /// The secret of the link it carries (none for [`MailKind::AlreadyRegistered`]).
    pub secret: Option<SecretToken>,
}

/// What a [`LinkMail`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// "Verify your email address", with a verification link.
    VerifyEmail,
    /// "Someone signed up with your address, which has an account": sign in or reset.
    AlreadyRegistered,
    /// "Reset your password", with a reset link.
    ResetPassword,
}

/// A sign-up form as the page sends it.
#[derive(Clone, Copy)]
pub struct SignUpForm<'a> {
    /// The form's CSRF token (the interaction's).
    pub csrf: &'a str,
    /// The email address typed.
    pub email: &'a str,
    /// The password typed.
    pub password: &'a str,
    /// The name typed (optional).
    pub name: &'a str,
}

impl std::fmt::Debug for SignUpForm<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUpForm")
            .field("email", &self.email)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Why a sign-up form is shown again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUpRefusal {
    /// The issuer does not take sign-ups on its pages.
    Closed,
    /// Not an email address.
    InvalidEmail,
    /// The issuer takes sign-ups only from some email domains, not this one.
    DomainNotAllowed,
    /// The name is longer than a user's name may be.
    NameTooLong {
        /// The most characters a name may have.
        max: usize,
    },
    /// The password does not meet the issuer's policy.
    Password(PasswordProblem),
    /// The address has an account (said only where the issuer does not require verified
    /// addresses; see the module documentation).
    Taken,
}

/// What a sign-up form led to.
#[derive(Debug)]
pub enum SignUpOutcome {
    /// The form again, saying why.
    Retry {
        /// The interaction, for the form.
        view: InteractionView,
        /// Why.
        refusal: SignUpRefusal,
    },
    /// "Check your email": the account waits for its address to be verified.
    CheckEmail {
        /// What to mail (none when the address has had its share of mails).
        mail: Option<LinkMail>,
        /// The authorization request's `ui_locales`, for the page and the mail, as the
        /// form's own page had them.
        ui_locales: Vec<String>,
    },
    /// The new account is signed in and the authorization request goes on.
    SignedIn {
        /// The new session's cookie secret.
        session_secret: SecretToken,
        /// Where the browser goes next (boxed: it is most of the enum's size).
        next: Box<Next>,
        /// The verification mail (the issuer does not require it, but the address is still
        /// unproven), unless the address has had its share of mails.
        mail: Option<LinkMail>,
        /// As in [`SignUpOutcome::CheckEmail`], for the mail.
        ui_locales: Vec<String>,
    },
}

/// Why a mailed link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No such link (mistyped, or made up).
    Unknown,
    /// Its time is up.
    Expired,
    /// It was used already, or what it vouched for changed since it was sent.
    Used,
}

/// Why a password reset was not done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetRefusal {
    /// The link does not work.
    Link(LinkRefusal),
    /// The new password does not meet the issuer's policy (the link still works).
    Password(PasswordProblem),
}

/// A browser form not tied to an interaction: its CSRF token, bound to the browser cookie,
/// and that cookie when the browser had none.
#[derive(Debug)]
pub struct BrowserForm {
    /// The token the form must send back.
    pub csrf: String,
    /// A browser secret to set as a cookie, when the browser had none.
    pub new_browser_secret: Option<SecretToken>,
}

impl BrowserForm {
    /// The form for `context` in the browser holding `browser`.
    pub(crate) fn new(context: &str, browser: Option<&str>) -> Self {
        let (browser, new_browser_secret) = csrf::browser_secret(browser);
        Self {
            csrf: csrf::token(context, &browser),
            new_browser_secret,
        }
    }

    /// Whether `presented` is the token for `context` in the browser holding `browser`.
    pub(crate) fn accepts(context: &str, browser: Option<&str>, presented: &str) -> bool {
        browser.is_some_and(|b| !b.is_empty() && csrf::matches(context, b, presented))
    }
}

/// What a verification ticket vouches for.
#[derive(Debug, Serialize, Deserialize)]
struct VerificationPayload {
    /// The address the link was sent to.
    email: String,
    /// The interaction the user signed up in, to go back to.
    interaction: Option<String>,
}

/// What a reset ticket vouches for.
#[derive(Debug, Serialize, Deserialize)]
struct ResetPayload {
    /// The fingerprint of the password the link replaces ([`password_fingerprint`]).
    replaces: String,
}

/// A fingerprint of a user's current password hash (or of having none): a reset link
/// works only while it is unchanged.
fn password_fingerprint(user: &User) -> String {
    base64url(&sha256(
        user.password_hash.as_deref().unwrap_or("none").as_bytes(),
    ))
}

/// A verified address, and where the user was going when they signed up.
#[derive(Debug)]
pub struct Verified {
    /// The user, now with a verified address.
    pub user: User,
    /// The interaction they signed up in, if it was one.
    pub interaction: Option<String>,
}

impl Core {
    /// Whether a mail may go to `to` now, counting it if so (see the module documentation:
    /// at most [`MAILS_PER_ADDRESS`] in a row, each within [`MAIL_PERIOD`] of the last). Asked
    /// before a link is made, so a mail held back leaves no ticket and no event behind.
    pub(crate) async fn may_mail(&self, issuer: &Issuer, to: &Email) -> Result<bool, CoreError> {
        let scope = IssuerScope::of(issuer);
        let subject = sha256(format!("mail:{}", to.normalized()).as_bytes());
        let counts = self.store.sign_in_failures();
        // Compare-and-set, as a sign-in reserves its try (`lockout`): of concurrent mails that
        // read one count, one is counted and the others read it again.
        for _ in 0..3 {
            let now = self.clock.now();
            let seen = counts
                .find(scope, &[subject])
                .await?
                .first()
                .copied()
                .flatten();
            let sent = seen
                .filter(|count| count.last_failure_at >= now.plus_seconds(-MAIL_PERIOD))
                .map_or(0, |count| count.failures);
            if sent >= MAILS_PER_ADDRESS {
                break;
            }
            let next = FailureCount {
                failures: sent + 1,
                last_failure_at: now,
            };
            if counts.advance(scope, &subject, seen, next).await? {
                return Ok(true);
            }
        }
        // Over the limit, or still contended after three reads: a flood, whose mail can wait.
        tracing::info!(
            issuer = %issuer.slug,
            "a mail was held back: its address has had its share for the hour"
        );
        Ok(false)
    }

    /// Whether the issuer's sign-up page takes sign-ups.
    pub fn signup_open(issuer: &Issuer) -> bool {
        !matches!(issuer.settings.signup(), SignupPolicy::Disabled)
    }

    /// Signs a new user up in an interaction (see the module documentation).
    pub async fn submit_signup(
        &self,
        issuer: &Issuer,
        id: &str,
        browser: Option<&str>,
        form: SignUpForm<'_>,
    ) -> Result<SignUpOutcome, InteractionError> {
        let (interaction, pending, client) = self.load_interaction(issuer, id, browser).await?;
        let browser = browser.unwrap_or("");
        check_csrf(browser, interaction.id, form.csrf)?;
        let ui_locales = pending.ui_locales().to_vec();
        let retry = |refusal| SignUpOutcome::Retry {
            view: view(&interaction, &pending, &client, Stage::Login, browser),
            refusal,
        };
        let policy = issuer.settings.signup();
        if matches!(policy, SignupPolicy::Disabled) {
            return Ok(retry(SignUpRefusal::Closed));
        }
        let Ok(email) = Email::parse(form.email.trim()) else {
            return Ok(retry(SignUpRefusal::InvalidEmail));
        };
        if let SignupPolicy::AllowedEmailDomains(domains) = policy
            && !domains.allows(email.as_str())
        {
            return Ok(retry(SignUpRefusal::DomainNotAllowed));
        }
        let name = Some(form.name.trim()).filter(|n| !n.is_empty());
        if name.is_some_and(|n| n.chars().count() > NAME_MAX_CHARS) {
            return Ok(retry(SignUpRefusal::NameTooLong {
                max: NAME_MAX_CHARS,
            }));
        }
        // What is left to check cannot fail (the address and the name are checked above); the
        // password is checked here, to say what is wrong with it.
        let (checked, password) = CheckedUser::check_all_but_password(NewUser {
            email: email.as_str().to_owned(),
            password: Some(form.password.to_owned()),
            name: name.map(str::to_owned),
            ..NewUser::default()
        })?;
        if let Err(problem) = user_password_problem(issuer, form.password, &checked.details()) {
            return Ok(retry(SignUpRefusal::Password(problem)));
        }
        let verify_first = issuer.settings.require_email_verification();
        let created = self
            .store_new_user(issuer, checked, password, Actor::User)
            .await;
        let user = match created {
            Ok(user) => user,
            Err(CoreError::Store(StoreError::AlreadyExists { field: "email", .. })) => {
                if !verify_first {
                    return Ok(retry(SignUpRefusal::Taken));
                }
                // As long as a new sign-up takes (one password hash), so that the answer's
                // timing tells nothing either.
                self.passwords.hash(form.password.to_owned()).await?;
                let existing = self
                    .store
                    .users()
                    .find_by_email(IssuerScope::of(issuer), email.normalized())
                    .await
                    .map_err(CoreError::from)?;
                let mail = self.may_mail(issuer, &email).await?.then(|| LinkMail {
                    kind: MailKind::AlreadyRegistered,
                    name: existing.and_then(|u| u.name),
                    to: email,
                    secret: None,
                });
                return Ok(SignUpOutcome::CheckEmail { mail, ui_locales });
            }
            Err(error) => return Err(error.into()),
        };
        let mail = self
            .verification_mail(issuer, &user, Some(&interaction))
            .await?;
        if verify_first {
            return Ok(SignUpOutcome::CheckEmail { mail, ui_locales });
        }
        let (session, secret) = self
            .start_session(issuer, &user, vec!["pwd".to_owned()])
            .await?;
        let next = self
            .continue_signed_in(
                issuer,
                (interaction, pending, client),
                browser,
                (user, session),
            )
            .await?;
        Ok(SignUpOutcome::SignedIn {
            session_secret: secret,
            next: Box::new(next),
            mail,
            ui_locales,
        })
    }

    /// A verification link for the user's address, as a mail to send; none when the address
    /// has had its share of mails.
    pub(crate) async fn verification_mail(
        &self,
        issuer: &Issuer,
        user: &User,
        interaction: Option<&Interaction>,
    ) -> Result<Option<LinkMail>, CoreError> {
        let email = user
            .email
            .clone()
            .ok_or_else(|| CoreError::Invalid("the user has no email address".to_owned()))?;
        if !self.may_mail(issuer, &email).await? {
            return Ok(None);
        }
        let payload = VerificationPayload {
            email: email.normalized().to_owned(),
            interaction: interaction.map(|i| i.id.to_string()),
        };
        let secret = self
            .issue_link(
                issuer,
                user,
                TicketKind::EmailVerification,
                json!(payload),
                VERIFICATION_LINK_LIFETIME,
            )
            .await?;
        Ok(Some(LinkMail {
            kind: MailKind::VerifyEmail,
            to: email,
            name: user.name.clone(),
            secret: Some(secret),
        }))
    }

    /// Redeems a verification link: the address it was sent to is verified
    /// (`user.verification.succeeded`).
    pub async fn verify_email(
        &self,
        issuer: &Issuer,
        secret: &str,
    ) -> Result<Result<Verified, LinkRefusal>, CoreError> {
        let ticket = match self
            .redeem_link(issuer, TicketKind::EmailVerification, secret)
            .await?
        {
            Ok(ticket) => ticket,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let Ok(payload) = serde_json::from_value::<VerificationPayload>(ticket.payload) else {
            return Ok(Err(LinkRefusal::Unknown));
        };
        let Some(user) = self.link_user(issuer, &ticket.subject).await? else {
            return Ok(Err(LinkRefusal::Used));
        };
        if user.email.as_ref().map(Email::normalized) != Some(payload.email.as_str()) {
            return Ok(Err(LinkRefusal::Used));
        }
        let user = self
            .change_user(
                issuer,
                user.id,
                None,
                Actor::User(user.id),
                "user.verification.succeeded",
                |user| {
                    if user.email_verified {
                        return vec![];
                    }
                    user.email_verified = true;
                    vec!["email_verified"]
                },
            )
            .await?;
        Ok(Ok(Verified {
            user,
            interaction: payload.interaction,
        }))
    }

    /// The "forgot password" form for the browser holding `browser`.
    pub fn forgot_password_form(&self, browser: Option<&str>) -> BrowserForm {
        BrowserForm::new(FORGOT_CONTEXT, browser)
    }

    /// Whether a "forgot password" form came from [`Core::forgot_password_form`] in the
    /// browser holding `browser`. Checked before [`Core::request_password_reset`], which the
    /// page runs after it has answered.
    pub fn forgot_password_form_accepts(&self, browser: Option<&str>, csrf: &str) -> bool {
        BrowserForm::accepts(FORGOT_CONTEXT, browser, csrf)
    }

    /// Asks for a reset link for `email`: the mail to send, if the address belongs to a
    /// usable account and has not had its share of mails; `None` otherwise. Only one path
    /// writes anything (the mail count, a ticket and an event), so its time says whether the
    /// account exists: the page answers first, the same for every address, and runs this
    /// afterwards.
    pub async fn request_password_reset(
        &self,
        issuer: &Issuer,
        email: &str,
    ) -> Result<Option<LinkMail>, CoreError> {
        let Ok(email) = Email::parse(email.trim()) else {
            return Ok(None);
        };
        let user = self
            .store
            .users()
            .find_by_email(IssuerScope::of(issuer), email.normalized())
            .await?;
        let Some(user) = user.filter(|u| !u.blocked) else {
            return Ok(None);
        };
        if !self.may_mail(issuer, &email).await? {
            return Ok(None);
        }
        let secret = self
            .issue_link(
                issuer,
                &user,
                TicketKind::PasswordReset,
                json!(ResetPayload {
                    replaces: password_fingerprint(&user),
                }),
                RESET_LINK_LIFETIME,
            )
            .await?;
        let now = self.clock.now();
        let event = NewEvent::new(
            "user.password_reset.requested",
            user.id,
            Actor::User(user.id),
            json!({ "expires_at": now.plus_seconds(RESET_LINK_LIFETIME).0 }),
            now,
        );
        self.store
            .events()
            .append(IssuerScope::of(issuer), &event)
            .await?;
        Ok(Some(LinkMail {
            kind: MailKind::ResetPassword,
            to: email,
            name: user.name.clone(),
            secret: Some(secret),
        }))
    }

    /// Whether a reset link works now (without using it): for the page that asks for the
    /// new password.
    pub async fn check_reset_link(
        &self,
        issuer: &Issuer,
        secret: &str,
    ) -> Result<Result<User, LinkRefusal>, CoreError> {
        let hash = SecretHash::of(secret);
        let ticket = self
            .store
            .tickets()
            .find(
                IssuerScope::of(issuer),
                TicketKind::PasswordReset,
                hash.as_bytes(),
            )
            .await?;
        let Some(ticket) = ticket else {
            return Ok(Err(LinkRefusal::Unknown));
        };
        if ticket.consumed_at.is_some() {
            return Ok(Err(LinkRefusal::Used));
        }
        if ticket.expires_at <= self.clock.now() {
            return Ok(Err(LinkRefusal::Expired));
        }
        self.reset_target(issuer, &ticket).await
    }

    /// Sets a new password with a reset link. The password is checked before the link is
    /// used, so a refused password leaves the link working. A reset proves the mailbox (the
    /// address becomes verified) and signs the account out everywhere
    /// (`user.password_reset.completed`, then `session.ended` for each session).
    pub async fn reset_password(
        &self,
        issuer: &Issuer,
        secret: &str,
        password: &str,
    ) -> Result<Result<User, ResetRefusal>, CoreError> {
        let user = match self.check_reset_link(issuer, secret).await? {
            Ok(user) => user,
            Err(refusal) => return Ok(Err(ResetRefusal::Link(refusal))),
        };
        if let Err(problem) = user_password_problem(issuer, password, &user_details(&user)) {
            return Ok(Err(ResetRefusal::Password(problem)));
        }
        // Hashed before the link is spent: a hash that fails leaves the link working.
        let hash = self.passwords.hash(password.to_owned()).await?;
        let ticket = match self
            .redeem_link(issuer, TicketKind::PasswordReset, secret)
            .await?
        {
            Ok(ticket) => ticket,
            Err(refusal) => return Ok(Err(ResetRefusal::Link(refusal))),
        };
        let user = match self.reset_target(issuer, &ticket).await? {
            Ok(user) => user,
            Err(refusal) => return Ok(Err(ResetRefusal::Link(refusal))),
        };
        let replaced = password_fingerprint(&user);
        let user = self
            .change_user(
                issuer,
                user.id,
                None,
                Actor::User(user.id),
                "user.password_reset.completed",
                |user| {
                    // A reset that raced another one: the first wins.
                    if password_fingerprint(user) != replaced {
                        return vec![];
                    }
                    user.password_hash = Some(hash.clone());
                    user.email_verified = true;
                    vec!["password", "email_verified"]
                },
            )
            .await?;
        if user.password_hash.as_deref() != Some(hash.as_str()) {
            // Another reset changed the password first: this link's was not set.
            return Ok(Err(ResetRefusal::Link(LinkRefusal::Used)));
        }
        self.end_user_sessions(issuer, user.id, None).await?;
        Ok(Ok(user))
    }

    /// The user a reset ticket is for, while the password it replaces is still theirs.
    async fn reset_target(
        &self,
        issuer: &Issuer,
        ticket: &Ticket,
    ) -> Result<Result<User, LinkRefusal>, CoreError> {
        let Ok(payload) = serde_json::from_value::<ResetPayload>(ticket.payload.clone()) else {
            return Ok(Err(LinkRefusal::Unknown));
        };
        Ok(match self.link_user(issuer, &ticket.subject).await? {
            Some(user) if password_fingerprint(&user) == payload.replaces => Ok(user),
            _ => Err(LinkRefusal::Used),
        })
    }

    /// Stores a link's ticket for the user; returns the link's secret.
    async fn issue_link(
        &self,
        issuer: &Issuer,
        user: &User,
        kind: TicketKind,
        payload: serde_json::Value,
        lifetime: i64,
    ) -> Result<SecretToken, CoreError> {
        let secret = SecretToken::generate();
        let now = self.clock.now();
        let ticket = Ticket {
            id: TicketId::new(),
            issuer_id: issuer.id,
            kind,
            secret_hash: *secret.hash().as_bytes(),
            subject: user.id.to_string(),
            payload,
            expires_at: now.plus_seconds(lifetime),
            consumed_at: None,
            created_at: now,
        };
        self.store
            .tickets()
            .create(IssuerScope::of(issuer), &ticket)
            .await?;
        Ok(secret)
    }

    /// Uses a link's ticket up, or says why not.
    async fn redeem_link(
        &self,
        issuer: &Issuer,
        kind: TicketKind,
        secret: &str,
    ) -> Result<Result<Ticket, LinkRefusal>, CoreError> {
        let scope = IssuerScope::of(issuer);
        let hash = SecretHash::of(secret);
        match self
            .store
            .tickets()
            .consume(scope, kind, hash.as_bytes(), self.clock.now())
            .await
        {
            Ok(ticket) => Ok(Ok(ticket)),
            Err(StoreError::AlreadyConsumed) => Ok(Err(LinkRefusal::Used)),
            Err(StoreError::NotFound) => {
                // Unknown, or known but expired: the ticket, read in any state, tells.
                let known = self
                    .store
                    .tickets()
                    .find(scope, kind, hash.as_bytes())
                    .await?;
                Ok(Err(if known.is_some() {
                    LinkRefusal::Expired
                } else {
                    LinkRefusal::Unknown
                }))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The usable user a link's ticket names, if there still is one.
    async fn link_user(&self, issuer: &Issuer, subject: &str) -> Result<Option<User>, CoreError> {
        let Ok(id) = subject.parse() else {
            return Ok(None);
        };
        self.usable_user(issuer, id).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

    use super::*;
    use crate::{test_core, test_issuer};

    const BROWSER: &str = "browser-secret";
    const PASSWORD: &str = "tangerine lighthouse accordion";
    const NEW_PASSWORD: &str = "marmalade orbit saxophone";

    async fn user(core: &Core, issuer: &Issuer) -> User {
        core.create_user(
            issuer,
            NewUser {
                email: "ada@example.com".to_owned(),
                password: Some(PASSWORD.to_owned()),
                ..NewUser::default()
            },
            Actor::System,
        )
        .await
        .unwrap()
    }

    async fn reset_link(core: &Core, issuer: &Issuer, email: &str) -> Option<String> {
        let csrf = core.forgot_password_form(Some(BROWSER)).csrf;
        assert!(core.forgot_password_form_accepts(Some(BROWSER), &csrf));
        core.request_password_reset(issuer, email)
            .await
            .unwrap()
            .map(|mail| {
                assert_eq!(mail.kind, MailKind::ResetPassword);
                mail.secret.unwrap().expose().to_owned()
            })
    }

    /// An address gets its share of mails while they come less than an hour apart, then none
    /// until an hour after the last one sent, however many are asked for meanwhile; other
    /// addresses, and the same address at another issuer, are counted apart.
    #[tokio::test]
    async fn an_address_gets_a_few_mails_an_hour_however_many_are_asked_for() {
        let (core, clock, db) = test_core().await;
        let acme = test_issuer(db.store.as_ref(), "acme").await;
        let other = test_issuer(db.store.as_ref(), "other").await;
        let ada = Email::parse("ada@example.com").unwrap();
        let same = Email::parse("ADA@Example.com").unwrap();
        let bob = Email::parse("bob@example.com").unwrap();
        for sent in 0..MAILS_PER_ADDRESS {
            clock.advance(MAIL_PERIOD / 10);
            let to = if sent % 2 == 0 { &ada } else { &same };
            assert!(core.may_mail(&acme, to).await.unwrap(), "mail {sent}");
        }
        let last_sent = core.clock.now();
        // Asked for again and again within the hour after the last one: refused each time,
        // and the refusals do not push the end of the wait further.
        for _ in 0..3 {
            clock.advance(MAIL_PERIOD / 4);
            assert!(!core.may_mail(&acme, &ada).await.unwrap());
        }
        assert!(core.may_mail(&acme, &bob).await.unwrap());
        assert!(core.may_mail(&other, &ada).await.unwrap());
        clock.advance(MAIL_PERIOD / 4);
        assert_eq!(core.clock.now(), last_sent.plus_seconds(MAIL_PERIOD));
        assert!(
            !core.may_mail(&acme, &ada).await.unwrap(),
            "an hour is not yet past"
        );
        // Past the hour, the count starts again.
        clock.advance(1);
        assert!(core.may_mail(&acme, &ada).await.unwrap());
    }

    /// A mail held back makes nothing: past the address's share, a reset request gives no
    /// link and writes no `user.password_reset.requested` event, and the share is for every
    /// kind of mail: no verification link either.
    #[tokio::test]
    async fn past_its_share_an_address_gets_no_link_and_nothing_is_written() {
        let (core, _, db) = test_core().await;
        let issuer = test_issuer(db.store.as_ref(), "acme").await;
        let ada = user(&core, &issuer).await;
        let requested = || async {
            let filter = tessera_store::EventListFilter {
                event_type: Some(tessera_store::EventTypeFilter::Exact(
                    "user.password_reset.requested".to_owned(),
                )),
                ..tessera_store::EventListFilter::default()
            };
            let page = tessera_store::PageRequest::first(100);
            let events = core
                .store
                .events()
                .list(IssuerScope::of(&issuer), &filter, page);
            events.await.unwrap().items.len()
        };
        for sent in 0..MAILS_PER_ADDRESS {
            assert!(
                reset_link(&core, &issuer, "ada@example.com")
                    .await
                    .is_some(),
                "{sent}"
            );
        }
        let share = usize::try_from(MAILS_PER_ADDRESS).unwrap();
        assert_eq!(requested().await, share);
        assert!(
            reset_link(&core, &issuer, "ada@example.com")
                .await
                .is_none()
        );
        assert_eq!(
            requested().await,
            share,
            "nothing written for the mail held back"
        );
        let verification = core.verification_mail(&issuer, &ada, None).await.unwrap();
        assert!(verification.is_none());
    }

    #[tokio::test]
    async fn a_reset_link_works_once_within_the_hour_and_for_known_addresses_only() {
        let (core, clock, db) = test_core().await;
        let issuer = test_issuer(db.store.as_ref(), "acme").await;
        let ada = user(&core, &issuer).await;
        assert!(
            reset_link(&core, &issuer, "nobody@example.com")
                .await
                .is_none()
        );
        assert!(reset_link(&core, &issuer, "not an address").await.is_none());

        // A forged form, or one from another browser, is not accepted.
        assert!(!core.forgot_password_form_accepts(Some(BROWSER), "forged"));
        let csrf = core.forgot_password_form(Some(BROWSER)).csrf;
        assert!(!core.forgot_password_form_accepts(Some("another browser"), &csrf));

        let link = reset_link(&core, &issuer, "ADA@example.com").await.unwrap();
        // A weak password is refused and leaves the link working.
        let weak = core
            .reset_password(&issuer, &link, "password")
            .await
            .unwrap();
        assert!(matches!(weak, Err(ResetRefusal::Password(_))), "{weak:?}");
        assert_eq!(
            core.check_reset_link(&issuer, &link)
                .await
                .unwrap()
                .unwrap()
                .id,
            ada.id
        );

        let done = core
            .reset_password(&issuer, &link, NEW_PASSWORD)
            .await
            .unwrap()
            .unwrap();
        assert!(done.email_verified, "a reset proves the mailbox");
        assert!(
            core.check_password(&issuer, "ada@example.com", NEW_PASSWORD)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            core.check_password(&issuer, "ada@example.com", PASSWORD)
                .await
                .unwrap()
                .is_none()
        );
        let again = core.reset_password(&issuer, &link, PASSWORD).await.unwrap();
        assert_eq!(again, Err(ResetRefusal::Link(LinkRefusal::Used)));

        let late = reset_link(&core, &issuer, "ada@example.com").await.unwrap();
        clock.advance(RESET_LINK_LIFETIME);
        assert_eq!(
            core.check_reset_link(&issuer, &late)
                .await
                .unwrap()
                .map(|u| u.id),
            Err(LinkRefusal::Expired)
        );
        assert_eq!(
            core.reset_password(&issuer, &late, PASSWORD).await.unwrap(),
            Err(ResetRefusal::Link(LinkRefusal::Expired))
        );
        assert_eq!(
            core.check_reset_link(&issuer, "made-up")
                .await
                .unwrap()
                .map(|u| u.id),
            Err(LinkRefusal::Unknown)
        );
    }

    #[tokio::test]
    async fn a_reset_voids_the_other_links_and_signs_the_account_out() {
        let (core, _, db) = test_core().await;
        let issuer = test_issuer(db.store.as_ref(), "acme").await;
        let ada = user(&core, &issuer).await;
        let (session, _) = core
            .start_session(&issuer, &ada, vec!["pwd".to_owned()])
            .await
            .unwrap();
        let first = reset_link(&core, &issuer, "ada@example.com").await.unwrap();
        let second = reset_link(&core, &issuer, "ada@example.com").await.unwrap();
        core.reset_password(&issuer, &second, NEW_PASSWORD)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            core.reset_password(&issuer, &first, PASSWORD)
                .await
                .unwrap(),
            Err(ResetRefusal::Link(LinkRefusal::Used)),
            "a link for the password replaced since is void"
        );
        let sessions = core.list_user_sessions(&issuer, ada.id).await.unwrap();
        assert!(sessions.iter().all(|s| !s.active), "{sessions:?}");
        assert!(sessions.iter().any(|s| s.session.id == session.id));
    }

    #[tokio::test]
    async fn concurrent_resets_with_one_link_change_the_password_once() {
        let (core, _, db) = test_core().await;
        let issuer = test_issuer(db.store.as_ref(), "acme").await;
        user(&core, &issuer).await;
        let link = reset_link(&core, &issuer, "ada@example.com").await.unwrap();
        let (a, b) = tokio::join!(
            core.reset_password(&issuer, &link, NEW_PASSWORD),
            core.reset_password(&issuer, &link, "another quite long passphrase"),
        );
        let outcomes = [a.unwrap(), b.unwrap()];
        assert_eq!(
            outcomes.iter().filter(|o| o.is_ok()).count(),
            1,
            "{outcomes:?}"
        );
        assert!(outcomes.contains(&Err(ResetRefusal::Link(LinkRefusal::Used))));
    }

    /// Two links of one user, used at once: one new password is set, and the other reset is
    /// told its link is used (never that its password was set when it was not).
    #[tokio::test]
    async fn concurrent_resets_with_two_links_set_one_password() {
        let (core, _, db) = test_core().await;
        let issuer = test_issuer(db.store.as_ref(), "acme").await;
        user(&core, &issuer).await;
        let first = reset_link(&core, &issuer, "ada@example.com").await.unwrap();
        let second = reset_link(&core, &issuer, "ada@example.com").await.unwrap();
        let (a, b) = tokio::join!(
            core.reset_password(&issuer, &first, NEW_PASSWORD),
            core.reset_password(&issuer, &second, "another quite long passphrase"),
        );
        let outcomes = [a.unwrap(), b.unwrap()];
        let set: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
        assert_eq!(set.len(), 1, "{outcomes:?}");
        assert!(outcomes.contains(&Err(ResetRefusal::Link(LinkRefusal::Used))));
        let stored = core
            .get_user(&issuer, set[0].id)
            .await
            .unwrap()
            .password_hash;
        assert_eq!(
            stored, set[0].password_hash,
            "the winner's password is stored"
        );
    }

    #[tokio::test]
    async fn a_verification_link_verifies_the_address_it_was_sent_to() {
        let (core, clock, db) = test_core().await;
        let issuer = test_issuer(db.store.as_ref(), "acme").await;
        let ada = user(&core, &issuer).await;
        assert!(!ada.email_verified);
        let mail = core
            .verification_mail(&issuer, &ada, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(mail.kind, MailKind::VerifyEmail);
        let link = mail.secret.unwrap().expose().to_owned();
        let verified = core.verify_email(&issuer, &link).await.unwrap().unwrap();
        assert!(verified.user.email_verified);
        assert_eq!(
            core.verify_email(&issuer, &link)
                .await
                .unwrap()
                .map(|v| v.user.id),
            Err(LinkRefusal::Used)
        );

        // A link sent to an address the account no longer has verifies nothing.
        let stale = core
            .verification_mail(&issuer, &ada, None)
            .await
            .unwrap()
            .unwrap();
        core.update_user(
            &issuer,
            ada.id,
            None,
            crate::users::UserPatch {
                email: Some("ada@elsewhere.example".to_owned()),
                ..Default::default()
            },
            Actor::System,
        )
        .await
        .unwrap();
        let stale = stale.secret.unwrap().expose().to_owned();
        assert_eq!(
            core.verify_email(&issuer, &stale)
                .await
                .unwrap()
                .map(|v| v.user.id),
            Err(LinkRefusal::Used)
        );

        let late = core
            .verification_mail(&issuer, &ada, None)
            .await
            .unwrap()
            .unwrap();
        clock.advance(VERIFICATION_LINK_LIFETIME);
        let late = late.secret.unwrap().expose().to_owned();
        assert_eq!(
            core.verify_email(&issuer, &late)
                .await
                .unwrap()
                .map(|v| v.user.id),
            Err(LinkRefusal::Expired)
        );
    }
}
