//! The hosted pages' languages: message catalogs and the choice of a page's language.
//!
//! Every word a page shows comes from a Fluent catalog (`locales/<lang>.ftl`, compiled into
//! the binary), one per language of [`tessera_core::UI_LOCALES`]. English is the reference: a
//! test checks that every catalog parses and has every English message, so a page never shows
//! a message id. Templates call `t("message-id", name=value, …)`; the page's language is the
//! template variable `lang`. An issuer's branding may replace any message's wording per
//! language ([`wording`]; in templates, the variable `overrides`).
//!
//! A page's language is, in order: the one the user picked on the page (the `lang` query
//! parameter, remembered in a cookie, as Keycloak's `kc_locale`), then
//! [`tessera_core::page_language`]: the request's `ui_locales`, the user's locale, the
//! browser's `Accept-Language`.

use std::sync::LazyLock;

use axum::http::{HeaderMap, header};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use minijinja::value::Kwargs;
use tessera_core::UI_LOCALES;
use tessera_oauth::locale::{accepted_languages, lookup};

/// The cookie that remembers the language the user picked on a page.
pub(crate) const LANGUAGE_COOKIE: &str = "tessera_lang";

/// Each language's catalog source, in the order of [`UI_LOCALES`].
const SOURCES: &[(&str, &str)] = &[
    ("en", include_str!("../../locales/en.ftl")),
    ("de", include_str!("../../locales/de.ftl")),
    ("es", include_str!("../../locales/es.ftl")),
];

struct Catalog {
    lang: &'static str,
    bundle: FluentBundle<FluentResource>,
}

static CATALOGS: LazyLock<Vec<Catalog>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .filter_map(|(lang, source)| match catalog(lang, source) {
            Ok(catalog) => Some(catalog),
            Err(error) => {
                // Compiled in; `every_catalog_parses_and_has_every_message` renders each.
                tracing::error!(lang, %error, "a message catalog does not load");
                None
            }
        })
        .collect()
});

fn catalog(lang: &'static str, source: &str) -> Result<Catalog, String> {
    let id = lang.parse().map_err(|e| format!("{e}"))?;
    let resource =
        FluentResource::try_new(source.to_owned()).map_err(|(_, errors)| format!("{errors:?}"))?;
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Unicode isolation marks protect right-to-left text; every language here is written left
    // to right, and the marks would only get in the way of copying text from a page.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .map_err(|errors| format!("{errors:?}"))?;
    Ok(Catalog { lang, bundle })
}

/// The message `id` in `lang` (or in English, if that catalog lacks it), with `args`. An id
/// no catalog has comes back as itself, and is logged.
pub(crate) fn text(lang: &str, id: &str, args: Option<&FluentArgs<'_>>) -> String {
    let catalog = |lang: &str| CATALOGS.iter().find(|c| c.lang == lang);
    let message = [catalog(lang), catalog(UI_LOCALES[0])]
        .into_iter()
        .flatten()
        .find_map(|c| {
            let pattern = c.bundle.get_message(id)?.value()?;
            let mut errors = Vec::new();
            let text = c.bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::warn!(
                    id,
                    lang = c.lang,
                    ?errors,
                    "a message was formatted with errors"
                );
            }
            Some(text.into_owned())
        });
    message.unwrap_or_else(|| {
        tracing::error!(id, lang, "no catalog has this message");
        id.to_owned()
    })
}

/// The message `id` as `issuer` words it in `lang`: its own text if its branding sets one
/// (used as given), else the catalog's.
pub(crate) fn wording(
    issuer: &tessera_model::Issuer,
    lang: &str,
    id: &str,
    args: Option<&FluentArgs<'_>>,
) -> String {
    match issuer.settings.branding().text(lang, id) {
        Some(own) => own.to_owned(),
        None => text(lang, id, args),
    }
}

/// Whether the catalogs have a message with this id (an issuer may replace its wording).
pub(crate) fn has_message(id: &str) -> bool {
    CATALOGS
        .iter()
        .find(|c| c.lang == UI_LOCALES[0])
        .is_some_and(|c| c.bundle.has_message(id))
}

/// The templates' `t(id, name=value, …)`: the message in the page's language (`lang`).
pub(crate) fn translate(
    state: &minijinja::State<'_, '_>,
    id: &str,
    kwargs: Kwargs,
) -> Result<String, minijinja::Error> {
    let lang = state
        .lookup("lang")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| UI_LOCALES[0].to_owned());
    // The issuer's own wording of this message, if its branding sets one.
    if let Some(own) = state
        .lookup("overrides")
        .and_then(|texts| texts.get_attr(id).ok())
        .filter(|text| !text.is_undefined() && !text.is_none())
    {
        return Ok(own.to_string());
    }
    let mut args = FluentArgs::new();
    for name in kwargs.args() {
        let value: minijinja::Value = kwargs.get(name)?;
        args.set(name.to_owned(), value.to_string());
    }
    Ok(text(&lang, id, Some(&args)))
}

