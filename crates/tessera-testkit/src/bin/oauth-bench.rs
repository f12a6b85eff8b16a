//! A load driver for an OAuth 2.0 / OpenID Connect provider's token path: the same
//! measurement for Tessera and for a peer (node `oidc-provider`), so that the two compare.
//!
//! `oauth-bench run` takes a target — an issuer URL and one confidential client — and, for each
//! scenario and each connection count, opens N HTTP/1.1 keep-alive connections, runs them
//! closed-loop (each connection sends its next request when the previous answer is read) for a
//! warm-up and then for the measured duration, and reports requests per second, p50 and p99
//! latency, and every non-2xx answer or connection failure as an error. Errors are counted in
//! the table, never dropped. Scenarios:
//!
//! - `client_credentials`: `POST token_endpoint`, `client_secret_basic`,
//!   `grant_type=client_credentials`;
//! - `refresh`: `POST token_endpoint`, `grant_type=refresh_token`, each connection following its
//!   own rotating refresh-token chain. Obtaining the first refresh token of a chain needs an
//!   authorization-code login with a user ([`ScriptedLogin`]: `--login-username`,
//!   `--login-password`, `--redirect-uri`), one per connection before the clock starts;
//!   without a user the scenario reports `skipped: <reason>`;
//! - `introspection`: `POST introspection_endpoint` (authenticated as the client) for one
//!   access token obtained once by client credentials (with `resource=…` when
//!   `--introspection-resource` is given);
//! - `jwks`: `GET jwks_uri`;
//! - `discovery`: `GET {issuer}/.well-known/openid-configuration`.
//!
//! Endpoint URLs come from the target's discovery document. Where there is none, the driver
//! falls back to Tessera's paths (`{issuer}/oauth/token`, `{issuer}/oauth/introspect`,
//! `{issuer}/.well-known/jwks.json`). Before a scenario is measured one probe request checks
//! it: a 404 skips the scenario (the target does not serve it), any other failure marks it
//! failed, and either way the reason is printed in its row.
//!
//! Each run prints a Markdown table and can write its results as JSON (`--json-out`);
//! `oauth-bench report --baseline NAME FILE…` prints every target's table and the ratio of
//! each target to the baseline. `scripts/bench-oauth.sh` runs the whole comparison.
//!
//! Latency is measured at the driver, from writing a request to having read its whole body.
//! The load is closed-loop, so the numbers are service times under N outstanding requests, not
//! an open-loop arrival rate's latencies.

#![allow(clippy::print_stdout, clippy::print_stderr)] // the report is the output

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpStream;
use url::Url;

/// Measures an OAuth provider's token-path endpoints.
#[derive(Parser, Debug)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Measure one target and print its table.
    Run(Box<RunArgs>),
    /// Print the tables of earlier runs and each one's ratio to a baseline.
    Report {
        /// The name of the run the others are divided by.
        #[arg(long)]
        baseline: String,
        /// JSON files written by `run --json-out`.
        files: Vec<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// A name for the target in the tables (e.g. `tessera-sqlite`).
    #[arg(long)]
    name: String,
    /// The issuer URL; discovery is `{issuer}/.well-known/openid-configuration`.
    #[arg(long)]
    issuer: String,
    /// A confidential client allowed the client-credentials grant.
    #[arg(long)]
    client_id: String,
    /// Its secret (sent with HTTP Basic, RFC 6749 §2.3.1).
    #[arg(long, env = "OAUTH_BENCH_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// Scenarios, in order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "client_credentials,refresh,introspection,jwks,discovery"
    )]
    scenarios: Vec<Scenario>,
    /// Concurrent keep-alive connections, one measurement per value.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    connections: Vec<usize>,
    /// Measured time per scenario and connection count (`10s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured load before each measurement.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Ask for the introspected token with `resource=URI` (oidc-provider introspects only its
    /// opaque tokens, which it issues for a resource configured so).
    #[arg(long, value_name = "URI")]
    introspection_resource: Option<String>,
    /// The user each `refresh` chain logs in as (authorization code flow); without it,
    /// `refresh` is skipped.
    #[arg(long)]
    login_username: Option<String>,
    /// That user's password.
    #[arg(long, env = "OAUTH_BENCH_LOGIN_PASSWORD", hide_env_values = true)]
    login_password: Option<String>,
    /// A redirect URI registered for the client; nothing needs to listen there.
    #[arg(long, default_value = "http://127.0.0.1:9999/callback")]
    redirect_uri: String,
    /// The scope the login asks for; it must yield a refresh token.
    #[arg(long, default_value = "openid offline_access")]
    login_scope: String,
    /// Extra authorization request parameters, `KEY=VALUE` (e.g. `prompt=consent`, which
    /// oidc-provider needs before it grants `offline_access`).
    #[arg(long, value_name = "KEY=VALUE")]
    authorize_param: Vec<String>,
    /// The server's process id, to report the CPU it used during each measurement.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Write the results here as JSON, for `report`.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[clap(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
