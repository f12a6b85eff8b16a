//! The SQLite backend: the shared repositories over `sqlx::Sqlite`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tessera_store::{Backend, StoreError};

use crate::PoolSize;

type Db = sqlx::Sqlite;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
const BACKEND: Backend = Backend::Sqlite;
/// Takes the write lock at the start, so a transaction never fails half-way when it tries
/// to upgrade a read lock.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
/// Appends to an issuer's chain need no lock of their own: `BEGIN IMMEDIATE` already gives
/// the transaction the database's single write lock. (Binds the issuer id like the PostgreSQL
/// statement, so that the shared code is one body.)
const LOCK_ISSUER_FOR_APPEND: &str = "SELECT 1 WHERE $1 IS NOT NULL";
const MIGRATIONS_TABLE_EXISTS: &str =
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";

/// How the claim of due deliveries locks the rows it picks: not at all, since the single
/// writer (`BEGIN IMMEDIATE`) already makes claimers take turns.
const CLAIM_LOCK: &str = "";

/// What follows a bulk load (`SeedRepo::settle`): nothing. SQLite keeps no statistics unless
/// told to (`ANALYZE`), and the server never is; without them its planner takes an equality on
/// a unique index for one row, which is the plan a lookup wants. A seeded database is then
/// read like one that grew by use.
const AFTER_BULK_LOAD: &[&str] = &[];

#[path = "shared/mod.rs"]
mod shared;

/// The SQLite store.
pub type SqliteStore = shared::SqlStore;

/// How long a statement waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of the database file each connection reads through a memory map instead of
/// `read` calls (SQLite's `mmap_size`): a lookup in a large table touches a few pages per
/// B-tree level, and a mapped page that is in the operating system's file cache costs no
/// system call and no copy into SQLite's own small per-connection cache (docs/benchmarks.md,
/// "Scale", measures lookups among a million users). The mapped pages are the file cache,
/// shared with every other reader, not memory of this process.
const MMAP_SIZE: u64 = 1 << 30;

/// Opens (creating if missing) the database file named by `url`.
pub async fn connect(url: &str, size: PoolSize) -> Result<SqliteStore, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| crate::error::map("database", e))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("mmap_size", MMAP_SIZE.to_string());
    // The writer first: it creates the file and switches it to WAL before readers open it.
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options.clone())
        .await
        .map_err(|e| crate::error::map("database", e))?;
    let read = SqlitePoolOptions::new()
        .max_connections(size.max_connections.max(1))
        .connect_with(options)
        .await
        .map_err(|e| crate::error::map("database", e))?;
    Ok(shared::SqlStore::new(read, write))
}

/// One node is all there is on SQLite (the serve lock sees to that): a change made here is
/// forgotten here at once, so there is no one to tell.
async fn announce(_: &sqlx::Pool<Db>, _: tessera_store::Change) -> Result<(), StoreError> {
    Ok(())
}

/// No other node announces anything (see [`announce`]).
async fn change_feed(
    _: &sqlx::Pool<Db>,
) -> Result<Option<Box<dyn tessera_store::ChangeFeed>>, StoreError> {
    Ok(None)
}
