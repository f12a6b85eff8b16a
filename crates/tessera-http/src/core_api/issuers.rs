//! `/core/v1/issuers`: issuers and their signing keys.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tessera_core::issuers::{IssuerPatch, NewIssuer};
use tessera_model::{Actor, Issuer, SigningKey};

use super::{CoreAuth, READ, WRITE, authorised_issuer};
use crate::AppState;
use crate::conventions::{JsonBody, PageQuery, encode_cursor, if_match, with_etag};
use crate::problem::core_error;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/core/v1/issuers", get(list_issuers).post(create_issuer))
        .route(
            "/core/v1/issuers/{slug}",
            get(get_issuer).patch(update_issuer).delete(delete_issuer),
        )
        .route("/core/v1/issuers/{slug}/keys", get(list_keys))
        .route("/core/v1/issuers/{slug}/keys/rotate", post(rotate_keys))
}

fn issuer_json(state: &AppState, issuer: &Issuer) -> serde_json::Value {
    json!({
        "id": issuer.id.to_string(),
        "slug": issuer.slug.as_str(),
        "display_name": issuer.display_name,
        "issuer_url": state.core.issuer_url(issuer),
        "created_at": issuer.created_at.0,
        "updated_at": issuer.updated_at.0,
    })
}

/// `POST /core/v1/issuers` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateIssuer {
    slug: String,
    display_name: String,
}

/// `PATCH /core/v1/issuers/{slug}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateIssuer {
    display_name: Option<String>,
}

/// `GET /core/v1/issuers`: a page of the issuers the caller may see.
async fn list_issuers(
    State(state): State<AppState>,
    auth: CoreAuth,
    Query(query): Query<PageQuery>,
) -> Response {
    if let Some(refusal) = auth.refusal_without(READ) {
        return refusal;
    }
    let page = match query.page() {
        Ok(page) => page,
        Err(response) => return *response,
    };
    match state.core.list_issuers(&auth.0, page).await {
        Ok(page) => Json(json!({
            "items": page.items.iter().map(|i| issuer_json(&state, i)).collect::<Vec<_>>(),
            "next_cursor": page.next_after.map(encode_cursor),
        }))
        .into_response(),
        Err(error) => core_error(&error),
    }
}

/// `POST /core/v1/issuers`.
async fn create_issuer(
    State(state): State<AppState>,
    auth: CoreAuth,
    JsonBody(body): JsonBody<CreateIssuer>,
) -> Response {
    if let Some(refusal) = auth.refusal_without(WRITE) {
        return refusal;
    }
    let input = NewIssuer {
        slug: body.slug,
        display_name: body.display_name,
    };
    match state.core.create_issuer(&auth.0, input).await {
        Ok(issuer) => {
            let mut response = with_etag(
                issuer.revision,
                (StatusCode::CREATED, Json(issuer_json(&state, &issuer))),
            );
            if let Ok(location) =
                HeaderValue::from_str(&format!("/core/v1/issuers/{}", issuer.slug))
            {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Err(error) => core_error(&error),
    }
}

/// `GET /core/v1/issuers/{slug}`.
async fn get_issuer(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
) -> Response {
    match authorised_issuer(&state, &auth, READ, &slug).await {
        Ok(issuer) => with_etag(issuer.revision, Json(issuer_json(&state, &issuer))),
        Err(response) => response,
    }
}

/// `PATCH /core/v1/issuers/{slug}`.
async fn update_issuer(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateIssuer>,
) -> Response {
    let issuer = match authorised_issuer(&state, &auth, WRITE, &slug).await {
        Ok(issuer) => issuer,
        Err(response) => return response,
    };
    let expected = match if_match(&headers) {
        Ok(expected) => expected,
        Err(response) => return *response,
    };
    let patch = IssuerPatch {
        display_name: body.display_name,
    };
    match state
        .core
        .update_issuer(&auth.0, &issuer, expected, patch)
        .await
    {
        Ok(issuer) => with_etag(issuer.revision, Json(issuer_json(&state, &issuer))),
        Err(error) => core_error(&error),
    }
}

/// `DELETE /core/v1/issuers/{slug}`.
async fn delete_issuer(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let issuer = match authorised_issuer(&state, &auth, WRITE, &slug).await {
        Ok(issuer) => issuer,
        Err(response) => return response,
    };
    let expected = match if_match(&headers) {
        Ok(expected) => expected,
        Err(response) => return *response,
    };
    match state.core.delete_issuer(&auth.0, &issuer, expected).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => core_error(&error),
    }
}

fn keys_json(keys: &[SigningKey]) -> serde_json::Value {
    let items: Vec<_> = keys
        .iter()
        .map(|k| {
            json!({
                "kid": k.id.to_string(),
                "alg": k.algorithm.as_str(),
                "state": k.state.as_str(),
                "public_jwk": serde_json::from_str::<serde_json::Value>(&k.public_jwk).unwrap_or_default(),
                "created_at": k.created_at.0,
                "updated_at": k.updated_at.0,
            })
        })
        .collect();
    json!({ "items": items })
}

/// `GET /core/v1/issuers/{slug}/keys`: the published keys (public parts only).
async fn list_keys(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
) -> Response {
    let issuer = match authorised_issuer(&state, &auth, READ, &slug).await {
        Ok(issuer) => issuer,
        Err(response) => return response,
    };
    match state.core.list_keys(&issuer).await {
        Ok(keys) => Json(keys_json(&keys)).into_response(),
        Err(error) => core_error(&error),
    }
}

/// `POST /core/v1/issuers/{slug}/keys/rotate`: next becomes current; a new next is made.
async fn rotate_keys(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
) -> Response {
    let issuer = match authorised_issuer(&state, &auth, WRITE, &slug).await {
        Ok(issuer) => issuer,
        Err(response) => return response,
    };
    let actor = Actor::AdminClient(auth.0.client_id);
    if let Err(error) = state.core.rotate_keys(&issuer, actor).await {
        return core_error(&error);
    }
    match state.core.list_keys(&issuer).await {
        Ok(keys) => Json(keys_json(&keys)).into_response(),
        Err(error) => core_error(&error),
    }
}
