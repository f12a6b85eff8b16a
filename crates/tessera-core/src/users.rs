//! Users of an issuer: provisioning, profile changes, blocking and passwords (the Core API's
//! `/issuers/{slug}/users` resources).
//!
//! The rules, checked before anything is written:
//!
//! - the email is parsed as an [`Email`] and unique per issuer in its normalized form; the
//!   username (optional) is 1–128 characters without white space or control characters, and
//!   unique per issuer (the store enforces uniqueness, [`StoreError::AlreadyExists`]);
//! - a password meets the issuer's password policy ([`crate::password_policy`]; by default 8
//!   to 1024 characters, not one of the common passwords, and a zxcvbn strength of 2 at
//!   least), with the user's email address, username and names and the issuer's name counted
//!   as words an attacker would try; a refusal names the field `password` and says why. It is
//!   stored only as an Argon2id PHC string ([`tessera_crypto::password`]) and never appears in
//!   a log line, an event or a `Debug` output;
//! - `name`, `given_name` and `family_name` are at most 300 characters;
//! - `picture` is an absolute `https` or `http` URL of at most 2,000 characters (the OIDC
//!   `picture` claim: relying parties fetch it, so nothing else is accepted);
//! - `locale` is a BCP 47 language tag (RFC 5646, as the OIDC `locale` claim) and is stored in
//!   its canonical form (`de-at` becomes `de-AT`);
//! - `user_metadata` and `app_metadata` are JSON objects of at most 16 KiB serialized; a patch
//!   replaces them whole, and `null` clears them to `{}`;
//! - changing the email address makes it unverified again, unless the same patch says
//!   otherwise: the new address has not been proven.
//!
//! Every change is written with its event (`user.created`, `user.updated`, `user.deleted`,
//! `user.blocked`, `user.unblocked`, `user.password.changed`), whose data names the fields that
//! changed and never their secret values. A change that changes nothing writes nothing.
//!
//! Concurrency: an update or delete with an expected revision (`If-Match`) fails with
//! [`StoreError::Conflict`] when the user has moved on; without one, the last write wins (the
//! change is re-applied to a fresh read if another write slipped in between).
//!
//! Password hashing costs tens of milliseconds of CPU and 19 MiB of memory, so it runs on
//! tokio's blocking pool, at most one per CPU at once ([`PasswordPool`]): a burst of user
//! creations or sign-ins queues there and cannot stall the async workers that serve the token
//! endpoint (DESIGN.md §7).

use std::num::NonZeroUsize;
use std::sync::Arc;

use serde_json::{Value, json};
use tessera_crypto::password;
use tessera_model::{Actor, Email, Issuer, NewEvent, PasswordPolicy, UnixTime, User, UserId};
use tessera_store::{IssuerScope, Page, PageRequest, StoreError, UserListFilter};
use tokio::sync::Semaphore;

use crate::password_policy::{self, PasswordProblem};
use crate::{Core, CoreError};

/// The longest username, in characters.
pub const USERNAME_MAX_CHARS: usize = 128;
/// The longest `name`, `given_name` or `family_name`, in characters.
pub const NAME_MAX_CHARS: usize = 300;
/// The longest `picture` URL, in characters.
pub const PICTURE_MAX_CHARS: usize = 2000;
/// The longest `locale` tag, in characters (a language, script, region and a variant or two).
const LOCALE_MAX_CHARS: usize = 35;
/// The largest `user_metadata` or `app_metadata`, serialized as JSON, in bytes.
pub const METADATA_MAX_BYTES: usize = 16 * 1024;

/// How often a change without an expected revision is re-applied after losing a race.
const LAST_WRITE_WINS_ATTEMPTS: usize = 3;

/// A user to create, as the Core API receives it.
#[derive(Clone, Default)]
pub struct NewUser {
    /// Email address (required).
    pub email: String,
    /// Optional username, unique in the issuer.
    pub username: Option<String>,
    /// Optional initial password, in clear; only its hash is kept.
    pub password: Option<String>,
    /// Whether the address is known to belong to the user.
    pub email_verified: bool,
    /// Full name.
    pub name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// URL of a picture of the user.
    pub picture: Option<String>,
    /// The user's language (a BCP 47 tag).
    pub locale: Option<String>,
    /// Data the user may edit (a JSON object; `{}` if absent).
    pub user_metadata: Option<Value>,
    /// Data only administrators may edit (a JSON object; `{}` if absent).
    pub app_metadata: Option<Value>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("email", &self.email)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("email_verified", &self.email_verified)
            .field("name", &self.name)
            .field("given_name", &self.given_name)
            .field("family_name", &self.family_name)
            .field("picture", &self.picture)
            .field("locale", &self.locale)
            .field("user_metadata", &self.user_metadata)
            .field("app_metadata", &self.app_metadata)
            .finish()
    }
}

/// A partial update. `None` leaves a field alone; for nullable fields `Some(None)` (JSON
/// `null`) clears it (metadata is cleared to `{}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    /// New email address (it cannot be removed).
    pub email: Option<String>,
    /// New username, or `Some(None)` to remove it.
    pub username: Option<Option<String>>,
    /// Whether the (new) address is verified.
    pub email_verified: Option<bool>,
    /// Full name.
    pub name: Option<Option<String>>,
    /// Given name.
    pub given_name: Option<Option<String>>,
    /// Family name.
    pub family_name: Option<Option<String>>,
    /// URL of a picture of the user.
    pub picture: Option<Option<String>>,
    /// The user's language (a BCP 47 tag).
    pub locale: Option<Option<String>>,
    /// Replaces `user_metadata` whole.
    pub user_metadata: Option<Option<Value>>,
    /// Replaces `app_metadata` whole.
    pub app_metadata: Option<Option<Value>>,
}

/// Which users a listing returns; empty prefixes are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// The user with this email address, ignoring case: one indexed read however many users
    /// the issuer has (the prefixes below are compared row by row).
    pub email: Option<String>,
    /// Users whose email starts with this, ignoring case.
    pub email_prefix: Option<String>,
    /// Users whose username starts with this (usernames are case-sensitive).
    pub username_prefix: Option<String>,
}

/// Runs password hashing on tokio's blocking pool, a bounded number at once.
///
/// Waiting callers queue on the semaphore, not on threads: at most `permits` hashes (each
/// 19 MiB) are in memory, and tokio's blocking pool is never flooded with them.
#[derive(Clone)]
pub(crate) struct PasswordPool {
    permits: Arc<Semaphore>,
}

impl PasswordPool {
    /// One hash at a time per CPU.
    pub(crate) fn sized_to_cpus() -> Self {
        Self::with_permits(std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
    }

    fn with_permits(permits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
        }
    }