enum Scenario {
    ClientCredentials,
    Refresh,
    Introspection,
    Jwks,
    Discovery,
}

impl Scenario {
    fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::Refresh => "refresh",
            Self::Introspection => "introspection",
            Self::Jwks => "jwks",
            Self::Discovery => "discovery",
        }
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 10s or 500ms"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|e| e.to_string())
}

/// What a run found and measured: one target.
#[derive(Serialize, Deserialize)]
struct Report {
    name: String,
    issuer: String,
    cpus: usize,
    duration_secs: f64,
    warmup_secs: f64,
    /// `/proc/loadavg`'s 1-minute figure when the run started and ended: other work on the
    /// machine skews the numbers.
    load_before: String,
    load_after: String,
    /// How the endpoints were found, and what the probes saw.
    notes: Vec<String>,
    cells: Vec<Cell>,
}

/// One scenario at one connection count: a row.
#[derive(Serialize, Deserialize)]
struct Cell {
    scenario: Scenario,
    connections: usize,
    outcome: Outcome,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Measured(Measurement),
    /// The target does not serve what the scenario needs.
    Skipped(String),
    /// The probe request failed: measuring would count only errors.
    Failed(String),
}

#[derive(Clone, Serialize, Deserialize)]
struct Measurement {
    /// Successful (2xx) answers to requests started in the measured window.
    ok: u64,
    /// Non-2xx answers by status, and `io` for connection failures.
    errors: BTreeMap<String, u64>,
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// The driver's CPU time over the window, in % of one core.
    driver_cpu_pct: Option<f64>,
    /// The server's, when its pid was given.
    server_cpu_pct: Option<f64>,
}

impl Measurement {
    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn errors_text(&self) -> String {
        if self.errors.is_empty() {
            return "0".to_owned();
        }
        let detail: Vec<_> = self
            .errors
            .iter()
            .map(|(k, v)| format!("{k}×{v}"))
            .collect();
        format!("{} ({})", self.error_count(), detail.join(", "))
    }
}

#[tokio::main]
async fn main() {
    match Cli::parse().command {
        Command::Run(args) => {
            let report = run(&args).await;
            print_report(&report);
            if let Some(path) = &args.json_out {
                let json = serde_json::to_vec_pretty(&report).expect("serialise the report");
                std::fs::write(path, json).expect("write the JSON report");
            }
            let failed = report
                .cells
                .iter()
                .any(|c| matches!(c.outcome, Outcome::Failed(_)));
            if failed {
                std::process::exit(1);
            }
        }
        Command::Report { baseline, files } => {
            let reports: Vec<Report> = files
                .iter()
                .map(|path| {
                    let bytes = std::fs::read(path)
                        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                    serde_json::from_slice(&bytes)
                        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
                })
                .collect();
            for report in &reports {
                print_report(report);
            }
            let Some(base) = reports.iter().find(|r| r.name == baseline) else {
                eprintln!("oauth-bench: no run named {baseline}");
                std::process::exit(2);
            };
            for report in reports.iter().filter(|r| r.name != baseline) {
                print_ratio(report, base);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The target: endpoints, client, probes.

/// Where a target's endpoints are, from its discovery document or the fallback paths.
struct Target {
    issuer: String,
    discovery_url: String,
    /// The discovery document, when the target serves one.
    discovery: Option<Value>,
    token_endpoint: String,
    jwks_uri: String,
    introspection_endpoint: String,
    client_id: String,
    /// `Basic base64(urlencode(id):urlencode(secret))`.
    basic: String,
}

impl Target {
    async fn discover(args: &RunArgs, http: &reqwest::Client, notes: &mut Vec<String>) -> Self {
        let issuer = args.issuer.trim_end_matches('/').to_owned();
        let discovery_url = format!("{issuer}/.well-known/openid-configuration");
        let discovery = match http.get(&discovery_url).send().await {
            Ok(response) if response.status().is_success() => response.json::<Value>().await.ok(),
            Ok(response) => {
                notes.push(format!(
                    "discovery: {} at {discovery_url}; using Tessera's fallback paths",
                    response.status().as_u16()
                ));
                None
            }
            Err(error) => panic!("the target does not answer at {discovery_url}: {error}"),
        };
        let endpoint = |field: &str, fallback: String| -> String {
            match discovery.as_ref().and_then(|d| d[field].as_str()) {
                Some(url) => url.to_owned(),
                None => fallback,
            }
        };
        let token_endpoint = endpoint("token_endpoint", format!("{issuer}/oauth/token"));
        let jwks_uri = endpoint("jwks_uri", format!("{issuer}/.well-known/jwks.json"));
        let introspection_endpoint = endpoint(
            "introspection_endpoint",
            format!("{issuer}/oauth/introspect"),
        );
        notes.push(format!(
            "token_endpoint {token_endpoint}; jwks_uri {jwks_uri}; introspection_endpoint {introspection_endpoint}"
        ));
        // RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = format!(
            "{}:{}",
            encode(&args.client_id),
            encode(&args.client_secret)
        );
        Self {
            issuer,
            discovery_url,
            discovery,
            token_endpoint,
            jwks_uri,
            introspection_endpoint,
            client_id: args.client_id.clone(),
            basic: format!("Basic {}", STANDARD.encode(credentials)),
        }
    }

    /// A client-credentials token, with `resource=…` when given.
    async fn client_credentials_token(
        &self,
        http: &reqwest::Client,
        resource: Option<&str>,
    ) -> Result<String, String> {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(resource) = resource {
            form.push(("resource", resource));
        }
        let response = http
            .post(&self.token_endpoint)
            .header(header::AUTHORIZATION, &self.basic)
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("token request: {e}"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!(
                "token request: {} {}",
                status.as_u16(),
                snippet(&body)
            ));
        }
        let json: Value = serde_json::from_str(&body).map_err(|e| format!("token JSON: {e}"))?;
        json["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no access_token in {}", snippet(&body)))
    }
}

fn snippet(body: &str) -> String {
    body.chars().take(200).collect()
}

/// The JOSE header of a compact JWS, or `opaque`.
fn token_format(token: &str) -> String {
    let header = token
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok());
    match header {
        Some(h) if token.split('.').count() == 3 => format!(
            "JWT alg {} typ {}",
            h["alg"].as_str().unwrap_or("?"),
            h["typ"].as_str().unwrap_or("?")
        ),
        _ => "opaque".to_owned(),
    }
}

