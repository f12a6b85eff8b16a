//! The account portal's pages, at `/{issuer}/account`: the signed-in user's own account,
//! without any application in between (issue 5). The portal's logic is
//! [`tessera_core::account`]; these handlers turn its answers into pages.
//!
//! Every form posts and answers with a 303 back to the portal (post/redirect/get), so
//! reloading a page never sends a form again; what a form did is said by the `done` query
//! parameter, which names a message and carries nothing else.

use axum::extract::{Path, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use tessera_core::account::{AccountError, AccountView, PasswordChange, ProfileChange};
use tessera_core::authorize::{LoginRefusal, SignInAttempt};
use tessera_model::{Issuer, UnixTime};
use time::macros::format_description;

use super::{
    BROWSER_COOKIE, Picked, PostedForm, SESSION_COOKIE, cookie, error_page, frame, i18n, mail,
    page, refusal_code, refusal_text, remember_language, see_other, set_cookie,
};
use crate::AppState;
use crate::conventions::passed;
use crate::oauth::issuer;

/// What the portal says a form did: the `done` query parameter and the catalog message for
/// it. Only these are shown; any other value is ignored.
const NOTICES: &[(&str, &str)] = &[
    ("session-ended", "account-notice-session-ended"),
    ("others-ended", "account-notice-others-ended"),
    ("password-changed", "account-notice-password-changed"),
    ("profile-saved", "account-notice-profile-saved"),
];

/// The portal's query: a language picked, and what a form just did.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PortalQuery {
    #[serde(flatten)]
    picked: Picked,
    done: Option<String>,
}

fn portal_url(issuer: &Issuer) -> String {
    format!("/{}/account", issuer.slug)
}

/// The portal's language: as every page's, with the signed-in user's own `locale` after the
/// language picked on the page.
fn portal_language(
    headers: &HeaderMap,
    picked: Option<&str>,
    account: Option<&AccountView>,
) -> &'static str {
    let locale = account.and_then(|view| view.user.locale.as_deref());
    i18n::page_language(headers, picked, &[], locale)
}

/// `GET /{issuer}/account`: the account of the signed-in browser, or the portal's sign-in form.
pub(super) async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<PortalQuery>,
    headers: HeaderMap,
) -> Response {
    let issuer = passed!(issuer(&state, &slug).await);
    let account = state
        .core
        .account(&issuer, cookie(&headers, SESSION_COOKIE))
        .await;
    let lang = portal_language(
        &headers,
        query.picked.lang.as_deref(),
        account.as_ref().ok(),
    );
    let mut response = match account {
        Ok(view) => account_page(&issuer, lang, &view, query.done.as_deref(), None),
        Err(AccountError::SignedOut) => sign_in_page(&state, &issuer, lang, &headers, None),
        Err(error) => account_error(&issuer, lang, &error),
    };
    remember_language(&mut response, &state, &issuer, &query.picked, lang);
    response
}

/// `POST /{issuer}/account/sign-in`: signs in to the portal, then back to it.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    PostedForm { issuer, lang, form }: PostedForm,
) -> Response {
    let typed = form.get("username").unwrap_or_default();
    let outcome = state
        .core
        .account_sign_in(
            &issuer,
            cookie(&headers, BROWSER_COOKIE),
            SignInAttempt {
                csrf: form.get("csrf").unwrap_or(""),
                username: typed,
                password: form.get("password").unwrap_or(""),
                address: state.client_address(&headers, &extensions),
            },
        )
        .await;
    match outcome {
        Ok(Ok(session_secret)) => {
            let mut response = see_other(&portal_url(&issuer));
            set_cookie(
                &mut response,
                &state,
                &issuer,
                SESSION_COOKIE,
                Some(session_secret.expose()),
            );
            response
        }
        Ok(Err(refused)) => {
            if let Some(link) = refused.mail {
                mail::send_later(&state, &issuer, lang, link);
            }
            sign_in_page(
                &state,
                &issuer,
                lang,
                &headers,
                Some((refused.refusal, typed)),
            )
        }
        Err(error) => account_error(&issuer, lang, &error),
    }
}

