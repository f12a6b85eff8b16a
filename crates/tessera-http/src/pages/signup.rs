//! The self-service pages: sign-up (from the sign-in page of an authorization request),
//! email verification, and "forgot password" with its reset page. Their logic is
//! [`tessera_core::signup`]; the mails they send are composed by [`super::mail`].
//!
//! A mailed link opens a page with a button, and only the button's form uses the link up:
//! mail scanners and link previews fetch links, and must not spend them.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use fluent_bundle::FluentArgs;
use minijinja::context;
use serde::Deserialize;
use tessera_core::Core;
use tessera_core::authorize::InteractionView;
use tessera_core::password_policy::PasswordProblem;
use tessera_core::signup::{LinkRefusal, ResetRefusal, SignUpForm, SignUpOutcome, SignUpRefusal};
use tessera_model::Issuer;

use super::{
    BROWSER_COOKIE, Picked, PostedForm, cookie, form_language, frame, i18n, interaction_error,
    mail, page, remember_language, set_cookie, signed_in,
};
use crate::AppState;
use crate::conventions::passed;
use crate::oauth::issuer;

/// A page that says one thing: a heading, a message, and maybe a link or a one-button form.
/// `state` names what happened, for the page's `data-state`.
#[derive(Debug, Default)]
pub(super) struct Notice<'a> {
    pub(super) state: &'a str,
    pub(super) heading: &'a str,
    pub(super) message: &'a str,
    pub(super) link: Option<(String, &'a str)>,
    pub(super) form: Option<(String, String, &'a str)>,
}

pub(super) fn notice_page(
    issuer: &Issuer,
    lang: &'static str,
    status: StatusCode,
    notice: Notice<'_>,
) -> Response {
    page(
        status,
        "notice.html",
        context! {
            ..frame(issuer, lang, None),
            ..context! {
                state => notice.state,
                heading => notice.heading,
                message => notice.message,
                link_url => notice.link.as_ref().map(|(url, _)| url),
                link_text => notice.link.as_ref().map(|(_, text)| text),
                form_action => notice.form.as_ref().map(|(action, _, _)| action),
                form_token => notice.form.as_ref().map(|(_, token, _)| token),
                form_button => notice.form.as_ref().map(|(_, _, button)| button),
            },
        },
    )
}

/// The sign-up form of an interaction, in `lang`, maybe again with why (`retry`) and what
/// was typed.
fn signup_page(
    issuer: &Issuer,
    view: &InteractionView,
    lang: &'static str,
    retry: Option<(&SignUpRefusal, &str, &str)>,
) -> Response {
    let base = format!("/{}/interaction/{}", issuer.slug, view.id);
    let policy = issuer.settings.password_policy();
    page(
        StatusCode::OK,
        "signup.html",
        context! {
            ..frame(issuer, lang, Some(&format!("{base}/signup"))),
            ..context! {
                client_name => view.client_name,
                csrf => view.csrf,
                action => format!("{base}/signup"),
                sign_in_url => base,
                open => Core::signup_open(issuer),
                email => retry.map(|(_, email, _)| email).unwrap_or_default(),
                name => retry.map(|(_, _, name)| name).unwrap_or_default(),
                min_length => policy.min_length(),
                max_length => policy.max_length(),
                refusal => retry.map(|(refusal, _, _)| signup_refusal_code(refusal)),
                refusal_text => retry.map(|(refusal, _, _)| signup_refusal_text(issuer, lang, refusal)),
            },
        },
    )
}

fn signup_refusal_code(refusal: &SignUpRefusal) -> &'static str {
    match refusal {
        SignUpRefusal::Closed => "closed",
        SignUpRefusal::InvalidEmail => "invalid_email",
        SignUpRefusal::DomainNotAllowed => "domain_not_allowed",
        SignUpRefusal::NameTooLong { .. } => "name_too_long",
        SignUpRefusal::Password(problem) => password_problem_code(problem),
        SignUpRefusal::Taken => "taken",
    }
}

fn signup_refusal_text(issuer: &Issuer, lang: &str, refusal: &SignUpRefusal) -> String {
    match refusal {
        SignUpRefusal::Closed => i18n::wording(issuer, lang, "signup-closed", None),
        SignUpRefusal::InvalidEmail => i18n::wording(issuer, lang, "signup-invalid-email", None),
        SignUpRefusal::DomainNotAllowed => i18n::wording(issuer, lang, "signup-domain", None),
        SignUpRefusal::Taken => i18n::wording(issuer, lang, "signup-taken", None),
        SignUpRefusal::NameTooLong { max } => {
            let mut args = FluentArgs::new();
            args.set("max", *max);
            i18n::wording(issuer, lang, "signup-name-too-long", Some(&args))
        }
        SignUpRefusal::Password(problem) => password_problem_text(issuer, lang, problem),
    }
}

