//! `tessera`: parse the command line, load the configuration, run the command.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use serde_json::{Value, json};
use tessera_core::seed::{SEED_REDIRECT_URI, SeedPlan, SeedProgress, SeedReport};
use tessera_model::IssuerSlug;
use tessera_server::cli::{AdminCommand, AuditCommand, Cli, Command, DevCommand, SeedArgs};
use tessera_server::{
    Application, Claim, Config, Installation, Purpose, StartupError, StopSignals,
};

/// mimalloc rather than the C library's allocator: a token request allocates and frees many
/// small buffers (headers, claims, JSON), and under load glibc's malloc and free were ~8 % of
/// the server's CPU (`perf`, client credentials at 64 connections; see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.settings.config.as_deref(), &cli.settings.overrides()) {
        Ok(config) => config,
        Err(error) => return fail(&StartupError::Config(error)),
    };
    let quiet = !matches!(cli.command, Command::Serve);
    let filter = if quiet {
        "warn"
    } else {
        config.log_level.as_str()
    };
    tessera_server::telemetry::init(config.log_format, filter);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&StartupError::Serve(error)),
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(error) => fail(&error),
    }
}

#[allow(clippy::print_stderr)]
fn fail(error: &StartupError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(error.exit_code())
}

async fn run(command: Command, config: Config) -> Result<ExitCode, StartupError> {
    match command {
        Command::Serve => {
            let signals = StopSignals::install();
            let app = Application::build(&config).await?;
            app.run_until_signalled(signals).await?;
        }
        Command::Migrate => {
            let status = tessera_server::migrate(&config).await?;
            say(&format!(
                "database schema is at version {} ({})",
                status.applied.unwrap_or(0),
                config.database_url
            ));
        }
        Command::Admin(AdminCommand::CreateCredential {
            name,
            issuers,
            json,
        }) => create_credential(&config, &name, &issuers, json).await?,
        Command::Audit(AuditCommand::Verify { issuer }) => {
            return audit_verify(&config, issuer.as_deref()).await;
        }
        Command::Dev(DevCommand::Seed(args)) => seed(&config, &args).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `tessera audit verify`: one line per issuer; exit 1 when any chain is broken.
async fn audit_verify(config: &Config, slug: Option<&str>) -> Result<ExitCode, StartupError> {
    let claim = Claim::take(config, Purpose::Admin)?;
    let public_url = config.public_url_for(config.listen);
    let installation = Installation::open(claim, config, &public_url).await?;
    let core = &installation.core;
    let issuers = match slug {
        Some(slug) => match core.find_issuer(slug).await? {
            Some(issuer) => vec![std::sync::Arc::unwrap_or_clone(issuer)],
            None => {
                return Err(StartupError::Core(tessera_core::CoreError::UnknownIssuer(
                    slug.to_owned(),
                )));
            }
        },
        None => core.all_issuers().await?,
    };
    let mut intact = true;
    for issuer in &issuers {
        let report = core.verify_audit_chain(issuer).await?;
        let pruned = if report.pruned_through > 0 {
            format!(
                " (events up to #{} removed by retention)",
                report.pruned_through
            )
        } else {
            String::new()
        };
        match &report.broken {
            None => say(&format!(
                "{}: {} events, chain intact{pruned}",
                issuer.slug, report.events
            )),
            Some(link) => {
                intact = false;
                let event = link
                    .event_id
                    .map(|id| format!(" ({id})"))
                    .unwrap_or_default();
                say(&format!(
                    "{}: chain broken at event #{}{event}: {}",
                    issuer.slug, link.seq, link.reason
                ));
            }
        }
    }
    core.store().close().await;
    Ok(if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn create_credential(
    config: &Config,
    name: &str,
    issuers: &[String],
    as_json: bool,
) -> Result<(), StartupError> {
    let slugs = issuers
        .iter()
        .map(|slug| {
            IssuerSlug::parse(slug).map_err(|e| {
                StartupError::Core(tessera_core::CoreError::Invalid(format!(
                    "--issuer `{slug}`: {e}"
                )))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let claim = Claim::take(config, Purpose::Admin)?;
    let public_url = config.public_url_for(config.listen);
    let installation = Installation::open(claim, config, &public_url).await?;
    let credential = installation
        .core
        .create_admin_credential(name, &slugs)
        .await?;
    let issuer = installation.core.issuer_url(&installation.builtin.system);
    let output = json!({
        "client_id": credential.client_id.to_string(),
        "client_secret": credential.client_secret.expose(),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "issuer": issuer,
    });
    if as_json {
        say(&output.to_string());
    } else {
        say(&format!(
            "Created Core API credential `{name}`.\n  client_id:      {}\n  client_secret:  {}\n  token_endpoint: {}\nThe secret is shown only now; store it safely.",
            output["client_id"].as_str().unwrap_or_default(),
            output["client_secret"].as_str().unwrap_or_default(),
            output["token_endpoint"].as_str().unwrap_or_default(),
        ));
    }
    installation.core.store().close().await;
    Ok(())
}

/// `tessera dev seed`: seeds, writes the report to `--out`, says what it did and how long it
/// took (opening the database and making the RSA key pool included).
async fn seed(config: &Config, args: &SeedArgs) -> Result<(), StartupError> {
    let started = Instant::now();
    let claim = Claim::take(config, Purpose::Admin)?;
    let public_url = config.public_url_for(config.listen);
    let installation = Installation::open(claim, config, &public_url).await?;
    let plan = SeedPlan {
        issuers: args.issuers,
        clients_per_issuer: args.clients_per_issuer,
        users_per_issuer: args.users_per_issuer,
        password: args.password.clone(),
    };
    let mut progress = |written: SeedProgress| {
        note(&format!(
            "seeded {}/{} issuers, {}/{} users ({:.1} s)",
            written.issuers,
            plan.issuers,
            written.users,
            plan.issuers * plan.users_per_issuer,
            started.elapsed().as_secs_f64()
        ));
    };
    let report = installation.core.seed(&plan, &mut progress).await?;
    installation.core.store().close().await;
    let elapsed = started.elapsed();
    if let Some(path) = &args.out {
        let document = seed_document(&report, &args.password);
        write_private(path, format!("{document}\n").as_bytes()).map_err(|source| {
            StartupError::WriteFile {
                path: path.clone(),
                source,
            }
        })?;
    }
    say(&format!(
        "Seeded {} issuers, {} clients, {} users and {} signing keys in {:.2} s.{}",
        report.issuers.len(),
        report.clients,
        report.users,
        report.keys,
        elapsed.as_secs_f64(),
        args.out
            .as_ref()
            .map(|path| format!(" Client secrets are in {}.", path.display()))
            .unwrap_or_default()
    ));
    Ok(())
}

/// Writes `bytes` to `path`, readable by its owner only (it holds client secrets).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// What `--out` receives: one JSON document.
fn seed_document(report: &SeedReport, password: &str) -> Value {
    let issuers: Vec<Value> = report
        .issuers
        .iter()
        .map(|issuer| {
            let clients: Vec<Value> = issuer
                .clients
                .iter()
                .map(|client| {
                    json!({
                        "client_id": client.client_id.to_string(),
                        "client_secret": client.client_secret.expose(),
                    })
                })
                .collect();
            json!({
                "slug": issuer.slug.as_str(),
                "clients": clients,
                "users": issuer.users,
                "sample_emails": issuer.sample_emails,
            })
        })
        .collect();
    json!({
        "redirect_uri": SEED_REDIRECT_URI,
        "password": password,
        "issuers": issuers,
    })
}

/// Progress, on standard error.
#[allow(clippy::print_stderr)]
fn note(text: &str) {
    eprintln!("{text}");
}

/// A command's result, on standard output.
#[allow(clippy::print_stdout)]
fn say(text: &str) {
    println!("{text}");
}
