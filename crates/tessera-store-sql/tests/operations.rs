//! What several nodes and a failing database do to the PostgreSQL store (issue #7):
//!
//! - stores that migrate one fresh database at the same moment all succeed, and every
//!   migration is recorded once (sqlx's advisory lock makes the others wait);
//! - a database that stops accepting connections and ends the open ones is reported as
//!   `Unavailable` (the 503 of the HTTP edge), promptly, never as a backend failure; once it
//!   accepts connections again, the same store works again without being reopened.
//!
//! PostgreSQL only: a SQLite file has one server and no network between them. On SQLite the
//! tests say so and pass.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // test code

use std::sync::Arc;
use std::time::Duration;

use tessera_store::{Backend, Store, StoreError};
use tessera_store_sql::PoolSize;
use tessera_store_sql::testing::{backend, fresh_database, query_i64};

/// How long a call may take to report the lost database: the pool's acquire timeout (5 s)
/// and some slack. Losing the database must never hang a request.
const PROMPTLY: Duration = Duration::from_secs(10);

fn skipped_on_sqlite(test: &str) -> bool {
    if backend() == Backend::Postgres {
        return false;
    }
    eprintln!("{test}: PostgreSQL only (set TESSERA_TEST_POSTGRES_URL); skipped on SQLite");
    true
}

async fn connect(url: &str) -> Arc<dyn Store> {
    tessera_store_sql::connect(url, PoolSize { max_connections: 4 })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_migrating_one_fresh_database_at_once_all_succeed_and_apply_each_migration_once() {
    if skipped_on_sqlite("concurrent migrations") {
        return;
    }
    let database = fresh_database().await;
    let url = database.url.clone();
    let stores = all_at_once((0..4).map(|_| {
        let url = url.clone();
        async move { connect(&url).await }
    }))
    .await;
    let results = all_at_once(stores.iter().map(|store| {
        let store = store.clone();
        async move { store.migrate().await }
    }))
    .await;
    for result in results {
        let status = result.unwrap();
        assert_eq!(status.pending, 0, "{status:?}");
        assert_eq!(status.applied, Some(status.latest_known), "{status:?}");
    }
    let status = stores[0].schema_status().await.unwrap();
    let recorded = query_i64(&database.url, "SELECT COUNT(*) FROM _sqlx_migrations").await;
    let distinct = query_i64(
        &database.url,
        "SELECT COUNT(DISTINCT version) FROM _sqlx_migrations WHERE success",
    )
    .await;
    // The migrations are numbered 1, 2, … with no gaps.
    assert_eq!(recorded, status.latest_known);
    assert_eq!(distinct, status.latest_known);
    for store in stores {
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_is_unavailable_promptly_and_the_store_reconnects_by_itself() {
    if skipped_on_sqlite("database loss") {
        return;
    }
    let database = fresh_database().await;
    let store = connect(&database.url).await;
    store.migrate().await.unwrap();
    open_every_connection(&store).await;

    database.cut_connections().await;
    for attempt in 0..3 {
        let read = tokio::time::timeout(PROMPTLY, store.schema_status())
            .await
            .expect("a read on a lost database answers promptly");
        assert_unavailable(read.map(|_| ()), &format!("read {attempt}"));
        let write = tokio::time::timeout(PROMPTLY, store.master_key_check(b"check"))
            .await
            .expect("a write on a lost database answers promptly");
        assert_unavailable(write.map(|_| ()), &format!("write {attempt}"));
    }

    database.restore_connections().await;
    let status = tokio::time::timeout(PROMPTLY, store.schema_status())
        .await
        .expect("the store answers once the database is back")
        .expect("the same store reads again without being reopened");
    assert_eq!(status.pending, 0);
    store.master_key_check(b"check").await.unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_ended_under_a_store_are_replaced_without_an_error() {
    if skipped_on_sqlite("ended connections") {
        return;
    }
    let database = fresh_database().await;
    let store = connect(&database.url).await;
    store.migrate().await.unwrap();
    open_every_connection(&store).await;
    // As a PostgreSQL restart or failover would: every idle connection is ended, and the
    // pool notices (it checks a connection before handing it out) and opens another.
    let ended = database.terminate_connections().await;
    assert!(ended > 0, "the pool had connections open");
    for _ in 0..8 {
        store.schema_status().await.unwrap();
    }
    store.close().await;
}

/// Reads from the store several times at once, so that its pool holds several open, idle
/// connections afterwards, as on a busy node.
async fn open_every_connection(store: &Arc<dyn Store>) {
    for status in all_at_once((0..4).map(|_| {
        let store = store.clone();
        async move { store.schema_status().await }
    }))
    .await
    {
        status.unwrap();
    }
}

fn assert_unavailable(result: Result<(), StoreError>, what: &str) {
    match result {
        Err(error) if error.is_unavailable() => {}
        other => panic!("{what}: expected Unavailable, got {other:?}"),
    }
}

/// Runs the futures at the same time, each on its own task; their outputs in order.
async fn all_at_once<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}
