//! Back-channel logout URIs as a client registers them (OpenID Connect Back-Channel Logout
//! 1.0 §2.2): where the OP POSTs a logout token when a session the client took part in ends.
//!
//! The rules are the redirect URI rules of [`RedirectUri`] (absolute, no fragment, no user
//! information, exact characters; `https`, or `http` only to a loopback host), narrowed to
//! the web: a private-use scheme names an app on a device, which the OP cannot call. §2.2
//! allows a port, a path and a query, and forbids a fragment.
//!
//! A loopback URI passes here, as it does for redirect URIs; whether the OP may *call* it is
//! the installation's server-side request forgery policy, applied by the delivery worker when
//! it connects (`webhooks.allow_private_targets`, [`refused_address`](crate::refused_address)).

use crate::{RedirectUri, RedirectUriError};

/// Why a back-channel logout URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackchannelLogoutUriError {
    /// A rule shared with redirect URIs.
    #[error(transparent)]
    Uri(#[from] RedirectUriError),
    /// A private-use scheme: the OP calls this URI itself, over HTTP.
    #[error("a back-channel logout URI uses https (or http to a loopback host)")]
    NotHttp,
}

/// A back-channel logout URI that satisfies the policy of this module, kept as registered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BackchannelLogoutUri(String);

impl BackchannelLogoutUri {
    /// Parses a back-channel logout URI as a client registers it.
    pub fn parse(text: &str) -> Result<Self, BackchannelLogoutUriError> {
        let uri = RedirectUri::parse(text)?;
        let scheme = text
            .split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("https" | "http")) {
            return Err(BackchannelLogoutUriError::NotHttp);
        }
        Ok(Self(uri.as_str().to_owned()))
    }

    /// The URI exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URI, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn web_uris_are_accepted_as_written() {
        for ok in [
            "https://rp.example.com/backchannel_logout",
            "https://rp.example.com:8443/logout?tenant=a",
            "http://localhost:3000/logout",
            "http://127.0.0.1:9000/bcl",
            "http://[::1]/bcl",
        ] {
            assert_eq!(BackchannelLogoutUri::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn fragments_plain_http_and_app_schemes_are_refused() {
        // §2.2: "MUST NOT include any fragment component".
        assert_eq!(
            BackchannelLogoutUri::parse("https://rp.example.com/logout#x"),
            Err(RedirectUriError::Fragment.into())
        );
        assert_eq!(
            BackchannelLogoutUri::parse("http://rp.example.com/logout"),
            Err(RedirectUriError::InsecureHttp.into())
        );
        assert_eq!(
            BackchannelLogoutUri::parse("com.example.app:/logout"),
            Err(BackchannelLogoutUriError::NotHttp)
        );
        assert!(BackchannelLogoutUri::parse("/relative").is_err());
        assert!(BackchannelLogoutUri::parse("javascript:alert(1)").is_err());
        assert!(BackchannelLogoutUri::parse("https://user@rp.example.com/").is_err());
    }

    proptest! {
        #[test]
        fn the_parser_never_panics_and_accepts_only_web_uris(text in "\\PC{0,80}") {
            if let Ok(uri) = BackchannelLogoutUri::parse(&text) {
                prop_assert_eq!(uri.as_str(), text.as_str());
                let lower = text.to_ascii_lowercase();
                prop_assert!(lower.starts_with("https://") || lower.starts_with("http://"));
                prop_assert!(!text.contains('#'));
            }
        }
    }
}
