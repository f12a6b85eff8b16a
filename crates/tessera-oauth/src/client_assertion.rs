//! JWT client assertions: `private_key_jwt` (OIDC Core §9; RFC 7523 §2.2 and §3).
//!
//! A client proves who it is by signing a short-lived JWT with a private key whose public half
//! it registered. [`crate::client_auth`] reads the assertion from the request; `tessera-core`
//! verifies its signature with the client's keys and then applies
//! [`check_client_assertion_claims`], the claim rules of RFC 7523 §3, in this order:
//!
//! 1. `iss` and `sub` are both the `client_id` (RFC 7523 §3 items 1–2, OIDC Core §9);
//! 2. `aud` contains this issuer's identifier or the URL of the endpoint the assertion was
//!    presented at (RFC 7523 §3 item 3: the token endpoint "MAY be used"; OIDC Core §9 says it
//!    SHOULD; the issuer identifier is what RFC 7523 names first and what current clients send);
//! 3. `exp` is present and not passed (item 4), allowing [`ASSERTION_CLOCK_SKEW`];
//! 4. the assertion is short-lived: `exp` at most [`MAX_ASSERTION_LIFETIME`] after `iat` (if
//!    given) and after now (plus the skew), so that the record of used `jti`s, kept until each
//!    assertion's `exp`, stays small;
//! 5. `nbf`, if present, has come (item 5), and `iat`, if present, is not in the future
//!    (item 6), both within the skew;
//! 6. `jti` is present (item 7 makes it optional; OIDC Core §9 makes it REQUIRED, and single
//!    use is what stops a captured assertion from being replayed).
//!
//! Every refusal is `invalid_client` (RFC 7521 §4.2.1). These checks run only after the
//! signature verified, so their descriptions reach only a holder of the client's private key;
//! failures before that (unknown client, unknown key, bad signature) are all alike.

use serde_json::{Map, Value};

use crate::error::OAuthError;

/// The `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The JWS algorithms a client may sign its assertions with: those of the keys it may register
/// (`tessera_crypto::jwk`), with Ed25519 under both its names (`EdDSA`, and `Ed25519` of
/// RFC 9864 §2.2, which openid-client v6 uses). `none` and HMAC are never among them
/// (RFC 8725 §3.1–3.2).
pub const CLIENT_ASSERTION_SIGNING_ALGORITHMS: &[&str] = &["ES256", "RS256", "EdDSA", "Ed25519"];

/// How far the client's clock may be from ours, in seconds, for `exp`, `nbf` and `iat`.
pub const ASSERTION_CLOCK_SKEW: i64 = 60;

/// The longest an assertion may be valid, in seconds (from `iat`, and from now). One hour: the
/// bound Okta applies, and the lifetime Authlib's `PrivateKeyJWT` gives its assertions
/// (openid-client's live 60 seconds); it bounds how long a used `jti` is kept.
pub const MAX_ASSERTION_LIFETIME: i64 = 3600;

/// The longest `jti` accepted, in bytes.
const MAX_JTI_BYTES: usize = 256;

/// What an accepted assertion leaves to remember: its `jti`, to be used once, until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedAssertion {
    /// The assertion's `jti`.
    pub jti: String,
    /// Until when the `jti` must be remembered (Unix seconds): the `exp` plus the skew, the
    /// last moment the assertion could still be accepted.
    pub remember_until: i64,
}

fn refused(description: &str) -> OAuthError {
    OAuthError::invalid_client(description)
}

/// A NumericDate claim (RFC 7519 §2): a JSON number of seconds, possibly with a fraction,
/// which is dropped. `Ok(None)` if absent; a claim of another type, or out of range, is an
/// error.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, OAuthError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = value
        .as_i64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| f.floor() as i64)
        })
        .ok_or_else(|| refused("The client assertion has a malformed date claim."))?;
    Ok(Some(seconds))
}

