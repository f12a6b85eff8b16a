//! Test support: [`TestApp`] runs a real Tessera server in the test's process, on port 0,
//! over a fresh database of this run's backend (SQLite, or PostgreSQL when
//! `TESSERA_TEST_POSTGRES_URL` is set), built from a `Config` exactly as `main` builds it.
//! Each test owns its app, its database and its data folder; nothing is shared or ordered.

use std::net::SocketAddr;

pub mod chromium;
pub mod oidc;
pub mod receiver;
pub mod smtp;

use tessera_core::Core;
use tessera_crypto::MasterKey;
use tessera_server::config::{
    CacheSection, DatabaseSection, DatabaseUrl, HttpSection, MailSection, WebhooksSection,
};
use tessera_server::{Application, Config, LogFormat, StartupError};
use tessera_store_sql::testing::{FreshDatabase, fresh_database};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server and what it owns.
pub struct TestApp {
    /// Where it listens.
    pub address: SocketAddr,
    /// `http://127.0.0.1:{port}`.
    pub base_url: String,
    /// An HTTP client for it.
    pub client: reqwest::Client,
    core: Core,
    config: Config,
    /// Dropping it (with the app) also stops the server.
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), StartupError>>>,
    database: FreshDatabase,
    data_dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl TestApp {
    /// Starts a server on a fresh database.
    ///
    /// # Panics
    /// When the server cannot start: the test cannot go on.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server on a fresh database, with the test configuration changed by `adjust`
    /// (e.g. `webhooks.allow_private_targets`, so that deliveries reach receivers on
    /// loopback).
    ///
    /// # Panics
    /// When the server cannot start.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let database = fresh_database().await;
        let data_dir = tempfile::tempdir().expect("create a data folder");
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("a socket address"),
            public_url: None,
            data_dir: data_dir.path().to_owned(),
            database_url: DatabaseUrl::parse(&database.url).expect("a database URL"),
            log_format: LogFormat::Text,
            log_level: "warn".to_owned(),
            master_key: Some(MasterKey::generate()),
            http: HttpSection::default(),
            database: DatabaseSection::default(),
            webhooks: WebhooksSection::default(),
            cache: CacheSection::default(),
            mail: MailSection::default(),
        };
        let mut config = config;
        adjust(&mut config);
        Self::start(config, database, data_dir).await
    }

    async fn start(config: Config, database: FreshDatabase, data_dir: tempfile::TempDir) -> Self {
        let app = Application::build(&config)
            .await
            .expect("the test server starts");
        let address = app.local_addr();
        let core = app.core().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            address,
            base_url: format!("http://{address}"),
            client: reqwest::Client::new(),
            core,
            config,
            stop: Some(stop),
            server: Some(server),
            database,
            data_dir,
        }
    }

    /// The use cases behind the server, to arrange state directly.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The URL of this app's database.
    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    /// This app's database, e.g. to cut its connections ([`FreshDatabase::cut_connections`]).
    pub fn database(&self) -> &FreshDatabase {
        &self.database
    }

    /// A Core API access token, from a new credential (restricted to `issuers` unless empty)
    /// through the token endpoint's client-credentials grant.
    ///
    /// # Panics
    /// When the token cannot be obtained.
    pub async fn core_api_token(&self, issuers: &[&str]) -> String {
        let slugs: Vec<_> = issuers
            .iter()
            .map(|s| tessera_model::IssuerSlug::parse(s).expect("a test slug"))
            .collect();
        let credential = self
            .core
            .create_admin_credential("test", &slugs)
            .await
            .expect("create a Core API credential");
        let response: serde_json::Value = self
            .client
            .post(format!("{}/system/oauth/token", self.base_url))
            .basic_auth(
                credential.client_id.to_string(),
                Some(credential.client_secret.expose()),
            )
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("the token request reaches the server")
            .json()
            .await
            .expect("a JSON token response");
        response["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// A Core API request with a bearer token: `{method} {base_url}{path}`.
    pub fn core_request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(token)
    }

    /// `GET {base_url}{path}`.
    ///
    /// # Panics
    /// When the request cannot be sent.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("the request reaches the test server")
    }

    /// Stops the server gracefully and waits until it has.
    ///
    /// # Panics
    /// When the server stopped with an error.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task")
                .expect("the server stops cleanly");
        }
    }

    /// Stops the server and starts a new one on the same database, data folder and
    /// configuration (a new port).
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        let config = self.config.clone();
        let Self {
            database, data_dir, ..
        } = self;
        Self::start(config, database, data_dir).await
    }
}

/// Asserts that `response` is an RFC 9457 problem document with `status` and `code`, and
/// returns its body.
///
/// # Panics
/// When it is not.
pub async fn expect_problem(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.expect("a JSON problem document");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    body
}

/// Waits until an identifier that has just failed `failures` sign-ins in a row may try again
/// under the default lockout policy (`LockoutPolicy::delay_after`), with a second to spare:
/// the store counts whole seconds, and the wait runs from when the failure was written.
pub async fn wait_out_sign_in_delay(failures: i64) {
    let delay = tessera_model::LockoutPolicy::default().delay_after(failures);
    let millis = u64::try_from(delay).unwrap_or(0) * 1000 + 1100;
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}
