//! The `scope` parameter.
//!
//! RFC 6749 §3.3: "The value of the scope parameter is expressed as a list of space-delimited,
//! case-sensitive strings", with
//!
//! ```text
//! scope       = scope-token *( SP scope-token )
//! scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//! ```
//!
//! A [`Scope`] is that list parsed once (STYLE.md habit 3): every token is in the grammar's
//! character set and no token appears twice. Tokens keep the order of their first appearance,
//! so the scope we send back reads like the one we received. The grammar allows exactly one
//! space between tokens, so leading, trailing or doubled spaces are refused rather than
//! guessed at.
//!
//! A scope may be empty: a client registered with no scopes, a token that carries none, or a
//! request narrowed to nothing are all the empty set. The empty string parses to it; a
//! request never carries one, because an empty `scope` parameter is an omitted one
//! (RFC 6749 §3.1). An empty scope is never sent: its wire form would be the empty string.

use std::collections::HashSet;
use std::fmt;

use crate::error::OAuthError;

/// A duplicate-free, order-preserving set of scope tokens (RFC 6749 §3.3); possibly empty.
///
/// Two scopes are equal when they hold the same tokens, in any order.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    tokens: Vec<String>,
}

impl Scope {
    /// The empty scope.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses a `scope` value; the empty string is the empty scope. Every refusal is
    /// `invalid_scope`.
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        if text.is_empty() {
            return Ok(Self::empty());
        }
        Self::from_tokens(text.split(' '))
    }

    /// Builds a scope from separate tokens (for example a client's registered scopes), with
    /// the same rules as [`Scope::parse`]. Repeated tokens are kept once; no tokens make the
    /// empty scope.
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, OAuthError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut seen: HashSet<String> = HashSet::new();
        let mut kept = Vec::new();
        for token in tokens {
            let token = token.as_ref();
            if token.is_empty() {
                // RFC 6749 §3.3: tokens are separated by exactly one space, and a token has at
                // least one character.
                return Err(OAuthError::invalid_scope(
                    "the scope has an empty token (leading, trailing or repeated spaces)",
                ));
            }
            if !token.chars().all(is_scope_char) {
                return Err(OAuthError::invalid_scope(
                    "a scope token has a character outside RFC 6749 section 3.3",
                ));
            }
            if !seen.contains(token) {
                seen.insert(token.to_owned());
                kept.push(token.to_owned());
            }
        }
        Ok(Self { tokens: kept })
    }

    /// The tokens, in the order they first appeared.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(String::as_str)
    }

    /// How many distinct tokens the scope holds.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the scope holds no token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Whether the scope holds `token` (compared case-sensitively, RFC 6749 §3.3).
    pub fn contains(&self, token: &str) -> bool {
        self.tokens.iter().any(|held| held == token)
    }

    /// Whether every token of this scope is also in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.iter().all(|token| other.contains(token))
    }

    /// The tokens of this scope that are also in `other`, in this scope's order.
    pub fn intersection(&self, other: &Scope) -> Scope {
        self.filter(|token| other.contains(token))
    }

    /// The tokens of this scope for which `keep` answers `true`, in this scope's order. This
    /// is how a requested scope is narrowed to what a client or resource server allows.
    pub fn filter(&self, mut keep: impl FnMut(&str) -> bool) -> Scope {
        let tokens = self
            .iter()
            .filter(|token| keep(token))
            .map(str::to_owned)
            .collect();
        Scope { tokens }
    }
}

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        // Tokens are distinct, so equal lengths and inclusion one way mean the same set.
        self.len() == other.len() && self.is_subset_of(other)
    }
}

impl Eq for Scope {}

