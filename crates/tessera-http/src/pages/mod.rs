//! The hosted pages: sign-in, consent, logout confirmation, the error page, sign-up with
//! email verification and password reset ([`signup`], mailing through [`mail`]), and the
//! account portal ([`account`]).
//!
//! The pages reach protocol state only through an interaction (DESIGN.md §3 invariant 4): they
//! show what `Core::interaction` returns and post back to `Core::submit_login` /
//! `Core::submit_consent`.
//!
//! Pages are rendered on the server from templates compiled into the binary, and work
//! without JavaScript. Their words come from the message catalogs ([`i18n`]); their only
//! other file is the stylesheet ([`assets`]), served by Tessera itself.
//!
//! Every page is sent with `Cache-Control: no-store`, a CSP that allows no script, no inline
//! style and no framing, `X-Frame-Options: DENY` and `Referrer-Policy: no-referrer`
//! (DESIGN.md §6). Forms carry a CSRF token bound to the browser cookie and the interaction.
//! Cookies are `HttpOnly`, `SameSite=Lax`, scoped to the issuer's path, and `Secure` unless
//! Tessera is reached on a loopback address (where browsers do not need TLS).

mod account;
mod assets;
pub(crate) mod i18n;
mod mail;
mod signup;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Bytes;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::Extensions;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use cookie::{Cookie, SameSite};
use fluent_bundle::FluentArgs;
use minijinja::{Environment, context};
use serde::Deserialize;
use tessera_core::authorize::{
    InteractionError, InteractionView, LoginOutcome, LoginRefusal, Next, SignInAttempt, Stage,
};
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
        ("layout.html", include_str!("../../templates/layout.html")),
        ("login.html", include_str!("../../templates/login.html")),
        ("consent.html", include_str!("../../templates/consent.html")),
        ("error.html", include_str!("../../templates/error.html")),
        ("logout.html", include_str!("../../templates/logout.html")),
        ("account.html", include_str!("../../templates/account.html")),
        (
            "account_sign_in.html",
            include_str!("../../templates/account_sign_in.html"),
        ),
        ("signup.html", include_str!("../../templates/signup.html")),
        ("notice.html", include_str!("../../templates/notice.html")),
        ("forgot.html", include_str!("../../templates/forgot.html")),
        ("reset.html", include_str!("../../templates/reset.html")),
        ("mail.html", include_str!("../../templates/mail.html")),
    ] {
        if let Err(error) = env.add_template(name, source) {
            // The templates are compiled into the binary; a test renders each of them.
            tracing::error!(%error, name, "a hosted page template does not parse");
        }
    }
    env.add_function("t", i18n::translate);
    // The longest password any account can have: a field for the current password takes
    // this many characters whatever the issuer's policy now says (a browser cuts a typed
    // value at `maxlength` without a word, and the sign-in refuses beyond it).
    env.add_global(
        "current_password_max",
        tessera_model::PASSWORD_MAX_LENGTH.max,
    );
    env
});

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{issuer}/interaction/{id}", get(show_interaction))
        .route("/{issuer}/interaction/{id}/login", post(login))
        .route("/{issuer}/interaction/{id}/consent", post(consent))
        .route(
            "/{issuer}/interaction/{id}/signup",
            get(signup::show_signup).post(signup::signup),
        )
        .route(
            "/{issuer}/verify-email",
            get(signup::show_verify).post(signup::verify),
        )
        .route(
            "/{issuer}/password/forgot",
            get(signup::show_forgot).post(signup::forgot),
        )
        .route(
            "/{issuer}/password/reset",
            get(signup::show_reset).post(signup::reset),
        )
        .route("/{issuer}/account", get(account::show))
        .route("/{issuer}/account/sign-in", post(account::sign_in))
        .route("/{issuer}/account/profile", post(account::update_profile))
        .route("/{issuer}/account/password", post(account::change_password))
        .route("/{issuer}/account/delete", post(account::delete))
        .route(
            "/{issuer}/account/sessions/end-others",
            post(account::end_other_sessions),
        )
        .route(
            "/{issuer}/account/sessions/{id}/end",
            post(account::end_session),
        )
        .route("/static/{file}", get(assets::serve))
        .route("/{issuer}/branding.css", get(branding_stylesheet))
}

