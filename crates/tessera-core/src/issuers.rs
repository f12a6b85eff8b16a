//! Issuers: creation, changes and deletion through the Core API.
//!
//! A credential restricted to some issuers sees only those (others answer "not found", as if
//! they did not exist) and cannot create or delete issuers: both would reach beyond what it
//! may see. The built-in `system` issuer cannot be deleted, and reserved slugs cannot be taken.
//!
//! Settings (token lifetimes, signing algorithm, sign-up policy, password policy, account
//! switches) start from the defaults of [`IssuerSettings`]; a create or a patch replaces only
//! the settings it gives. The signing
//! algorithm may be ES256 (the default), RS256 or EdDSA; how a change reaches the keys is
//! described in `keys`.

use serde_json::json;
use tessera_model::{
    Actor, Branding, BrandingParts, Issuer, IssuerId, IssuerSettings, IssuerSlug, KeyAlgorithm,
    LockoutPolicy, NewEvent, PasswordPolicy, SettingsError, SignupPolicy, UnixTime,
};
use tessera_store::{Change, IssuerScope, Page, PageRequest, StoreError};

use crate::token::CoreCaller;
use crate::{Core, CoreError};

/// Longest display name.
const MAX_DISPLAY_NAME: usize = 200;

/// What creating an issuer takes.
#[derive(Debug, Clone)]
pub struct NewIssuer {
    /// The URL segment.
    pub slug: String,
    /// The name shown on pages.
    pub display_name: String,
    /// Settings that differ from the defaults.
    pub settings: SettingsPatch,
}

/// A change to an issuer; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct IssuerPatch {
    /// A new display name.
    pub display_name: Option<String>,
    /// New settings; those not given stay as they are.
    pub settings: SettingsPatch,
}

/// Settings to change, as given; `None` leaves a setting as it is. Checked by
/// [`IssuerSettings`]'s rules, with errors naming `settings.<name>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsPatch {
    /// Access-token lifetime, in seconds.
    pub access_token_lifetime: Option<i64>,
    /// ID-token lifetime, in seconds.
    pub id_token_lifetime: Option<i64>,
    /// Refresh-token lifetime, in seconds.
    pub refresh_token_lifetime: Option<i64>,
    /// The JOSE name of the signing algorithm (only `ES256` so far).
    pub signing_algorithm: Option<String>,
    /// The sign-up policy, replaced as a whole.
    pub signup: Option<SignupPatch>,
    /// Whether new accounts must verify their email address before signing in
    /// (`settings.signup.require_email_verification`).
    pub require_email_verification: Option<bool>,
    /// What a password must be; the numbers not given stay as they are.
    pub password_policy: Option<PasswordPolicyPatch>,
    /// Whether people may delete their own accounts.
    pub allow_account_deletion: Option<bool>,
    /// How many days events are kept; `Some(None)` keeps them for ever.
    pub event_retention_days: Option<Option<i64>>,
    /// How many days a key signs before it is rotated; `Some(None)` rotates only on request.
    pub key_rotation_days: Option<Option<i64>>,
    /// Brute-force protection; the numbers not given stay as they are.
    pub lockout: Option<LockoutPatch>,
    /// How the pages look, replaced as a whole (an empty one is Tessera's own look). Text
    /// overrides name a language of [`crate::UI_LOCALES`].
    pub branding: Option<BrandingParts>,
}

/// A change to the brute-force protection; `None` leaves a number as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockoutPatch {
    /// Failures in a row that lock an account.
    pub max_failures: Option<i64>,
    /// How long a lock lasts, in seconds.
    pub lock_seconds: Option<i64>,
    /// Failures that lock a network address.
    pub address_max_failures: Option<i64>,
}

/// A change to the password policy; `None` leaves a number as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordPolicyPatch {
    /// The fewest characters.
    pub min_length: Option<i64>,
    /// The most characters.
    pub max_length: Option<i64>,
    /// The least zxcvbn score, 0 to 4.
    pub min_strength: Option<i64>,
}

/// A sign-up policy as given: `disabled`, `open`, or `allowed_email_domains` with its domains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupPatch {
    /// The policy's name.
    pub policy: String,
    /// The domains (only with `allowed_email_domains`).
    pub allowed_email_domains: Vec<String>,
}

