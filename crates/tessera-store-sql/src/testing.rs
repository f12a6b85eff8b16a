//! Fresh databases for tests (feature `testing`).
//!
//! Each call makes a new, empty database: a SQLite file in a temporary folder, or, when
//! `TESSERA_TEST_POSTGRES_URL` names a PostgreSQL server, a new database on it
//! (`tessera_test_<random>`), dropped again when the handle is dropped. `.ci/run` runs the
//! whole test suite once each way. Reading the environment here is the one exception to
//! invariant 1: it is how a test run chooses its backend.

use std::str::FromStr;
use std::sync::Arc;

use sqlx::{ConnectOptions, Connection, Executor};
use tessera_store::contract::TestStore;
use tessera_store::{Backend, Store};
use uuid::Uuid;

use crate::PoolSize;

/// The PostgreSQL server tests should use, if any.
#[allow(clippy::disallowed_methods)]
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("TESSERA_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// The backend this test run uses.
pub fn backend() -> Backend {
    if postgres_admin_url().is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// A new, empty database, removed when this is dropped.
pub struct FreshDatabase {
    /// Its URL, for `tessera --database-url` or [`crate::connect`].
    pub url: String,
    /// Whatever must be cleaned up.
    guard: Guard,
}

impl std::fmt::Debug for FreshDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshDatabase")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl FreshDatabase {
    /// For SQLite, the folder holding the database file.
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match &self.guard {
            Guard::Sqlite(dir) => Some(dir.path()),
            Guard::Postgres { .. } => None,
        }
    }

    /// PostgreSQL: makes this database unreachable, as a lost network or a server restart
    /// would, without touching the server (other tests use it at the same time): new
    /// connections are refused (`ALLOW_CONNECTIONS false`) and every open one is ended.
    ///
    /// # Panics
    /// On SQLite, or when the server cannot be reached.
    pub async fn cut_connections(&self) {
        let (admin_url, name) = self.postgres();
        let mut admin = admin_connection(admin_url).await;
        allow_connections(&mut admin, name, false).await;
        // A connection that was starting while the setting changed may still get in: sweep
        // until none is left.
        for _ in 0..50 {
            if terminate_all(&mut admin, name).await == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = admin.close().await;
    }

    /// PostgreSQL: accepts connections again after [`Self::cut_connections`].
    ///
    /// # Panics
    /// On SQLite, or when the server cannot be reached.
    pub async fn restore_connections(&self) {
        let (admin_url, name) = self.postgres();
        let mut admin = admin_connection(admin_url).await;
        allow_connections(&mut admin, name, true).await;
        let _ = admin.close().await;
    }

    /// PostgreSQL: ends every connection open to this database now (`pg_terminate_backend`),
    /// as a database restart would; new ones are accepted. How many were ended.
    ///
    /// # Panics
    /// On SQLite, or when the server cannot be reached.
    pub async fn terminate_connections(&self) -> usize {
        let (admin_url, name) = self.postgres();
        let mut admin = admin_connection(admin_url).await;
        let ended = terminate_all(&mut admin, name).await;
        let _ = admin.close().await;
        ended
    }

    fn postgres(&self) -> (&str, &str) {
        match &self.guard {
            Guard::Postgres { admin_url, name } => (admin_url, name),
            Guard::Sqlite(_) => panic!("only a PostgreSQL database can lose its connections"),
        }
    }
}

/// Makes a new empty database on this run's backend.
///
/// # Panics
/// When the PostgreSQL server cannot be reached: a test cannot run without its database.
pub async fn fresh_database() -> FreshDatabase {
    match postgres_admin_url() {
        None => {
            let dir = tempfile::tempdir().expect("create a temporary folder");
            let url = format!("sqlite://{}/tessera.db", dir.path().display());
            FreshDatabase {
                url,
                guard: Guard::Sqlite(dir),
            }
        }
        Some(admin_url) => {
            let name = format!("tessera_test_{}", Uuid::now_v7().simple());
            let mut admin = admin_connection(&admin_url).await;
            admin
                .execute(format!("CREATE DATABASE \"{name}\"").as_str())
                .await
                .expect("create a test database");
            let _ = admin.close().await;
            let mut url = url::Url::parse(&admin_url).expect("TESSERA_TEST_POSTGRES_URL is a URL");
            url.set_path(&format!("/{name}"));
            FreshDatabase {
                url: url.to_string(),
                guard: Guard::Postgres { admin_url, name },
            }
        }
    }
}

/// Lets the database `name` accept new connections, or refuse them (even a superuser's).
async fn allow_connections(admin: &mut sqlx::PgConnection, name: &str, allow: bool) {
    admin
        .execute(format!("ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS {allow}").as_str())
        .await
        .expect("change whether the test database accepts connections");
}

/// Ends every other connection to the database `name`; how many.
async fn terminate_all(admin: &mut sqlx::PgConnection, name: &str) -> usize {
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_all(admin)
    .await
    .expect("terminate the test database's connections");
    ended.len()
}

async fn admin_connection(admin_url: &str) -> sqlx::PgConnection {
    sqlx::postgres::PgConnectOptions::from_str(admin_url)
        .expect("TESSERA_TEST_POSTGRES_URL is a PostgreSQL URL")
        .connect()
        .await
        .expect("connect to TESSERA_TEST_POSTGRES_URL")
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Guard::Postgres { admin_url, name } = &self.guard {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop may run inside a runtime, which cannot be blocked on: use a thread of its own.
            let dropper = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("build a runtime to drop the test database");
                runtime.block_on(async move {
                    let mut admin = admin_connection(&admin_url).await;
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    if let Err(e) = admin.execute(sql.as_str()).await {
                        tracing::warn!(database = %name, error = %e, "could not drop a test database");
                    }
                });
            });
            let _ = dropper.join();
        }
    }
}

