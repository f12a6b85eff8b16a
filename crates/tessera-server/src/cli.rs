//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{LogFormat, Overrides};

/// Tessera: a self-hosted, multi-tenant OAuth 2.0 and OpenID Connect identity provider.
///
/// With no configuration, `tessera serve` keeps its data in ./tessera-data (SQLite) and
/// listens on http://localhost:8080. Configuration: defaults < --config FILE < TESSERA_*
/// environment variables (`__` for nesting) < flags. See docs/configuration.md.
#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about,
    long_about,
    arg_required_else_help = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Settings shared by every command.
    #[command(flatten)]
    pub settings: Settings,
}

/// Settings flags, accepted by every command.
#[derive(Debug, Args)]
pub struct Settings {
    /// TOML configuration file.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// URL clients reach Tessera at [default: http://localhost:PORT].
    #[arg(long, global = true, value_name = "URL")]
    pub public_url: Option<String>,
    /// Folder for the SQLite database and the master key [default: ./tessera-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER:PASSWORD@HOST/DB [default: SQLite in the data folder].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log format [default: text].
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Settings {
    /// The flags as the top configuration layer.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen.clone(),
            public_url: self.public_url.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            log_format: self.log_format.map(|f| match f {
                LogFormatArg::Text => LogFormat::Text,
                LogFormatArg::Json => LogFormat::Json,
            }),
        }
    }
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates the database and creates the built-in issuers first).
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Administration that works on the data while a server is running.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Tools for development and benchmarks.
    #[command(subcommand)]
    Dev(DevCommand),
}

/// `tessera dev …`
#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Fill the database with made-up issuers (`seed-00001`, …), clients and users, fast (bulk
    /// inserts, no events), for benchmarks.
    ///
    /// For benchmarks and development only: every seeded user has the same password hash, and
    /// seeded issuers share RSA signing key material. Refuses if one of its issuer slugs is
    /// taken.
    Seed(SeedArgs),
}

/// The password of seeded users unless `--password` is given.
pub const DEFAULT_SEED_PASSWORD: &str = "tessera-dev-password";

/// `tessera dev seed` flags.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many issuers.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub issuers: usize,
    /// Confidential clients per issuer (client credentials, and the authorization code with
    /// redirect URI http://127.0.0.1/callback).
    #[arg(long, default_value_t = 1, value_name = "C")]
    pub clients_per_issuer: usize,
    /// Users per issuer (`user0000001@seed-00001.example.com`, …).
    #[arg(long, default_value_t = 0, value_name = "M")]
    pub users_per_issuer: usize,
    /// Every seeded user's password.
    #[arg(long, default_value = DEFAULT_SEED_PASSWORD, value_name = "P")]
    pub password: String,
    /// Write what was seeded as one JSON document: each issuer's slug, its clients' ids and
    /// secrets (shown nowhere else), a sample of its users' addresses.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `tessera audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every issuer's event hash chain and name the first broken link. Exits 0 when
    /// every chain is intact, 1 when one is broken.
    Verify {
        /// Check only this issuer [default: every issuer].
        #[arg(long = "issuer", value_name = "SLUG")]
        issuer: Option<String>,
    },
}

/// `tessera admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a Core API credential (a client of the `system` issuer) and print it once.
    CreateCredential {
        /// A name to recognise the credential by.
        #[arg(long)]
        name: String,
        /// Restrict the credential to this issuer (repeatable; default: all issuers).
        #[arg(long = "issuer", value_name = "SLUG")]
        issuers: Vec<String>,
        /// Print {"client_id","client_secret","token_endpoint","issuer"} as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