impl SettingsPatch {
    /// `settings` with this patch applied, and the dotted names of the settings it gave.
    fn apply(
        self,
        settings: &IssuerSettings,
    ) -> Result<(IssuerSettings, Vec<&'static str>), CoreError> {
        let mut changed = settings.clone();
        let mut fields = Vec::new();
        if let Some(seconds) = self.access_token_lifetime {
            changed = changed.with_access_token_lifetime(seconds)?;
            fields.push("settings.access_token_lifetime");
        }
        if let Some(seconds) = self.id_token_lifetime {
            changed = changed.with_id_token_lifetime(seconds)?;
            fields.push("settings.id_token_lifetime");
        }
        if let Some(seconds) = self.refresh_token_lifetime {
            changed = changed.with_refresh_token_lifetime(seconds)?;
            fields.push("settings.refresh_token_lifetime");
        }
        if let Some(name) = self.signing_algorithm {
            changed = changed.with_signing_algorithm(signing_algorithm(&name)?);
            fields.push("settings.signing_algorithm");
        }
        if let Some(signup) = self.signup {
            changed = changed.with_signup(SignupPolicy::parse(
                &signup.policy,
                &signup.allowed_email_domains,
            )?);
            fields.push("settings.signup");
        }
        if let Some(required) = self.require_email_verification {
            changed = changed.with_require_email_verification(required);
            fields.push("settings.signup.require_email_verification");
        }
        if let Some(policy) = self.password_policy {
            let current = changed.password_policy();
            changed = changed.with_password_policy(PasswordPolicy::new(
                policy.min_length.unwrap_or(current.min_length()),
                policy.max_length.unwrap_or(current.max_length()),
                policy.min_strength.unwrap_or(current.min_strength()),
            )?);
            fields.push("settings.password_policy");
        }
        if let Some(allowed) = self.allow_account_deletion {
            changed = changed.with_allow_account_deletion(allowed);
            fields.push("settings.allow_account_deletion");
        }
        if let Some(days) = self.event_retention_days {
            changed = changed.with_event_retention_days(days)?;
            fields.push("settings.event_retention_days");
        }
        if let Some(days) = self.key_rotation_days {
            changed = changed.with_key_rotation_days(days)?;
            fields.push("settings.key_rotation_days");
        }
        if let Some(lockout) = self.lockout {
            let current = changed.lockout();
            changed = changed.with_lockout(LockoutPolicy::new(
                lockout.max_failures.unwrap_or(current.max_failures()),
                lockout.lock_seconds.unwrap_or(current.lock_seconds()),
                lockout
                    .address_max_failures
                    .unwrap_or(current.address_max_failures()),
            )?);
            fields.push("settings.lockout");
        }
        if let Some(branding) = self.branding {
            if let Some(lang) = branding
                .texts
                .keys()
                .find(|lang| !crate::UI_LOCALES.contains(&lang.as_str()))
            {
                return Err(CoreError::InvalidField {
                    field: "settings.branding.texts",
                    reason: format!(
                        "`{}` is not a language of the pages ({})",
                        lang.chars().take(40).collect::<String>(),
                        crate::UI_LOCALES.join(", ")
                    ),
                });
            }
            changed = changed.with_branding(Branding::new(branding)?);
            fields.push("settings.branding");
        }
        Ok((changed, fields))
    }
}

impl From<SettingsError> for CoreError {
    fn from(error: SettingsError) -> Self {
        CoreError::InvalidField {
            field: error.field,
            reason: error.reason,
        }
    }
}

/// The signing algorithm an issuer may choose: ES256, RS256 or EdDSA.
fn signing_algorithm(name: &str) -> Result<KeyAlgorithm, CoreError> {
    KeyAlgorithm::parse(name).ok_or_else(|| CoreError::InvalidField {
        field: "settings.signing_algorithm",
        reason: "must be one of `ES256`, `RS256`, `EdDSA`".to_owned(),
    })
}

