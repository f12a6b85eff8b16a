//! `/core/v1/issuers/{slug}/users`: provisioning, profile changes, blocking and passwords.
//! Responses never carry the password hash; `has_password` says whether there is one.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::users::{NewUser, UserFilter, UserPatch};
use tessera_model::{User, UserId};
use utoipa::{IntoParams, ToSchema};

use super::{CoreAuth, READ, WRITE, authorised_issuer, authorised_object};
use crate::AppState;
use crate::conventions::{
    JsonBody, QueryParams, created, double_option, encode_cursor, if_match, page_request, passed,
    with_etag,
};
use crate::problem::{ProblemDoc, core_error};

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

/// A user as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserOut {
    /// `usr_…`
    id: String,
    email: Option<String>,
    email_verified: bool,
    username: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    /// URL of a picture of the user.
    picture: Option<String>,
    /// The user's language, a BCP 47 tag (the hosted pages speak it).
    locale: Option<String>,
    /// Data the user may edit (a JSON object).
    #[schema(value_type = Object)]
    user_metadata: Value,
    /// Data only administrators may edit (a JSON object).
    #[schema(value_type = Object)]
    app_metadata: Value,
    blocked: bool,
    /// Whether the user has a password (the hash is never shown).
    has_password: bool,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    updated_at: i64,
}

/// A page of users.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserPage {
    items: Vec<UserOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    next_cursor: Option<String>,
}

fn user_json(user: &User) -> UserOut {
    UserOut {
        id: user.id.to_string(),
        email: user.email.as_ref().map(|e| e.as_str().to_owned()),
        email_verified: user.email_verified,
        username: user.username.clone(),
        name: user.name.clone(),
        given_name: user.given_name.clone(),
        family_name: user.family_name.clone(),
        picture: user.picture.clone(),
        locale: user.locale.clone(),
        user_metadata: user.user_metadata.clone(),
        app_metadata: user.app_metadata.clone(),
        blocked: user.blocked,
        has_password: user.password_hash.is_some(),
        created_at: user.created_at.0,
        updated_at: user.updated_at.0,
    }
}

fn user_response(user: &User) -> Response {
    with_etag(user.revision, Json(user_json(user)))
}

/// `POST …/users` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    email: String,
    username: Option<String>,
    /// Checked against the issuer's `settings.password_policy` (the user's email address,
    /// username and names count against its strength); a refusal is a 400 `invalid_field`
    /// naming `password` with the reason. Only its hash is kept.
    password: Option<String>,
    #[serde(default)]
    email_verified: bool,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    /// An absolute `https://` (or `http://`) URL, at most 2,000 characters.
    picture: Option<String>,
    /// A BCP 47 language tag such as `de` or `es-MX`; stored in canonical form.
    locale: Option<String>,
    #[schema(value_type = Option<Object>)]
    user_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    app_metadata: Option<Value>,
}

/// `PATCH …/users/{id}` body; `null` clears a nullable field.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUser {
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
    /// An absolute `https://` (or `http://`) URL, at most 2,000 characters.
    #[serde(default, deserialize_with = "double_option")]
    picture: Option<Option<String>>,
    /// A BCP 47 language tag such as `de` or `es-MX`; stored in canonical form.
    #[serde(default, deserialize_with = "double_option")]
    locale: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    user_metadata: Option<Option<Value>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    app_metadata: Option<Option<Value>>,
}

/// `PUT …/users/{id}/password` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetPassword {
    /// Checked against the issuer's `settings.password_policy`, as at creation.
    password: String,
}

/// `GET …/users` query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListUsers {
    limit: Option<u32>,
    cursor: Option<String>,
    /// The user with exactly this email address (ignoring case); an indexed lookup.
    email: Option<String>,
    /// Users whose email address starts with this (ignoring case); compared row by row.
    email_prefix: Option<String>,
    /// Users whose username starts with this (case-sensitive).
    username_prefix: Option<String>,
}