/// What the layout of every page shows: the page's language, the issuer, the stylesheet, and
/// the language switch (links to `switch_url?lang=…`, when the page has a URL to come back to).
pub(crate) fn frame(
    issuer: &Issuer,
    lang: &'static str,
    switch_url: Option<&str>,
) -> minijinja::Value {
    let branding = issuer.settings.branding();
    context! {
        lang => lang,
        issuer_name => issuer.display_name,
        stylesheet => &*assets::STYLESHEET,
        branding_stylesheet => branding.has_stylesheet().then(|| {
            format!("/{}/branding.css?v={}", issuer.slug, issuer.revision)
        }),
        logo_url => branding.logo_url(),
        terms_url => branding.terms_url(),
        privacy_url => branding.privacy_url(),
        overrides => branding.texts().get(lang),
        languages => i18n::languages(),
        switch_url => switch_url,
    }
}

/// `GET /{issuer}/branding.css`: the issuer's colours and custom CSS, loaded after Tessera's
/// stylesheet. Pages link it with the issuer's revision, so it may be kept long.
async fn branding_stylesheet(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    assets::stylesheet(issuer.settings.branding().stylesheet())
}

/// The `lang` query parameter: the language the user picked on a page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Picked {
    lang: Option<String>,
}

/// Remembers a language the user picked (and Tessera speaks) in the language cookie.
fn remember_language(
    response: &mut Response,
    state: &AppState,
    issuer: &Issuer,
    picked: &Picked,
    lang: &'static str,
) {
    if picked.lang.as_deref() == Some(lang) {
        set_cookie(response, state, issuer, i18n::LANGUAGE_COOKIE, Some(lang));
    }
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

/// No script, styles only from Tessera, images from Tessera or over HTTPS (an issuer's logo),
/// no framing (clickjacking), and no `<base>` to redirect relative links.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; \
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

/// The error page: the request cannot go back to the client. `code` is a machine-readable
/// name (`data-error`), `message` the catalog id of what the user reads, and `details` what the
/// application's developers need, shown as it is.
pub(crate) fn error_page(
    issuer: &Issuer,
    lang: &'static str,
    status: StatusCode,
    code: &str,
    message: &str,
    details: Option<&str>,
) -> Response {
    page(
        status,
        "error.html",
        context! {
            ..frame(issuer, lang, None),
            ..context! { code => code, message => message, details => details },
        },
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

/// The sign-in or consent page of an interaction, in `lang`. A sign-in form shown again
/// keeps the identifier the user typed, and says why (`retry`).
fn interaction_page(
    issuer: &Issuer,
    view: &InteractionView,
    lang: &'static str,
    retry: Option<(LoginRefusal, &str)>,
) -> Response {
    let base = format!("/{}/interaction/{}", issuer.slug, view.id);
    let frame = frame(issuer, lang, Some(&base));
    match view.stage {
        Stage::Login => page(
            StatusCode::OK,
            "login.html",
            context! {
                ..frame,
                ..context! {
                    client_name => view.client_name,
                    csrf => view.csrf,
                    action => format!("{base}/login"),
                    username => retry
                        .map(|(_, typed)| typed)
                        .or(view.login_hint.as_deref())
                        .unwrap_or_default(),
                    refusal => retry.map(|(refusal, _)| refusal_code(refusal)),
                    refusal_text => retry.map(|(refusal, _)| refusal_text(issuer, lang, refusal)),
                    forgot_url => format!("/{}/password/forgot", issuer.slug),
                    signup_url => tessera_core::Core::signup_open(issuer).then(|| format!("{base}/signup")),
                },
            },
        ),
        Stage::Consent => page(
            StatusCode::OK,
            "consent.html",
            context! {
                ..frame,
                ..context! {
                    client_name => view.client_name,
                    csrf => view.csrf,
                    action => format!("{base}/consent"),
                    scopes => view.scopes.iter().map(|scope| scope_wording(issuer, lang, scope)).collect::<Vec<_>>(),
                },
            },
        ),
    }
}

/// A refusal's machine-readable name, for the page's `data-refusal`.
fn refusal_code(refusal: LoginRefusal) -> &'static str {
    match refusal {
        LoginRefusal::Incomplete => "incomplete",
        LoginRefusal::TooLong { .. } => "too_long",
        LoginRefusal::Credentials => "credentials",
        LoginRefusal::TooManyAttempts { .. } => "too_many_attempts",
        LoginRefusal::Unverified => "unverified",
    }
}

/// A refusal in words. A wait says when to come back: in seconds up to two minutes, then in
/// minutes (to the nearest: a wait carries up to a second of rounding of its own).
fn refusal_text(issuer: &Issuer, lang: &str, refusal: LoginRefusal) -> String {
    let text = |id, args| i18n::wording(issuer, lang, id, args);
    match refusal {
        LoginRefusal::Incomplete => text("login-refused-incomplete", None),
        LoginRefusal::TooLong { field, max } => {
            let mut args = FluentArgs::new();
            args.set("max", max);
            let id = if field == "password" {
                "login-refused-password-too-long"
            } else {
                "login-refused-username-too-long"
            };
            text(id, Some(&args))
        }
        LoginRefusal::Credentials => text("login-refused-credentials", None),
        LoginRefusal::Unverified => text("login-refused-unverified", None),
        LoginRefusal::TooManyAttempts { wait_seconds } => {
            let mut args = FluentArgs::new();
            if wait_seconds <= 120 {
                args.set("seconds", wait_seconds);
                text("login-refused-wait-seconds", Some(&args))
            } else {
                args.set("minutes", (wait_seconds + 30) / 60);
                text("login-refused-wait-minutes", Some(&args))
            }
        }
    }
}

/// What consenting to a scope means, in words: the catalog's `scope-<name>` for the scopes
/// OpenID Connect defines, the scope's own name for the rest.
fn scope_wording(issuer: &Issuer, lang: &str, scope: &str) -> String {
    if tessera_oauth::STANDARD_SCOPES.contains(&scope) {
        i18n::wording(issuer, lang, &format!("scope-{scope}"), None)
    } else {
        scope.to_owned()
    }
}

fn interaction_error(issuer: &Issuer, lang: &'static str, error: &InteractionError) -> Response {
    let (status, code, message) = match error {
        InteractionError::Gone => (
            StatusCode::GONE,
            "interaction_gone",
            "error-interaction-gone",
        ),
        InteractionError::Forbidden => (
            StatusCode::FORBIDDEN,
            "interaction_forbidden",
            "error-interaction-forbidden",
        ),
        InteractionError::NotSignedIn => (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "error-not-signed-in",
        ),
        InteractionError::Core(cause) => return crate::problem::core_error(cause),
    };
    error_page(issuer, lang, status, code, message, None)
}

async fn show_interaction(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    Query(picked): Query<Picked>,
    headers: HeaderMap,
) -> Response {
    show_interaction_with(
        &state,
        &slug,
        &id,
        &picked,
        &headers,
        |issuer, view, lang| interaction_page(issuer, view, lang, None),
    )
    .await
}

/// A page of an interaction, drawn by `render` in the page's language (the one picked, the
/// request's `ui_locales`, the signed-in user's, the browser's), or the page of why it
/// cannot go on.
pub(super) async fn show_interaction_with(
    state: &AppState,
    slug: &str,
    id: &str,
    picked: &Picked,
    headers: &HeaderMap,
    render: impl FnOnce(&Issuer, &InteractionView, &'static str) -> Response,
) -> Response {
    let issuer = passed!(issuer(state, slug).await);
    let view = state
        .core
        .interaction(&issuer, id, cookie(headers, BROWSER_COOKIE))
        .await;
    let (ui_locales, user_locale) = view
        .as_ref()
        .map(|v| (v.ui_locales.as_slice(), v.user_locale.as_deref()))
        .unwrap_or_default();
    let lang = i18n::page_language(headers, picked.lang.as_deref(), ui_locales, user_locale);
    let mut response = match view {
        Ok(view) => render(&issuer, &view, lang),
        Err(error) => interaction_error(&issuer, lang, &error),
    };
    remember_language(&mut response, state, &issuer, picked, lang);
    response
}

/// A form posted to one of an issuer's pages: the issuer (from the path's `{issuer}`), the
/// language to answer in (the language cookie, then the browser: what the page knows before
/// it has read anything else) and the fields. An unknown issuer is answered with a 404, a body
/// that is not a form (repeated fields, not UTF-8, too big) with the error page, before the
/// handler runs.
pub(super) struct PostedForm {
    issuer: Arc<Issuer>,
    lang: &'static str,
    form: Form,
}

impl FromRequest<AppState> for PostedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let slug = params.get("issuer").map_or("", String::as_str);
        let issuer = issuer(state, slug).await?;
        let lang = form_language(&parts.headers, &[]);
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = Form::parse(&body).map_err(|_| {
            error_page(
                &issuer,
                lang,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "error-form-unreadable",
                None,
            )
        })?;
        Ok(Self { issuer, lang, form })
    }
}

/// The language of a page answering a form: the cookie, then the browser. The interaction's
/// `ui_locales` are in the view the answer carries, and count there.
pub(super) fn form_language(headers: &HeaderMap, ui_locales: &[String]) -> &'static str {
    i18n::page_language(headers, None, ui_locales, None)
}

