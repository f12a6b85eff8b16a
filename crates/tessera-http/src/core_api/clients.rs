//! `/core/v1/issuers/{slug}/clients`: registration, changes, deletion and secret rotation.
//! A client secret appears in the response to create and rotate-secret, and nowhere else.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::clients::{ClientPatch, NewClient, RegisteredClient};
use tessera_model::{Actor, Client, ClientId, ClientType, Issuer, IssuerSlug};

use super::{CoreAuth, READ, WRITE, authorised_issuer};
use crate::AppState;
use crate::conventions::{JsonBody, PageQuery, created, encode_cursor, if_match, with_etag};
use crate::problem::{Problem, core_error};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/core/v1/issuers/{slug}/clients",
            get(list_clients).post(create_client),
        )
        .route(
            "/core/v1/issuers/{slug}/clients/{client_id}",
            get(get_client).patch(update_client).delete(delete_client),
        )
        .route(
            "/core/v1/issuers/{slug}/clients/{client_id}/rotate-secret",
            post(rotate_secret),
        )
}

fn client_json(client: &Client) -> Value {
    let mut body = json!({
        "client_id": client.id.to_string(),
        "name": client.name,
        "client_type": client.client_type.as_str(),
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "allowed_scopes": client.allowed_scopes,
        "first_party": client.first_party,
        "created_at": client.created_at.0,
        "updated_at": client.updated_at.0,
    });
    if let Some(issuers) = &client.allowed_issuers {
        body["allowed_issuers"] = json!(issuers.iter().map(IssuerSlug::as_str).collect::<Vec<_>>());
    }
    body
}

/// The client with its secret, for the one response that shows it.
fn registered_json(registered: &RegisteredClient) -> Value {
    let mut body = client_json(&registered.client);
    if let Some(secret) = &registered.client_secret {
        body["client_secret"] = json!(secret.expose());
    }
    body
}

fn client_id(text: &str) -> Result<ClientId, Response> {
    ClientId::parse(text).map_err(|_| {
        Problem::NotFound.response("No such object, or the credential may not see it.")
    })
}

fn actor(auth: &CoreAuth) -> Actor {
    Actor::AdminClient(auth.0.client_id)
}

/// `client_type` on the wire.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum WireClientType {
    Confidential,
    Public,
}

/// `POST …/clients` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateClient {
    name: String,
    client_type: WireClientType,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    allowed_scopes: Vec<String>,
    #[serde(default)]
    first_party: bool,
}

/// `PATCH …/clients/{client_id}` body; the client type cannot change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateClient {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    allowed_scopes: Option<Vec<String>>,
    first_party: Option<bool>,
}

async fn issuer_and_client(
    state: &AppState,
    auth: &CoreAuth,
    scope: &str,
    slug: &str,
    id: &str,
) -> Result<(Issuer, ClientId), Response> {
    let issuer = authorised_issuer(state, auth, scope, slug).await?;
    Ok((issuer, client_id(id)?))
}

async fn create_client(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<CreateClient>,
) -> Response {
    let issuer = match authorised_issuer(&state, &auth, WRITE, &slug).await {
        Ok(issuer) => issuer,
        Err(response) => return response,
    };
    let input = NewClient {
        name: body.name,
        client_type: match body.client_type {
            WireClientType::Confidential => ClientType::Confidential,
            WireClientType::Public => ClientType::Public,
        },
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types: body.grant_types,
        token_endpoint_auth_method: body.token_endpoint_auth_method,
        allowed_scopes: body.allowed_scopes,
        first_party: body.first_party,
    };
    match state.core.create_client(&issuer, input, actor(&auth)).await {
        Ok(registered) => created(
            &format!("/core/v1/issuers/{slug}/clients/{}", registered.client.id),
            registered.client.revision,
            registered_json(&registered),
        ),
        Err(error) => core_error(&error),
    }
}

async fn list_clients(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let issuer = match authorised_issuer(&state, &auth, READ, &slug).await {
        Ok(issuer) => issuer,
        Err(response) => return response,
    };
    let page = match query.page() {
        Ok(page) => page,
        Err(response) => return *response,
    };
    match state.core.list_clients(&issuer, page).await {
        Ok(page) => Json(json!({
            "items": page.items.iter().map(client_json).collect::<Vec<_>>(),
            "next_cursor": page.next_after.map(encode_cursor),
        }))
        .into_response(),
        Err(error) => core_error(&error),
    }
}

async fn get_client(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, id) = match issuer_and_client(&state, &auth, READ, &slug, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state.core.get_client(&issuer, id).await {
        Ok(client) => with_etag(client.revision, Json(client_json(&client))),
        Err(error) => core_error(&error),
    }
}

async fn update_client(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateClient>,
) -> Response {
    let (issuer, id) = match issuer_and_client(&state, &auth, WRITE, &slug, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let expected = match if_match(&headers) {
        Ok(expected) => expected,
        Err(response) => return *response,
    };
    let patch = ClientPatch {
        name: body.name,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types: body.grant_types,
        token_endpoint_auth_method: body.token_endpoint_auth_method,
        allowed_scopes: body.allowed_scopes,
        first_party: body.first_party,
    };
    match state
        .core
        .update_client(&issuer, id, expected, patch, actor(&auth))
        .await
    {
        Ok(client) => with_etag(client.revision, Json(client_json(&client))),
        Err(error) => core_error(&error),
    }
}

async fn delete_client(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (issuer, id) = match issuer_and_client(&state, &auth, WRITE, &slug, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let expected = match if_match(&headers) {
        Ok(expected) => expected,
        Err(response) => return *response,
    };
    match state
        .core
        .delete_client(&issuer, id, expected, actor(&auth))
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => core_error(&error),
    }
}

async fn rotate_secret(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, id) = match issuer_and_client(&state, &auth, WRITE, &slug, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state
        .core
        .rotate_client_secret(&issuer, id, actor(&auth))
        .await
    {
        Ok(registered) => with_etag(
            registered.client.revision,
            Json(registered_json(&registered)),
        ),
        Err(error) => core_error(&error),
    }
}