/// One request, as every connection of a fixed-request scenario sends it.
#[derive(Clone)]
struct RequestTemplate {
    method: Method,
    url: Url,
    authorization: Option<String>,
    form: Option<Bytes>,
}

impl RequestTemplate {
    fn get(url: &str) -> Result<Self, String> {
        Ok(Self {
            method: Method::GET,
            url: Url::parse(url).map_err(|e| format!("{url}: {e}"))?,
            authorization: None,
            form: None,
        })
    }

    fn post_form(url: &str, authorization: &str, form: String) -> Result<Self, String> {
        Ok(Self {
            method: Method::POST,
            url: Url::parse(url).map_err(|e| format!("{url}: {e}"))?,
            authorization: Some(authorization.to_owned()),
            form: Some(Bytes::from(form)),
        })
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let path = match self.url.query() {
            Some(q) => format!("{}?{q}", self.url.path()),
            None => self.url.path().to_owned(),
        };
        let host = match self.url.port() {
            Some(port) => format!("{}:{port}", self.url.host_str().unwrap_or_default()),
            None => self.url.host_str().unwrap_or_default().to_owned(),
        };
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(path)
            .header(header::HOST, host)
            .header(header::ACCEPT, "application/json");
        if let Some(authorization) = &self.authorization {
            builder = builder.header(header::AUTHORIZATION, authorization);
        }
        let body = match &self.form {
            Some(form) => {
                builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Full::new(form.clone())
            }
            None => Full::new(Bytes::new()),
        };
        builder.body(body).expect("a well-formed request")
    }

    /// `host:port` to connect to.
    fn address(&self) -> Result<String, String> {
        if self.url.scheme() != "http" {
            return Err(format!("{}: only http:// targets are supported", self.url));
        }
        let host = self.url.host_str().ok_or("a URL without a host")?;
        let port = self.url.port_or_known_default().unwrap_or(80);
        Ok(format!("{host}:{port}"))
    }
}

// ---------------------------------------------------------------------------------------------
// The refresh scenario's seam.

/// A boxed future, for the object-safe seam below.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Starts refresh-token chains: one per connection, each from its own authorization-code
/// login. Measuring `refresh` needs one of these for the target.
trait RefreshChainSource: Sync {
    /// A first refresh token for a new chain, or why none can be had.
    fn first_refresh_token<'a>(
        &'a self,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<String, String>>;
}

