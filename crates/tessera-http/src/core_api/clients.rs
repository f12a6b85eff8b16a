//! `/core/v1/issuers/{slug}/clients`: registration, changes, deletion and secret rotation.
//! A client secret appears in the response to create and rotate-secret, and nowhere else. A
//! `private_key_jwt` client has public keys (`jwks`) instead, shown like any other field.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::clients::{ClientPatch, NewClient, RegisteredClient, jwks_json};
use tessera_model::{Client, ClientId, ClientType};
use utoipa::ToSchema;

use super::{CoreAuth, READ, WRITE, authorised_issuer, authorised_object};
use crate::AppState;
use crate::conventions::{
    JsonBody, PageQuery, QueryParams, created, double_option, encode_cursor, if_match, passed,
    with_etag,
};
use crate::problem::{ProblemDoc, core_error};

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

/// A client as the API shows it. `client_secret` appears only in the responses to create
/// and rotate-secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct ClientOut {
    /// The OAuth `client_id` (`cli_…`).
    client_id: String,
    name: String,
    /// `confidential` or `public`.
    client_type: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    token_endpoint_auth_method: String,
    allowed_scopes: Vec<String>,
    first_party: bool,
    /// For Core API credentials: the issuers they may see.
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_issuers: Option<Vec<String>>,
    /// The algorithm of the client's ID tokens (OIDC Dynamic Client Registration 1.0 §2):
    /// `ES256`, `RS256` or `EdDSA`; `null`: the issuer's `signing_algorithm`.
    #[schema(example = "RS256")]
    id_token_signed_response_alg: Option<String>,
    /// `jwt` (RFC 9068 JWT access tokens) or `opaque` (random references only this server
    /// can resolve, by introspection or userinfo).
    #[schema(example = "jwt")]
    access_token_format: String,
    /// The client's access-token lifetime in seconds; `null`: the issuer's.
    access_token_lifetime: Option<i64>,
    /// The client's ID-token lifetime in seconds; `null`: the issuer's.
    id_token_lifetime: Option<i64>,
    /// The client's refresh-token lifetime in seconds; `null`: the issuer's.
    refresh_token_lifetime: Option<i64>,
    /// The public keys of a `private_key_jwt` client (RFC 7591 §2 `jwks`), in canonical form:
    /// each key's public members, `kid` if registered, `alg` and `use`. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// Where logout tokens are POSTed when a session the client took part in ends (OpenID
    /// Connect Back-Channel Logout 1.0 §2.2); `null`: no back-channel logout.
    #[schema(example = "https://app.example.com/backchannel-logout")]
    backchannel_logout_uri: Option<String>,
    /// Whether the client requires `sid` in logout tokens (§2.2); Tessera always sends it.
    backchannel_logout_session_required: bool,
    /// The secret, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    updated_at: i64,
}

/// A page of clients.
#[derive(Serialize, ToSchema)]
pub(crate) struct ClientPage {
    items: Vec<ClientOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    next_cursor: Option<String>,
}

fn client_json(client: &Client) -> ClientOut {
    ClientOut {
        client_id: client.id.to_string(),
        name: client.name.clone(),
        client_type: client.client_type.as_str().to_owned(),
        redirect_uris: client.redirect_uris.clone(),
        post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
        grant_types: client.grant_types.clone(),
        token_endpoint_auth_method: client.token_endpoint_auth_method.clone(),
        allowed_scopes: client.allowed_scopes.clone(),
        first_party: client.first_party,
        allowed_issuers: client
            .allowed_issuers
            .as_ref()
            .map(|slugs| slugs.iter().map(|s| s.as_str().to_owned()).collect()),
        id_token_signed_response_alg: client
            .id_token_signed_response_alg
            .map(|alg| alg.as_str().to_owned()),
        access_token_format: client
            .token_settings
            .access_token_format()
            .as_str()
            .to_owned(),
        access_token_lifetime: client.token_settings.access_token_lifetime_override(),
        id_token_lifetime: client.token_settings.id_token_lifetime_override(),
        refresh_token_lifetime: client.token_settings.refresh_token_lifetime_override(),
        jwks: jwks_json(client.jwks.as_deref()),
        backchannel_logout_uri: client.backchannel_logout_uri.clone(),
        backchannel_logout_session_required: client.backchannel_logout_session_required,
        client_secret: None,
        created_at: client.created_at.0,
        updated_at: client.updated_at.0,
    }
}

