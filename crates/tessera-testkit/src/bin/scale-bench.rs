//! The scale benchmark of issue 7: does Tessera serve ten thousand issuers, or an issuer with
//! a million users, as fast as one issuer with a few users?
//!
//! It runs a real `tessera` binary (a release build: `--tessera`, by default
//! `$CARGO_TARGET_DIR/release/tessera`). For each case it makes a fresh data folder and
//! database (SQLite, or PostgreSQL when `TESSERA_TEST_POSTGRES_URL` names a server: a fresh
//! database per case, dropped afterwards), seeds it with `tessera dev seed` (timed), creates a
//! Core API credential with `tessera admin create-credential --json`, starts
//! `tessera serve --listen 127.0.0.1:0` (the port read from its ready banner), and measures:
//!
//! 1. **first use**: one client-credentials token from every seeded issuer, `--concurrency`
//!    at a time (what the first request of each issuer costs the server: reading the issuer,
//!    the client and the keys, parsing the keys);
//! 2. **client credentials**: tokens per second and p50/p99 latency for `--seconds`,
//!    `--concurrency` closed-loop clients, each request to an issuer and client picked
//!    uniformly at random among all seeded ones;
//! 3. **sign-in**: `--sign-ins` authorization-code sign-ins one after another, each as a new
//!    browser for a random user of a random issuer: `GET /authorize` → the sign-in page → `POST`
//!    the form with its CSRF token (**timed**: the user lookup and the Argon2id verification on
//!    the bounded password pool) → the redirect with a code (checked, not timed);
//! 4. **user lookups** through the Core API, one after another, for random users: by address
//!    (`GET /core/v1/issuers/{slug}/users?email=<the address>`, the exact match through the
//!    unique index) and by id (`GET …/users/{id}`, with the ids the first found), after all
//!    rounds, the cases taking turns lookup by lookup; twice: first with the database files
//!    as the machine left them, then after reading the users table and its indexes into the
//!    operating system's file cache (`pg_prewarm(…, 'read')`, or reading the SQLite files), as
//!    a live database whose working set fits in memory has them. Between seeding and the
//!    lookups a case's table sits unread for minutes, and a host that reclaims idle file
//!    pages (as the Linux kernel's DAMON `pageout` scheme of the machines this runs on does,
//!    after a minute) sends the first lookups to the disk;
//! 5. **memory**: the server's anonymous resident memory (`RssAnon` of `/proc/<pid>/status`:
//!    what it allocated, without the database file that SQLite maps, which is the operating
//!    system's file cache and which `VmRSS` counts once per connection that maps it) once the
//!    server is ready (before any issuer is used: what the seeded issuers cost at rest), after
//!    the last token load, and at the end.
//!
//! Cases: `small` (1 issuer, `--users-per-issuer` users), `issuers` (`--issuers` issuers with
//! that many users each), `users` (1 issuer with `--users` users). Every issuer has one
//! client. It prints one Markdown table with each case's figures and their difference from
//! `small`:
//!
//! ```text
//! cargo build --release -p tessera-server -p tessera-testkit
//! $CARGO_TARGET_DIR/release/scale-bench --cases small,issuers,users
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)] // the report is the output

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::Value;
use tessera_core::seed::{SEED_REDIRECT_URI, seed_email};
use tessera_testkit::oidc::{Browser, Landing};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Measures client credentials, sign-in, user lookups and memory at 1 issuer, many issuers,
/// and many users.
#[derive(Parser, Debug)]
struct Args {
    /// The `tessera` binary [default: TARGET_DIR/release/tessera].
    #[arg(long)]
    tessera: Option<PathBuf>,
    /// Where cargo builds (`$CARGO_TARGET_DIR`), for the default binary.
    #[arg(long, env = "CARGO_TARGET_DIR", default_value = "target")]
    target_dir: PathBuf,
    /// The cases, in order (`small` is the baseline of the differences).
    #[arg(long, value_delimiter = ',', default_value = "small,issuers,users")]
    cases: Vec<CaseName>,
    /// Issuers of the `issuers` case.
    #[arg(long, default_value_t = 10_000)]
    issuers: usize,
    /// Users of the `users` case's one issuer.
    #[arg(long, default_value_t = 1_000_000)]
    users: usize,
    /// Users of each issuer in the `small` and `issuers` cases.
    #[arg(long, default_value_t = 10)]
    users_per_issuer: usize,
    /// Closed-loop clients of the token phases.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Rounds: every case's servers run side by side, and each round measures each case in
    /// turn (in a rotating order), so that the machine's ups and downs fall on every case.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seconds of client-credentials load per case and round.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of unmeasured client-credentials load before it.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Sign-ins to time per case, spread over the rounds.
    #[arg(long, default_value_t = 200)]
    sign_ins: usize,
    /// User lookups of each kind to time per case, the cases taking turns.
    #[arg(long, default_value_t = 1000)]
    lookups: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum CaseName {
    Small,
    Issuers,
    Users,
}

/// What a case seeds.
struct Case {
    name: CaseName,
    issuers: usize,
    users_per_issuer: usize,
}

impl Case {
    fn label(&self) -> String {
        match self.name {
            CaseName::Small => format!(
                "small (1 issuer, {} users)",
                thousands(self.users_per_issuer)
            ),
            CaseName::Issuers => format!(
                "{} issuers ({} users each)",
                thousands(self.issuers),
                thousands(self.users_per_issuer)
            ),
            CaseName::Users => format!("1 issuer, {} users", thousands(self.users_per_issuer)),
        }
    }
}

/// What a case measured.
#[derive(Default)]
struct Figures {
    seed: Duration,
    ready: Duration,
    first_use: Duration,
    first_use_count: usize,
    tokens_per_sec: f64,
    /// The server's CPU time (user and system) per token during the measured load.
    server_cpu_per_token: Duration,
    token_p50: Duration,
    token_p99: Duration,
    token_errors: u64,
    sign_in_p50: Duration,
    sign_in_p99: Duration,
    by_email_p50: Duration,
    by_email_p99: Duration,
    by_id_p50: Duration,
    by_id_p99: Duration,
    /// The medians before the database was read into memory.
    cold_by_email_p50: Duration,
    cold_by_id_p50: Duration,
    /// Once ready, before any issuer was used: what the issuers cost at rest.
    anon_at_ready_kib: u64,
    anon_after_tokens_kib: u64,
    anon_at_end_kib: u64,
    database_bytes: Option<u64>,
    /// The 1-minute load average before and after the token load: other work on the machine
    /// skews the numbers.
    load: String,
}

const SEED_PASSWORD: &str = "scale-bench-password";

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let tessera = args
        .tessera
        .clone()
        .unwrap_or_else(|| args.target_dir.join("release").join("tessera"));
    assert!(
        tessera.is_file(),
        "no tessera binary at {} (build it: cargo build --release -p tessera-server, or pass \
         --tessera)",
        tessera.display()
    );
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let backend = tessera_store_sql::testing::backend().as_str();
    eprintln!("scale-bench: {backend}, {cpus} CPUs, {args:?}");

