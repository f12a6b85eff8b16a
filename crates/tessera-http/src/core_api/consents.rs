//! `/core/v1/issuers/{slug}/users/{id}/grants` and `…/sessions`: what a user has let in —
//! consents given to third-party clients and browser sessions — listed and revoked.
//! Revoking a grant also revokes the tokens issued under it; revoking a session signs the
//! browser out.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;
use tessera_core::consents::UserSession;
use tessera_model::{ClientId, Grant, SessionId, UserId};
use utoipa::ToSchema;

use super::{CoreAuth, READ, WRITE, authorised_object, object_id};
use crate::AppState;
use crate::conventions::passed;
use crate::problem::{ProblemDoc, core_error};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/core/v1/issuers/{slug}/users/{id}/grants",
            get(list_grants),
        )
        .route(
            "/core/v1/issuers/{slug}/users/{id}/grants/{client_id}",
            delete(revoke_grant),
        )
        .route(
            "/core/v1/issuers/{slug}/users/{id}/sessions",
            get(list_sessions),
        )
        .route(
            "/core/v1/issuers/{slug}/users/{id}/sessions/{session_id}",
            delete(revoke_session),
        )
}

/// A user's consent to a client, as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct GrantOut {
    /// `grt_…`
    id: String,
    /// The client consented to (`cli_…`).
    client_id: String,
    /// The scopes consented to, sorted.
    scopes: Vec<String>,
    /// Unix seconds: when consent was first given.
    created_at: i64,
    /// Unix seconds: when it last grew.
    updated_at: i64,
}

/// A user's consents, oldest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct GrantList {
    items: Vec<GrantOut>,
}

/// A user's browser session, as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionOut {
    /// `ses_…`, the `sid` of the ID tokens issued from it.
    id: String,
    /// How the user authenticated (RFC 8176 values).
    amr: Vec<String>,
    /// Unix seconds: when the user authenticated.
    auth_time: i64,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds: when it lapses.
    expires_at: i64,
    /// Unix seconds: when it was ended by logout or revocation; `null` while not ended.
    ended_at: Option<i64>,
    /// Whether it still signs the user in (neither ended nor lapsed).
    active: bool,
    /// The clients that received tokens from it (`cli_…`), in the order they first did.
    clients: Vec<String>,
}

/// A user's sessions, newest first, active and ended.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionList {
    items: Vec<SessionOut>,
}

fn grant_json(grant: &Grant) -> GrantOut {
    GrantOut {
        id: grant.id.to_string(),
        client_id: grant.client_id.to_string(),
        scopes: grant.scopes.clone(),
        created_at: grant.created_at.0,
        updated_at: grant.updated_at.0,
    }
}

fn session_json(found: &UserSession) -> SessionOut {
    let session = &found.session;
    SessionOut {
        id: session.id.to_string(),
        amr: session.amr.clone(),
        auth_time: session.auth_time.0,
        created_at: session.created_at.0,
        expires_at: session.expires_at.0,
        ended_at: session.ended_at.map(|t| t.0),
        active: found.active,
        clients: found.clients.iter().map(ToString::to_string).collect(),
    }
}

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/users/{id}/grants", tag = "consents",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The user's id (`usr_…`)")),
    responses((status = 200, description = "The user's consents", body = GrantList), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn list_grants(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, user) =
        passed!(authorised_object(&state, &auth, READ, &slug, &id, UserId::parse).await);
    match state.core.list_user_grants(&issuer, user).await {
        Ok(grants) => Json(GrantList {
            items: grants.iter().map(grant_json).collect(),
        })
        .into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(delete, path = "/core/v1/issuers/{slug}/users/{id}/grants/{client_id}", tag = "consents",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The user's id (`usr_…`)"), ("client_id" = String, Path, description = "The client's id (`cli_…`)")),
    responses((status = 204, description = "Consent withdrawn; the tokens issued under it are revoked and the next authorization asks again"), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn revoke_grant(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id, client_id)): Path<(String, String, String)>,
) -> Response {
    let (issuer, user) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, UserId::parse).await);
    let client = passed!(object_id(&client_id, ClientId::parse));
    match state
        .core
        .revoke_user_grant(&issuer, user, client, auth.actor())
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/users/{id}/sessions", tag = "consents",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The user's id (`usr_…`)")),
    responses((status = 200, description = "The user's sessions", body = SessionList), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn list_sessions(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, user) =
        passed!(authorised_object(&state, &auth, READ, &slug, &id, UserId::parse).await);
    match state.core.list_user_sessions(&issuer, user).await {
        Ok(sessions) => Json(SessionList {
            items: sessions.iter().map(session_json).collect(),
        })
        .into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(delete, path = "/core/v1/issuers/{slug}/users/{id}/sessions/{session_id}", tag = "consents",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The user's id (`usr_…`)"), ("session_id" = String, Path, description = "The session's id (`ses_…`)")),
    responses((status = 204, description = "Session ended (also when it already was)"), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id, session_id)): Path<(String, String, String)>,
) -> Response {
    let (issuer, user) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, UserId::parse).await);
    let session = passed!(object_id(&session_id, SessionId::parse));
    match state
        .core
        .revoke_user_session(&issuer, user, session, auth.actor())
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => core_error(&error),
    }
}
