//! Issuer slugs: the first path segment of every issuer URL, `{public_url}/{slug}`.

use std::fmt;

/// Path segments that belong to the installation, not to an issuer (DESIGN.md §2). `system`
/// is the built-in issuer's own slug: it parses, but no one may create it.
const RESERVED: &[&str] = &[
    "core",
    "system",
    "healthz",
    "readyz",
    "metrics",
    "static",
    "admin",
    "api",
    "oauth",
    "well-known",
];

/// Why a slug was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Shorter than 2 or longer than 63 characters.
    #[error("a slug is 2 to 63 characters long")]
    Length,
    /// Contains something other than `a-z`, `0-9` and `-`.
    #[error("a slug contains only lowercase letters, digits and `-`")]
    Characters,
    /// Starts or ends with `-`.
    #[error("a slug does not start or end with `-`")]
    Hyphen,
}

/// A valid issuer slug: 2–63 of `a-z`, `0-9`, `-`, not starting or ending with `-` (so that it
/// is also a valid DNS label, for custom domains later).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IssuerSlug(String);

impl IssuerSlug {
    /// The built-in issuer whose clients call the Core API.
    pub fn system() -> Self {
        Self("system".to_owned())
    }

    /// The issuer created on first start for the quickstart.
    pub fn default_issuer() -> Self {
        Self("default".to_owned())
    }

    /// Parses a slug. Reserved names parse (they name built-in things); creating an issuer
    /// must also check [`IssuerSlug::is_reserved`].
    pub fn parse(text: &str) -> Result<Self, SlugError> {
        if !(2..=63).contains(&text.len()) {
            return Err(SlugError::Length);
        }
        if !text
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        {
            return Err(SlugError::Characters);
        }
        if text.starts_with('-') || text.ends_with('-') {
            return Err(SlugError::Hyphen);
        }
        Ok(Self(text.to_owned()))
    }

    /// Whether the slug is one of the installation's own path segments.
    pub fn is_reserved(&self) -> bool {
        RESERVED.contains(&self.0.as_str())
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IssuerSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slugs_follow_the_documented_rules() {
        assert!(IssuerSlug::parse("acme-prod").is_ok());
        assert!(IssuerSlug::parse("a1").is_ok());
        assert_eq!(IssuerSlug::parse("a"), Err(SlugError::Length));
        assert_eq!(IssuerSlug::parse(&"a".repeat(64)), Err(SlugError::Length));
        assert!(IssuerSlug::parse(&"a".repeat(63)).is_ok());
        assert_eq!(IssuerSlug::parse("Acme"), Err(SlugError::Characters));
        assert_eq!(IssuerSlug::parse("ac_me"), Err(SlugError::Characters));
        assert_eq!(IssuerSlug::parse("-acme"), Err(SlugError::Hyphen));
        assert!(IssuerSlug::parse("core").unwrap().is_reserved());
        assert!(IssuerSlug::system().is_reserved());
        assert!(!IssuerSlug::default_issuer().is_reserved());
    }

    proptest! {
        #[test]
        fn a_parsed_slug_satisfies_every_rule(text in "\\PC{0,70}") {
            if let Ok(slug) = IssuerSlug::parse(&text) {
                let s = slug.as_str();
                prop_assert!((2..=63).contains(&s.len()));
                prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
                prop_assert!(!s.starts_with('-') && !s.ends_with('-'));
            }
        }
    }
}