    let mut prepared = Vec::new();
    for name in &args.cases {
        let case = match name {
            CaseName::Small => Case {
                name: *name,
                issuers: 1,
                users_per_issuer: args.users_per_issuer,
            },
            CaseName::Issuers => Case {
                name: *name,
                issuers: args.issuers,
                users_per_issuer: args.users_per_issuer,
            },
            CaseName::Users => Case {
                name: *name,
                issuers: 1,
                users_per_issuer: args.users,
            },
        };
        eprintln!("scale-bench: preparing case {}", case.label());
        prepared.push(Prepared::new(&tessera, case, &args).await);
    }
    let rounds = args.rounds.max(1);
    let mut rng = Rng::new(0x5ca1e);
    for round in 0..rounds {
        let cases = prepared.len();
        for turn in 0..cases {
            let case = &mut prepared[(round + turn) % cases];
            eprintln!(
                "scale-bench: round {}/{rounds}, {}",
                round + 1,
                case.case.label()
            );
            case.measure_round(&args, rounds, &mut rng).await;
        }
    }
    // Lookups take a fraction of a millisecond each: rather than in rounds, one case's after
    // another's, they go one by one, each case in turn, so that whatever else the machine
    // does (and what the token loads and sign-ins left in its caches) falls on every case.
    for in_memory in [false, true] {
        if in_memory {
            for case in &prepared {
                case.read_users_into_memory().await;
            }
        }
        eprintln!("scale-bench: user lookups (database read into memory: {in_memory})");
        for lookup in 0..args.lookups {
            let cases = prepared.len();
            for turn in 0..cases {
                prepared[(lookup + turn) % cases]
                    .look_up_a_user(&mut rng, in_memory)
                    .await;
            }
        }
    }
    let mut results = Vec::new();
    for case in prepared {
        results.push(case.finish().await);
    }
    print_table(backend, cpus, &args, &results);
}

