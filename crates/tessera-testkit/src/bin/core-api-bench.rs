//! A load driver for the Core API's user endpoints (issue 3's benchmark).
//!
//! It starts a real Tessera in this process with [`TestApp::spawn`] — on SQLite, or on
//! PostgreSQL when `TESSERA_TEST_POSTGRES_URL` is set — gets a Core API token, and measures:
//!
//! 1. **Seeding**: `--users N` users (default 10,000) without passwords created directly
//!    through `Core::create_user` by 8 tasks, to fill the `default` issuer quickly.
//! 2. **Listing**: all of them read back over HTTP, page by page
//!    (`GET /core/v1/issuers/default/users?limit=200&cursor=…`, following `next_cursor`),
//!    checking that exactly N distinct ids come back; total time and per-page p50/p99.
//! 3. **Creation over HTTP**: `--password-users M` users (default 200) created with
//!    `POST /core/v1/issuers/default/users` by `--concurrency C` clients (default 16), once
//!    with a 20-character password (an argon2id hash each) and once without, so the cost of
//!    the hash shows; users per second and per-request p50/p99.
//! 4. **Events and webhooks** (issue 6): `--webhook-users W` users (default 2,000) created over
//!    HTTP without a password, each writing one `user.created` event, first with no webhook
//!    subscribed, then with one subscribed to `user.*` at a receiver in this process (answering
//!    204), so the fan-out's cost on the write shows; then how fast the worker delivers those
//!    events (W over the time from the first creation to the last arrival); and client
//!    credentials tokens for `--token-seconds` seconds with and without the webhook
//!    subscribed (token issuance writes no event, so the two should match).
//!
//! It prints a Markdown table with the backend and the CPU count. Run it in release mode:
//!
//! ```text
//! cargo run --release -p tessera-testkit --bin core-api-bench -- --users 10000
//! TESSERA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p tessera-testkit --bin core-api-bench -- --users 10000
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)] // the report is the output

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_core::users::NewUser;
use tessera_model::Actor;
use tessera_testkit::TestApp;
use tessera_testkit::receiver::{Receiver, Reply};

/// Tasks that seed users through the core.
const SEED_TASKS: usize = 8;
/// Users per listed page.
const PAGE_LIMIT: usize = 200;

/// Measures the Core API's user endpoints on a fresh in-process Tessera.
#[derive(Parser, Debug, Clone)]
struct Args {
    /// Users to seed (without passwords) and then list page by page.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Users to create over HTTP, once with and once without a password.
    #[arg(long, default_value_t = 200)]
    password_users: usize,
    /// Concurrent HTTP clients for the creation phases.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Users (so events) created over HTTP for each webhook phase; 0 skips them.
    #[arg(long, default_value_t = 2000)]
    webhook_users: usize,
    /// Seconds of client-credentials load for each token phase.
    #[arg(long, default_value_t = 5)]
    token_seconds: u64,
}

/// One measured phase: a row of the table.
struct Row {
    phase: String,
    count: usize,
    concurrency: usize,
    total: Duration,
    /// Per-operation latencies, when measured.
    latencies: Vec<Duration>,
}

impl Row {
    fn rate(&self) -> f64 {
        self.count as f64 / self.total.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Option<Duration> {
        percentile(&self.latencies, p)
    }
}

/// The nearest-rank percentile `p` (0–100) of `samples`.
fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(
        || "–".to_owned(),
        |d| format!("{:.1}", d.as_secs_f64() * 1e3),
    )
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let backend = tessera_store_sql::testing::backend().as_str();
    eprintln!("core-api-bench: backend {backend}, {cpus} CPUs, {args:?}");

    let app = Arc::new(
        TestApp::spawn_with(|config| {
            // The webhook phases deliver to a receiver on loopback.
            config.webhooks.allow_private_targets = true;
        })
        .await,
    );
    let token = Arc::new(app.core_api_token(&[]).await);
    let mut rows = Vec::new();