/// The claim rules of the module documentation, in its order, for an assertion whose signature
/// verified with a key of `client_id`. `audiences` are the identifiers accepted in `aud` (the
/// issuer identifier and the endpoint's URL); `now` is Unix seconds.
pub fn check_client_assertion_claims(
    claims: &Map<String, Value>,
    client_id: &str,
    audiences: &[&str],
    now: i64,
) -> Result<AcceptedAssertion, OAuthError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    // RFC 7523 §3 items 1-2; OIDC Core §9.
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(refused(
            "The client assertion's iss and sub must both be the client_id.",
        ));
    }
    // RFC 7523 §3 item 3; RFC 7519 §4.1.3: a string or an array of strings.
    let has_audience = match claims.get("aud") {
        Some(Value::String(aud)) => audiences.contains(&aud.as_str()),
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| audiences.contains(&aud)),
        _ => false,
    };
    if !has_audience {
        return Err(refused(
            "The client assertion's aud must be the issuer identifier or the endpoint URL.",
        ));
    }
    // RFC 7523 §3 item 4.
    let expires = numeric_date(claims, "exp")?
        .ok_or_else(|| refused("The client assertion has no exp claim."))?;
    if expires.saturating_add(ASSERTION_CLOCK_SKEW) <= now {
        return Err(refused("The client assertion has expired."));
    }
    let issued = numeric_date(claims, "iat")?;
    let too_long = expires.saturating_sub(now) > MAX_ASSERTION_LIFETIME + ASSERTION_CLOCK_SKEW
        || issued.is_some_and(|iat| expires.saturating_sub(iat) > MAX_ASSERTION_LIFETIME);
    if too_long {
        return Err(refused(
            "The client assertion is valid for too long; keep exp within an hour.",
        ));
    }
    // RFC 7523 §3 items 5-6.
    if numeric_date(claims, "nbf")?
        .is_some_and(|nbf| nbf > now.saturating_add(ASSERTION_CLOCK_SKEW))
    {
        return Err(refused("The client assertion is not valid yet."));
    }
    if issued.is_some_and(|iat| iat > now.saturating_add(ASSERTION_CLOCK_SKEW)) {
        return Err(refused("The client assertion was issued in the future."));
    }
    // OIDC Core §9: jti REQUIRED; RFC 7523 §3 item 7.
    let jti = match text("jti") {
        Some(jti) if !jti.is_empty() && jti.len() <= MAX_JTI_BYTES => jti.to_owned(),
        _ => return Err(refused("The client assertion has no usable jti claim.")),
    };
    Ok(AcceptedAssertion {
        jti,
        remember_until: expires.saturating_add(ASSERTION_CLOCK_SKEW),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorCode;

    const NOW: i64 = 1_750_000_000;
    const CLIENT: &str = "cli_0192";
    const ISSUER: &str = "https://id.example/acme";
    const TOKEN_ENDPOINT: &str = "https://id.example/acme/oauth/token";

    fn good() -> Map<String, Value> {
        let Value::Object(claims) = json!({
            "iss": CLIENT, "sub": CLIENT, "aud": TOKEN_ENDPOINT,
            "iat": NOW, "exp": NOW + 300, "jti": "a1",
        }) else {
            unreachable!()
        };
        claims
    }

    fn check(claims: &Map<String, Value>) -> Result<AcceptedAssertion, OAuthError> {
        check_client_assertion_claims(claims, CLIENT, &[ISSUER, TOKEN_ENDPOINT], NOW)
    }

    fn with(name: &str, value: Value) -> Map<String, Value> {
        let mut claims = good();
        claims.insert(name.to_owned(), value);
        claims
    }

    fn without(name: &str) -> Map<String, Value> {
        let mut claims = good();
        claims.remove(name);
        claims
    }

    fn refusal(claims: &Map<String, Value>) -> String {
        let error = check(claims).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidClient);
        assert_eq!(error.status(), 401);
        error.description
    }

    #[test]
    fn a_conforming_assertion_is_accepted_and_its_jti_kept_until_it_expires() {
        assert_eq!(
            check(&good()).unwrap(),
            AcceptedAssertion {
                jti: "a1".to_owned(),
                remember_until: NOW + 300 + ASSERTION_CLOCK_SKEW,
            }
        );
    }

    #[test]
    fn iss_and_sub_are_both_the_client_id() {
        // RFC 7523 §3 items 1-2.
        for claims in [
            with("iss", json!("cli_other")),
            with("sub", json!("cli_other")),
            without("iss"),
            without("sub"),
            with("sub", json!(7)),
        ] {
            assert!(refusal(&claims).contains("iss and sub"));
        }
    }

    #[test]
    fn aud_names_the_issuer_or_the_endpoint() {
        // RFC 7523 §3 item 3: a string or an array that contains one of ours.
        assert!(check(&with("aud", json!(ISSUER))).is_ok());
        assert!(check(&with("aud", json!(["https://other", ISSUER]))).is_ok());
        for aud in [
            json!("https://id.example/acme/oauth/introspect"),
            json!("https://id.example/other"),
            json!(["https://id.example/other"]),
            json!([]),
            json!(null),
            json!(ISSUER.to_owned() + "/"),
        ] {
            assert!(refusal(&with("aud", aud)).contains("aud"));
        }
        assert!(refusal(&without("aud")).contains("aud"));
    }

    #[test]
    fn exp_is_required_and_honoured_with_the_skew() {
        // RFC 7523 §3 item 4.
        assert!(refusal(&without("exp")).contains("no exp"));
        assert!(refusal(&with("exp", json!("soon"))).contains("malformed"));
        assert!(check(&with("exp", json!(NOW - ASSERTION_CLOCK_SKEW + 1))).is_ok());
        assert!(refusal(&with("exp", json!(NOW - ASSERTION_CLOCK_SKEW))).contains("expired"));
        // A NumericDate may have a fraction.
        assert!(check(&with("exp", json!(NOW as f64 + 30.5))).is_ok());
    }

    #[test]
    fn an_assertion_valid_for_too_long_is_refused() {
        // Bounded from iat...
        let mut claims = with("exp", json!(NOW + MAX_ASSERTION_LIFETIME + 1));
        assert!(refusal(&claims).contains("too long"));
        claims.insert("iat".to_owned(), json!(NOW + 1));
        assert!(check(&claims).is_ok());
        // ...and from now, whatever iat says.
        let mut far = without("iat");
        far.insert(
            "exp".to_owned(),
            json!(NOW + MAX_ASSERTION_LIFETIME + ASSERTION_CLOCK_SKEW + 1),
        );
        assert!(refusal(&far).contains("too long"));
        far.insert(
            "exp".to_owned(),
            json!(NOW + MAX_ASSERTION_LIFETIME + ASSERTION_CLOCK_SKEW),
        );
        assert!(check(&far).is_ok());
    }

    #[test]
    fn nbf_and_iat_are_honoured_with_the_skew() {
        // RFC 7523 §3 items 5-6.
        assert!(check(&with("nbf", json!(NOW + ASSERTION_CLOCK_SKEW))).is_ok());
        assert!(
            refusal(&with("nbf", json!(NOW + ASSERTION_CLOCK_SKEW + 1))).contains("not valid yet")
        );
        assert!(check(&with("iat", json!(NOW + ASSERTION_CLOCK_SKEW))).is_ok());
        assert!(refusal(&with("iat", json!(NOW + ASSERTION_CLOCK_SKEW + 1))).contains("future"));
        assert!(refusal(&with("iat", json!(true))).contains("malformed"));
    }

    #[test]
    fn jti_is_required() {
        // OIDC Core §9.
        for claims in [
            without("jti"),
            with("jti", json!("")),
            with("jti", json!(5)),
            with("jti", json!("x".repeat(MAX_JTI_BYTES + 1))),
        ] {
            assert!(refusal(&claims).contains("jti"));
        }
    }
}