// ---------------------------------------------------------------------------------------------
// One case.

/// A seeded issuer as the load needs it.
struct Target {
    slug: String,
    /// `Basic …` of its client.
    authorization: String,
    client_id: String,
}

/// A case's seeded database and running server, and what its rounds have measured so far.
struct Prepared {
    case: Case,
    /// Dropped (the PostgreSQL database removed) after the server stops.
    database: tessera_store_sql::testing::FreshDatabase,
    _data: tempfile::TempDir,
    server: Server,
    http: reqwest::Client,
    direct: String,
    targets: Arc<Vec<Target>>,
    core_token: String,
    figures: Figures,
    /// Tokens per second of each round.
    rates: Vec<f64>,
    /// Tokens and the server's CPU ticks over all measured loads.
    tokens: u64,
    cpu_ticks: u64,
    token_latency: Histogram<u64>,
    sign_ins: Vec<Duration>,
    /// Lookups with the database files as the machine left them, then read into memory.
    cold: Lookups,
    warm: Lookups,
    load: Vec<String>,
}

/// The times of user lookups of each kind.
#[derive(Default)]
struct Lookups {
    by_email: Vec<Duration>,
    by_id: Vec<Duration>,
}

impl Prepared {
    /// Seeds the case, starts its server and uses every issuer once.
    async fn new(tessera: &Path, case: Case, args: &Args) -> Self {
        let database = tessera_store_sql::testing::fresh_database().await;
        let data = tempfile::tempdir().expect("a data folder");
        let data_dir = data.path().to_str().expect("a UTF-8 path").to_owned();
        let store_flags = [
            "--data-dir".to_owned(),
            data_dir.clone(),
            "--database-url".to_owned(),
            database.url.clone(),
        ];
        let mut figures = Figures::default();

        let out = data.path().join("seeded.json");
        let started = Instant::now();
        let mut seed = vec![
            "dev".to_owned(),
            "seed".to_owned(),
            "--issuers".to_owned(),
            case.issuers.to_string(),
            "--users-per-issuer".to_owned(),
            case.users_per_issuer.to_string(),
            "--password".to_owned(),
            SEED_PASSWORD.to_owned(),
            "--out".to_owned(),
            out.to_str().expect("a UTF-8 path").to_owned(),
        ];
        seed.extend(store_flags.iter().cloned());
        let seeded = run_to_end(tessera, &seed).await;
        figures.seed = started.elapsed();
        eprintln!("  {}", seeded.trim());
        let report: Value =
            serde_json::from_slice(&std::fs::read(&out).expect("read the seed report"))
                .expect("a JSON seed report");
        let targets: Arc<Vec<Target>> = Arc::new(
            report["issuers"]
                .as_array()
                .expect("issuers")
                .iter()
                .map(|issuer| {
                    let client = &issuer["clients"][0];
                    let id = client["client_id"].as_str().expect("a client id");
                    let secret = client["client_secret"].as_str().expect("a secret");
                    Target {
                        slug: issuer["slug"].as_str().expect("a slug").to_owned(),
                        authorization: format!(
                            "Basic {}",
                            STANDARD.encode(format!("{id}:{secret}"))
                        ),
                        client_id: id.to_owned(),
                    }
                })
                .collect(),
        );
        let mut credential = vec![
            "admin".to_owned(),
            "create-credential".to_owned(),
            "--name".to_owned(),
            "scale-bench".to_owned(),
            "--json".to_owned(),
        ];
        credential.extend(store_flags.iter().cloned());
        let credential: Value =
            serde_json::from_str(run_to_end(tessera, &credential).await.trim()).expect("JSON");

        let started = Instant::now();
        let mut serve = vec![
            "serve".to_owned(),
            "--listen".to_owned(),
            "127.0.0.1:0".to_owned(),
        ];
        serve.extend(store_flags.iter().cloned());
        let server = Server::start(tessera, &serve).await;
        figures.ready = started.elapsed();
        figures.anon_at_ready_kib = proc_status_kib(server.pid, "RssAnon:");
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency * 2)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        let direct = format!("http://{}", server.address);

