//! RFC 9457 problem details: the one table of API error codes, and the responses made from it.
//!
//! Each code has one status and one `type` URI (a `tag:` URI, RFC 4151: stable and not meant
//! to be fetched). The `detail` is written for a person and never carries an internal cause;
//! 5xx responses are logged here, with the request's span, and carry nothing internal.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Every problem the API reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// No or an invalid bearer token.
    Unauthorized,
    /// The token lacks the scope the operation needs.
    InsufficientScope,
    /// Nothing at this path (or nothing the caller may see).
    NotFound,
    /// The database cannot be reached now.
    Unavailable,
    /// Something broke that the caller cannot fix.
    Internal,
}

impl Problem {
    /// (code, status, title)
    fn row(self) -> (&'static str, StatusCode, &'static str) {
        match self {
            Self::Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED, "Unauthorized"),
            Self::InsufficientScope => (
                "insufficient_scope",
                StatusCode::FORBIDDEN,
                "Insufficient scope",
            ),
            Self::NotFound => ("not_found", StatusCode::NOT_FOUND, "Not found"),
            Self::Unavailable => (
                "unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "Service unavailable",
            ),
            Self::Internal => (
                "internal",
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error",
            ),
        }
    }

    /// The response for this problem with `detail`.
    pub(crate) fn response(self, detail: &str) -> Response {
        let (code, status, title) = self.row();
        let body: Value = json!({
            "type": format!("tag:tessera.dev,2026:problems/{code}"),
            "code": code,
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
        });
        let mut response = (status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self == Self::Unavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// The fallback for paths nothing serves.
pub(crate) async fn not_found() -> Response {
    Problem::NotFound.response("Nothing is served at this path.")
}

/// A failure of a use case: logged with its cause, answered without it.
pub(crate) fn internal(error: &tessera_core::CoreError) -> Response {
    match error {
        tessera_core::CoreError::Store(store) if store.is_unavailable() => {
            tracing::warn!(%error, "database unavailable");
            Problem::Unavailable.response("The database is unavailable; retry shortly.")
        }
        _ => {
            tracing::error!(%error, "request failed");
            Problem::Internal
                .response("An internal error occurred; the request id identifies it in the logs.")
        }
    }
}