/// `POST /{issuer}/account/sessions/{id}/end`: signs out one of the user's sessions (this
/// browser's too, which signs it out of the portal and removes its session cookie).
pub(super) async fn end_session(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    PostedForm { issuer, lang, form }: PostedForm,
) -> Response {
    match state
        .core
        .account_end_session(
            &issuer,
            cookie(&headers, SESSION_COOKIE),
            form.get("csrf").unwrap_or(""),
            &id,
        )
        .await
    {
        Ok(own) => {
            let mut response = see_other(&format!("{}?done=session-ended", portal_url(&issuer)));
            if own {
                set_cookie(&mut response, &state, &issuer, SESSION_COOKIE, None);
            }
            response
        }
        Err(error) => account_error(&issuer, lang, &error),
    }
}

/// `POST /{issuer}/account/sessions/end-others`: signs out every other session of the user.
pub(super) async fn end_other_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    PostedForm { issuer, lang, form }: PostedForm,
) -> Response {
    match state
        .core
        .account_end_other_sessions(
            &issuer,
            cookie(&headers, SESSION_COOKIE),
            form.get("csrf").unwrap_or(""),
        )
        .await
    {
        Ok(_) => see_other(&format!("{}?done=others-ended", portal_url(&issuer))),
        Err(error) => account_error(&issuer, lang, &error),
    }
}

/// The portal's sign-in form; sets the browser cookie its CSRF token is bound to, when the
/// browser had none.
fn sign_in_page(
    state: &AppState,
    issuer: &Issuer,
    lang: &'static str,
    headers: &HeaderMap,
    retry: Option<(LoginRefusal, &str)>,
) -> Response {
    let form = state
        .core
        .account_sign_in_form(cookie(headers, BROWSER_COOKIE));
    let base = portal_url(issuer);
    let mut response = page(
        StatusCode::OK,
        "account_sign_in.html",
        context! {
            ..frame(issuer, lang, Some(&base)),
            ..context! {
                csrf => form.csrf,
                action => format!("{base}/sign-in"),
                username => retry.map(|(_, typed)| typed).unwrap_or_default(),
                refusal => retry.map(|(refusal, _)| refusal_code(refusal)),
                refusal_text => retry.map(|(refusal, _)| refusal_text(issuer, lang, refusal)),
            },
        },
    );
    if let Some(secret) = form.new_browser_secret {
        set_cookie(
            &mut response,
            state,
            issuer,
            BROWSER_COOKIE,
            Some(secret.expose()),
        );
    }
    response
}

/// The signed-in portal: who the user is and their active sessions.
fn account_page(
    issuer: &Issuer,
    lang: &'static str,
    view: &AccountView,
    done: Option<&str>,
    problem: Option<FormProblem>,
) -> Response {
    let policy = issuer.settings.password_policy();
    let base = portal_url(issuer);
    let languages = i18n::languages();
    let sessions: Vec<_> = view
        .sessions
        .iter()
        .map(|s| {
            let id = s.session.id.to_string();
            context! {
                current => s.session.id == view.current.id,
                signed_in => when(s.session.auth_time),
                end_action => format!("{base}/sessions/{id}/end"),
                id => id,
            }
        })
        .collect();
    page(
        StatusCode::OK,
        "account.html",
        context! {
            ..frame(issuer, lang, Some(&base)),
            ..context! {
                csrf => view.csrf,
                name => view.user.name,
                picture => view.user.picture,
                // Shown only from https (the CSP's `img-src`; http would be mixed content).
                picture_src => view.user.picture.as_deref().filter(|p| p.starts_with("https://")),
                locale => view.user.locale,
                locale_unlisted => view.user.locale.as_deref().is_some_and(|locale| {
                    !languages.iter().any(|(tag, _)| *tag == locale)
                }),
                email => view.user.email.as_ref().map(|e| e.as_str()),
                username => view.user.username,
                profile_action => format!("{base}/profile"),
                name_max => tessera_core::users::NAME_MAX_CHARS,
                picture_max => tessera_core::users::PICTURE_MAX_CHARS,
                locales => languages,
                sessions => sessions,
                end_others_action => format!("{base}/sessions/end-others"),
                password_action => format!("{base}/password"),
                min_length => policy.min_length(),
                max_length => policy.max_length(),
                delete_action => issuer.settings.allow_account_deletion().then(|| format!("{base}/delete")),
                problem_form => problem.as_ref().map(|p| p.form),
                problem_code => problem.as_ref().map(|p| p.code),
                problem_text => problem.map(|p| p.text),
                notice => done.and_then(|done| {
                    NOTICES.iter().find(|(name, _)| *name == done).map(|(_, id)| *id)
                }),
            },
        },
    )
}