        // First use of every issuer.
        let started = Instant::now();
        let errors = first_use(&http, &direct, &targets, args.concurrency).await;
        figures.first_use = started.elapsed();
        figures.first_use_count = targets.len();
        assert_eq!(errors, 0, "every issuer's first token");
        eprintln!(
            "  first use of {} issuers: {:.2} s",
            targets.len(),
            figures.first_use.as_secs_f64()
        );
        let core_token = core_token(&http, &direct, &credential).await;
        Self {
            case,
            database,
            _data: data,
            server,
            http,
            direct,
            targets,
            core_token,
            figures,
            rates: Vec::new(),
            tokens: 0,
            cpu_ticks: 0,
            token_latency: Histogram::new(3).expect("a histogram"),
            sign_ins: Vec::new(),
            cold: Lookups::default(),
            warm: Lookups::default(),
            load: Vec::new(),
        }
    }

    /// One round: client credentials spread over every issuer after an unmeasured warm-up,
    /// then this round's share of sign-ins.
    async fn measure_round(&mut self, args: &Args, rounds: usize, rng: &mut Rng) {
        let load_before = load_average();
        let (http, direct, targets) = (&self.http, &self.direct, &self.targets);
        token_load(http, direct, targets, args.concurrency, args.warmup).await;
        let ticks_before = cpu_ticks(self.server.pid);
        let (count, errors, histogram, elapsed) =
            token_load(http, direct, targets, args.concurrency, args.seconds).await;
        self.cpu_ticks += cpu_ticks(self.server.pid) - ticks_before;
        self.tokens += count;
        let rate = count as f64 / elapsed.as_secs_f64();
        self.rates.push(rate);
        self.token_latency
            .add(histogram)
            .expect("histograms of one precision");
        self.figures.token_errors += errors;
        self.figures.anon_after_tokens_kib = proc_status_kib(self.server.pid, "RssAnon:");
        self.load
            .push(format!("{load_before} → {}", load_average()));
        eprintln!(
            "  client credentials: {rate:.0}/s, {errors} errors, RssAnon {} MiB",
            self.figures.anon_after_tokens_kib / 1024
        );

        let public = format!("http://localhost:{}", self.server.address.port());
        for _ in 0..args.sign_ins.div_ceil(rounds) {
            let target = &targets[rng.below(targets.len())];
            let email = seed_email(&target.slug, 1 + rng.below(self.case.users_per_issuer));
            self.sign_ins.push(sign_in(&public, target, &email).await);
        }
    }

    /// One user lookup of each kind, for a random user of a random issuer: by address, then by
    /// the id that found.
    async fn look_up_a_user(&mut self, rng: &mut Rng, in_memory: bool) {
        let times = if in_memory {
            &mut self.warm
        } else {
            &mut self.cold
        };
        let (http, direct, targets) = (&self.http, &self.direct, &self.targets);
        let target = &targets[rng.below(targets.len())];
        let email = seed_email(&target.slug, 1 + rng.below(self.case.users_per_issuer));
        let path = format!(
            "/core/v1/issuers/{}/users?email={}",
            target.slug,
            form_urlencoded::byte_serialize(email.as_bytes()).collect::<String>()
        );
        let (elapsed, page) = core_get(http, direct, &self.core_token, &path).await;
        times.by_email.push(elapsed);
        let items = page["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "exactly one user has {email}: {page}");
        let id = items[0]["id"].as_str().expect("an id");
        let path = format!("/core/v1/issuers/{}/users/{id}", target.slug);
        let (elapsed, user) = core_get(http, direct, &self.core_token, &path).await;
        assert_eq!(user["id"], id);
        times.by_id.push(elapsed);
    }

    /// Reads the users table and its indexes into the operating system's file cache: on
    /// PostgreSQL with `pg_prewarm` in `read` mode (the file cache, not PostgreSQL's buffers,
    /// which hold a fraction of a million users' table and indexes), on SQLite by reading the
    /// database files.
    async fn read_users_into_memory(&self) {
        match self.database.sqlite_dir() {
            Some(dir) => {
                for entry in std::fs::read_dir(dir).expect("the SQLite folder") {
                    let path = entry.expect("a folder entry").path();
                    let mut file = std::fs::File::open(&path).expect("open a database file");
                    std::io::copy(&mut file, &mut std::io::sink()).expect("read a database file");
                }
            }
            None => {
                tessera_store_sql::testing::execute_sql(
                    &self.database.url,
                    "CREATE EXTENSION IF NOT EXISTS pg_prewarm; \
                     SELECT pg_prewarm(oid::regclass, 'read') FROM pg_class \
                     WHERE oid = 'users'::regclass \
                        OR oid IN (SELECT indexrelid FROM pg_index \
                                   WHERE indrelid = 'users'::regclass)",
                )
                .await;
            }
        }
    }

    /// The case's figures over all rounds; stops the server.
    async fn finish(mut self) -> (Case, Figures) {
        let figures = &mut self.figures;
        self.rates.sort_by(f64::total_cmp);
        figures.tokens_per_sec = self.rates[self.rates.len() / 2];
        figures.server_cpu_per_token = Duration::from_secs_f64(
            self.cpu_ticks as f64 / CLOCK_TICKS_PER_SECOND / self.tokens.max(1) as f64,
        );
        figures.token_p50 = micros(self.token_latency.value_at_quantile(0.50));
        figures.token_p99 = micros(self.token_latency.value_at_quantile(0.99));
        (figures.sign_in_p50, figures.sign_in_p99) = quantiles(&mut self.sign_ins);
        (figures.by_email_p50, figures.by_email_p99) = quantiles(&mut self.warm.by_email);
        (figures.by_id_p50, figures.by_id_p99) = quantiles(&mut self.warm.by_id);
        figures.cold_by_email_p50 = quantiles(&mut self.cold.by_email).0;
        figures.cold_by_id_p50 = quantiles(&mut self.cold.by_id).0;
        figures.load = self.load.join(", ");
        figures.anon_at_end_kib = proc_status_kib(self.server.pid, "RssAnon:");
        figures.database_bytes = self.database.sqlite_dir().map(folder_bytes);
        eprintln!(
            "scale-bench: {}: tokens/s of the rounds {:?}",
            self.case.label(),
            self.rates.iter().map(|r| r.round()).collect::<Vec<_>>()
        );
        self.server.stop().await;
        (self.case, self.figures)
    }
}