pub(super) fn password_problem_code(problem: &PasswordProblem) -> &'static str {
    match problem {
        PasswordProblem::TooShort { .. } => "password_too_short",
        PasswordProblem::TooLong { .. } => "password_too_long",
        PasswordProblem::Common => "password_common",
        PasswordProblem::Weak { .. } => "password_weak",
    }
}

/// What is wrong with a new password, in words.
pub(super) fn password_problem_text(
    issuer: &Issuer,
    lang: &str,
    problem: &PasswordProblem,
) -> String {
    let mut args = FluentArgs::new();
    let id = match problem {
        PasswordProblem::TooShort { min } => {
            args.set("min", *min);
            "password-too-short"
        }
        PasswordProblem::TooLong { max } => {
            args.set("max", *max);
            "password-too-long"
        }
        PasswordProblem::Common => "password-common",
        PasswordProblem::Weak { .. } => "password-weak",
    };
    i18n::wording(issuer, lang, id, Some(&args))
}

/// `GET /{issuer}/interaction/{id}/signup`.
pub(super) async fn show_signup(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    Query(picked): Query<Picked>,
    headers: HeaderMap,
) -> Response {
    super::show_interaction_with(
        &state,
        &slug,
        &id,
        &picked,
        &headers,
        |issuer, view, lang| signup_page(issuer, view, lang, None),
    )
    .await
}

/// `POST /{issuer}/interaction/{id}/signup`.
pub(super) async fn signup(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    PostedForm { issuer, lang, form }: PostedForm,
) -> Response {
    let typed = SignUpForm {
        csrf: form.get("csrf").unwrap_or(""),
        email: form.get("email").unwrap_or(""),
        password: form.get("password").unwrap_or(""),
        name: form.get("name").unwrap_or(""),
    };
    let outcome = state
        .core
        .submit_signup(&issuer, &id, cookie(&headers, BROWSER_COOKIE), typed)
        .await;
    match outcome {
        Ok(SignUpOutcome::Retry { view, refusal }) => {
            let lang = form_language(&headers, &view.ui_locales);
            signup_page(
                &issuer,
                &view,
                lang,
                Some((&refusal, typed.email, typed.name)),
            )
        }
        Ok(SignUpOutcome::CheckEmail {
            mail: link,
            ui_locales,
        }) => {
            let lang = form_language(&headers, &ui_locales);
            if let Some(link) = link {
                mail::send_later(&state, &issuer, lang, link);
            }
            check_email_page(&issuer, lang)
        }
        Ok(SignUpOutcome::SignedIn {
            session_secret,
            next,
            mail: link,
            ui_locales,
        }) => {
            if let Some(link) = link {
                let lang = form_language(&headers, &ui_locales);
                mail::send_later(&state, &issuer, lang, link);
            }
            signed_in(&state, &issuer, session_secret.expose(), *next)
        }
        Err(error) => interaction_error(&issuer, lang, &error),
    }
}

/// "Check your email": said after every sign-up that waits for verification and every reset
/// request, whether or not a mail went out.
fn check_email_page(issuer: &Issuer, lang: &'static str) -> Response {
    notice_page(
        issuer,
        lang,
        StatusCode::OK,
        Notice {
            state: "check_email",
            heading: "check-email-heading",
            message: "check-email-text",
            ..Notice::default()
        },
    )
}

/// A mailed link's `token` parameter.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LinkQuery {
    #[serde(default)]
    token: String,
    #[serde(flatten)]
    picked: Picked,
}

/// `GET /{issuer}/verify-email?token=…`: a button that verifies the address.
pub(super) async fn show_verify(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LinkQuery>,
    headers: HeaderMap,
) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    let lang = i18n::page_language(&headers, query.picked.lang.as_deref(), &[], None);
    notice_page(
        &issuer,
        lang,
        StatusCode::OK,
        Notice {
            state: "verify",
            heading: "verify-heading",
            message: "verify-text",
            form: Some((
                format!("/{}/verify-email", issuer.slug),
                query.token,
                "verify-submit",
            )),
            ..Notice::default()
        },
    )
}

/// `POST /{issuer}/verify-email`: uses the link up.
pub(super) async fn verify(
    State(state): State<AppState>,
    PostedForm { issuer, lang, form }: PostedForm,
) -> Response {
    match state
        .core
        .verify_email(&issuer, form.get("token").unwrap_or(""))
        .await
    {
        Ok(Ok(verified)) => notice_page(
            &issuer,
            lang,
            StatusCode::OK,
            Notice {
                state: "verified",
                heading: "verified-heading",
                message: "verified-text",
                link: verified.interaction.map(|id| {
                    (
                        format!("/{}/interaction/{id}", issuer.slug),
                        "verified-continue",
                    )
                }),
                ..Notice::default()
            },
        ),
        Ok(Err(refusal)) => link_refused(&issuer, lang, refusal),
        Err(error) => crate::problem::core_error(&error),
    }
}

