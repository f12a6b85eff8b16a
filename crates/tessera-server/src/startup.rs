//! From a [`Config`] to a running server: open the installation, bind, serve, stop.
//!
//! The order of start-up is the order of what can go wrong, cheapest first: the data folder,
//! the serve lock, the master key, the mail folder (when no SMTP relay is configured), the
//! database connection, migrations, the master-key check, the built-in issuers, and only then
//! the port. Every failure is a [`StartupError`] with a message a person can act on; none is a
//! panic.

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tessera_core::bootstrap::BuiltinIssuers;
use tessera_core::mail::Mailer;
use tessera_core::{Core, CoreError};
use tessera_model::{Clock, UnixTime};
use tessera_store::{SchemaStatus, Store, StoreError};
use tessera_store_sql::PoolSize;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::{Config, ConfigError, DatabaseUrl};
use crate::data_dir;

/// The wall clock; the only place that reads it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> UnixTime {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        UnixTime(i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX))
    }
}

/// Why Tessera could not start or a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data folder (or a file in it) cannot be created, written or read.
    #[error("cannot use the data folder: {path}: {source}")]
    DataDir {
        /// The path that failed.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Another `tessera serve` holds the SQLite database.
    #[error(
        "another `tessera serve` is already running on {database} (only one server may use \
         a SQLite database; use PostgreSQL for several nodes)"
    )]
    AlreadyServing {
        /// The database file.
        database: PathBuf,
    },
    /// The master key file is not a key.
    #[error("the master key file {path} is not valid: {reason}")]
    MasterKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The database cannot be opened or reached.
    #[error("cannot open the database at {url}: {source}")]
    Database {
        /// The URL, password hidden.
        url: DatabaseUrl,
        /// The store's reason.
        source: StoreError,
    },
    /// Migrating failed or the schema is newer than this build.
    #[error("cannot bring the database schema up to date: {0}")]
    Migration(StoreError),
    /// A use case failed during start-up.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The listening address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The mail transport cannot be set up (e.g. the mail folder cannot be created).
    #[error(transparent)]
    Mail(#[from] tessera_core::mail::MailError),
    /// The delivery worker cannot be set up.
    #[error(transparent)]
    Dispatcher(#[from] crate::deliveries::DispatcherError),
    /// The server stopped with an I/O error.
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
    /// A file a command was asked to write cannot be written.
    #[error("cannot write {path}: {source}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

impl StartupError {
    /// The process exit code: 2 for configuration (as for usage errors), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => 2,
            _ => 1,
        }
    }
}

/// An opened installation: the store at the current schema, the use cases, the built-in
/// issuers. Both `serve` and the admin commands start here.
pub struct Installation {
    /// The use cases.
    pub core: Core,
    /// The built-in issuers.
    pub builtin: BuiltinIssuers,
    /// Held while serving on SQLite.
    _serve_lock: Option<File>,
}

impl std::fmt::Debug for Installation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installation")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

/// Whether the caller will serve (and so must hold the SQLite lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `tessera serve`.
    Serve,
    /// An admin command beside a running server.
    Admin,
}

/// The first, local steps of opening an installation: the data folder is usable, the serve
/// lock (if serving on SQLite) is held, and the master key is loaded. Taken before the port
/// is bound, so that a second server on the same data reports the lock, not a busy port.
pub struct Claim {
    master_key: tessera_crypto::MasterKey,
    serve_lock: Option<File>,
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim").finish_non_exhaustive()
    }
}

impl Claim {
    /// Prepares the data folder, takes the serve lock when serving on SQLite, and loads (or
    /// creates) the master key.
    pub fn take(config: &Config, purpose: Purpose) -> Result<Self, StartupError> {
        data_dir::prepare(&config.data_dir)?;
        let sqlite_path = config.database_url.sqlite_path();
        if let Some(parent) = sqlite_path.as_deref().and_then(|p| p.parent())
            && !parent.as_os_str().is_empty()
        {
            data_dir::prepare(parent)?;
        }
        let serve_lock = match (&sqlite_path, purpose) {
            (Some(path), Purpose::Serve) => Some(data_dir::lock_for_serving(path)?),
            _ => None,
        };
        let master_key = data_dir::master_key(&config.data_dir, config.master_key.as_ref())?;
        Ok(Self {
            master_key,
            serve_lock,
        })
    }
}

