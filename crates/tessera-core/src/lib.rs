//! Tessera's use cases, between the HTTP edge and storage.
//!
//! [`Core`] holds what every use case needs (the store, the clock, the master key) and
//! exposes one method per use case. Each method validates its input, decides, and writes the
//! change together with the event that describes it. No HTTP types and no SQL here: the edge
//! translates requests into calls, the store turns calls into statements.

use std::sync::Arc;

use tessera_crypto::MasterKey;
use tessera_model::{ClientId, Clock, Issuer, IssuerId, KeyId, KeyState};
use tessera_store::{Change, ClientRevision, IssuerVersion, Notice, Store, StoreError};

pub mod account;
pub mod admin;
pub mod authorize;
pub mod backchannel;
pub mod bootstrap;
mod cache;
pub use cache::CacheLimits;
pub mod clients;
pub mod consents;
mod csrf;
pub mod deliveries;
pub mod discovery;
pub mod end_session;
pub mod events;
mod grant;
pub mod idempotency;
pub mod issuers;
mod jobs;
pub mod keys;
mod lockout;
pub mod mail;
pub mod password_policy;
mod resource;
pub mod seed;
mod sessions;
pub mod signup;
pub mod token;
pub mod users;
pub mod webhooks;

/// The languages the hosted pages are written in (BCP 47), first the default. Discovery
/// advertises them as `ui_locales_supported`; [`page_language`] chooses among them.
pub const UI_LOCALES: &[&str] = &["en", "de", "es"];

/// The language of a hosted page: the first of [`UI_LOCALES`] that the request's
/// `ui_locales` reaches (OIDC Core §3.1.2.1), else the user's own locale, else the browser's
/// `Accept-Language` preferences, else the default. Each step is an RFC 4647 lookup
/// ([`tessera_oauth::locale::lookup`]); a preference nothing matches is skipped, never an error.
pub fn page_language(
    ui_locales: &[String],
    user_locale: Option<&str>,
    accepted: &[String],
) -> &'static str {
    use tessera_oauth::locale::lookup;
    lookup(ui_locales, UI_LOCALES)
        .or_else(|| user_locale.and_then(|locale| lookup(&[locale], UI_LOCALES)))
        .or_else(|| lookup(accepted, UI_LOCALES))
        .unwrap_or(UI_LOCALES[0])
}

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An issuer named in a request does not exist.
    #[error("no issuer has the slug `{0}`")]
    UnknownIssuer(String),
    /// The master key given to this process is not the one the database was written with.
    #[error(
        "the master key does not match this database: it was set up with another key \
         (check TESSERA_MASTER_KEY or the master.key file in the data folder)"
    )]
    MasterKeyMismatch,
    /// Input that the use case refuses, with a reason for a person.
    #[error("{0}")]
    Invalid(String),
    /// One field of the input is refused.
    #[error("`{field}`: {reason}")]
    InvalidField {
        /// The field, as the API names it (dotted for nested fields).
        field: &'static str,
        /// What is wrong, for a person.
        reason: String,
    },
    /// The object does not exist in this issuer (or the caller may not see it).
    #[error("not found")]
    NotFound,
    /// The caller may not do this, whatever the input.
    #[error("{0}")]
    Forbidden(&'static str),
}

/// The use cases, with what they share.
#[derive(Clone)]
pub struct Core {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    master_key: MasterKey,
    /// Where clients reach the installation, without a trailing slash.
    public_url: Arc<str>,
    /// Issuers' parsed keys, on this node.
    keys: Arc<cache::Cache<tessera_model::IssuerId, Arc<keys::IssuerKeys>>>,
    /// Issuers by slug, on this node.
    issuers_by_slug: Arc<cache::Cache<tessera_model::IssuerSlug, Arc<Issuer>>>,
    /// Clients by issuer and id, on this node, with their keys parsed.
    clients:
        Arc<cache::Cache<(tessera_model::IssuerId, tessera_model::ClientId), Arc<LoadedClient>>>,
    /// Runs password hashing off the async workers, a bounded number at once.
    passwords: users::PasswordPool,
    /// Whether webhooks may target loopback, private and link-local addresses
    /// (`webhooks.allow_private_targets`).
    allow_private_webhook_targets: bool,
    /// Signalled when this node enqueues deliveries, so the worker sends them without waiting
    /// for its next poll.
    deliveries_enqueued: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("backend", &self.store.backend())
            .finish_non_exhaustive()
    }
}

