//! The IdP API's OAuth endpoints, per issuer at `/{issuer}/…`: the token endpoint
//! (RFC 6749 §3.2) and the JWKS (RFC 7517).
//!
//! Errors leave as the RFC's JSON (`{"error","error_description"}`) with the status the code
//! implies; token responses and errors carry `Cache-Control: no-store` (RFC 6749 §5.1).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tessera_model::Issuer;
use tessera_oauth::{ClientAuth, ErrorCode, Form, OAuthError, client_auth, parse_token_request};

use crate::AppState;
use crate::conventions::passed;
use crate::problem;

/// Largest token request body (the form parser has the same cap).
const TOKEN_BODY_LIMIT: usize = 64 * 1024;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{issuer}/oauth/token",
            post(token).layer(DefaultBodyLimit::max(TOKEN_BODY_LIMIT)),
        )
        .route("/{issuer}/.well-known/jwks.json", get(jwks))
}

/// Finds the issuer a path names, or the response for a missing one.
pub(crate) async fn issuer(state: &AppState, slug: &str) -> Result<Issuer, Response> {
    match state.core.find_issuer(slug).await {
        Ok(Some(issuer)) => Ok(issuer),
        Ok(None) => Err(problem::not_found().await),
        Err(error) => Err(problem::core_error(&error)),
    }
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An OAuth error response. RFC 6749 §5.2: a 401 `invalid_client` after HTTP Basic carries a
/// `WWW-Authenticate` challenge for the scheme the client used.
fn oauth_error(error: &OAuthError, used_basic: bool) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(error.to_json())).into_response();
    if error.code == ErrorCode::InvalidClient && used_basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tessera\""),
        );
    }
    if error.code == ErrorCode::TemporarilyUnavailable {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    no_store(response)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

async fn token(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    let authorization = headers.get(header::AUTHORIZATION);
    let used_basic = authorization
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.get(..6))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic "));
    let result = async {
        if !is_form(&headers) {
            return Err(OAuthError::invalid_request(
                "The request body must be application/x-www-form-urlencoded.",
            ));
        }
        let form = Form::parse(&body)?;
        let authorization = match authorization.map(|v| v.to_str()) {
            None => None,
            Some(Ok(value)) => Some(value),
            Some(Err(_)) => {
                return Err(OAuthError::invalid_client(
                    "The Authorization header is malformed.",
                ));
            }
        };
        let auth: ClientAuth = client_auth(authorization, &form)?;
        let request = parse_token_request(&form)?;
        state.core.token(&issuer, &auth, request).await
    }
    .await;
    match result {
        Ok(response) => no_store(Json(response.to_json()).into_response()),
        Err(error) => oauth_error(&error, used_basic),
    }
}

async fn jwks(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    match state.core.issuer_keys(&issuer).await {
        // The next key is published before it signs, so a cached copy stays valid for a while.
        Ok(keys) => (
            [(header::CACHE_CONTROL, "public, max-age=300")],
            Json(keys.jwks().clone()),
        )
            .into_response(),
        Err(error) => problem::core_error(&error),
    }
}
