//! The IdP API's OAuth and OpenID endpoints, per issuer at `/{issuer}/…` (paths in
//! `tessera_oauth::paths`): discovery (OIDC Discovery 1.0, RFC 8414), JWKS (RFC 7517),
//! authorize (RFC 6749 §3.1), token (§3.2), userinfo (OIDC Core §5.3), introspection
//! (RFC 7662), revocation (RFC 7009) and end-session (RP-Initiated Logout 1.0).
//!
//! Errors of the back-channel endpoints leave as the RFC's JSON (`{"error",
//! "error_description"}`) with the status the code implies; token responses and errors carry
//! `Cache-Control: no-store` (RFC 6749 §5.1). Userinfo errors carry a `WWW-Authenticate`
//! challenge (RFC 6750 §3). The front-channel endpoints (authorize, logout) answer with pages
//! or redirects that `tessera-core` validated.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use tessera_core::authorize::AuthorizeOutcome;
use tessera_core::discovery::Document;
use tessera_core::end_session::EndSessionOutcome;
use tessera_model::Issuer;
use tessera_oauth::{
    ClientAuth, ErrorCode, Form, OAuthError, bearer_token, client_auth, parse_end_session_request,
    parse_token_reference, parse_token_request, paths, www_authenticate,
};

use crate::AppState;
use crate::conventions::passed;
use crate::pages::{self, BROWSER_COOKIE, SESSION_COOKIE, cookie, set_cookie};
use crate::problem;

/// Largest request body of these endpoints (the form parser has the same cap).
const BODY_LIMIT: usize = 64 * 1024;

pub(crate) fn routes() -> Router<AppState> {
    let at = |path: &str| format!("/{{issuer}}{path}");
    // RFC 8414 §3.1: for an issuer with a path, the well-known segment may also come first.
    let first = |path: &str| format!("{path}/{{issuer}}");
    let openid = get(|state, slug| discovery(state, slug, Document::OpenIdConfiguration));
    let oauth = get(|state, slug| discovery(state, slug, Document::AuthorizationServer));
    Router::new()
        .route(&at(paths::TOKEN), post(token))
        .route(&at(paths::JWKS), get(jwks))
        .route(&at(paths::OPENID_CONFIGURATION), openid.clone())
        .route(&first(paths::OPENID_CONFIGURATION), openid)
        .route(&at(paths::OAUTH_AUTHORIZATION_SERVER), oauth.clone())
        .route(&first(paths::OAUTH_AUTHORIZATION_SERVER), oauth)
        .route(&at(paths::AUTHORIZE), get(authorize).post(authorize))
        .route(&at(paths::USERINFO), get(userinfo).post(userinfo))
        .route(&at(paths::INTROSPECT), post(introspect))
        .route(&at(paths::REVOKE), post(revoke))
        .route(&at(paths::END_SESSION), get(end_session).post(end_session))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The parameters of a front-channel request: the query of a GET, the form body of a POST
/// (OIDC Core §3.1.2.1, RP-Initiated Logout §2 accept both).
fn parameters(method: &Method, uri: &Uri, body: Bytes) -> Bytes {
    if method == Method::GET {
        Bytes::copy_from_slice(uri.query().unwrap_or("").as_bytes())
    } else {
        body
    }
}

/// Finds the issuer a path names, or the response for a missing one.
pub(crate) async fn issuer(state: &AppState, slug: &str) -> Result<Arc<Issuer>, Response> {
    match state.core.find_issuer(slug).await {
        Ok(Some(issuer)) => Ok(issuer),
        Ok(None) => Err(problem::not_found().await),
        Err(error) => Err(problem::core_error(&error)),
    }
}

/// The issuer of a back-channel request (token, introspection, revocation, userinfo). A failure to
/// read it answers in the RFC's JSON like every other error of these endpoints: a client
/// whose node lost its database gets `temporarily_unavailable` and `Retry-After`, not a
/// Core API problem document it cannot parse.
async fn back_channel_issuer(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
) -> Result<Arc<Issuer>, Response> {
    match state.core.find_issuer(slug).await {
        Ok(Some(issuer)) => Ok(issuer),
        Ok(None) => Err(problem::not_found().await),
        Err(error) => Err(oauth_error(
            &tessera_core::token::internal(error),
            used_basic(headers),
        )),
    }
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An OAuth error response. RFC 6749 §5.2: a 401 `invalid_client` after HTTP Basic carries a
/// `WWW-Authenticate` challenge for the scheme the client used.
fn oauth_error(error: &OAuthError, used_basic: bool) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(error.to_json())).into_response();
    if error.code == ErrorCode::InvalidClient && used_basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tessera\""),
        );
    }
    no_store(retry_after(response, error))
}