/// The sign-in form. The browser's address (the TCP peer) is counted by the brute-force
/// protection.
async fn login(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    extensions: Extensions,
    PostedForm { issuer, lang, form }: PostedForm,
) -> Response {
    let outcome = state
        .core
        .submit_login(
            &issuer,
            &id,
            cookie(&headers, BROWSER_COOKIE),
            SignInAttempt {
                csrf: form.get("csrf").unwrap_or(""),
                username: form.get("username").unwrap_or(""),
                password: form.get("password").unwrap_or(""),
                address: state.client_address(&headers, &extensions),
            },
        )
        .await;
    match outcome {
        Ok(LoginOutcome::Retry { view, refused }) => {
            let lang = form_language(&headers, &view.ui_locales);
            if let Some(link) = refused.mail {
                mail::send_later(&state, &issuer, lang, link);
            }
            let typed = form.get("username").unwrap_or_default();
            interaction_page(&issuer, &view, lang, Some((refused.refusal, typed)))
        }
        Ok(LoginOutcome::SignedIn {
            session_secret,
            next,
        }) => signed_in(&state, &issuer, session_secret.expose(), next),
        Err(error) => interaction_error(&issuer, lang, &error),
    }
}

/// A browser just signed in (or signed up) with the session whose cookie secret is `session`:
/// the session cookie, and on to the consent page or back to the client.
pub(super) fn signed_in(state: &AppState, issuer: &Issuer, session: &str, next: Next) -> Response {
    let mut response = match next {
        Next::Consent(view) => see_other(&format!("/{}/interaction/{}", issuer.slug, view.id)),
        Next::Respond(answer) => delivery(answer),
    };
    set_cookie(&mut response, state, issuer, SESSION_COOKIE, Some(session));
    response
}

