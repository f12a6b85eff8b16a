//! The PostgreSQL backend: the shared repositories over `sqlx::Postgres`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use tessera_store::{Backend, Change, ChangeFeed, Notice, StoreError};

use crate::PoolSize;

type Db = sqlx::Postgres;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");
const BACKEND: Backend = Backend::Postgres;
const BEGIN_WRITE: &str = "BEGIN";
/// Serializes appends to one issuer's chain: of two transactions, the second waits here
/// until the first commits, then reads the new last event. `NO KEY UPDATE`, not `UPDATE`:
/// inserting a row that references the issuer takes `KEY SHARE` on it, which `UPDATE` would
/// wait for (two writers holding `KEY SHARE` would then deadlock), and `NO KEY UPDATE` does not.
const LOCK_ISSUER_FOR_APPEND: &str = "SELECT 1 FROM issuers WHERE id = $1 FOR NO KEY UPDATE";
const MIGRATIONS_TABLE_EXISTS: &str = "SELECT COUNT(*) FROM information_schema.tables \
     WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'";

/// How the claim of due deliveries locks the rows it picks. `SKIP LOCKED`: a concurrent
/// claimer passes over the rows this one is taking instead of waiting for them (and once they
/// are committed, their lease fails its conditions), so claimers get disjoint sets without
/// queueing behind each other.
const CLAIM_LOCK: &str = " FOR UPDATE SKIP LOCKED";

/// What follows a bulk load (`SeedRepo::settle`): statistics for the planner, and the tables'
/// visibility settled, as autovacuum would do within minutes. Without it, the planner of a
/// table loaded seconds before has no statistics (it took a million users' address index for
/// fifteen rows per address and chose a bitmap scan), and each first read of a page sets its
/// rows' hint bits and dirties it: a lookup cost nothing like a live database's.
const AFTER_BULK_LOAD: &[&str] = &["VACUUM (ANALYZE) issuers, clients, users, signing_keys"];

#[path = "shared/mod.rs"]
mod shared;

/// The PostgreSQL store.
pub type PgStore = shared::SqlStore;

/// Connects to the database named by `url`; fails at once if it cannot be reached.
pub async fn connect(url: &str, size: PoolSize) -> Result<PgStore, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(|e| crate::error::map("database", e))?;
    // One direct connection first: the pool would retry until its timeout and then report
    // only that it timed out, losing the reason (refused, unknown host, bad password).
    options
        .connect()
        .await
        .map_err(|e| crate::error::map("database", e))?
        .close()
        .await
        .map_err(|e| crate::error::map("database", e))?;
    let pool = PgPoolOptions::new()
        .max_connections(size.max_connections.max(1))
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|e| crate::error::map("database", e))?;
    Ok(shared::SqlStore::new(pool.clone(), pool))
}

/// The channel change notices travel on.
const CHANGES_CHANNEL: &str = "tessera_changes";

/// How long the feed waits before trying again when it cannot reach the database.
const FEED_RETRY: Duration = Duration::from_secs(1);

/// `NOTIFY`, through `pg_notify` so the payload is a bound parameter. Sent after the change
/// committed, outside its transaction: a notice may then be lost if this node dies in between,
/// which the caches' time to live covers.
async fn announce(pool: &sqlx::PgPool, change: Change) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANGES_CHANNEL)
        .bind(change.encode())
        .execute(pool)
        .await
        .map_err(|e| crate::error::map("change notice", e))?;
    Ok(())
}

/// `LISTEN` on a connection of its own (taken from the pool and detached from it).
async fn change_feed(pool: &sqlx::PgPool) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
    let mut listener = PgListener::connect_with(pool)
        .await
        .map_err(|e| crate::error::map("change feed", e))?;
    listener
        .listen(CHANGES_CHANNEL)
        .await
        .map_err(|e| crate::error::map("change feed", e))?;
    Ok(Some(Box::new(PgChangeFeed { listener })))
}

/// The notices on [`CHANGES_CHANNEL`].
struct PgChangeFeed {
    listener: PgListener,
}

#[async_trait::async_trait]
impl ChangeFeed for PgChangeFeed {
    async fn next(&mut self) -> Notice {
        match self.listener.try_recv().await {
            Ok(Some(notification)) => {
                Change::decode(notification.payload()).map_or(Notice::Gap, Notice::Changed)
            }
            // The connection was lost, and sqlx has already reconnected and listens again
            // (it reconnects eagerly). Whatever was announced in between is not replayed.
            Ok(None) => Notice::Gap,
            // The reconnection failed. A later call reconnects without saying so, so notices
            // sent between this gap and that reconnection go unseen: the caches' time to live
            // covers them.
            Err(error) => {
                tracing::warn!(%error, "the change feed cannot reach the database; retrying");
                tokio::time::sleep(FEED_RETRY).await;
                Notice::Gap
            }
        }
    }
}
