//! Bearer tokens at a protected resource (RFC 6750).
//!
//! [`bearer_token`] finds the access token a request presents; whether it is valid is
//! `tessera-core`'s question. Policy:
//!
//! - Two of RFC 6750's three methods are offered: the `Authorization: Bearer` header (§2.1)
//!   and the `access_token` form body parameter (§2.2). The URI query (§2.3) is not: a token
//!   in a URL ends up in logs, history and `Referer` headers (§5.3: "Don't pass bearer tokens
//!   in page URLs"). The caller hands over the form only for a form-encoded body of a
//!   non-GET request, as §2.2 requires.
//! - A request that uses more than one method is `invalid_request` (§2: "Clients MUST NOT use
//!   more than one method to transmit the token in each request").
//! - A header with another scheme carries no bearer token: the request "attempted using an
//!   unsupported authentication method", which §3.1 treats like no authentication at all.
//! - A `Bearer` header is `auth-scheme 1*SP token68` (§2.1), the scheme case-insensitive
//!   (RFC 7235 §2.1); anything else after the scheme is `invalid_request`.
//!
//! [`www_authenticate`] builds the §3 challenge that goes with a 401 or 403.

use crate::error::{OAuthError, wire_safe};
use crate::form::Form;
use crate::scope::Scope;

/// The access token of a protected-resource request: the `Authorization: Bearer` header
/// (RFC 6750 §2.1) or the `access_token` parameter of a form body (§2.2); never the query
/// (§2.3 is not offered). `Ok(None)` when no bearer token is presented at all; a token sent
/// by both methods is `invalid_request` (§2: "MUST NOT use more than one method"), and so is a
/// malformed `Bearer` header.
pub fn bearer_token(
    authorization: Option<&str>,
    form: Option<&Form>,
) -> Result<Option<String>, OAuthError> {
    let from_header = authorization
        .map(parse_bearer_header)
        .transpose()?
        .flatten();
    let from_body = form.and_then(|form| form.get("access_token"));
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "the access token was sent both in the Authorization header and in the body",
        )),
        (Some(token), None) => Ok(Some(token)),
        (None, Some(token)) => Ok(Some(token.to_owned())),
        (None, None) => Ok(None),
    }
}

