//! The token a client asks about (introspection, RFC 7662 §2.1) or wants revoked (revocation,
//! RFC 7009 §2.1).
//!
//! Both endpoints take the same two parameters: `token`, REQUIRED, and `token_type_hint`,
//! OPTIONAL. The hint only speeds up the lookup: the server searches every token type anyway
//! (RFC 7009 §2.1: "If the server is unable to locate the token using the given hint, it MUST
//! extend its search across all of its supported token types"). So a hint we do not know is
//! ignored rather than refused (RFC 7662 §2.1 and RFC 7009 §2.1 both let the server ignore
//! it); RFC 7009 §2.2.1's `unsupported_token_type` is about the token found, not the hint, and
//! is `tessera-core`'s answer.
//!
//! Client authentication is read separately by [`crate::client_auth`].

use std::fmt;

use crate::error::OAuthError;
use crate::form::Form;

/// The token of an introspection or revocation request. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenReference {
    /// The token, exactly as sent.
    pub token: String,
    /// Which kind of token the client says it is, when it says so with a value we know.
    pub hint: Option<TokenTypeHint>,
}

impl fmt::Debug for TokenReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenReference")
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

/// A `token_type_hint` value from the OAuth Token Type Hints registry (RFC 7009 §4.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

impl TokenTypeHint {
    /// The hint's value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

/// Reads `token` and `token_type_hint` (RFC 7662 §2.1, RFC 7009 §2.1). A missing `token` is
/// `invalid_request`; an unknown hint is ignored.
pub fn parse_token_reference(form: &Form) -> Result<TokenReference, OAuthError> {
    let token = form.require("token")?.to_owned();
    let hint = match form.get("token_type_hint") {
        Some("access_token") => Some(TokenTypeHint::AccessToken),
        Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
        // RFC 7662 §2.1 / RFC 7009 §2.1: the server MAY ignore the hint.
        _ => None,
    };
    Ok(TokenReference { token, hint })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn parse(body: &str) -> Result<TokenReference, OAuthError> {
        parse_token_reference(&Form::parse(body.as_bytes()).unwrap())
    }

    #[test]
    fn the_token_and_its_hint_are_read() {
        // RFC 7009 §2.1 example.
        let reference = parse("token=45ghiukldjahdnhzdauz&token_type_hint=refresh_token").unwrap();
        assert_eq!(
            reference,
            TokenReference {
                token: "45ghiukldjahdnhzdauz".into(),
                hint: Some(TokenTypeHint::RefreshToken),
            }
        );
        let reference = parse("token=t&token_type_hint=access_token").unwrap();
        assert_eq!(reference.hint, Some(TokenTypeHint::AccessToken));
        assert_eq!(TokenTypeHint::AccessToken.as_str(), "access_token");
    }

    #[test]
    fn the_hint_is_optional() {
        assert_eq!(parse("token=t").unwrap().hint, None);
    }

    #[test]
    fn an_unknown_hint_is_ignored() {
        // RFC 7662 §2.1, RFC 7009 §2.1.
        for hint in ["id_token", "Access_Token", "urn%3Aexample"] {
            let reference = parse(&format!("token=t&token_type_hint={hint}")).unwrap();
            assert_eq!(reference.hint, None, "{hint}");
        }
    }

    #[test]
    fn a_missing_token_is_invalid_request() {
        let error = parse("token_type_hint=access_token").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the token parameter is missing");
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let shown = format!("{:?}", parse("token=secret-token").unwrap());
        assert!(!shown.contains("secret"), "{shown}");
    }
}