/// What went wrong with one of the portal's forms: which (`password` or `delete`), a
/// machine-readable name, and words.
struct FormProblem {
    form: &'static str,
    code: &'static str,
    text: String,
}

impl FormProblem {
    /// The problem an [`AccountError`] describes, for `form`; `None` for errors that are
    /// not about what was typed.
    fn of(issuer: &Issuer, lang: &str, form: &'static str, error: &AccountError) -> Option<Self> {
        let (code, text) = match error {
            AccountError::CurrentPassword(LoginRefusal::Credentials) => (
                "current_password",
                i18n::wording(issuer, lang, "account-current-password-wrong", None),
            ),
            AccountError::CurrentPassword(refusal) => {
                (refusal_code(*refusal), refusal_text(issuer, lang, *refusal))
            }
            AccountError::NewPassword(problem) => (
                super::signup::password_problem_code(problem),
                super::signup::password_problem_text(issuer, lang, problem),
            ),
            AccountError::Profile { field, .. } => {
                // The profile form's three fields; any other is not something typed here.
                let (code, id) = match *field {
                    "name" => ("name_too_long", "account-profile-name-too-long"),
                    "picture" => ("picture_invalid", "account-profile-picture-invalid"),
                    "locale" => ("locale_invalid", "account-profile-locale-invalid"),
                    _ => return None,
                };
                let max = match *field {
                    "name" => tessera_core::users::NAME_MAX_CHARS,
                    _ => tessera_core::users::PICTURE_MAX_CHARS,
                };
                let mut args = fluent_bundle::FluentArgs::new();
                args.set("max", max);
                (code, i18n::wording(issuer, lang, id, Some(&args)))
            }
            _ => return None,
        };
        Some(Self { form, code, text })
    }
}

/// `POST /{issuer}/account/profile`: saves the profile (name, picture, language).
pub(super) async fn update_profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    PostedForm { issuer, form, .. }: PostedForm,
) -> Response {
    let session = cookie(&headers, SESSION_COOKIE);
    let change = ProfileChange {
        csrf: form.get("csrf").unwrap_or(""),
        name: form.get("name").unwrap_or(""),
        picture: form.get("picture").unwrap_or(""),
        locale: form.get("locale").unwrap_or(""),
    };
    match state
        .core
        .account_update_profile(&issuer, session, change)
        .await
    {
        Ok(_) => see_other(&format!("{}?done=profile-saved", portal_url(&issuer))),
        Err(error) => {
            let refused = FormRefusal {
                form: "profile",
                error: &error,
                typed: Some(change),
            };
            form_refused(&state, &issuer, &headers, session, refused).await
        }
    }
}

/// `POST /{issuer}/account/password`: changes the password.
pub(super) async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    PostedForm { issuer, form, .. }: PostedForm,
) -> Response {
    let session = cookie(&headers, SESSION_COOKIE);
    let outcome = state
        .core
        .account_change_password(
            &issuer,
            session,
            PasswordChange {
                csrf: form.get("csrf").unwrap_or(""),
                current: form.get("current_password").unwrap_or(""),
                new: form.get("new_password").unwrap_or(""),
                address: state.client_address(&headers, &extensions),
            },
        )
        .await;
    match outcome {
        Ok(()) => see_other(&format!("{}?done=password-changed", portal_url(&issuer))),
        Err(error) => {
            let refused = FormRefusal::at("password", &error);
            form_refused(&state, &issuer, &headers, session, refused).await
        }
    }
}