/// The language of a page. `picked` is the `lang` query parameter, if the user just chose one;
/// otherwise the language cookie speaks for an earlier choice. Then the request's
/// `ui_locales`, the user's own locale and `Accept-Language` ([`tessera_core::page_language`]).
pub(crate) fn page_language(
    headers: &HeaderMap,
    picked: Option<&str>,
    ui_locales: &[String],
    user_locale: Option<&str>,
) -> &'static str {
    let chosen = picked.or_else(|| super::cookie(headers, LANGUAGE_COOKIE));
    if let Some(lang) = chosen.and_then(|c| lookup(&[c], UI_LOCALES)) {
        return lang;
    }
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(accepted_languages)
        .unwrap_or_default();
    tessera_core::page_language(ui_locales, user_locale, &accepted)
}

/// The languages a page offers to switch to: (tag, name in that language).
pub(crate) fn languages() -> Vec<(&'static str, String)> {
    UI_LOCALES
        .iter()
        .map(|lang| (*lang, text(lang, "language-name", None)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::http::HeaderValue;
    use fluent_syntax::ast;

    use super::*;

    fn ids(source: &str) -> BTreeSet<String> {
        let resource = FluentResource::try_new(source.to_owned()).expect("parses");
        resource
            .entries()
            .filter_map(|entry| match entry {
                ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_catalog_parses_and_has_every_message() {
        assert_eq!(
            SOURCES.iter().map(|(lang, _)| *lang).collect::<Vec<_>>(),
            UI_LOCALES,
            "one catalog per language discovery advertises"
        );
        assert_eq!(CATALOGS.len(), SOURCES.len(), "every catalog loads");
        let english = ids(SOURCES[0].1);
        for (lang, source) in SOURCES {
            let theirs = ids(source);
            let missing: Vec<_> = english.difference(&theirs).collect();
            let extra: Vec<_> = theirs.difference(&english).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
            assert!(extra.is_empty(), "{lang} has unknown {extra:?}");
            for id in &english {
                let mut args = FluentArgs::new();
                args.set("issuer", "Acme");
                args.set("client", "App");
                args.set("minutes", 3);
                args.set("seconds", 30);
                args.set("time", "2026-11-24 15:20 UTC");
                for (name, value) in [("min", 8), ("max", 1024), ("hours", 24)] {
                    args.set(name, value);
                }
                args.set("name", "Ada");
                let shown = text(lang, id, Some(&args));
                assert!(!shown.is_empty() && shown != *id, "{lang}: {id}");
                assert!(
                    !shown.contains("{$") && !shown.contains('{'),
                    "{lang}: {id}"
                );
            }
        }
    }

    #[test]
    fn messages_come_in_the_page_language_with_their_arguments() {
        let mut args = FluentArgs::new();
        args.set("client", "Acme Portal");
        assert_eq!(
            text("de", "login-heading", Some(&args)),
            "Melden Sie sich an, um zu Acme Portal zu gelangen"
        );
        assert_eq!(
            text("es", "login-heading", Some(&args)),
            "Inicia sesión para continuar en Acme Portal"
        );
        assert_eq!(text("xx", "login-submit", None), "Sign in");
        // Plural forms follow each language's rules.
        for (lang, seconds, expected) in [
            ("en", 1, "Wait a second before"),
            ("en", 8, "Wait 8 seconds before"),
            ("de", 1, "Warten Sie eine Sekunde,"),
            ("es", 2, "Espera 2 segundos antes"),
        ] {
            let mut args = FluentArgs::new();
            args.set("seconds", seconds);
            let shown = text(lang, "login-refused-wait-seconds", Some(&args));
            assert!(shown.contains(expected), "{lang}: {shown}");
        }
        assert_eq!(text("de", "no-such-message", None), "no-such-message");
    }

    #[test]
    fn a_picked_language_wins_then_ui_locales_then_the_user_then_the_browser() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr;q=1, es;q=0.8"),
        );
        let none: &[String] = &[];
        let german = ["de-AT".to_owned()];
        assert_eq!(page_language(&headers, None, none, None), "es");
        assert_eq!(page_language(&headers, None, none, Some("de")), "de");
        assert_eq!(page_language(&headers, None, &german, Some("en")), "de");
        assert_eq!(page_language(&headers, Some("en"), &german, None), "en");
        // An unsupported pick falls through to the rest.
        assert_eq!(page_language(&headers, Some("fr"), none, None), "es");
        headers.insert(header::COOKIE, HeaderValue::from_static("tessera_lang=de"));
        assert_eq!(page_language(&headers, None, none, None), "de");
        assert_eq!(page_language(&headers, Some("es"), none, None), "es");
        assert_eq!(page_language(&HeaderMap::new(), None, none, None), "en");
    }
}