/// A client as the token endpoint needs it: the stored record, and the public keys of a
/// `private_key_jwt` client parsed once, when it was read (not on every assertion).
#[derive(Debug, Clone)]
pub(crate) struct LoadedClient {
    pub(crate) client: tessera_model::Client,
    pub(crate) keys: Option<Arc<tessera_crypto::jwk::PublicJwkSet>>,
}

/// A loaded client reads as its record.
impl std::ops::Deref for LoadedClient {
    type Target = tessera_model::Client;

    fn deref(&self) -> &Self::Target {
        &self.client
    }
}

impl LoadedClient {
    fn load(client: tessera_model::Client) -> Result<Self, CoreError> {
        let keys = client
            .jwks
            .as_deref()
            .map(|text| {
                tessera_crypto::jwk::PublicJwkSet::from_text(text)
                    .map(Arc::new)
                    .map_err(|e| CoreError::Invalid(format!("a client's stored jwks: {e}")))
            })
            .transpose()?;
        Ok(Self { client, keys })
    }
}

/// `items` by the key each has.
fn keyed<K: std::hash::Hash + Eq, V>(
    items: Vec<V>,
    key: impl Fn(&V) -> K,
) -> std::collections::HashMap<K, V> {
    items.into_iter().map(|item| (key(&item), item)).collect()
}

/// What [`Core::revalidate_caches`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revalidated {
    /// Entries the store still agreed with, now trusted for another time to live.
    pub confirmed: usize,
    /// Entries changed or gone in the store, dropped (with, for an issuer, its clients and
    /// keys, which are not counted).
    pub dropped: usize,
}

/// Associated data that binds the master-key check value to its purpose.
const MASTER_KEY_CHECK_PURPOSE: &[u8] = b"tessera/master-key-check/v1";