/// The wire form: tokens joined by single spaces (RFC 6749 §3.3).
impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut tokens = self.iter();
        if let Some(first) = tokens.next() {
            f.write_str(first)?;
        }
        for token in tokens {
            f.write_str(" ")?;
            f.write_str(token)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Scope {
    type Err = OAuthError;

    fn from_str(text: &str) -> Result<Self, OAuthError> {
        Self::parse(text)
    }
}

/// Serialized as its wire form, so a stored request reads like the one received.
impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Deserialized through [`Scope::parse`], so a stored scope is held to the same grammar as a
/// received one.
impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Whether `c` may appear in a scope token: `%x21 / %x23-5B / %x5D-7E` (RFC 6749 §3.3),
/// printable ASCII without space, `"` and `\`.
fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn scope(text: &str) -> Scope {
        Scope::parse(text).unwrap()
    }

    #[test]
    fn a_scope_is_a_space_delimited_list_of_tokens() {
        // RFC 6749 §3.3.
        let parsed = scope("openid profile https://api.example/read");
        assert_eq!(
            parsed.iter().collect::<Vec<_>>(),
            ["openid", "profile", "https://api.example/read"]
        );
        assert_eq!(parsed.len(), 3);
    }

    #[test]
    fn repeated_tokens_are_kept_once_in_first_appearance_order() {
        let parsed = scope("b a b c a");
        assert_eq!(parsed.to_string(), "b a c");
    }

    #[test]
    fn tokens_are_case_sensitive() {
        // RFC 6749 §3.3: "case-sensitive strings".
        let parsed = scope("Read read");
        assert_eq!(parsed.len(), 2);
        assert!(parsed.contains("Read"));
        assert!(!scope("read").contains("READ"));
    }

    #[test]
    fn empty_tokens_from_extra_spaces_are_refused() {
        // RFC 6749 §3.3: exactly one SP between tokens.
        for text in ["read  write", " read", "read ", " ", "  "] {
            let error = Scope::parse(text).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidScope, "{text:?}");
        }
    }

    #[test]
    fn characters_outside_the_scope_token_grammar_are_refused() {
        // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
        for text in [
            "a\"b",
            "a\\b",
            "a\tb",
            "caf\u{e9}",
            "a\u{7f}",
            "read\nwrite",
        ] {
            let error = Scope::parse(text).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidScope, "{text:?}");
        }
        assert!(Scope::parse("!#[]~").is_ok());
    }

    #[test]
    fn a_scope_is_a_subset_of_a_wider_one() {
        assert!(scope("read").is_subset_of(&scope("write read")));
        assert!(scope("read write").is_subset_of(&scope("write read")));
        assert!(!scope("read admin").is_subset_of(&scope("write read")));
    }

    #[test]
    fn the_intersection_keeps_only_allowed_tokens_in_the_requested_order() {
        let requested = scope("admin write read");
        let allowed = scope("read write");
        assert_eq!(requested.intersection(&allowed).to_string(), "write read");
        assert!(requested.intersection(&scope("other")).is_empty());
    }

    #[test]
    fn a_filter_narrows_a_scope_by_any_rule() {
        let registered = ["read", "write"];
        let narrowed = scope("read admin").filter(|token| registered.contains(&token));
        assert_eq!(narrowed, scope("read"));
        assert!(scope("admin").filter(|_| false).is_empty());
    }

    #[test]
    fn scopes_with_the_same_tokens_are_equal_in_any_order() {
        assert_eq!(scope("a b"), scope("b a"));
        assert_ne!(scope("a b"), scope("a"));
        assert_ne!(scope("a"), scope("a b"));
    }

    #[test]
    fn a_scope_can_be_built_from_registered_tokens() {
        let built = Scope::from_tokens(vec![
            "read".to_owned(),
            "write".to_owned(),
            "read".to_owned(),
        ])
        .unwrap();
        assert_eq!(built.to_string(), "read write");
        let none: Vec<String> = Vec::new();
        assert!(Scope::from_tokens(&none).unwrap().is_empty());
        assert_eq!(
            Scope::from_tokens(["a b"]).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }

    #[test]
    fn the_empty_string_is_the_empty_scope() {
        let empty = scope("");
        assert!(empty.is_empty());
        assert_eq!(empty, Scope::empty());
        assert_eq!(empty.to_string(), "");
        assert!(empty.is_subset_of(&scope("read")));
        assert!(!scope("read").is_subset_of(&empty));
    }

    #[test]
    fn serde_uses_the_wire_form_and_the_grammar() {
        let parsed = scope("openid email");
        let json = serde_json::to_value(&parsed).unwrap();
        assert_eq!(json, serde_json::json!("openid email"));
        assert_eq!(serde_json::from_value::<Scope>(json).unwrap(), parsed);
        assert!(serde_json::from_value::<Scope>(serde_json::json!("a  b")).is_err());
        assert!(
            serde_json::from_value::<Scope>(serde_json::json!(""))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn the_wire_form_round_trips() {
        let parsed: Scope = "openid email".parse().unwrap();
        assert_eq!(parsed.to_string(), "openid email");
        assert_eq!(scope(&parsed.to_string()), parsed);
    }
}
