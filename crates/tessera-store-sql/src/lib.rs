//! SQLite and PostgreSQL storage for Tessera: the only crate that names sqlx (ARCHITECTURE.md
//! invariant 1).
//!
//! # One body, two backends
//!
//! The repositories are written once, in `src/shared/`, against a type alias `Db`. The
//! `sqlite` and `postgres` modules each set `Db` to their database and include that same
//! source with `#[path]`, so the compiler checks the shared code against each driver's
//! concrete types. There is no `if sqlite { … }` anywhere: where the dialects differ, the
//! backend module supplies a different statement text (a `const`), nothing else. Query text
//! uses `$1…` placeholders, which both accept. (sqlx's `Any` driver is not used: it erases
//! the types this arrangement keeps.)
//!
//! # SQLite
//!
//! WAL, foreign keys on, a busy timeout, and one writer: writes go through a one-connection
//! pool and start with `BEGIN IMMEDIATE`, so concurrent writers in this process queue instead
//! of failing with `SQLITE_BUSY`, and writers in another process (an admin command) wait for
//! the busy timeout. Reads use a separate pool and never block on writes.
//!
//! # PostgreSQL
//!
//! One pool. Migrations take sqlx's advisory lock, so several nodes may start at once.

// The shared repositories are compiled once per backend on purpose (see above).
#![allow(clippy::duplicate_mod)]

use std::sync::Arc;

use tessera_store::{Store, StoreError};

mod error;
pub mod postgres;
pub mod sqlite;

#[cfg(feature = "testing")]
pub mod testing;

/// How many connections a store may open.
#[derive(Debug, Clone, Copy)]
pub struct PoolSize {
    /// Connections for reads (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
}

impl Default for PoolSize {
    fn default() -> Self {
        Self { max_connections: 8 }
    }
}

/// Opens the store named by a `sqlite:` or `postgres:` URL. The caller runs
/// [`Store::migrate`] before using it.
pub async fn connect(url: &str, size: PoolSize) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::connect(url, size).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::connect(url, size).await?))
    } else {
        Err(StoreError::Backend(
            "the database URL must start with sqlite: or postgres:".into(),
        ))
    }
}
