//! The server as a whole, in-process, on this run's backend.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use serde_json::Value;
use tessera_model::IssuerSlug;
use tessera_store::IssuerScope;
use tessera_testkit::TestApp;

#[tokio::test]
async fn health_and_readiness_answer_on_this_runs_backend() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(
        body["database"],
        tessera_store_sql::testing::backend().as_str()
    );
    // The newest migration this build knows, not a number to update with every migration.
    let status = app.core().store().schema_status().await.unwrap();
    assert_eq!(body["schema_version"], status.latest_known);
}

#[tokio::test]
async fn readiness_fails_while_a_migration_is_missing() {
    // The newest migration, or one in the middle (a gap), missing: either way not ready.
    for missing in ["(SELECT MAX(version) FROM _sqlx_migrations)", "1"] {
        let app = TestApp::spawn().await;
        tessera_store_sql::testing::execute_sql(
            app.database_url(),
            &format!(
                "DELETE FROM _sqlx_migrations WHERE version = (SELECT v FROM (SELECT {missing} AS v) AS m)"
            ),
        )
        .await;
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), 503, "{missing}");
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["reason"], "migrations pending");
        // Liveness does not depend on the database.
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
}

#[tokio::test]
async fn data_survives_a_restart() {
    let app = TestApp::spawn().await;
    let credential = app.core().create_admin_credential("ci", &[]).await.unwrap();
    let first = app.core().ensure_builtin_issuers().await.unwrap();

    let app = app.restart().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let again = app.core().ensure_builtin_issuers().await.unwrap();
    assert_eq!(again.system.id, first.system.id);
    assert_eq!(again.default.id, first.default.id);
    let client = app
        .core()
        .store()
        .clients()
        .find(IssuerScope::of(&again.system), credential.client_id)
        .await
        .unwrap()
        .expect("the credential survived the restart");
    assert_eq!(client.name, "ci");
    assert_eq!(again.default.slug, IssuerSlug::default_issuer());
}

#[tokio::test]
async fn unknown_paths_get_a_problem_document() {
    let app = TestApp::spawn().await;
    let response = app.get("/no/such/thing").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], 404);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_the_callers() {
    let app = TestApp::spawn().await;
    let generated = app.get("/healthz").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "32 hex digits: {id}"
    );
    let next = app.get("/healthz").await;
    assert_ne!(
        next.headers()["x-request-id"],
        id,
        "each request its own id"
    );

    let echoed = app
        .client
        .get(format!("{}/healthz", app.base_url))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.lines()
            .any(|line| line.starts_with("tessera_http_requests_total")
                && line.contains("route=\"/healthz\"")
                && line.contains("status=\"200\"")),
        "{text}"
    );
}