/// The client with its secret, for the one response that shows it.
fn registered_json(registered: &RegisteredClient) -> ClientOut {
    ClientOut {
        client_secret: registered
            .client_secret
            .as_ref()
            .map(|s| s.expose().to_owned()),
        ..client_json(&registered.client)
    }
}

/// `client_type` on the wire.
#[derive(Deserialize, Clone, Copy, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum WireClientType {
    Confidential,
    Public,
}

/// `POST …/clients` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateClient {
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
    /// The algorithm of the client's ID tokens (OIDC Dynamic Client Registration 1.0 §2):
    /// `ES256`, `RS256` or `EdDSA`, and only the issuer's `signing_algorithm` or `RS256`.
    /// Absent: the issuer's `signing_algorithm`.
    #[schema(example = "RS256")]
    id_token_signed_response_alg: Option<String>,
    /// `jwt` (default: RFC 9068 JWT access tokens) or `opaque` (random references only this
    /// server can resolve, by introspection or userinfo).
    #[schema(example = "opaque")]
    access_token_format: Option<String>,
    /// The client's access-token lifetime in seconds, within the bounds of the issuer
    /// setting (60 to 86400); absent: the issuer's.
    #[schema(example = 600)]
    access_token_lifetime: Option<i64>,
    /// The client's ID-token lifetime in seconds (60 to 86400); absent: the issuer's.
    id_token_lifetime: Option<i64>,
    /// The client's refresh-token lifetime in seconds (300 to 31536000); absent: the
    /// issuer's.
    refresh_token_lifetime: Option<i64>,
    /// For `token_endpoint_auth_method` `private_key_jwt` (and only then): the client's public
    /// keys as a JWK Set (RFC 7591 §2 `jwks`, RFC 7517 §5) — EC P-256 (ES256), RSA of 2048 to
    /// 4096 bits (RS256) or Ed25519 (EdDSA), at most 10, unique `kid`s, no private members.
    /// Such a client has no secret.
    #[schema(value_type = Option<Object>)]
    jwks: Option<serde_json::Value>,
    /// Where logout tokens are POSTed when a session the client took part in ends (OpenID
    /// Connect Back-Channel Logout 1.0 §2.2): `https`, or `http` to a loopback host, no
    /// fragment.
    #[schema(example = "https://app.example.com/backchannel-logout")]
    backchannel_logout_uri: Option<String>,
    /// Whether the client requires `sid` in logout tokens (§2.2); default `false`.
    #[serde(default)]
    backchannel_logout_session_required: bool,
}

/// `PATCH …/clients/{client_id}` body; the client type cannot change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateClient {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    allowed_scopes: Option<Vec<String>>,
    first_party: Option<bool>,
    /// A new ID token algorithm: `ES256`, `RS256` or `EdDSA`, and only the issuer's
    /// `signing_algorithm` or `RS256`; `null` goes back to the issuer's algorithm.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(example = "RS256")]
    id_token_signed_response_alg: Option<Option<String>>,
    /// `jwt` or `opaque`.
    access_token_format: Option<String>,
    /// Seconds; `null` follows the issuer's setting again.
    #[serde(default, deserialize_with = "double_option")]
    access_token_lifetime: Option<Option<i64>>,
    /// Seconds; `null` follows the issuer's setting again.
    #[serde(default, deserialize_with = "double_option")]
    id_token_lifetime: Option<Option<i64>>,
    /// Seconds; `null` follows the issuer's setting again.
    #[serde(default, deserialize_with = "double_option")]
    refresh_token_lifetime: Option<Option<i64>>,
    /// New public keys for a `private_key_jwt` client, replacing the old ones at once (key
    /// rotation: register the new key beside the old, then drop the old); `null` removes them
    /// (when changing to another method). Changing to `private_key_jwt` drops the secret;
    /// changing away leaves the client without one until rotate-secret.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    jwks: Option<Option<serde_json::Value>>,
    /// A new back-channel logout URI; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(example = "https://app.example.com/backchannel-logout")]
    backchannel_logout_uri: Option<Option<String>>,
    /// Whether the client requires `sid` in logout tokens.
    backchannel_logout_session_required: Option<bool>,
}