/// Used when no user is given (`--login-username`): says why there is no chain.
struct NoScriptedLogin;

impl RefreshChainSource for NoScriptedLogin {
    fn first_refresh_token<'a>(
        &'a self,
        _target: &'a Target,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            Err(
                "no user to log in as (--login-username, --login-password, --redirect-uri), \
                 and a refresh token needs an authorization-code login"
                    .to_owned(),
            )
        })
    }
}

/// Starts each chain with a scripted authorization-code login, as a browser would: `GET
/// authorization_endpoint` without following redirects but keeping cookies, then for every
/// page on the way submit its first form — a sign-in form with the user's name and password,
/// a consent form with `decision=allow` — until the provider redirects to the redirect URI
/// with a code, which is exchanged (`client_secret_basic`) at the token endpoint. The pages
/// are read generically: the form's `action` and every hidden input are sent back, and the
/// user name goes into the text field the form has (`username` for Tessera, `login` for
/// oidc-provider's development interactions).
struct ScriptedLogin {
    username: String,
    password: String,
    redirect_uri: String,
    scope: String,
    /// Extra authorization request parameters (`prompt=consent`).
    extra: Vec<(String, String)>,
}

impl RefreshChainSource for ScriptedLogin {
    fn first_refresh_token<'a>(
        &'a self,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let code = self.authorization_code(target).await?;
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", self.redirect_uri.as_str()),
            ];
            let response = reqwest::Client::new()
                .post(&target.token_endpoint)
                .header(header::AUTHORIZATION, &target.basic)
                .form(&form)
                .send()
                .await
                .map_err(|e| format!("code exchange: {e}"))?;
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            if !status.is_success() {
                return Err(format!(
                    "code exchange: {} {}",
                    status.as_u16(),
                    snippet(&body)
                ));
            }
            let json: Value =
                serde_json::from_str(&body).map_err(|e| format!("code exchange JSON: {e}"))?;
            json["refresh_token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| {
                    format!(
                        "the code exchange gave no refresh_token: {}",
                        snippet(&body)
                    )
                })
        })
    }
}

impl ScriptedLogin {
    async fn authorization_code(&self, target: &Target) -> Result<String, String> {
        let endpoint = target
            .discovery
            .as_ref()
            .and_then(|d| d["authorization_endpoint"].as_str())
            .map_or_else(
                || format!("{}/oauth/authorize", target.issuer),
                str::to_owned,
            );
        let state = format!("{:016x}", rand_u64());
        let mut url = Url::parse(&endpoint).map_err(|e| format!("{endpoint}: {e}"))?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &target.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &self.scope)
                .append_pair("state", &state);
            for (k, v) in &self.extra {
                query.append_pair(k, v);
            }
        }
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let mut response = browser
            .get(url.clone())
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        for _ in 0..12 {
            let here = response.url().clone();
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| format!("{status} from {here} without a Location"))?;
                let next = here
                    .join(location)
                    .map_err(|e| format!("Location {location}: {e}"))?;
                if next.as_str().starts_with(&self.redirect_uri) {
                    let param = |name: &str| {
                        next.query_pairs()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.into_owned())
                    };
                    if param("state").as_deref() != Some(state.as_str()) {
                        return Err(format!("redirected back with a wrong state: {next}"));
                    }
                    return param("code")
                        .ok_or_else(|| format!("redirected back without a code: {next}"));
                }
                response = browser
                    .get(next.clone())
                    .send()
                    .await
                    .map_err(|e| format!("GET {next}: {e}"))?;
                continue;
            }
            let html = response.text().await.unwrap_or_default();
            if !status.is_success() {
                return Err(format!("{} at {here}: {}", status.as_u16(), snippet(&html)));
            }
            let form = parse_form(&html)
                .ok_or_else(|| format!("a page without a form at {here}: {}", snippet(&html)))?;
            let mut fields = form.hidden;
            if form.has_password {
                let user_field = form.text_field.unwrap_or_else(|| "username".to_owned());
                fields.push((user_field, self.username.clone()));
                fields.push(("password".to_owned(), self.password.clone()));
            } else if let Some(decision) = form.allow_button {
                fields.push(decision);
            }
            let action = here
                .join(&form.action)
                .map_err(|e| format!("form action {}: {e}", form.action))?;
            response = browser
                .post(action.clone())
                .form(&fields)
                .send()
                .await
                .map_err(|e| format!("POST {action}: {e}"))?;
        }
        Err("no code after 12 hops of the login".to_owned())
    }
}

