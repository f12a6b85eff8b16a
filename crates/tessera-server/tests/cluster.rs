//! Several `tessera serve` processes over one PostgreSQL database behave as one issuer:
//!
//! - an authorization code obtained through one node is redeemed at another, and of two nodes
//!   redeeming one code at the same moment exactly one wins;
//! - a refresh token rotated at one node and presented again at another is detected as reused,
//!   and the family is revoked everywhere;
//! - a client secret rotation, a key rotation and an issuer settings change take effect on the
//!   other node within a second, although its caches are told to trust an entry for ten
//!   minutes (`cache.ttl_seconds = 600`): only the change notice can explain it; a blocked
//!   user is refused there at once (users are never cached);
//! - a node killed with SIGKILL under load leaves the others serving, and no token family in a
//!   state its client cannot account for.
//!
//! PostgreSQL only: a SQLite database has one server (the serve lock).

#![allow(clippy::unwrap_used, clippy::panic)] // test code: a panic is a failed assertion

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_store::Backend;
use tessera_store_sql::testing::{FreshDatabase, backend, fresh_database};
use tessera_testkit::oidc::Browser;

mod support;
use support::{Server, credential_from, run};

const REDIRECT: &str = "https://app.example.com/callback";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// Cache entries trusted for ten minutes: a change seen sooner came by notice.
const CONFIG: &str = "[cache]\nttl_seconds = 600\n";

/// How soon a change made through one node must be seen by the others (issue 7).
const PROPAGATION: Duration = Duration::from_secs(1);

/// An installation of `nodes` nodes over a fresh PostgreSQL database, with a Core API token, a
/// confidential client and a user with a password in the `default` issuer.
struct Cluster {
    /// First, so the nodes are killed before their folder and database go.
    nodes: Vec<Server>,
    _dir: tempfile::TempDir,
    _database: FreshDatabase,
    token: String,
    client_id: String,
    client_secret: String,
    user_id: String,
}

impl Cluster {
    /// `None` when this run's backend is not PostgreSQL: a SQLite file has one server.
    async fn start(nodes: usize) -> Option<Self> {
        if backend() != Backend::Postgres {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tessera.toml"), CONFIG).unwrap();
        let database = fresh_database().await;
        let mut started = Vec::new();
        for _ in 0..nodes {
            started.push(Server::node(dir.path(), &database.url).await);
        }
        let made = run(
            dir.path(),
            &[
                "admin",
                "create-credential",
                "--name",
                "cluster",
                "--json",
                "--config",
                "tessera.toml",
                "--data-dir",
                "data",
                "--database-url",
                &database.url,
            ],
        )
        .await;
        assert_eq!(made.code(), Some(0), "{}", made.stderr);
        let credential = credential_from(&made.stdout, None);
        let (status, body) = post_token(
            &started[0],
            "system",
            (&credential.client_id, &credential.client_secret),
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap().to_owned();
        let mut cluster = Self {
            nodes: started,
            _dir: dir,
            _database: database,
            token,
            client_id: String::new(),
            client_secret: String::new(),
            user_id: String::new(),
        };
        let client = cluster
            .core(
                0,
                reqwest::Method::POST,
                "/clients",
                Some(json!({
                    "name": "Notes", "client_type": "confidential", "first_party": true,
                    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                    "redirect_uris": [REDIRECT],
                })),
            )
            .await;
        cluster.client_id = client["client_id"].as_str().unwrap().to_owned();
        cluster.client_secret = client["client_secret"].as_str().unwrap().to_owned();
        let user = cluster
            .core(
                0,
                reqwest::Method::POST,
                "/users",
                Some(json!({ "email": EMAIL, "password": PASSWORD, "email_verified": true })),
            )
            .await;
        cluster.user_id = user["id"].as_str().unwrap().to_owned();
        Some(cluster)
    }

    /// A Core API call on the `default` issuer through node `n`; the JSON answer, which must
    /// be a success.
    async fn core(
        &self,
        n: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let node = &self.nodes[n];
        let mut request = node
            .http
            .request(method, node.url(&format!("/core/v1/issuers/default{path}")))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    fn client(&self) -> (&str, &str) {
        (&self.client_id, &self.client_secret)
    }

    /// Signs the user in through node `n` and returns the authorization code.
    async fn code(&self, n: usize, scope: &str) -> String {
        let node = &self.nodes[n];
        let mut url = reqwest::Url::parse(&node.url("/default/oauth/authorize")).unwrap();
        url.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "s1"),
        ]);
        let base = node.url("");
        let landing = Browser::new()
            .authorize(url.as_str(), &base, EMAIL, PASSWORD)
            .await;
        match landing.param("code") {
            Some(code) => code,
            None => panic!("no code in {landing:?}\n{}", node.stderr_text()),
        }
    }

