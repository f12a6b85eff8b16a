//! The mails of the self-service pages, composed in the language of the page that caused
//! them (from the same catalogs, with the issuer's wording) and sent off the request path.
//!
//! A mail is sent by a task of its own, so that the page's answer neither waits for the mail
//! server nor, by its timing, tells whether a mail went out (see [`tessera_core::signup`]).
//! A mail that cannot be sent is logged with its kind and issuer, never with its body: the
//! body holds a single-use link.

use fluent_bundle::FluentArgs;
use minijinja::context;
use tessera_core::mail::OutgoingMail;
use tessera_core::signup::{LinkMail, MailKind, RESET_LINK_LIFETIME, VERIFICATION_LINK_LIFETIME};
use tessera_model::Issuer;

use super::{TEMPLATES, i18n};
use crate::AppState;

/// The mail for `link`, in `lang`, with links under `issuer_url` (`Core::issuer_url`).
pub(crate) fn compose(
    issuer_url: &str,
    issuer: &Issuer,
    lang: &'static str,
    link: &LinkMail,
) -> OutgoingMail {
    let text = |id: &str, args: Option<&FluentArgs<'_>>| i18n::wording(issuer, lang, id, args);
    let mut args = FluentArgs::new();
    args.set("issuer", issuer.display_name.clone());
    let (subject, intro, url, action) = match link.kind {
        MailKind::VerifyEmail => {
            args.set("hours", VERIFICATION_LINK_LIFETIME / 3600);
            (
                "mail-verify-subject",
                "mail-verify-text",
                format!(
                    "{issuer_url}/verify-email?token={}&lang={lang}",
                    secret(link)
                ),
                "mail-verify-action",
            )
        }
        MailKind::ResetPassword => {
            args.set("minutes", RESET_LINK_LIFETIME / 60);
            (
                "mail-reset-subject",
                "mail-reset-text",
                format!(
                    "{issuer_url}/password/reset?token={}&lang={lang}",
                    secret(link)
                ),
                "mail-reset-action",
            )
        }
        MailKind::AlreadyRegistered => (
            "mail-registered-subject",
            "mail-registered-text",
            format!("{issuer_url}/password/forgot?lang={lang}"),
            "mail-registered-action",
        ),
    };
    let greeting = match &link.name {
        Some(name) => {
            let mut named = FluentArgs::new();
            named.set("name", name.clone());
            text("mail-greeting", Some(&named))
        }
        None => text("mail-greeting-anonymous", None),
    };
    let intro = text(intro, Some(&args));
    let ignore = text("mail-ignore", None);
    let plain = format!(
        "{greeting}\n\n{intro}\n\n{url}\n\n{ignore}\n\n{}\n",
        issuer.display_name
    );
    let html = TEMPLATES
        .get_template("mail.html")
        .and_then(|t| {
            t.render(context! {
                lang => lang, greeting => greeting, intro => intro, url => url,
                action => text(action, None), ignore => ignore,
                issuer_name => issuer.display_name,
            })
        })
        .map_err(|error| tracing::error!(%error, "the mail template failed to render"))
        .ok();
    OutgoingMail {
        to: link.to.as_str().to_owned(),
        sender_name: issuer.display_name.clone(),
        subject: text(subject, Some(&args)),
        text: plain,
        html,
    }
}

/// The link's secret, for its URL (URL-safe base64, so it needs no escaping).
fn secret(link: &LinkMail) -> &str {
    link.secret.as_ref().map(|s| s.expose()).unwrap_or_default()
}

/// Composes the mail for `link` and sends it from a task of its own.
pub(crate) fn send_later(state: &AppState, issuer: &Issuer, lang: &'static str, link: LinkMail) {
    let mail = compose(&state.core.issuer_url(issuer), issuer, lang, &link);
    let mailer = state.mailer().clone();
    let (kind, issuer) = (link.kind, issuer.slug.to_string());
    tokio::spawn(async move {
        if let Err(error) = mailer.send(&mail).await {
            tracing::warn!(%error, ?kind, issuer, "a mail could not be sent");
        }
    });
}
