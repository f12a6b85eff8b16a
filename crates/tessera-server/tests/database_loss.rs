//! A node whose PostgreSQL database goes away under it (issue #7). The database is made
//! unreachable without restarting the PostgreSQL server, which other tests share: it stops
//! accepting connections and every open one is ended (`FreshDatabase::cut_connections`).
//!
//! - While it is gone, the token endpoint answers 503 `temporarily_unavailable` and the Core
//!   API a 503 problem, both with `Retry-After`; `/readyz` answers 503 within seconds. Once
//!   it is back, the node recovers by itself: `/readyz` 200, tokens issued again, and the
//!   refresh token refused during the outage still works (a refusal spends nothing).
//! - While connections are ended again and again under a run of refresh-token requests,
//!   each request either rotates the token or answers 503, and the newest token still works
//!   afterwards: no half-issued token, no revoked family.
//!
//! PostgreSQL only; on SQLite the tests say so and pass.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)] // test code

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_store::Backend;
use tessera_store_sql::testing::backend;
use tessera_testkit::TestApp;
use tessera_testkit::oidc::{Browser, RegisteredClient};
use tokio::time::Instant;

const REDIRECT: &str = "https://notes.example.com/callback";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// Longest any one request may take, database gone or not: a request that waits longer
/// hangs, and that is a failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

fn skipped_unless_postgres(test: &str) -> bool {
    if backend() == Backend::Postgres {
        return false;
    }
    eprintln!("{test}: needs PostgreSQL (set TESSERA_TEST_POSTGRES_URL); skipped on SQLite");
    true
}

/// A node, a confidential client and Ada's refresh token, from the real authorization flow.
struct Setup {
    app: TestApp,
    client: RegisteredClient,
    refresh_token: String,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    app.create_user("default", EMAIL, PASSWORD).await;
    let client = app
        .register_client(
            "default",
            json!({
                "name": "Notes", "client_type": "confidential", "first_party": true,
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [REDIRECT],
            }),
        )
        .await;
    let mut authorize =
        reqwest::Url::parse(&format!("{}/oauth/authorize", app.issuer_url("default"))).unwrap();
    authorize.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid offline_access"),
        ("state", "s1"),
    ]);
    let landing = Browser::new()
        .authorize(authorize.as_str(), app.core().public_url(), EMAIL, PASSWORD)
        .await;
    let code = landing
        .param("code")
        .unwrap_or_else(|| panic!("{landing:?}"));
    let mut setup = Setup {
        app,
        client,
        refresh_token: String::new(),
    };
    let (status, _, tokens) = token_request(
        &setup,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    setup.refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    setup
}

/// A token request by the client: status, headers and JSON body.
async fn token_request(
    s: &Setup,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = tokio::time::timeout(
        REQUEST_TIMEOUT,
        s.app
            .client
            .post(format!("{}/default/oauth/token", s.app.base_url))
            .basic_auth(&s.client.id, s.client.secret.as_deref())
            .form(form)
            .send(),
    )
    .await
    .expect("the token endpoint answers without hanging")
    .expect("the token endpoint answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

async fn refresh(s: &Setup, token: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    token_request(
        s,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

/// Asserts the token endpoint's answer for a lost database (RFC 6749 §5.2 has no code for
/// it; `temporarily_unavailable` is §4.1.2.1's, and the 503 says to come back).
fn assert_temporarily_unavailable(status: u16, headers: &reqwest::header::HeaderMap, body: &Value) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(headers.contains_key("retry-after"), "{headers:?}");
    assert_eq!(headers["cache-control"], "no-store");
}

/// `GET /readyz`: status and JSON body, within [`REQUEST_TIMEOUT`].
async fn readyz(app: &TestApp) -> (u16, Value) {
    let response = tokio::time::timeout(REQUEST_TIMEOUT, app.get("/readyz"))
        .await
        .expect("/readyz answers without hanging");
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Polls `/readyz` until it answers `status`; fails after `within`.
async fn wait_for_readyz(app: &TestApp, status: u16, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (now, body) = readyz(app).await;
        if now == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz still answers {now} ({body}) after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_loses_its_database_answers_503_and_recovers_by_itself() {
    if skipped_unless_postgres("database loss") {
        return;
    }
    let s = setup().await;
    let core_token = s.app.core_api_token(&[]).await;
    assert_eq!(readyz(&s.app).await.0, 200);

    s.app.database().cut_connections().await;

    let (status, headers, body) = refresh(&s, &s.refresh_token).await;
    assert_temporarily_unavailable(status, &headers, &body);

    let response = tokio::time::timeout(
        REQUEST_TIMEOUT,
        s.app
            .core_request(Method::GET, "/core/v1/issuers", &core_token)
            .send(),
    )
    .await
    .expect("the Core API answers without hanging")
    .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 503, "{problem}");

    let not_ready = wait_for_readyz(&s.app, 503, Duration::from_secs(5)).await;
    assert_eq!(
        not_ready,
        json!({ "status": "not_ready", "reason": "database unreachable" })
    );

    s.app.database().restore_connections().await;
    // No restart: the same node, its pool reconnecting on its own.
    let ready = wait_for_readyz(&s.app, 200, Duration::from_secs(30)).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    let (status, _, tokens) = refresh(&s, &s.refresh_token).await;
    assert_eq!(
        status, 200,
        "the token refused during the outage is still good: {tokens}"
    );
    let successor = tokens["refresh_token"].as_str().unwrap();
    assert_ne!(successor, s.refresh_token);
    let (status, _, tokens) = refresh(&s, successor).await;
    assert_eq!(status, 200, "{tokens}");
    let response = s
        .app
        .core_request(Method::GET, "/core/v1/issuers", &core_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_under_ended_connections_rotate_or_answer_503_and_the_family_survives() {
    if skipped_unless_postgres("connections ended under refreshes") {
        return;
    }
    let s = setup().await;
    let (done, mut finished) = tokio::sync::watch::channel(false);
    let database = s.app.database();

    // Ends every connection of the node's database again and again, as a flapping network
    // or a PostgreSQL restart would, until the refreshes are done.
    let terminator = async {
        let mut ended = 0;
        loop {
            ended += database.terminate_connections().await;
            tokio::select! {
                _ = finished.wait_for(|done| *done) => return ended,
                () = tokio::time::sleep(Duration::from_millis(7)) => {}
            }
        }
    };
    let refreshes = async {
        let mut newest = s.refresh_token.clone();
        let (mut rotated, mut unavailable) = (0, 0);
        for n in 0..150 {
            let (status, headers, body) = refresh(&s, &newest).await;
            match status {
                200 => {
                    newest = body["refresh_token"].as_str().unwrap().to_owned();
                    rotated += 1;
                }
                503 => {
                    assert_temporarily_unavailable(status, &headers, &body);
                    unavailable += 1;
                }
                _ => panic!("refresh {n}: {status} {body}"),
            }
        }
        done.send(true).unwrap();
        (newest, rotated, unavailable)
    };
    let (ended, (newest, rotated, unavailable)) = tokio::join!(terminator, refreshes);
    eprintln!("{rotated} refreshes rotated, {unavailable} answered 503, {ended} connections ended");
    assert!(ended > 0, "connections were ended under the refreshes");
    assert!(rotated > 0, "refreshes still succeeded between the losses");
    assert!(
        unavailable > 0,
        "a loss landed during a refresh (the case this test exists for)"
    );

    let (status, _, tokens) = refresh(&s, &newest).await;
    assert_eq!(
        status, 200,
        "the newest refresh token works: its family survived: {tokens}"
    );
}