impl Core {
    /// Assembles the use cases. Call [`Core::verify_master_key`] before serving.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        master_key: MasterKey,
        public_url: &str,
    ) -> Self {
        Self {
            store,
            clock,
            master_key,
            public_url: public_url.trim_end_matches('/').into(),
            keys: Arc::new(cache::Cache::new(CacheLimits::default())),
            issuers_by_slug: Arc::new(cache::Cache::new(CacheLimits::default())),
            clients: Arc::new(cache::Cache::new(CacheLimits::default())),
            passwords: users::PasswordPool::sized_to_cpus(),
            allow_private_webhook_targets: false,
            deliveries_enqueued: Arc::default(),
        }
    }

    /// Signalled whenever this node enqueues deliveries: the delivery worker waits on it
    /// between polls.
    pub fn deliveries_enqueued(&self) -> Arc<tokio::sync::Notify> {
        self.deliveries_enqueued.clone()
    }

    /// Sizes this node's caches and sets how long their entries are trusted (see [`cache`]).
    pub fn with_cache_limits(mut self, limits: CacheLimits) -> Self {
        self.keys = Arc::new(cache::Cache::new(limits));
        self.issuers_by_slug = Arc::new(cache::Cache::new(limits));
        self.clients = Arc::new(cache::Cache::new(limits));
        self
    }

    /// How often [`Core::revalidate_caches`] should run: three times per time to live, so
    /// that an unchanged entry is confirmed before it expires even if a round fails.
    pub fn revalidation_period(&self) -> std::time::Duration {
        let ttl_ms = u64::try_from(self.keys.ttl_seconds()).unwrap_or(1) * 1000;
        std::time::Duration::from_millis((ttl_ms / 3).max(100))
    }

    /// Lets webhooks target loopback, private and link-local addresses (refused by default:
    /// see [`webhooks`]). For installations whose receivers live on a private network, and
    /// for tests.
    pub fn with_private_webhook_targets(mut self, allow: bool) -> Self {
        self.allow_private_webhook_targets = allow;
        self
    }

    /// The issuer a URL's first path segment names, if any (an invalid slug names none).
    pub async fn find_issuer(&self, slug: &str) -> Result<Option<Arc<Issuer>>, CoreError> {
        match tessera_model::IssuerSlug::parse(slug) {
            Ok(slug) => self.issuer_by_slug(&slug).await,
            Err(_) => Ok(None),
        }
    }

    /// An issuer by slug, from this node's cache when it was read recently. Shared, not
    /// copied: a request reads a cached issuer without touching more of it than it uses.
    pub(crate) async fn issuer_by_slug(
        &self,
        slug: &tessera_model::IssuerSlug,
    ) -> Result<Option<Arc<Issuer>>, CoreError> {
        let now = self.clock.now();
        if let Some(issuer) = self.issuers_by_slug.get(slug, now) {
            return Ok(Some(issuer));
        }
        let before = self.issuers_by_slug.generation();
        let found = self.store.issuers().find_by_slug(slug).await?.map(Arc::new);
        if let Some(issuer) = &found {
            self.issuers_by_slug
                .put(slug.clone(), issuer.clone(), now, before);
        }
        Ok(found)
    }

    /// A client of an issuer, from this node's cache when it was read recently.
    pub(crate) async fn cached_client(
        &self,
        issuer: &Issuer,
        id: tessera_model::ClientId,
    ) -> Result<Option<Arc<LoadedClient>>, CoreError> {
        let now = self.clock.now();
        if let Some(loaded) = self.clients.get(&(issuer.id, id), now) {
            return Ok(Some(loaded));
        }
        let before = self.clients.generation();
        let found = self
            .store
            .clients()
            .find(tessera_store::IssuerScope::of(issuer), id)
            .await?;
        let Some(client) = found else {
            return Ok(None);
        };
        let loaded = Arc::new(LoadedClient::load(client)?);
        self.clients
            .put((issuer.id, id), loaded.clone(), now, before);
        Ok(Some(loaded))
    }

    /// Makes every node drop its cached copies of what `change` names: this node's at once,
    /// the others' when they receive the notice. Called after the change committed; a notice
    /// that cannot be sent is logged, not reported, since the change itself stands (the other
    /// nodes' copies then expire with their time to live).
    pub(crate) async fn invalidate(&self, change: Change) {
        self.forget(change);
        if let Err(error) = self.store.announce(change).await {
            tracing::warn!(%error, ?change, "other nodes were not told of a change");
        }
    }

    /// Drops this node's cached copies of what `change` names.
    fn forget(&self, change: Change) {
        match change {
            Change::Issuer(issuer) => {
                self.issuers_by_slug
                    .forget_where(|_, cached| cached.id == issuer);
                self.clients.forget_where(|(owner, _), _| *owner == issuer);
                self.keys.forget(&issuer);
            }
            Change::Client(issuer, client) => self.clients.forget(&(issuer, client)),
            Change::Keys(issuer) => self.keys.forget(&issuer),
        }
    }

    /// Applies a notice from the change feed (see [`Store::change_feed`]): drops what it
    /// names, or, after a gap, everything.
    pub fn apply_notice(&self, notice: Notice) {
        match notice {
            Notice::Changed(change) => self.forget(change),
            Notice::Gap => {
                self.issuers_by_slug.clear();
                self.clients.clear();
                self.keys.clear();
            }
        }
    }

    /// Checks every cached issuer, client and key set against the store in a few bulk reads
    /// (revisions, and key ids and states: no whole records, no key material) and marks those
    /// unchanged as read now; those changed or gone are dropped as if a notice had named them.
    ///
    /// This is the time to live's safety net made cheap: run every third of the time to live
    /// (see `tessera_server::changes`), it keeps unchanged entries from expiring, so ten
    /// thousand busy issuers cost a few statements per round instead of three reads per
    /// issuer each time to live. If it cannot run, entries expire and are read again one by
    /// one, as before.
    pub async fn revalidate_caches(&self) -> Result<Revalidated, CoreError> {
        use std::collections::HashMap;

        let now = self.clock.now();
        let issuers = self.issuers_by_slug.snapshot();
        let clients = self.clients.snapshot();
        let keys = self.keys.snapshot();

        let mut issuer_ids: Vec<IssuerId> = issuers
            .iter()
            .map(|(_, issuer)| issuer.id)
            .chain(keys.iter().map(|(id, _)| *id))
            .collect();
        issuer_ids.sort_unstable();
        issuer_ids.dedup();
        let versions: HashMap<IssuerId, IssuerVersion> =
            keyed(self.store.issuers().versions(&issuer_ids).await?, |v| v.id);
        let client_ids: Vec<ClientId> = clients.iter().map(|((_, id), _)| *id).collect();
        let revisions: HashMap<ClientId, ClientRevision> =
            keyed(self.store.clients().revisions(&client_ids).await?, |r| r.id);
        let key_issuers: Vec<IssuerId> = keys.iter().map(|(id, _)| *id).collect();
        let mut states: HashMap<IssuerId, Vec<(KeyId, KeyState)>> = HashMap::new();
        for key in self.store.keys().active_states(&key_issuers).await? {
            states
                .entry(key.issuer_id)
                .or_default()
                .push((key.id, key.state));
        }

        let mut outcome = Revalidated::default();
        for (slug, issuer) in &issuers {
            let revision = versions.get(&issuer.id).map(|v| v.revision);
            if revision == Some(issuer.revision) {
                let kept = self.issuers_by_slug.confirm(slug, now, |cached| {
                    cached.id == issuer.id && Some(cached.revision) == revision
                });
                outcome.confirmed += usize::from(kept);
            } else {
                self.forget(Change::Issuer(issuer.id));
                outcome.dropped += 1;
            }
        }
        for ((owner, id), client) in &clients {
            let revision = revisions
                .get(id)
                .filter(|r| r.issuer_id == *owner)
                .map(|r| r.revision);
            if revision == Some(client.revision) {
                let kept = self.clients.confirm(&(*owner, *id), now, |cached| {
                    Some(cached.revision) == revision
                });
                outcome.confirmed += usize::from(kept);
            } else {
                self.forget(Change::Client(*owner, *id));
                outcome.dropped += 1;
            }
        }
        for (issuer, parsed) in &keys {
            let stored = states.get(issuer).map(Vec::as_slice).unwrap_or_default();
            let unchanged = |cached: &Arc<keys::IssuerKeys>| {
                versions.get(issuer).is_some_and(|version| {
                    cached.is_parsed_from_states(version.signing_algorithm, stored.iter().copied())
                })
            };
            if unchanged(parsed) {
                outcome.confirmed += usize::from(self.keys.confirm(issuer, now, unchanged));
            } else {
                self.forget(Change::Keys(*issuer));
                outcome.dropped += 1;
            }
        }
        Ok(outcome)
    }

    /// An issuer's URL, its `iss`: `{public_url}/{slug}`.
    pub fn issuer_url(&self, issuer: &Issuer) -> String {
        format!("{}/{}", self.public_url, issuer.slug)
    }

    /// Where clients reach the installation, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The Core API's URL, the audience of its access tokens.
    pub fn core_api_url(&self) -> String {
        format!("{}/core/v1", self.public_url)
    }

    /// The store, for the edge's health checks.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Makes sure this process's master key is the one the database was first used with: the
    /// first process stores a value sealed with its key; every later one must be able to open
    /// it. Without this, a wrong key would be noticed only when a private key fails to decrypt.
    pub async fn verify_master_key(&self) -> Result<(), CoreError> {
        let proposed = self.master_key.seal(MASTER_KEY_CHECK_PURPOSE, b"tessera");
        let stored = self.store.master_key_check(&proposed).await?;
        self.master_key
            .open(MASTER_KEY_CHECK_PURPOSE, &stored)
            .map(|_| ())
            .map_err(|_| CoreError::MasterKeyMismatch)
    }
}

