//! The Core API at `/core/v1`: authorisation by bearer tokens of the `system` issuer
//! (DESIGN.md §2), and its resources.
//!
//! Every handler takes a [`CoreAuth`], so no route can forget authorisation; the scope an
//! operation needs is checked at the top of the handler. Objects the caller may not see
//! answer 404, exactly like objects that do not exist (no existence leak).

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use tessera_core::token::CoreCaller;
use tessera_model::Issuer;
use tessera_oauth::ErrorCode;

use crate::AppState;

mod clients;
mod consents;
mod events;
mod issuers;
mod openapi;
mod users;
mod webhooks;
use crate::conventions::MAX_BODY;
use crate::problem::{Problem, core_error};

/// Read access.
pub(crate) const READ: &str = "core:read";

/// Write access.
pub(crate) const WRITE: &str = "core:write";

pub(crate) fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/core/v1/openapi.json", axum::routing::get(openapi::serve))
        .merge(issuers::routes())
        .merge(users::routes())
        .merge(consents::routes())
        .merge(clients::routes())
        .merge(events::routes())
        .merge(webhooks::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // `Idempotency-Key` on every POST; outermost, so a replay runs no handler at all.
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::idempotency::middleware,
        ))
}

/// A caller whose bearer token the Core API accepted.
pub(crate) struct CoreAuth(pub(crate) CoreCaller);

impl CoreAuth {
    /// Who the changes made with this credential are attributed to in the audit trail.
    pub(crate) fn actor(&self) -> tessera_model::Actor {
        tessera_model::Actor::AdminClient(self.0.client_id)
    }
}

/// RFC 6750 §3: the challenge, with the error when there was a token.
fn challenge(problem: Problem, error: Option<(&str, &str)>, detail: &str) -> Response {
    let mut value = String::from("Bearer realm=\"tessera-core\"");
    if let Some((code, extra)) = error {
        value.push_str(&format!(", error=\"{code}\""));
        value.push_str(extra);
    }
    let mut response = problem.response(detail);
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

impl FromRequestParts<AppState> for CoreAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // Already verified by a middleware in front of the handler (idempotency).
        if let Some(caller) = parts.extensions.get::<CoreCaller>() {
            return Ok(Self(caller.clone()));
        }
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty());
        let Some(token) = token else {
            // RFC 6750 §3.1: no error code when the request had no credentials.
            return Err(challenge(
                Problem::Unauthorized,
                None,
                "This API needs an `Authorization: Bearer` access token of the system issuer.",
            ));
        };
        match state.core.authenticate_core_token(token).await {
            Ok(caller) => Ok(Self(caller)),
            Err(error) if error.code == ErrorCode::InvalidToken => Err(challenge(
                Problem::Unauthorized,
                Some(("invalid_token", "")),
                "The access token is invalid, expired, or not from the system issuer.",
            )),
            Err(error) if error.code == ErrorCode::TemporarilyUnavailable => {
                Err(Problem::Unavailable.response("The database is unavailable; retry shortly."))
            }
            Err(_) => Err(crate::problem::internal_error()),
        }
    }
}

impl CoreAuth {
    /// The 403 response when the token lacks `scope` (RFC 6750 §3.1 `insufficient_scope`).
    pub(crate) fn refusal_without(&self, scope: &str) -> Option<Response> {
        if self.0.has_scope(scope) {
            None
        } else {
            Some(challenge(
                Problem::InsufficientScope,
                Some(("insufficient_scope", &format!(", scope=\"{scope}\""))),
                &format!("This operation needs the `{scope}` scope."),
            ))
        }
    }
}

/// Runs the checks every issuer-scoped handler starts with: the scope, then the issuer in
/// the path (404 when it does not exist or the caller may not see it).
pub(crate) async fn authorised_issuer(
    state: &AppState,
    auth: &CoreAuth,
    scope: &str,
    slug: &str,
) -> Result<Issuer, Response> {
    if let Some(refusal) = auth.refusal_without(scope) {
        return Err(refusal);
    }
    state
        .core
        .issuer_for(&auth.0, slug)
        .await
        .map_err(|e| core_error(&e))
}

/// The checks of handlers for one object of an issuer: the scope, the issuer, then the
/// object's id (a malformed id names no object: 404, like a missing one).
pub(crate) async fn authorised_object<T, E>(
    state: &AppState,
    auth: &CoreAuth,
    scope: &str,
    slug: &str,
    id: &str,
    parse: fn(&str) -> Result<T, E>,
) -> Result<(Issuer, T), Response> {
    let issuer = authorised_issuer(state, auth, scope, slug).await?;
    let id = object_id(id, parse).map_err(|refusal| *refusal)?;
    Ok((issuer, id))
}

/// An object's id from the path; a malformed one names no object (404, like a missing one).
pub(crate) fn object_id<T, E>(
    id: &str,
    parse: fn(&str) -> Result<T, E>,
) -> Result<T, Box<Response>> {
    parse(id).map_err(|_| {
        Box::new(Problem::NotFound.response("No such object, or the credential may not see it."))
    })
}
