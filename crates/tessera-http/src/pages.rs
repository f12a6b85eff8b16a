//! The hosted pages: sign-in, consent, logout confirmation and the error page.
//!
//! The pages reach protocol state only through an interaction (DESIGN.md §3 invariant 4): they
//! show what `Core::interaction` returns and post back to `Core::submit_login` /
//! `Core::submit_consent`. They are deliberately minimal; the hosted-pages issue completes them.
//!
//! Every page is sent with `Cache-Control: no-store`, a CSP that allows no script and no
//! framing, `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer` (DESIGN.md §6). Forms
//! carry a CSRF token bound to the browser cookie and the interaction. Cookies are `HttpOnly`,
//! `SameSite=Lax`, scoped to the issuer's path, and `Secure` unless Tessera is reached on a
//! loopback address (where browsers do not need TLS).

use std::sync::LazyLock;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use cookie::{Cookie, SameSite};
use minijinja::{Environment, context};
use tessera_core::authorize::{InteractionError, InteractionView, LoginOutcome, Next, Stage};
use tessera_model::Issuer;
use tessera_oauth::{AuthorizationDelivery, Form};

use crate::AppState;
use crate::conventions::passed;
use crate::oauth::issuer;

/// The cookie that binds interactions to the browser that started them.
pub(crate) const BROWSER_COOKIE: &str = "tessera_browser";
/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "tessera_session";

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("layout.html", include_str!("../templates/layout.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("consent.html", include_str!("../templates/consent.html")),
        ("error.html", include_str!("../templates/error.html")),
        ("logout.html", include_str!("../templates/logout.html")),
    ] {
        if let Err(error) = env.add_template(name, source) {
            // The templates are compiled into the binary; a test renders each of them.
            tracing::error!(%error, name, "a hosted page template does not parse");
        }
    }
    env
});

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{issuer}/interaction/{id}", get(show_interaction))
        .route("/{issuer}/interaction/{id}/login", post(login))
        .route("/{issuer}/interaction/{id}/consent", post(consent))
}

/// Renders a page with the security headers every hosted page gets.
pub(crate) fn page(status: StatusCode, template: &str, values: minijinja::Value) -> Response {
    let rendered = TEMPLATES
        .get_template(template)
        .and_then(|t| t.render(values));
    match rendered {
        Ok(html) => with_page_headers(
            (status, Html(html)).into_response(),
            HeaderValue::from_static(PAGE_CSP),
        ),
        Err(error) => {
            tracing::error!(%error, template, "a hosted page failed to render");
            crate::problem::internal_error()
        }
    }
}

const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
                        frame-ancestors 'none'; base-uri 'none'";
/// The form_post response page submits itself with one inline script, allowed by its hash.
/// Made once; were it ever not a valid header value, the page would get a policy that allows
/// nothing rather than none at all.
static FORM_POST_CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    HeaderValue::from_str(&tessera_oauth::form_post_content_security_policy())
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

fn with_page_headers(mut response: Response, csp: HeaderValue) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The error page: the request cannot go back to the client.
pub(crate) fn error_page(
    issuer: &Issuer,
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response {
    page(
        status,
        "error.html",
        context! { issuer_name => issuer.display_name, code => code, message => message },
    )
}

/// Sends the authorization response: a 303 to the client, or the self-submitting form.
pub(crate) fn delivery(delivery: AuthorizationDelivery) -> Response {
    match delivery {
        AuthorizationDelivery::Redirect(location) => see_other(&location),
        AuthorizationDelivery::FormPost(html) => {
            with_page_headers(Html(html).into_response(), FORM_POST_CSP.clone())
        }
    }
}

pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => crate::problem::internal_error(),
    }
}

/// A cookie's value from the request, if sent.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .and_then(|cookie| cookie.value_raw())
}

/// Adds a `Set-Cookie` for an issuer-scoped, HttpOnly, SameSite=Lax cookie; `None` clears it.
pub(crate) fn set_cookie(
    response: &mut Response,
    state: &AppState,
    issuer: &Issuer,
    name: &'static str,
    value: Option<&str>,
) {
    let mut cookie = Cookie::new(name, value.unwrap_or("").to_owned());
    cookie.set_path(format!("/{}", issuer.slug));
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_secure(state.secure_cookies);
    if value.is_none() {
        cookie.make_removal();
    }
    if let Ok(header) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, header);
    }
}

/// Whether cookies for `public_url` must be `Secure`: always, unless its host is a loopback
/// address, where browsers accept plain HTTP as a secure context.
pub(crate) fn needs_secure_cookies(public_url: &str) -> bool {
    let Ok(url) = url::Url::parse(public_url) else {
        return true;
    };
    match url.host() {
        Some(url::Host::Domain(domain)) => {
            !(domain == "localhost" || domain.ends_with(".localhost"))
        }
        Some(url::Host::Ipv4(ip)) => !ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => !ip.is_loopback(),
        None => true,
    }
}

