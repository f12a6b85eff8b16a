//! RFC 9457 problem details: the one table of API error codes, and the only place where a
//! failure becomes a response (STYLE.md habits 4 and 5).
//!
//! Each code has one status and one `type` URI (a `tag:` URI, RFC 4151: stable, not meant to
//! be fetched). The `detail` is written for a person and never carries an internal cause;
//! 5xx responses are logged here, inside the request's span (which has the request id), and
//! carry nothing internal.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::CoreError;
use tessera_store::StoreError;

/// Every problem the API reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// A query parameter or header is malformed.
    InvalidRequest,
    /// The JSON body is malformed, has a wrong type or an unknown field.
    InvalidBody,
    /// A field has the right type but an unacceptable value.
    InvalidField,
    /// No or an invalid bearer token.
    Unauthorized,
    /// The token lacks the scope the operation needs.
    InsufficientScope,
    /// The caller may not do this at all.
    Forbidden,
    /// Nothing at this path (or nothing the caller may see).
    NotFound,
    /// A unique field is taken.
    Conflict,
    /// `If-Match` does not match the current version.
    PreconditionFailed,
    /// An `Idempotency-Key` already used for a different request.
    IdempotencyKeyReused,
    /// The body is larger than the API accepts.
    PayloadTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// The database cannot be reached now.
    Unavailable,
    /// Something broke that the caller cannot fix.
    Internal,
}

impl Problem {
    /// (code, status, title): the table.
    fn row(self) -> (&'static str, StatusCode, &'static str) {
        match self {
            Self::InvalidRequest => (
                "invalid_request",
                StatusCode::BAD_REQUEST,
                "Invalid request",
            ),
            Self::InvalidBody => ("invalid_body", StatusCode::BAD_REQUEST, "Invalid body"),
            Self::InvalidField => ("invalid_field", StatusCode::BAD_REQUEST, "Invalid field"),
            Self::Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED, "Unauthorized"),
            Self::InsufficientScope => (
                "insufficient_scope",
                StatusCode::FORBIDDEN,
                "Insufficient scope",
            ),
            Self::Forbidden => ("forbidden", StatusCode::FORBIDDEN, "Forbidden"),
            Self::NotFound => ("not_found", StatusCode::NOT_FOUND, "Not found"),
            Self::Conflict => ("conflict", StatusCode::CONFLICT, "Conflict"),
            Self::PreconditionFailed => (
                "precondition_failed",
                StatusCode::PRECONDITION_FAILED,
                "Precondition failed",
            ),
            Self::IdempotencyKeyReused => (
                "idempotency_key_reused",
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency key reused",
            ),
            Self::PayloadTooLarge => (
                "payload_too_large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload too large",
            ),
            Self::UnsupportedMediaType => (
                "unsupported_media_type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
            ),
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
        self.document(detail, None)
    }

    /// The response for a problem about one field, named in a `field` member.
    pub(crate) fn about_field(self, field: &str, detail: &str) -> Response {
        self.document(detail, Some(field))
    }

    fn document(self, detail: &str, field: Option<&str>) -> Response {
        let (code, status, title) = self.row();
        let body = ProblemDoc {
            kind: format!("tag:tessera.dev,2026:problems/{code}"),
            code: code.to_owned(),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.to_owned(),
            field: field.map(str::to_owned),
        };
        let body = serde_json::to_string(&body).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self == Self::Unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// The shape of every problem document, for the OpenAPI description.
#[derive(serde::Serialize, utoipa::ToSchema, utoipa::ToResponse)]
#[response(
    description = "An RFC 9457 problem document",
    content_type = "application/problem+json"
)]
pub(crate) struct ProblemDoc {
    /// A `tag:` URI naming the problem type.
    #[serde(rename = "type")]
    kind: String,
    /// The stable error code, e.g. `invalid_field`.
    code: String,
    /// A short summary of the problem type.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What happened, for a person.
    detail: String,
    /// The field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

/// The fallback for paths nothing serves.
pub(crate) async fn not_found() -> Response {
    Problem::NotFound.response("Nothing is served at this path.")
}

/// A use case's failure as a response: the one mapping from `CoreError`.
pub(crate) fn core_error(error: &CoreError) -> Response {
    match error {
        CoreError::NotFound | CoreError::Store(StoreError::NotFound) => {
            Problem::NotFound.response("No such object, or the credential may not see it.")
        }
        CoreError::InvalidField { field, reason } => {
            Problem::InvalidField.about_field(field, &format!("`{field}` {reason}."))
        }
        CoreError::Invalid(reason) => Problem::InvalidField.response(reason),
        CoreError::UnknownIssuer(slug) => {
            Problem::InvalidField.response(&format!("No issuer has the slug `{slug}`."))
        }
        CoreError::Forbidden(reason) => Problem::Forbidden.response(reason),
        CoreError::Store(StoreError::AlreadyExists { entity, field }) => Problem::Conflict
            .about_field(
                field,
                &format!("A {entity} with this {field} already exists."),
            ),
        CoreError::Store(StoreError::Conflict) => Problem::PreconditionFailed.response(
            "The object changed since it was read; fetch it again and retry with its ETag.",
        ),
        CoreError::Store(store) if store.is_unavailable() => {
            tracing::warn!(%error, "database unavailable");
            Problem::Unavailable.response("The database is unavailable; retry shortly.")
        }
        _ => {
            tracing::error!(%error, "request failed");
            internal_error()
        }
    }
}

/// The 500 every failure without a more specific answer gets: nothing internal, only the
/// pointer to the logs.
pub(crate) fn internal_error() -> Response {
    Problem::Internal
        .response("An internal error occurred; the x-request-id header identifies it in the logs.")
}
