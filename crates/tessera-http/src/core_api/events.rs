//! `/core/v1/issuers/{slug}/events`: the issuer's audit trail, filtered and paged. Each item
//! carries its place in the issuer's hash chain (`seq`, `hash`), which
//! `tessera audit verify` checks.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::events::EventFilter;
use tessera_model::Event;
use utoipa::{IntoParams, ToSchema};

use super::{CoreAuth, READ, authorised_issuer};
use crate::AppState;
use crate::conventions::{QueryParams, encode_cursor, page_request, passed};
use crate::problem::{Problem, ProblemDoc, core_error};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/core/v1/issuers/{slug}/events", get(list_events))
}

/// An event as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct EventOut {
    /// `evt_…`
    id: String,
    /// Its place in the issuer's hash chain: 1, 2, …
    seq: i64,
    /// Dotted type, e.g. `user.created`.
    #[serde(rename = "type")]
    event_type: String,
    /// The public id of what it is about.
    subject: String,
    /// `system`, `client:cli_…` or `user:usr_…`.
    actor: String,
    /// Type-specific detail (a JSON object).
    #[schema(value_type = Object)]
    data: Value,
    /// When it happened, Unix seconds.
    time: i64,
    /// The request that caused it; absent for work outside a request (background jobs, the
    /// command line).
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<ContextOut>,
    /// The event's chain hash, lowercase hex (SHA-256).
    hash: String,
}

/// The request an event was caused by.
#[derive(Serialize, ToSchema)]
pub(crate) struct ContextOut {
    /// The client's address as Tessera saw it (the TCP peer: behind a proxy, the proxy).
    ip: Option<String>,
    /// The `User-Agent` header, at most 256 characters.
    user_agent: Option<String>,
    /// The request's `x-request-id`, as in the logs.
    request_id: Option<String>,
}

/// A page of events.
#[derive(Serialize, ToSchema)]
pub(crate) struct EventPage {
    items: Vec<EventOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    next_cursor: Option<String>,
}

/// `GET …/events` query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListEvents {
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// An event type (`user.created`) or a family of types (`user.*`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    event_type: Option<String>,
    /// The public id the events are about (`usr_…`, `cli_…`).
    subject: Option<String>,
    /// `system`, `client:cli_…` or `user:usr_…`.
    actor: Option<String>,
    /// Events at or after this time (Unix seconds).
    since: Option<String>,
    /// Events at or before this time (Unix seconds).
    until: Option<String>,
}

fn event_json(event: &Event) -> EventOut {
    EventOut {
        id: event.id.to_string(),
        seq: event.seq,
        event_type: event.event_type.clone(),
        subject: event.subject.clone(),
        actor: event.actor.to_storage(),
        data: event.data.clone(),
        time: event.occurred_at.0,
        context: event.context.as_ref().map(|c| ContextOut {
            ip: c.ip.clone(),
            user_agent: c.user_agent.clone(),
            request_id: c.request_id.clone(),
        }),
        hash: event.hash.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// A time bound from the query, or a 400 naming the parameter.
fn unix_seconds(name: &str, value: Option<&str>) -> Result<Option<i64>, Box<Response>> {
    match value {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|t| *t >= 0)
            .map(Some)
            .ok_or_else(|| {
                Box::new(Problem::InvalidRequest.about_field(
                    name,
                    &format!("`{name}` must be Unix seconds (a whole number, 0 or more)."),
                ))
            }),
    }
}

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/events", tag = "events",
    params(("slug" = String, Path, description = "The issuer's slug"), ListEvents),
    responses((status = 200, description = "A page of events, oldest first", body = EventPage), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn list_events(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    QueryParams(query): QueryParams<ListEvents>,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, READ, &slug).await);
    let page = passed!(page_request(query.limit, query.cursor.as_deref()));
    let (since, until) = match (
        unix_seconds("since", query.since.as_deref()),
        unix_seconds("until", query.until.as_deref()),
    ) {
        (Ok(since), Ok(until)) => (since, until),
        (Err(response), _) | (_, Err(response)) => return *response,
    };
    let filter = EventFilter {
        event_type: query.event_type,
        subject: query.subject,
        actor: query.actor,
        since,
        until,
    };
    match state.core.list_events(&issuer, &filter, page).await {
        Ok(page) => Json(EventPage {
            items: page.items.iter().map(event_json).collect(),
            next_cursor: page.next_after.map(encode_cursor),
        })
        .into_response(),
        Err(error) => core_error(&error),
    }
}
