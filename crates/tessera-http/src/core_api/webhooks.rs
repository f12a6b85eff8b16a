//! `/core/v1/issuers/{slug}/webhooks`: subscriptions, changes, deletion and secret rotation;
//! each webhook's deliveries, a redelivery, and a ping. The signing secret appears in the
//! response to create and rotate-secret, and nowhere else.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::webhooks::{NewWebhook, WebhookPatch, WebhookWithSecret};
use tessera_model::{Delivery, DeliveryId, DeliveryState, Issuer, Webhook, WebhookId};
use utoipa::ToSchema;

use super::{CoreAuth, READ, WRITE, authorised_issuer, authorised_object, object_id};
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
        .route(
            "/core/v1/issuers/{slug}/webhooks/{id}/deliveries",
            get(list_deliveries),
        )
        .route(
            "/core/v1/issuers/{slug}/webhooks/{id}/deliveries/{delivery}",
            get(get_delivery),
        )
        .route(
            "/core/v1/issuers/{slug}/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(redeliver),
        )
        .route("/core/v1/issuers/{slug}/webhooks/{id}/ping", post(ping))
}

/// One delivery of an event to a webhook, with its attempts so far.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeliveryOut {
    /// `dlv_…`
    id: String,
    /// The event delivered (`evt_…`); also the `webhook-id` header of every attempt.
    event_id: Option<String>,
    /// Where it is (or was) sent.
    url: String,
    /// `pending` (waiting for an attempt, or retrying), `delivered`, or `dead` (every attempt
    /// failed; the webhook is then marked failing).
    state: String,
    /// Attempts started so far.
    attempts: u32,
    /// When the next attempt is due (for a pending delivery), Unix seconds.
    next_attempt_at: Option<i64>,
    /// The HTTP status of the last attempt, if it got one.
    last_status: Option<u16>,
    /// Why the last attempt failed, briefly.
    last_error: Option<String>,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    updated_at: i64,
}

/// A page of deliveries.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeliveryPage {
    items: Vec<DeliveryOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    next_cursor: Option<String>,
}

fn delivery_json(delivery: &Delivery) -> DeliveryOut {
    let pending = delivery.state == DeliveryState::Pending;
    DeliveryOut {
        id: delivery.id.to_string(),
        event_id: delivery.event_id().map(|e| e.to_string()),
        url: delivery.target_url.clone(),
        state: delivery.state.as_str().to_owned(),
        attempts: delivery.attempts,
        next_attempt_at: pending.then_some(delivery.next_attempt_at.0),
        last_status: delivery.last_status,
        last_error: delivery.last_error.clone(),
        created_at: delivery.created_at.0,
        updated_at: delivery.updated_at.0,
    }
}

/// A webhook's id and one of its deliveries' ids from the path; malformed ids name nothing.
async fn authorised_delivery(
    state: &AppState,
    auth: &CoreAuth,
    scope: &str,
    (slug, id, delivery): (&str, &str, &str),
) -> Result<(Issuer, WebhookId, DeliveryId), Response> {
    let (issuer, webhook) =
        authorised_object(state, auth, scope, slug, id, WebhookId::parse).await?;
    let delivery = object_id(delivery, DeliveryId::parse).map_err(|refusal| *refusal)?;
    Ok((issuer, webhook, delivery))
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

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/webhooks/{id}/deliveries", tag = "webhooks",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The webhook's id (`whk_…`)"), PageQuery),
    responses((status = 200, description = "A page of the webhook's deliveries, oldest first", body = DeliveryPage), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    QueryParams(query): QueryParams<PageQuery>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, READ, &slug, &id, WebhookId::parse).await);
    let page = passed!(query.page());
    match state.core.list_webhook_deliveries(&issuer, id, page).await {
        Ok(page) => Json(DeliveryPage {
            items: page.items.iter().map(delivery_json).collect(),
            next_cursor: page.next_after.map(encode_cursor),
        })
        .into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/webhooks/{id}/deliveries/{delivery}", tag = "webhooks",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The webhook's id (`whk_…`)"), ("delivery" = String, Path, description = "The delivery's id (`dlv_…`)")),
    responses((status = 200, description = "The delivery", body = DeliveryOut), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn get_delivery(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id, delivery)): Path<(String, String, String)>,
) -> Response {
    let (issuer, webhook, delivery) =
        passed!(authorised_delivery(&state, &auth, READ, (&slug, &id, &delivery)).await);
    match state
        .core
        .get_webhook_delivery(&issuer, webhook, delivery)
        .await
    {
        Ok(delivery) => Json(delivery_json(&delivery)).into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(post, path = "/core/v1/issuers/{slug}/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "webhooks",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response"), ("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The webhook's id (`whk_…`)"), ("delivery" = String, Path, description = "The delivery's id (`dlv_…`)")),
    responses((status = 202, description = "The event is queued again, as a new delivery to the webhook's current URL", body = DeliveryOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc), (status = 422, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn redeliver(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id, delivery)): Path<(String, String, String)>,
) -> Response {
    let (issuer, webhook, delivery) =
        passed!(authorised_delivery(&state, &auth, WRITE, (&slug, &id, &delivery)).await);
    match state
        .core
        .redeliver(&issuer, webhook, delivery, auth.actor())
        .await
    {
        Ok(delivery) => (StatusCode::ACCEPTED, Json(delivery_json(&delivery))).into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(post, path = "/core/v1/issuers/{slug}/webhooks/{id}/ping", tag = "webhooks",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response"), ("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The webhook's id (`whk_…`)")),
    responses((status = 202, description = "A `webhook.ping` event is queued for this webhook alone", body = DeliveryOut), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc), (status = 422, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn ping(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, WebhookId::parse).await);
    match state.core.ping_webhook(&issuer, id, auth.actor()).await {
        Ok(delivery) => (StatusCode::ACCEPTED, Json(delivery_json(&delivery))).into_response(),
        Err(error) => core_error(&error),
    }
}
