//! The `tessera` binary, run as a process: what an operator sees on the command line, on
//! standard error and on the wire.
//!
//! Every test owns its processes, folders and database (STYLE.md habit 8): servers listen on
//! port 0 and the port is read from the ready banner on standard error; each child runs in a
//! temporary folder of its own, with the `TESSERA_*` environment of the test run removed
//! (except `TESSERA_TEST_*`, which the binary must ignore), so only the flags given here
//! configure it. A server still running when a test fails is killed by its guard.
//!
//! Tests that say "this run's backend" use `fresh_database()`: SQLite, or PostgreSQL when
//! `TESSERA_TEST_POSTGRES_URL` is set.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_crypto::SecretHash;
use tessera_model::{ClientId, IssuerSlug};
use tessera_store::IssuerScope;
use tessera_store_sql::testing::{backend, execute_sql, fresh_database};
use tokio::process::Command;

mod support;
use support::{Credential, READY, Server, credential_from, finish, run};

// ---------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------

/// `tessera` in `cwd`, configured by nothing but the arguments the test adds.
fn tessera(cwd: &Path) -> Command {
    support::tessera_command(cwd, &[])
}

// ---------------------------------------------------------------------------------------
// Looking at the data behind Tessera's back
// ---------------------------------------------------------------------------------------

/// The URL of the SQLite database Tessera keeps in `data_dir` by default.
fn sqlite_url_in(data_dir: &Path) -> String {
    format!("sqlite://{}/tessera.db", data_dir.display())
}

/// The credential is a client of the `system` issuer named `ci`, restricted to `default`,
/// whose stored hash verifies the secret that was printed.
async fn assert_stored(database_url: &str, credential: &Credential) {
    let store = tessera_store_sql::connect(database_url, Default::default())
        .await
        .expect("open the database");
    let system = store
        .issuers()
        .find_by_slug(&IssuerSlug::system())
        .await
        .expect("find the system issuer")
        .expect("the system issuer exists");
    let id = ClientId::parse(&credential.client_id).expect("the client_id parses");
    let client = store
        .clients()
        .find(IssuerScope::of(&system), id)
        .await
        .expect("find the client")
        .expect("the credential is stored as a client of the system issuer");
    assert_eq!(client.name, "ci");
    assert_eq!(
        client.allowed_issuers,
        Some(vec![IssuerSlug::parse("default").expect("a slug")])
    );
    let hash = client
        .secret_hash
        .expect("a confidential client has a hash");
    assert!(
        SecretHash::from_bytes(hash).verify(&credential.client_secret),
        "the stored hash verifies the printed secret"
    );
    assert!(!SecretHash::from_bytes(hash).verify("not the secret"));
    store.close().await;
}