/// `Retry-After` on a `temporarily_unavailable` answer (a 503: RFC 9110 §10.2.3).
fn retry_after(mut response: Response, error: &OAuthError) -> Response {
    if error.code == ErrorCode::TemporarilyUnavailable {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Whether the request used HTTP Basic (then a 401 carries a Basic challenge).
fn used_basic(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.get(..6))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic "))
}

/// The form and the client authentication of a back-channel request (token, introspection,
/// revocation): a form body (RFC 6749 §3.2) and the credentials of RFC 6749 §2.3.
fn client_request(headers: &HeaderMap, body: &[u8]) -> Result<(Form, ClientAuth), OAuthError> {
    if !is_form(headers) {
        return Err(OAuthError::invalid_request(
            "The request body must be application/x-www-form-urlencoded.",
        ));
    }
    let form = Form::parse(body)?;
    let authorization = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => {
            return Err(OAuthError::invalid_client(
                "The Authorization header is malformed.",
            ));
        }
    };
    let auth = client_auth(authorization, &form)?;
    Ok((form, auth))
}

fn json_no_store(body: serde_json::Value) -> Response {
    no_store(Json(body).into_response())
}

async fn token(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let issuer = passed!(back_channel_issuer(&state, &slug, &headers).await);
    let result = async {
        let (form, auth) = client_request(&headers, &body)?;
        let request = parse_token_request(&form)?;
        state.core.token(&issuer, &auth, request).await
    }
    .await;
    match result {
        Ok(response) => json_no_store(response.to_json()),
        Err(error) => oauth_error(&error, used_basic(&headers)),
    }
}

async fn introspect(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let issuer = passed!(back_channel_issuer(&state, &slug, &headers).await);
    let result = async {
        let (form, auth) = client_request(&headers, &body)?;
        let reference = parse_token_reference(&form)?;
        state.core.introspect(&issuer, &auth, &reference).await
    }
    .await;
    match result {
        Ok(body) => json_no_store(body),
        Err(error) => oauth_error(&error, used_basic(&headers)),
    }
}

async fn revoke(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let issuer = passed!(back_channel_issuer(&state, &slug, &headers).await);
    let result = async {
        let (form, auth) = client_request(&headers, &body)?;
        let reference = parse_token_reference(&form)?;
        state.core.revoke(&issuer, &auth, &reference).await
    }
    .await;
    match result {
        // RFC 7009 §2.2: 200 with an empty body.
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(error) => oauth_error(&error, used_basic(&headers)),
    }
}

/// OIDC Core §5.3.1: userinfo accepts GET and POST; the token comes as RFC 6750 allows:
/// in the `Authorization` header, or for a POST in a form body (§2.2: "the GET method MUST
/// NOT be used" for the body parameter, so a GET's body is never read).
async fn userinfo(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let issuer = passed!(back_channel_issuer(&state, &slug, &headers).await);
    let realm = state.core.issuer_url(&issuer);
    let result = async {
        let form = if method != Method::GET && !body.is_empty() && is_form(&headers) {
            Some(Form::parse(&body)?)
        } else {
            None
        };
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str())
            .transpose()
            .map_err(|_| OAuthError::invalid_request("The Authorization header is malformed."))?;
        let token = bearer_token(authorization, form.as_ref())?;
        Ok::<_, OAuthError>(token)
    }
    .await;
    let token = match result {
        Ok(Some(token)) => token,
        // RFC 6750 §3.1: no credentials at all get a bare challenge, no error code.
        Ok(None) => return bearer_challenge(&realm, None),
        Err(error) => return bearer_challenge(&realm, Some(&error)),
    };
    match state.core.userinfo(&issuer, &token).await {
        Ok(claims) => json_no_store(claims),
        Err(error) => bearer_challenge(&realm, Some(&error)),
    }
}

/// An RFC 6750 §3 error: the status of the code and a `WWW-Authenticate: Bearer` challenge.
fn bearer_challenge(realm: &str, error: Option<&OAuthError>) -> Response {
    let status = error.map_or(StatusCode::UNAUTHORIZED, |e| {
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST)
    });
    let mut response = match error {
        Some(error) => retry_after((status, Json(error.to_json())).into_response(), error),
        None => status.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&www_authenticate(realm, error)) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    no_store(response)
}

