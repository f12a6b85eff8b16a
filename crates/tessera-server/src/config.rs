//! Typed, layered configuration: defaults < TOML file (`--config`) < `TESSERA_*` environment
//! (`__` for nesting) < command-line flags (STYLE.md habit 13).
//!
//! Unknown keys are refused, values are validated before anything is opened or bound, and
//! secrets (the master key, a database password, the SMTP URL) never appear in `Debug` output
//! or errors.
//! The reference of every key is `docs/configuration.md`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tessera_core::mail::{MailError, Mailer};
use tessera_crypto::MasterKey;

/// Environment variables starting with `TESSERA_TEST_` belong to the test suite, not to the
/// server's configuration.
const TEST_ENV_PREFIX: &str = "test_";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[http]`: the HTTP server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// After SIGTERM/SIGINT, how long the node keeps serving while `/readyz` answers 503, so
    /// that load balancers stop sending it traffic before it stops accepting connections.
    pub drain_seconds: u64,
    /// After the drain, how long requests in flight may take to finish.
    pub shutdown_grace_seconds: u64,
    /// The reverse proxies and load balancers in front of the node, as CIDR ranges
    /// (`10.0.0.0/8`, `fd00::/8`) or single addresses. A request from one of them is counted
    /// by the sign-in lockout under the client address it forwarded (`X-Forwarded-For`, else
    /// `Forwarded`); from any other peer, those headers are ignored. Empty by default: every
    /// address is the TCP peer's.
    pub trusted_proxies: Vec<String>,
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            drain_seconds: 2,
            shutdown_grace_seconds: 30,
            trusted_proxies: Vec::new(),
        }
    }
}

impl HttpSection {
    /// The longest drain: five minutes is longer than any load balancer's health-check
    /// interval times its failure threshold, and an orchestrator's stop timeout must cover it.
    pub const MAX_DRAIN_SECONDS: u64 = 300;

    /// The drain, checked: at most [`Self::MAX_DRAIN_SECONDS`].
    pub fn drain(&self) -> Result<std::time::Duration, ConfigError> {
        if self.drain_seconds <= Self::MAX_DRAIN_SECONDS {
            Ok(std::time::Duration::from_secs(self.drain_seconds))
        } else {
            Err(invalid(
                "http.drain_seconds",
                format!("must be from 0 to {} seconds", Self::MAX_DRAIN_SECONDS),
            ))
        }
    }

    /// The trusted proxies, parsed: each entry a CIDR range or a single address (taken as
    /// `/32` or `/128`). Refused, naming the entry: text that is neither, a range with host
    /// bits set (`10.0.0.1/8`: a typo for a single address would trust a whole network), and
    /// a `/0` (trusting every address lets any client choose the address it is counted under).
    pub fn trusted_proxies(&self) -> Result<Vec<IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|entry| parse_trusted_proxy(entry.trim()))
            .collect()
    }
}

fn parse_trusted_proxy(entry: &str) -> Result<IpNet, ConfigError> {
    const KEY: &str = "http.trusted_proxies";
    let range = match (entry.parse::<IpNet>(), entry.parse::<IpAddr>()) {
        (Ok(range), _) => range,
        (Err(_), Ok(address)) => IpNet::from(address),
        (Err(_), Err(_)) => {
            return Err(invalid(
                KEY,
                format!(
                    "`{entry}` is not a CIDR range or an IP address \
                     (like 10.0.0.0/8, fd00::/8 or 192.0.2.7)"
                ),
            ));
        }
    };
    // Judged as addresses are matched against it: `::ffff:0.0.0.0/96` is every IPv4 address.
    if tessera_http::canonical_range(range).prefix_len() == 0 {
        return Err(invalid(
            KEY,
            format!(
                "`{entry}` would trust every address, so any client could choose the address \
                 it is counted under; list the ranges your proxies send from"
            ),
        ));
    }
    if range.addr() != range.network() {
        return Err(invalid(
            KEY,
            format!(
                "`{entry}` has host bits set; write the network ({}) or the single address \
                 ({}/{})",
                range.trunc(),
                range.addr(),
                range.max_prefix_len()
            ),
        ));
    }
    Ok(range)
}

/// `[database]`: the connection pool.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    /// Most connections a node opens.
    pub max_connections: u32,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self { max_connections: 8 }
    }
}

/// `[webhooks]`: webhook subscriptions and every outbound delivery (back-channel logout).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksSection {
    /// Lets webhooks and back-channel logout target loopback, private and link-local
    /// addresses (refused by default, against server-side request forgery).
    pub allow_private_targets: bool,
    /// The delays between delivery attempts, in seconds; after the last, a delivery is dead.
    pub retry_schedule_seconds: Vec<u64>,
    /// How long a node holds a delivery it claimed, in seconds: a node that dies mid-attempt
    /// leaves its deliveries to others (or to itself, restarted) after this. More than the
    /// 10 s request timeout; the default, 60, also covers the wait for a turn at a busy
    /// endpoint.
    pub lease_seconds: i64,
}

impl Default for WebhooksSection {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            retry_schedule_seconds: tessera_webhooks::STANDARD_DELAYS_SECONDS.to_vec(),
            lease_seconds: tessera_webhooks::DispatcherConfig::default().lease_seconds,
        }
    }
}

impl WebhooksSection {
    /// The retry schedule, as the delivery worker takes it.
    pub fn retry_schedule(&self) -> Result<tessera_webhooks::RetrySchedule, ConfigError> {
        tessera_webhooks::RetrySchedule::from_seconds(&self.retry_schedule_seconds)
            .map_err(|e| invalid("webhooks.retry_schedule_seconds", e.to_string()))
    }

    /// The lease, checked: longer than the request timeout, at most an hour.
    pub fn lease_seconds(&self) -> Result<i64, ConfigError> {
        let timeout = tessera_webhooks::DispatcherConfig::default()
            .request_timeout
            .as_secs();
        let timeout = i64::try_from(timeout).unwrap_or(i64::MAX);
        if self.lease_seconds > timeout && self.lease_seconds <= 3600 {
            Ok(self.lease_seconds)
        } else {
            Err(invalid(
                "webhooks.lease_seconds",
                format!(
                    "must be more than the {timeout} s request timeout and at most 3600 seconds"
                ),
            ))
        }
    }
}

/// `[cache]`: each node's caches of issuers, clients and signing keys (see
/// `tessera_core::CacheLimits`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSection {
    /// Entries per cache.
    pub capacity: usize,
    /// Seconds an entry is trusted without a change notice.
    pub ttl_seconds: i64,
}

impl Default for CacheSection {
    fn default() -> Self {
        let limits = tessera_core::CacheLimits::default();
        Self {
            capacity: limits.capacity,
            ttl_seconds: limits.ttl_seconds,
        }
    }
}

impl CacheSection {
    /// The limits, checked: 100 to 10,000,000 entries, 1 to 3600 seconds.
    pub fn limits(&self) -> Result<tessera_core::CacheLimits, ConfigError> {
        if !(100..=10_000_000).contains(&self.capacity) {
            return Err(invalid(
                "cache.capacity",
                "must be between 100 and 10000000 entries",
            ));
        }
        if !(1..=3600).contains(&self.ttl_seconds) {
            return Err(invalid(
                "cache.ttl_seconds",
                "must be between 1 and 3600 seconds",
            ));
        }
        Ok(tessera_core::CacheLimits {
            capacity: self.capacity,
            ttl_seconds: self.ttl_seconds,
        })
    }
}

/// `[mail]`: how the hosted pages' mail (sign-up verification, password reset) leaves.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSection {
    /// The SMTP relay, as a lettre connection URL (`smtps://USER:PASSWORD@HOST`,
    /// `smtp://USER:PASSWORD@HOST:587?tls=required`, `smtp://127.0.0.1:25`). A secret: it may
    /// hold the relay's password. Without it, mail is written to `{data_dir}/mail/`.
    #[serde(skip_serializing)]
    pub smtp_url: Option<SecretString>,
    /// The installation's sender address; each issuer's display name is the name shown.
    pub from: String,
}