    /// Runs `job` on the blocking pool once a permit is free.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| shutting_down(Box::new(e)))?;
        // The permit moves into the job: if the caller gives up waiting, the permit is still
        // held until the hash really finishes, so the bound holds.
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await;
        match outcome {
            Ok(value) => Ok(value),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(shutting_down(Box::new(e))),
        }
    }

    /// Whether `password` matches the stored hash `phc`.
    pub(crate) async fn verify(&self, password: String, phc: String) -> Result<bool, CoreError> {
        self.run(move || password::verify_password(&password, &phc))
            .await
    }

    /// Hashes a password (already checked against the policy).
    pub(crate) async fn hash(&self, password: String) -> Result<String, CoreError> {
        self.run(move || password::hash_password(&password))
            .await?
            // Only a password longer than Argon2 accepts (4 GiB) fails; the policy refused it.
            .map_err(|e| CoreError::InvalidField {
                field: "password",
                reason: e.to_string(),
            })
    }
}

/// The semaphore is never closed and blocking tasks are cancelled only when the runtime shuts
/// down: either way this node is going away, and the request may be retried elsewhere.
pub(crate) fn shutting_down(cause: Box<dyn std::error::Error + Send + Sync>) -> CoreError {
    CoreError::Store(StoreError::Unavailable(cause))
}

fn invalid(field: &'static str, reason: impl Into<String>) -> CoreError {
    CoreError::InvalidField {
        field,
        reason: reason.into(),
    }
}

fn parse_email(text: &str) -> Result<Email, CoreError> {
    Email::parse(text).map_err(|e| invalid("email", e.to_string()))
}

fn check_username(username: &str) -> Result<(), CoreError> {
    let length = username.chars().count();
    if length == 0 || length > USERNAME_MAX_CHARS {
        return Err(invalid(
            "username",
            format!("a username is 1 to {USERNAME_MAX_CHARS} characters long"),
        ));
    }
    if username
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            "username",
            "a username contains no spaces or control characters",
        ));
    }
    Ok(())
}

/// A refused password as an invalid `password` field whose reason says what to do.
fn password_refused(problem: PasswordProblem) -> CoreError {
    invalid("password", problem.to_string())
}

/// The one check of a new password for a user of `issuer`: the issuer's policy, with the
/// user's own details (`details`: email, username, names) and the issuer's names as words an
/// attacker would try. The Core API, sign-up, reset and the account portal all use it.
pub(crate) fn user_password_problem(
    issuer: &Issuer,
    password: &str,
    details: &[Option<&str>],
) -> Result<(), PasswordProblem> {
    let mut inputs: Vec<&str> = details.iter().flatten().copied().collect();
    inputs.extend([issuer.slug.as_str(), issuer.display_name.as_str()]);
    password_policy::check(&issuer.settings.password_policy(), password, &inputs)
}

/// A stored user's details an attacker would try as a password, for
/// [`user_password_problem`].
pub(crate) fn user_details(user: &User) -> [Option<&str>; 5] {
    [
        user.email.as_ref().map(Email::as_str),
        user.username.as_deref(),
        user.name.as_deref(),
        user.given_name.as_deref(),
        user.family_name.as_deref(),
    ]
}

/// [`user_password_problem`] as the Core API answers it: an invalid `password` field.
fn check_user_password(
    issuer: &Issuer,
    password: &str,
    details: &[Option<&str>],
) -> Result<(), CoreError> {
    user_password_problem(issuer, password, details).map_err(password_refused)
}