/// A fresh, migrated store on this run's backend, for the contract suite.
pub async fn fresh_store() -> TestStore {
    let database = fresh_database().await;
    let store: Arc<dyn Store> = crate::connect(&database.url, PoolSize::default())
        .await
        .expect("connect to the fresh test database");
    store
        .migrate()
        .await
        .expect("migrate the fresh test database");
    TestStore {
        store,
        keep_alive: Box::new(database),
    }
}

/// Runs one statement on the database at `url`, behind Tessera's back: for tests that
/// simulate what another program (or a newer Tessera) did to the database.
///
/// # Panics
/// When the statement fails.
pub async fn execute_sql(url: &str, sql: &str) {
    if url.starts_with("sqlite:") {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).expect("a SQLite URL");
        let mut connection = options.connect().await.expect("open the SQLite database");
        connection
            .execute(sql)
            .await
            .expect("run the test statement");
        let _ = connection.close().await;
    } else {
        let mut connection = admin_connection(url).await;
        connection
            .execute(sql)
            .await
            .expect("run the test statement");
        let _ = connection.close().await;
    }
}

/// Runs one query that answers one integer (a count) on the database at `url`, behind
/// Tessera's back: for tests that check what is stored where no API shows it.
///
/// # Panics
/// When the query fails.
pub async fn query_i64(url: &str, sql: &str) -> i64 {
    if url.starts_with("sqlite:") {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).expect("a SQLite URL");
        let mut connection = options.connect().await.expect("open the SQLite database");
        let value = sqlx::query_scalar(sql)
            .fetch_one(&mut connection)
            .await
            .expect("run the test query");
        let _ = connection.close().await;
        value
    } else {
        let mut connection = admin_connection(url).await;
        let value = sqlx::query_scalar(sql)
            .fetch_one(&mut connection)
            .await
            .expect("run the test query");
        let _ = connection.close().await;
        value
    }
}

/// Another program's write transaction on the database at `url`, held until
/// [`HeldWrites::release`]: SQLite's write lock (`BEGIN IMMEDIATE`), or on PostgreSQL a lock
/// on `table` that still lets readers through (`LOCK TABLE … IN EXCLUSIVE MODE`). Meanwhile
/// Tessera's writes there wait (on SQLite for up to its busy timeout) and its reads go on: for
/// tests of what does not wait for a write.
pub struct HeldWrites {
    connection: HeldConnection,
}

enum HeldConnection {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

/// Takes the write lock described at [`HeldWrites`].
///
/// # Panics
/// When the database cannot be reached or the lock not taken.
pub async fn hold_writes(url: &str, table: &str) -> HeldWrites {
    let connection = if url.starts_with("sqlite:") {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).expect("a SQLite URL");
        let mut connection = options.connect().await.expect("open the SQLite database");
        connection
            .execute("BEGIN IMMEDIATE")
            .await
            .expect("take SQLite's write lock");
        HeldConnection::Sqlite(connection)
    } else {
        let mut connection = admin_connection(url).await;
        connection
            .execute(format!("BEGIN; LOCK TABLE {table} IN EXCLUSIVE MODE").as_str())
            .await
            .expect("lock the table");
        HeldConnection::Postgres(connection)
    };
    HeldWrites { connection }
}

impl HeldWrites {
    /// Lets the waiting writes through.
    ///
    /// # Panics
    /// When the transaction cannot be ended.
    pub async fn release(self) {
        match self.connection {
            HeldConnection::Sqlite(mut connection) => {
                connection.execute("ROLLBACK").await.expect("release");
                let _ = connection.close().await;
            }
            HeldConnection::Postgres(mut connection) => {
                connection.execute("ROLLBACK").await.expect("release");
                let _ = connection.close().await;
            }
        }
    }
}