fn display_name(text: &str) -> Result<String, CoreError> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_DISPLAY_NAME {
        return Err(CoreError::InvalidField {
            field: "display_name",
            reason: format!("must be 1 to {MAX_DISPLAY_NAME} characters"),
        });
    }
    Ok(trimmed.to_owned())
}

/// Refuses callers restricted to some issuers (they may not act on the installation).
fn require_unrestricted(caller: &CoreCaller) -> Result<(), CoreError> {
    if caller.issuers.is_some() {
        return Err(CoreError::Forbidden(
            "this credential is restricted to some issuers and cannot create or delete issuers",
        ));
    }
    Ok(())
}

fn audited(caller: &CoreCaller) -> Actor {
    Actor::AdminClient(caller.client_id)
}

/// A new issuer made from `input` at `now`, checked by every rule; not stored yet. What
/// [`Core::create_issuer`] stores, and what the seeder stores by the thousand.
pub(crate) fn new_issuer(input: NewIssuer, now: UnixTime) -> Result<Issuer, CoreError> {
    let slug = IssuerSlug::parse(&input.slug).map_err(|e| CoreError::InvalidField {
        field: "slug",
        reason: e.to_string(),
    })?;
    if slug.is_reserved() {
        return Err(CoreError::InvalidField {
            field: "slug",
            reason: format!("`{slug}` is reserved"),
        });
    }
    let display_name = display_name(&input.display_name)?;
    let (settings, _) = input.settings.apply(&IssuerSettings::default())?;
    Ok(Issuer {
        id: IssuerId::new(),
        slug,
        display_name,
        settings,
        created_at: now,
        updated_at: now,
        revision: 1,
    })
}

/// Which issuers [`Core::issuers_where`] reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IssuerListing {
    /// Every issuer.
    All,
    /// Those with an `event_retention_days` setting.
    WithEventRetention,
    /// Those whose keys are older than their `key_rotation_days` at this moment.
    DueForKeyRotation(UnixTime),
}

impl Core {
    /// Every issuer of the installation, in creation order (for the operator's commands).
    pub async fn all_issuers(&self) -> Result<Vec<Issuer>, CoreError> {
        self.issuers_where(IssuerListing::All).await
    }