    /// Redeems `code` at node `n`.
    async fn redeem(&self, n: usize, code: &str) -> (StatusCode, Value) {
        post_token(
            &self.nodes[n],
            "default",
            self.client(),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await
    }

    /// Refreshes at node `n`.
    async fn refresh(&self, n: usize, refresh_token: &str) -> (StatusCode, Value) {
        post_token(
            &self.nodes[n],
            "default",
            self.client(),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// A refresh token, from a code obtained at node 0.
    async fn refresh_token(&self) -> String {
        let code = self.code(0, "openid offline_access").await;
        let (status, body) = self.redeem(0, &code).await;
        assert_eq!(status, 200, "{body}");
        body["refresh_token"].as_str().unwrap().to_owned()
    }
}

/// `POST /{issuer}/oauth/token` at `node` with client authentication; status and JSON body.
async fn post_token(
    node: &Server,
    issuer: &str,
    (id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = node
        .http
        .post(node.url(&format!("/{issuer}/oauth/token")))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Polls `check` every 20 ms until it holds; how long that took. Panics after ten seconds
/// (far beyond the one second the issue allows, so that a slow machine shows as a number in
/// the failure, not as a hang).
async fn time_until<F, Fut>(mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not seen within ten seconds"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn a_code_from_one_node_is_redeemed_at_another_and_a_raced_code_has_one_winner() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let code = cluster.code(0, "openid").await;
    let (status, body) = cluster.redeem(1, &code).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());
    let (status, body) = cluster.redeem(0, &code).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    for _ in 0..5 {
        let code = cluster.code(0, "openid").await;
        let (a, b) = tokio::join!(cluster.redeem(0, &code), cluster.redeem(1, &code));
        let mut statuses = [a.0.as_u16(), b.0.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400], "{a:?} {b:?}");
    }
}

#[tokio::test]
async fn a_refresh_token_reused_at_another_node_revokes_the_family_everywhere() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let first = cluster.refresh_token().await;
    let (status, body) = cluster.refresh(0, &first).await;
    assert_eq!(status, 200, "{body}");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    // The rotated-out token, presented at the other node: reuse.
    let (status, body) = cluster.refresh(1, &first).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The family is revoked for both nodes.
    for n in [0, 1] {
        let (status, body) = cluster.refresh(n, &second).await;
        assert_eq!(
            (status.as_u16(), body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
}

#[tokio::test]
async fn changes_made_through_one_node_take_effect_on_another_within_a_second() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let cluster = &cluster;
    let credentials = &[("grant_type", "client_credentials")];
    let other = &cluster.nodes[1];

    // Client secret rotation: node 1 has the client cached under its old secret.
    let (status, body) = post_token(other, "default", cluster.client(), credentials).await;
    assert_eq!(status, 200, "{body}");
    let rotated = cluster
        .core(
            0,
            reqwest::Method::POST,
            &format!("/clients/{}/rotate-secret", cluster.client_id),
            None,
        )
        .await;
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    let took = time_until(|| async {
        post_token(other, "default", cluster.client(), credentials)
            .await
            .0
            == 401
    })
    .await;
    assert!(
        took < PROPAGATION,
        "the old secret still worked after {took:?}"
    );
    let (status, body) = post_token(
        other,
        "default",
        (&cluster.client_id, &new_secret),
        credentials,
    )
    .await;
    assert_eq!(status, 200, "the new secret works there: {body}");
    let client = (cluster.client_id.as_str(), new_secret.as_str());

    // Key rotation: node 1 publishes the keys it has cached.
    let before = cluster.jwks(1).await;
    assert_eq!(before, cluster.jwks(0).await);
    cluster
        .core(0, reqwest::Method::POST, "/keys/rotate", None)
        .await;
    let rotated = &cluster.jwks(0).await;
    assert_ne!(*rotated, before, "the rotation published a new key");
    let took = time_until(move || async move { cluster.jwks(1).await == *rotated }).await;
    assert!(
        took < PROPAGATION,
        "the other node published the old keys for {took:?}"
    );

    // Issuer settings: the access-token lifetime node 1 issues with.
    let lifetime = |body: &Value| body["expires_in"].as_i64();
    let (status, body) = post_token(other, "default", client, credentials).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(lifetime(&body), Some(120));
    cluster
        .core(
            0,
            reqwest::Method::PATCH,
            "",
            Some(json!({ "settings": { "access_token_lifetime": 120 } })),
        )
        .await;
    let took = time_until(|| async {
        let (_, body) = post_token(other, "default", client, credentials).await;
        lifetime(&body) == Some(120)
    })
    .await;
    assert!(took < PROPAGATION, "the old lifetime was used for {took:?}");

    // A blocked user's refresh token is refused on the other node at once: users are read
    // from the database on every refresh, never cached.
    let refresh_token = &cluster.refresh_token_with(client).await;
    cluster
        .core(
            0,
            reqwest::Method::POST,
            &format!("/users/{}/block", cluster.user_id),
            None,
        )
        .await;
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    let (status, body) = post_token(other, "default", client, &refresh).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

impl Cluster {
    /// The JWKS node `n` publishes.
    async fn jwks(&self, n: usize) -> Value {
        let response = self.nodes[n].get("/default/.well-known/jwks.json").await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// A refresh token for `client` (after a secret rotation), from a code obtained at node 0.
    async fn refresh_token_with(&self, client: (&str, &str)) -> String {
        let code = self.code(0, "openid offline_access").await;
        let (status, body) = post_token(
            &self.nodes[0],
            "default",
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        body["refresh_token"].as_str().unwrap().to_owned()
    }
}

/// What one refreshing client saw during the load.
#[derive(Debug, Default)]
struct Chain {
    /// The newest refresh token it received.
    latest: String,
    /// Whether a request of its failed without an answer (the node died with it in flight):
    /// the rotation may then have committed unseen, and presenting the token again is reuse.
    unanswered: bool,
}

#[tokio::test]
async fn a_node_killed_under_load_leaves_the_others_serving_and_every_family_accounted_for() {
    let Some(cluster) = Cluster::start(3).await else {
        return;
    };
    const CHAINS: usize = 6;
    let mut chains = Vec::new();
    for _ in 0..CHAINS {
        chains.push(Chain {
            latest: cluster.refresh_token().await,
            unanswered: false,
        });
    }
    let cluster = Arc::new(cluster);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    // `victim` is node 2; while it lives, each chain spreads its refreshes over all three.
    let victim_dead = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (index, mut chain) in chains.into_iter().enumerate() {
        let cluster = cluster.clone();
        let (stop, served, failures, victim_dead) = (
            stop.clone(),
            served.clone(),
            failures.clone(),
            victim_dead.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut round = index;
            while !stop.load(Ordering::SeqCst) {
                round += 1;
                let n = if victim_dead.load(Ordering::SeqCst) {
                    round % 2
                } else {
                    round % 3
                };
                let node = &cluster.nodes[n];
                let sent = node
                    .http
                    .post(node.url("/default/oauth/token"))
                    .basic_auth(&cluster.client_id, Some(&cluster.client_secret))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &chain.latest),
                    ])
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == 200 => {
                        let body: Value = response.json().await.unwrap();
                        chain.latest = body["refresh_token"].as_str().unwrap().to_owned();
                        served.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(response) => {
                        let status = response.status();
                        let body = response.text().await.unwrap_or_default();
                        if !chain.unanswered {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("node {n}: {status} {body}"));
                        }
                        return chain;
                    }
                    // The victim died with this request in flight (or before it): try again.
                    Err(_) if n == 2 => chain.unanswered = true,
                    Err(error) => {
                        failures.lock().unwrap().push(format!("node {n}: {error}"));
                        return chain;
                    }
                }
            }
            chain
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_kill = served.load(Ordering::SeqCst);
    assert!(before_kill > 0, "the load is running");
    // SIGKILL node 2 (it stays in the shared cluster, dead: its address stops answering).
    cluster.nodes[2].signal("KILL");
    victim_dead.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_kill = served.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    let mut finished = Vec::new();
    for task in tasks {
        finished.push(task.await.unwrap());
    }
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "requests the survivors failed: {failures:?}"
    );
    assert!(
        after_kill > before_kill + 10,
        "the survivors kept serving ({before_kill} before the kill, {after_kill} after)"
    );

    // Every family is in a state its client can account for: its newest token works, unless
    // a request died with the victim after the rotation committed (then the retry was a reuse
    // and revoked the family, which is what reuse detection must do).
    for chain in &finished {
        let (status, body) = cluster.refresh(0, &chain.latest).await;
        if !chain.unanswered {
            assert_eq!(
                status, 200,
                "a family untouched by the kill still works: {body}"
            );
        } else {
            assert!(
                status == 200 || body["error"] == "invalid_grant",
                "a family touched by the kill: {status} {body}"
            );
        }
    }
}