fn interaction_page(issuer: &Issuer, view: &InteractionView, message: Option<&str>) -> Response {
    let base = format!("/{}/interaction/{}", issuer.slug, view.id);
    match view.stage {
        Stage::Login => page(
            StatusCode::OK,
            "login.html",
            context! {
                lang => view.locale,
                issuer_name => issuer.display_name,
                client_name => view.client_name,
                csrf => view.csrf,
                action => format!("{base}/login"),
                username => view.login_hint.clone().unwrap_or_default(),
                message => message,
            },
        ),
        Stage::Consent => page(
            StatusCode::OK,
            "consent.html",
            context! {
                lang => view.locale,
                issuer_name => issuer.display_name,
                client_name => view.client_name,
                csrf => view.csrf,
                action => format!("{base}/consent"),
                scopes => view.scopes,
            },
        ),
    }
}

fn interaction_error(issuer: &Issuer, error: &InteractionError) -> Response {
    match error {
        InteractionError::Gone => error_page(
            issuer,
            StatusCode::GONE,
            "interaction_gone",
            &error.to_string(),
        ),
        InteractionError::Forbidden => error_page(
            issuer,
            StatusCode::FORBIDDEN,
            "interaction_forbidden",
            &error.to_string(),
        ),
        InteractionError::Invalid(message) => {
            error_page(issuer, StatusCode::BAD_REQUEST, "invalid_request", message)
        }
        InteractionError::Core(cause) => crate::problem::core_error(cause),
    }
}

async fn show_interaction(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    match state
        .core
        .interaction(&issuer, &id, cookie(&headers, BROWSER_COOKIE))
        .await
    {
        Ok(view) => interaction_page(&issuer, &view, None),
        Err(error) => interaction_error(&issuer, &error),
    }
}

/// A page's form, or the error page for one that is not a form (repeated fields, not UTF-8,
/// too big).
fn page_form(issuer: &Issuer, body: &[u8]) -> Result<Form, Box<Response>> {
    Form::parse(body).map_err(|_| {
        Box::new(error_page(
            issuer,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The form could not be read.",
        ))
    })
}

async fn login(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    let form = passed!(page_form(&issuer, &body));
    let outcome = state
        .core
        .submit_login(
            &issuer,
            &id,
            cookie(&headers, BROWSER_COOKIE),
            form.get("csrf").unwrap_or(""),
            form.get("username").unwrap_or(""),
            form.get("password").unwrap_or(""),
        )
        .await;
    match outcome {
        Ok(LoginOutcome::Retry { view, message }) => {
            interaction_page(&issuer, &view, Some(message))
        }
        Ok(LoginOutcome::SignedIn {
            session_secret,
            next,
        }) => {
            let mut response = match next {
                Next::Consent(view) => {
                    see_other(&format!("/{}/interaction/{}", issuer.slug, view.id))
                }
                Next::Respond(answer) => delivery(answer),
            };
            set_cookie(
                &mut response,
                &state,
                &issuer,
                SESSION_COOKIE,
                Some(session_secret.expose()),
            );
            response
        }
        Err(error) => interaction_error(&issuer, &error),
    }
}

async fn consent(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    let form = passed!(page_form(&issuer, &body));
    let allow = match form.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            return error_page(
                &issuer,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Choose Allow or Deny.",
            );
        }
    };
    match state
        .core
        .submit_consent(
            &issuer,
            &id,
            cookie(&headers, BROWSER_COOKIE),
            form.get("csrf").unwrap_or(""),
            allow,
        )
        .await
    {
        Ok(answer) => delivery(answer),
        Err(error) => interaction_error(&issuer, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_and_escapes_what_it_shows() {
        let hostile = "<script>alert(1)</script>";
        for name in ["login.html", "consent.html", "error.html", "logout.html"] {
            let html = TEMPLATES
                .get_template(name)
                .and_then(|t| {
                    t.render(context! {
                        issuer_name => hostile, client_name => hostile, message => hostile,
                        csrf => "c", action => "/a", scopes => vec![hostile], code => "x",
                        fields => vec![("state", hostile)], username => hostile,
                    })
                })
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(html.contains("&lt;script&gt;"), "{name}");
            assert!(!html.contains(hostile), "{name}");
        }
    }

    #[test]
    fn cookies_are_secure_except_on_loopback() {
        for loopback in [
            "http://localhost:8080",
            "http://127.0.0.1:3000/base",
            "http://[::1]:3000",
            "http://app.localhost",
        ] {
            assert!(!needs_secure_cookies(loopback), "{loopback}");
        }
        for remote in [
            "https://id.example.com",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "not a url",
        ] {
            assert!(needs_secure_cookies(remote), "{remote}");
        }
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tessera_browser_x=2; tessera_browser=3"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("b=\"q\"; ;junk"));
        assert_eq!(cookie(&headers, BROWSER_COOKIE), Some("3"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), None);
    }
}