    /// The issuers of `listing`, page after page of the largest size.
    pub(crate) async fn issuers_where(
        &self,
        listing: IssuerListing,
    ) -> Result<Vec<Issuer>, CoreError> {
        let mut issuers = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let repo = self.store.issuers();
            let found = match listing {
                IssuerListing::All => repo.list(page).await?,
                IssuerListing::WithEventRetention => repo.list_with_event_retention(page).await?,
                IssuerListing::DueForKeyRotation(now) => {
                    repo.list_due_for_key_rotation(now, page).await?
                }
            };
            issuers.extend(found.items);
            match found.next_after {
                Some(after) => page = PageRequest::after(after, PageRequest::MAX_LIMIT),
                None => return Ok(issuers),
            }
        }
    }

    /// Creates an issuer.
    pub async fn create_issuer(
        &self,
        caller: &CoreCaller,
        input: NewIssuer,
    ) -> Result<Issuer, CoreError> {
        require_unrestricted(caller)?;
        let now = self.clock.now();
        let issuer = new_issuer(input, now)?;
        let event = NewEvent::new(
            "issuer.created",
            issuer.id,
            audited(caller),
            json!({ "slug": issuer.slug.as_str() }),
            now,
        );
        self.store.issuers().create(&issuer, &event).await?;
        Ok(issuer)
    }

    /// The issuer `slug` names, if the caller may see it.
    pub async fn issuer_for(&self, caller: &CoreCaller, slug: &str) -> Result<Issuer, CoreError> {
        match self.find_issuer(slug).await? {
            Some(issuer) if caller.may_see(&issuer.slug) => {
                Ok(std::sync::Arc::unwrap_or_clone(issuer))
            }
            _ => Err(CoreError::NotFound),
        }
    }

    /// A page of the issuers the caller may see.
    pub async fn list_issuers(
        &self,
        caller: &CoreCaller,
        page: PageRequest,
    ) -> Result<Page<Issuer>, CoreError> {
        let Some(allowed) = &caller.issuers else {
            return Ok(self.store.issuers().list(page).await?);
        };
        // A restricted credential names few issuers: look each up, then page in id order.
        let mut issuers = Vec::new();
        for slug in allowed.iter().filter(|slug| caller.may_see(slug)) {
            if let Some(issuer) = self.store.issuers().find_by_slug(slug).await? {
                issuers.push(issuer);
            }
        }
        issuers.sort_by_key(|i| i.id);
        let after = page.after.unwrap_or_default();
        let mut items: Vec<Issuer> = issuers
            .into_iter()
            .filter(|i| i.id.as_uuid() > after)
            .collect();
        let limit = page.limit as usize;
        let next_after = (items.len() > limit).then(|| items[limit - 1].id.as_uuid());
        items.truncate(limit);
        Ok(Page { items, next_after })
    }

    /// Changes an issuer. With `expected_revision`, refuses if it changed since.
    pub async fn update_issuer(
        &self,
        caller: &CoreCaller,
        issuer: &Issuer,
        expected_revision: Option<i64>,
        patch: IssuerPatch,
    ) -> Result<Issuer, CoreError> {
        if expected_revision.is_some_and(|r| r != issuer.revision) {
            return Err(CoreError::Store(StoreError::Conflict));
        }
        let mut changed = issuer.clone();
        let mut fields = Vec::new();
        if let Some(name) = patch.display_name {
            changed.display_name = display_name(&name)?;
            fields.push("display_name");
        }
        let (settings, settings_fields) = patch.settings.apply(&issuer.settings)?;
        changed.settings = settings;
        fields.extend(settings_fields);
        changed.updated_at = self.clock.now();
        let event = NewEvent::new(
            "issuer.updated",
            issuer.id,
            audited(caller),
            json!({ "fields": fields }),
            changed.updated_at,
        );
        let updated = self.store.issuers().update(&changed, &event).await?;
        // Its keys go too: the default signer follows the setting (see `keys`).
        self.invalidate(Change::Issuer(issuer.id)).await;
        Ok(updated)
    }

    /// Deletes an issuer and everything it owns. The event is kept in the `system` trail.
    pub async fn delete_issuer(
        &self,
        caller: &CoreCaller,
        issuer: &Issuer,
        expected_revision: Option<i64>,
    ) -> Result<(), CoreError> {
        require_unrestricted(caller)?;
        if issuer.slug == IssuerSlug::system() {
            return Err(CoreError::Forbidden("the system issuer cannot be deleted"));
        }
        if expected_revision.is_some_and(|r| r != issuer.revision) {
            return Err(CoreError::Store(StoreError::Conflict));
        }
        let system = self
            .store
            .issuers()
            .find_by_slug(&IssuerSlug::system())
            .await?
            .ok_or(CoreError::NotFound)?;
        let event = NewEvent::new(
            "issuer.deleted",
            issuer.id,
            audited(caller),
            json!({ "slug": issuer.slug.as_str() }),
            self.clock.now(),
        );
        self.store
            .issuers()
            .delete(issuer.id, IssuerScope::of(&system), &event)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => CoreError::NotFound,
                other => other.into(),
            })?;
        self.invalidate(Change::Issuer(issuer.id)).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    use tessera_model::{ClientId, IssuerSettings, IssuerSlug, PasswordPolicy};
    use tessera_store::{PageRequest, StoreError};

    use super::{IssuerPatch, NewIssuer, PasswordPolicyPatch, SettingsPatch, SignupPatch};
    use crate::CoreError;
    use crate::token::CoreCaller;

    fn caller(issuers: Option<Vec<&str>>) -> CoreCaller {
        CoreCaller {
            client_id: ClientId::new(),
            scope: None,
            issuers: issuers.map(|s| s.iter().map(|s| IssuerSlug::parse(s).unwrap()).collect()),
        }
    }

    /// The data of the newest event of `issuer`.
    async fn last_event_data(
        store: &std::sync::Arc<dyn tessera_store::Store>,
        issuer: &tessera_model::Issuer,
    ) -> serde_json::Value {
        let events = store
            .events()
            .list(
                tessera_store::IssuerScope::of(issuer),
                &Default::default(),
                PageRequest::first(10),
            )
            .await
            .unwrap()
            .items;
        events.last().unwrap().data.clone()
    }

    fn new(slug: &str) -> NewIssuer {
        NewIssuer {
            slug: slug.to_owned(),
            display_name: format!("Issuer {slug}"),
            settings: SettingsPatch::default(),
        }
    }

    #[tokio::test]
    async fn issuers_are_created_updated_listed_and_deleted_with_their_rules() {
        let (core, _, _db) = crate::test_core().await;
        core.ensure_builtin_issuers().await.unwrap();
        let admin = caller(None);

        let acme = core.create_issuer(&admin, new("acme")).await.unwrap();
        assert_eq!(core.issuer_url(&acme), "http://localhost:8080/acme");
        assert!(matches!(
            core.create_issuer(&admin, new("acme")).await,
            Err(CoreError::Store(StoreError::AlreadyExists {
                field: "slug",
                ..
            }))
        ));
        for bad in ["core", "Acme", "a", "-x"] {
            assert!(
                matches!(
                    core.create_issuer(&admin, new(bad)).await,
                    Err(CoreError::InvalidField { field: "slug", .. })
                ),
                "{bad}"
            );
        }
        let mut blank = new("blank");
        blank.display_name = "  ".to_owned();
        assert!(matches!(
            core.create_issuer(&admin, blank).await,
            Err(CoreError::InvalidField {
                field: "display_name",
                ..
            })
        ));

        let patch = IssuerPatch {
            display_name: Some("Acme Inc.".to_owned()),
            ..IssuerPatch::default()
        };
        let updated = core
            .update_issuer(&admin, &acme, Some(1), patch.clone())
            .await
            .unwrap();
        assert_eq!(
            (updated.revision, updated.display_name.as_str()),
            (2, "Acme Inc.")
        );
        assert!(matches!(
            core.update_issuer(&admin, &updated, Some(1), patch).await,
            Err(CoreError::Store(StoreError::Conflict))
        ));

        let page = core
            .list_issuers(&admin, PageRequest::first(2))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        let rest = core
            .list_issuers(&admin, PageRequest::after(page.next_after.unwrap(), 2))
            .await
            .unwrap();
        assert_eq!(
            rest.items
                .iter()
                .map(|i| i.slug.as_str())
                .collect::<Vec<_>>(),
            ["acme"]
        );

        let system = core.issuer_for(&admin, "system").await.unwrap();
        assert!(matches!(
            core.delete_issuer(&admin, &system, None).await,
            Err(CoreError::Forbidden(_))
        ));
        core.delete_issuer(&admin, &updated, Some(2)).await.unwrap();
        assert!(matches!(
            core.issuer_for(&admin, "acme").await,
            Err(CoreError::NotFound)
        ));
    }

    #[tokio::test]
    async fn a_restricted_caller_sees_only_its_issuers_and_cannot_create_or_delete() {
        let (core, _, _db) = crate::test_core().await;
        core.ensure_builtin_issuers().await.unwrap();
        let admin = caller(None);
        for slug in ["tenant-a", "tenant-b", "tenant-c"] {
            core.create_issuer(&admin, new(slug)).await.unwrap();
        }
        let restricted = caller(Some(vec!["tenant-c", "tenant-a", "system"]));
        assert!(
            matches!(
                core.issuer_for(&restricted, "system").await,
                Err(CoreError::NotFound)
            ),
            "a restricted caller never sees the system issuer, even when named"
        );
        assert!(matches!(
            core.issuer_for(&restricted, "tenant-b").await,
            Err(CoreError::NotFound)
        ));
        let a = core.issuer_for(&restricted, "tenant-a").await.unwrap();
        let first = core
            .list_issuers(&restricted, PageRequest::first(1))
            .await
            .unwrap();
        assert_eq!(first.items[0].slug.as_str(), "tenant-a");
        let second = core
            .list_issuers(
                &restricted,
                PageRequest::after(first.next_after.unwrap(), 1),
            )
            .await
            .unwrap();
        assert_eq!(second.items[0].slug.as_str(), "tenant-c");
        assert_eq!(second.next_after, None);
        assert!(matches!(
            core.create_issuer(&restricted, new("tenant-d")).await,
            Err(CoreError::Forbidden(_))
        ));
        assert!(matches!(
            core.delete_issuer(&restricted, &a, None).await,
            Err(CoreError::Forbidden(_))
        ));
        core.update_issuer(&restricted, &a, None, IssuerPatch::default())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn settings_are_set_at_creation_patched_one_by_one_and_checked() {
        let (core, _, db) = crate::test_core().await;
        core.ensure_builtin_issuers().await.unwrap();
        let admin = caller(None);

        let plain = core.create_issuer(&admin, new("plain")).await.unwrap();
        assert_eq!(plain.settings, IssuerSettings::default());

        let mut tuned = new("tuned");
        tuned.settings = SettingsPatch {
            access_token_lifetime: Some(600),
            signup: Some(SignupPatch {
                policy: "allowed_email_domains".to_owned(),
                allowed_email_domains: vec!["Acme.Example".to_owned()],
            }),
            ..SettingsPatch::default()
        };
        let tuned = core.create_issuer(&admin, tuned).await.unwrap();
        assert_eq!(tuned.settings.access_token_lifetime(), 600);
        assert_eq!(tuned.settings.id_token_lifetime(), 3600);
        assert_eq!(tuned.settings.signup().domains(), ["acme.example"]);

        // A patch replaces what it gives and nothing else.
        let patch = IssuerPatch {
            settings: SettingsPatch {
                id_token_lifetime: Some(120),
                ..SettingsPatch::default()
            },
            ..IssuerPatch::default()
        };
        let patched = core
            .update_issuer(&admin, &tuned, Some(1), patch)
            .await
            .unwrap();
        assert_eq!(patched.settings.id_token_lifetime(), 120);
        assert_eq!(patched.settings.access_token_lifetime(), 600);
        assert_eq!(patched.settings.signup(), tuned.settings.signup());
        assert_eq!(patched.display_name, tuned.display_name);
        assert_eq!(
            last_event_data(&db.store, &tuned).await,
            serde_json::json!({"fields": ["settings.id_token_lifetime"]})
        );

        let refused = [
            (
                SettingsPatch {
                    access_token_lifetime: Some(59),
                    ..SettingsPatch::default()
                },
                "settings.access_token_lifetime",
            ),
            (
                SettingsPatch {
                    refresh_token_lifetime: Some(366 * 86_400),
                    ..SettingsPatch::default()
                },
                "settings.refresh_token_lifetime",
            ),
            (
                SettingsPatch {
                    signing_algorithm: Some("HS256".to_owned()),
                    ..SettingsPatch::default()
                },
                "settings.signing_algorithm",
            ),
            (
                SettingsPatch {
                    signup: Some(SignupPatch {
                        policy: "invite_only".to_owned(),
                        allowed_email_domains: vec![],
                    }),
                    ..SettingsPatch::default()
                },
                "settings.signup.policy",
            ),
            (
                SettingsPatch {
                    signup: Some(SignupPatch {
                        policy: "allowed_email_domains".to_owned(),
                        allowed_email_domains: vec![],
                    }),
                    ..SettingsPatch::default()
                },
                "settings.signup.allowed_email_domains",
            ),
        ];
        for (settings, expected) in refused {
            let patch = IssuerPatch {
                settings: settings.clone(),
                ..IssuerPatch::default()
            };
            match core.update_issuer(&admin, &patched, None, patch).await {
                Err(CoreError::InvalidField { field, .. }) => assert_eq!(field, expected),
                other => panic!("{settings:?}: {other:?}"),
            }
            let mut input = new("refused");
            input.settings = settings;
            assert!(matches!(
                core.create_issuer(&admin, input).await,
                Err(CoreError::InvalidField { field, .. }) if field == expected
            ));
        }
        // Nothing was written by the refusals.
        assert_eq!(core.issuer_for(&admin, "tuned").await.unwrap(), patched);
        assert!(matches!(
            core.issuer_for(&admin, "refused").await,
            Err(CoreError::NotFound)
        ));
        let mut current = patched;
        for (revision, name) in [(2, "ES256"), (3, "RS256"), (4, "EdDSA")] {
            let patch = IssuerPatch {
                settings: SettingsPatch {
                    signing_algorithm: Some(name.to_owned()),
                    ..SettingsPatch::default()
                },
                ..IssuerPatch::default()
            };
            current = core
                .update_issuer(&admin, &current, Some(revision), patch)
                .await
                .unwrap();
            assert_eq!(current.settings.signing_algorithm().as_str(), name);
        }
    }

    #[tokio::test]
    async fn the_password_policy_and_account_switches_are_patched_and_checked() {
        let (core, _, db) = crate::test_core().await;
        core.ensure_builtin_issuers().await.unwrap();
        let admin = caller(None);
        let acme = core.create_issuer(&admin, new("acme")).await.unwrap();
        assert_eq!(acme.settings.password_policy(), PasswordPolicy::default());
        assert!(acme.settings.require_email_verification());
        assert!(!acme.settings.allow_account_deletion());

        let patch = |settings: SettingsPatch| IssuerPatch {
            settings,
            ..IssuerPatch::default()
        };
        let changed = core
            .update_issuer(
                &admin,
                &acme,
                Some(1),
                patch(SettingsPatch {
                    password_policy: Some(PasswordPolicyPatch {
                        min_length: Some(12),
                        ..PasswordPolicyPatch::default()
                    }),
                    require_email_verification: Some(false),
                    allow_account_deletion: Some(true),
                    ..SettingsPatch::default()
                }),
            )
            .await
            .unwrap();
        // The numbers not given stay; the sign-up policy is not touched by its flag.
        assert_eq!(
            changed.settings.password_policy(),
            PasswordPolicy::new(12, 1024, 2).unwrap()
        );
        assert!(!changed.settings.require_email_verification());
        assert!(changed.settings.allow_account_deletion());
        assert_eq!(changed.settings.signup(), acme.settings.signup());
        assert_eq!(
            last_event_data(&db.store, &acme).await,
            serde_json::json!({"fields": [
                "settings.signup.require_email_verification",
                "settings.password_policy",
                "settings.allow_account_deletion",
            ]})
        );

        let changed = core
            .update_issuer(
                &admin,
                &changed,
                Some(2),
                patch(SettingsPatch {
                    password_policy: Some(PasswordPolicyPatch {
                        max_length: Some(4096),
                        min_strength: Some(4),
                        ..PasswordPolicyPatch::default()
                    }),
                    ..SettingsPatch::default()
                }),
            )
            .await
            .unwrap();
        assert_eq!(
            changed.settings.password_policy(),
            PasswordPolicy::new(12, 4096, 4).unwrap()
        );
        assert!(changed.settings.allow_account_deletion());

        for (policy, field) in [
            (
                PasswordPolicyPatch {
                    min_length: Some(7),
                    ..PasswordPolicyPatch::default()
                },
                "settings.password_policy.min_length",
            ),
            (
                PasswordPolicyPatch {
                    min_length: Some(129),
                    max_length: Some(128),
                    ..PasswordPolicyPatch::default()
                },
                "settings.password_policy.min_length",
            ),
            (
                PasswordPolicyPatch {
                    max_length: Some(127),
                    ..PasswordPolicyPatch::default()
                },
                "settings.password_policy.max_length",
            ),
            (
                PasswordPolicyPatch {
                    max_length: Some(4097),
                    ..PasswordPolicyPatch::default()
                },
                "settings.password_policy.max_length",
            ),
            (
                PasswordPolicyPatch {
                    min_strength: Some(5),
                    ..PasswordPolicyPatch::default()
                },
                "settings.password_policy.min_strength",
            ),
        ] {
            let settings = SettingsPatch {
                password_policy: Some(policy),
                ..SettingsPatch::default()
            };
            match core
                .update_issuer(&admin, &changed, None, patch(settings.clone()))
                .await
            {
                Err(CoreError::InvalidField { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{settings:?}: {other:?}"),
            }
            let mut input = new("refused");
            input.settings = settings;
            assert!(matches!(
                core.create_issuer(&admin, input).await,
                Err(CoreError::InvalidField { field: f, .. }) if f == field
            ));
        }
        assert_eq!(core.issuer_for(&admin, "acme").await.unwrap(), changed);
    }
}
