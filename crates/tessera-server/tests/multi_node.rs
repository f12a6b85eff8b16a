//! Nodes started, stopped and restarted the way an orchestrator does it (issue #7), with the
//! real `tessera serve`:
//!
//! - three nodes started at the same moment on one fresh PostgreSQL database all become
//!   ready; the schema is migrated once, the built-in issuers exist once, and every node
//!   serves the same issuer;
//! - a node told to stop drains first: `/readyz` answers 503 while it still serves requests,
//!   then it stops and exits 0; a second signal cuts the drain short;
//! - under a steady load of token requests spread over two nodes on one PostgreSQL database,
//!   stopping and restarting each node in turn loses no request that a load balancer could
//!   have retried on the other node.
//!
//! The multi-node tests need PostgreSQL (a SQLite file has one server); on SQLite they say so
//! and pass. The drain tests run on this run's backend.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)] // test code

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tessera_store::Backend;
use tessera_store_sql::testing::{backend, fresh_database, query_i64};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

mod support;
use support::{
    Credential, EXIT_TIMEOUT, NODES_PUBLIC_URL, Server, credential_from, node_args, run,
};

/// How long a node may take to show a change that the test just caused (draining, a node
/// back in rotation): generous, for a loaded machine.
const SOON: Duration = Duration::from_secs(30);

fn skipped_unless_postgres(test: &str) -> bool {
    if backend() == Backend::Postgres {
        return false;
    }
    eprintln!("{test}: several nodes need PostgreSQL (set TESSERA_TEST_POSTGRES_URL); skipped");
    true
}

/// A folder with the nodes' shared data folder (the master key) and configuration.
fn installation(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tessera.toml"), config).unwrap();
    dir
}

/// A Core API credential of the installation, made by the CLI.
async fn credential(dir: &Path, database_url: &str) -> Credential {
    let mut args = vec!["admin", "create-credential", "--name", "load", "--json"];
    args.extend(&node_args(database_url)[..6]);
    let made = run(dir, &args).await;
    assert_eq!(made.code(), Some(0), "{}", made.stderr);
    credential_from(&made.stdout, None)
}

