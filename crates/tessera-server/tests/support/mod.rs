//! What the process tests share: the `tessera` binary, run with no configuration from the
//! test run's environment; a command run to its end; a running server, found by its ready
//! banner; a Core API credential as `admin create-credential --json` prints it.

#![allow(dead_code)] // each test file uses its part

use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// `tessera ARGS` in `cwd`, configured by its arguments only: the test run's `TESSERA_*`
/// variables (but `TESSERA_TEST_*`, which are the suite's) are removed. Killed when dropped.
pub(crate) fn tessera_command(cwd: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    command
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("TESSERA_") && !key.starts_with("TESSERA_TEST_") {
            command.env_remove(key.as_ref());
        }
    }
    command
}

/// How long a server may take to print its ready banner (a cold PostgreSQL migration
/// included).
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a server may take to exit after SIGTERM.
pub(crate) const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a command that is expected to finish by itself may run.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// The ready banner's message.
pub(crate) const READY: &str = "Tessera is ready";

/// A command that ran to its end.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Finished {
    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs `command` to its end; the child is killed if it outlives `timeout`.
pub(crate) async fn finish(mut command: Command, timeout: Duration) -> Finished {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .unwrap_or_else(|_| panic!("{command:?} did not exit within {timeout:?}"))
        .expect("run tessera");
    Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `tessera ARGS` in `cwd` to its end.
pub(crate) async fn run(cwd: &Path, args: &[&str]) -> Finished {
    let mut command = tessera_command(cwd, &[]);
    command.args(args);
    finish(command, COMMAND_TIMEOUT).await
}

/// The address in a ready banner, text (`listen=ADDR`) or JSON (`"listen":"ADDR"`).
pub(crate) fn ready_address(line: &str) -> Option<SocketAddr> {
    if !line.contains(READY) {
        return None;
    }
    if let Ok(event) = serde_json::from_str::<Value>(line) {
        return event["listen"].as_str()?.parse().ok();
    }
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("listen="))?
        .parse()
        .ok()
}

/// A running `tessera serve`. Dropping it kills the process.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) address: SocketAddr,
    /// Every line the server wrote to standard error so far.
    pub(crate) stderr: Arc<Mutex<Vec<String>>>,
    /// Reads standard error to its end, so the server never blocks on a full pipe.
    pub(crate) drain: Option<JoinHandle<()>>,
    pub(crate) http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if let Some(drain) = self.drain.take() {
            drain.abort();
        }
    }
}

/// Where an installation of several nodes is reached from outside, the same for every node (as
/// behind a load balancer): tokens name it as their issuer, so any node accepts what another
/// issued. Never contacted by the tests, which talk to each node's own address.
pub(crate) const NODES_PUBLIC_URL: &str = "http://localhost:9";

/// The arguments of `tessera serve` for a node of the installation in the current folder over
/// `database_url` (the first six name its configuration, data folder and database, and serve
/// an admin command as well).
pub(crate) fn node_args(database_url: &str) -> [&str; 10] {
    [
        "--config",
        "tessera.toml",
        "--data-dir",
        "data",
        "--database-url",
        database_url,
        "--listen",
        "127.0.0.1:0",
        "--public-url",
        NODES_PUBLIC_URL,
    ]
}

impl Server {
    /// Starts a node of the installation in `dir` (its `tessera.toml` and `data` folder, so
    /// its master key) over `database_url`, on a port of its own choosing, under
    /// [`NODES_PUBLIC_URL`].
    pub(crate) async fn node(dir: &Path, database_url: &str) -> Self {
        Self::start(dir, &node_args(database_url)).await
    }

