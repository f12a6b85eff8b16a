//! The sign-in flood benchmark of issue 5: "password hashing on a bounded pool so a flood of
//! sign-ins cannot starve token issuance". Does it hold?
//!
//! It starts a real Tessera in this process with [`TestApp::spawn`] — on SQLite, or on
//! PostgreSQL when `TESSERA_TEST_POSTGRES_URL` is set — registers a confidential client with
//! the client-credentials grant at the `default` issuer, and creates one user with a strong
//! password per attacker (`flood-NNN@example.com`). Then, in each **phase**:
//!
//! - `--clients` K closed-loop clients post `grant_type=client_credentials` to the token
//!   endpoint (`client_secret_basic`), each sending its next request when the previous answer
//!   is read;
//! - at the same time `--attackers` F closed-loop attackers sign in to the account portal
//!   with the **right** password, each as its own user: a browser (cookies kept, redirects not
//!   followed) opens `GET /default/account` once for the form's CSRF token and the
//!   `tessera_browser` cookie it is bound to, then posts `csrf`, `username` and `password` to
//!   `/default/account/sign-in` again and again. A right password answers 303 and costs a full
//!   Argon2id verification on the password pool (plus the brute-force bookkeeping and a new
//!   session). Wrong passwords would not do: after a failure the account must wait, and the
//!   refused tries skip the hash. One account per attacker, because two tries of one account
//!   at once are refused without a hash too (the lockout reserves each try).
//!
//! F = 0 is the token load alone (phase A); F > 0 is the same load under a flood (phase B).
//! Each phase runs `--warmup` seconds unmeasured, then `--seconds` measured; only requests
//! started in the measured window count. Every phase runs once per **round**, in an order
//! that rotates from round to round, so that the machine's ups and downs fall on every phase
//! alike and the spread between rounds shows the noise.
//!
//! It prints one row per phase and round (token requests per second, p50 and p99, errors,
//! sign-ins per second and the sign-in POST's p50, refusals, the process's CPU) and a summary
//! per F (median of the rounds' rates, percentiles over all rounds, each against F = 0).
//! Latencies are measured at the driver, from sending a request to having read its body.
//!
//! The driver runs in the server's process and on the same CPUs, as the other in-process
//! benches do: CPU that Argon2 takes is taken from both. The process CPU column is the
//! server's and the driver's together.
//!
//! ```text
//! export CARGO_TARGET_DIR=$HOME/.cache/tessera-target
//! cargo run --release -p tessera-testkit --bin sign-in-flood-bench -- \
//!     --clients 8 --attackers 0,16,64 --seconds 10 --rounds 3
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)] // the report is the output

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::json;
use tessera_testkit::TestApp;
use tessera_testkit::oidc::{Browser, Landing, form_action, hidden_input};

/// The password of every flood account: strong enough for the default password policy.
const PASSWORD: &str = "velvet thunder marzipan orchestra 17";
/// The issuer everything runs at.
const ISSUER: &str = "default";

/// Measures client-credentials issuance alone and under a flood of correct password sign-ins.
#[derive(Parser, Debug)]
struct Args {
    /// Closed-loop client-credentials clients (K).
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Concurrent sign-in attackers (F), one phase per value; 0 is the token load alone.
    #[arg(long, value_delimiter = ',', default_value = "0,16,64")]
    attackers: Vec<usize>,
    /// Measured seconds per phase (T).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Unmeasured seconds of the same load before each phase's measurement.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Rounds: each runs every phase once, in a rotating order.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// What one phase of one round measured.
struct Phase {
    round: usize,
    attackers: usize,
    tokens: Tally,
    sign_ins: Tally,
    /// The process's CPU time over the measured window, in % of one core.
    cpu_pct: Option<f64>,
    /// `/proc/loadavg`'s 1-minute figure before and after.
    load: String,
}

/// Answers to the requests of one kind started in the measured window.
struct Tally {
    /// Successes: 200 from the token endpoint, 303 from the sign-in form.
    ok: u64,
    /// Anything else, by status (`io` for a failed request); for sign-ins, a 200 is the form
    /// shown again with its refusal, counted by the refusal's code.
    other: BTreeMap<String, u64>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Self {
        Self {
            ok: 0,
            other: BTreeMap::new(),
            // Microseconds, 1 µs to 60 s, 3 significant figures.
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
        }
    }

