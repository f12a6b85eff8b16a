//! Delivering the authorization response to the client's redirect URI.
//!
//! The response carries `code` and `state` on success (RFC 6749 §4.1.2), `error`,
//! `error_description` and `state` on failure (§4.1.2.1), and always `iss` (RFC 9207 §2), so
//! a client talking to several authorization servers can tell which one answered and is not
//! fooled by a mix-up attack. It reaches the client in one of two ways:
//!
//! - `query`: the parameters are appended to the redirect URI's query, keeping the query the
//!   client registered (RFC 6749 §3.1.2: "MAY include an application/x-www-form-urlencoded
//!   formatted … query component, which MUST be retained when adding additional query
//!   parameters").
//! - `form_post`: an HTML page whose form POSTs the parameters to the redirect URI (OAuth 2.0
//!   Form Post Response Mode §2), so they never appear in a URL, a log or a `Referer`. Every
//!   value is HTML-escaped, since `state` and the redirect URI come from the client. The page
//!   submits itself with one fixed inline script, which [`form_post_content_security_policy`]
//!   allows by hash and nothing else; a `<noscript>` button covers browsers without script.
//!
//! The caller sends either answer with `Cache-Control: no-store`; this module only builds it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::authorize::ResponseMode;
use crate::error::{OAuthError, wire_safe};

/// The parameters of a successful authorization response: `code`, `state` when the request
/// had one (RFC 6749 §4.1.2), and `iss` (RFC 9207 §2).
pub fn success_params(
    code: &str,
    state: Option<&str>,
    issuer: &str,
) -> Vec<(&'static str, String)> {
    let mut params = vec![("code", code.to_owned())];
    push_state_and_issuer(&mut params, state, issuer);
    params
}

/// The parameters of an error response: `error`, `error_description` when there is one,
/// `state` when the request had one (RFC 6749 §4.1.2.1), and `iss` (RFC 9207 §2).
pub fn error_params(
    error: &OAuthError,
    state: Option<&str>,
    issuer: &str,
) -> Vec<(&'static str, String)> {
    let mut params = vec![("error", error.code.as_str().to_owned())];
    // The description field is public, so it is made wire-safe again rather than trusted
    // (RFC 6749 §4.1.2.1 restricts it as §5.2 does).
    let description = wire_safe(&error.description);
    if !description.is_empty() {
        params.push(("error_description", description));
    }
    push_state_and_issuer(&mut params, state, issuer);
    params
}

fn push_state_and_issuer(
    params: &mut Vec<(&'static str, String)>,
    state: Option<&str>,
    issuer: &str,
) {
    // RFC 6749 §4.1.2: "REQUIRED if the "state" parameter was present in the client
    // authorization request. The exact value received from the client."
    if let Some(state) = state {
        params.push(("state", state.to_owned()));
    }
    params.push(("iss", issuer.to_owned()));
}

/// How the authorization response reaches the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationDelivery {
    /// Redirect the user agent here (`303 See Other` or `302 Found`).
    Redirect(String),
    /// Answer `200 OK` with this HTML document, with `Cache-Control: no-store` and
    /// [`form_post_content_security_policy`].
    FormPost(String),
}

/// Builds the authorization response for `redirect_uri` (already checked against the
/// client's registration) in the requested mode.
pub fn deliver(
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&'static str, String)],
) -> AuthorizationDelivery {
    match mode {
        ResponseMode::Query => AuthorizationDelivery::Redirect(append_query(
            redirect_uri,
            params.iter().map(|(name, value)| (*name, value.as_str())),
        )),
        ResponseMode::FormPost => {
            AuthorizationDelivery::FormPost(form_post_page(redirect_uri, params))
        }
    }
}