/// A login or consent page's first form, as the scripted login needs it.
struct Form {
    action: String,
    hidden: Vec<(String, String)>,
    /// The name of the first text (or email) input: the user name goes there.
    text_field: Option<String>,
    has_password: bool,
    /// `name=value` of a submit button whose value is `allow`.
    allow_button: Option<(String, String)>,
}

fn parse_form(html: &str) -> Option<Form> {
    let start = html.find("<form")?;
    let end = html[start..]
        .find("</form>")
        .map_or(html.len(), |e| start + e);
    let form_html = &html[start..end];
    let form_tag = &form_html[..form_html.find('>')?];
    let action = attribute(form_tag, "action")?;
    let mut form = Form {
        action,
        hidden: Vec::new(),
        text_field: None,
        has_password: false,
        allow_button: None,
    };
    let mut rest = form_html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..tag_end];
        let kind = attribute(tag, "type").unwrap_or_default();
        let name = attribute(tag, "name");
        if tag.starts_with("input") {
            match (kind.as_str(), name) {
                ("hidden", Some(name)) => {
                    form.hidden
                        .push((name, attribute(tag, "value").unwrap_or_default()));
                }
                ("password", _) => form.has_password = true,
                ("text" | "email", Some(name)) if form.text_field.is_none() => {
                    form.text_field = Some(name);
                }
                _ => {}
            }
        } else if tag.starts_with("button")
            && let Some(name) = name
            && attribute(tag, "value").as_deref() == Some("allow")
        {
            form.allow_button = Some((name, "allow".to_owned()));
        }
    }
    Some(form)
}

/// The value of a double-quoted attribute of a tag, with HTML character references decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(decode_html(&tag[start..end]))
}

/// Decodes the character references HTML templates escape attribute values with.
fn decode_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A random number for `state` (not a secret: it only ties the redirect to the request).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Instant::now().elapsed().as_nanos());
    hasher.finish()
}

/// What one connection sends next, and what it learns from each successful answer.
enum Requests {
    /// The same request every time.
    Fixed(RequestTemplate),
    /// `grant_type=refresh_token` with the chain's current token, replaced from each answer
    /// (RFC 6749 §6; rotation per OAuth 2.0 Security BCP §4.14.2).
    RefreshChain {
        template: RequestTemplate,
        refresh_token: String,
    },
}

impl Requests {
    fn next(&self) -> Request<Full<Bytes>> {
        match self {
            Self::Fixed(template) => template.request(),
            Self::RefreshChain {
                template,
                refresh_token,
            } => {
                let form: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", refresh_token)
                    .finish();
                RequestTemplate {
                    form: Some(Bytes::from(form)),
                    ..template.clone()
                }
                .request()
            }
        }
    }

    fn observe(&mut self, body: &[u8]) {
        if let Self::RefreshChain { refresh_token, .. } = self
            && let Ok(json) = serde_json::from_slice::<Value>(body)
            && let Some(next) = json["refresh_token"].as_str()
        {
            next.clone_into(refresh_token);
        }
    }
}

/// How a scenario's connections get their requests, after its probe passed.
enum Plan {
    Fixed(RequestTemplate),
    Refresh(RequestTemplate),
}

