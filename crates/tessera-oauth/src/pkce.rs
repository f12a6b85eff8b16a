//! Proof Key for Code Exchange (RFC 7636), `S256` only.
//!
//! The client sends `code_challenge = BASE64URL(SHA256(code_verifier))` with the authorization
//! request and the verifier with the token request; only the party that started the flow can
//! redeem the code. Policy:
//!
//! - `plain` is refused. It protects nothing against an attacker who can read the
//!   authorization request, and RFC 9700 §2.1.1 says clients SHOULD use `S256`; every current
//!   client library can. A challenge without a method is `plain` by RFC 7636 §4.3 ("defaults
//!   to plain if not present"), so it is refused too rather than guessed to be `S256`.
//! - A challenge is exactly what `S256` produces: 43 base64url characters encoding 32 bytes
//!   (RFC 7636 §4.2), so a stored challenge is always one a verifier can match.
//! - Whether a client must use PKCE (public clients always) is `tessera-core`'s decision; this
//!   module answers what was sent and whether a verifier matches.
//! - The verifier comparison is constant-time, and a verifier outside RFC 7636 §4.1's grammar
//!   simply does not match (§4.6: the server verifies; the caller answers `invalid_grant`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::OAuthError;

/// The length of an `S256` challenge: 32 bytes in unpadded base64url (RFC 7636 §4.2).
const S256_CHALLENGE_CHARS: usize = 43;

/// A validated `S256` code challenge (RFC 7636 §4.2).
///
/// Deserializing re-validates, so a challenge read back from storage is held to the same
/// rules as one received.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CodeChallenge(String);

impl CodeChallenge {
    /// The challenge of an authorization request, from its `code_challenge` and
    /// `code_challenge_method` parameters; `None` when neither is present. Every refusal is
    /// `invalid_request` (RFC 7636 §4.4.1).
    pub fn parse(
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> Result<Option<Self>, OAuthError> {
        match (challenge, method) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(OAuthError::invalid_request(
                "code_challenge_method was sent without code_challenge",
            )),
            // RFC 7636 §4.3: the method "defaults to plain if not present".
            (Some(_), None | Some("plain")) => Err(OAuthError::invalid_request(
                "PKCE method plain is not accepted; use S256",
            )),
            (Some(challenge), Some("S256")) => Self::from_s256(challenge).map(Some),
            (Some(_), Some(_)) => Err(OAuthError::invalid_request(
                "the code_challenge_method is not supported; use S256",
            )),
        }
    }

    /// Checks that `challenge` is an `S256` output: 43 base64url characters without padding
    /// that decode to 32 bytes, with no stray bits in the last character.
    fn from_s256(challenge: &str) -> Result<Self, OAuthError> {
        let is_s256_output = challenge.len() == S256_CHALLENGE_CHARS
            && URL_SAFE_NO_PAD
                .decode(challenge)
                .is_ok_and(|digest| digest.len() == 32);
        if is_s256_output {
            Ok(Self(challenge.to_owned()))
        } else {
            Err(OAuthError::invalid_request(
                "the code_challenge is not a base64url SHA-256 digest (RFC 7636 section 4.2)",
            ))
        }
    }

    /// Whether `verifier` is the one this challenge was made from (RFC 7636 §4.6):
    /// `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time. A verifier
    /// outside RFC 7636 §4.1's grammar never matches.
    pub fn verify(&self, verifier: &str) -> bool {
        if !is_valid_code_verifier(verifier) {
            return false;
        }
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        computed.as_bytes().ct_eq(self.0.as_bytes()).into()
    }

    /// The challenge as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CodeChallenge {
    type Error = OAuthError;

    /// An `S256` challenge, validated as [`CodeChallenge::parse`] does.
    fn try_from(challenge: String) -> Result<Self, OAuthError> {
        Self::from_s256(&challenge)
    }
}

impl From<CodeChallenge> for String {
    fn from(challenge: CodeChallenge) -> String {
        challenge.0
    }
}

