//! `tessera audit verify`, run as a process on this run's backend: an untouched trail
//! verifies (exit 0); one stored event altered behind Tessera's back makes it fail (exit 1)
//! at that event, naming it, while the other issuers' chains still verify.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use std::path::Path;
use std::time::Duration;

use tessera_store_sql::testing::{execute_sql, fresh_database};

mod support;
use support::tessera_command;

/// How long one command may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// `tessera ARGS --data-dir DATA --database-url URL` in `cwd`, configured by nothing else
/// (the test run's `TESSERA_*` environment removed); returns exit code and standard output.
async fn tessera(cwd: &Path, database_url: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut command = tessera_command(cwd, args);
    command.args(["--data-dir", "data", "--database-url", database_url]);
    let output = tokio::time::timeout(COMMAND_TIMEOUT, command.output())
        .await
        .expect("tessera exits in time")
        .expect("run tessera");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code().is_some(),
        "tessera {args:?} was killed: {stderr}"
    );
    (output.status.code(), format!("{stdout}{stderr}"))
}

#[tokio::test]
async fn audit_verify_finds_the_event_that_was_altered() {
    let database = fresh_database().await;
    let cwd = tempfile::tempdir().unwrap();
    // Each credential adds a `client.created` event to the system issuer's trail.
    for name in ["first", "second", "third"] {
        let (code, output) = tessera(
            cwd.path(),
            &database.url,
            &["admin", "create-credential", "--name", name, "--json"],
        )
        .await;
        assert_eq!(code, Some(0), "{output}");
    }

    let (code, output) = tessera(cwd.path(), &database.url, &["audit", "verify"]).await;
    assert_eq!(code, Some(0), "{output}");
    let system_line = output
        .lines()
        .find(|l| l.starts_with("system: "))
        .unwrap_or_else(|| panic!("a line for the system issuer: {output}"));
    assert!(
        system_line.ends_with("events, chain intact"),
        "{system_line}"
    );
    assert!(
        output
            .lines()
            .any(|l| l.starts_with("default: ") && l.ends_with("chain intact")),
        "{output}"
    );

    execute_sql(
        &database.url,
        "UPDATE events SET data = '{\"tampered\":true}' \
         WHERE seq = 2 AND issuer_id = (SELECT id FROM issuers WHERE slug = 'system')",
    )
    .await;

    let (code, output) = tessera(cwd.path(), &database.url, &["audit", "verify"]).await;
    assert_eq!(code, Some(1), "{output}");
    let system_line = output
        .lines()
        .find(|l| l.starts_with("system: "))
        .unwrap_or_else(|| panic!("a line for the system issuer: {output}"));
    assert!(
        system_line.starts_with("system: chain broken at event #2 (evt_"),
        "{system_line}"
    );
    assert!(
        system_line.ends_with("hash does not match its contents"),
        "{system_line}"
    );
    // The other issuer's chain is untouched, and says so.
    assert!(
        output
            .lines()
            .any(|l| l.starts_with("default: ") && l.ends_with("chain intact")),
        "{output}"
    );

    // One issuer at a time.
    let (code, output) = tessera(
        cwd.path(),
        &database.url,
        &["audit", "verify", "--issuer", "default"],
    )
    .await;
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(output.lines().count(), 1, "{output}");
    let (code, output) = tessera(
        cwd.path(),
        &database.url,
        &["audit", "verify", "--issuer", "system"],
    )
    .await;
    assert_eq!(code, Some(1), "{output}");
}

#[tokio::test]
async fn audit_verify_reports_a_removed_event_as_a_gap() {
    let database = fresh_database().await;
    let cwd = tempfile::tempdir().unwrap();
    for name in ["first", "second"] {
        let (code, output) = tessera(
            cwd.path(),
            &database.url,
            &["admin", "create-credential", "--name", name, "--json"],
        )
        .await;
        assert_eq!(code, Some(0), "{output}");
    }
    execute_sql(
        &database.url,
        "DELETE FROM events \
         WHERE seq = 2 AND issuer_id = (SELECT id FROM issuers WHERE slug = 'system')",
    )
    .await;
    let (code, output) = tessera(
        cwd.path(),
        &database.url,
        &["audit", "verify", "--issuer", "system"],
    )
    .await;
    assert_eq!(code, Some(1), "{output}");
    assert!(
        output.contains("system: chain broken at event #2: the event is missing"),
        "{output}"
    );
}

#[tokio::test]
async fn audit_verify_refuses_an_unknown_issuer() {
    let database = fresh_database().await;
    let cwd = tempfile::tempdir().unwrap();
    let (code, output) = tessera(
        cwd.path(),
        &database.url,
        &["audit", "verify", "--issuer", "nowhere"],
    )
    .await;
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("nowhere"), "{output}");
}
