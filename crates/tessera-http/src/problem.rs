//! RFC 9457 problem details for the operational surface. (The Core API's catalog of problem
//! types arrives with the Core API.)

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A problem document with the `about:blank` type: the status says it all.
pub(crate) fn plain(status: StatusCode, detail: &str) -> Response {
    let body = serde_json::json!({
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// The fallback for paths nothing serves.
pub(crate) async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "Nothing is served at this path.")
}