async fn authorize(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = parameters(&method, &uri, body);
    let issuer = passed!(issuer(&state, &slug).await);
    let form = match Form::parse(&params) {
        Ok(form) => form,
        Err(error) => return oauth_error_page(&issuer, &headers, &error),
    };
    let outcome = state
        .core
        .authorize(
            &issuer,
            &form,
            cookie(&headers, BROWSER_COOKIE),
            cookie(&headers, SESSION_COOKIE),
        )
        .await;
    match outcome {
        Ok(AuthorizeOutcome::ErrorPage(error)) => oauth_error_page(&issuer, &headers, &error),
        Ok(AuthorizeOutcome::Respond(answer)) => pages::delivery(answer),
        Ok(AuthorizeOutcome::Interact {
            interaction,
            new_browser_secret,
            ..
        }) => {
            let mut response =
                pages::see_other(&format!("/{}/interaction/{interaction}", issuer.slug));
            if let Some(secret) = new_browser_secret {
                set_cookie(
                    &mut response,
                    &state,
                    &issuer,
                    BROWSER_COOKIE,
                    Some(secret.expose()),
                );
            }
            response
        }
        Err(error) => problem::core_error(&error),
    }
}

/// The error page for a request that cannot be answered at the client: a general message in
/// the browser's language, and the RFC error, as it is, for the client's developers.
fn oauth_error_page(issuer: &Issuer, headers: &HeaderMap, error: &OAuthError) -> Response {
    let lang = pages::i18n::page_language(headers, None, &[], None);
    pages::error_page(
        issuer,
        lang,
        StatusCode::BAD_REQUEST,
        error.code.as_str(),
        "error-bad-request",
        Some(&format!("{}: {}", error.code.as_str(), error.description)),
    )
}

async fn end_session(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = parameters(&method, &uri, body);
    let issuer = passed!(issuer(&state, &slug).await);
    let parsed = Form::parse(&params).and_then(|form| {
        let request = parse_end_session_request(&form)?;
        Ok((form, request))
    });
    let (form, request) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return oauth_error_page(&issuer, &headers, &error),
    };
    let session = cookie(&headers, SESSION_COOKIE);
    let outcome = state
        .core
        .end_session_request(&issuer, &request, session, form.get("csrf"))
        .await;
    let signed_out = |mut response: Response| {
        set_cookie(&mut response, &state, &issuer, SESSION_COOKIE, None);
        response
    };
    let lang = pages::i18n::page_language(&headers, None, &[], None);
    match outcome {
        Ok(EndSessionOutcome::ErrorPage(error)) => oauth_error_page(&issuer, &headers, &error),
        Ok(EndSessionOutcome::Confirm { csrf }) => {
            let fields: Vec<(&str, &str)> = form
                .iter()
                .filter(|(name, _)| {
                    matches!(
                        *name,
                        "id_token_hint" | "client_id" | "post_logout_redirect_uri" | "state"
                    )
                })
                .collect();
            pages::page(
                StatusCode::OK,
                "logout.html",
                context! {
                    ..pages::frame(&issuer, lang, None),
                    ..context! {
                        action => format!("/{}{}", issuer.slug, paths::END_SESSION),
                        csrf => csrf,
                        fields => fields,
                        signed_out => false,
                    },
                },
            )
        }
        Ok(EndSessionOutcome::Redirect(location)) => signed_out(pages::see_other(&location)),
        Ok(EndSessionOutcome::SignedOut) => signed_out(pages::page(
            StatusCode::OK,
            "logout.html",
            context! { ..pages::frame(&issuer, lang, None), ..context! { signed_out => true } },
        )),
        Err(error) => problem::core_error(&error),
    }
}

/// Discovery documents change only with the issuer's keys; clients may cache them briefly.
const DISCOVERY_CACHE: &str = "public, max-age=300";

async fn discovery(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    document: Document,
) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    match state.core.discovery(&issuer, document).await {
        Ok(body) => ([(header::CACHE_CONTROL, DISCOVERY_CACHE)], Json(body)).into_response(),
        Err(error) => problem::core_error(&error),
    }
}

async fn jwks(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    match state.core.issuer_keys(&issuer).await {
        // The next key is published before it signs, so a cached copy stays valid for a while.
        Ok(keys) => (
            [
                (header::CACHE_CONTROL, "public, max-age=300"),
                (header::CONTENT_TYPE, "application/json"),
            ],
            keys.jwks().to_owned(),
        )
            .into_response(),
        Err(error) => problem::core_error(&error),
    }
}
