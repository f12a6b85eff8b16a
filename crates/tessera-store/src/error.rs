//! The storage error vocabulary (STYLE.md habit 6).

use std::error::Error;

/// What can go wrong in storage, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist (in this issuer).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated.
    #[error("a {entity} with this {field} already exists")]
    AlreadyExists {
        /// The kind of record, e.g. `user`.
        entity: &'static str,
        /// The public field that must be unique, e.g. `email`.
        field: &'static str,
    },
    /// A single-use artefact was already consumed.
    #[error("already consumed")]
    AlreadyConsumed,
    /// The record changed since it was read (revision mismatch).
    #[error("the record was changed concurrently")]
    Conflict,
    /// The database cannot be reached now; retrying later may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] Box<dyn Error + Send + Sync>),
    /// The database was migrated by a newer Tessera.
    #[error(
        "the database schema is at version {found}, newer than this Tessera supports (up to \
         {supported}); upgrade Tessera or use another database"
    )]
    SchemaTooNew {
        /// The newest version applied to the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// Anything else the backend reported.
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn Error + Send + Sync>),
}

impl StoreError {
    /// Whether the failure is transient (the request may be retried).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}