    fn record(&mut self, started: Instant, outcome: Result<(), String>) {
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.latency.saturating_record(micros);
        match outcome {
            Ok(()) => self.ok += 1,
            Err(kind) => *self.other.entry(kind).or_insert(0) += 1,
        }
    }

    fn add(&mut self, other: &Tally) {
        self.ok += other.ok;
        for (kind, count) in &other.other {
            *self.other.entry(kind.clone()).or_insert(0) += count;
        }
        self.latency
            .add(&other.latency)
            .expect("histograms of one precision");
    }

    fn rate(&self, seconds: f64) -> f64 {
        self.ok as f64 / seconds
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1e3
    }

    fn others_text(&self) -> String {
        if self.other.is_empty() {
            return "0".to_owned();
        }
        let total: u64 = self.other.values().sum();
        let detail: Vec<_> = self.other.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        format!("{total} ({})", detail.join(", "))
    }
}

/// Where the load goes, shared by every task.
struct Setup {
    base_url: String,
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: String,
    accounts: Vec<String>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let backend = tessera_store_sql::testing::backend().as_str();
    eprintln!("sign-in-flood-bench: backend {backend}, {cpus} CPUs, {args:?}");

    let app = TestApp::spawn().await;
    let setup = Arc::new(prepare(&app, &args).await);
    let rounds = args.rounds.max(1);
    let mut phases = Vec::new();
    for round in 0..rounds {
        let count = args.attackers.len();
        for turn in 0..count {
            let attackers = args.attackers[(round + turn) % count];
            let phase = measure(&setup, &args, round + 1, attackers).await;
            eprintln!(
                "  round {}/{rounds}, F={attackers:>3}: {:>7.0} tokens/s  p50 {:>6.2} ms  \
                 p99 {:>7.2} ms  {:>5.1} sign-ins/s  (load {})",
                round + 1,
                phase.tokens.rate(args.seconds as f64),
                phase.tokens.ms(0.50),
                phase.tokens.ms(0.99),
                phase.sign_ins.rate(args.seconds as f64),
                phase.load
            );
            phases.push(phase);
        }
    }
    print_report(backend, cpus, &args, &phases);
}

/// The client, the accounts, and one token to make the issuer's signing keys (not measured).
async fn prepare(app: &TestApp, args: &Args) -> Setup {
    let client = app
        .register_client(
            ISSUER,
            json!({
                "name": "Flood bench", "client_type": "confidential",
                "grant_types": ["client_credentials"]
            }),
        )
        .await;
    let accounts_needed = args.attackers.iter().copied().max().unwrap_or(0);
    let mut accounts = Vec::with_capacity(accounts_needed);
    for i in 0..accounts_needed {
        let email = format!("flood-{i:03}@example.com");
        app.create_user(ISSUER, &email, PASSWORD).await;
        accounts.push(email);
    }
    eprintln!("sign-in-flood-bench: {accounts_needed} accounts created");
    let setup = Setup {
        base_url: app.base_url.clone(),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.clients.max(1))
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client"),
        token_url: format!("{}/{ISSUER}/oauth/token", app.base_url),
        client_id: client.id,
        client_secret: client.secret.expect("a confidential client's secret"),
        accounts,
    };
    token(&setup)
        .await
        .expect("the first client-credentials token");
    setup
}

