//! Liveness and readiness.
//!
//! `/healthz` says the process answers; it touches nothing else, so a slow database never
//! gets a live process restarted. `/readyz` says this node should get traffic: the database
//! answers and every migration this build knows is applied.

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

async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.core.store();
    match store.schema_status().await {
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
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not_ready", "reason": "database unreachable" })),
            )
                .into_response()
        }
    }
}
