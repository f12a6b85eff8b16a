//! The Core API's conventions, each in one place: JSON bodies (415, 413, 400 naming the
//! field), cursor pagination, and `ETag`/`If-Match`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use tessera_store::PageRequest;
use uuid::Uuid;

use crate::problem::Problem;

/// Largest JSON body the Core API reads.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// A JSON body, deserialized with errors that name the field.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| {
                let media = media.trim();
                media.eq_ignore_ascii_case("application/json")
                    || media.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(Problem::UnsupportedMediaType
                .response("Send the body as JSON with `Content-Type: application/json`."));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|_| {
            Problem::PayloadTooLarge
                .response(&format!("The body is larger than {} bytes.", MAX_BODY))
        })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            // The path names the field, an unknown one included (`colour`, `items[2].name`).
            let field = error.path().to_string();
            let inner = error.into_inner();
            let message = inner.to_string();
            let detail = if inner.is_syntax() || inner.is_eof() {
                format!("The body is not valid JSON: {message}.")
            } else {
                format!("`{field}`: {message}.")
            };
            if field == "." || inner.is_syntax() || inner.is_eof() {
                Problem::InvalidBody.response(&detail)
            } else {
                Problem::InvalidBody.about_field(&field, &detail)
            }
        })?;
        deserializer.end().map_err(|_| {
            Problem::InvalidBody.response("The body has trailing characters after the JSON value.")
        })?;
        Ok(Self(value))
    }
}

/// `?limit=&cursor=` of a listing.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Default and largest page sizes.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

impl PageQuery {
    /// The page to fetch, or a 400 naming the parameter.
    pub(crate) fn page(&self) -> Result<PageRequest, Box<Response>> {
        page_request(self.limit, self.cursor.as_deref())
    }
}

/// The page `?limit=&cursor=` asks for, or a 400 naming the parameter. For listings whose
/// query has more parameters than [`PageQuery`].
pub(crate) fn page_request(
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<PageRequest, Box<Response>> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Box::new(
            Problem::InvalidRequest.about_field("limit", &format!("`limit` is 1 to {MAX_LIMIT}.")),
        ));
    }
    match cursor {
        None => Ok(PageRequest::first(limit)),
        Some(cursor) => decode_cursor(cursor)
            .map(|after| PageRequest::after(after, limit))
            .ok_or_else(|| {
                Box::new(Problem::InvalidRequest.about_field(
                    "cursor",
                    "`cursor` is not one this API returned; start again without it.",
                ))
            }),
    }
}

/// For nullable fields of a PATCH body: absent → `None`, `null` → `Some(None)`, a value →
/// `Some(Some(value))`. Use with `#[serde(default, deserialize_with = "double_option")]`.
pub(crate) fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// A created object: 201 with `Location` and `ETag`.
pub(crate) fn created(location: &str, revision: i64, body: impl serde::Serialize) -> Response {
    let mut response = with_etag(
        revision,
        (axum::http::StatusCode::CREATED, axum::Json(body)),
    );
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// An opaque cursor: the position after which the next page starts.
pub(crate) fn encode_cursor(after: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(after.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::from_slice(&bytes).ok()
}

/// A strong `ETag` for a revision.
pub(crate) fn etag(revision: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{revision}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// A JSON response carrying the object's `ETag`.
pub(crate) fn with_etag(revision: i64, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::ETAG, etag(revision));
    response
}

/// The revision `If-Match` demands: `None` without the header or with `*`; a 412 when the
/// header is not a single revision ETag this API issued (RFC 9110 §13.1.1).
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, Box<Response>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            Box::new(
                Problem::PreconditionFailed
                    .response("`If-Match` must be the ETag of the object as read (e.g. \"3\")."),
            )
        })
}

/// Query parameters, with a problem document (400 `invalid_request`) when they do not parse,
/// instead of axum's plain-text rejection.
pub(crate) struct QueryParams<T>(pub(crate) T);

impl<S, T> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Response> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| {
                Problem::InvalidRequest.response(&format!(
                    "The query string is not valid: {}.",
                    rejection.body_text()
                ))
            })
    }
}

/// What a handler's early checks refuse with: a response, boxed or not.
pub(crate) trait Refusal {
    /// The response to send.
    fn into_refusal(self) -> Response;
}

impl Refusal for Response {
    fn into_refusal(self) -> Response {
        self
    }
}

impl Refusal for Box<Response> {
    fn into_refusal(self) -> Response {
        *self
    }
}

/// The value of a check that passed, or an early return with the check's refusal: the one
/// spelling of "run the checks in order, stop at the first that refuses" in handlers.
macro_rules! passed {
    ($check:expr) => {
        match $check {
            Ok(value) => value,
            Err(refusal) => return $crate::conventions::Refusal::into_refusal(refusal),
        }
    };
}
pub(crate) use passed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        assert_eq!(decode_cursor("nope!"), None);
        assert_eq!(decode_cursor("AAAA"), None);
    }

    #[test]
    fn if_match_accepts_only_our_etags() {
        let mut headers = HeaderMap::new();
        assert_eq!(if_match(&headers).ok(), Some(None));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"7\""));
        assert_eq!(if_match(&headers).ok(), Some(Some(7)));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match(&headers).ok(), Some(None));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("W/\"7\""));
        assert!(if_match(&headers).is_err());
    }
}