/// One phase: K token clients and F attackers for the warm-up and the measured window.
async fn measure(setup: &Arc<Setup>, args: &Args, round: usize, attackers: usize) -> Phase {
    // Every attacker has its form before the clock starts.
    let mut forms = Vec::with_capacity(attackers);
    for i in 0..attackers {
        forms.push(sign_in_form(setup, &setup.accounts[i]).await);
    }
    let load_before = load_average();
    let measured_from = Instant::now() + Duration::from_secs(args.warmup);
    let until = measured_from + Duration::from_secs(args.seconds);

    let mut token_tasks = tokio::task::JoinSet::new();
    for _ in 0..args.clients.max(1) {
        let setup = setup.clone();
        token_tasks.spawn(async move {
            let mut tally = Tally::new();
            loop {
                let started = Instant::now();
                if started >= until {
                    break tally;
                }
                let outcome = token(&setup).await;
                if started >= measured_from {
                    tally.record(started, outcome);
                }
            }
        });
    }
    let mut flood_tasks = tokio::task::JoinSet::new();
    for form in forms {
        flood_tasks.spawn(async move {
            let mut tally = Tally::new();
            loop {
                let started = Instant::now();
                if started >= until {
                    break tally;
                }
                let outcome = form.sign_in().await;
                if started >= measured_from {
                    tally.record(started, outcome);
                }
            }
        });
    }

    tokio::time::sleep_until(measured_from.into()).await;
    let ticks_before = cpu_ticks();
    tokio::time::sleep_until(until.into()).await;
    let cpu_pct = cpu_ticks()
        .zip(ticks_before)
        .and_then(|(after, before)| after.checked_sub(before))
        .map(|ticks| ticks as f64 / CLOCK_TICKS_PER_SECOND / args.seconds as f64 * 100.0);
    let load_after = load_average();

    // The requests in flight at the end finish before the next phase starts, so that the
    // sign-ins queued on the password pool do not spill into it.
    let mut tokens = Tally::new();
    while let Some(done) = token_tasks.join_next().await {
        tokens.add(&done.expect("a token task"));
    }
    let mut sign_ins = Tally::new();
    while let Some(done) = flood_tasks.join_next().await {
        sign_ins.add(&done.expect("an attacker task"));
    }
    Phase {
        round,
        attackers,
        tokens,
        sign_ins,
        cpu_pct,
        load: format!("{load_before} → {load_after}"),
    }
}