impl Default for MailSection {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: tessera_core::mail::DEFAULT_FROM.to_owned(),
        }
    }
}

impl MailSection {
    /// The folder that takes the mail when no relay is configured: `{data_dir}/mail`.
    pub fn directory(data_dir: &Path) -> PathBuf {
        data_dir.join("mail")
    }

    /// The mailer: the SMTP relay if one is configured, else `.eml` files in
    /// [`Self::directory`] (created here, readable by its owner only).
    pub fn mailer(&self, data_dir: &Path) -> Result<Mailer, MailError> {
        match &self.smtp_url {
            Some(url) => Mailer::smtp(url.expose_secret(), &self.from),
            None => Mailer::directory(Self::directory(data_dir), &self.from),
        }
    }

    /// Checks the sender address and the SMTP URL without creating anything. The URL's own
    /// text is never repeated in the error: it may hold a password.
    fn check(&self) -> Result<(), ConfigError> {
        let checked = match &self.smtp_url {
            Some(url) => Mailer::smtp(url.expose_secret(), &self.from),
            None => Mailer::log_only(&self.from),
        };
        match checked {
            Ok(_) => Ok(()),
            Err(e @ MailError::Sender { .. }) => Err(invalid("mail.from", e.to_string())),
            Err(e) => Err(invalid("mail.smtp_url", e.to_string())),
        }
    }
}