/// Checks a scenario with one request and returns how to load it, or why not.
async fn prepare(
    scenario: Scenario,
    target: &Target,
    http: &reqwest::Client,
    args: &RunArgs,
    refresh: &dyn RefreshChainSource,
    notes: &mut Vec<String>,
) -> Result<Plan, Outcome> {
    let failed = |e: String| Outcome::Failed(e);
    // The introspected token's format, for the note once the probe has passed.
    let mut introspected = None;
    let template = match scenario {
        Scenario::ClientCredentials => RequestTemplate::post_form(
            &target.token_endpoint,
            &target.basic,
            "grant_type=client_credentials".to_owned(),
        )
        .map_err(failed)?,
        Scenario::Jwks => RequestTemplate::get(&target.jwks_uri).map_err(failed)?,
        Scenario::Discovery => RequestTemplate::get(&target.discovery_url).map_err(failed)?,
        Scenario::Introspection => {
            let token = target
                .client_credentials_token(http, args.introspection_resource.as_deref())
                .await
                .map_err(|e| Outcome::Failed(format!("no token to introspect: {e}")))?;
            introspected = Some(token_format(&token));
            let form = form_urlencoded::Serializer::new(String::new())
                .append_pair("token", &token)
                .finish();
            RequestTemplate::post_form(&target.introspection_endpoint, &target.basic, form)
                .map_err(failed)?
        }
        Scenario::Refresh => {
            // Probe the endpoint first: a chain is worth starting only where it is served.
            RequestTemplate::post_form(&target.token_endpoint, &target.basic, String::new())
                .map_err(failed)?
        }
    };
    if scenario == Scenario::Refresh {
        let first = refresh
            .first_refresh_token(target)
            .await
            .map_err(Outcome::Skipped)?;
        // One refresh, to check it rotates and to note what it issues.
        let probe = Requests::RefreshChain {
            template: template.clone(),
            refresh_token: first.clone(),
        };
        let mut sender = connect(&template.address().map_err(failed)?)
            .await
            .map_err(failed)?;
        let response = sender
            .send_request(probe.next())
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            return Err(Outcome::Failed(format!(
                "probe: refresh: {} {}",
                status.as_u16(),
                snippet(&String::from_utf8_lossy(&body))
            )));
        }
        let json: Value = serde_json::from_slice(&body)
            .map_err(|e| Outcome::Failed(format!("probe: refresh: not JSON ({e})")))?;
        let next = json["refresh_token"].as_str().unwrap_or_default();
        notes.push(format!(
            "refresh: access token {}; id_token {}; refresh token {} ({} chars); scope {}",
            json["access_token"]
                .as_str()
                .map_or_else(|| "none".to_owned(), token_format),
            json["id_token"]
                .as_str()
                .map_or_else(|| "none".to_owned(), token_format),
            if next.is_empty() {
                "NOT returned"
            } else if next == first {
                "NOT rotated"
            } else {
                "rotated"
            },
            next.len(),
            json["scope"].as_str().unwrap_or("?"),
        ));
        if next.is_empty() || next == first {
            return Err(Outcome::Failed(format!(
                "probe: refresh did not rotate: {}",
                snippet(&String::from_utf8_lossy(&body))
            )));
        }
        return Ok(Plan::Refresh(template));
    }
    let (status, body) = send_once(&template).await.map_err(failed)?;
    if status == StatusCode::NOT_FOUND {
        return Err(Outcome::Skipped(format!(
            "404 at {} (not served by this target)",
            template.url
        )));
    }
    if !status.is_success() {
        return Err(Outcome::Failed(format!(
            "probe: {} {}",
            status.as_u16(),
            snippet(&String::from_utf8_lossy(&body))
        )));
    }
    let json: Value = serde_json::from_slice(&body)
        .map_err(|e| Outcome::Failed(format!("probe: not JSON ({e})")))?;
    let check = match scenario {
        Scenario::ClientCredentials => json["access_token"].as_str().map(|t| {
            format!(
                "client_credentials: the access token is {}",
                token_format(t)
            )
        }),
        Scenario::Jwks => json["keys"].as_array().map(|keys| {
            let algs: Vec<_> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}/{}",
                        k["kty"].as_str().unwrap_or("?"),
                        k["alg"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            format!("jwks: {} key(s): {}", keys.len(), algs.join(", "))
        }),
        Scenario::Discovery => json["issuer"]
            .as_str()
            .map(|i| format!("discovery: issuer {i}")),
        Scenario::Introspection => (json["active"] == true).then(|| {
            format!(
                "introspection: the token ({}) is active",
                introspected.as_deref().unwrap_or("?")
            )
        }),
        Scenario::Refresh => None,
    };
    match check {
        Some(note) => {
            notes.push(note);
            Ok(Plan::Fixed(template))
        }
        None => Err(Outcome::Failed(format!(
            "probe: unexpected answer {}",
            snippet(&String::from_utf8_lossy(&body))
        ))),
    }
}