/// One client-credentials token: `Ok` for a 200 with its body read, else the status.
async fn token(setup: &Setup) -> Result<(), String> {
    let response = setup
        .http
        .post(&setup.token_url)
        .basic_auth(&setup.client_id, Some(&setup.client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .map_err(|_| "io".to_owned())?;
    let status = response.status();
    response.bytes().await.map_err(|_| "io".to_owned())?;
    if status == reqwest::StatusCode::OK {
        Ok(())
    } else {
        Err(status.as_u16().to_string())
    }
}

/// An attacker: its own browser, holding the portal's sign-in form for one account.
struct SignInForm {
    browser: Browser,
    action: String,
    fields: [(&'static str, String); 3],
}

/// Opens the portal's sign-in form as a new browser (which sets its `tessera_browser` cookie).
async fn sign_in_form(setup: &Setup, account: &str) -> SignInForm {
    let browser = Browser::new();
    let portal = format!("{}/{ISSUER}/account", setup.base_url);
    let Landing::Page(200, page) = browser.get(&portal).await else {
        panic!("no sign-in form at {portal}");
    };
    let action = form_action(&page).expect("the form's action");
    let csrf = hidden_input(&page, "csrf").expect("the form's CSRF token");
    SignInForm {
        browser,
        action: format!("{}{action}", setup.base_url),
        fields: [
            ("csrf", csrf),
            ("username", account.to_owned()),
            ("password", PASSWORD.to_owned()),
        ],
    }
}

impl SignInForm {
    /// Posts the form once: `Ok` for the 303 of a sign-in, else the refusal's code (the form
    /// shown again) or the status.
    async fn sign_in(&self) -> Result<(), String> {
        let response = self
            .browser
            .http
            .post(&self.action)
            .form(&self.fields)
            .send()
            .await
            .map_err(|_| "io".to_owned())?;
        let status = response.status();
        let body = response.text().await.map_err(|_| "io".to_owned())?;
        match status.as_u16() {
            303 => Ok(()),
            200 => Err(refusal(&body).unwrap_or_else(|| "200".to_owned())),
            other => Err(other.to_string()),
        }
    }
}

/// The refusal code of a sign-in form shown again (`data-refusal="…"`).
fn refusal(page: &str) -> Option<String> {
    let marker = "data-refusal=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// The kernel's clock ticks per second (`USER_HZ`), the unit of `/proc/<pid>/stat`'s times:
/// 100 on every Linux architecture this runs on.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// This process's CPU time, user and system, in clock ticks (`/proc/self/stat` fields 14 and
/// 15, counted after the parenthesised command name).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `/proc/loadavg`'s 1-minute figure, or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

// ---------------------------------------------------------------------------------------------
// The report.

fn print_report(backend: &str, cpus: usize, args: &Args, phases: &[Phase]) {
    let seconds = args.seconds as f64;
    println!(
        "Backend: **{backend}**, CPUs: **{cpus}**; K = {} token clients; {} s measured after {} s \
         unmeasured per phase; {} rounds.\n",
        args.clients, args.seconds, args.warmup, args.rounds
    );
    println!(
        "| Round | F | Token req/s | Token p50 (ms) | Token p99 (ms) | Token errors | Sign-ins/s | \
         Sign-in p50 (ms) | Sign-ins refused | Process CPU | Load (1 min) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for phase in phases {
        let (sign_in_p50, refused) = if phase.attackers == 0 {
            ("–".to_owned(), "–".to_owned())
        } else {
            (
                format!("{:.0}", phase.sign_ins.ms(0.50)),
                phase.sign_ins.others_text(),
            )
        };
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.1} | {sign_in_p50} | {refused} | {} | \
             {} |",
            phase.round,
            phase.attackers,
            phase.tokens.rate(seconds),
            phase.tokens.ms(0.50),
            phase.tokens.ms(0.99),
            phase.tokens.others_text(),
            phase.sign_ins.rate(seconds),
            phase
                .cpu_pct
                .map_or_else(|| "?".to_owned(), |pct| format!("{pct:.0} %")),
            phase.load
        );
    }

    // Per F: the median of the rounds' rates, the percentiles over all rounds' requests.
    let mut settings: Vec<usize> = args.attackers.clone();
    settings.sort_unstable();
    settings.dedup();
    let summaries: Vec<(usize, f64, Tally, f64)> = settings
        .iter()
        .map(|&attackers| {
            let of_f: Vec<&Phase> = phases.iter().filter(|p| p.attackers == attackers).collect();
            let mut tokens = Tally::new();
            for phase in &of_f {
                tokens.add(&phase.tokens);
            }
            let token_rate = median(of_f.iter().map(|p| p.tokens.rate(seconds)).collect());
            let sign_in_rate = median(of_f.iter().map(|p| p.sign_ins.rate(seconds)).collect());
            (attackers, token_rate, tokens, sign_in_rate)
        })
        .collect();
    let baseline = summaries.iter().find(|s| s.0 == 0);
    let versus = |value: f64, base: Option<f64>| match base {
        Some(base) if base > 0.0 => format!("{:.2}×", value / base),
        _ => "–".to_owned(),
    };
    println!(
        "\n| F | Token req/s (median) | vs F=0 | Token p50 (ms) | vs F=0 | Token p99 (ms) | \
         vs F=0 | Sign-ins/s (median) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (attackers, token_rate, tokens, sign_in_rate) in &summaries {
        println!(
            "| {attackers} | {token_rate:.0} | {} | {:.2} | {} | {:.2} | {} | {sign_in_rate:.1} |",
            versus(*token_rate, baseline.map(|b| b.1)),
            tokens.ms(0.50),
            versus(tokens.ms(0.50), baseline.map(|b| b.2.ms(0.50))),
            tokens.ms(0.99),
            versus(tokens.ms(0.99), baseline.map(|b| b.2.ms(0.99))),
        );
    }
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}
