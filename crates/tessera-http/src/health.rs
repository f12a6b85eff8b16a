//! Liveness and readiness.
//!
//! `/healthz` says the process answers; it touches nothing else, so a slow database never
//! gets a live process restarted. `/readyz` says this node should get traffic: it is not
//! draining, the database answers, and every migration this build knows is applied.
//!
//! `/readyz` answers within [`READINESS_TIMEOUT`] whatever the database does: a database that
//! stopped answering (a network partition, a server that vanished without closing its
//! connections) would otherwise hold the probe for as long as the pool waits for a connection
//! or the kernel for a dead peer, and a probe that times out tells the load balancer less
//! than a 503 that says why.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// How long `/readyz` waits for the database before answering that it is unreachable.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.is_on() {
        return not_ready("draining");
    }
    let store = state.core.store();
    let Ok(status) = tokio::time::timeout(READINESS_TIMEOUT, store.schema_status()).await else {
        tracing::warn!(timeout = ?READINESS_TIMEOUT, "readiness check: the database did not answer in time");
        return not_ready("database unreachable");
    };
    match status {
        Ok(status) if status.is_current() => Json(json!({
            "status": "ready",
            "database": store.backend().as_str(),
            "schema_version": status.applied,
        }))
        .into_response(),
        Ok(status) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "not_ready",
                "reason": "migrations pending",
                "schema_version": status.applied,
                "expected_schema_version": status.latest_known,
            })),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            not_ready("database unreachable")
        }
    }
}

fn not_ready(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "not_ready", "reason": reason })),
    )
        .into_response()
}
