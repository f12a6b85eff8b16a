//! Webhook delivery across process deaths and across nodes, with the real `tessera serve`
//! processes on this run's backend and a real receiver:
//!
//! - the receiver is down, so events queue; it comes up holding requests, and the node is
//!   killed with SIGKILL in the middle of a delivery; after a restart every event arrives
//!   (duplicates allowed, losses not), on SQLite and PostgreSQL;
//! - two nodes on one PostgreSQL deliver each event once: every attempt succeeds, so each
//!   event arrives exactly once although both nodes claim from the same queue.

#![allow(clippy::unwrap_used, clippy::panic)] // test code: a panic is a failed assertion

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tessera_store::Backend;
use tessera_store_sql::testing::{backend, fresh_database};
use tessera_testkit::receiver::{Receiver, Reply};

mod support;
use support::{Server, credential_from, run};

/// How long every queued event may take to arrive once the receiver accepts them: the lease
/// of a killed node's claims (12 s here) and a few one-second retries.
const ARRIVAL: Duration = Duration::from_secs(90);

/// Fast retries and a short lease, so that the test does not wait through a real backoff.
const CONFIG: &str = "[webhooks]\nallow_private_targets = true\nlease_seconds = 12\n\
                      retry_schedule_seconds = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, \
                      1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, \
                      1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";

/// A Core API token for the installation in `dir`, from a credential made by the CLI.
async fn core_token(dir: &Path, database_url: &str, node: &Server) -> String {
    let made = run(
        dir,
        &[
            "admin",
            "create-credential",
            "--name",
            "durability",
            "--json",
            "--config",
            "tessera.toml",
            "--data-dir",
            "data",
            "--database-url",
            database_url,
        ],
    )
    .await;
    assert_eq!(made.code(), Some(0), "{}", made.stderr);
    let credential = credential_from(&made.stdout, None);
    let token: Value = node
        .http
        .post(node.url("/system/oauth/token"))
        .basic_auth(&credential.client_id, Some(&credential.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

/// `POST {node}/core/v1/issuers/default{path}` with `body`; the JSON answer, after checking
/// the status is 201.
async fn create(node: &Server, token: &str, path: &str, body: Value) -> Value {
    let response = node
        .http
        .post(node.url(&format!("/core/v1/issuers/default{path}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{path}");
    response.json().await.unwrap()
}

/// The ids of the `user.created` events of the default issuer.
async fn user_events(node: &Server, token: &str) -> BTreeSet<String> {
    let page: Value = node
        .http
        .get(node.url("/core/v1/issuers/default/events?type=user.created&limit=200"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A folder with the nodes' shared configuration.
fn installation() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tessera.toml"), CONFIG).unwrap();
    dir
}

/// Waits until `receiver` got every event of `expected` at least once in the requests from
/// index `from` on; returns how often each arrived there.
async fn arrivals(
    receiver: &Receiver,
    from: usize,
    expected: &BTreeSet<String>,
) -> BTreeMap<String, usize> {
    let deadline = tokio::time::Instant::now() + ARRIVAL;
    loop {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for request in receiver.received().iter().skip(from) {
            *seen
                .entry(request.header("webhook-id").unwrap().to_owned())
                .or_default() += 1;
        }
        if expected.iter().all(|id| seen.contains_key(id)) {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every event arrived: {} of {}",
            expected.iter().filter(|id| seen.contains_key(*id)).count(),
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_queued_while_the_receiver_is_down_all_arrive_after_a_sigkill_mid_delivery() {
    let database = fresh_database().await;
    let dir = installation();
    let node = Server::node(dir.path(), &database.url).await;
    let token = core_token(dir.path(), &database.url, &node).await;
    // A port where nothing listens (yet): taken by the receiver, then let go.
    let receiver_port = Receiver::start().await.address.port();
    create(
        &node,
        &token,
        "/webhooks",
        json!({
            "url": format!("http://127.0.0.1:{receiver_port}/hook"),
            "event_types": ["user.*"],
        }),
    )
    .await;
    // The receiver is down: these events queue, their attempts refused.
    for n in 0..10 {
        create(
            &node,
            &token,
            "/users",
            json!({ "email": format!("user{n}@example.com") }),
        )
        .await;
    }
    let expected = user_events(&node, &token).await;
    assert_eq!(expected.len(), 10);

    // It comes up, but holds every request: the node is mid-delivery when it is killed.
    let receiver = Receiver::start_on(receiver_port).await;
    receiver.otherwise(Reply::Slow(200, Duration::from_secs(60)));
    let held = receiver.wait_for(1, Duration::from_secs(30)).await;
    assert!(!held.is_empty(), "no attempt reached the receiver");
    node.kill().await;
    let before_restart = receiver.received().len();
    receiver.otherwise(Reply::Status(204));

    let node = Server::node(dir.path(), &database.url).await;
    let seen = arrivals(&receiver, before_restart, &expected).await;
    assert!(
        seen.keys().all(|id| expected.contains(id)),
        "only the queued events"
    );
    // Duplicates are allowed (at least once), losses are not: every event arrived above.
    drop(node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgresql_deliver_each_event_once() {
    if backend() != Backend::Postgres {
        // Several nodes share a PostgreSQL database; a SQLite file has one server.
        return;
    }
    let database = fresh_database().await;
    let dir = installation();
    let receiver = Receiver::start().await;
    let first = Server::node(dir.path(), &database.url).await;
    let second = Server::node(dir.path(), &database.url).await;
    let token = core_token(dir.path(), &database.url, &first).await;
    create(
        &first,
        &token,
        "/webhooks",
        json!({ "url": receiver.url("/hook"), "event_types": ["user.*"] }),
    )
    .await;
    for n in 0..40 {
        // Both nodes take writes, as behind a load balancer.
        let node = if n % 2 == 0 { &first } else { &second };
        create(
            node,
            &token,
            "/users",
            json!({ "email": format!("user{n}@example.com") }),
        )
        .await;
    }
    let expected = user_events(&first, &token).await;
    assert_eq!(expected.len(), 40);
    arrivals(&receiver, 0, &expected).await;
    // Both nodes poll every second: give a duplicate time to show.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = arrivals(&receiver, 0, &expected).await;
    let repeated: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        repeated.is_empty(),
        "delivered more than once: {repeated:?}"
    );
    assert_eq!(receiver.received().len(), 40);
    drop((first, second));
}
