//! `Idempotency-Key` on every POST of the Core API (issue 3; the IETF draft "The
//! Idempotency-Key HTTP Header Field", with Stripe's behaviour as the model).
//!
//! A POST that carries the header is run at most once per key and caller within 24 hours:
//!
//! 1. The key must be 1 to 255 visible ASCII characters, else 400 `invalid_request`.
//! 2. The caller is the Core API credential of the bearer token. Without a valid token the
//!    request passes through untouched and the handler answers 401: nothing is stored.
//! 3. The request is fingerprinted (SHA-256 of method, path and query, body), the body
//!    buffered up to [`MAX_BODY`] (413 beyond), and the key claimed in the store:
//!    - the first request runs; its response is kept (status, `Content-Type`, `Location`,
//!      `ETag`, body) unless it failed in a way a retry may fix — a 5xx, or a 401/403, which
//!      depend on the token rather than the request — in which case the key is released;
//!    - a retry with the same fingerprint gets the kept response again, marked
//!      `Idempotent-Replayed: true`, and the handler does not run;
//!    - the same key with another fingerprint is 422 `idempotency_key_reused`;
//!    - a retry while the first request still runs is 409 `conflict`.
//!
//! The handler runs in its own task, so a client that hangs up does not cut it short: the
//! change it makes and the response it keeps stay together, and the retry is replayed.
//! Requests without the header, and methods other than POST, are not touched.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tessera_core::idempotency::{IdempotencyKey, request_fingerprint};
use tessera_core::token::CoreCaller;
use tessera_store::{Begin, StoredResponse};
use tracing::Instrument as _;

use crate::AppState;
use crate::conventions::MAX_BODY;
use crate::core_api::CoreAuth;
use crate::problem::{Problem, core_error, internal_error};

/// The request header naming the key.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The response header that marks a replay.
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The response headers kept with a response and sent again with its replay.
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// How the field is named in problem documents.
const FIELD: &str = "Idempotency-Key";

/// The middleware; see the module documentation.
pub(crate) async fn middleware(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key(IDEMPOTENCY_KEY) {
        return next.run(request).await;
    }
    let key = match key_of(&request) {
        Ok(key) => key,
        Err(refusal) => return *refusal,
    };
    let (mut parts, body) = request.into_parts();
    let caller = match CoreAuth::from_request_parts(&mut parts, &state).await {
        // Kept in the request, so the handler's `CoreAuth` does not verify the token again.
        Ok(CoreAuth(caller)) => {
            parts.extensions.insert(caller.clone());
            caller
        }
        // The handler refuses the request the same way; nobody to keep a response for.
        Err(_) => return next.run(Request::from_parts(parts, body)).await,
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Problem::PayloadTooLarge
            .response(&format!("The body is larger than {MAX_BODY} bytes."));
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |target| target.as_str());
    let fingerprint = request_fingerprint(parts.method.as_str(), target, &body);

    match state
        .core
        .begin_idempotent(&caller, &key, &fingerprint)
        .await
    {
        Err(error) => core_error(&error),
        Ok(Begin::Started) => {
            let request = Request::from_parts(parts, Body::from(body));
            let first =
                tokio::spawn(run_first(state, caller, key, request, next).in_current_span());
            first.await.unwrap_or_else(|_| internal_error())
        }
        Ok(Begin::Replay(kept)) => replay(kept),
        Ok(Begin::Mismatch) => Problem::IdempotencyKeyReused.about_field(
            FIELD,
            "This Idempotency-Key was used for a different request (method, path or body); \
             use a new key for a new request.",
        ),
        Ok(Begin::InProgress) => Problem::Conflict.about_field(
            FIELD,
            "A request with this Idempotency-Key is in progress; retry after it finishes.",
        ),
    }
}

/// The key of a request that has the header, or the 400 that refuses it.
fn key_of(request: &Request) -> Result<IdempotencyKey, Box<Response>> {
    let mut values = request.headers().get_all(IDEMPOTENCY_KEY).iter();
    let key = match (values.next(), values.next()) {
        (Some(value), None) => value
            .to_str()
            .ok()
            .and_then(|text| IdempotencyKey::parse(text).ok()),
        _ => None,
    };
    key.ok_or_else(|| {
        Box::new(Problem::InvalidRequest.about_field(
            FIELD,
            "`Idempotency-Key` must be one header of 1 to 255 visible ASCII characters.",
        ))
    })
}

/// Runs the request that claimed `key` and keeps its response, or releases the key.
async fn run_first(
    state: AppState,
    caller: CoreCaller,
    key: IdempotencyKey,
    request: Request,
    next: Next,
) -> Response {
    // A task of its own, so that a panicking handler still lets us release the key.
    let Ok(response) = tokio::spawn(next.run(request).in_current_span()).await else {
        release(&state, &caller, &key).await;
        return internal_error();
    };
    let status = response.status();
    // Worth replaying only when a retry cannot do better: not after a server failure, and not
    // after an authorisation refusal (a token with the right scope may retry with the key).
    if status.is_server_error()
        || matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
    {
        release(&state, &caller, &key).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        release(&state, &caller, &key).await;
        return internal_error();
    };
    let kept = StoredResponse {
        status: status.as_u16(),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = parts.headers.get(name)?.to_str().ok()?;
                Some((name.as_str().to_owned(), value.to_owned()))
            })
            .collect(),
        body: body.to_vec(),
    };
    if let Err(error) = state.core.finish_idempotent(&caller, &key, &kept).await {
        // The change is made; the response still goes out. Without a kept response a
        // retry would be told "in progress" until the key expires, so free the key.
        tracing::warn!(%error, "could not keep the response of an idempotent request");
        release(&state, &caller, &key).await;
    }
    Response::from_parts(parts, Body::from(body))
}

/// Releases a key whose first request will not be replayed.
async fn release(state: &AppState, caller: &CoreCaller, key: &IdempotencyKey) {
    if let Err(error) = state.core.abandon_idempotent(caller, key).await {
        tracing::warn!(%error, "could not release an idempotency key; it stays taken until it expires");
    }
}

/// A kept response, sent again.
fn replay(kept: StoredResponse) -> Response {
    let mut response = Response::new(Body::from(Bytes::from(kept.body)));
    *response.status_mut() =
        StatusCode::from_u16(kept.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in kept.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}