async fn consent(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    PostedForm { issuer, lang, form }: PostedForm,
) -> Response {
    let allow = match form.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            return error_page(
                &issuer,
                lang,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "error-choose-decision",
                None,
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
        Err(error) => interaction_error(&issuer, lang, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_renders_and_escapes_what_it_shows() {
        let hostile = "<script>alert(1)</script>";
        for lang in tessera_core::UI_LOCALES {
            for name in [
                "login.html",
                "consent.html",
                "error.html",
                "logout.html",
                "account.html",
                "account_sign_in.html",
                "signup.html",
                "notice.html",
                "forgot.html",
                "reset.html",
            ] {
                let html = TEMPLATES
                    .get_template(name)
                    .and_then(|t| {
                        t.render(context! {
                            lang => lang, issuer_name => hostile, client_name => hostile,
                            message => "error-bad-request", details => hostile,
                            refusal => "credentials", refusal_text => hostile,
                            csrf => "c", action => "/a", scopes => vec![hostile], code => "x",
                            fields => vec![("state", hostile)], username => hostile,
                            stylesheet => "/static/s.css", switch_url => "/i/interaction/1",
                            languages => i18n::languages(),
                            name => hostile, email => hostile,
                            notice => "account-notice-session-ended",
                            open => true, min_length => 8, max_length => 1024,
                            heading => "verify-heading", form_action => "/v",
                            form_token => hostile, form_button => "verify-submit",
                            link_url => "/l", link_text => "forgot-link",
                            token => hostile, delete_action => "/d",
                            problem_form => "password", problem_text => hostile,
                            sessions => vec![context! {
                                current => true, signed_in => hostile, id => "ses_1",
                                end_action => "/i/account/sessions/ses_1/end",
                            }],
                        })
                    })
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(html.contains("&lt;script&gt;"), "{name}");
                assert!(!html.contains(hostile), "{name}");
                assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{name}");
                // Every text comes from the catalog: no message id reaches the page.
                for id in [
                    "-title",
                    "-heading",
                    "-submit",
                    "error-bad-request",
                    "login-refused",
                ] {
                    assert!(!html.contains(id), "{name} in {lang} shows an id like {id}");
                }
                assert!(!html.contains("style="), "{name}: inline style");
            }
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