impl Installation {
    /// Opens the database, migrates, checks the master key, and makes sure the built-in
    /// issuers exist. `public_url` is where clients reach this installation.
    pub async fn open(
        claim: Claim,
        config: &Config,
        public_url: &url::Url,
    ) -> Result<Self, StartupError> {
        let store = open_store(config).await?;
        store.migrate().await.map_err(StartupError::Migration)?;
        let core = Core::new(
            store,
            Arc::new(SystemClock),
            claim.master_key,
            public_url.as_str(),
        )
        .with_private_webhook_targets(config.webhooks.allow_private_targets)
        .with_cache_limits(config.cache.limits()?);
        core.verify_master_key().await?;
        let builtin = core.ensure_builtin_issuers().await?;
        Ok(Self {
            core,
            builtin,
            _serve_lock: claim.serve_lock,
        })
    }
}

/// Connects to the configured database.
pub(crate) async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartupError> {
    let size = PoolSize {
        max_connections: config.database.max_connections,
    };
    tessera_store_sql::connect(config.database_url.expose(), size)
        .await
        .map_err(|source| StartupError::Database {
            url: config.database_url.clone(),
            source,
        })
}

/// `tessera migrate`: brings the schema up to date.
pub async fn migrate(config: &Config) -> Result<SchemaStatus, StartupError> {
    data_dir::prepare(&config.data_dir)?;
    let store = open_store(config).await?;
    let status = store.migrate().await.map_err(StartupError::Migration)?;
    store.close().await;
    Ok(status)
}

/// A server, bound and ready to run.
pub struct Application {
    installation: Installation,
    listener: tokio::net::TcpListener,
    public_url: url::Url,
    drain: Duration,
    grace: Duration,
    dispatcher: tessera_webhooks::Dispatcher,
    mailer: Mailer,
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("public_url", &self.public_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens the installation and binds the listener.
    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let claim = Claim::take(config, Purpose::Serve)?;
        let mailer = config.mail.mailer(&config.data_dir)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartupError::Bind {
                address: config.listen,
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| StartupError::Bind {
            address: config.listen,
            source,
        })?;
        let public_url = config.public_url_for(bound);
        let installation = Installation::open(claim, config, &public_url).await?;
        let dispatcher = crate::deliveries::dispatcher(
            &installation.core,
            Arc::new(SystemClock),
            &config.webhooks,
        )?;
        Ok(Self {
            installation,
            listener,
            public_url,
            drain: config.http.drain()?,
            grace: Duration::from_secs(config.http.shutdown_grace_seconds),
            dispatcher,
            mailer,
            trusted_proxies: config.http.trusted_proxies()?,
        })
    }

