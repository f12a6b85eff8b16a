//! Storage for Tessera: repository traits per aggregate, the issuer-scoped handle, the error
//! vocabulary, and (feature `testing`) the contract suite every backend must pass.
//!
//! The rules this crate sets for every backend:
//!
//! - **Tenant scope is a type.** Every issuer-owned read and write takes an [`IssuerScope`],
//!   which can only be made from an [`Issuer`](tessera_model::Issuer) that was loaded. A query
//!   that forgets the tenant does not compile (ARCHITECTURE.md invariant 3).
//! - **A change and its event are one transaction.** Every mutating method takes the
//!   [`NewEvent`](tessera_model::NewEvent) that describes it and writes both or neither.
//! - **Single-use means one winner.** [`TicketRepo::consume`] is one conditional statement:
//!   under any concurrency exactly one caller gets the ticket, the others
//!   [`StoreError::AlreadyConsumed`]. Likewise [`IdempotencyRepo::begin`]: of concurrent
//!   requests with one idempotency key, exactly one starts.
//! - **The trail is a chain.** Every appended event gets the issuer's next `seq` and the hash
//!   of its predecessor ([`chain`]), in the transaction of its change; concurrent appends to
//!   one issuer are serialized, so the chain has no gaps and no forks.
//! - **A small error vocabulary.** Callers branch on [`StoreError`], never on backend text.
//!
//! No SQL and no sqlx here: `tessera-store-sql` implements these traits.

pub mod chain;
mod changes;
mod error;
mod repo;
mod scope;

#[cfg(feature = "testing")]
pub mod contract;

pub use changes::{Change, ChangeFeed, Notice};
pub use error::StoreError;
pub use repo::{
    AttemptFailure, Backend, Begin, ChainAnchor, ClientRepo, ClientRevision, DeliveryRepo,
    EventListFilter, EventRepo, EventTypeFilter, FailureCount, GrantRepo, IdempotencyRepo,
    InteractionRepo, IssuerRepo, IssuerVersion, KeyRepo, KeyStateRow, Page, PageRequest, Rotation,
    SchemaStatus, SessionRepo, SignInFailureRepo, Store, StoredResponse, TicketRepo, TokenRepo,
    UserListFilter, UserRepo, WebhookRepo,
};
// Bulk insertion for `tessera dev seed`, apart from the repositories the product runs on.
pub use repo::{IssuerContents, SeedBatch, SeedRepo};
pub use scope::IssuerScope;