#[utoipa::path(post, path = "/core/v1/issuers/{slug}/clients", tag = "clients",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response"), ("slug" = String, Path, description = "The issuer's slug")), request_body = CreateClient,
    responses((status = 201, description = "Registered; the secret is shown only now", body = ClientOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 422, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn create_client(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<CreateClient>,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, WRITE, &slug).await);
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
        id_token_signed_response_alg: body.id_token_signed_response_alg,
        access_token_format: body.access_token_format,
        access_token_lifetime: body.access_token_lifetime,
        id_token_lifetime: body.id_token_lifetime,
        refresh_token_lifetime: body.refresh_token_lifetime,
        jwks: body.jwks,
        backchannel_logout_uri: body.backchannel_logout_uri,
        backchannel_logout_session_required: body.backchannel_logout_session_required,
    };
    match state.core.create_client(&issuer, input, auth.actor()).await {
        Ok(registered) => created(
            &format!("/core/v1/issuers/{slug}/clients/{}", registered.client.id),
            registered.client.revision,
            registered_json(&registered),
        ),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/clients", tag = "clients",
    params(("slug" = String, Path, description = "The issuer's slug"), PageQuery),
    responses((status = 200, description = "A page of clients", body = ClientPage), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn list_clients(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, READ, &slug).await);
    let page = passed!(query.page());
    match state.core.list_clients(&issuer, page).await {
        Ok(page) => Json(ClientPage {
            items: page.items.iter().map(client_json).collect(),
            next_cursor: page.next_after.map(encode_cursor),
        })
        .into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/clients/{client_id}", tag = "clients",
    params(("slug" = String, Path, description = "The issuer's slug"), ("client_id" = String, Path, description = "The OAuth client_id (`cli_…`)")),
    responses((status = 200, description = "The client", body = ClientOut), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn get_client(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, READ, &slug, &id, ClientId::parse).await);
    match state.core.get_client(&issuer, id).await {
        Ok(client) => with_etag(client.revision, Json(client_json(&client))),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(patch, path = "/core/v1/issuers/{slug}/clients/{client_id}", tag = "clients",
    params(("slug" = String, Path, description = "The issuer's slug"), ("client_id" = String, Path, description = "The OAuth client_id (`cli_…`)"), ("If-Match" = Option<String>, Header, description = "The ETag as read")), request_body = UpdateClient,
    responses((status = 200, description = "The changed client", body = ClientOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn update_client(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateClient>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, ClientId::parse).await);
    let expected = passed!(if_match(&headers));
    let patch = ClientPatch {
        name: body.name,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        grant_types: body.grant_types,
        token_endpoint_auth_method: body.token_endpoint_auth_method,
        allowed_scopes: body.allowed_scopes,
        first_party: body.first_party,
        id_token_signed_response_alg: body.id_token_signed_response_alg,
        access_token_format: body.access_token_format,
        access_token_lifetime: body.access_token_lifetime,
        id_token_lifetime: body.id_token_lifetime,
        refresh_token_lifetime: body.refresh_token_lifetime,
        jwks: body.jwks,
        backchannel_logout_uri: body.backchannel_logout_uri,
        backchannel_logout_session_required: body.backchannel_logout_session_required,
    };
    match state
        .core
        .update_client(&issuer, id, expected, patch, auth.actor())
        .await
    {
        Ok(client) => with_etag(client.revision, Json(client_json(&client))),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(delete, path = "/core/v1/issuers/{slug}/clients/{client_id}", tag = "clients",
    params(("slug" = String, Path, description = "The issuer's slug"), ("client_id" = String, Path, description = "The OAuth client_id (`cli_…`)"), ("If-Match" = Option<String>, Header, description = "The ETag as read")),
    responses((status = 204, description = "Deleted"), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn delete_client(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, ClientId::parse).await);
    let expected = passed!(if_match(&headers));
    match state
        .core
        .delete_client(&issuer, id, expected, auth.actor())
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(post, path = "/core/v1/issuers/{slug}/clients/{client_id}/rotate-secret", tag = "clients",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response"), ("slug" = String, Path, description = "The issuer's slug"), ("client_id" = String, Path, description = "The OAuth client_id (`cli_…`)")),
    responses((status = 200, description = "The client with its new secret, shown only now", body = ClientOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 422, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, ClientId::parse).await);
    match state
        .core
        .rotate_client_secret(&issuer, id, auth.actor())
        .await
    {
        Ok(registered) => with_etag(
            registered.client.revision,
            Json(registered_json(&registered)),
        ),
        Err(error) => core_error(&error),
    }
}