/// The secret's text appears in no file of the SQLite database (main file and WAL).
fn assert_secret_not_in_files(data_dir: &Path, secret: &str) {
    for name in ["tessera.db", "tessera.db-wal"] {
        let path = data_dir.join(name);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        assert!(
            !bytes
                .windows(secret.len())
                .any(|window| window == secret.as_bytes()),
            "{} contains the client secret in clear",
            path.display()
        );
    }
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn version_and_help_describe_the_binary() {
    let cwd = tempfile::tempdir().expect("a folder");

    let version = run(cwd.path(), &["--version"]).await;
    assert_eq!(version.code(), Some(0), "{version:?}");
    assert_eq!(
        version.stdout.trim(),
        format!("tessera {}", env!("CARGO_PKG_VERSION"))
    );

    let help = run(cwd.path(), &["--help"]).await;
    assert_eq!(help.code(), Some(0), "{help:?}");
    for command in ["serve", "migrate", "admin"] {
        assert!(
            help.stdout.contains(command),
            "--help lists `{command}`:\n{}",
            help.stdout
        );
    }

    // Without a command, the help goes to standard error as a usage error.
    let bare = run(cwd.path(), &[]).await;
    assert_eq!(bare.code(), Some(2), "{bare:?}");
    assert!(bare.stderr.contains("serve"), "{bare:?}");
    assert!(
        !cwd.path().join("tessera-data").exists(),
        "printing help creates nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_starts_with_no_configuration_and_reuses_everything_on_restart() {
    let cwd = tempfile::tempdir().expect("a folder");
    let data = cwd.path().join("tessera-data");
    let key_file = data.join("master.key");

    let mut server = Server::start(cwd.path(), &["--listen", "127.0.0.1:0"]).await;
    assert!(data.is_dir(), "./tessera-data is created");
    assert!(
        data.join("tessera.db").is_file(),
        "the SQLite database is created"
    );
    assert!(key_file.is_file(), "the master key file is created");
    let mode = std::fs::metadata(&key_file)
        .expect("master.key metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "master.key is private: {mode:o}");
    let key = std::fs::read_to_string(&key_file).expect("read master.key");
    // Without an SMTP relay, mail is written to a private folder, and the banner says where.
    let mail = data.join("mail");
    let mode = std::fs::metadata(&mail)
        .expect("the mail folder is created")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "the mail folder is private: {mode:o}");

    let health = server.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = server.ready().await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["database"], "sqlite", "{ready}");
    server.stop_cleanly().await;
    assert!(
        server
            .stderr_text()
            .contains(".eml files in ./tessera-data/mail"),
        "{}",
        server.stderr_text()
    );

    let mut again = Server::start(cwd.path(), &["--listen", "127.0.0.1:0"]).await;
    assert_eq!(
        std::fs::read_to_string(&key_file).expect("read master.key"),
        key,
        "the master key is reused, not replaced"
    );
    let ready = again.ready().await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["database"], "sqlite", "{ready}");
    assert!(
        !again.stderr_text().contains("readable by other users"),
        "{}",
        again.stderr_text()
    );
    again.stop_cleanly().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_on_this_runs_backend_is_ready_counts_requests_and_tags_them_with_ids() {
    let database = fresh_database().await;
    let cwd = tempfile::tempdir().expect("a folder");
    let data = tempfile::tempdir().expect("a data folder");
    let data_dir = data.path().to_str().expect("a UTF-8 path");
    let mut server = Server::start(
        cwd.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_dir,
            "--database-url",
            &database.url,
            "--log-format",
            "json",
        ],
    )
    .await;

    let ready = server.ready().await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["database"], backend().as_str(), "{ready}");

    let health = server.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let generated = health
        .headers()
        .get("x-request-id")
        .expect("a response carries an x-request-id");
    assert!(!generated.is_empty());

    let echoed = server
        .http
        .get(server.url("/healthz"))
        .header("x-request-id", "cli-test-request-0001")
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(echoed.status(), 200);
    assert_eq!(
        echoed
            .headers()
            .get("x-request-id")
            .expect("the id is echoed"),
        "cli-test-request-0001"
    );

    let metrics = server.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    let body = metrics.text().await.expect("a metrics body");
    assert!(body.contains("tessera_http_requests_total"), "{body}");
    assert!(body.contains("route=\"/healthz\""), "{body}");

    // With --log-format json every line on standard error is a JSON object.
    for line in server.stderr_text().lines() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()),
            "not a JSON log line: {line}"
        );
    }
    server.stop_cleanly().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_server_on_the_same_sqlite_data_folder_is_refused() {
    let cwd = tempfile::tempdir().expect("a folder");
    let data = tempfile::tempdir().expect("a data folder");
    let data_dir = data.path().to_str().expect("a UTF-8 path");
    let args = ["--listen", "127.0.0.1:0", "--data-dir", data_dir];
    let mut first = Server::start(cwd.path(), &args).await;

    let mut second = tessera(cwd.path());
    second.arg("serve").args(args);
    let second = finish(second, Duration::from_secs(30)).await;
    assert_eq!(second.code(), Some(1), "{second:?}");
    assert!(second.stderr.contains("already running"), "{second:?}");
    assert!(
        second.stderr.trim_start().starts_with("error:"),
        "{second:?}"
    );

    let health = first.get("/healthz").await;
    assert_eq!(health.status(), 200, "the first server is unaffected");
    first.ready().await;
    first.stop_cleanly().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_create_credential_prints_json_beside_a_running_server_and_stores_only_a_hash() {
    let cwd = tempfile::tempdir().expect("a folder");
    let data = tempfile::tempdir().expect("a data folder");
    let data_dir = data.path().to_str().expect("a UTF-8 path");
    let mut server = Server::start(
        cwd.path(),
        &["--listen", "127.0.0.1:0", "--data-dir", data_dir],
    )
    .await;

    let created = run(
        cwd.path(),
        &[
            "admin",
            "create-credential",
            "--name",
            "ci",
            "--issuer",
            "default",
            "--json",
            "--data-dir",
            data_dir,
        ],
    )
    .await;
    assert_eq!(created.code(), Some(0), "{created:?}");
    // No --public-url and no --listen: the URLs of the default address, which the admin
    // command reports without binding it.
    let credential = credential_from(
        &created.stdout,
        Some((
            "http://localhost:8080/system/oauth/token",
            "http://localhost:8080/system",
        )),
    );
    assert!(
        !created.stderr.contains(&credential.client_secret),
        "the secret is only on stdout"
    );

    assert_stored(&sqlite_url_in(data.path()), &credential).await;
    assert_secret_not_in_files(data.path(), &credential.client_secret);
    assert_eq!(server.get("/healthz").await.status(), 200);
    server.stop_cleanly().await;
    assert!(
        !server.stderr_text().contains(&credential.client_secret),
        "the server never logs the secret"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_create_credential_names_the_issuer_it_refuses() {
    let cwd = tempfile::tempdir().expect("a folder");
    let data = tempfile::tempdir().expect("a data folder");
    let data_dir = data.path().to_str().expect("a UTF-8 path");
    let create = |issuer: &'static str| {
        let data_dir = data_dir.to_owned();
        let cwd = cwd.path().to_owned();
        async move {
            run(
                &cwd,
                &[
                    "admin",
                    "create-credential",
                    "--name",
                    "ci",
                    "--issuer",
                    issuer,
                    "--json",
                    "--data-dir",
                    &data_dir,
                ],
            )
            .await
        }
    };

    let unknown = create("nowhere").await;
    assert_eq!(unknown.code(), Some(1), "{unknown:?}");
    assert!(unknown.stderr.contains("nowhere"), "{unknown:?}");
    assert!(unknown.stderr.starts_with("error:"), "{unknown:?}");
    assert!(unknown.stdout.trim().is_empty(), "{unknown:?}");

    let malformed = create("BAD_SLUG").await;
    assert_ne!(malformed.code(), Some(0), "{malformed:?}");
    assert!(malformed.status.code().is_some(), "{malformed:?}");
    assert!(malformed.stderr.contains("BAD_SLUG"), "{malformed:?}");
    assert!(malformed.stdout.trim().is_empty(), "{malformed:?}");
    assert!(!malformed.stderr.contains("panicked"), "{malformed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_configuration_exits_with_2_naming_the_key_before_anything_is_created() {
    struct Case {
        name: &'static str,
        /// The configuration file's text, if the case uses one.
        file: Option<&'static str>,
        env: Option<(&'static str, &'static str)>,
        args: &'static [&'static str],
        expected: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "invalid TOML",
            file: Some("log_format = \"text\"\nlisten = \n"),
            env: None,
            args: &["--listen", "127.0.0.1:0"],
            expected: &["line 2"],
        },
        Case {
            name: "an unknown key",
            file: Some("colour = \"blue\"\n"),
            env: None,
            args: &["--listen", "127.0.0.1:0"],
            expected: &["colour"],
        },
        Case {
            name: "a bad value in the environment",
            file: None,
            env: Some(("TESSERA_LISTEN", "nowhere")),
            args: &[],
            expected: &["listen", "nowhere"],
        },
        Case {
            name: "an SMTP URL that would send its password in clear",
            file: None,
            env: Some((
                "TESSERA_MAIL__SMTP_URL",
                "smtp://tessera:hunter2@mail.example.com:587",
            )),
            args: &["--listen", "127.0.0.1:0"],
            expected: &["mail.smtp_url", "unencrypted"],
        },
        Case {
            name: "a trusted proxy range that is not one",
            file: None,
            env: Some(("TESSERA_HTTP__TRUSTED_PROXIES", "[\"10.0.0.0/33\"]")),
            args: &["--listen", "127.0.0.1:0"],
            expected: &["http.trusted_proxies", "10.0.0.0/33", "CIDR range"],
        },
        Case {
            name: "a missing configuration file",
            file: None,
            env: None,
            args: &["--config", "/does/not/exist", "--listen", "127.0.0.1:0"],
            expected: &["/does/not/exist", "does not exist"],
        },
    ];
    for case in cases {
        let cwd = tempfile::tempdir().expect("a folder");
        let mut command = tessera(cwd.path());
        command.arg("serve").args(case.args);
        if let Some(text) = case.file {
            let path = cwd.path().join("tessera.toml");
            std::fs::write(&path, text).expect("write the configuration file");
            command.arg("--config").arg(&path);
        }
        if let Some((key, value)) = case.env {
            command.env(key, value);
        }
        let finished = finish(command, Duration::from_secs(30)).await;
        let name = case.name;
        assert_eq!(finished.code(), Some(2), "{name}: {finished:?}");
        assert!(
            finished.stderr.starts_with("error: invalid configuration"),
            "{name}: {finished:?}"
        );
        for fragment in case.expected {
            assert!(
                finished.stderr.contains(fragment),
                "{name}: the message names `{fragment}`: {finished:?}"
            );
        }
        assert!(!finished.stderr.contains("hunter2"), "{name}: {finished:?}");
        assert!(
            !cwd.path().join("tessera-data").exists(),
            "{name}: nothing is created before the configuration is valid"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_fails_fast_in_one_line_without_the_password() {
    let cwd = tempfile::tempdir().expect("a folder");
    let data = tempfile::tempdir().expect("a data folder");
    let data_dir = data.path().to_str().expect("a UTF-8 path");
    let started = Instant::now();
    let mut command = tessera(cwd.path());
    command.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data_dir,
        "--database-url",
        "postgres://tessera:hunter2@127.0.0.1:1/tessera",
    ]);
    let finished = finish(command, Duration::from_secs(15)).await;
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(finished.code(), Some(1), "{finished:?}");
    let lines: Vec<&str> = finished.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {finished:?}");
    assert!(lines[0].starts_with("error:"), "{finished:?}");
    assert!(lines[0].contains("127.0.0.1:1"), "{finished:?}");
    assert!(!finished.stderr.contains("hunter2"), "{finished:?}");
    assert!(!finished.stderr.contains("panicked"), "{finished:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_migrated_by_a_newer_tessera_is_refused() {
    let database = fresh_database().await;
    let cwd = tempfile::tempdir().expect("a folder");
    let data = tempfile::tempdir().expect("a data folder");
    let data_dir = data.path().to_str().expect("a UTF-8 path");

    let migrated = run(
        cwd.path(),
        &[
            "migrate",
            "--database-url",
            &database.url,
            "--data-dir",
            data_dir,
        ],
    )
    .await;
    assert_eq!(migrated.code(), Some(0), "{migrated:?}");
    // The newest migration this build knows, not a number to update with every migration.
    let latest = tessera_store_sql::connect(&database.url, Default::default())
        .await
        .expect("connect")
        .schema_status()
        .await
        .expect("schema status");
    assert!(latest.is_current(), "{latest:?}");
    assert!(
        migrated
            .stdout
            .contains(&format!("version {}", latest.latest_known)),
        "{migrated:?}"
    );

    let checksum = if database.url.starts_with("sqlite:") {
        "X'00'"
    } else {
        "'\\x00'::bytea"
    };
    execute_sql(
        &database.url,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'future', TRUE, {checksum}, 0)"
        ),
    )
    .await;

    let mut command = tessera(cwd.path());
    command.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &database.url,
        "--data-dir",
        data_dir,
    ]);
    let refused = finish(command, Duration::from_secs(30)).await;
    assert_eq!(refused.code(), Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains("newer than this Tessera"),
        "{refused:?}"
    );
    assert!(refused.stderr.contains("9999"), "{refused:?}");
    assert!(!refused.stderr.contains(READY), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_data_folder_is_reported() {
    let cwd = tempfile::tempdir().expect("a folder");
    let file = cwd.path().join("a-file");
    std::fs::write(&file, "not a folder").expect("write a file");
    let data_dir = file.join("sub");
    let data_dir = data_dir.to_str().expect("a UTF-8 path");

    let mut command = tessera(cwd.path());
    command.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir]);
    let finished = finish(command, Duration::from_secs(30)).await;
    assert_eq!(finished.code(), Some(1), "{finished:?}");
    assert!(finished.stderr.starts_with("error:"), "{finished:?}");
    assert!(finished.stderr.contains("data folder"), "{finished:?}");
    assert!(finished.stderr.contains(data_dir), "{finished:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_credential_survives_a_restart_on_this_runs_backend() {
    let database = fresh_database().await;
    let cwd = tempfile::tempdir().expect("a folder");
    let data = tempfile::tempdir().expect("a data folder");
    let data_dir = data.path().to_str().expect("a UTF-8 path");
    let flags = [
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data_dir,
        "--database-url",
        &database.url,
    ];

    let mut server = Server::start(cwd.path(), &flags).await;
    server.ready().await;
    let mut args = vec![
        "admin",
        "create-credential",
        "--name",
        "ci",
        "--issuer",
        "default",
        "--json",
    ];
    args.extend(flags);
    let created = run(cwd.path(), &args).await;
    assert_eq!(created.code(), Some(0), "{created:?}");
    let credential = credential_from(&created.stdout, None);
    server.stop_cleanly().await;

    let mut again = Server::start(cwd.path(), &flags).await;
    let ready = again.ready().await;
    assert_eq!(ready["database"], backend().as_str(), "{ready}");
    assert_stored(&database.url, &credential).await;
    again.stop_cleanly().await;
}

