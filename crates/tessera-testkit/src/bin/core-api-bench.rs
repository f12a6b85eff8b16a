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

/// Tasks that seed users through the core.
const SEED_TASKS: usize = 8;
/// Users per listed page.
const PAGE_LIMIT: usize = 200;

/// Measures the Core API's user endpoints on a fresh in-process Tessera.
#[derive(Parser, Debug)]
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

    let app = Arc::new(TestApp::spawn().await);
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

/// Creates `users` users over HTTP, `concurrency` requests at a time.
async fn create_over_http(
    app: &Arc<TestApp>,
    token: &Arc<String>,
    users: usize,
    concurrency: usize,
    with_password: bool,
) -> Row {
    let prefix = if with_password { "pw" } else { "nopw" };
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (app, token, next) = (app.clone(), token.clone(), next.clone());
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