#[utoipa::path(post, path = "/core/v1/issuers/{slug}/users", tag = "users",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response"), ("slug" = String, Path, description = "The issuer's slug")), request_body = CreateUser,
    responses((status = 201, description = "Created", body = UserOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 422, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<CreateUser>,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, WRITE, &slug).await);
    let input = NewUser {
        email: body.email,
        username: body.username,
        password: body.password,
        email_verified: body.email_verified,
        name: body.name,
        given_name: body.given_name,
        family_name: body.family_name,
        picture: body.picture,
        locale: body.locale,
        user_metadata: body.user_metadata,
        app_metadata: body.app_metadata,
    };
    match state.core.create_user(&issuer, input, auth.actor()).await {
        Ok(user) => created(
            &format!("/core/v1/issuers/{slug}/users/{}", user.id),
            user.revision,
            user_json(&user),
        ),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/users", tag = "users",
    params(("slug" = String, Path, description = "The issuer's slug"), ListUsers),
    responses((status = 200, description = "A page of users", body = UserPage), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    QueryParams(query): QueryParams<ListUsers>,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, READ, &slug).await);
    let page = passed!(page_request(query.limit, query.cursor.as_deref()));
    let filter = UserFilter {
        email: query.email,
        email_prefix: query.email_prefix,
        username_prefix: query.username_prefix,
    };
    match state.core.list_users(&issuer, &filter, page).await {
        Ok(page) => Json(UserPage {
            items: page.items.iter().map(user_json).collect(),
            next_cursor: page.next_after.map(encode_cursor),
        })
        .into_response(),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(get, path = "/core/v1/issuers/{slug}/users/{id}", tag = "users",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The user's id (`usr_…`)")),
    responses((status = 200, description = "The user", body = UserOut), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, READ, &slug, &id, UserId::parse).await);
    match state.core.get_user(&issuer, id).await {
        Ok(user) => user_response(&user),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(patch, path = "/core/v1/issuers/{slug}/users/{id}", tag = "users",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The user's id (`usr_…`)"), ("If-Match" = Option<String>, Header, description = "The ETag as read")),
    request_body = UpdateUser,
    responses((status = 200, description = "The changed user", body = UserOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, UserId::parse).await);
    let expected = passed!(if_match(&headers));
    let patch = UserPatch {
        email: body.email,
        username: body.username,
        email_verified: body.email_verified,
        name: body.name,
        given_name: body.given_name,
        family_name: body.family_name,
        picture: body.picture,
        locale: body.locale,
        user_metadata: body.user_metadata,
        app_metadata: body.app_metadata,
    };
    match state
        .core
        .update_user(&issuer, id, expected, patch, auth.actor())
        .await
    {
        Ok(user) => user_response(&user),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(delete, path = "/core/v1/issuers/{slug}/users/{id}", tag = "users",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The user's id (`usr_…`)"), ("If-Match" = Option<String>, Header, description = "The ETag as read")),
    responses((status = 204, description = "Deleted"), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, UserId::parse).await);
    let expected = passed!(if_match(&headers));
    match state
        .core
        .delete_user(&issuer, id, expected, auth.actor())
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
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, UserId::parse).await);
    match state
        .core
        .set_user_blocked(&issuer, id, blocked, auth.actor())
        .await
    {
        Ok(user) => user_response(&user),
        Err(error) => core_error(&error),
    }
}

#[utoipa::path(post, path = "/core/v1/issuers/{slug}/users/{id}/block", tag = "users",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response"), ("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The user's id (`usr_…`)")),
    responses((status = 200, description = "The blocked user", body = UserOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 422, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn block_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    set_blocked(state, auth, slug, id, true).await
}

#[utoipa::path(post, path = "/core/v1/issuers/{slug}/users/{id}/unblock", tag = "users",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response"), ("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The user's id (`usr_…`)")),
    responses((status = 200, description = "The unblocked user", body = UserOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 422, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn unblock_user(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
) -> Response {
    set_blocked(state, auth, slug, id, false).await
}

#[utoipa::path(put, path = "/core/v1/issuers/{slug}/users/{id}/password", tag = "users",
    params(("slug" = String, Path, description = "The issuer's slug"), ("id" = String, Path, description = "The user's id (`usr_…`)")), request_body = SetPassword,
    responses((status = 204, description = "Password set"), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn set_password(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path((slug, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<SetPassword>,
) -> Response {
    let (issuer, id) =
        passed!(authorised_object(&state, &auth, WRITE, &slug, &id, UserId::parse).await);
    match state
        .core
        .set_user_password(&issuer, id, &body.password, auth.actor())
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => core_error(&error),
    }
}