/// `POST /{issuer}/account/delete`: deletes the account, then says so.
pub(super) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    PostedForm { issuer, lang, form }: PostedForm,
) -> Response {
    let session = cookie(&headers, SESSION_COOKIE);
    let outcome = state
        .core
        .account_delete(
            &issuer,
            session,
            form.get("csrf").unwrap_or(""),
            form.get("password").unwrap_or(""),
            state.client_address(&headers, &extensions),
        )
        .await;
    match outcome {
        Ok(()) => {
            let mut response = super::signup::notice_page(
                &issuer,
                lang,
                StatusCode::OK,
                super::signup::Notice {
                    state: "account_deleted",
                    heading: "account-deleted-heading",
                    message: "account-deleted-text",
                    ..Default::default()
                },
            );
            set_cookie(&mut response, &state, &issuer, SESSION_COOKIE, None);
            response
        }
        Err(error) => {
            let refused = FormRefusal::at("delete", &error);
            form_refused(&state, &issuer, &headers, session, refused).await
        }
    }
}

/// A portal form that was not carried out: which, why, and the profile as typed (to show it
/// again rather than what is stored).
struct FormRefusal<'a> {
    form: &'static str,
    error: &'a AccountError,
    typed: Option<ProfileChange<'a>>,
}

impl<'a> FormRefusal<'a> {
    fn at(form: &'static str, error: &'a AccountError) -> Self {
        Self {
            form,
            error,
            typed: None,
        }
    }
}

/// A portal form refused for what was typed: the portal again, the problem shown at the form
/// with what was typed in it (422); any other refusal as [`account_error`] answers it.
async fn form_refused(
    state: &AppState,
    issuer: &Issuer,
    headers: &HeaderMap,
    session: Option<&str>,
    refused: FormRefusal<'_>,
) -> Response {
    let FormRefusal { form, error, typed } = refused;
    let account = match error {
        AccountError::CurrentPassword(_)
        | AccountError::NewPassword(_)
        | AccountError::Profile { .. } => state.core.account(issuer, session).await,
        other => {
            let lang = portal_language(headers, None, None);
            return account_error(issuer, lang, other);
        }
    };
    let lang = portal_language(headers, None, account.as_ref().ok());
    match (account, FormProblem::of(issuer, lang, form, error)) {
        (Ok(mut view), Some(problem)) => {
            if let Some(typed) = typed {
                let value = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
                view.user.name = value(typed.name);
                view.user.picture = value(typed.picture);
                view.user.locale = value(typed.locale);
            }
            let mut response = account_page(issuer, lang, &view, None, Some(problem));
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        (Err(error), _) => account_error(issuer, lang, &error),
        (Ok(_), None) => account_error(issuer, lang, error),
    }
}

/// A moment as the portal shows it: date and time in UTC, the same in every language.
fn when(time: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(time.0)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn account_error(issuer: &Issuer, lang: &'static str, error: &AccountError) -> Response {
    let (status, code, message) = match error {
        // Signed out since the page was shown: the portal shows its sign-in form.
        AccountError::SignedOut => return see_other(&portal_url(issuer)),
        AccountError::Forbidden => (
            StatusCode::FORBIDDEN,
            "form_forbidden",
            "error-account-forbidden",
        ),
        AccountError::NotFound => (
            StatusCode::NOT_FOUND,
            "not_found",
            "error-account-not-found",
        ),
        AccountError::DeletionNotAllowed => (
            StatusCode::FORBIDDEN,
            "deletion_not_allowed",
            "error-account-deletion-not-allowed",
        ),
        // Shown at their forms by `form_refused`; reaching here, they are shown alone.
        AccountError::CurrentPassword(_)
        | AccountError::NewPassword(_)
        | AccountError::Profile { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_password",
            "error-form-unreadable",
        ),
        AccountError::Core(cause) => return crate::problem::core_error(cause),
    };
    error_page(issuer, lang, status, code, message, None)
}