/// Regression: the SIGTERM/SIGINT handlers must be installed before the ready banner is
/// logged. When they were installed on the shutdown future's first poll (inside the serve
/// task), a SIGTERM sent as soon as the banner appeared killed the process with the default
/// action (status 143) instead of shutting it down cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_right_after_the_ready_banner_shuts_down_cleanly() {
    for _ in 0..20 {
        let cwd = tempfile::tempdir().expect("a folder");
        // No drain: this is about the handlers, and twenty drains would only add waiting.
        std::fs::write(
            cwd.path().join("tessera.toml"),
            "[http]\ndrain_seconds = 0\n",
        )
        .expect("write the configuration");
        let mut server = Server::start(
            cwd.path(),
            &["--listen", "127.0.0.1:0", "--config", "tessera.toml"],
        )
        .await;
        server.stop_cleanly().await;
    }
}

/// `tessera dev seed` on this run's backend: 3 issuers × 2 clients × 5 users, then a running
/// server treats them as its own. A seeded client gets a client-credentials token, a seeded
/// user signs in through the hosted page and is found by the Core API, and a second run that
/// would reuse a slug is refused without writing anything.
#[tokio::test(flavor = "multi_thread")]
async fn dev_seed_fills_a_database_that_a_running_server_serves() {
    let database = fresh_database().await;
    let cwd = tempfile::tempdir().expect("a folder");
    let data = tempfile::tempdir().expect("a data folder");
    let data_dir = data.path().to_str().expect("a UTF-8 path");
    let out = cwd.path().join("seeded.json");
    let out_path = out.to_str().expect("a UTF-8 path");
    let store_flags = ["--data-dir", data_dir, "--database-url", &database.url];
    let mut args = vec![
        "dev",
        "seed",
        "--issuers",
        "3",
        "--clients-per-issuer",
        "2",
        "--users-per-issuer",
        "5",
        "--password",
        "correct horse battery",
        "--out",
        out_path,
    ];
    args.extend(store_flags);
    let seeded = run(cwd.path(), &args).await;
    assert_eq!(seeded.code(), Some(0), "{seeded:?}");
    assert!(
        seeded
            .stdout
            .starts_with("Seeded 3 issuers, 6 clients, 15 users and 12 signing keys in "),
        "{seeded:?}"
    );
    let mode = std::fs::metadata(&out)
        .expect("the report file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the report holds secrets: {mode:o}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read the report"))
            .expect("the report is one JSON document");
    let issuers = report["issuers"].as_array().expect("issuers");
    let slugs: Vec<&str> = issuers
        .iter()
        .map(|i| i["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["seed-00001", "seed-00002", "seed-00003"]);
    for issuer in issuers {
        assert_eq!(issuer["clients"].as_array().unwrap().len(), 2, "{issuer}");
        assert_eq!(issuer["users"], 5, "{issuer}");
        assert_eq!(issuer["sample_emails"].as_array().unwrap().len(), 5);
    }
    let client = &issuers[1]["clients"][1];
    let client_id = client["client_id"].as_str().expect("a client id");
    let client_secret = client["client_secret"].as_str().expect("a secret");
    let email = issuers[2]["sample_emails"][4].as_str().expect("an address");
    assert_eq!(email, "user0000005@seed-00003.example.com");
    if let Some(dir) = database.sqlite_dir() {
        assert_secret_not_in_files(dir, client_secret);
    }

    let mut serve_flags = vec!["--listen", "127.0.0.1:0"];
    serve_flags.extend(store_flags);
    let mut server = Server::start(cwd.path(), &serve_flags).await;
    let base = format!("http://localhost:{}", server.address.port());

    // A seeded client gets a token, signed by the seeded issuer's seeded ES256 key.
    let response = server
        .http
        .post(server.url("/seed-00002/oauth/token"))
        .basic_auth(client_id, Some(client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("the token request");
    assert_eq!(response.status(), 200, "{}", server.stderr_text());
    let token: Value = response.json().await.expect("a token response");
    let access_token = token["access_token"].as_str().expect("an access token");
    let jwks: Value = server
        .get("/seed-00002/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("a JWKS");
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("a kid"))
        .collect();
    assert_eq!(kids.len(), 4, "the seeded keys, no new ones: {jwks}");
    let published = tessera_crypto::jwk::PublicJwkSet::parse(&jwks).expect("a public JWK Set");
    let verified = tessera_crypto::jws::verify(access_token, published.keys())
        .expect("the token verifies with the issuer's published keys");
    assert_eq!(verified.header["alg"], "ES256");
    assert_eq!(
        verified.claims["client_id"], client_id,
        "{:?}",
        verified.claims
    );
    let wrong = server
        .http
        .post(server.url("/seed-00001/oauth/token"))
        .basic_auth(client_id, Some(client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("the token request");
    assert_eq!(
        wrong.status(),
        401,
        "a client exists only in its own issuer"
    );

    // A seeded user signs in with the seeded password through the hosted page.
    let authorize = format!(
        "{base}/seed-00003/oauth/authorize?response_type=code&client_id={}&redirect_uri={}\
         &scope=openid&state=s1",
        issuers[2]["clients"][0]["client_id"].as_str().unwrap(),
        "http%3A%2F%2F127.0.0.1%2Fcallback",
    );
    let landing = tessera_testkit::oidc::Browser::new()
        .authorize(&authorize, &base, email, "correct horse battery")
        .await;
    assert!(
        landing.location().starts_with("http://127.0.0.1/callback?"),
        "{landing:?}"
    );
    assert!(landing.param("code").is_some(), "{landing:?}");
    let refused = tessera_testkit::oidc::Browser::new()
        .authorize(&authorize, &base, email, "not the password")
        .await;
    assert!(
        matches!(refused, tessera_testkit::oidc::Landing::Page(_, _)),
        "a wrong password stays on the page: {refused:?}"
    );

    // The Core API finds the user by address.
    let mut args = vec!["admin", "create-credential", "--name", "ci", "--json"];
    args.extend(store_flags);
    let created = run(cwd.path(), &args).await;
    assert_eq!(created.code(), Some(0), "{created:?}");
    let credential = credential_from(&created.stdout, None);
    let token: Value = server
        .http
        .post(server.url("/system/oauth/token"))
        .basic_auth(&credential.client_id, Some(&credential.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("the token request")
        .json()
        .await
        .expect("a token response");
    let core_token = token["access_token"].as_str().expect("a Core API token");
    let listed: Value = server
        .http
        .get(server.url("/core/v1/issuers/seed-00003/users?email_prefix=USER0000005@seed-00003"))
        .bearer_auth(core_token)
        .send()
        .await
        .expect("the list request")
        .json()
        .await
        .expect("a page of users");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["email"], email);
    assert_eq!(items[0]["email_verified"], true);
    let id = items[0]["id"].as_str().expect("a user id");
    let found = server
        .http
        .get(server.url(&format!("/core/v1/issuers/seed-00003/users/{id}")))
        .bearer_auth(core_token)
        .send()
        .await
        .expect("the get request");
    assert_eq!(found.status(), 200);
    server.stop_cleanly().await;

    // Seeding again would reuse seed-00001: refused, nothing written.
    let mut args = vec!["dev", "seed", "--issuers", "4", "--users-per-issuer", "1"];
    args.extend(store_flags);
    let again = run(cwd.path(), &args).await;
    assert_eq!(again.code(), Some(1), "{again:?}");
    assert!(again.stderr.starts_with("error:"), "{again:?}");
    assert!(
        again.stderr.contains("`seed-00001` already exists"),
        "{again:?}"
    );
    let store = tessera_store_sql::connect(&database.url, Default::default())
        .await
        .expect("open the database");
    let fourth = IssuerSlug::parse("seed-00004").expect("a slug");
    assert_eq!(
        store
            .issuers()
            .find_by_slug(&fourth)
            .await
            .expect("a lookup"),
        None
    );
    store.close().await;
}
