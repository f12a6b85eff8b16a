//! Compact JWS (RFC 7515) for JWTs (RFC 7519): signing with an issuer's key, verifying against
//! a key set.
//!
//! Why not the `jsonwebtoken` crate: it parses the private key on every signature (+70 % on
//! the token endpoint's hot path, DESIGN.md §7) and its RustCrypto backend signs P-256 about
//! eight times slower than `ring`. The compact serialization itself is three base64url
//! segments; what needs care is verification, and its rules are here, in one place:
//!
//! - the `alg` must be one this module implements *and* the algorithm of the key the `kid`
//!   names: `none`, `HS256` (the public key used as an HMAC secret), and any algorithm/key
//!   mismatch are refused (RFC 8725 §3.1, §3.2);
//! - a `kid` is required (every key Tessera publishes has one);
//! - a `crit` header is refused: no extension is understood (RFC 7515 §4.1.11);
//! - segments are unpadded base64url; anything else is malformed.
//!
//! Claim checks (`exp`, `iss`, `aud`) need the clock and the issuer, so they live with the
//! callers; this module only proves who signed what.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use serde_json::{Map, Value, json};

/// Why a token could not be made or was not accepted. The text is safe to log; none of it
/// echoes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not three base64url segments of JSON objects.
    #[error("the token is malformed")]
    Malformed,
    /// The `alg` is not one Tessera accepts (e.g. `none`, `HS256`).
    #[error("the token's algorithm is not accepted")]
    UnsupportedAlgorithm,
    /// No `kid`, or no published key with that `kid` and algorithm.
    #[error("the token was not signed by a known key")]
    UnknownKey,
    /// The token carries a `crit` header.
    #[error("the token uses a critical extension that is not understood")]
    CriticalHeader,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// A private key could not be generated or parsed.
    #[error("the signing key is invalid")]
    InvalidKey,
}

/// A JWS algorithm Tessera signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4).
    Es256,
}

impl Algorithm {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }
}

/// A private signing key, parsed once and kept.
pub struct Signer {
    kid: String,
    algorithm: Algorithm,
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Generates a new key. Returns the signer and the PKCS#8 document to seal and store.
    pub fn generate(algorithm: Algorithm, kid: &str) -> Result<(Self, Vec<u8>), JwsError> {
        let rng = SystemRandom::new();
        let pkcs8 = match algorithm {
            Algorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| JwsError::InvalidKey)?
            }
        };
        let pkcs8 = pkcs8.as_ref().to_vec();
        Ok((Self::from_pkcs8(algorithm, kid, &pkcs8)?, pkcs8))
    }

    /// Parses a stored PKCS#8 key.
    pub fn from_pkcs8(algorithm: Algorithm, kid: &str, pkcs8: &[u8]) -> Result<Self, JwsError> {
        let rng = SystemRandom::new();
        let pair = match algorithm {
            Algorithm::Es256 => {
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .map_err(|_| JwsError::InvalidKey)?
            }
        };
        Ok(Self {
            kid: kid.to_owned(),
            algorithm,
            pair,
            rng,
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public key as a JWK (RFC 7517) with `kid`, `alg` and `use`.
    pub fn public_jwk(&self) -> Value {
        // An uncompressed P-256 point: 0x04 ‖ X (32 bytes) ‖ Y (32 bytes).
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            "kid": self.kid,
            "alg": self.algorithm.as_str(),
            "use": "sig",
        })
    }

    /// The matching verification key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            kid: self.kid.clone(),
            algorithm: self.algorithm,
            public: self.pair.public_key().as_ref().to_vec(),
        }
    }

    /// Signs `claims` (a JSON object) as a compact JWS with header `{alg, typ, kid}`.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, JwsError> {
        let header = json!({ "alg": self.algorithm.as_str(), "typ": typ, "kid": self.kid });
        let mut token = String::with_capacity(512);
        URL_SAFE_NO_PAD.encode_string(header.to_string(), &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut token);
        let signature = self
            .pair
            .sign(&self.rng, token.as_bytes())
            .map_err(|_| JwsError::InvalidKey)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
        Ok(token)
    }
}

/// A public key that tokens are verified against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    kid: String,
    algorithm: Algorithm,
    public: Vec<u8>,
}

impl VerifyingKey {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// A token whose signature verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
}

fn decode_object(segment: &str) -> Result<Map<String, Value>, JwsError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwsError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwsError::Malformed),
    }
}