/// The configuration as the layers give it, before validation.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: String,
    public_url: Option<String>,
    data_dir: PathBuf,
    database_url: Option<String>,
    log_format: LogFormat,
    log_level: String,
    #[serde(skip_serializing)]
    master_key: Option<SecretString>,
    #[serde(default)]
    http: HttpSection,
    #[serde(default)]
    database: DatabaseSection,
    #[serde(default)]
    webhooks: WebhooksSection,
    #[serde(default)]
    cache: CacheSection,
    #[serde(default)]
    mail: MailSection,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            public_url: None,
            data_dir: PathBuf::from("./tessera-data"),
            database_url: None,
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            master_key: None,
            http: HttpSection::default(),
            database: DatabaseSection::default(),
            webhooks: WebhooksSection::default(),
            cache: CacheSection::default(),
            mail: MailSection::default(),
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers' value.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    /// `--listen`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// `--public-url`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// `--data-dir`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--database-url`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--log-format`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

/// A configuration that cannot be used, with the key and the reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer could not be read or a value has the wrong shape.
    #[error("invalid configuration: {0}")]
    Layer(String),
    /// A value has the right shape but is not acceptable.
    #[error("invalid configuration: `{key}`: {reason}")]
    Value {
        /// The key, dotted for nested ones.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

/// A database URL. Its `Display` and `Debug` hide the password, so it can be logged and put
/// in error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Accepts `sqlite:…` and `postgres://…` URLs.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let ok = text.starts_with("sqlite:")
            || text.starts_with("postgres://")
            || text.starts_with("postgresql://");
        if !ok {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres:// (e.g. sqlite://./tessera-data/tessera.db)",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    fn sqlite_in(data_dir: &Path) -> Self {
        Self(format!("sqlite://{}/tessera.db", data_dir.display()))
    }

    /// The full URL, password included: only for opening the connection.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// For SQLite, the database file.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.0.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or(rest);
        Some(PathBuf::from(path))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                f.write_str(url.as_str())
            }
            _ => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The URL clients reach Tessera at, without a trailing slash. `None` until the listener
    /// is bound when not configured (then `http://localhost:{port}`).
    pub public_url: Option<url::Url>,
    /// Folder for the SQLite database and the master key file.
    pub data_dir: PathBuf,
    /// Where the data lives.
    pub database_url: DatabaseUrl,
    /// Log line format.
    pub log_format: LogFormat,
    /// A `tracing` filter directive, e.g. `info` or `tessera=debug,info`.
    pub log_level: String,
    /// The master key, if given in configuration; otherwise the key file in `data_dir`.
    pub master_key: Option<MasterKey>,
    /// `[http]`
    pub http: HttpSection,
    /// `[database]`
    pub database: DatabaseSection,
    /// `[webhooks]`
    pub webhooks: WebhooksSection,
    /// `[cache]`
    pub cache: CacheSection,
    /// `[mail]`
    pub mail: MailSection,
}