/// One client-credentials token from every issuer, `concurrency` at a time; the errors.
async fn first_use(
    http: &reqwest::Client,
    base: &str,
    targets: &Arc<Vec<Target>>,
    concurrency: usize,
) -> u64 {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (http, base, targets, next) =
            (http.clone(), base.to_owned(), targets.clone(), next.clone());
        tasks.spawn(async move {
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(target) = targets.get(i) else {
                    break;
                };
                if !token(&http, &base, target).await {
                    errors += 1;
                }
            }
            errors
        });
    }
    let mut errors = 0;
    while let Some(done) = tasks.join_next().await {
        errors += done.expect("a first-use task");
    }
    errors
}

/// `concurrency` closed-loop clients for `seconds`, each request to a random issuer.
async fn token_load(
    http: &reqwest::Client,
    base: &str,
    targets: &Arc<Vec<Target>>,
    concurrency: usize,
    seconds: u64,
) -> (u64, u64, Histogram<u64>, Duration) {
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency.max(1) {
        let (http, base, targets) = (http.clone(), base.to_owned(), targets.clone());
        tasks.spawn(async move {
            let mut rng = Rng::new(task as u64 + 1);
            let mut histogram = Histogram::<u64>::new(3).expect("a histogram");
            let (mut count, mut errors) = (0u64, 0u64);
            while Instant::now() < until {
                let target = &targets[rng.below(targets.len())];
                let sent = Instant::now();
                if token(&http, &base, target).await {
                    count += 1;
                    let _ = histogram.record(sent.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
            }
            (count, errors, histogram)
        });
    }
    let mut histogram = Histogram::<u64>::new(3).expect("a histogram");
    let (mut count, mut errors) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (c, e, h) = done.expect("a load task");
        count += c;
        errors += e;
        histogram.add(h).expect("histograms of one precision");
    }
    (count, errors, histogram, started.elapsed())
}

/// A client-credentials token of `target`'s client; whether it was issued.
async fn token(http: &reqwest::Client, base: &str, target: &Target) -> bool {
    let response = http
        .post(format!("{base}/{}/oauth/token", target.slug))
        .header("authorization", &target.authorization)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await;
    match response {
        Ok(response) => {
            let ok = response.status().is_success();
            ok && response.bytes().await.is_ok()
        }
        Err(_) => false,
    }
}

/// One sign-in as `email` at `target`'s issuer, as a new browser: the time of the form's POST.
async fn sign_in(base: &str, target: &Target, email: &str) -> Duration {
    let redirect =
        form_urlencoded::byte_serialize(SEED_REDIRECT_URI.as_bytes()).collect::<String>();
    let authorize = format!(
        "{base}/{}/oauth/authorize?response_type=code&client_id={}&redirect_uri={redirect}\
         &scope=openid&state=bench",
        target.slug, target.client_id
    );
    let browser = Browser::new();
    let Landing::Page(200, page) = browser.follow(&authorize, base).await else {
        panic!("no sign-in page at {authorize}");
    };
    let posted = Instant::now();
    let landing = browser
        .submit(
            &page,
            base,
            &[("username", email), ("password", SEED_PASSWORD)],
        )
        .await;
    let elapsed = posted.elapsed();
    let landing = match landing {
        Landing::Redirect(next) if next.starts_with(base) => browser.follow(&next, base).await,
        other => other,
    };
    assert!(
        landing.location().starts_with(SEED_REDIRECT_URI) && landing.param("code").is_some(),
        "{email} did not get a code: {landing:?}"
    );
    elapsed
}

async fn core_token(http: &reqwest::Client, base: &str, credential: &Value) -> String {
    let response: Value = http
        .post(format!("{base}/system/oauth/token"))
        .basic_auth(
            credential["client_id"].as_str().expect("a client id"),
            credential["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("the token request")
        .json()
        .await
        .expect("a token response");
    response["access_token"]
        .as_str()
        .expect("a Core API token")
        .to_owned()
}

async fn core_get(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
) -> (Duration, Value) {
    let sent = Instant::now();
    let response = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the Core API request");
    let status = response.status();
    let body = response.bytes().await.expect("a body");
    let elapsed = sent.elapsed();
    assert_eq!(
        status,
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(&body)
    );
    (elapsed, serde_json::from_slice(&body).expect("JSON"))
}

// ---------------------------------------------------------------------------------------------
// The server process.

/// Runs `tessera ARGS` to its end (it must succeed); its standard output.
async fn run_to_end(tessera: &Path, args: &[String]) -> String {
    let output = Command::new(tessera)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run tessera");
    assert!(
        output.status.success(),
        "tessera {args:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A running `tessera serve`.
struct Server {
    child: Child,
    pid: u32,
    address: SocketAddr,
}

impl Server {
    /// Starts `tessera ARGS` and waits for the ready banner's address (as the process tests
    /// do); standard error is drained from then on.
    async fn start(tessera: &Path, args: &[String]) -> Self {
        let mut child = Command::new(tessera)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start tessera serve");
        let pid = child.id().expect("a running server");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let address = tokio::time::timeout(Duration::from_secs(120), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(address) = ready_address(&line) {
                    return address;
                }
            }
            panic!("tessera serve stopped before it was ready");
        })
        .await
        .expect("tessera serve ready within two minutes");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            pid,
            address,
        }
    }

    /// SIGTERM, and waits for the exit.
    async fn stop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }
}

/// The address in a text ready banner (`… Tessera is ready … listen=ADDR …`).
fn ready_address(line: &str) -> Option<SocketAddr> {
    if !line.contains("Tessera is ready") {
        return None;
    }
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("listen="))?
        .parse()
        .ok()
}

