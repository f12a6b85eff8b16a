//! Repository traits, one per aggregate, and the [`Store`] that hands them out.
//!
//! Verbs follow STYLE.md: `find` answers `Ok(None)` for a missing record, `update`/`delete`
//! answer [`StoreError::NotFound`]; `update` takes the entity as last read and fails with
//! [`StoreError::Conflict`] if its `revision` is no longer current.

use async_trait::async_trait;
use tessera_model::{
    Actor, Client, ClientId, Delivery, DeliveryId, Event, EventId, FamilyId, Grant, Interaction,
    InteractionId, Issuer, IssuerId, IssuerSlug, KeyAlgorithm, KeyId, KeyState, NewEvent,
    OpaqueAccessToken, RefreshToken, Session, SessionId, SigningKey, Ticket, TicketKind,
    TokenFamily, UnixTime, User, UserId, Webhook, WebhookId,
};
use uuid::Uuid;

use crate::{Change, ChangeFeed, IssuerScope, StoreError};

/// Which database is behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite, the single-node default.
    Sqlite,
    /// PostgreSQL, for several nodes.
    Postgres,
}

impl Backend {
    /// Lowercase name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Keyset pagination: items after `after` (by id, which is creation order), at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Exclusive lower bound, from the previous page's `next_after`.
    pub after: Option<Uuid>,
    /// Page size, 1 to [`PageRequest::MAX_LIMIT`].
    pub limit: u32,
}

impl PageRequest {
    /// The largest page a backend returns.
    pub const MAX_LIMIT: u32 = 1000;

    /// The first page of `limit` items (clamped to 1..=MAX_LIMIT).
    pub fn first(limit: u32) -> Self {
        Self {
            after: None,
            limit: limit.clamp(1, Self::MAX_LIMIT),
        }
    }

    /// The page after `after`.
    pub fn after(after: Uuid, limit: u32) -> Self {
        Self {
            after: Some(after),
            ..Self::first(limit)
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in id order.
    pub items: Vec<T>,
    /// Where the next page starts, if there may be one.
    pub next_after: Option<Uuid>,
}

/// How the schema of a database compares with this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The newest migration applied, if any.
    pub applied: Option<i64>,
    /// The newest migration this build knows.
    pub latest_known: i64,
    /// How many migrations this build knows are not applied.
    pub pending: usize,
}

impl SchemaStatus {
    /// Whether every migration this build knows is applied (and none newer).
    pub fn is_current(&self) -> bool {
        self.pending == 0 && self.applied.is_none_or(|v| v <= self.latest_known)
    }
}

/// A database holding one installation's data.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Applies pending migrations; refuses a schema newer than this build. Safe to run from
    /// several processes at once.
    async fn migrate(&self) -> Result<SchemaStatus, StoreError>;

    /// Reaches the database and reports its schema status.
    async fn schema_status(&self) -> Result<SchemaStatus, StoreError>;

