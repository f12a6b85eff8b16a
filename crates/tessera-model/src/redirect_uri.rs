//! Redirect URIs as a client registers them.
//!
//! A redirect URI is where the authorization server sends the user's browser with a code, so a
//! lax rule here is an open redirector or a stolen code. The policy, checked once at
//! registration (STYLE.md habit 3):
//!
//! - an absolute URI with a scheme and no fragment (RFC 6749 §3.1.2), written only in the
//!   characters RFC 3986 §2 allows, at most 2048 characters;
//! - `https` to any host (RFC 9700 §2.1);
//! - `http` only to a loopback host, `localhost`, `127.0.0.1` or `[::1]`, for native apps
//!   (RFC 8252 §7.3); these are the only URIs whose port may vary at request time;
//! - a private-use scheme for native apps in reverse domain name form, such as
//!   `com.example.app:/callback` (RFC 8252 §7.1);
//! - no user information (`https://user@host`), which only serves to deceive a reader;
//! - no wildcard `*`: redirect URIs are compared by exact string matching (RFC 9700 §4.1.3),
//!   never by pattern;
//! - no `javascript:`, `data:`, `file:` or any other scheme outside the three kinds above.
//!
//! The URI is kept exactly as registered, not normalized: exact matching compares the string
//! the client sends with the string it registered, so normalizing one side would let through a
//! URI that nobody registered.

use std::fmt;

use url::{Host, Url};

/// The longest redirect URI accepted, in characters.
const MAX_LEN: usize = 2048;

/// Schemes that execute, read local data or otherwise never name a client's endpoint. They are
/// refused like every scheme outside the allowed kinds; naming them gives a clearer reason.
const DANGEROUS_SCHEMES: &[&str] = &[
    "javascript",
    "vbscript",
    "data",
    "file",
    "blob",
    "filesystem",
    "about",
    "view-source",
];

/// The hosts an `http` redirect URI may name (RFC 8252 §7.3), as written.
const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// Why a redirect URI was refused. The text names the rule for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// The empty string.
    #[error("a redirect URI cannot be empty")]
    Empty,
    /// Longer than 2048 characters.
    #[error("a redirect URI is at most 2048 characters long")]
    TooLong,
    /// A character outside RFC 3986 §2 (space, control, non-ASCII, `\`, `<`…) or a `%` that
    /// does not start a percent-encoded octet.
    #[error(
        "a redirect URI contains only the characters RFC 3986 allows: percent-encode spaces, \
         non-ASCII and other characters as %XX"
    )]
    Characters,
    /// Contains `*`.
    #[error("a redirect URI is matched exactly and cannot contain the wildcard `*`")]
    Wildcard,
    /// Contains `#` (RFC 6749 §3.1.2).
    #[error("a redirect URI cannot contain a fragment (`#…`)")]
    Fragment,
    /// Not an absolute URI (RFC 6749 §3.1.2).
    #[error(
        "a redirect URI is an absolute URI with a scheme, such as \
         https://app.example.com/callback"
    )]
    NotAbsolute,
    /// Contains user information.
    #[error("a redirect URI cannot contain user information (`user@` before the host)")]
    UserInfo,
    /// A scheme that is never a client's endpoint, such as `javascript`.
    #[error("the `{0}` scheme is not allowed in a redirect URI")]
    DangerousScheme(String),
    /// `http` to a host that is not loopback.
    #[error(
        "`http` is allowed only for loopback redirect URIs (localhost, 127.0.0.1 or [::1]); \
         use https"
    )]
    InsecureHttp,
    /// An `http` or `https` URI written without `//host`.
    #[error("an http or https redirect URI names its host, as in https://app.example.com/callback")]
    MissingHost,
    /// A private-use scheme with nothing after it.
    #[error("a private-use redirect URI has a path, as in com.example.app:/callback")]
    MissingPath,
    /// A scheme that is neither `https`, `http` nor a reverse-domain private-use scheme.
    #[error(
        "the `{0}` scheme is not allowed: use https, http to a loopback host, or a private-use \
         scheme in reverse domain name form such as com.example.app"
    )]
    UnsupportedScheme(String),
}

/// A redirect URI that satisfies the registration policy of this module, kept exactly as
/// registered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri {
    original: String,
    loopback: bool,
}

/// The kind of scheme a redirect URI uses.
enum SchemeKind {
    Https,
    Http,
    PrivateUse,
}