/// One request on a new connection.
async fn send_once(template: &RequestTemplate) -> Result<(StatusCode, Bytes), String> {
    let mut sender = connect(&template.address()?).await?;
    let response = sender
        .send_request(template.request())
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(address: &str) -> Result<Sender, String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connect {address}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

// ---------------------------------------------------------------------------------------------
// The load.

/// What one connection saw in the measured window.
struct ConnectionResult {
    histogram: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
}

async fn run(args: &RunArgs) -> Report {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    eprintln!(
        "oauth-bench: {} at {}, {cpus} CPU(s) for the driver, {:?} per cell after {:?} warm-up",
        args.name, args.issuer, args.duration, args.warmup
    );
    let load_before = load_average();
    let http = reqwest::Client::new();
    let mut notes = Vec::new();
    let target = Target::discover(args, &http, &mut notes).await;
    let source: Box<dyn RefreshChainSource> = match (&args.login_username, &args.login_password) {
        (Some(username), Some(password)) => Box::new(ScriptedLogin {
            username: username.clone(),
            password: password.clone(),
            redirect_uri: args.redirect_uri.clone(),
            scope: args.login_scope.clone(),
            extra: args
                .authorize_param
                .iter()
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (k.to_owned(), v.to_owned())
                })
                .collect(),
        }),
        _ => Box::new(NoScriptedLogin),
    };
    let mut cells = Vec::new();
    for &scenario in &args.scenarios {
        let plan = prepare(scenario, &target, &http, args, source.as_ref(), &mut notes).await;
        for &connections in &args.connections {
            let outcome = match &plan {
                Err(not_run) => not_run.clone(),
                Ok(plan) => {
                    let measurement =
                        measure(plan, &target, source.as_ref(), connections, args).await;
                    match measurement {
                        Ok(m) => Outcome::Measured(m),
                        Err(e) => Outcome::Failed(e),
                    }
                }
            };
            match &outcome {
                Outcome::Measured(m) => eprintln!(
                    "  {:<18} {connections:>3} conns: {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
                    scenario.as_str(),
                    m.requests_per_sec,
                    m.p50_ms,
                    m.p99_ms,
                    m.errors_text()
                ),
                Outcome::Skipped(r) => eprintln!("  {:<18} skipped: {r}", scenario.as_str()),
                Outcome::Failed(r) => eprintln!("  {:<18} FAILED: {r}", scenario.as_str()),
            }
            cells.push(Cell {
                scenario,
                connections,
                outcome,
            });
        }
    }
    Report {
        name: args.name.clone(),
        issuer: target.issuer,
        cpus,
        duration_secs: args.duration.as_secs_f64(),
        warmup_secs: args.warmup.as_secs_f64(),
        load_before,
        load_after: load_average(),
        notes,
        cells,
    }
}

/// Runs `connections` closed-loop connections through warm-up and the measured window.
async fn measure(
    plan: &Plan,
    target: &Target,
    refresh: &dyn RefreshChainSource,
    connections: usize,
    args: &RunArgs,
) -> Result<Measurement, String> {
    let template = match plan {
        Plan::Fixed(t) | Plan::Refresh(t) => t,
    };
    let address = template.address()?;
    // Every connection is open (and every chain started) before the clock starts.
    let mut prepared = Vec::with_capacity(connections);
    for _ in 0..connections {
        let requests = match plan {
            Plan::Fixed(t) => Requests::Fixed(t.clone()),
            Plan::Refresh(t) => Requests::RefreshChain {
                template: t.clone(),
                refresh_token: refresh.first_refresh_token(target).await?,
            },
        };
        prepared.push((connect(&address).await?, requests));
    }
    let measured_from = Instant::now() + args.warmup;
    let until = measured_from + args.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for (sender, requests) in prepared {
        let address = address.clone();
        tasks.spawn(drive(sender, requests, address, measured_from, until));
    }
    tokio::time::sleep_until(measured_from.into()).await;
    let driver_cpu = cpu_ticks(None);
    let server_cpu = args.server_pid.and_then(|pid| cpu_ticks(Some(pid)));
    tokio::time::sleep_until(until.into()).await;
    let driver_cpu = cpu_pct(driver_cpu, cpu_ticks(None), args.duration);
    let server_cpu = cpu_pct(
        server_cpu,
        args.server_pid.and_then(|pid| cpu_ticks(Some(pid))),
        args.duration,
    );

    let mut histogram = new_histogram();
    let mut ok = 0;
    let mut errors = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        let result = done.map_err(|e| format!("a connection task: {e}"))?;
        histogram
            .add(&result.histogram)
            .map_err(|e| e.to_string())?;
        ok += result.ok;
        for (kind, count) in result.errors {
            *errors.entry(kind).or_insert(0) += count;
        }
    }
    let total = ok + errors.values().sum::<u64>();
    let ms = |micros: u64| micros as f64 / 1e3;
    Ok(Measurement {
        ok,
        errors,
        requests_per_sec: total as f64 / args.duration.as_secs_f64(),
        p50_ms: ms(histogram.value_at_quantile(0.50)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        max_ms: ms(histogram.max()),
        driver_cpu_pct: driver_cpu,
        server_cpu_pct: server_cpu,
    })
}