    /// Stores `proposed` as the installation's master-key check value if none is stored yet,
    /// and returns the stored one (so the caller can tell whether its master key is the one
    /// this database was written with).
    async fn master_key_check(&self, proposed: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// Closes the connections (waits for checked-out ones to come back).
    async fn close(&self);

    /// Tells every node that `change` has committed, so they drop their cached copies. A
    /// no-op where one node is all there is (SQLite).
    async fn announce(&self, change: Change) -> Result<(), StoreError>;

    /// The changes every node announces, this one's included; `None` where one node is all
    /// there is (SQLite).
    async fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError>;

    /// Takes or renews the lease on the background job `job` for `holder` until `until`: true
    /// if no other holder's lease is live at `now`. One conditional statement, so of nodes
    /// asking at once exactly one gets it.
    async fn lease_job(
        &self,
        job: &str,
        holder: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Deletes up to `batch` rows of each kind that expired before `now`, across all issuers:
    /// tickets, interactions, sessions, token families (with their refresh tokens), opaque
    /// access tokens, idempotency keys and stale sign-in failure counts. Returns how many rows went; the caller repeats
    /// until none do. (Installation level on purpose: a sweep per issuer would cost every
    /// issuer a query whether or not it has anything to remove.)
    async fn purge_expired(&self, now: UnixTime, batch: u32) -> Result<u64, StoreError>;

    /// Issuers (installation level).
    fn issuers(&self) -> &dyn IssuerRepo;
    /// Clients of an issuer.
    fn clients(&self) -> &dyn ClientRepo;
    /// Users of an issuer.
    fn users(&self) -> &dyn UserRepo;
    /// Signing keys of an issuer.
    fn keys(&self) -> &dyn KeyRepo;
    /// An issuer's event trail (the outbox).
    fn events(&self) -> &dyn EventRepo;
    /// Single-use tickets of an issuer.
    fn tickets(&self) -> &dyn TicketRepo;
    /// Idempotency keys of Core API callers (installation level).
    fn idempotency(&self) -> &dyn IdempotencyRepo;
    /// Webhook subscriptions of an issuer.
    fn webhooks(&self) -> &dyn WebhookRepo;
    /// Authorization requests waiting for the user.
    fn interactions(&self) -> &dyn InteractionRepo;
    /// Browser sessions of an issuer's users.
    fn sessions(&self) -> &dyn SessionRepo;
    /// Users' consents to clients.
    fn grants(&self) -> &dyn GrantRepo;
    /// Token families, refresh tokens and opaque access tokens.
    fn tokens(&self) -> &dyn TokenRepo;
    /// Outbound deliveries (back-channel logout, webhook events).
    fn deliveries(&self) -> &dyn DeliveryRepo;
    /// Counts of failed sign-ins (brute-force protection).
    fn sign_in_failures(&self) -> &dyn SignInFailureRepo;
    /// Bulk insertion of made-up records, for `tessera dev seed`.
    fn seed(&self) -> &dyn SeedRepo;
}

/// A count of failed sign-ins in a row for one subject, and when the last one was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    /// Failures counted.
    pub failures: i64,
    /// When the last one happened.
    pub last_failure_at: UnixTime,
}

/// Failed sign-ins per subject, for brute-force protection: a subject is the SHA-256 of an
/// identifier typed on the sign-in page or of a network address (the caller derives it). The
/// counts are shared by every node, so a lock holds across the cluster. The mails sent to an
/// address are counted here too, under subjects of their own (`tessera_core::signup`): the
/// same count of recent happenings, limited the same way.
#[async_trait]
pub trait SignInFailureRepo: Send + Sync {
    /// The count of each subject, in the order asked (`None`: nothing counted).
    async fn find(
        &self,
        scope: IssuerScope,
        subjects: &[[u8; 32]],
    ) -> Result<Vec<Option<FailureCount>>, StoreError>;
    /// Replaces the count `seen` (`None`: no count yet) with `next`, in one conditional
    /// statement: of callers that saw the same count, exactly one gets `true`, the others
    /// `false`. A sign-in reserves its try this way before checking the password, so
    /// concurrent guesses cannot slip past the limit together.
    async fn advance(
        &self,
        scope: IssuerScope,
        subject: &[u8; 32],
        seen: Option<FailureCount>,
        next: FailureCount,
    ) -> Result<bool, StoreError>;
    /// Adds a failure at `now` (one statement, safe under concurrency); a count whose last
    /// failure was before `restart_before` starts again at one. Returns the new count.
    async fn add(
        &self,
        scope: IssuerScope,
        subject: &[u8; 32],
        now: UnixTime,
        restart_before: UnixTime,
    ) -> Result<FailureCount, StoreError>;
    /// Forgets a subject's count (a successful sign-in).
    async fn clear(&self, scope: IssuerScope, subject: &[u8; 32]) -> Result<(), StoreError>;
}

/// Issuers. The event of `create` is written to the new issuer's own trail.
#[async_trait]
pub trait IssuerRepo: Send + Sync {
    /// Creates an issuer; [`StoreError::AlreadyExists`] for a taken slug.
    async fn create(&self, issuer: &Issuer, event: &NewEvent) -> Result<(), StoreError>;
    /// Finds an issuer by id.
    async fn find(&self, id: IssuerId) -> Result<Option<Issuer>, StoreError>;
    /// Finds an issuer by slug.
    async fn find_by_slug(&self, slug: &IssuerSlug) -> Result<Option<Issuer>, StoreError>;
    /// Lists issuers in creation order.
    async fn list(&self, page: PageRequest) -> Result<Page<Issuer>, StoreError>;
    /// Lists, in creation order, the issuers that keep their events for a limited time
    /// (`event_retention_days` set), without reading the others.
    async fn list_with_event_retention(
        &self,
        page: PageRequest,
    ) -> Result<Page<Issuer>, StoreError>;
    /// Lists, in creation order, the issuers with a key rotation period whose current key (of
    /// any chain) became current longer than that period before `now`. Issuers without keys
    /// yet, or without a period, are not read.
    async fn list_due_for_key_rotation(
        &self,
        now: UnixTime,
        page: PageRequest,
    ) -> Result<Page<Issuer>, StoreError>;
    /// The revision and signing algorithm of each of these issuers that still exists, in no
    /// particular order: what a node checks its cached copies against without reading whole
    /// records (`Core::revalidate_caches`).
    async fn versions(&self, ids: &[IssuerId]) -> Result<Vec<IssuerVersion>, StoreError>;
    /// Updates an issuer read at `issuer.revision`; returns it at its new revision.
    async fn update(&self, issuer: &Issuer, event: &NewEvent) -> Result<Issuer, StoreError>;
    /// Deletes an issuer and everything it owns; the event is written to `audit`'s trail.
    async fn delete(
        &self,
        id: IssuerId,
        audit: IssuerScope,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
}

/// What [`IssuerRepo::versions`] tells of an issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuerVersion {
    /// The issuer.
    pub id: IssuerId,
    /// Incremented by every update.
    pub revision: i64,
    /// The algorithm its settings sign with.
    pub signing_algorithm: KeyAlgorithm,
}

/// What [`ClientRepo::revisions`] tells of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRevision {
    /// Its issuer.
    pub issuer_id: IssuerId,
    /// The client.
    pub id: ClientId,
    /// Incremented by every update.
    pub revision: i64,
}