impl RedirectUri {
    /// Parses a redirect URI as a client registers it.
    pub fn parse(text: &str) -> Result<Self, RedirectUriError> {
        if text.is_empty() {
            return Err(RedirectUriError::Empty);
        }
        if text.len() > MAX_LEN {
            return Err(RedirectUriError::TooLong);
        }
        // RFC 3986 §2: anything else must be percent-encoded. This also refuses what a URL
        // parser would silently drop or rewrite (white space, tabs, backslashes), so the string
        // kept is the string that was checked.
        if !text.bytes().all(is_uri_byte) || !has_valid_percent_encoding(text) {
            return Err(RedirectUriError::Characters);
        }
        if text.contains('*') {
            return Err(RedirectUriError::Wildcard);
        }
        // RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
        if text.contains('#') {
            return Err(RedirectUriError::Fragment);
        }
        let (scheme, rest) = split_scheme(text).ok_or(RedirectUriError::NotAbsolute)?;
        let scheme = scheme.to_ascii_lowercase();
        if DANGEROUS_SCHEMES.contains(&scheme.as_str()) {
            return Err(RedirectUriError::DangerousScheme(scheme));
        }
        let kind = match scheme.as_str() {
            "https" => SchemeKind::Https,
            "http" => SchemeKind::Http,
            // RFC 8252 §7.1: "a URI scheme based on a domain name under their control,
            // expressed in reverse order".
            _ if is_reverse_domain(&scheme) => SchemeKind::PrivateUse,
            _ => return Err(RedirectUriError::UnsupportedScheme(scheme)),
        };
        let url = Url::parse(text).map_err(|_| RedirectUriError::NotAbsolute)?;
        let authority = authority(rest);
        if !url.username().is_empty()
            || url.password().is_some()
            || authority.is_some_and(|a| a.contains('@'))
        {
            return Err(RedirectUriError::UserInfo);
        }
        let loopback = match kind {
            SchemeKind::Https => {
                // RFC 9700 §2.1: https to any host, but a host there must be.
                let host = authority.map(host_of).unwrap_or_default();
                if host.is_empty() || url.host().is_none() {
                    return Err(RedirectUriError::MissingHost);
                }
                false
            }
            SchemeKind::Http => {
                let host = authority.map(host_of).unwrap_or_default();
                if host.is_empty() {
                    return Err(RedirectUriError::MissingHost);
                }
                // RFC 8252 §7.3 (and RFC 9700 §2.1): plain http only never leaves the device.
                // The host is compared as written: `127.1` or `0x7f.0.0.1` also reach loopback
                // but would not match a request's URI exactly.
                let written_loopback = LOOPBACK_HOSTS
                    .iter()
                    .any(|allowed| host.eq_ignore_ascii_case(allowed));
                if !written_loopback || !is_loopback_host(&url) {
                    return Err(RedirectUriError::InsecureHttp);
                }
                true
            }
            SchemeKind::PrivateUse => {
                if rest.is_empty() {
                    return Err(RedirectUriError::MissingPath);
                }
                false
            }
        };
        Ok(Self {
            original: text.to_owned(),
            loopback,
        })
    }

    /// The URI exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// Whether this is an RFC 8252 §7.3 loopback redirect (`http` to `localhost`, `127.0.0.1`
    /// or `[::1]`), whose port a native app may choose at request time (RFC 9700 §4.1.3).
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl AsRef<str> for RedirectUri {
    fn as_ref(&self) -> &str {
        &self.original
    }
}

/// RFC 3986 §2: unreserved, reserved and `%`.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

/// RFC 3986 §2.1: `%` is always followed by two hexadecimal digits.
fn has_valid_percent_encoding(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// RFC 3986 §3.1: `scheme ":" rest`, with `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    let mut bytes = scheme.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    (first_ok && rest_ok).then_some((scheme, rest))
}

/// A scheme like `com.example.app`: at least two non-empty dot-separated labels.
fn is_reverse_domain(scheme: &str) -> bool {
    let labels: Vec<&str> = scheme.split('.').collect();
    labels.len() >= 2 && labels.iter().all(|label| !label.is_empty())
}

/// The authority as written (RFC 3986 §3.2), if the URI has one.
fn authority(rest: &str) -> Option<&str> {
    let after = rest.strip_prefix("//")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    Some(&after[..end])
}

/// The host of an authority without user information, as written, without its port.
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority
        .split_once(':')
        .map_or(authority, |(host, _port)| host)
}

