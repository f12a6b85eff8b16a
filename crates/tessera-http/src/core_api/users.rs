//! `/core/v1/issuers/{slug}/users`: provisioning, profile changes, blocking and passwords.
//! Responses never carry the password hash; `has_password` says whether there is one.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::users::{NewUser, UserFilter, UserPatch};
use tessera_model::{Actor, Issuer, User, UserId};

use super::{CoreAuth, READ, WRITE, authorised_issuer};
use crate::AppState;
use crate::conventions::{
    JsonBody, created, double_option, encode_cursor, if_match, page_request, with_etag,
};
use crate::problem::{Problem, core_error};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/core/v1/issuers/{slug}/users",
            get(list_users).post(create_user),
        )
        .route(
            "/core/v1/issuers/{slug}/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/core/v1/issuers/{slug}/users/{id}/block", post(block_user))
        .route(
            "/core/v1/issuers/{slug}/users/{id}/unblock",
            post(unblock_user),
        )
        .route(
            "/core/v1/issuers/{slug}/users/{id}/password",
            put(set_password),
        )
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "email": user.email.as_ref().map(|e| e.as_str()),
        "email_verified": user.email_verified,
        "username": user.username,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "user_metadata": user.user_metadata,
        "app_metadata": user.app_metadata,
        "blocked": user.blocked,
        "has_password": user.password_hash.is_some(),
        "created_at": user.created_at.0,
        "updated_at": user.updated_at.0,
    })
}

fn user_response(user: &User) -> Response {
    with_etag(user.revision, Json(user_json(user)))
}

/// A user id from the path; a malformed one names no user.
fn user_id(text: &str) -> Result<UserId, Response> {
    UserId::parse(text).map_err(|_| {
        Problem::NotFound.response("No such object, or the credential may not see it.")
    })
}

fn actor(auth: &CoreAuth) -> Actor {
    Actor::AdminClient(auth.0.client_id)
}

/// `POST …/users` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    email: String,
    username: Option<String>,
    password: Option<String>,
    #[serde(default)]
    email_verified: bool,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    user_metadata: Option<Value>,
    app_metadata: Option<Value>,
}

/// `PATCH …/users/{id}` body; `null` clears a nullable field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUser {
    email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    username: Option<Option<String>>,
    email_verified: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    user_metadata: Option<Option<Value>>,
    #[serde(default, deserialize_with = "double_option")]
    app_metadata: Option<Option<Value>>,
}

/// `PUT …/users/{id}/password` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPassword {
    password: String,
}

/// `GET …/users` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListUsers {
    limit: Option<u32>,
    cursor: Option<String>,
    email_prefix: Option<String>,
    username_prefix: Option<String>,
}

async fn issuer_and_user(
    state: &AppState,
    auth: &CoreAuth,
    scope: &str,
    slug: &str,
    id: &str,
) -> Result<(Issuer, UserId), Response> {
    let issuer = authorised_issuer(state, auth, scope, slug).await?;
    Ok((issuer, user_id(id)?))
}

async fn create_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<CreateUser>,
) -> Response {
    let issuer = match authorised_issuer(&state, &auth, WRITE, &slug).await {
        Ok(issuer) => issuer,
        Err(response) => return response,
    };
    let input = NewUser {
        email: body.email,
        username: body.username,
        password: body.password,
        email_verified: body.email_verified,
        name: body.name,
        given_name: body.given_name,
        family_name: body.family_name,
        user_metadata: body.user_metadata,
        app_metadata: body.app_metadata,
    };
    match state.core.create_user(&issuer, input, actor(&auth)).await {
        Ok(user) => created(
            &format!("/core/v1/issuers/{slug}/users/{}", user.id),
            user.revision,
            user_json(&user),
        ),
        Err(error) => core_error(&error),
    }
}

async fn list_users(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    Query(query): Query<ListUsers>,
) -> Response {
    let issuer = match authorised_issuer(&state, &auth, READ, &slug).await {
        Ok(issuer) => issuer,
        Err(response) => return response,
    };
    let page = match page_request(query.limit, query.cursor.as_deref()) {
        Ok(page) => page,
        Err(response) => return *response,
    };
    let filter = UserFilter {
        email_prefix: query.email_prefix,
        username_prefix: query.username_prefix,
    };
    match state.core.list_users(&issuer, &filter, page).await {
        Ok(page) => Json(json!({
            "items": page.items.iter().map(user_json).collect::<Vec<_>>(),
            "next_cursor": page.next_after.map(encode_cursor),
        }))
        .into_response(),
        Err(error) => core_error(&error),
    }
}

async fn get_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, id) = match issuer_and_user(&state, &auth, READ, &slug, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state.core.get_user(&issuer, id).await {
        Ok(user) => user_response(&user),
        Err(error) => core_error(&error),
    }
}

async fn update_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Response {
    let (issuer, id) = match issuer_and_user(&state, &auth, WRITE, &slug, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let expected = match if_match(&headers) {
        Ok(expected) => expected,
        Err(response) => return *response,
    };
    let patch = UserPatch {
        email: body.email,
        username: body.username,
        email_verified: body.email_verified,
        name: body.name,
        given_name: body.given_name,
        family_name: body.family_name,
        user_metadata: body.user_metadata,
        app_metadata: body.app_metadata,
    };
    match state
        .core
        .update_user(&issuer, id, expected, patch, actor(&auth))
        .await
    {
        Ok(user) => user_response(&user),
        Err(error) => core_error(&error),
    }
}

async fn delete_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (issuer, id) = match issuer_and_user(&state, &auth, WRITE, &slug, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let expected = match if_match(&headers) {
        Ok(expected) => expected,
        Err(response) => return *response,
    };
    match state
        .core
        .delete_user(&issuer, id, expected, actor(&auth))
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => core_error(&error),
    }
}

async fn set_blocked(
    state: AppState,
    auth: CoreAuth,
    slug: String,
    id: String,
    blocked: bool,
) -> Response {
    let (issuer, id) = match issuer_and_user(&state, &auth, WRITE, &slug, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state
        .core
        .set_user_blocked(&issuer, id, blocked, actor(&auth))
        .await
    {
        Ok(user) => user_response(&user),
        Err(error) => core_error(&error),
    }
}

async fn block_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    set_blocked(state, auth, slug, id, true).await
}

async fn unblock_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    set_blocked(state, auth, slug, id, false).await
}

async fn set_password(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<SetPassword>,
) -> Response {
    let (issuer, id) = match issuer_and_user(&state, &auth, WRITE, &slug, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match state
        .core
        .set_user_password(&issuer, id, &body.password, actor(&auth))
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => core_error(&error),
    }
}