/// The public URL unit tests use.
#[cfg(test)]
pub(crate) const TEST_URL: &str = "http://localhost:8080";

/// The moment unit tests' clocks start at.
#[cfg(test)]
pub(crate) const TEST_NOW: tessera_model::UnixTime = tessera_model::UnixTime(1_750_000_000);

/// What unit tests start from: a `Core` on a fresh database (PostgreSQL when the suite runs
/// there), a new master key and a clock fixed at [`TEST_NOW`] that the test may advance.
/// Keep the `TestStore` alive as long as the `Core`: dropping it removes the database.
#[cfg(test)]
pub(crate) async fn test_core() -> (
    Core,
    Arc<tessera_model::FixedClock>,
    tessera_store::contract::TestStore,
) {
    let db = tessera_store_sql::testing::fresh_store().await;
    let clock = Arc::new(tessera_model::FixedClock::at(TEST_NOW));
    let core = Core::new(
        db.store.clone(),
        clock.clone(),
        MasterKey::generate(),
        TEST_URL,
    );
    (core, clock, db)
}

/// An issuer stored straight through the store (no built-in issuers, no keys), created at
/// [`TEST_NOW`].
#[cfg(test)]
pub(crate) async fn test_issuer(store: &dyn Store, slug: &str) -> Issuer {
    let issuer = Issuer {
        id: tessera_model::IssuerId::new(),
        slug: tessera_model::IssuerSlug::parse(slug).expect("a test slug"),
        display_name: slug.to_owned(),
        settings: tessera_model::IssuerSettings::default(),
        created_at: TEST_NOW,
        updated_at: TEST_NOW,
        revision: 1,
    };
    let event = tessera_model::NewEvent::new(
        "issuer.created",
        issuer.id,
        tessera_model::Actor::System,
        serde_json::json!({}),
        TEST_NOW,
    );
    store
        .issuers()
        .create(&issuer, &event)
        .await
        .expect("a test issuer");
    issuer
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_model::{FixedClock, UnixTime};

    /// The safety net behind lost change notices: an unchanged entry is confirmed in bulk and
    /// outlives its first time to live without being read again; what changed behind this
    /// node's back is dropped and read afresh.
    #[tokio::test]
    async fn revalidation_keeps_unchanged_entries_and_drops_what_another_node_changed() {
        let (core, clock, db) = test_core().await;
        let issuer = core.ensure_builtin_issuers().await.unwrap().default;
        let client = core
            .create_client(
                &issuer,
                clients::NewClient {
                    grant_types: vec!["client_credentials".to_owned()],
                    ..clients::NewClient::new("Service", tessera_model::ClientType::Confidential)
                },
                tessera_model::Actor::System,
            )
            .await
            .unwrap()
            .client;
        let scope = tessera_store::IssuerScope::of(&issuer);
        let cached = || async {
            (
                core.issuer_by_slug(&issuer.slug).await.unwrap().unwrap(),
                core.cached_client(&issuer, client.id)
                    .await
                    .unwrap()
                    .unwrap(),
                core.issuer_keys(&issuer).await.unwrap(),
            )
        };
        let first = cached().await;
        let same = |now: &(Arc<Issuer>, Arc<LoadedClient>, Arc<keys::IssuerKeys>)| {
            [
                Arc::ptr_eq(&first.0, &now.0),
                Arc::ptr_eq(&first.1, &now.1),
                Arc::ptr_eq(&first.2, &now.2),
            ]
        };
        let ttl = CacheLimits::default().ttl_seconds;

        clock.advance(ttl - 1);
        let done = core.revalidate_caches().await.unwrap();
        assert_eq!(
            done,
            Revalidated {
                confirmed: 3,
                dropped: 0
            }
        );
        clock.advance(ttl - 1);
        assert_eq!(
            same(&cached().await),
            [true; 3],
            "past the first ttl, not read again"
        );

        // Another node updates the client and rotates a key; the notices never arrive.
        let event = |kind| {
            tessera_model::NewEvent::new(
                kind,
                client.id,
                tessera_model::Actor::System,
                serde_json::json!({}),
                clock.now(),
            )
        };
        db.store
            .clients()
            .update(scope, &client, &event("client.updated"))
            .await
            .unwrap();
        let next = db
            .store
            .keys()
            .list_active(scope)
            .await
            .unwrap()
            .into_iter()
            .find(|k| k.state == KeyState::Next)
            .unwrap();
        db.store
            .keys()
            .set_state(
                scope,
                next.id,
                KeyState::Retired,
                &event("key.state_changed"),
            )
            .await
            .unwrap();
        assert_eq!(same(&cached().await), [true; 3], "trusted until checked");
        let done = core.revalidate_caches().await.unwrap();
        assert_eq!(
            done,
            Revalidated {
                confirmed: 1,
                dropped: 2
            }
        );
        let now = cached().await;
        assert_eq!(same(&now), [true, false, false]);
        assert_eq!(now.1.revision, client.revision + 1);

        // An issuer changed elsewhere takes its clients and keys with it; one deleted, too.
        db.store
            .issuers()
            .update(&issuer, &event("issuer.updated"))
            .await
            .unwrap();
        let done = core.revalidate_caches().await.unwrap();
        assert_eq!(
            done,
            Revalidated {
                confirmed: 0,
                dropped: 1
            }
        );
        let later = cached().await;
        assert!(!Arc::ptr_eq(&now.0, &later.0) && !Arc::ptr_eq(&now.1, &later.1));
        assert!(!Arc::ptr_eq(&now.2, &later.2));
        assert_eq!(later.0.revision, issuer.revision + 1);
        db.store
            .clients()
            .delete(scope, client.id, None, &event("client.deleted"))
            .await
            .unwrap();
        let done = core.revalidate_caches().await.unwrap();
        assert_eq!(
            done,
            Revalidated {
                confirmed: 2,
                dropped: 1
            }
        );
        assert!(
            core.cached_client(&issuer, client.id)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_database_accepts_only_the_master_key_it_was_first_used_with() {
        let db = tessera_store_sql::testing::fresh_store().await;
        let clock = Arc::new(FixedClock::at(UnixTime(1_750_000_000)));
        let key = MasterKey::generate();
        let first = Core::new(db.store.clone(), clock.clone(), key.clone(), TEST_URL);
        first.verify_master_key().await.unwrap();
        Core::new(db.store.clone(), clock.clone(), key, TEST_URL)
            .verify_master_key()
            .await
            .unwrap();
        let other = Core::new(db.store.clone(), clock, MasterKey::generate(), TEST_URL);
        assert!(matches!(
            other.verify_master_key().await,
            Err(CoreError::MasterKeyMismatch)
        ));
    }
}