/// Whether the parsed URL's host is loopback (a second opinion on the written host).
fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn refused(text: &str) -> RedirectUriError {
        RedirectUri::parse(text).expect_err(text)
    }

    #[test]
    fn https_uris_are_accepted_and_kept_exactly_as_written() {
        for text in [
            "https://app.example.com/callback",
            "https://app.example.com",
            "https://app.example.com:8443/cb?tenant=a&x=%20y",
            "HTTPS://App.Example.com/CB",
            "https://127.0.0.1/cb",
            "https://[2001:db8::1]/cb",
        ] {
            let uri = RedirectUri::parse(text).expect(text);
            assert_eq!(uri.as_str(), text);
            assert_eq!(uri.to_string(), text);
            assert!(!uri.is_loopback(), "{text}");
        }
    }

    #[test]
    fn http_is_accepted_only_for_loopback_hosts() {
        for text in [
            "http://localhost/cb",
            "http://localhost:8080/cb",
            "http://127.0.0.1:51004/oauth2redirect",
            "http://[::1]:3000/cb",
            "http://127.0.0.1",
        ] {
            let uri = RedirectUri::parse(text).expect(text);
            assert!(uri.is_loopback(), "{text}");
            assert_eq!(uri.as_str(), text);
        }
        for text in [
            "http://example.com/cb",
            "http://10.0.0.1/cb",
            "http://localhost.example.com/cb",
            "http://localhost./cb",
            "http://127.1/cb",
            "http://2130706433/cb",
            "http://[::ffff:127.0.0.1]/cb",
        ] {
            assert_eq!(refused(text), RedirectUriError::InsecureHttp, "{text}");
        }
    }

    #[test]
    fn private_use_schemes_must_be_reverse_domain_names() {
        for text in [
            "com.example.app:/callback",
            "com.example.app:/oauth2redirect/example-provider",
            "com.example.app://callback",
            "io.tessera.cli:/done",
        ] {
            let uri = RedirectUri::parse(text).expect(text);
            assert!(!uri.is_loopback());
            assert_eq!(uri.as_str(), text);
        }
        assert_eq!(
            refused("myapp:/callback"),
            RedirectUriError::UnsupportedScheme("myapp".to_owned())
        );
        assert_eq!(
            refused("com..app:/callback"),
            RedirectUriError::UnsupportedScheme("com..app".to_owned())
        );
        assert_eq!(
            refused("com.example.:/callback"),
            RedirectUriError::UnsupportedScheme("com.example.".to_owned())
        );
        assert_eq!(refused("com.example.app:"), RedirectUriError::MissingPath);
        assert_eq!(
            refused("ftp://example.com/"),
            RedirectUriError::UnsupportedScheme("ftp".to_owned())
        );
    }

    #[test]
    fn dangerous_schemes_are_refused_by_name() {
        for (text, scheme) in [
            ("javascript:alert(1)", "javascript"),
            ("JavaScript:alert(1)", "javascript"),
            ("data:text/html,hi", "data"),
            ("file:///etc/passwd", "file"),
            ("vbscript:msgbox", "vbscript"),
            ("about:blank", "about"),
        ] {
            assert_eq!(
                refused(text),
                RedirectUriError::DangerousScheme(scheme.to_owned()),
                "{text}"
            );
        }
    }

    #[test]
    fn fragments_are_refused() {
        // RFC 6749 §3.1.2.
        assert_eq!(
            refused("https://app.example.com/cb#x"),
            RedirectUriError::Fragment
        );
        assert_eq!(
            refused("https://app.example.com/cb#"),
            RedirectUriError::Fragment
        );
        assert_eq!(
            refused("com.example.app:/cb#frag"),
            RedirectUriError::Fragment
        );
    }

    #[test]
    fn relative_and_malformed_uris_are_refused() {
        for text in [
            "/callback",
            "app.example.com/cb",
            "//app.example.com/cb",
            "1https://a.b/",
        ] {
            assert_eq!(refused(text), RedirectUriError::NotAbsolute, "{text}");
        }
        assert_eq!(
            refused("https:app.example.com/cb"),
            RedirectUriError::MissingHost
        );
        assert_eq!(
            refused("https:/app.example.com/cb"),
            RedirectUriError::MissingHost
        );
        assert_eq!(refused("http:localhost/cb"), RedirectUriError::MissingHost);
        assert_eq!(refused("https://"), RedirectUriError::NotAbsolute);
        assert_eq!(
            refused("https://exa_mple.com:99999/"),
            RedirectUriError::NotAbsolute
        );
        assert_eq!(refused(""), RedirectUriError::Empty);
    }

    #[test]
    fn user_information_is_refused() {
        for text in [
            "https://user@app.example.com/cb",
            "https://user:pass@app.example.com/cb",
            "https://@app.example.com/cb",
            "http://evil.example@localhost/cb",
            "com.example.app://user@host/cb",
        ] {
            assert_eq!(refused(text), RedirectUriError::UserInfo, "{text}");
        }
        // An `@` after the authority is data, not user information.
        assert!(RedirectUri::parse("https://app.example.com/cb?email=a@b.c").is_ok());
    }

    #[test]
    fn wildcards_are_refused() {
        for text in [
            "https://*.example.com/cb",
            "https://app.example.com/*",
            "https://app.example.com/cb?x=*",
        ] {
            assert_eq!(refused(text), RedirectUriError::Wildcard, "{text}");
        }
    }

    #[test]
    fn characters_outside_rfc_3986_are_refused() {
        for text in [
            "https://app.example.com/c b",
            " https://app.example.com/cb",
            "https://app.example.com/cb\n",
            "https://app.example.com/c\tb",
            "https:\\\\evil.example.com/cb",
            "https://app.exämple.com/cb",
            "https://app.example.com/<script>",
            "https://app.example.com/cb%2",
            "https://app.example.com/cb%zz",
        ] {
            assert_eq!(refused(text), RedirectUriError::Characters, "{text:?}");
        }
    }

    #[test]
    fn uris_are_at_most_2048_characters_long() {
        let base = "https://app.example.com/";
        let longest = format!("{base}{}", "a".repeat(MAX_LEN - base.len()));
        assert!(RedirectUri::parse(&longest).is_ok());
        assert_eq!(refused(&format!("{longest}a")), RedirectUriError::TooLong);
    }

    #[test]
    fn errors_name_the_rule_for_a_person() {
        assert!(RedirectUriError::InsecureHttp.to_string().contains("https"));
        assert!(
            RedirectUriError::UnsupportedScheme("myapp".to_owned())
                .to_string()
                .contains("`myapp`")
        );
    }

    /// Invariants of an accepted URI, whatever the input.
    fn assert_policy(text: &str, uri: &RedirectUri) -> Result<(), TestCaseError> {
        prop_assert_eq!(uri.as_str(), text);
        prop_assert!(text.len() <= MAX_LEN);
        prop_assert!(!text.contains('#'), "no fragment: {}", text);
        prop_assert!(!text.contains('*'), "no wildcard: {}", text);
        let (scheme, _) = text.split_once(':').expect("a scheme");
        let scheme = scheme.to_ascii_lowercase();
        let allowed = scheme == "https"
            || (scheme == "http" && uri.is_loopback())
            || (scheme.contains('.') && !DANGEROUS_SCHEMES.contains(&scheme.as_str()));
        prop_assert!(allowed, "scheme allowed: {}", text);
        prop_assert_eq!(uri.is_loopback(), scheme == "http");
        Ok(())
    }

    proptest! {
        #[test]
        fn the_parser_never_panics_on_arbitrary_text(text in "\\PC{0,120}") {
            if let Ok(uri) = RedirectUri::parse(&text) {
                assert_policy(&text, &uri)?;
            }
        }

        #[test]
        fn the_parser_keeps_its_promises_on_uri_like_text(
            prefix in prop::sample::select(vec![
                "https://", "http://", "HTTP://", "http://localhost", "http://127.0.0.1:",
                "http://[::1]", "com.example.app:", "com.example.app://", "javascript:",
                "data:", "file://", "myapp:", "https:", "",
            ]),
            rest in "[a-zA-Z0-9.:/?#@*%&=\\[\\]_~-]{0,40}",
        ) {
            let text = format!("{prefix}{rest}");
            if let Ok(uri) = RedirectUri::parse(&text) {
                assert_policy(&text, &uri)?;
            }
        }
    }
}