/// A link that does not work: why, in words, with a 410 for one used or expired.
fn link_refused(issuer: &Issuer, lang: &'static str, refusal: LinkRefusal) -> Response {
    let (status, state, message) = match refusal {
        LinkRefusal::Unknown => (StatusCode::NOT_FOUND, "link_unknown", "link-unknown"),
        LinkRefusal::Expired => (StatusCode::GONE, "link_expired", "link-expired"),
        LinkRefusal::Used => (StatusCode::GONE, "link_used", "link-used"),
    };
    notice_page(
        issuer,
        lang,
        status,
        Notice {
            state,
            heading: "link-heading",
            message,
            link: Some((format!("/{}/password/forgot", issuer.slug), "forgot-link")),
            ..Notice::default()
        },
    )
}

/// `GET /{issuer}/password/forgot`.
pub(super) async fn show_forgot(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(picked): Query<Picked>,
    headers: HeaderMap,
) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    let lang = i18n::page_language(&headers, picked.lang.as_deref(), &[], None);
    let form = state
        .core
        .forgot_password_form(cookie(&headers, BROWSER_COOKIE));
    let url = format!("/{}/password/forgot", issuer.slug);
    let mut response = page(
        StatusCode::OK,
        "forgot.html",
        context! {
            ..frame(&issuer, lang, Some(&url)),
            ..context! { csrf => form.csrf, action => url },
        },
    );
    if let Some(secret) = form.new_browser_secret {
        set_cookie(
            &mut response,
            &state,
            &issuer,
            BROWSER_COOKIE,
            Some(secret.expose()),
        );
    }
    remember_language(&mut response, &state, &issuer, &picked, lang);
    response
}

/// `POST /{issuer}/password/forgot`: "check your email", whatever the address.
pub(super) async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    PostedForm { issuer, lang, form }: PostedForm,
) -> Response {
    let browser = cookie(&headers, BROWSER_COOKIE);
    if !state
        .core
        .forgot_password_form_accepts(browser, form.get("csrf").unwrap_or(""))
    {
        return super::error_page(
            &issuer,
            lang,
            StatusCode::FORBIDDEN,
            "form_forbidden",
            "error-forgot-forbidden",
            None,
        );
    }
    // The answer does not wait for the lookup and its writes: their time would tell whether
    // the address has an account.
    let email = form.get("email").unwrap_or("").to_owned();
    let (state, issuer_of_task) = (state.clone(), issuer.clone());
    tokio::spawn(async move {
        match state
            .core
            .request_password_reset(&issuer_of_task, &email)
            .await
        {
            Ok(Some(link)) => mail::send_later(&state, &issuer_of_task, lang, link),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "a password reset request failed"),
        }
    });
    check_email_page(&issuer, lang)
}

/// The page that asks for the new password, maybe again with why.
fn reset_page(
    issuer: &Issuer,
    lang: &'static str,
    token: &str,
    problem: Option<&PasswordProblem>,
) -> Response {
    let policy = issuer.settings.password_policy();
    page(
        StatusCode::OK,
        "reset.html",
        context! {
            ..frame(issuer, lang, None),
            ..context! {
                action => format!("/{}/password/reset", issuer.slug),
                token => token,
                min_length => policy.min_length(),
                max_length => policy.max_length(),
                refusal => problem.map(password_problem_code),
                refusal_text => problem.map(|p| password_problem_text(issuer, lang, p)),
            },
        },
    )
}

/// `GET /{issuer}/password/reset?token=…`.
pub(super) async fn show_reset(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<LinkQuery>,
    headers: HeaderMap,
) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    let lang = i18n::page_language(&headers, query.picked.lang.as_deref(), &[], None);
    match state.core.check_reset_link(&issuer, &query.token).await {
        Ok(Ok(_)) => reset_page(&issuer, lang, &query.token, None),
        Ok(Err(refusal)) => link_refused(&issuer, lang, refusal),
        Err(error) => crate::problem::core_error(&error),
    }
}

/// `POST /{issuer}/password/reset`.
pub(super) async fn reset(
    State(state): State<AppState>,
    PostedForm { issuer, lang, form }: PostedForm,
) -> Response {
    let token = form.get("token").unwrap_or("");
    match state
        .core
        .reset_password(&issuer, token, form.get("password").unwrap_or(""))
        .await
    {
        Ok(Ok(_)) => notice_page(
            &issuer,
            lang,
            StatusCode::OK,
            Notice {
                state: "password_reset",
                heading: "reset-done-heading",
                message: "reset-done-text",
                link: Some((format!("/{}/account", issuer.slug), "reset-done-account")),
                ..Notice::default()
            },
        ),
        Ok(Err(ResetRefusal::Password(problem))) => {
            reset_page(&issuer, lang, token, Some(&problem))
        }
        Ok(Err(ResetRefusal::Link(refusal))) => link_refused(&issuer, lang, refusal),
        Err(error) => crate::problem::core_error(&error),
    }
}