fn check_name(field: &'static str, value: Option<&str>) -> Result<(), CoreError> {
    match value {
        Some(value) if value.chars().count() > NAME_MAX_CHARS => Err(invalid(
            field,
            format!("at most {NAME_MAX_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

/// A picture URL by the rules of the module documentation.
fn check_picture(value: Option<&str>) -> Result<(), CoreError> {
    let Some(value) = value else { return Ok(()) };
    if value.chars().count() > PICTURE_MAX_CHARS {
        return Err(invalid(
            "picture",
            format!("at most {PICTURE_MAX_CHARS} characters"),
        ));
    }
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.has_host() => Ok(()),
        _ => Err(invalid(
            "picture",
            "must be an absolute https:// (or http://) URL",
        )),
    }
}

/// A locale by the rules of the module documentation, in its canonical form.
fn locale(value: Option<String>) -> Result<Option<String>, CoreError> {
    let Some(value) = value else { return Ok(None) };
    let refused = || {
        invalid(
            "locale",
            "must be a BCP 47 language tag, such as `de` or `es-MX`",
        )
    };
    if value.is_empty() || value.chars().count() > LOCALE_MAX_CHARS {
        return Err(refused());
    }
    let tag: unic_langid::LanguageIdentifier = value.parse().map_err(|_| refused())?;
    // `und` (no language) parses, but says nothing a page could speak.
    if tag.language.is_empty() {
        return Err(refused());
    }
    Ok(Some(tag.to_string()))
}

/// A metadata document: a JSON object of bounded size; absent is `{}`.
fn metadata(field: &'static str, value: Option<Value>) -> Result<Value, CoreError> {
    let value = value.unwrap_or_else(|| json!({}));
    if !value.is_object() {
        return Err(invalid(field, "must be a JSON object"));
    }
    if value.to_string().len() > METADATA_MAX_BYTES {
        return Err(invalid(
            field,
            format!("at most {METADATA_MAX_BYTES} bytes of JSON"),
        ));
    }
    Ok(value)
}

/// A prefix as the store compares it: trimmed (neither emails nor usernames contain white
/// space), empty meaning no condition.
fn prefix(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|p| !p.is_empty())
}

/// In this module a missing user is the use case's `NotFound` (the edge's 404).
fn user_error(error: StoreError) -> CoreError {
    match error {
        StoreError::NotFound => CoreError::NotFound,
        other => CoreError::Store(other),
    }
}

/// A patch whose values passed the rules.
struct CheckedPatch {
    email: Option<Email>,
    username: Option<Option<String>>,
    email_verified: Option<bool>,
    name: Option<Option<String>>,
    given_name: Option<Option<String>>,
    family_name: Option<Option<String>>,
    picture: Option<Option<String>>,
    locale: Option<Option<String>>,
    user_metadata: Option<Value>,
    app_metadata: Option<Value>,
}

impl CheckedPatch {
    fn check(patch: UserPatch) -> Result<Self, CoreError> {
        let email = patch.email.as_deref().map(parse_email).transpose()?;
        if let Some(Some(username)) = &patch.username {
            check_username(username)?;
        }
        check_name("name", patch.name.as_ref().and_then(Option::as_deref))?;
        check_name(
            "given_name",
            patch.given_name.as_ref().and_then(Option::as_deref),
        )?;
        check_name(
            "family_name",
            patch.family_name.as_ref().and_then(Option::as_deref),
        )?;
        check_picture(patch.picture.as_ref().and_then(Option::as_deref))?;
        Ok(Self {
            email,
            username: patch.username,
            email_verified: patch.email_verified,
            name: patch.name,
            given_name: patch.given_name,
            family_name: patch.family_name,
            picture: patch.picture,
            locale: patch.locale.map(locale).transpose()?,
            user_metadata: patch
                .user_metadata
                .map(|m| metadata("user_metadata", m))
                .transpose()?,
            app_metadata: patch
                .app_metadata
                .map(|m| metadata("app_metadata", m))
                .transpose()?,
        })
    }

    /// Applies the patch to `user`; returns the names of the fields that really changed.
    fn apply(&self, user: &mut User) -> Vec<&'static str> {
        fn set<T: PartialEq + Clone>(
            changed: &mut Vec<&'static str>,
            field: &'static str,
            slot: &mut T,
            value: Option<&T>,
        ) {
            if let Some(value) = value
                && slot != value
            {
                *slot = value.clone();
                changed.push(field);
            }
        }
        let mut changed = Vec::new();
        let new_address = self.email.as_ref().is_some_and(|email| {
            user.email.as_ref().map(Email::normalized) != Some(email.normalized())
        });
        set(
            &mut changed,
            "email",
            &mut user.email,
            self.email.clone().map(Some).as_ref(),
        );
        // A new address is unproven until the patch itself says otherwise.
        let verified = self.email_verified.or(new_address.then_some(false));
        set(
            &mut changed,
            "email_verified",
            &mut user.email_verified,
            verified.as_ref(),
        );
        set(
            &mut changed,
            "username",
            &mut user.username,
            self.username.as_ref(),
        );
        set(&mut changed, "name", &mut user.name, self.name.as_ref());
        set(
            &mut changed,
            "given_name",
            &mut user.given_name,
            self.given_name.as_ref(),
        );
        set(
            &mut changed,
            "family_name",
            &mut user.family_name,
            self.family_name.as_ref(),
        );
        set(
            &mut changed,
            "picture",
            &mut user.picture,
            self.picture.as_ref(),
        );
        set(
            &mut changed,
            "locale",
            &mut user.locale,
            self.locale.as_ref(),
        );
        set(
            &mut changed,
            "user_metadata",
            &mut user.user_metadata,
            self.user_metadata.as_ref(),
        );
        set(
            &mut changed,
            "app_metadata",
            &mut user.app_metadata,
            self.app_metadata.as_ref(),
        );
        changed
    }
}

/// A new user's fields, checked by the rules of the module documentation; all but the
/// password, which is hashed before [`CheckedUser::into_user`], and uniqueness, which only the
/// store can decide.
pub(crate) struct CheckedUser {
    email: Email,
    username: Option<String>,
    email_verified: bool,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    picture: Option<String>,
    locale: Option<String>,
    user_metadata: Value,
    app_metadata: Value,
}

impl CheckedUser {
    /// Checks `input` for a user of `issuer`; returns its password (checked against the
    /// issuer's policy) apart.
    pub(crate) fn check(
        issuer: &Issuer,
        input: NewUser,
    ) -> Result<(Self, Option<String>), CoreError> {
        let (checked, password) = Self::check_all_but_password(input)?;
        if let Some(password) = &password {
            check_user_password(issuer, password, &checked.details())?;
        }
        Ok((checked, password))
    }

    /// Checks `input` but its password, which the caller has checked against the issuer's
    /// policy itself (sign-up, which says what is wrong with it on its own page), and
    /// returns that apart.
    pub(crate) fn check_all_but_password(
        input: NewUser,
    ) -> Result<(Self, Option<String>), CoreError> {
        let email = parse_email(&input.email)?;
        if let Some(username) = &input.username {
            check_username(username)?;
        }
        check_name("name", input.name.as_deref())?;
        check_name("given_name", input.given_name.as_deref())?;
        check_name("family_name", input.family_name.as_deref())?;
        check_picture(input.picture.as_deref())?;
        let checked = Self {
            email,
            username: input.username,
            email_verified: input.email_verified,
            name: input.name,
            given_name: input.given_name,
            family_name: input.family_name,
            picture: input.picture,
            locale: locale(input.locale)?,
            user_metadata: metadata("user_metadata", input.user_metadata)?,
            app_metadata: metadata("app_metadata", input.app_metadata)?,
        };
        Ok((checked, input.password))
    }

    /// The new user's details an attacker would try as a password, as [`user_details`]
    /// gives them for a stored user.
    pub(crate) fn details(&self) -> [Option<&str>; 5] {
        [
            Some(self.email.as_str()),
            self.username.as_deref(),
            self.name.as_deref(),
            self.given_name.as_deref(),
            self.family_name.as_deref(),
        ]
    }

    /// The user of `issuer` to store, created at `now` with `password_hash` (a PHC string from
    /// [`password::hash_password`]).
    pub(crate) fn into_user(
        self,
        issuer: &Issuer,
        password_hash: Option<String>,
        now: UnixTime,
    ) -> User {
        User {
            id: UserId::new(),
            issuer_id: issuer.id,
            email: Some(self.email),
            email_verified: self.email_verified,
            username: self.username,
            password_hash,
            name: self.name,
            given_name: self.given_name,
            family_name: self.family_name,
            picture: self.picture,
            locale: self.locale,
            user_metadata: self.user_metadata,
            app_metadata: self.app_metadata,
            blocked: false,
            created_at: now,
            updated_at: now,
            revision: 1,
        }
    }
}

impl Core {
    /// Creates a user in `issuer`. A duplicate email (in any case) or username is
    /// [`StoreError::AlreadyExists`] with `field` `email` or `username`.
    pub async fn create_user(
        &self,
        issuer: &Issuer,
        input: NewUser,
        actor: Actor,
    ) -> Result<User, CoreError> {
        let (checked, password) = CheckedUser::check(issuer, input)?;
        self.store_new_user(issuer, checked, password, |_| actor)
            .await
    }

    /// Stores a new user whose fields were checked ([`CheckedUser`]), with `password`, which
    /// was checked against the issuer's policy, hashed; `actor` is known once the user's id
    /// is (`Actor::User` for a user who signs themselves up).
    pub(crate) async fn store_new_user(
        &self,
        issuer: &Issuer,
        checked: CheckedUser,
        password: Option<String>,
        actor: impl FnOnce(UserId) -> Actor,
    ) -> Result<User, CoreError> {
        // The duplicates before the hash, so a doomed request costs none; the store's unique
        // constraints still decide races.
        let scope = IssuerScope::of(issuer);
        let users = self.store.users();
        if users
            .find_by_email(scope, checked.email.normalized())
            .await?
            .is_some()
        {
            return Err(StoreError::AlreadyExists {
                entity: "user",
                field: "email",
            }
            .into());
        }
        if let Some(username) = &checked.username
            && users.find_by_username(scope, username).await?.is_some()
        {
            return Err(StoreError::AlreadyExists {
                entity: "user",
                field: "username",
            }
            .into());
        }
        let password_hash = match password {
            Some(password) => Some(self.passwords.hash(password).await?),
            None => None,
        };
        let user = checked.into_user(issuer, password_hash, self.clock.now());
        let mut fields = vec!["email", "email_verified"];
        for (field, present) in [
            ("username", user.username.is_some()),
            ("password", user.password_hash.is_some()),
            ("name", user.name.is_some()),
            ("given_name", user.given_name.is_some()),
            ("family_name", user.family_name.is_some()),
            ("picture", user.picture.is_some()),
            ("locale", user.locale.is_some()),
        ] {
            if present {
                fields.push(field);
            }
        }
        let event = NewEvent::new(
            "user.created",
            user.id,
            actor(user.id),
            json!({ "fields": fields }),
            user.created_at,
        );
        users.create(scope, &user, &event).await?;
        Ok(user)
    }

    /// Hashes a new password, checked against `policy` first (`user_inputs`: words an
    /// attacker would try for the account, as in [`password_policy::check`]), on the bounded
    /// password pool.
    pub(crate) async fn hash_new_password(
        &self,
        policy: &PasswordPolicy,
        password: String,
        user_inputs: &[&str],
    ) -> Result<String, CoreError> {
        password_policy::check(policy, &password, user_inputs).map_err(password_refused)?;
        self.passwords.hash(password).await
    }

    /// A user of `issuer`; [`CoreError::NotFound`] if it has none with this id.
    pub async fn get_user(&self, issuer: &Issuer, id: UserId) -> Result<User, CoreError> {
        self.store
            .users()
            .find(IssuerScope::of(issuer), id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// The users of `issuer` that match `filter`, in creation order, one page at a time.
    pub async fn list_users(
        &self,
        issuer: &Issuer,
        filter: &UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, CoreError> {
        if let Some(email) = &filter.email {
            return self.user_by_email(issuer, email, filter, page).await;
        }
        let filter = UserListFilter {
            // Compared with the normalized addresses, which makes the match case-insensitive.
            email_prefix: prefix(filter.email_prefix.as_deref()).map(str::to_lowercase),
            username_prefix: prefix(filter.username_prefix.as_deref()).map(str::to_owned),
        };
        Ok(self
            .store
            .users()
            .list(IssuerScope::of(issuer), &filter, page)
            .await?)
    }

    /// The page of at most one user that has `email`, if it also matches the other filters
    /// and comes after the page's cursor.
    async fn user_by_email(
        &self,
        issuer: &Issuer,
        email: &str,
        filter: &UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, CoreError> {
        let email = parse_email(email)?;
        let found = self
            .store
            .users()
            .find_by_email(IssuerScope::of(issuer), email.normalized())
            .await?;
        let starts = |value: Option<&str>, start: Option<&str>| match prefix(start) {
            None => true,
            Some(start) => value.is_some_and(|v| v.starts_with(start)),
        };
        let items = found
            .filter(|user| page.after.is_none_or(|after| user.id.as_uuid() > after))
            .filter(|user| {
                let lowered = filter.email_prefix.as_deref().map(str::to_lowercase);
                starts(Some(email.normalized()), lowered.as_deref())
                    && starts(user.username.as_deref(), filter.username_prefix.as_deref())
            })
            .into_iter()
            .collect();
        Ok(Page {
            items,
            next_after: None,
        })
    }

    /// Applies `patch`. With `expected_revision`, only if the user is still at it
    /// ([`StoreError::Conflict`] otherwise); without, the last write wins.
    pub async fn update_user(
        &self,
        issuer: &Issuer,
        id: UserId,
        expected_revision: Option<i64>,
        patch: UserPatch,
        actor: Actor,
    ) -> Result<User, CoreError> {
        let patch = CheckedPatch::check(patch)?;
        self.change_user(
            issuer,
            id,
            expected_revision,
            actor,
            "user.updated",
            |user| patch.apply(user),
        )
        .await
    }

    /// Deletes a user. With `expected_revision`, only if the user is still at it.
    pub async fn delete_user(
        &self,
        issuer: &Issuer,
        id: UserId,
        expected_revision: Option<i64>,
        actor: Actor,
    ) -> Result<(), CoreError> {
        let event = NewEvent::new("user.deleted", id, actor, json!({}), self.clock.now());
        self.store
            .users()
            .delete(IssuerScope::of(issuer), id, expected_revision, &event)
            .await
            .map_err(user_error)
    }

    /// Blocks (or unblocks) a user; blocked users cannot sign in. Blocking a blocked user
    /// changes nothing and writes no event.
    pub async fn set_user_blocked(
        &self,
        issuer: &Issuer,
        id: UserId,
        blocked: bool,
        actor: Actor,
    ) -> Result<User, CoreError> {
        let event_type = if blocked {
            "user.blocked"
        } else {
            "user.unblocked"
        };
        self.change_user(issuer, id, None, actor, event_type, |user| {
            if user.blocked == blocked {
                return vec![];
            }
            user.blocked = blocked;
            vec!["blocked"]
        })
        .await
    }

    /// Sets a user's password (an administrator's reset: no old password needed).
    pub async fn set_user_password(
        &self,
        issuer: &Issuer,
        id: UserId,
        password: &str,
        actor: Actor,
    ) -> Result<User, CoreError> {
        // Refuse an unknown user before paying for a hash.
        let user = self.get_user(issuer, id).await?;
        check_user_password(issuer, password, &user_details(&user))?;
        self.store_new_password(issuer, id, password, actor).await
    }

    /// Hashes `password`, which the caller has checked against the issuer's policy, and
    /// makes it the user's (`user.password.changed`): an administrator's reset, or the
    /// user's own change in the account portal.
    pub(crate) async fn store_new_password(
        &self,
        issuer: &Issuer,
        id: UserId,
        password: &str,
        actor: Actor,
    ) -> Result<User, CoreError> {
        let hash = self.passwords.hash(password.to_owned()).await?;
        self.change_user(issuer, id, None, actor, "user.password.changed", |user| {
            user.password_hash = Some(hash.clone());
            vec!["password"]
        })
        .await
    }

    /// Reads the user, applies `change`, and writes the result with its event (whose data
    /// names the changed fields). Nothing changed: nothing written, the user returned as is.
    pub(crate) async fn change_user(
        &self,
        issuer: &Issuer,
        id: UserId,
        expected_revision: Option<i64>,
        actor: Actor,
        event_type: &'static str,
        change: impl Fn(&mut User) -> Vec<&'static str>,
    ) -> Result<User, CoreError> {
        let scope = IssuerScope::of(issuer);
        let mut attempt = 1;
        loop {
            let current = self.get_user(issuer, id).await?;
            if expected_revision.is_some_and(|expected| expected != current.revision) {
                return Err(StoreError::Conflict.into());
            }
            let mut next = current.clone();
            let fields = change(&mut next);
            if fields.is_empty() {
                return Ok(current);
            }
            let now = self.clock.now();
            next.updated_at = now;
            let event = NewEvent::new(event_type, id, actor, json!({ "fields": fields }), now);
            match self.store.users().update(scope, &next, &event).await {
                Ok(updated) => return Ok(updated),
                Err(StoreError::Conflict)
                    if expected_revision.is_none() && attempt < LAST_WRITE_WINS_ATTEMPTS =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(user_error(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use serde_json::json;

    use tessera_crypto::password::verify_password;
    use tessera_model::{Actor, ClientId, FixedClock, Issuer, PasswordPolicy, UnixTime, UserId};
    use tessera_store::{IssuerScope, PageRequest, Store, StoreError};

    use super::*;

    const T0: UnixTime = crate::TEST_NOW;
    const PASSWORD: &str = "correct horse battery staple";

    struct Fixture {
        _db: tessera_store::contract::TestStore,
        store: Arc<dyn Store>,
        clock: Arc<FixedClock>,
        core: Core,
        acme: Issuer,
        globex: Issuer,
    }

    async fn fixture() -> Fixture {
        let (core, clock, db) = crate::test_core().await;
        let store = db.store.clone();
        let acme = crate::test_issuer(&*store, "acme").await;
        let globex = crate::test_issuer(&*store, "globex").await;
        Fixture {
            _db: db,
            store,
            clock,
            core,
            acme,
            globex,
        }
    }

    fn admin() -> Actor {
        Actor::AdminClient(ClientId::new())
    }

    fn ada() -> NewUser {
        NewUser {
            email: "Ada@Example.com".to_owned(),
            username: Some("ada".to_owned()),
            password: Some(PASSWORD.to_owned()),
            email_verified: true,
            name: Some("Ada Lovelace".to_owned()),
            given_name: Some("Ada".to_owned()),
            family_name: Some("Lovelace".to_owned()),
            picture: None,
            locale: None,
            user_metadata: Some(json!({"theme": "dark"})),
            app_metadata: Some(json!({"plan": "pro"})),
        }
    }

    fn bare(email: &str) -> NewUser {
        NewUser {
            email: email.to_owned(),
            ..NewUser::default()
        }
    }

    async fn events(f: &Fixture, issuer: &Issuer) -> Vec<tessera_model::Event> {
        f.store
            .events()
            .list(
                IssuerScope::of(issuer),
                &Default::default(),
                PageRequest::first(1000),
            )
            .await
            .unwrap()
            .items
    }

    async fn event_types(f: &Fixture, issuer: &Issuer) -> Vec<String> {
        events(f, issuer)
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }

    fn assert_invalid(result: Result<impl std::fmt::Debug, CoreError>, expected: &str) {
        match result {
            Err(CoreError::InvalidField { field, .. }) => assert_eq!(field, expected),
            other => panic!("expected InvalidField({expected}), got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_created_user_is_stored_with_an_argon2id_password_and_an_event_without_secrets() {
        let f = fixture().await;
        let actor = admin();
        let user = f.core.create_user(&f.acme, ada(), actor).await.unwrap();

        assert_eq!(user.issuer_id, f.acme.id);
        assert_eq!(user.email.as_ref().unwrap().as_str(), "Ada@Example.com");
        assert_eq!(user.username.as_deref(), Some("ada"));
        assert!(user.email_verified && !user.blocked);
        assert_eq!(
            (user.created_at, user.updated_at, user.revision),
            (T0, T0, 1)
        );
        assert_eq!(user.app_metadata, json!({"plan": "pro"}));
        let stored = f.core.get_user(&f.acme, user.id).await.unwrap();
        assert_eq!(stored, user);
        let hash = stored.password_hash.as_deref().unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(PASSWORD, hash));
        assert!(!verify_password("wrong password", hash));

        let created = events(&f, &f.acme).await.pop().unwrap();
        assert_eq!(created.event_type, "user.created");
        assert_eq!(created.subject, user.id.to_string());
        assert_eq!(created.actor, actor);
        assert_eq!(
            created.data,
            json!({"fields": ["email", "email_verified", "username", "password", "name",
                              "given_name", "family_name"]})
        );
        let data = created.data.to_string();
        assert!(
            !data.contains(PASSWORD) && !data.contains("argon2"),
            "{data}"
        );
        assert!(!format!("{:?}", ada()).contains(PASSWORD));

        // Without optional fields: no password, empty metadata.
        let bare = f
            .core
            .create_user(&f.acme, bare("bob@example.com"), actor)
            .await
            .unwrap();
        assert_eq!(bare.password_hash, None);
        assert_eq!(bare.user_metadata, json!({}));
        assert!(!bare.email_verified);
    }

    #[tokio::test]
    async fn invalid_input_is_refused_field_by_field_and_nothing_is_written() {
        let f = fixture().await;
        let cases: Vec<(NewUser, &str)> = vec![
            (bare("not an email"), "email"),
            (bare(""), "email"),
            (
                NewUser {
                    username: Some(String::new()),
                    ..ada()
                },
                "username",
            ),
            (
                NewUser {
                    username: Some("ada lovelace".to_owned()),
                    ..ada()
                },
                "username",
            ),
            (
                NewUser {
                    username: Some("ada\u{7}".to_owned()),
                    ..ada()
                },
                "username",
            ),
            (
                NewUser {
                    username: Some("a".repeat(129)),
                    ..ada()
                },
                "username",
            ),
            (
                NewUser {
                    password: Some("1234567".to_owned()),
                    ..ada()
                },
                "password",
            ),
            (
                NewUser {
                    password: Some("p".repeat(1025)),
                    ..ada()
                },
                "password",
            ),
            (
                NewUser {
                    name: Some("n".repeat(301)),
                    ..ada()
                },
                "name",
            ),
            (
                NewUser {
                    given_name: Some("n".repeat(301)),
                    ..ada()
                },
                "given_name",
            ),
            (
                NewUser {
                    family_name: Some("n".repeat(301)),
                    ..ada()
                },
                "family_name",
            ),
            (
                NewUser {
                    picture: Some("javascript:alert(1)".to_owned()),
                    ..ada()
                },
                "picture",
            ),
            (
                NewUser {
                    picture: Some("/me.png".to_owned()),
                    ..ada()
                },
                "picture",
            ),
            (
                NewUser {
                    picture: Some(format!("https://example.com/{}", "p".repeat(2000))),
                    ..ada()
                },
                "picture",
            ),
            (
                NewUser {
                    locale: Some("not a tag".to_owned()),
                    ..ada()
                },
                "locale",
            ),
            (
                NewUser {
                    locale: Some("und".to_owned()),
                    ..ada()
                },
                "locale",
            ),
            (
                NewUser {
                    user_metadata: Some(json!(["not", "an", "object"])),
                    ..ada()
                },
                "user_metadata",
            ),
            (
                NewUser {
                    app_metadata: Some(json!({"big": "x".repeat(16 * 1024)})),
                    ..ada()
                },
                "app_metadata",
            ),
        ];
        for (input, field) in cases {
            assert_invalid(f.core.create_user(&f.acme, input, admin()).await, field);
        }
        // The limits themselves are allowed (counted in characters, not bytes).
        let edge = NewUser {
            username: Some("é".repeat(128)),
            password: Some("éæøåßñçü".to_owned()),
            name: Some("é".repeat(300)),
            ..ada()
        };
        f.core.create_user(&f.acme, edge, admin()).await.unwrap();
        assert_eq!(
            event_types(&f, &f.acme).await,
            ["issuer.created", "user.created"]
        );
    }

    #[tokio::test]
    async fn emails_and_usernames_are_unique_per_issuer_only() {
        let f = fixture().await;
        f.core.create_user(&f.acme, ada(), admin()).await.unwrap();
        let same_email = NewUser {
            email: "ADA@example.COM".to_owned(),
            username: None,
            ..ada()
        };
        assert!(matches!(
            f.core.create_user(&f.acme, same_email, admin()).await,
            Err(CoreError::Store(StoreError::AlreadyExists {
                entity: "user",
                field: "email"
            }))
        ));
        let same_username = NewUser {
            email: "other@example.com".to_owned(),
            ..ada()
        };
        assert!(matches!(
            f.core.create_user(&f.acme, same_username, admin()).await,
            Err(CoreError::Store(StoreError::AlreadyExists {
                entity: "user",
                field: "username"
            }))
        ));
        // Another issuer has its own pool.
        f.core.create_user(&f.globex, ada(), admin()).await.unwrap();
        // Renaming onto a taken username is refused by the store.
        let bob = f
            .core
            .create_user(&f.acme, bare("bob@example.com"), admin())
            .await
            .unwrap();
        let patch = UserPatch {
            email: Some("ada@example.com".to_owned()),
            ..UserPatch::default()
        };
        assert!(matches!(
            f.core
                .update_user(&f.acme, bob.id, None, patch, admin())
                .await,
            Err(CoreError::Store(StoreError::AlreadyExists {
                field: "email",
                ..
            }))
        ));
    }

    #[tokio::test]
    async fn a_user_of_one_issuer_is_not_found_through_another() {
        let f = fixture().await;
        let user = f.core.create_user(&f.acme, ada(), admin()).await.unwrap();
        let (b, id) = (&f.globex, user.id);
        assert!(matches!(
            f.core.get_user(b, id).await,
            Err(CoreError::NotFound)
        ));
        assert!(matches!(
            f.core
                .update_user(b, id, None, UserPatch::default(), admin())
                .await,
            Err(CoreError::NotFound)
        ));
        assert!(matches!(
            f.core.set_user_blocked(b, id, true, admin()).await,
            Err(CoreError::NotFound)
        ));
        assert!(matches!(
            f.core.set_user_password(b, id, PASSWORD, admin()).await,
            Err(CoreError::NotFound)
        ));
        for expected in [None, Some(1)] {
            assert!(matches!(
                f.core.delete_user(b, id, expected, admin()).await,
                Err(CoreError::NotFound)
            ));
        }
        let listed = f
            .core
            .list_users(b, &UserFilter::default(), PageRequest::first(100))
            .await
            .unwrap();
        assert!(listed.items.is_empty());
        assert!(matches!(
            f.core.get_user(&f.acme, UserId::new()).await,
            Err(CoreError::NotFound)
        ));
        // Nothing happened to the user, and B's trail is untouched.
        assert_eq!(f.core.get_user(&f.acme, id).await.unwrap(), user);
        assert_eq!(event_types(&f, b).await, ["issuer.created"]);
    }

    #[tokio::test]
    async fn users_are_listed_by_email_prefix_ignoring_case_or_by_username_prefix_or_found_by_email()
     {
        let f = fixture().await;
        for (email, username) in [
            ("Ada@Example.com", Some("ada")),
            ("adam@example.com", Some("adam")),
            ("bob@example.com", Some("bob")),
            ("ADALINE@example.com", None),
            ("alan@example.com", Some("Adam2")),
        ] {
            let input = NewUser {
                username: username.map(str::to_owned),
                ..bare(email)
            };
            f.core.create_user(&f.acme, input, admin()).await.unwrap();
        }
        f.core
            .create_user(&f.globex, bare("ada@globex.com"), admin())
            .await
            .unwrap();

        let walk = |filter: UserFilter| {
            let core = f.core.clone();
            let issuer = f.acme.clone();
            async move {
                let mut emails = Vec::new();
                let mut page = PageRequest::first(2);
                loop {
                    let result = core.list_users(&issuer, &filter, page).await.unwrap();
                    emails.extend(
                        result
                            .items
                            .iter()
                            .map(|u| u.email.as_ref().unwrap().as_str().to_owned()),
                    );
                    match result.next_after {
                        Some(after) => page = PageRequest::after(after, 2),
                        None => return emails,
                    }
                }
            }
        };
        let by_email = |p: &str| UserFilter {
            email_prefix: Some(p.to_owned()),
            ..UserFilter::default()
        };
        assert_eq!(
            walk(by_email("ADA")).await,
            ["Ada@Example.com", "adam@example.com", "ADALINE@example.com"]
        );
        assert_eq!(walk(by_email(" aDa@ ")).await, ["Ada@Example.com"]);
        assert_eq!(walk(by_email("")).await.len(), 5, "empty prefix: no filter");
        assert_eq!(walk(UserFilter::default()).await.len(), 5);
        let by_username = UserFilter {
            username_prefix: Some("ada".to_owned()),
            ..UserFilter::default()
        };
        assert_eq!(
            walk(by_username).await,
            ["Ada@Example.com", "adam@example.com"]
        );
        let both = UserFilter {
            email_prefix: Some("a".to_owned()),
            username_prefix: Some("Ad".to_owned()),
            ..UserFilter::default()
        };
        assert_eq!(walk(both).await, ["alan@example.com"]);

        // The exact address, in any case; with other filters, only if it matches them too.
        let exactly = |email: &str, username_prefix: Option<&str>| UserFilter {
            email: Some(email.to_owned()),
            username_prefix: username_prefix.map(str::to_owned),
            ..UserFilter::default()
        };
        assert_eq!(
            walk(exactly("ADA@example.COM", None)).await,
            ["Ada@Example.com"]
        );
        assert_eq!(
            walk(exactly("ada@example.com", Some("ada"))).await,
            ["Ada@Example.com"]
        );
        assert!(
            walk(exactly("ada@example.com", Some("alan")))
                .await
                .is_empty()
        );
        assert!(walk(exactly("nobody@example.com", None)).await.is_empty());
        let wrong = f
            .core
            .list_users(
                &f.acme,
                &exactly("not an address", None),
                PageRequest::first(2),
            )
            .await;
        assert!(
            matches!(wrong, Err(CoreError::InvalidField { field: "email", .. })),
            "{wrong:?}"
        );
    }

    #[tokio::test]
    async fn a_patch_changes_only_what_it_names_and_null_clears() {
        let f = fixture().await;
        let actor = admin();
        let user = f.core.create_user(&f.acme, ada(), actor).await.unwrap();
        f.clock.advance(60);
        let patch = UserPatch {
            name: Some(Some("Ada King".to_owned())),
            given_name: Some(None),
            username: Some(None),
            user_metadata: Some(None),
            app_metadata: Some(Some(json!({"plan": "free"}))),
            family_name: Some(Some("Lovelace".to_owned())),
            picture: Some(Some("https://example.com/ada.png".to_owned())),
            locale: Some(Some("de-at".to_owned())),
            ..UserPatch::default()
        };
        let updated = f
            .core
            .update_user(&f.acme, user.id, Some(1), patch, actor)
            .await
            .unwrap();
        assert_eq!(updated.revision, 2);
        assert_eq!(updated.updated_at, T0.plus_seconds(60));
        assert_eq!(updated.name.as_deref(), Some("Ada King"));
        assert_eq!(updated.given_name, None);
        assert_eq!(updated.username, None);
        assert_eq!(updated.family_name.as_deref(), Some("Lovelace"));
        assert_eq!(
            updated.picture.as_deref(),
            Some("https://example.com/ada.png")
        );
        assert_eq!(updated.locale.as_deref(), Some("de-AT"), "canonical form");
        assert_eq!(updated.user_metadata, json!({}));
        assert_eq!(updated.app_metadata, json!({"plan": "free"}));
        assert_eq!(updated.email, user.email);
        assert!(updated.email_verified);
        assert_eq!(updated.password_hash, user.password_hash);
        assert_eq!(f.core.get_user(&f.acme, user.id).await.unwrap(), updated);
        let event = events(&f, &f.acme).await.pop().unwrap();
        assert_eq!(event.event_type, "user.updated");
        assert_eq!(event.actor, actor);
        assert_eq!(
            event.data,
            json!({"fields": ["username", "name", "given_name", "picture", "locale",
                              "user_metadata", "app_metadata"]})
        );

        // A patch that changes nothing writes nothing.
        let same = UserPatch {
            name: Some(Some("Ada King".to_owned())),
            ..UserPatch::default()
        };
        let unchanged = f
            .core
            .update_user(&f.acme, user.id, None, same, actor)
            .await
            .unwrap();
        assert_eq!(unchanged, updated);
        assert_eq!(
            event_types(&f, &f.acme).await,
            ["issuer.created", "user.created", "user.updated"]
        );

        // Invalid values are refused before anything is read or written.
        for (patch, field) in [
            (
                UserPatch {
                    email: Some("nope".to_owned()),
                    ..UserPatch::default()
                },
                "email",
            ),
            (
                UserPatch {
                    username: Some(Some("has space".to_owned())),
                    ..UserPatch::default()
                },
                "username",
            ),
            (
                UserPatch {
                    family_name: Some(Some("x".repeat(301))),
                    ..UserPatch::default()
                },
                "family_name",
            ),
            (
                UserPatch {
                    picture: Some(Some("data:image/png;base64,AAAA".to_owned())),
                    ..UserPatch::default()
                },
                "picture",
            ),
            (
                UserPatch {
                    locale: Some(Some(String::new())),
                    ..UserPatch::default()
                },
                "locale",
            ),
            (
                UserPatch {
                    user_metadata: Some(Some(json!("text"))),
                    ..UserPatch::default()
                },
                "user_metadata",
            ),
        ] {
            assert_invalid(
                f.core
                    .update_user(&f.acme, user.id, None, patch, actor)
                    .await,
                field,
            );
        }
    }

    #[tokio::test]
    async fn a_new_email_address_is_unverified_unless_the_patch_says_otherwise() {
        let f = fixture().await;
        let user = f.core.create_user(&f.acme, ada(), admin()).await.unwrap();
        // Only the case changes: the same address, still verified.
        let recased = UserPatch {
            email: Some("ada@example.com".to_owned()),
            ..UserPatch::default()
        };
        let user = f
            .core
            .update_user(&f.acme, user.id, None, recased, admin())
            .await
            .unwrap();
        assert!(user.email_verified);
        assert_eq!(user.email.as_ref().unwrap().as_str(), "ada@example.com");

        let moved = UserPatch {
            email: Some("ada@new.example".to_owned()),
            ..UserPatch::default()
        };
        let user = f
            .core
            .update_user(&f.acme, user.id, None, moved, admin())
            .await
            .unwrap();
        assert!(!user.email_verified);
        let event = events(&f, &f.acme).await.pop().unwrap();
        assert_eq!(event.data, json!({"fields": ["email", "email_verified"]}));

        let vouched = UserPatch {
            email: Some("ada@third.example".to_owned()),
            email_verified: Some(true),
            ..UserPatch::default()
        };
        let user = f
            .core
            .update_user(&f.acme, user.id, None, vouched, admin())
            .await
            .unwrap();
        assert!(user.email_verified);
    }

    #[tokio::test]
    async fn a_stale_expected_revision_is_a_conflict_and_none_means_last_write_wins() {
        let f = fixture().await;
        let user = f.core.create_user(&f.acme, ada(), admin()).await.unwrap();
        let rename = |name: &str| UserPatch {
            name: Some(Some(name.to_owned())),
            ..UserPatch::default()
        };
        f.core
            .update_user(&f.acme, user.id, Some(1), rename("First"), admin())
            .await
            .unwrap();
        assert!(matches!(
            f.core
                .update_user(&f.acme, user.id, Some(1), rename("Stale"), admin())
                .await,
            Err(CoreError::Store(StoreError::Conflict))
        ));
        let last = f
            .core
            .update_user(&f.acme, user.id, None, rename("Last"), admin())
            .await
            .unwrap();
        assert_eq!((last.name.as_deref(), last.revision), (Some("Last"), 3));

        assert!(matches!(
            f.core.delete_user(&f.acme, user.id, Some(2), admin()).await,
            Err(CoreError::Store(StoreError::Conflict))
        ));
        assert!(f.core.get_user(&f.acme, user.id).await.is_ok());
        let actor = admin();
        f.core
            .delete_user(&f.acme, user.id, Some(3), actor)
            .await
            .unwrap();
        assert!(matches!(
            f.core.get_user(&f.acme, user.id).await,
            Err(CoreError::NotFound)
        ));
        assert!(matches!(
            f.core.delete_user(&f.acme, user.id, None, actor).await,
            Err(CoreError::NotFound)
        ));
        let deleted = events(&f, &f.acme).await.pop().unwrap();
        assert_eq!(
            (deleted.event_type.as_str(), deleted.actor),
            ("user.deleted", actor)
        );
        assert_eq!(deleted.subject, user.id.to_string());

        // Without an expected revision a delete needs none.
        let other = f
            .core
            .create_user(&f.acme, bare("bob@example.com"), admin())
            .await
            .unwrap();
        f.core
            .delete_user(&f.acme, other.id, None, admin())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn blocking_and_unblocking_are_recorded_once_each() {
        let f = fixture().await;
        let user = f.core.create_user(&f.acme, ada(), admin()).await.unwrap();
        let actor = admin();
        let blocked = f
            .core
            .set_user_blocked(&f.acme, user.id, true, actor)
            .await
            .unwrap();
        assert!(blocked.blocked);
        assert_eq!(blocked.revision, 2);
        let again = f
            .core
            .set_user_blocked(&f.acme, user.id, true, actor)
            .await
            .unwrap();
        assert_eq!(again, blocked, "blocking a blocked user changes nothing");
        let unblocked = f
            .core
            .set_user_blocked(&f.acme, user.id, false, actor)
            .await
            .unwrap();
        assert!(!unblocked.blocked);
        let trail = events(&f, &f.acme).await;
        let types: Vec<_> = trail.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(
            types,
            [
                "issuer.created",
                "user.created",
                "user.blocked",
                "user.unblocked"
            ]
        );
        assert_eq!(trail[2].data, json!({"fields": ["blocked"]}));
        assert_eq!(trail[2].actor, actor);
    }

    #[tokio::test]
    async fn passwords_follow_the_issuers_policy_and_the_refusal_says_why() {
        let f = fixture().await;
        let refusal = |result: Result<User, CoreError>| match result {
            Err(CoreError::InvalidField {
                field: "password",
                reason,
            }) => reason,
            other => panic!("expected a refused password, got {other:?}"),
        };
        let with_password = |password: &str| NewUser {
            password: Some(password.to_owned()),
            ..ada()
        };
        for (password, reason) in [
            ("P@ssw0rd", "one of the most common passwords"),
            ("123456789", "one of the most common passwords"),
            (
                "aaaaaaaaaaaa",
                "too easy to guess (strength 0 of 4, at least 2 needed)",
            ),
            // The user's own details count against a password.
            ("AdaLovelace", "too easy to guess"),
        ] {
            let reason_given = refusal(
                f.core
                    .create_user(&f.acme, with_password(password), admin())
                    .await,
            );
            assert!(reason_given.contains(reason), "{password}: {reason_given}");
        }

        // Another issuer, another policy: longer and stronger.
        let mut strict = f.globex.clone();
        strict.settings = strict
            .settings
            .with_password_policy(PasswordPolicy::new(16, 128, 4).unwrap());
        assert_eq!(
            refusal(
                f.core
                    .create_user(&strict, with_password("Tangerine-orbit"), admin())
                    .await
            ),
            "must be at least 16 characters long"
        );
        assert_eq!(
            refusal(
                f.core
                    .create_user(&strict, with_password(&"x7".repeat(65)), admin())
                    .await
            ),
            "must be at most 128 characters long"
        );
        let user = f
            .core
            .create_user(&strict, with_password(PASSWORD), admin())
            .await
            .unwrap();

        // An administrator's reset follows the same policy, with the stored user's details.
        let reason = refusal(
            f.core
                .set_user_password(&strict, user.id, "lovelace-ada-example", admin())
                .await,
        );
        assert!(reason.contains("too easy to guess"), "{reason}");
        f.core
            .set_user_password(
                &strict,
                user.id,
                "Tangerine orbit quietly 42 kettles",
                admin(),
            )
            .await
            .unwrap();
        assert_eq!(
            event_types(&f, &f.globex).await,
            ["issuer.created", "user.created", "user.password.changed"]
        );
    }

    #[tokio::test]
    async fn a_new_password_replaces_the_old_one_and_is_never_written_in_clear() {
        let f = fixture().await;
        let actor = admin();
        let user = f
            .core
            .create_user(&f.acme, bare("ada@example.com"), actor)
            .await
            .unwrap();
        assert_eq!(user.password_hash, None);
        let new_password = "a much better passphrase";
        let first = f
            .core
            .set_user_password(&f.acme, user.id, PASSWORD, actor)
            .await
            .unwrap();
        let second = f
            .core
            .set_user_password(&f.acme, user.id, new_password, actor)
            .await
            .unwrap();
        assert_eq!(second.revision, 3);
        let hash = second.password_hash.as_deref().unwrap();
        assert_ne!(first.password_hash.as_deref(), Some(hash));
        assert!(verify_password(new_password, hash));
        assert!(!verify_password(PASSWORD, hash));
        assert_invalid(
            f.core
                .set_user_password(&f.acme, user.id, "short", actor)
                .await,
            "password",
        );

        let trail = events(&f, &f.acme).await;
        let changed = &trail[trail.len() - 1];
        assert_eq!(changed.event_type, "user.password.changed");
        assert_eq!(changed.actor, actor);
        assert_eq!(changed.data, json!({"fields": ["password"]}));
        for event in &trail {
            let data = event.data.to_string();
            for secret in [PASSWORD, new_password, "$argon2", hash] {
                assert!(
                    !data.contains(secret),
                    "{} carries a secret",
                    event.event_type
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_password_pool_runs_at_most_its_permits_at_once() {
        let pool = PasswordPool::with_permits(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..8)
            .map(|n| {
                let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                        n
                    })
                    .await
                })
            })
            .collect();
        let mut done = Vec::new();
        for job in jobs {
            done.push(job.await.unwrap().unwrap());
        }
        assert_eq!(done, (0..8).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 2);

        // Real hashes go through the pool too, concurrently, and each verifies.
        let hashes = futures_join(&pool, 4).await;
        assert!(hashes.iter().all(|h| verify_password(PASSWORD, h)));
    }

    async fn futures_join(pool: &PasswordPool, n: usize) -> Vec<String> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.hash(PASSWORD.to_owned()).await })
            })
            .collect();
        let mut hashes = Vec::new();
        for task in tasks {
            hashes.push(task.await.unwrap().unwrap());
        }
        hashes
    }
}
