//! `/core/v1/issuers/{slug}/webhooks`: subscriptions, changes, deletion and secret rotation.
//! The signing secret appears in the response to create and rotate-secret, and nowhere else.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::webhooks::{NewWebhook, WebhookPatch, WebhookWithSecret};
use tessera_model::{Webhook, WebhookId};
use utoipa::ToSchema;

use super::{CoreAuth, READ, WRITE, authorised_issuer, authorised_object};
use crate::AppState;
use crate::conventions::{
    JsonBody, PageQuery, QueryParams, created, encode_cursor, if_match, passed, with_etag,
};
use crate::problem::{ProblemDoc, core_error};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/core/v1/issuers/{slug}/webhooks",
            get(list_webhooks).post(create_webhook),
        )
        .route(
            "/core/v1/issuers/{slug}/webhooks/{id}",
            get(get_webhook)
                .patch(update_webhook)
                .delete(delete_webhook),
        )
        .route(
            "/core/v1/issuers/{slug}/webhooks/{id}/rotate-secret",
            post(rotate_secret),
        )
}

/// A webhook subscription as the API shows it. `secret` appears only in the responses to
/// create and rotate-secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookOut {
    /// `whk_…`
    id: String,
    /// Where events are posted.
    url: String,
    /// Exact event types and `family.*` wildcards.
    event_types: Vec<String>,
    /// Whether events are delivered.
    enabled: bool,
    /// Whether deliveries to this endpoint are failing.
    failing: bool,
    /// The Standard Webhooks signing secret (`whsec_…`), shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    updated_at: i64,
}

/// A page of webhooks.
#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookPage {
    items: Vec<WebhookOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    next_cursor: Option<String>,
}

fn webhook_json(webhook: &Webhook) -> WebhookOut {
    WebhookOut {
        id: webhook.id.to_string(),
        url: webhook.url.clone(),
        event_types: webhook.event_types.clone(),
        enabled: webhook.enabled,
        failing: webhook.failing,
        secret: None,
        created_at: webhook.created_at.0,
        updated_at: webhook.updated_at.0,
    }
}

/// The webhook with its secret, for the one response that shows it.
fn with_secret_json(found: &WebhookWithSecret) -> WebhookOut {
    WebhookOut {
        secret: Some(found.secret.expose()),
        ..webhook_json(&found.webhook)
    }
}

fn default_enabled() -> bool {
    true
}

/// `POST …/webhooks` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateWebhook {
    /// An `http` or `https` URL without credentials or fragment, resolving to a public
    /// address (unless the installation allows private targets).
    url: String,
    /// Exact event types (`user.created`) or wildcards of a family (`user.*`).
    event_types: Vec<String>,
    /// Defaults to `true`.
    #[serde(default = "default_enabled")]
    enabled: bool,
}

/// `PATCH …/webhooks/{id}` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateWebhook {
    url: Option<String>,
    event_types: Option<Vec<String>>,
    enabled: Option<bool>,
}

#[utoipa::path(post, path = "/core/v1/issuers/{slug}/webhooks", tag = "webhooks",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response"), ("slug" = String, Path, description = "The issuer's slug")), request_body = CreateWebhook,
    responses((status = 201, description = "Subscribed; the signing secret is shown only now", body = WebhookOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 422, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<CreateWebhook>,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, WRITE, &slug).await);
    let input = NewWebhook {
        url: body.url,
        event_types: body.event_types,
        enabled: body.enabled,
    };
    match state
        .core
        .create_webhook(&issuer, input, auth.actor())
        .await
    {
        Ok(found) => created(
            &format!("/core/v1/issuers/{slug}/webhooks/{}", found.webhook.id),
            found.webhook.revision,
            with_secret_json(&found),
        ),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/webhooks", tag = "webhooks",
    params(("slug" = String, Path, description = "The issuer's slug"), PageQuery),
    responses((status = 200, description = "A page of webhooks", body = WebhookPage), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn list_webhooks(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, READ, &slug).await);
    let page = passed!(query.page());
    match state.core.list_webhooks(&issuer, page).await {
        Ok(page) => Json(WebhookPage {
            items: page.items.iter().map(webhook_json).collect(),
            next_cursor: page.next_after.map(encode_cursor),
        })
        .into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/webhooks/{id}", tag = "webhooks",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The webhook's id (`whk_…`)")),
    responses((status = 200, description = "The webhook", body = WebhookOut), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn get_webhook(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, READ, &slug, &id, WebhookId::parse).await);
    match state.core.get_webhook(&issuer, id).await {
        Ok(webhook) => with_etag(webhook.revision, Json(webhook_json(&webhook))),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(patch, path = "/core/v1/issuers/{slug}/webhooks/{id}", tag = "webhooks",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The webhook's id (`whk_…`)"), ("If-Match" = Option<String>, Header, description = "The ETag as read")), request_body = UpdateWebhook,
    responses((status = 200, description = "The changed webhook", body = WebhookOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn update_webhook(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateWebhook>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, WebhookId::parse).await);
    let expected = passed!(if_match(&headers));
    let patch = WebhookPatch {
        url: body.url,
        event_types: body.event_types,
        enabled: body.enabled,
    };
    match state
        .core
        .update_webhook(&issuer, id, expected, patch, auth.actor())
        .await
    {
        Ok(webhook) => with_etag(webhook.revision, Json(webhook_json(&webhook))),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(delete, path = "/core/v1/issuers/{slug}/webhooks/{id}", tag = "webhooks",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The webhook's id (`whk_…`)"), ("If-Match" = Option<String>, Header, description = "The ETag as read")),
    responses((status = 204, description = "Deleted"), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn delete_webhook(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, WebhookId::parse).await);
    let expected = passed!(if_match(&headers));
    match state
        .core
        .delete_webhook(&issuer, id, expected, auth.actor())
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(post, path = "/core/v1/issuers/{slug}/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response"), ("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The webhook's id (`whk_…`)")),
    responses((status = 200, description = "The webhook with its new signing secret, shown only now", body = WebhookOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 422, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, WebhookId::parse).await);
    match state
        .core
        .rotate_webhook_secret(&issuer, id, auth.actor())
        .await
    {
        Ok(found) => with_etag(found.webhook.revision, Json(with_secret_json(&found))),
        Err(error) => core_error(&error),
    }
}