/// Reads an `Authorization` header: `Ok(None)` for another scheme (RFC 6750 §3.1), the token
/// for `Bearer <token68>`, `invalid_request` for a malformed `Bearer` header.
fn parse_bearer_header(header: &str) -> Result<Option<String>, OAuthError> {
    let malformed = || OAuthError::invalid_request("the Bearer Authorization header is malformed");
    // RFC 7230 §3.2.4: surrounding whitespace is not part of the value.
    let header = header.trim_matches([' ', '\t']);
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    if !is_token68(token) || token.len() > Form::MAX_PARAMETER_BYTES {
        return Err(malformed());
    }
    Ok(Some(token.to_owned()))
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// The `WWW-Authenticate` challenge (RFC 6750 §3): `Bearer realm="…"`, plus `error` and
/// `error_description` when given, every value a quoted-string.
///
/// With no error, the challenge says only that a bearer token is needed, as §3.1 asks for a
/// request that carried no authentication.
pub fn www_authenticate(realm: &str, error: Option<&OAuthError>) -> String {
    www_authenticate_with_scope(realm, error, None)
}

/// [`www_authenticate`], plus the `scope` attribute naming the scope the resource requires
/// (RFC 6750 §3), for an `insufficient_scope` answer. An empty scope is left out.
pub fn www_authenticate_with_scope(
    realm: &str,
    error: Option<&OAuthError>,
    scope: Option<&Scope>,
) -> String {
    let mut challenge = format!("Bearer realm={}", quoted(realm));
    if let Some(error) = error {
        challenge.push_str(&format!(", error={}", quoted(error.code.as_str())));
        // §3: error_description uses RFC 6749 §5.2's character set.
        let description = wire_safe(&error.description);
        if !description.is_empty() {
            challenge.push_str(&format!(", error_description={}", quoted(&description)));
        }
    }
    if let Some(scope) = scope.filter(|scope| !scope.is_empty()) {
        challenge.push_str(&format!(", scope={}", quoted(&scope.to_string())));
    }
    challenge
}

/// An RFC 7230 §3.2.6 quoted-string: `"` and `\` are backslash-escaped, and anything that is
/// not printable ASCII (a CR or LF would end the header) becomes `?`.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn form(body: &str) -> Form {
        Form::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn the_token_is_read_from_the_bearer_header() {
        // RFC 6750 §2.1.
        assert_eq!(
            bearer_token(Some("Bearer mF_9.B5f-4.1JqM"), None),
            Ok(Some("mF_9.B5f-4.1JqM".to_owned()))
        );
        assert_eq!(
            bearer_token(Some("Bearer abc+/def=="), None),
            Ok(Some("abc+/def==".to_owned()))
        );
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_spaces_around_are_ignored() {
        // RFC 7235 §2.1.
        for header in ["bearer t", "BEARER t", "Bearer   t", " Bearer t\t"] {
            assert_eq!(
                bearer_token(Some(header), None),
                Ok(Some("t".to_owned())),
                "{header:?}"
            );
        }
    }

    #[test]
    fn the_token_is_read_from_the_form_body() {
        // RFC 6750 §2.2.
        assert_eq!(
            bearer_token(None, Some(&form("access_token=mF_9.B5f-4.1JqM&x=1"))),
            Ok(Some("mF_9.B5f-4.1JqM".to_owned()))
        );
    }

    #[test]
    fn no_token_at_all_is_none() {
        // RFC 6750 §3.1: the caller answers with a challenge and no error code.
        assert_eq!(bearer_token(None, None), Ok(None));
        assert_eq!(bearer_token(None, Some(&form("x=1"))), Ok(None));
    }

    #[test]
    fn another_authentication_scheme_is_no_bearer_token() {
        // RFC 6750 §3.1: an unsupported authentication method is treated as none.
        assert_eq!(bearer_token(Some("Basic aWQ6c2VjcmV0"), None), Ok(None));
        assert_eq!(bearer_token(Some("Bearerx t"), None), Ok(None));
        assert_eq!(bearer_token(Some(""), None), Ok(None));
    }

    #[test]
    fn two_methods_in_one_request_are_invalid_request() {
        // RFC 6750 §2: "Clients MUST NOT use more than one method".
        let error = bearer_token(Some("Bearer a"), Some(&form("access_token=b"))).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_malformed_bearer_header_is_invalid_request() {
        // RFC 6750 §2.1: the token is a b64token; §3.1: malformed is invalid_request.
        for header in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer \"a\"",
            "Bearer ===",
            "Bearer a=b",
            "Bearer é",
        ] {
            let error = bearer_token(Some(header), None).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{header:?}");
        }
    }

    #[test]
    fn an_overlong_bearer_header_is_invalid_request() {
        let header = format!("Bearer {}", "a".repeat(Form::MAX_PARAMETER_BYTES + 1));
        assert!(bearer_token(Some(&header), None).is_err());
    }

    #[test]
    fn the_challenge_without_an_error_names_only_the_realm() {
        // RFC 6750 §3.1: no error code when the request had no authentication.
        assert_eq!(
            www_authenticate("https://id.example/acme", None),
            "Bearer realm=\"https://id.example/acme\""
        );
    }

    #[test]
    fn the_challenge_carries_error_and_description() {
        // RFC 6750 §3.
        let error = OAuthError::invalid_token("The access token expired");
        assert_eq!(
            www_authenticate("example", Some(&error)),
            "Bearer realm=\"example\", error=\"invalid_token\", \
             error_description=\"The access token expired\""
        );
        let quiet = OAuthError::invalid_token("");
        assert_eq!(
            www_authenticate("example", Some(&quiet)),
            "Bearer realm=\"example\", error=\"invalid_token\""
        );
    }

    #[test]
    fn the_challenge_can_name_the_required_scope() {
        let error = OAuthError::insufficient_scope("more scope is needed");
        let scope = Scope::parse("openid profile").unwrap();
        assert_eq!(
            www_authenticate_with_scope("example", Some(&error), Some(&scope)),
            "Bearer realm=\"example\", error=\"insufficient_scope\", \
             error_description=\"more scope is needed\", scope=\"openid profile\""
        );
        assert_eq!(
            www_authenticate_with_scope("example", None, Some(&Scope::empty())),
            "Bearer realm=\"example\""
        );
    }

    #[test]
    fn challenge_values_are_quote_escaped_and_cannot_break_the_header() {
        assert_eq!(
            www_authenticate("a\"b\\c\r\nSet-Cookie: x", None),
            "Bearer realm=\"a\\\"b\\\\c??Set-Cookie: x\""
        );
        let mut error = OAuthError::invalid_token("x");
        error.description = "\"\r\n".into();
        let challenge = www_authenticate("r", Some(&error));
        assert!(
            !challenge.contains('\n') && !challenge.contains('\r'),
            "{challenge}"
        );
        assert!(
            challenge.ends_with("error_description=\"???\""),
            "{challenge}"
        );
    }
}