    /// The address actually bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has a local address")
    }

    /// The public URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }

    /// The use cases, for tests and tools that run beside the server.
    pub fn core(&self) -> &Core {
        &self.installation.core
    }

    /// Serves, and runs the delivery worker and housekeeping, until `shutdown` completes; then
    /// stops accepting at once (no drain) and lets requests and delivery attempts in flight
    /// finish.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        self.run(|_| shutdown).await
    }

    /// Serves until SIGTERM or SIGINT, then drains: for `http.drain_seconds` every request is
    /// still served while `/readyz` answers 503, so that load balancers take the node out of
    /// rotation while it still answers what they send; a second signal ends the drain early.
    /// Then it stops as [`Self::run_until`] does.
    pub async fn run_until_signalled(self, mut signals: StopSignals) -> Result<(), StartupError> {
        let drain = self.drain;
        self.run(move |draining| async move {
            signals.recv().await;
            draining.start();
            tracing::info!(
                ?drain,
                "draining: /readyz answers 503 while requests are still served (a second \
                 signal ends the drain)"
            );
            tokio::select! {
                () = tokio::time::sleep(drain) => {}
                () = signals.recv() => tracing::info!("second signal: the drain ends early"),
            }
        })
        .await
    }

    /// Serves until the future that `shutdown` makes (given the switch that puts the server
    /// into draining) completes.
    async fn run<F>(
        self,
        shutdown: impl FnOnce(tessera_http::Draining) -> F,
    ) -> Result<(), StartupError>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let public_url = self.public_url();
        let store = self.installation.core.store().clone();
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            listen = %self.local_addr(),
            database = store.backend().as_str(),
            "Tessera is ready"
        );
        tracing::info!(
            "  default issuer: {public_url}/{}",
            self.installation.builtin.default.slug
        );
        tracing::info!(
            "  discovery:      {public_url}/{}/.well-known/openid-configuration",
            self.installation.builtin.default.slug
        );
        tracing::info!(
            "  Core API:       {public_url}/core/v1 (credentials: tessera admin create-credential)"
        );
        tracing::info!(
            "  health:         {public_url}/healthz, {public_url}/readyz, {public_url}/metrics"
        );
        tracing::info!("  mail:           {}", self.mailer);
        if !self.trusted_proxies.is_empty() {
            let ranges: Vec<String> = self
                .trusted_proxies
                .iter()
                .map(ToString::to_string)
                .collect();
            tracing::info!(
                "  proxies:        {} (client addresses from their X-Forwarded-For or Forwarded)",
                ranges.join(", ")
            );
        }
        let state = tessera_http::AppState::new(self.installation.core.clone())
            .with_mailer(self.mailer)
            .with_trusted_proxies(self.trusted_proxies);
        let shutdown = shutdown(state.draining());
        // One signal stops both: the worker stops claiming while requests drain.
        let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
        let shutdown = async move {
            shutdown.await;
            let _ = stop_worker.send(true);
        };
        let stopped = |mut receiver: tokio::sync::watch::Receiver<bool>| async move {
            let _ = receiver.wait_for(|stop| *stop).await;
        };
        let changes = tokio::spawn(crate::changes::run(
            self.installation.core.clone(),
            stopped(worker_stopped.clone()),
        ));
        let revalidation = tokio::spawn(crate::changes::revalidate(
            self.installation.core.clone(),
            stopped(worker_stopped.clone()),
        ));
        let housekeeping = tokio::spawn(crate::housekeeping::run(
            self.installation.core.clone(),
            crate::housekeeping::node_name(),
            stopped(worker_stopped.clone()),
        ));
        let worker = tokio::spawn(self.dispatcher.run(stopped(worker_stopped)));
        let result = tessera_http::serve(self.listener, state, shutdown, self.grace).await;
        if let Err(error) = worker.await {
            tracing::error!(%error, "the delivery worker stopped abnormally");
        }
        if let Err(error) = housekeeping.await {
            tracing::error!(%error, "housekeeping stopped abnormally");
        }
        if let Err(error) = changes.await {
            tracing::error!(%error, "the change feed stopped abnormally");
        }
        if let Err(error) = revalidation.await {
            tracing::error!(%error, "cache revalidation stopped abnormally");
        }
        store.close().await;
        tracing::info!("stopped");
        result.map_err(StartupError::Serve)
    }
}

/// SIGTERM and SIGINT, each time one arrives. The handlers are installed when this is made,
/// not when it is first awaited: a signal that arrives between the ready banner and the first
/// poll must still mean a graceful stop, not the default action (death). Make it inside the
/// runtime, before the server is built.
#[derive(Debug)]
pub struct StopSignals {
    /// `None` when the handlers could not be installed: then no signal ever arrives here,
    /// and the process can only be killed.
    handlers: Option<(Signal, Signal)>,
}

impl StopSignals {
    /// Installs the handlers.
    pub fn install() -> Self {
        let handlers = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(terminate), Ok(interrupt)) => Some((terminate, interrupt)),
            _ => None,
        };
        Self { handlers }
    }

    /// Completes when the next SIGTERM or SIGINT arrives.
    pub async fn recv(&mut self) {
        match &mut self.handlers {
            Some((terminate, interrupt)) => {
                tokio::select! {
                    Some(()) = terminate.recv() => {},
                    Some(()) = interrupt.recv() => {},
                    else => std::future::pending::<()>().await,
                }
            }
            None => std::future::pending::<()>().await,
        }
    }
}