impl Config {
    /// Reads every layer: the defaults, then `file` if given, then the `TESSERA_*`
    /// environment of this process, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_from_env(file, overrides, Env::prefixed("TESSERA_"))
    }

    fn load_from_env(
        file: Option<&Path>,
        overrides: &Overrides,
        env: Env,
    ) -> Result<Self, ConfigError> {
        // Checked here so that a missing file is an error, not an empty layer.
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::Layer(format!(
                    "the configuration file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let env = env.split("__").filter(|key| {
            !key.as_str()
                .to_ascii_lowercase()
                .starts_with(TEST_ENV_PREFIX)
        });
        let raw: RawConfig = figment
            .merge(env)
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| ConfigError::Layer(describe(e)))?;
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<Self, ConfigError> {
        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!("`{}` is not an address like 127.0.0.1:8080", raw.listen),
            )
        })?;
        let public_url = raw
            .public_url
            .as_deref()
            .map(parse_public_url)
            .transpose()?;
        if raw.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }
        let database_url = match &raw.database_url {
            Some(url) => DatabaseUrl::parse(url)?,
            None => DatabaseUrl::sqlite_in(&raw.data_dir),
        };
        tracing_subscriber::EnvFilter::try_new(&raw.log_level)
            .map_err(|e| invalid("log_level", e.to_string()))?;
        let master_key = raw
            .master_key
            .as_ref()
            .map(|key| MasterKey::from_encoded(key.expose_secret()))
            .transpose()
            .map_err(|e| invalid("master_key", e.to_string()))?;
        if raw.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        raw.http.drain()?;
        raw.http.trusted_proxies()?;
        raw.webhooks.retry_schedule()?;
        raw.webhooks.lease_seconds()?;
        raw.cache.limits()?;
        raw.mail.check()?;
        Ok(Self {
            listen,
            public_url,
            data_dir: raw.data_dir,
            database_url,
            log_format: raw.log_format,
            log_level: raw.log_level,
            master_key,
            http: raw.http,
            database: raw.database,
            webhooks: raw.webhooks,
            cache: raw.cache,
            mail: raw.mail,
        })
    }

    /// The public URL, or the one derived from the port actually bound.
    pub fn public_url_for(&self, bound: SocketAddr) -> url::Url {
        self.public_url.clone().unwrap_or_else(|| {
            url::Url::parse(&format!("http://localhost:{}", bound.port()))
                .expect("a localhost URL with a port is valid")
        })
    }
}