fn new_histogram() -> Histogram<u64> {
    // Microseconds, 1 µs to 60 s, 3 significant figures.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// One connection's loop: send, read the whole answer, record, repeat until `until`.
/// Requests started before `measured_from` are the warm-up and are not recorded.
async fn drive(
    mut sender: Sender,
    mut requests: Requests,
    address: String,
    measured_from: Instant,
    until: Instant,
) -> ConnectionResult {
    let mut result = ConnectionResult {
        histogram: new_histogram(),
        ok: 0,
        errors: BTreeMap::new(),
    };
    loop {
        let started = Instant::now();
        if started >= until {
            break;
        }
        let outcome = async {
            sender.ready().await.map_err(|e| e.to_string())?;
            let response = sender
                .send_request(requests.next())
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, body))
        }
        .await;
        let elapsed = started.elapsed();
        let measured = started >= measured_from;
        match outcome {
            Ok((status, body)) => {
                if status.is_success() {
                    requests.observe(&body);
                }
                if measured {
                    result
                        .histogram
                        .saturating_record(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
                    if status.is_success() {
                        result.ok += 1;
                    } else {
                        *result
                            .errors
                            .entry(status.as_u16().to_string())
                            .or_insert(0) += 1;
                    }
                }
            }
            Err(_) => {
                if measured {
                    *result.errors.entry("io".to_owned()).or_insert(0) += 1;
                }
                // The connection is gone; open another, and count each failure to.
                match connect(&address).await {
                    Ok(fresh) => sender = fresh,
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        }
    }
    result
}

/// The 1-minute load average, or `?`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// utime + stime of a process (this one when `None`), in clock ticks.
fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU used between two readings, in % of one core. Linux reports ticks of 1/100 s
/// (`USER_HZ`) on every architecture this runs on.
fn cpu_pct(before: Option<u64>, after: Option<u64>, window: Duration) -> Option<f64> {
    let ticks = after?.checked_sub(before?)?;
    Some(ticks as f64 / 100.0 / window.as_secs_f64() * 100.0)
}

// ---------------------------------------------------------------------------------------------
// Tables.

fn pct(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}%"))
}

fn print_report(report: &Report) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n### {} ({})\n\n{} s per cell after {} s warm-up; driver on {} CPU(s); load average {} \
         before, {} after.\n",
        report.name,
        report.issuer,
        report.duration_secs,
        report.warmup_secs,
        report.cpus,
        report.load_before,
        report.load_after
    );
    let _ = writeln!(
        out,
        "| Scenario | Conns | Req/s | p50 (ms) | p99 (ms) | Max (ms) | Errors | Server CPU | Driver CPU |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for cell in &report.cells {
        let name = cell.scenario.as_str();
        let conns = cell.connections;
        match &cell.outcome {
            Outcome::Measured(m) => {
                let _ = writeln!(
                    out,
                    "| {name} | {conns} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {} | {} |",
                    m.requests_per_sec,
                    m.p50_ms,
                    m.p99_ms,
                    m.max_ms,
                    m.errors_text(),
                    pct(m.server_cpu_pct),
                    pct(m.driver_cpu_pct)
                );
            }
            Outcome::Skipped(reason) => {
                let _ = writeln!(out, "| {name} | {conns} | skipped: {reason} | | | | | | |");
            }
            Outcome::Failed(reason) => {
                let _ = writeln!(
                    out,
                    "| {name} | {conns} | **FAILED**: {reason} | | | | | | |"
                );
            }
        }
    }
    if !report.notes.is_empty() {
        let _ = writeln!(out);
        for note in &report.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    print!("{out}");
}

fn print_ratio(report: &Report, base: &Report) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n### {} / {}\n\nReq/s ratio above 1 and latency ratios below 1 favour {}.\n",
        report.name, base.name, report.name
    );
    let _ = writeln!(
        out,
        "| Scenario | Conns | Req/s ratio | p50 ratio | p99 ratio | {} req/s | {} req/s |",
        report.name, base.name
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for cell in &report.cells {
        let peer = base
            .cells
            .iter()
            .find(|c| c.scenario == cell.scenario && c.connections == cell.connections);
        let name = cell.scenario.as_str();
        let conns = cell.connections;
        match (&cell.outcome, peer.map(|p| &p.outcome)) {
            (Outcome::Measured(a), Some(Outcome::Measured(b))) => {
                let _ = writeln!(
                    out,
                    "| {name} | {conns} | {:.2}× | {:.2}× | {:.2}× | {:.0} | {:.0} |",
                    a.requests_per_sec / b.requests_per_sec,
                    a.p50_ms / b.p50_ms,
                    a.p99_ms / b.p99_ms,
                    a.requests_per_sec,
                    b.requests_per_sec
                );
            }
            (mine, theirs) => {
                let side = |o: Option<&Outcome>| match o {
                    Some(Outcome::Measured(m)) => format!("{:.0}", m.requests_per_sec),
                    Some(Outcome::Skipped(_)) => "skipped".to_owned(),
                    Some(Outcome::Failed(_)) => "failed".to_owned(),
                    None => "not run".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "| {name} | {conns} | – | – | – | {} | {} |",
                    side(Some(mine)),
                    side(theirs)
                );
            }
        }
    }
    print!("{out}");
}