/// A client-credentials token request to `node`.
async fn token_request(node: &Server, credential: &Credential) -> reqwest::Response {
    node.http
        .post(node.url("/system/oauth/token"))
        .basic_auth(&credential.client_id, Some(&credential.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

/// Waits until `node`'s `/readyz` says it is draining; fails after [`SOON`].
async fn wait_until_draining(node: &Server) {
    let deadline = Instant::now() + SOON;
    loop {
        let response = node.get("/readyz").await;
        if response.status() == 503 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body,
                json!({ "status": "not_ready", "reason": "draining" }),
                "a draining node says why it is not ready"
            );
            return;
        }
        assert_eq!(response.status(), 200);
        assert!(
            Instant::now() < deadline,
            "/readyz did not report draining within {SOON:?} of the signal:\n{}",
            node.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Concurrent start
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_started_at_once_on_a_fresh_database_serve_one_installation() {
    if skipped_unless_postgres("concurrent start") {
        return;
    }
    let database = fresh_database().await;
    let dir = installation("");
    // Each start spawns its process when first polled: the three race through migrations,
    // the master-key check and the built-in issuers.
    let (first, second, third) = tokio::join!(
        Server::node(dir.path(), &database.url),
        Server::node(dir.path(), &database.url),
        Server::node(dir.path(), &database.url),
    );
    let nodes = [first, second, third];

    let mut versions = Vec::new();
    for node in &nodes {
        let ready = node.ready().await;
        assert_eq!(ready["status"], "ready", "{ready}");
        versions.push(ready["schema_version"].as_i64().unwrap());
    }
    assert!(versions.iter().all(|v| *v == versions[0]), "{versions:?}");
    let count = |sql: &'static str| query_i64(&database.url, sql);
    // Migrations are numbered 1, 2, …: each recorded once, every one of them.
    assert_eq!(
        count("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").await,
        versions[0]
    );
    assert_eq!(count("SELECT COUNT(*) FROM installation").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM issuers").await, 2);
    assert_eq!(
        count("SELECT COUNT(*) FROM issuers WHERE slug IN ('system', 'default')").await,
        2
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM events WHERE event_type = 'issuer.created'").await,
        2,
        "one creation event per built-in issuer"
    );
    let created: usize = nodes
        .iter()
        .map(|node| {
            node.stderr_text()
                .matches("created built-in issuer")
                .count()
        })
        .sum();
    assert_eq!(created, 2, "each built-in issuer was created by one node");

    for slug in ["system", "default"] {
        let path = format!("/{slug}/.well-known/openid-configuration");
        let mut documents = Vec::new();
        for node in &nodes {
            let response = node.get(&path).await;
            assert_eq!(response.status(), 200, "{path}");
            documents.push(response.json::<Value>().await.unwrap());
        }
        assert_eq!(documents[0]["issuer"], format!("{NODES_PUBLIC_URL}/{slug}"));
        assert!(
            documents.iter().all(|d| *d == documents[0]),
            "every node serves the same {slug} issuer: {documents:#?}"
        );

        // The issuer's keys are made on first use: asked at once, the nodes make them at once,
        // and one set must win, or each node would sign with keys the others do not publish.
        let path = format!("/{slug}/.well-known/jwks.json");
        let (first, second, third) = tokio::join!(
            nodes[0].get(&path),
            nodes[1].get(&path),
            nodes[2].get(&path)
        );
        let mut sets = Vec::new();
        for response in [first, second, third] {
            assert_eq!(response.status(), 200, "{path}");
            sets.push(response.json::<Value>().await.unwrap());
        }
        assert!(
            sets.iter().all(|set| *set == sets[0]),
            "every node publishes the same {slug} keys: {sets:#?}"
        );
    }
    // Per issuer, a current and a next key of ES256 (the default) and of RS256 (OIDC
    // Discovery's required ID-token algorithm).
    assert_eq!(
        count("SELECT COUNT(*) FROM signing_keys").await,
        8,
        "one set of keys per issuer"
    );
}

// ---------------------------------------------------------------------------------------
// Draining
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_node_drains_while_still_serving_then_exits_cleanly() {
    let database = fresh_database().await;
    let drain = Duration::from_secs(8);
    let dir = installation(&format!("[http]\ndrain_seconds = {}\n", drain.as_secs()));
    let mut node = Server::node(dir.path(), &database.url).await;
    let credential = credential(dir.path(), &database.url).await;
    let response = token_request(&node, &credential).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("connection").is_none());

    node.signal("TERM");
    wait_until_draining(&node).await;
    // Out of rotation, but whatever the balancer still sends gets an answer, with a request
    // to close the connection so that the next one goes elsewhere.
    let response = token_request(&node, &credential).await;
    assert_eq!(response.status(), 200, "{}", node.stderr_text());
    assert_eq!(response.headers()["connection"], "close");
    let token: Value = response.json().await.unwrap();
    assert!(token["access_token"].is_string(), "{token}");
    assert_eq!(node.get("/healthz").await.status(), 200, "still alive");

    let status = node.exited(drain + EXIT_TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "{}", node.stderr_text());
    assert!(node.stderr_text().contains("draining"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_cuts_the_drain_short() {
    let database = fresh_database().await;
    let dir = installation("[http]\ndrain_seconds = 300\n");
    let mut node = Server::node(dir.path(), &database.url).await;
    node.signal("TERM");
    wait_until_draining(&node).await;
    node.signal("INT");
    // Far less than the 300 s drain.
    let status = node.exited(EXIT_TIMEOUT).await;
    assert_eq!(status.code(), Some(0), "{}", node.stderr_text());
    assert!(node.stderr_text().contains("second signal"));
}

// ---------------------------------------------------------------------------------------
// Rolling restart under load
// ---------------------------------------------------------------------------------------

/// What a load balancer sees of one request sent to one node.
#[derive(Debug)]
enum Attempt {
    /// A complete response.
    Answered { status: u16, body: String },
    /// Not one byte of a response: the connection could not be made, or it was closed or
    /// reset before the node answered. A load balancer retries these on another node.
    Unanswered(String),
    /// A response cut short, or none within the timeout: not retryable, so lost.
    Broken(String),
}

/// Sends `request` to `address` over the kept-alive `connection` (opening one if there is
/// none), as a load balancer's connection pool does, and reads one response.
async fn attempt(
    connection: &mut Option<TcpStream>,
    address: SocketAddr,
    request: &[u8],
) -> Attempt {
    let stream = match connection {
        Some(stream) => stream,
        None => {
            match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(address)).await {
                Ok(Ok(stream)) => connection.insert(stream),
                Ok(Err(error)) => return Attempt::Unanswered(format!("connect: {error}")),
                Err(_) => return Attempt::Unanswered("connect timed out".to_owned()),
            }
        }
    };
    if let Err(error) = stream.write_all(request).await {
        *connection = None;
        return Attempt::Unanswered(format!("write: {error}"));
    }
    let read = tokio::time::timeout(Duration::from_secs(10), read_response(stream)).await;
    let (outcome, keep) =
        read.unwrap_or_else(|_| (Attempt::Broken("no response within 10 s".to_owned()), false));
    if !keep {
        *connection = None;
    }
    outcome
}

/// Reads one HTTP/1.1 response with a `Content-Length`; whether the connection may be used
/// again.
async fn read_response(stream: &mut TcpStream) -> (Attempt, bool) {
    let mut received = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) if received.is_empty() => {
                return (Attempt::Unanswered("closed before answering".into()), false);
            }
            Err(error) if received.is_empty() => {
                return (Attempt::Unanswered(format!("read: {error}")), false);
            }
            Ok(0) => return (Attempt::Broken("closed mid-response".into()), false),
            Err(error) => return (Attempt::Broken(format!("mid-response: {error}")), false),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    let header = |name: &str| {
        head.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    let (Some(status), Some(length)) = (
        status,
        header("content-length").and_then(|l| l.parse::<usize>().ok()),
    ) else {
        return (
            Attempt::Broken(format!("unexpected response: {head}")),
            false,
        );
    };
    while received.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) => return (Attempt::Broken("closed mid-body".into()), false),
            Err(error) => return (Attempt::Broken(format!("mid-body: {error}")), false),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&received[head_end..]).into_owned();
    let keep = header("connection") != Some("close");
    (Attempt::Answered { status, body }, keep)
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    /// Tokens issued, by node.
    served: [AtomicU64; 2],
    /// Attempts that a load balancer would retry elsewhere.
    retried: AtomicU64,
    /// Requests that no node answered with a token, and why.
    lost: Mutex<Vec<String>>,
}

impl Tally {
    fn served(&self, node: usize) -> u64 {
        self.served[node].load(Ordering::Relaxed)
    }

    fn lose(&self, why: String) {
        self.lost.lock().unwrap().push(why);
    }

    /// Waits until `node` has issued `more` tokens than `from`; fails after [`SOON`].
    async fn wait_for(&self, node: usize, from: u64, more: u64, what: &str) {
        let deadline = Instant::now() + SOON;
        while self.served(node) < from + more {
            assert!(
                Instant::now() < deadline,
                "{what}: node {node} issued {} tokens in {SOON:?}, expected {more}; lost: {:?}",
                self.served(node) - from,
                self.lost.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The raw bytes of a client-credentials token request.
fn raw_token_request(credential: &Credential) -> Vec<u8> {
    // reqwest makes the Basic credentials; the request itself is written by hand so that the
    // test sees exactly when the connection broke.
    let built = reqwest::Client::new()
        .post("http://localhost/")
        .basic_auth(&credential.client_id, Some(&credential.client_secret))
        .build()
        .unwrap();
    let authorization = built.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = "grant_type=client_credentials";
    format!(
        "POST /system/oauth/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: {authorization}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One client of the load: requests alternate between the nodes; one that a node left
/// unanswered is retried on the other, as a load balancer does, a few times at most.
async fn load(
    first: usize,
    nodes: Arc<Mutex<[SocketAddr; 2]>>,
    request: Arc<Vec<u8>>,
    tally: Arc<Tally>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut connections: [Option<TcpStream>; 2] = [None, None];
    let mut next = first;
    while !*stop.borrow() {
        let preferred = next % 2;
        next += 1;
        let mut unanswered = Vec::new();
        for hop in 0..4 {
            let node = (preferred + hop) % 2;
            let address = nodes.lock().unwrap()[node];
            match attempt(&mut connections[node], address, &request).await {
                Attempt::Answered { status: 200, body } if body.contains("access_token") => {
                    tally.served[node].fetch_add(1, Ordering::Relaxed);
                    unanswered.clear();
                    break;
                }
                Attempt::Answered { status, body } => {
                    tally.lose(format!("node {node} answered {status}: {body}"));
                    unanswered.clear();
                    break;
                }
                Attempt::Broken(why) => {
                    tally.lose(format!("node {node}: {why}"));
                    unanswered.clear();
                    break;
                }
                Attempt::Unanswered(why) => {
                    tally.retried.fetch_add(1, Ordering::Relaxed);
                    unanswered.push(format!("node {node}: {why}"));
                }
            }
        }
        if !unanswered.is_empty() {
            tally.lose(format!("no node answered: {unanswered:?}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_loses_no_request_a_balancer_can_retry() {
    if skipped_unless_postgres("rolling restart") {
        return;
    }
    let database = fresh_database().await;
    let dir = installation("");
    let mut a = Server::node(dir.path(), &database.url).await;
    let mut b = Server::node(dir.path(), &database.url).await;
    let credential = credential(dir.path(), &database.url).await;
    for node in [&a, &b] {
        assert_eq!(token_request(node, &credential).await.status(), 200);
    }

    let nodes = Arc::new(Mutex::new([a.address, b.address]));
    let request = Arc::new(raw_token_request(&credential));
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let clients: Vec<_> = (0..4)
        .map(|first| {
            tokio::spawn(load(
                first,
                nodes.clone(),
                request.clone(),
                tally.clone(),
                stopped.clone(),
            ))
        })
        .collect();
    tally.wait_for(0, 0, 50, "steady load").await;
    tally.wait_for(1, 0, 50, "steady load").await;

    for (index, node) in [(0, &mut a), (1, &mut b)] {
        let other = 1 - index;
        let before = tally.served(index);
        node.signal("TERM");
        let status = node.exited(EXIT_TIMEOUT).await;
        assert_eq!(status.code(), Some(0), "{}", node.stderr_text());
        assert!(
            node.stderr_text().contains("draining"),
            "{}",
            node.stderr_text()
        );
        assert!(
            tally.served(index) > before,
            "node {index} kept serving while it drained"
        );
        // Down: its requests are refused at once and go to the other node.
        tally
            .wait_for(other, tally.served(other), 50, "one node down")
            .await;
        *node = Server::node(dir.path(), &database.url).await;
        nodes.lock().unwrap()[index] = node.address;
        tally
            .wait_for(
                index,
                tally.served(index),
                50,
                "restarted node back in rotation",
            )
            .await;
    }

    stop.send(true).unwrap();
    for client in clients {
        client.await.unwrap();
    }
    let lost = tally.lost.lock().unwrap().clone();
    eprintln!(
        "rolling restart: {} + {} tokens issued, {} attempts retried on the other node, {} lost",
        tally.served(0),
        tally.served(1),
        tally.retried.load(Ordering::Relaxed),
        lost.len()
    );
    assert!(lost.is_empty(), "{} requests lost: {lost:#?}", lost.len());
    drop((a, b));
}