    rows.push(seed(&app, args.users).await);
    rows.push(list(&app, &token, args.users).await);
    for with_password in [true, false] {
        rows.push(
            create_over_http(
                &app,
                &token,
                args.password_users,
                args.concurrency,
                with_password,
            )
            .await,
        );
    }

    if args.webhook_users > 0 {
        rows.extend(webhook_phases(&app, &token, &args).await);
    }

    println!("Backend: **{backend}**, CPUs: **{cpus}**\n");
    println!("| Phase | Count | Concurrency | Total (s) | Rate (/s) | p50 (ms) | p99 (ms) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {:.2} | {:.1} | {} | {} |",
            row.phase,
            row.count,
            row.concurrency,
            row.total.as_secs_f64(),
            row.rate(),
            ms(row.percentile(50.0)),
            ms(row.percentile(99.0)),
        );
    }
}

/// Creates `users` users without passwords through the core, `SEED_TASKS` at a time.
async fn seed(app: &Arc<TestApp>, users: usize) -> Row {
    let issuer = app
        .core()
        .ensure_builtin_issuers()
        .await
        .expect("the built-in issuers")
        .default;
    let issuer = Arc::new(issuer);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..SEED_TASKS {
        let (app, issuer, next) = (app.clone(), issuer.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= users {
                    break;
                }
                let user = NewUser {
                    email: format!("seed{i:07}@example.com"),
                    ..NewUser::default()
                };
                app.core()
                    .create_user(&issuer, user, Actor::System)
                    .await
                    .expect("seed a user");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a seeding task");
    }
    Row {
        phase: "Seed users (core, no password)".to_owned(),
        count: users,
        concurrency: SEED_TASKS,
        total: started.elapsed(),
        latencies: Vec::new(),
    }
}

/// Lists every user of `default` over HTTP and checks there are exactly `expected`.
async fn list(app: &TestApp, token: &str, expected: usize) -> Row {
    let mut ids = HashSet::new();
    let mut latencies = Vec::new();
    let mut cursor: Option<String> = None;
    let started = Instant::now();
    loop {
        let path = match &cursor {
            None => format!("/core/v1/issuers/default/users?limit={PAGE_LIMIT}"),
            Some(c) => format!("/core/v1/issuers/default/users?limit={PAGE_LIMIT}&cursor={c}"),
        };
        let page_started = Instant::now();
        let response = app
            .core_request(Method::GET, &path, token)
            .send()
            .await
            .expect("the list request reaches the server");
        assert_eq!(response.status(), 200, "list status");
        let page: Value = response.json().await.expect("a JSON page");
        latencies.push(page_started.elapsed());
        for item in page["items"].as_array().expect("items") {
            ids.insert(item["id"].as_str().expect("a user id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let total = started.elapsed();
    assert_eq!(ids.len(), expected, "distinct users listed");
    Row {
        phase: format!(
            "List users over HTTP ({} pages of {PAGE_LIMIT})",
            latencies.len()
        ),
        count: ids.len(),
        concurrency: 1,
        total,
        latencies,
    }
}

/// Phase 4: user creation (so event writes) without and with a subscribed webhook, the
/// delivery of those events, and token issuance without and with the webhook.
async fn webhook_phases(app: &Arc<TestApp>, token: &Arc<String>, args: &Args) -> Vec<Row> {
    let registered = app
        .register_client(
            "default",
            json!({
                "name": "Bench", "client_type": "confidential",
                "grant_types": ["client_credentials"]
            }),
        )
        .await;
    let client = (
        registered.id,
        registered.secret.expect("a confidential client's secret"),
    );
    // The issuer's first token makes its signing keys (an RSA key among them): not measured.
    let warm_up = Args {
        token_seconds: 1,
        concurrency: 1,
        ..args.clone()
    };
    tokens(app, &client, &warm_up, "warm-up").await;
    let mut rows = Vec::new();
    let mut quiet = create_over_http(app, token, args.webhook_users, args.concurrency, false).await;
    quiet.phase = "Events: create users, no webhook subscribed".to_owned();
    rows.push(quiet);
    rows.push(tokens(app, &client, args, "no webhook subscribed").await);

    let receiver = Receiver::start().await;
    receiver.otherwise(Reply::Status(204));
    let response = app
        .core_request(Method::POST, "/core/v1/issuers/default/webhooks", token)
        .json(&json!({"url": receiver.url("/hook"), "event_types": ["user.*"]}))
        .send()
        .await
        .expect("the webhook request reaches the server");
    assert_eq!(response.status(), 201, "webhook status");
    let started = Instant::now();
    let mut loud = create_over_http(app, token, args.webhook_users, args.concurrency, false).await;
    loud.phase = "Events: create users, one webhook subscribed (fan-out)".to_owned();
    rows.push(loud);
    let delivered = receiver
        .wait_for(args.webhook_users, Duration::from_secs(600))
        .await;
    assert_eq!(delivered.len(), args.webhook_users, "every event delivered");
    rows.push(Row {
        phase: "Webhook deliveries to a local receiver (first creation to last arrival)".to_owned(),
        count: delivered.len(),
        concurrency: tessera_webhooks::DispatcherConfig::default().concurrency,
        total: started.elapsed(),
        latencies: Vec::new(),
    });
    rows.push(tokens(app, &client, args, "one webhook subscribed").await);
    rows
}

/// Client-credentials tokens for `args.token_seconds`, `args.concurrency` clients at once.
async fn tokens(app: &Arc<TestApp>, client: &(String, String), args: &Args, label: &str) -> Row {
    let url = format!("{}/default/oauth/token", app.base_url);
    let until = Instant::now() + Duration::from_secs(args.token_seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency.max(1) {
        let (http, url, client) = (app.client.clone(), url.clone(), client.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let request_started = Instant::now();
                let response = http
                    .post(&url)
                    .basic_auth(&client.0, Some(&client.1))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .expect("the token request reaches the server");
                let status = response.status();
                let _ = response.bytes().await.expect("a response body");
                latencies.push(request_started.elapsed());
                assert_eq!(status, 200, "token status");
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.expect("a token task"));
    }
    Row {
        phase: format!("Client-credentials tokens, {label}"),
        count: latencies.len(),
        concurrency: args.concurrency,
        total: started.elapsed(),
        latencies,
    }
}

/// Creates `users` users over HTTP, `concurrency` requests at a time.
async fn create_over_http(
    app: &Arc<TestApp>,
    token: &Arc<String>,
    users: usize,
    concurrency: usize,
    with_password: bool,
) -> Row {
    static ROUND: AtomicUsize = AtomicUsize::new(0);
    let round = ROUND.fetch_add(1, Ordering::Relaxed);
    let prefix: Arc<str> = if with_password {
        format!("pw{round}-").into()
    } else {
        format!("nopw{round}-").into()
    };
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (app, token, next) = (app.clone(), token.clone(), next.clone());
        let prefix = prefix.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= users {
                    break;
                }
                let mut body = json!({"email": format!("{prefix}{i:07}@example.com")});
                if with_password {
                    body["password"] = json!(format!("benchpass-{i:010}"));
                }
                let request_started = Instant::now();
                let response = app
                    .core_request(Method::POST, "/core/v1/issuers/default/users", &token)
                    .json(&body)
                    .send()
                    .await
                    .expect("the create request reaches the server");
                let status = response.status();
                let _ = response.bytes().await.expect("a response body");
                latencies.push(request_started.elapsed());
                assert_eq!(status, 201, "create status");
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.expect("a creating task"));
    }
    Row {
        phase: if with_password {
            "Create users over HTTP, 20-char password (argon2id)".to_owned()
        } else {
            "Create users over HTTP, no password".to_owned()
        },
        count: users,
        concurrency,
        total: started.elapsed(),
        latencies,
    }
}