/// Appends form-urlencoded parameters to a URI's query, keeping its query and placing them
/// before any fragment (RFC 6749 §3.1.2; a registered redirect URI has no fragment, but one
/// is not allowed to swallow the parameters either). The URI is otherwise left as it is, so
/// the client is called back at exactly the URI it registered.
pub(crate) fn append_query<'a>(
    uri: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let (before_fragment, fragment) = match uri.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (uri, None),
    };
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        serializer.append_pair(name, value);
    }
    let added = serializer.finish();

    let mut out = String::with_capacity(uri.len() + added.len() + 2);
    out.push_str(before_fragment);
    if !added.is_empty() {
        match before_fragment.split_once('?') {
            None => out.push('?'),
            Some((_, "")) => {}
            Some((_, query)) if query.ends_with('&') => {}
            Some(_) => out.push('&'),
        }
        out.push_str(&added);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The script that submits the form page; fixed, so the page's CSP can allow it by hash.
const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

/// The `Content-Security-Policy` for a [`AuthorizationDelivery::FormPost`] page: nothing may
/// load, and the only script that may run is the page's own submit call, allowed by its
/// SHA-256 (CSP Level 3 §2.3.1). `form-action` is left open because the form's target is the
/// client's redirect URI.
pub fn form_post_content_security_policy() -> String {
    let hash = STANDARD.encode(Sha256::digest(FORM_POST_SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// The form post page (OAuth 2.0 Form Post Response Mode §2), every value HTML-escaped.
fn form_post_page(redirect_uri: &str, params: &[(&'static str, String)]) -> String {
    let mut inputs = String::new();
    for (name, value) in params {
        inputs.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape_html(name),
            escape_html(value)
        ));
    }
    format!(
        "<!DOCTYPE html>\n\
         <html lang=\"en\">\n\
         <head><meta charset=\"utf-8\"><title>Continue to the application</title></head>\n\
         <body>\n\
         <form method=\"post\" action=\"{action}\">\n\
         {inputs}\
         <noscript><button type=\"submit\">Continue</button></noscript>\n\
         </form>\n\
         <script>{FORM_POST_SCRIPT}</script>\n\
         </body>\n\
         </html>\n",
        action = escape_html(redirect_uri),
    )
}

/// Escapes text for an HTML attribute value or text node: `&`, `<`, `>`, `"` and `'`.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example/acme";

    fn redirect(delivery: AuthorizationDelivery) -> String {
        match delivery {
            AuthorizationDelivery::Redirect(uri) => uri,
            AuthorizationDelivery::FormPost(page) => panic!("expected a redirect, got {page}"),
        }
    }

    fn page(delivery: AuthorizationDelivery) -> String {
        match delivery {
            AuthorizationDelivery::FormPost(page) => page,
            AuthorizationDelivery::Redirect(uri) => panic!("expected a page, got {uri}"),
        }
    }

    #[test]
    fn a_success_carries_code_state_and_iss() {
        // RFC 6749 §4.1.2, RFC 9207 §2.
        assert_eq!(
            success_params("SplxlOBeZQQYbYS6WxSbIA", Some("xyz"), ISSUER),
            [
                ("code", "SplxlOBeZQQYbYS6WxSbIA".to_owned()),
                ("state", "xyz".to_owned()),
                ("iss", ISSUER.to_owned()),
            ]
        );
    }

    #[test]
    fn state_is_left_out_when_the_request_had_none() {
        let params = success_params("c", None, ISSUER);
        assert!(params.iter().all(|(name, _)| *name != "state"));
        let params = error_params(&OAuthError::access_denied(""), None, ISSUER);
        assert_eq!(
            params,
            [
                ("error", "access_denied".to_owned()),
                ("iss", ISSUER.to_owned())
            ]
        );
    }

    #[test]
    fn an_error_carries_error_description_state_and_iss() {
        // RFC 6749 §4.1.2.1, RFC 9207 §2.
        let error = OAuthError::login_required("the user must log in");
        assert_eq!(
            error_params(&error, Some("af0ifjsldkj"), ISSUER),
            [
                ("error", "login_required".to_owned()),
                ("error_description", "the user must log in".to_owned()),
                ("state", "af0ifjsldkj".to_owned()),
                ("iss", ISSUER.to_owned()),
            ]
        );
    }

    #[test]
    fn a_tampered_description_is_made_wire_safe_again() {
        let mut error = OAuthError::access_denied("ok");
        error.description = "<b>\"x\"</b>".into();
        let params = error_params(&error, None, ISSUER);
        assert_eq!(params[1], ("error_description", "<b>?x?</b>".to_owned()));
    }

    #[test]
    fn query_delivery_appends_the_parameters_form_urlencoded() {
        let params = success_params("a b&c", Some("s=1/2"), ISSUER);
        let uri = redirect(deliver(
            "https://client.example/cb",
            ResponseMode::Query,
            &params,
        ));
        assert_eq!(
            uri,
            "https://client.example/cb?code=a+b%26c&state=s%3D1%2F2&iss=https%3A%2F%2Fid.example%2Facme"
        );
    }

    #[test]
    fn query_delivery_keeps_the_registered_query() {
        // RFC 6749 §3.1.2: the query component "MUST be retained".
        let params = success_params("c", None, ISSUER);
        let with = |uri: &str| redirect(deliver(uri, ResponseMode::Query, &params));
        let added = "code=c&iss=https%3A%2F%2Fid.example%2Facme";
        assert_eq!(
            with("https://c.example/cb?tenant=7"),
            format!("https://c.example/cb?tenant=7&{added}")
        );
        assert_eq!(
            with("https://c.example/cb?"),
            format!("https://c.example/cb?{added}")
        );
        assert_eq!(
            with("https://c.example/cb?a=1&"),
            format!("https://c.example/cb?a=1&{added}")
        );
        assert_eq!(
            with("com.example.app:/cb"),
            format!("com.example.app:/cb?{added}")
        );
    }

    #[test]
    fn query_delivery_places_parameters_before_a_fragment() {
        let params = success_params("c", None, ISSUER);
        let uri = redirect(deliver(
            "https://c.example/cb#frag",
            ResponseMode::Query,
            &params,
        ));
        assert!(uri.starts_with("https://c.example/cb?code=c&"), "{uri}");
        assert!(uri.ends_with("#frag"), "{uri}");
    }

    #[test]
    fn form_post_delivery_is_a_self_submitting_html_form() {
        // OAuth 2.0 Form Post Response Mode §2.
        let params = success_params("SplxlOBeZQQYbYS6WxSbIA", Some("xyz"), ISSUER);
        let page = page(deliver(
            "https://client.example/cb",
            ResponseMode::FormPost,
            &params,
        ));
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<form method=\"post\" action=\"https://client.example/cb\">"));
        assert!(
            page.contains("<input type=\"hidden\" name=\"code\" value=\"SplxlOBeZQQYbYS6WxSbIA\">")
        );
        assert!(page.contains("<input type=\"hidden\" name=\"state\" value=\"xyz\">"));
        assert!(
            page.contains("<input type=\"hidden\" name=\"iss\" value=\"https://id.example/acme\">")
        );
        assert!(page.contains("<noscript><button type=\"submit\">Continue</button></noscript>"));
        assert!(page.contains(&format!("<script>{FORM_POST_SCRIPT}</script>")));
    }

    #[test]
    fn form_post_values_are_html_escaped() {
        let params = success_params("c", Some("\"><script>alert('x')</script>&"), ISSUER);
        let page = page(deliver(
            "https://client.example/cb?a=1&b=\"'<>",
            ResponseMode::FormPost,
            &params,
        ));
        assert!(page.contains(
            "value=\"&quot;&gt;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;\""
        ));
        assert!(
            page.contains("action=\"https://client.example/cb?a=1&amp;b=&quot;&#x27;&lt;&gt;\"")
        );
        assert_eq!(page.matches("<script>").count(), 1);
    }

    #[test]
    fn the_form_post_policy_allows_only_the_submit_script() {
        let policy = form_post_content_security_policy();
        assert!(
            policy.starts_with("default-src 'none'; script-src 'sha256-"),
            "{policy}"
        );
        // SHA-256 of "document.forms[0].submit();", base64.
        let hash = STANDARD.encode(Sha256::digest(b"document.forms[0].submit();"));
        assert!(policy.contains(&hash));
        assert!(!policy.contains("unsafe-inline"));
    }
}