    /// Starts `tessera serve ARGS` in `cwd` and waits for its ready banner.
    pub(crate) async fn start(cwd: &Path, args: &[&str]) -> Self {
        let mut command = tessera_command(cwd, &[]);
        command
            .arg("serve")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start tessera serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let drain = tokio::spawn({
            let lines = Arc::clone(&lines);
            async move {
                let mut reader = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    lines.lock().expect("stderr lines").push(line.clone());
                    let _ = sender.send(line);
                }
            }
        });
        let mut server = Self {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr: lines,
            drain: Some(drain),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client"),
        };
        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            while let Some(line) = receiver.recv().await {
                if let Some(address) = ready_address(&line) {
                    return Some(address);
                }
            }
            None
        })
        .await;
        match ready {
            Ok(Some(address)) => server.address = address,
            Ok(None) => {
                let status = tokio::time::timeout(EXIT_TIMEOUT, server.child.wait()).await;
                panic!(
                    "tessera serve {args:?} stopped before it was ready ({status:?}):\n{}",
                    server.stderr_text()
                );
            }
            Err(_) => panic!(
                "tessera serve {args:?} was not ready within {READY_TIMEOUT:?}:\n{}",
                server.stderr_text()
            ),
        }
        assert_ne!(server.address.port(), 0, "the banner shows the bound port");
        server
    }

    pub(crate) fn stderr_text(&self) -> String {
        self.stderr.lock().expect("stderr lines").join("\n")
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.stderr_text()))
    }

    /// `GET /readyz`, which must answer 200; its JSON body.
    pub(crate) async fn ready(&self) -> Value {
        let response = self.get("/readyz").await;
        assert_eq!(response.status(), 200, "{}", self.stderr_text());
        response.json().await.expect("a JSON /readyz body")
    }

    /// Sends SIGTERM and waits for the process to exit; its status.
    pub(crate) async fn stop(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.exited(EXIT_TIMEOUT).await
    }

    /// Sends the signal `name` (`TERM`, `INT`) to the server, without waiting.
    pub(crate) fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the server is still running");
        let sent = std::process::Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{name} {pid}");
    }

    /// Waits up to `timeout` for the process to exit (after a signal); its status.
    pub(crate) async fn exited(&mut self, timeout: Duration) -> ExitStatus {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the server did not exit within {timeout:?} of the signal:\n{}",
                    self.stderr_text()
                )
            })
            .expect("wait for the server");
        if let Some(drain) = self.drain.take() {
            let _ = tokio::time::timeout(EXIT_TIMEOUT, drain).await;
        }
        status
    }

    /// SIGKILL, and waits for the process to be gone: no shutdown, nothing released but by
    /// the kernel.
    pub(crate) async fn kill(mut self) {
        self.child.kill().await.expect("kill the server");
    }

    /// Stops the server and requires a clean exit.
    pub(crate) async fn stop_cleanly(&mut self) {
        let status = self.stop().await;
        assert_eq!(
            status.code(),
            Some(0),
            "exit after SIGTERM: {status:?}\n{}",
            self.stderr_text()
        );
    }
}

/// `admin create-credential --json` output, checked for shape.
pub(crate) struct Credential {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

/// Parses the standard output of `admin create-credential --json`: exactly one JSON object
/// with exactly the four documented keys; `urls` are the expected token endpoint and issuer.
pub(crate) fn credential_from(stdout: &str, urls: Option<(&str, &str)>) -> Credential {
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line of JSON on stdout: {stdout:?}");
    let json: Value = serde_json::from_str(lines[0]).expect("stdout is JSON");
    let object = json.as_object().expect("stdout is a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["client_id", "client_secret", "issuer", "token_endpoint"]
    );
    let issuer = json["issuer"].as_str().expect("an issuer string");
    let token_endpoint = json["token_endpoint"]
        .as_str()
        .expect("a token_endpoint string");
    assert_eq!(token_endpoint, format!("{issuer}/oauth/token"));
    if let Some((expected_endpoint, expected_issuer)) = urls {
        assert_eq!(token_endpoint, expected_endpoint);
        assert_eq!(issuer, expected_issuer);
    }
    let client_id = json["client_id"].as_str().expect("a client_id string");
    let client_secret = json["client_secret"].as_str().expect("a secret string");
    assert!(client_id.starts_with("cli_"), "{client_id}");
    assert!(!client_secret.is_empty());
    Credential {
        client_id: client_id.to_owned(),
        client_secret: client_secret.to_owned(),
    }
}