/// Whether `verifier` is a code verifier by RFC 7636 §4.1: 43 to 128 characters of
/// `[A-Za-z0-9-._~]`.
pub fn is_valid_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn s256(challenge: &str) -> Result<Option<CodeChallenge>, OAuthError> {
        CodeChallenge::parse(Some(challenge), Some("S256"))
    }

    #[test]
    fn the_rfc_7636_appendix_b_verifier_matches_its_challenge() {
        let challenge = s256(CHALLENGE).unwrap().unwrap();
        assert_eq!(challenge.as_str(), CHALLENGE);
        assert!(challenge.verify(VERIFIER));
    }

    #[test]
    fn another_verifier_does_not_match() {
        let challenge = s256(CHALLENGE).unwrap().unwrap();
        let mut other = VERIFIER.to_owned();
        other.replace_range(0..1, "e");
        assert!(!challenge.verify(&other));
    }

    #[test]
    fn a_malformed_verifier_never_matches() {
        // RFC 7636 §4.1: 43..=128 unreserved characters. Even a verifier whose digest matched
        // would be refused if it broke the grammar.
        let challenge = s256(CHALLENGE).unwrap().unwrap();
        for verifier in ["", "short", &"a".repeat(129), &format!("{VERIFIER} ")] {
            assert!(!challenge.verify(verifier), "{verifier:?}");
        }
    }

    #[test]
    fn no_challenge_and_no_method_is_no_pkce() {
        assert_eq!(CodeChallenge::parse(None, None), Ok(None));
    }

    #[test]
    fn the_plain_method_is_refused() {
        let error = CodeChallenge::parse(Some(VERIFIER), Some("plain")).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(
            error.description,
            "PKCE method plain is not accepted; use S256"
        );
    }

    #[test]
    fn a_challenge_without_a_method_is_plain_and_refused() {
        // RFC 7636 §4.3: code_challenge_method "defaults to plain if not present".
        let error = CodeChallenge::parse(Some(CHALLENGE), None).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(
            error.description,
            "PKCE method plain is not accepted; use S256"
        );
    }

    #[test]
    fn a_method_without_a_challenge_is_invalid_request() {
        let error = CodeChallenge::parse(None, Some("S256")).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn an_unknown_method_is_invalid_request() {
        // Methods are case-sensitive (RFC 7636 §4.3 names `S256` and `plain`).
        for method in ["s256", "S512", "SHA256"] {
            let error = CodeChallenge::parse(Some(CHALLENGE), Some(method)).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{method}");
        }
    }

    #[test]
    fn a_challenge_that_is_not_an_s256_digest_is_invalid_request() {
        let mut stray_bits = CHALLENGE.to_owned();
        // `M` ends in bits that a 32-byte digest leaves zero; `N` sets one of them.
        stray_bits.replace_range(42..43, "N");
        for challenge in [
            "short",
            &format!("{CHALLENGE}A"),
            &CHALLENGE[..42],
            &format!("{}=", &CHALLENGE[..42]),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw/cM",
            &stray_bits,
        ] {
            let error = s256(challenge).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{challenge:?}");
        }
    }

    #[test]
    fn verifiers_follow_the_rfc_7636_grammar() {
        assert!(is_valid_code_verifier(VERIFIER));
        assert!(is_valid_code_verifier(&"a".repeat(43)));
        assert!(is_valid_code_verifier(&"-._~".repeat(32)));
        assert!(!is_valid_code_verifier(&"a".repeat(42)));
        assert!(!is_valid_code_verifier(&"a".repeat(129)));
        assert!(!is_valid_code_verifier(&format!("{}+", "a".repeat(43))));
        assert!(!is_valid_code_verifier(&format!("{}é", "a".repeat(43))));
    }

    #[test]
    fn serde_keeps_the_challenge_and_revalidates_it() {
        let challenge = s256(CHALLENGE).unwrap().unwrap();
        let json = serde_json::to_value(&challenge).unwrap();
        assert_eq!(json, serde_json::json!(CHALLENGE));
        assert_eq!(
            serde_json::from_value::<CodeChallenge>(json).unwrap(),
            challenge
        );
        assert!(serde_json::from_value::<CodeChallenge>(serde_json::json!("plain-text")).is_err());
    }
}