/// Verifies a compact JWS against `keys` and returns its header and claims.
pub fn verify(token: &str, keys: &[VerifyingKey]) -> Result<Verified, JwsError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let header = decode_object(header_b64)?;
    let algorithm = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Algorithm::from_name)
        .ok_or(JwsError::UnsupportedAlgorithm)?;
    if header.contains_key("crit") {
        return Err(JwsError::CriticalHeader);
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JwsError::UnknownKey)?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid && k.algorithm == algorithm)
        .ok_or(JwsError::UnknownKey)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| JwsError::Malformed)?;
    let signed = &token[..header_b64.len() + 1 + claims_b64.len()];
    let verifier = match key.algorithm {
        Algorithm::Es256 => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &key.public),
    };
    verifier
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| JwsError::BadSignature)?;
    let claims = decode_object(claims_b64)?;
    Ok(Verified { header, claims })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signer() -> Signer {
        Signer::generate(Algorithm::Es256, "key_1").unwrap().0
    }

    #[test]
    fn a_signed_token_verifies_and_round_trips_its_claims() {
        let signer = signer();
        let claims =
            json!({"iss": "http://localhost/system", "sub": "cli_1", "exp": 2_000_000_000});
        let token = signer.sign("at+jwt", &claims).unwrap();
        let verified = verify(&token, &[signer.verifying_key()]).unwrap();
        assert_eq!(Value::Object(verified.claims), claims);
        assert_eq!(verified.header["typ"], "at+jwt");
        assert_eq!(verified.header["kid"], "key_1");
    }

    #[test]
    fn a_stored_key_signs_like_the_generated_one() {
        let (generated, pkcs8) = Signer::generate(Algorithm::Es256, "key_1").unwrap();
        let reloaded = Signer::from_pkcs8(Algorithm::Es256, "key_1", &pkcs8).unwrap();
        assert_eq!(reloaded.public_jwk(), generated.public_jwk());
        let token = reloaded.sign("JWT", &json!({"a": 1})).unwrap();
        verify(&token, &[generated.verifying_key()]).unwrap();
        assert_eq!(
            Signer::from_pkcs8(Algorithm::Es256, "k", b"garbage").unwrap_err(),
            JwsError::InvalidKey
        );
    }

    #[test]
    fn tokens_from_other_keys_or_tampered_tokens_are_refused() {
        let signer = signer();
        let token = signer.sign("JWT", &json!({"sub": "a"})).unwrap();
        let other = Signer::generate(Algorithm::Es256, "key_1").unwrap().0;
        assert_eq!(
            verify(&token, &[other.verifying_key()]),
            Err(JwsError::BadSignature)
        );
        assert_eq!(verify(&token, &[]), Err(JwsError::UnknownKey));

        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged_claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
        let forged = format!("{head}.{forged_claims}.{signature}");
        assert_eq!(
            verify(&forged, &[signer.verifying_key()]),
            Err(JwsError::BadSignature)
        );
        assert_eq!(
            verify("a.b", &[signer.verifying_key()]),
            Err(JwsError::Malformed)
        );
        assert_eq!(
            verify(&format!("{token}.x"), &[signer.verifying_key()]),
            Err(JwsError::Malformed)
        );
    }

    /// RFC 8725 §3.1–3.2: `alg: none` and an HMAC "signed" with the public key are refused.
    #[test]
    fn unsigned_and_hmac_tokens_are_refused() {
        let signer = signer();
        let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
        for alg in ["none", "HS256", "RS256", "es256"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"key_1"}}"#));
            let token = format!("{header}.{claims}.");
            assert_eq!(
                verify(&token, &[signer.verifying_key()]),
                Err(JwsError::UnsupportedAlgorithm),
                "{alg}"
            );
        }
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"key_1","crit":["x"],"x":1}"#);
        assert_eq!(
            verify(
                &format!("{header}.{claims}.AAAA"),
                &[signer.verifying_key()]
            ),
            Err(JwsError::CriticalHeader)
        );
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#);
        assert_eq!(
            verify(
                &format!("{header}.{claims}.AAAA"),
                &[signer.verifying_key()]
            ),
            Err(JwsError::UnknownKey)
        );
    }

    /// An independent implementation (the `jsonwebtoken` crate) accepts our tokens with our
    /// published JWK, and we accept its tokens signed with our key.
    #[test]
    fn an_independent_jwt_library_agrees() {
        use jsonwebtoken::{
            DecodingKey, EncodingKey, Header, Validation, decode, encode, jwk::Jwk,
        };
        let (signer, pkcs8) = Signer::generate(Algorithm::Es256, "key_9").unwrap();
        let claims = json!({"sub": "cli_1", "exp": 4_000_000_000u64, "aud": "x"});
        let token = signer.sign("at+jwt", &claims).unwrap();
        let jwk: Jwk = serde_json::from_value(signer.public_jwk()).unwrap();
        let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&["x"]);
        let decoded =
            decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation).unwrap();
        assert_eq!(decoded.claims, claims);
        assert_eq!(decoded.header.kid.as_deref(), Some("key_9"));

        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("key_9".to_owned());
        let theirs = encode(&header, &claims, &EncodingKey::from_ec_der(&pkcs8)).unwrap();
        assert_eq!(
            Value::Object(verify(&theirs, &[signer.verifying_key()]).unwrap().claims),
            claims
        );
    }

    proptest! {
        /// Invariants: `verify` never panics on any input, and every failure is a documented
        /// `JwsError`.
        #[test]
        fn verify_never_panics(token in "[A-Za-z0-9_.=-]{0,200}") {
            let key = signer().verifying_key();
            let _ = verify(&token, &[key]);
        }

        #[test]
        fn verify_never_panics_on_json_shaped_headers(header in "\\PC{0,80}", claims in "\\PC{0,80}") {
            let key = signer().verifying_key();
            let token = format!("{}.{}.AAAA", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
            prop_assert!(verify(&token, &[key]).is_err());
        }
    }
}