fn parse_public_url(text: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(text)
        .map_err(|e| invalid("public_url", format!("`{text}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("public_url", "must be an http:// or https:// URL"));
    }
    if url.host().is_none() {
        return Err(invalid("public_url", "must name a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("public_url", "must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("public_url", "must not contain credentials"));
    }
    Ok(url)
}

/// Turns figment's errors into lines that name the key, the problem and where it came from.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(source) => format!(" (from {source})"),
                    None => format!(" (from {})", m.name),
                })
                .unwrap_or_default();
            let kind = e.kind.to_string();
            if key.is_empty() {
                format!("{kind}{source}")
            } else {
                format!("`{key}`: {kind}{source}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Loads with exactly `env` as the process environment (figment's jail serializes tests
    /// that touch the environment).
    fn load(
        file: Option<&str>,
        env: &[(&str, &str)],
        overrides: Overrides,
    ) -> Result<Config, String> {
        let mut result = None;
        // figment's own error type is large; this closure never returns it.
        #[allow(clippy::result_large_err)]
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            for (key, value) in env {
                jail.set_env(key, value);
            }
            let path = jail.directory().join("tessera.toml");
            if let Some(text) = file {
                std::fs::write(&path, text).expect("write the test config");
            }
            result = Some(
                Config::load(file.map(|_| path.as_path()), &overrides).map_err(|e| e.to_string()),
            );
            Ok(())
        });
        result.expect("the jail ran")
    }

    #[test]
    fn defaults_work_with_nothing_configured() {
        let config = Config::validate(RawConfig::default()).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            config.public_url_for(config.listen).as_str(),
            "http://localhost:8080/"
        );
        assert_eq!(config.data_dir, PathBuf::from("./tessera-data"));
        assert_eq!(
            config.database_url.expose(),
            "sqlite://./tessera-data/tessera.db"
        );
        assert_eq!(
            config.database_url.sqlite_path(),
            Some(PathBuf::from("./tessera-data/tessera.db"))
        );
        assert!(config.master_key.is_none());
    }

    #[test]
    fn later_layers_win_and_nesting_uses_double_underscores() {
        let file = "listen = \"127.0.0.1:9000\"\nlog_format = \"json\"\n[http]\nshutdown_grace_seconds = 5\n";
        let env = [
            ("TESSERA_LISTEN", "127.0.0.1:9100"),
            ("TESSERA_HTTP__SHUTDOWN_GRACE_SECONDS", "7"),
            ("TESSERA_TEST_POSTGRES_URL", "postgres://ignored"),
        ];
        let config = load(Some(file), &env, Overrides::default()).unwrap();
        assert_eq!(config.listen.port(), 9100);
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.http.shutdown_grace_seconds, 7);

        let flags = Overrides {
            listen: Some("127.0.0.1:9200".to_owned()),
            ..Overrides::default()
        };
        assert_eq!(load(Some(file), &env, flags).unwrap().listen.port(), 9200);
    }

    #[test]
    fn the_drain_defaults_to_two_seconds_and_is_at_most_five_minutes() {
        let config = load(None, &[], Overrides::default()).unwrap();
        assert_eq!(
            config.http.drain().unwrap(),
            std::time::Duration::from_secs(2)
        );
        for good in ["0", "300"] {
            let env = [("TESSERA_HTTP__DRAIN_SECONDS", good)];
            let config = load(None, &env, Overrides::default()).unwrap();
            assert_eq!(config.http.drain_seconds.to_string(), good);
        }
        let file = "[http]\ndrain_seconds = 301\n";
        let err = load(Some(file), &[], Overrides::default()).unwrap_err();
        assert!(err.contains("http.drain_seconds"), "{err}");
        let err = load(
            None,
            &[("TESSERA_HTTP__DRAIN_SECONDS", "-1")],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.contains("drain_seconds"), "{err}");
    }

    #[test]
    fn private_webhook_targets_are_refused_unless_allowed() {
        let config = load(None, &[], Overrides::default()).unwrap();
        assert!(!config.webhooks.allow_private_targets);
        let env = [("TESSERA_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")];
        let config = load(None, &env, Overrides::default()).unwrap();
        assert!(config.webhooks.allow_private_targets);
        let file = "[webhooks]\nallow_private_targets = true\n";
        let config = load(Some(file), &[], Overrides::default()).unwrap();
        assert!(config.webhooks.allow_private_targets);
    }

    #[test]
    fn the_delivery_retry_schedule_defaults_to_the_standard_one_and_is_checked() {
        let config = load(None, &[], Overrides::default()).unwrap();
        assert_eq!(
            config.webhooks.retry_schedule().unwrap(),
            tessera_webhooks::RetrySchedule::standard()
        );
        let file = "[webhooks]\nretry_schedule_seconds = [5, 50]\n";
        let config = load(Some(file), &[], Overrides::default()).unwrap();
        assert_eq!(config.webhooks.retry_schedule().unwrap().max_attempts(), 3);
        for bad in ["[]", "[0]", "[1, 999999999]"] {
            let file = format!("[webhooks]\nretry_schedule_seconds = {bad}\n");
            let err = load(Some(&file), &[], Overrides::default()).unwrap_err();
            assert!(
                err.to_string().contains("webhooks.retry_schedule_seconds"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_delivery_lease_outlasts_a_request() {
        let config = load(None, &[], Overrides::default()).unwrap();
        assert_eq!(config.webhooks.lease_seconds().unwrap(), 60);
        let env = [("TESSERA_WEBHOOKS__LEASE_SECONDS", "12")];
        let config = load(None, &env, Overrides::default()).unwrap();
        assert_eq!(config.webhooks.lease_seconds().unwrap(), 12);
        for bad in ["10", "0", "3601"] {
            let env = [("TESSERA_WEBHOOKS__LEASE_SECONDS", bad)];
            let err = load(None, &env, Overrides::default()).unwrap_err();
            assert!(
                err.to_string().contains("webhooks.lease_seconds"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn trusted_proxies_are_none_by_default_and_come_from_every_layer() {
        let config = load(None, &[], Overrides::default()).unwrap();
        assert!(config.http.trusted_proxies().unwrap().is_empty());

        let file = "[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"fd00::/8\", \"127.0.0.1/32\", \
                    \" 192.0.2.7 \", \"2001:db8::1\", \"::ffff:10.0.0.0/104\"]\n";
        let config = load(Some(file), &[], Overrides::default()).unwrap();
        let expected = [
            "10.0.0.0/8",
            "fd00::/8",
            "127.0.0.1/32",
            "192.0.2.7/32",
            "2001:db8::1/128",
            "::ffff:10.0.0.0/104",
        ]
        .map(|range| range.parse::<IpNet>().unwrap());
        assert_eq!(config.http.trusted_proxies().unwrap(), expected);

        // A list in the environment is figment's array syntax, quoted or not; it wins over
        // the file.
        for list in ["[\"10.0.0.0/8\", \"fd00::/8\"]", "[10.0.0.0/8, fd00::/8]"] {
            let env = [("TESSERA_HTTP__TRUSTED_PROXIES", list)];
            let config = load(Some(file), &env, Overrides::default()).unwrap();
            assert_eq!(
                config.http.trusted_proxies().unwrap(),
                ["10.0.0.0/8", "fd00::/8"].map(|range| range.parse::<IpNet>().unwrap()),
                "{list}"
            );
        }
        let env = [("TESSERA_HTTP__TRUSTED_PROXIES", "[]")];
        let config = load(Some(file), &env, Overrides::default()).unwrap();
        assert!(config.http.trusted_proxies().unwrap().is_empty());
        // A bare value is not a list; the error names the key.
        let env = [("TESSERA_HTTP__TRUSTED_PROXIES", "10.0.0.0/8")];
        let err = load(None, &env, Overrides::default()).unwrap_err();
        assert!(err.contains("`http.trusted_proxies`"), "{err}");
        assert!(err.contains("sequence"), "{err}");
    }

    #[test]
    fn a_bad_trusted_proxy_is_refused_with_the_entry_and_what_to_write() {
        for (entry, advice) in [
            ("10.0.0.0/33", "not a CIDR range or an IP address"),
            ("fd00::/129", "not a CIDR range or an IP address"),
            ("proxy.internal", "not a CIDR range or an IP address"),
            ("10.0.0.0/8,fd00::/8", "not a CIDR range or an IP address"),
            ("", "not a CIDR range or an IP address"),
            (
                "10.0.0.1/8",
                "write the network (10.0.0.0/8) or the single address (10.0.0.1/32)",
            ),
            (
                "fd00::1/8",
                "write the network (fd00::/8) or the single address (fd00::1/128)",
            ),
            ("0.0.0.0/0", "would trust every address"),
            ("::/0", "would trust every address"),
            ("::ffff:0.0.0.0/96", "would trust every address"),
        ] {
            let file = format!("[http]\ntrusted_proxies = [\"127.0.0.1/32\", \"{entry}\"]\n");
            let err = load(Some(&file), &[], Overrides::default()).unwrap_err();
            assert!(err.contains("`http.trusted_proxies`"), "{entry}: {err}");
            assert!(err.contains(&format!("`{entry}`")), "{entry}: {err}");
            assert!(err.contains(advice), "{entry}: {err}");
        }
        let env = [("TESSERA_HTTP__TRUSTED_PROXIES", "[\"10.0.0.0/33\"]")];
        let err = load(None, &env, Overrides::default()).unwrap_err();
        assert_eq!(
            err,
            "invalid configuration: `http.trusted_proxies`: `10.0.0.0/33` is not a CIDR range \
             or an IP address (like 10.0.0.0/8, fd00::/8 or 192.0.2.7)"
        );
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err = load(Some("colour = \"blue\"\n"), &[], Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = load(Some("[http]\nport = 1\n"), &[], Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("port"), "{err}");
        let err = load(None, &[("TESSERA_LISEN", "x")], Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (file, key) in [
            ("listen = \"nowhere\"", "listen"),
            ("public_url = \"ftp://x\"", "public_url"),
            ("public_url = \"http://localhost/?q=1\"", "public_url"),
            ("database_url = \"mysql://x\"", "database_url"),
            ("log_format = \"xml\"", "log_format"),
            ("master_key = \"short\"", "master_key"),
            (
                "[database]\nmax_connections = 0",
                "database.max_connections",
            ),
            ("listen = [1, 2]", "listen"),
        ] {
            let err = load(Some(file), &[], Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{file}: {err}");
        }
        let err = load(Some("listen = "), &[], Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let key = MasterKey::generate().encode();
        let file = format!(
            "master_key = \"{key}\"\ndatabase_url = \"postgres://tessera:hunter2@db.internal/tessera\"\n\
             [mail]\nsmtp_url = \"smtps://tessera:swordfish@mail.internal\"\n"
        );
        let config = load(Some(&file), &[], Overrides::default()).unwrap();
        let mailer = config.mail.mailer(Path::new("unused")).unwrap();
        let printed = format!("{config:?} {} {mailer} {mailer:?}", config.database_url);
        assert!(!printed.contains(&key));
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("swordfish"), "{printed}");
        assert!(printed.contains("db.internal"));
        assert!(printed.contains("mail.internal:465"), "{printed}");
    }

    #[tokio::test]
    async fn without_an_smtp_url_mail_is_written_to_the_data_folder() {
        let config = load(None, &[], Overrides::default()).unwrap();
        assert!(config.mail.smtp_url.is_none());
        assert_eq!(config.mail.from, "tessera@localhost");
        let data_dir = tempfile::tempdir().unwrap();
        let mailer = config.mail.mailer(data_dir.path()).unwrap();
        let folder = data_dir.path().join("mail");
        assert_eq!(MailSection::directory(data_dir.path()), folder);
        assert!(folder.is_dir());
        let mail = tessera_core::mail::OutgoingMail {
            to: "ada@example.com".to_owned(),
            sender_name: "Default".to_owned(),
            subject: "Verify your email".to_owned(),
            text: "https://id.example.com/verify".to_owned(),
            html: None,
        };
        mailer.send(&mail).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(text.contains("Subject: Verify your email"), "{text}");
        assert!(text.contains("Default <tessera@localhost>"), "{text}");
    }

    #[test]
    fn mail_settings_come_from_every_layer_and_are_checked() {
        let env = [
            ("TESSERA_MAIL__SMTP_URL", "smtp://127.0.0.1:2525"),
            ("TESSERA_MAIL__FROM", "id@example.com"),
        ];
        let config = load(None, &env, Overrides::default()).unwrap();
        assert_eq!(config.mail.from, "id@example.com");
        let mailer = config.mail.mailer(Path::new("unused")).unwrap();
        assert_eq!(mailer.to_string(), "SMTP relay 127.0.0.1:2525");
        assert_eq!(mailer.from_address(), "id@example.com");

        let file = "[mail]\nfrom = \"no-reply@example.com\"\n";
        let config = load(Some(file), &[], Overrides::default()).unwrap();
        assert_eq!(config.mail.from, "no-reply@example.com");

        for (file, key) in [
            ("[mail]\nfrom = \"Tessera <id@example.com>\"", "mail.from"),
            ("[mail]\nfrom = \"nobody\"", "mail.from"),
            (
                "[mail]\nsmtp_url = \"https://mail.example.com\"",
                "mail.smtp_url",
            ),
            (
                "[mail]\nsmtp_url = \"smtp://u:hunter2@mail.example.com:587\"",
                "mail.smtp_url",
            ),
            ("[mail]\nsender = \"x\"", "sender"),
        ] {
            let err = load(Some(file), &[], Overrides::default()).unwrap_err();
            assert!(err.contains(key), "{file}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    proptest! {
        /// Any text as a public URL or database URL is either accepted or refused with the
        /// key named; it never panics.
        #[test]
        fn url_values_never_panic(text in "\\PC{0,60}") {
            let raw = RawConfig { public_url: Some(text.clone()), database_url: Some(text), ..RawConfig::default() };
            if let Err(e) = Config::validate(raw) {
                let e = e.to_string();
                prop_assert!(e.contains("public_url") || e.contains("database_url"));
            }
        }
    }
}