/// A `kB` figure of `/proc/<pid>/status` (`RssAnon:`).
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// The kernel's clock ticks per second (`USER_HZ`), the unit of `/proc/<pid>/stat`'s times:
/// 100 on every Linux architecture this runs on.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// The CPU time a process has used, user and system, in clock ticks (`/proc/<pid>/stat`
/// fields 14 and 15, counted after the parenthesised command name).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

/// `/proc/loadavg`'s 1-minute figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// The bytes of the files in `dir` (the SQLite database, its WAL).
fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Numbers.

/// A small deterministic generator (xorshift64*): the picks must be uniform, not secret.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in `0..n` (n ≥ 1).
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((u128::from(x) * n as u128) >> 64) as usize
    }
}

fn micros(value: u64) -> Duration {
    Duration::from_micros(value)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// p50 and p99 (nearest rank) of `samples`.
fn quantiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |p: f64| {
        let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[rank.clamp(1, samples.len()) - 1]
    };
    (at(50.0), at(99.0))
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The table.

/// One row: a label, how to read a case's value, and how many decimals to show.
struct Row {
    label: &'static str,
    value: fn(&Figures) -> f64,
    decimals: usize,
}

fn print_table(backend: &str, cpus: usize, args: &Args, results: &[(Case, Figures)]) {
    let rows = [
        Row {
            label: "seed (`tessera dev seed`, s)",
            value: |f| f.seed.as_secs_f64(),
            decimals: 1,
        },
        Row {
            label: "start → ready (s)",
            value: |f| f.ready.as_secs_f64(),
            decimals: 2,
        },
        Row {
            label: "first use: one token from every issuer (s)",
            value: |f| f.first_use.as_secs_f64(),
            decimals: 2,
        },
        Row {
            label: "first use per issuer (ms)",
            value: |f| f.first_use.as_secs_f64() * 1e3 / f.first_use_count.max(1) as f64,
            decimals: 2,
        },
        Row {
            label: "client credentials (tokens/s)",
            value: |f| f.tokens_per_sec,
            decimals: 0,
        },
        Row {
            label: "server CPU per token (µs)",
            value: |f| f.server_cpu_per_token.as_secs_f64() * 1e6,
            decimals: 1,
        },
        Row {
            label: "client credentials p50 (ms)",
            value: |f| ms(f.token_p50),
            decimals: 2,
        },
        Row {
            label: "client credentials p99 (ms)",
            value: |f| ms(f.token_p99),
            decimals: 2,
        },
        Row {
            label: "client credentials errors",
            value: |f| f.token_errors as f64,
            decimals: 0,
        },
        Row {
            label: "sign-in POST p50 (ms)",
            value: |f| ms(f.sign_in_p50),
            decimals: 1,
        },
        Row {
            label: "sign-in POST p99 (ms)",
            value: |f| ms(f.sign_in_p99),
            decimals: 1,
        },
        Row {
            label: "user lookup by address p50, database as the machine left it (ms)",
            value: |f| ms(f.cold_by_email_p50),
            decimals: 2,
        },
        Row {
            label: "user lookup by id p50, database as the machine left it (ms)",
            value: |f| ms(f.cold_by_id_p50),
            decimals: 2,
        },
        Row {
            label: "user lookup by address p50 (ms)",
            value: |f| ms(f.by_email_p50),
            decimals: 2,
        },
        Row {
            label: "user lookup by address p99 (ms)",
            value: |f| ms(f.by_email_p99),
            decimals: 2,
        },
        Row {
            label: "user lookup by id p50 (ms)",
            value: |f| ms(f.by_id_p50),
            decimals: 2,
        },
        Row {
            label: "user lookup by id p99 (ms)",
            value: |f| ms(f.by_id_p99),
            decimals: 2,
        },
        Row {
            label: "server memory once ready, before first use (RssAnon, MiB)",
            value: |f| f.anon_at_ready_kib as f64 / 1024.0,
            decimals: 1,
        },
        Row {
            label: "server memory after the token load (RssAnon, MiB)",
            value: |f| f.anon_after_tokens_kib as f64 / 1024.0,
            decimals: 1,
        },
        Row {
            label: "server memory at the end (RssAnon, MiB)",
            value: |f| f.anon_at_end_kib as f64 / 1024.0,
            decimals: 1,
        },
        Row {
            label: "database files (MiB)",
            value: |f| {
                f.database_bytes
                    .map_or(f64::NAN, |b| b as f64 / 1_048_576.0)
            },
            decimals: 1,
        },
    ];
    println!(
        "Backend: **{backend}**, CPUs: **{cpus}**; {} closed-loop clients for {} s of client \
         credentials (after {} s unmeasured); {} sign-ins; {} lookups of each kind.\n",
        args.concurrency, args.seconds, args.warmup, args.sign_ins, args.lookups
    );
    let baseline = results
        .iter()
        .find(|(case, _)| case.name == CaseName::Small);
    let mut header = "| |".to_owned();
    let mut rule = "|---|".to_owned();
    for (case, _) in results {
        header.push_str(&format!(" {} |", case.label()));
        rule.push_str("---:|");
        if baseline.is_some() && case.name != CaseName::Small {
            header.push_str(" vs small |");
            rule.push_str("---:|");
        }
    }
    println!("{header}\n{rule}");
    for row in &rows {
        let mut line = format!("| {} |", row.label);
        for (case, figures) in results {
            let value = (row.value)(figures);
            line.push_str(&format!(" {} |", number(value, row.decimals)));
            if let Some((_, base)) = baseline
                && case.name != CaseName::Small
            {
                let base = (row.value)(base);
                let change = if base.is_finite() && base != 0.0 && value.is_finite() {
                    format!("{:+.0} %", (value - base) / base * 100.0)
                } else {
                    "–".to_owned()
                };
                line.push_str(&format!(" {change} |"));
            }
        }
        println!("{line}");
    }
    let loads: Vec<String> = results
        .iter()
        .map(|(case, figures)| format!("{} {}", case.label(), figures.load))
        .collect();
    println!(
        "\nLoad average (1 min) before → after each token load: {}.",
        loads.join("; ")
    );
}

fn number(value: f64, decimals: usize) -> String {
    if value.is_nan() {
        "–".to_owned()
    } else {
        format!("{value:.decimals$}")
    }
}