/// What [`KeyRepo::active_states`] tells of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyStateRow {
    /// Its issuer.
    pub issuer_id: IssuerId,
    /// The key.
    pub id: KeyId,
    /// Its place in its chain.
    pub state: KeyState,
}

/// Clients of an issuer.
#[async_trait]
pub trait ClientRepo: Send + Sync {
    /// Registers a client.
    async fn create(
        &self,
        scope: IssuerScope,
        client: &Client,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
    /// Finds a client.
    async fn find(&self, scope: IssuerScope, id: ClientId) -> Result<Option<Client>, StoreError>;
    /// Lists clients in creation order.
    async fn list(&self, scope: IssuerScope, page: PageRequest)
    -> Result<Page<Client>, StoreError>;
    /// The issuer and revision of each of these clients that still exists, in no particular
    /// order (see [`IssuerRepo::versions`]).
    async fn revisions(&self, ids: &[ClientId]) -> Result<Vec<ClientRevision>, StoreError>;
    /// Updates a client read at `client.revision`.
    async fn update(
        &self,
        scope: IssuerScope,
        client: &Client,
        event: &NewEvent,
    ) -> Result<Client, StoreError>;
    /// Deletes a client. With `expected_revision`, only if the client is still at that
    /// revision ([`StoreError::Conflict`] otherwise).
    async fn delete(
        &self,
        scope: IssuerScope,
        id: ClientId,
        expected_revision: Option<i64>,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
    /// The longest access- or ID-token lifetime any client of the issuer overrides its
    /// issuer's with (`None`: no client has one), so key retirement can wait for the
    /// longest-lived token.
    async fn longest_lifetime_override(
        &self,
        scope: IssuerScope,
    ) -> Result<Option<i64>, StoreError>;
}

/// Webhook subscriptions of an issuer.
#[async_trait]
pub trait WebhookRepo: Send + Sync {
    /// Stores a subscription.
    async fn create(
        &self,
        scope: IssuerScope,
        webhook: &Webhook,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
    /// Finds a subscription.
    async fn find(&self, scope: IssuerScope, id: WebhookId) -> Result<Option<Webhook>, StoreError>;
    /// Lists subscriptions in creation order.
    async fn list(
        &self,
        scope: IssuerScope,
        page: PageRequest,
    ) -> Result<Page<Webhook>, StoreError>;
    /// Updates a subscription read at `webhook.revision`.
    async fn update(
        &self,
        scope: IssuerScope,
        webhook: &Webhook,
        event: &NewEvent,
    ) -> Result<Webhook, StoreError>;
    /// Deletes a subscription. With `expected_revision`, only if it is still at that revision
    /// ([`StoreError::Conflict`] otherwise).
    async fn delete(
        &self,
        scope: IssuerScope,
        id: WebhookId,
        expected_revision: Option<i64>,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
}

/// Users of an issuer. Email (normalized) and username are unique per issuer.
#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Creates a user.
    async fn create(
        &self,
        scope: IssuerScope,
        user: &User,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
    /// Finds a user.
    async fn find(&self, scope: IssuerScope, id: UserId) -> Result<Option<User>, StoreError>;
    /// Finds a user by the normalized form of an email address.
    async fn find_by_email(
        &self,
        scope: IssuerScope,
        normalized_email: &str,
    ) -> Result<Option<User>, StoreError>;
    /// Finds a user by username.
    async fn find_by_username(
        &self,
        scope: IssuerScope,
        username: &str,
    ) -> Result<Option<User>, StoreError>;
    /// Lists the users that match `filter`, in creation order.
    async fn list(
        &self,
        scope: IssuerScope,
        filter: &UserListFilter,
        page: PageRequest,
    ) -> Result<Page<User>, StoreError>;
    /// Updates a user read at `user.revision`.
    async fn update(
        &self,
        scope: IssuerScope,
        user: &User,
        event: &NewEvent,
    ) -> Result<User, StoreError>;
    /// Deletes a user. With `expected_revision`, only if the user is still at that revision
    /// ([`StoreError::Conflict`] otherwise); without, whatever its revision.
    async fn delete(
        &self,
        scope: IssuerScope,
        id: UserId,
        expected_revision: Option<i64>,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
}

/// Which users a listing returns. Every condition given must hold; an empty filter lists all.
///
/// Prefixes match literally (no wildcards: `%` and `_` are characters like any other) and count
/// characters, not bytes, on every backend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserListFilter {
    /// Users whose *normalized* email starts with this; the caller passes it normalized too
    /// (lowercased, as [`Email::normalized`](tessera_model::Email::normalized)), which makes the
    /// match case-insensitive.
    pub email_prefix: Option<String>,
    /// Users whose username starts with this (case-sensitive, as usernames are unique).
    pub username_prefix: Option<String>,
}

/// Signing keys of an issuer.
#[async_trait]
pub trait KeyRepo: Send + Sync {
    /// Stores a new key.
    async fn create(
        &self,
        scope: IssuerScope,
        key: &SigningKey,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
    /// Starts chains of keys: stores `keys` (each with its event), all or none, unless the
    /// issuer already has a current or next key of an algorithm among them; whether they were
    /// stored. Nodes that make an issuer's first keys at the same moment take turns here, so
    /// one set is stored and the others are dropped, and every node publishes and signs with
    /// the same keys.
    async fn create_chains(
        &self,
        scope: IssuerScope,
        keys: &[(SigningKey, NewEvent)],
    ) -> Result<bool, StoreError>;
    /// All keys of the issuer that are not retired, oldest first.
    async fn list_active(&self, scope: IssuerScope) -> Result<Vec<SigningKey>, StoreError>;
    /// The id and state of every key of these issuers that is not retired, without the key
    /// material: by issuer, and within an issuer in the order of [`KeyRepo::list_active`] (see
    /// [`IssuerRepo::versions`]).
    async fn active_states(&self, issuers: &[IssuerId]) -> Result<Vec<KeyStateRow>, StoreError>;
    /// Moves a key to another state.
    async fn set_state(
        &self,
        scope: IssuerScope,
        id: KeyId,
        state: KeyState,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
}

/// An issuer's event trail.
#[async_trait]
pub trait EventRepo: Send + Sync {
    /// Appends an event that accompanies no stored change (e.g. a failed sign-in).
    async fn append(&self, scope: IssuerScope, event: &NewEvent) -> Result<(), StoreError>;
    /// Lists the events that match `filter`, in id (creation) order.
    async fn list(
        &self,
        scope: IssuerScope,
        filter: &EventListFilter,
        page: PageRequest,
    ) -> Result<Page<Event>, StoreError>;
    /// Up to `limit` events of the chain with `seq` above `after_seq`, in `seq` order: the
    /// verifier reads the whole chain this way, page by page.
    async fn list_chain(
        &self,
        scope: IssuerScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;
    /// How many events the issuer's trail holds (a row outside the chain included).
    async fn count(&self, scope: IssuerScope) -> Result<u64, StoreError>;
    /// Finds one event.
    async fn find(&self, scope: IssuerScope, id: EventId) -> Result<Option<Event>, StoreError>;
    /// Where the issuer's chain starts once retention has removed its beginning: the `seq` and
    /// `hash` of the last event removed; `None` while nothing was removed.
    async fn chain_anchor(&self, scope: IssuerScope) -> Result<Option<ChainAnchor>, StoreError>;
    /// Retention: removes, in one transaction, the issuer's events that happened before
    /// `before` (the oldest links of its chain, up to the newest such event) and its finished
    /// (delivered or dead) deliveries last changed before `before`; the last removed link
    /// becomes the chain's anchor. Returns how many events were removed.
    async fn prune(
        &self,
        scope: IssuerScope,
        before: UnixTime,
        now: UnixTime,
    ) -> Result<u64, StoreError>;
}

/// One link of an issuer's chain, where the next event continues it: as an anchor, the last
/// link that retention removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainAnchor {
    /// Its `seq`.
    pub seq: i64,
    /// Its `hash`.
    pub hash: [u8; 32],
}

/// Which events a listing returns. Every condition given must hold; an empty filter lists all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventListFilter {
    /// By type.
    pub event_type: Option<EventTypeFilter>,
    /// Events about this subject (a public id, matched exactly).
    pub subject: Option<String>,
    /// Events caused by this actor.
    pub actor: Option<Actor>,
    /// Events that happened at or after this time.
    pub since: Option<UnixTime>,
    /// Events that happened at or before this time.
    pub until: Option<UnixTime>,
}

/// A condition on the event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTypeFilter {
    /// This type exactly.
    Exact(String),
    /// Types that start with this (literally, counted in characters), e.g. `user.` for `user.*`.
    Prefix(String),
}

/// Single-use tickets: codes and links, stored under the hash of their secret.
#[async_trait]
pub trait TicketRepo: Send + Sync {
    /// Stores a ticket.
    async fn create(&self, scope: IssuerScope, ticket: &Ticket) -> Result<(), StoreError>;
    /// Redeems a ticket in one conditional statement: exactly one concurrent caller gets it.
    /// Others get [`StoreError::AlreadyConsumed`]; an unknown or expired ticket is
    /// [`StoreError::NotFound`].
    async fn consume(
        &self,
        scope: IssuerScope,
        kind: TicketKind,
        secret_hash: &[u8; 32],
        now: UnixTime,
    ) -> Result<Ticket, StoreError>;
    /// Finds a ticket by kind and hash, consumed or expired or not (to act on a replay).
    async fn find(
        &self,
        scope: IssuerScope,
        kind: TicketKind,
        secret_hash: &[u8; 32],
    ) -> Result<Option<Ticket>, StoreError>;
}

/// A response kept under an idempotency key, to be sent again to a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers worth replaying, as (lowercase name, value).
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte.
    pub body: Vec<u8>,
}

/// What [`IdempotencyRepo::begin`] found under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The key was free (or had expired): this request owns it now and must
    /// [`finish`](IdempotencyRepo::finish) or [`abandon`](IdempotencyRepo::abandon) it.
    Started,
    /// A request with the same hash finished under this key: send its response again.
    Replay(StoredResponse),
    /// The key was used for a request with another hash.
    Mismatch,
    /// A request with the same hash holds the key and has not finished.
    InProgress,
}

/// Idempotency keys, scoped by the caller that chose them (a Core API credential), not by
/// issuer: a key is its client's. A key whose `expires_at` has passed counts as absent.
#[async_trait]
pub trait IdempotencyRepo: Send + Sync {
    /// Claims `key` for a request whose hash is `request_hash`, in one conditional statement
    /// (an expired claim is replaced by the same statement): of concurrent callers with one
    /// key, exactly one gets [`Begin::Started`]. The others learn what holds the key.
    async fn begin(
        &self,
        caller: ClientId,
        key: &str,
        request_hash: &[u8; 32],
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<Begin, StoreError>;
    /// Stores the response of the request that [started](Begin::Started) `key`;
    /// [`StoreError::NotFound`] when the claim is no longer held (finished, abandoned).
    async fn finish(
        &self,
        caller: ClientId,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;
    /// Releases an unfinished claim, so that a retry runs the request again (the first
    /// attempt failed in a way a retry may fix). A finished key is left alone.
    async fn abandon(&self, caller: ClientId, key: &str) -> Result<(), StoreError>;
}

/// Interactions: authorization requests waiting for the user.
#[async_trait]
pub trait InteractionRepo: Send + Sync {
    /// Stores a new interaction.
    async fn create(&self, scope: IssuerScope, interaction: &Interaction)
    -> Result<(), StoreError>;
    /// Finds an interaction, expired or not (the caller decides).
    async fn find(
        &self,
        scope: IssuerScope,
        id: InteractionId,
    ) -> Result<Option<Interaction>, StoreError>;
    /// Updates an interaction read at `interaction.revision` (the user authenticated);
    /// [`StoreError::Conflict`] if it changed since, [`StoreError::NotFound`] if it is gone.
    async fn update(
        &self,
        scope: IssuerScope,
        interaction: &Interaction,
    ) -> Result<Interaction, StoreError>;
    /// Removes an unexpired interaction in one conditional statement and returns it: of
    /// concurrent callers exactly one gets it, the others [`StoreError::NotFound`]. Finishing
    /// an interaction consumes it, so one request yields at most one code.
    async fn consume(
        &self,
        scope: IssuerScope,
        id: InteractionId,
        now: UnixTime,
    ) -> Result<Interaction, StoreError>;
}

/// Browser sessions.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Stores a new session with its event (`session.created`).
    async fn create(
        &self,
        scope: IssuerScope,
        session: &Session,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
    /// Finds a session by id, active or not.
    async fn find(&self, scope: IssuerScope, id: SessionId) -> Result<Option<Session>, StoreError>;
    /// Finds a session by the hash of its cookie secret, active or not.
    async fn find_by_secret(
        &self,
        scope: IssuerScope,
        secret_hash: &[u8; 32],
    ) -> Result<Option<Session>, StoreError>;
    /// The user's sessions, newest first, active or not.
    async fn list_by_user(
        &self,
        scope: IssuerScope,
        user: UserId,
    ) -> Result<Vec<Session>, StoreError>;
    /// Records that `client` received tokens from the session (for logout). Idempotent.
    async fn add_client(
        &self,
        scope: IssuerScope,
        session: SessionId,
        client: ClientId,
    ) -> Result<(), StoreError>;
    /// The clients that received tokens from the session, in the order they first did.
    async fn list_clients(
        &self,
        scope: IssuerScope,
        session: SessionId,
    ) -> Result<Vec<ClientId>, StoreError>;
    /// Ends an active session, with its event (`session.ended`) and the deliveries its end
    /// causes (back-channel logout tokens), all in one transaction: no delivery without the
    /// end, no end without its deliveries. `Ok(false)` when it was already ended (and neither
    /// event nor deliveries are written), [`StoreError::NotFound`] when it does not exist.
    async fn end(
        &self,
        scope: IssuerScope,
        id: SessionId,
        now: UnixTime,
        event: &NewEvent,
        deliveries: &[Delivery],
    ) -> Result<bool, StoreError>;
}

/// Consents, one per user and client.
#[async_trait]
pub trait GrantRepo: Send + Sync {
    /// The user's consent to the client, if any.
    async fn find(
        &self,
        scope: IssuerScope,
        user: UserId,
        client: ClientId,
    ) -> Result<Option<Grant>, StoreError>;
    /// Stores the consent, replacing the scopes of an existing one for the same user and
    /// client (keeping its id and `created_at`); returns the stored consent.
    async fn save(
        &self,
        scope: IssuerScope,
        grant: &Grant,
        event: &NewEvent,
    ) -> Result<Grant, StoreError>;
    /// The user's consents, oldest first.
    async fn list_by_user(
        &self,
        scope: IssuerScope,
        user: UserId,
    ) -> Result<Vec<Grant>, StoreError>;
    /// Withdraws the consent and, in the same transaction, revokes every token family of that
    /// user and client at `now`. [`StoreError::NotFound`] when there is no such consent.
    async fn delete(
        &self,
        scope: IssuerScope,
        user: UserId,
        client: ClientId,
        now: UnixTime,
        event: &NewEvent,
    ) -> Result<(), StoreError>;
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now used, its successor stored; here is its family.
    Rotated(TokenFamily),
    /// The token had already been used: the family is now revoked (RFC 9700 §4.14.2). The
    /// successor was not stored.
    Reused(FamilyId),
}

/// Token families, their refresh tokens and opaque access tokens.
#[async_trait]
pub trait TokenRepo: Send + Sync {
    /// Stores a family with its first refresh token, if one is issued, in one transaction.
    async fn create_family(
        &self,
        scope: IssuerScope,
        family: &TokenFamily,
        refresh: Option<&RefreshToken>,
    ) -> Result<(), StoreError>;
    /// Redeems the authorization code hashed `code`: consumes it as
    /// [`TicketRepo::consume`] does and stores `family` with its first refresh token, all in
    /// one transaction, so the code is spent exactly when what it was exchanged for exists. A
    /// failure anywhere (the database lost, the family refused) leaves the code unspent, for
    /// the client's retry. [`StoreError::AlreadyConsumed`] for a spent code,
    /// [`StoreError::NotFound`] for an unknown or expired one; either writes nothing.
    async fn redeem_code(
        &self,
        scope: IssuerScope,
        code: &[u8; 32],
        now: UnixTime,
        family: &TokenFamily,
        refresh: Option<&RefreshToken>,
    ) -> Result<(), StoreError>;
    /// Finds a family, revoked or not.
    async fn find_family(
        &self,
        scope: IssuerScope,
        id: FamilyId,
    ) -> Result<Option<TokenFamily>, StoreError>;
    /// Revokes a family at `now`, writing `event` (if any) in the same transaction when it
    /// does; `Ok(false)` when it was already revoked (nothing written),
    /// [`StoreError::NotFound`] when it does not exist.
    async fn revoke_family(
        &self,
        scope: IssuerScope,
        id: FamilyId,
        now: UnixTime,
        event: Option<&NewEvent>,
    ) -> Result<bool, StoreError>;
    /// Exchanges the refresh token hashed `presented` for `next` (same family, which the
    /// store fills in from the presented token). The token is marked used by one conditional
    /// statement, so of concurrent presenters exactly one rotates; a token already used
    /// revokes its family ([`Rotation::Reused`]). An unknown or expired token, or one whose
    /// family is revoked or expired, is [`StoreError::NotFound`] and changes nothing. The
    /// presenter whose reuse revokes the family writes `reuse_event(family)` in the same
    /// transaction; later presenters of the same token revoke nothing and write nothing.
    async fn rotate_refresh(
        &self,
        scope: IssuerScope,
        presented: &[u8; 32],
        next: &RefreshToken,
        now: UnixTime,
        reuse_event: &(dyn Fn(FamilyId) -> NewEvent + Sync),
    ) -> Result<Rotation, StoreError>;
    /// Finds a refresh token by hash, used or not.
    async fn find_refresh(
        &self,
        scope: IssuerScope,
        secret_hash: &[u8; 32],
    ) -> Result<Option<RefreshToken>, StoreError>;
    /// Stores an opaque access token.
    async fn create_access(
        &self,
        scope: IssuerScope,
        token: &OpaqueAccessToken,
    ) -> Result<(), StoreError>;
    /// Finds an opaque access token by hash, expired or revoked or not.
    async fn find_access(
        &self,
        scope: IssuerScope,
        secret_hash: &[u8; 32],
    ) -> Result<Option<OpaqueAccessToken>, StoreError>;
    /// Revokes an opaque access token; `Ok(false)` when unknown or already revoked.
    async fn revoke_access(
        &self,
        scope: IssuerScope,
        secret_hash: &[u8; 32],
        now: UnixTime,
    ) -> Result<bool, StoreError>;
}

/// How a delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFailure {
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why, briefly; the store keeps at most
    /// [`MAX_DELIVERY_ERROR_CHARS`](tessera_model::MAX_DELIVERY_ERROR_CHARS) characters.
    pub error: String,
}

/// Outbound deliveries: one durable queue for every call Tessera makes to a receiver.
///
/// Every method is issuer-scoped except [`DeliveryRepo::claim_due`]: the worker serves all
/// issuers of the installation at once, so it claims across them, and learns each claimed
/// row's issuer from the row. Everything it does with a row afterwards goes through that
/// issuer's scope.
///
/// The outcome methods act only while `owner` still holds the row's lease: a worker whose lease
/// expired (and whose row another worker may have claimed since) changes nothing and learns so
/// from `Ok(false)`.
#[async_trait]
pub trait DeliveryRepo: Send + Sync {
    /// Enqueues a delivery on its own. Deliveries caused by a change are written with it
    /// instead (e.g. [`SessionRepo::end`]).
    async fn enqueue(&self, scope: IssuerScope, delivery: &Delivery) -> Result<(), StoreError>;
    /// Finds a delivery, whatever its state.
    async fn find(
        &self,
        scope: IssuerScope,
        id: DeliveryId,
    ) -> Result<Option<Delivery>, StoreError>;
    /// The issuer's deliveries, in creation order.
    async fn list(
        &self,
        scope: IssuerScope,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError>;
    /// The deliveries of one webhook, in creation order.
    async fn list_for_webhook(
        &self,
        scope: IssuerScope,
        webhook: WebhookId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError>;
    /// Appends `event` and enqueues `deliveries` with it, in one transaction (a webhook ping,
    /// a requested redelivery).
    async fn enqueue_with_event(
        &self,
        scope: IssuerScope,
        deliveries: &[Delivery],
        event: &NewEvent,
    ) -> Result<(), StoreError>;
    /// Claims up to `limit` pending deliveries that are due at `now` and not leased (or whose
    /// lease has expired), of every issuer, earliest due first, in one conditional statement:
    /// each gets `owner` and `lease_until`, and one more attempt. Of concurrent claimers, no
    /// two get the same row. Returns them as claimed.
    async fn claim_due(
        &self,
        owner: &str,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// The receiver accepted the delivery: it is `delivered` and never claimed again; the
    /// webhook it was for, if any, is no longer failing.
    async fn record_success(
        &self,
        scope: IssuerScope,
        id: DeliveryId,
        owner: &str,
        status: u16,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// The attempt failed: the lease is released and the delivery is due again at
    /// `next_attempt_at`.
    async fn record_failure(
        &self,
        scope: IssuerScope,
        id: DeliveryId,
        owner: &str,
        failure: &AttemptFailure,
        next_attempt_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// The last attempt failed: the delivery is `dead` and never claimed again, with its event
    /// (`delivery.failed`) in the same transaction; the webhook it was for, if any, is marked
    /// failing.
    async fn dead_letter(
        &self,
        scope: IssuerScope,
        id: DeliveryId,
        owner: &str,
        failure: &AttemptFailure,
        now: UnixTime,
        event: &NewEvent,
    ) -> Result<bool, StoreError>;
}

/// Bulk insertion for development and benchmarks (`tessera dev seed`): thousands of issuers or
/// millions of users in minutes, where the create methods (one transaction and one event each)
/// would take hours.
///
/// Each record is stored exactly as its repository's `create` stores it (the same statement
/// text, columns and normalization), so every other method reads it back like any other. What
/// differs is that **no events are written**: seeded records are made-up data for a dev tool,
/// not changes anyone made, so there is nothing to audit and nothing for a webhook to report
/// (an issuer's chain simply starts with its first real change).
#[async_trait]
pub trait SeedRepo: Send + Sync {
    /// Inserts `batch` in one transaction, in multi-row statements: all of it or none of it.
    /// A taken slug, email or username is [`StoreError::AlreadyExists`].
    async fn insert(&self, batch: &SeedBatch) -> Result<(), StoreError>;
    /// Once every batch is in: brings the database to the state a live one would be in, so
    /// that it is read at the speed a live one is (PostgreSQL: `VACUUM (ANALYZE)` of the
    /// seeded tables; SQLite: nothing).
    async fn settle(&self) -> Result<(), StoreError>;
}

/// What one [`SeedRepo::insert`] writes: new issuers, and records of issuers (new in this batch
/// or stored before), each under its issuer's scope.
#[derive(Debug, Clone, Default)]
pub struct SeedBatch {
    /// New issuers.
    pub issuers: Vec<Issuer>,
    /// Their records, and those of issuers stored earlier.
    pub contents: Vec<IssuerContents>,
}

/// Records of one issuer, to be seeded.
#[derive(Debug, Clone)]
pub struct IssuerContents {
    /// The issuer they belong to (the store binds its id, as every scoped write does).
    pub scope: IssuerScope,
    /// Clients.
    pub clients: Vec<Client>,
    /// Users.
    pub users: Vec<User>,
    /// Signing keys.
    pub keys: Vec<SigningKey>,
}

impl IssuerContents {
    /// No records yet, for `scope`.
    pub fn empty(scope: IssuerScope) -> Self {
        Self {
            scope,
            clients: Vec::new(),
            users: Vec::new(),
            keys: Vec::new(),
        }
    }
}
