//! The public keys a client registers for `private_key_jwt` (OIDC Core §9, RFC 7523 §2.2): a
//! JWK Set (RFC 7517 §5) given inline, as RFC 7591 §2 `jwks`.
//!
//! [`PublicJwkSet::parse`] is the one door: what comes out is a set of keys Tessera can verify
//! with, parsed once into [`VerifyingKey`]s, and its [`PublicJwkSet::to_json`] is the canonical
//! form that is stored and shown. Refused, each with a reason naming the key:
//!
//! - anything but a JSON object with a non-empty `keys` array of JSON objects, more than
//!   [`MAX_KEYS`] keys, or a set longer than [`MAX_SET_BYTES`] once serialized;
//! - private key members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`) and symmetric keys (`oct`,
//!   `k`): a client registers only what the server may know (RFC 7517 §9.2 — a private key
//!   sent here would be a leaked key);
//! - key types and curves other than the three Tessera verifies, one algorithm each: `EC`
//!   `P-256` (ES256, RFC 7518 §6.2), `RSA` of 2048 to 4096 bits (RS256, RFC 7518 §3.3, §6.3),
//!   `OKP` `Ed25519` (EdDSA, RFC 8037 §2); coordinates of the wrong length, or not unpadded
//!   base64url;
//! - an `alg` other than the key type's (`EdDSA` or, per RFC 9864, `Ed25519` for Ed25519 keys),
//!   a `use` other than `sig`, `key_ops` without `verify`
//!   (RFC 7517 §4.2–4.4): a key meant for something else is not used to authenticate;
//! - two keys with the same `kid` (RFC 7517 §4.5: a `kid` chooses among keys; a duplicate
//!   would make the choice ambiguous).
//!
//! What the canonical form keeps: the key type's members, `kid` if given, and `alg` and `use`
//! as the key is used (given or implied). Other members (`x5c`, `x5t`, …) are not understood
//! and are dropped, as RFC 7517 §4 allows ("MUST be ignored").
//!
//! A point that is not on its curve is not detected here (ring parses public keys only when it
//! verifies); such a key verifies nothing, so it can only lock its own client out.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::jws::{Algorithm, VerifyingKey};

/// The most keys a client registers: enough for a current key, its successor and a spare.
pub const MAX_KEYS: usize = 10;

/// The longest JWK Set, serialized, in bytes (ten 4096-bit RSA keys take about 8 KiB).
pub const MAX_SET_BYTES: usize = 16 * 1024;

/// The shortest and longest RSA moduli accepted, in bits: RFC 7518 §3.3 requires 2048; 4096
/// bounds the work one verification costs.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// The longest `kid`, in bytes.
const MAX_KID_BYTES: usize = 200;

/// Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037
/// §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a JWK Set was refused. The text names the key (`keys[1]`) and never quotes key
/// material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JwkSetError(String);

fn refuse(reason: impl Into<String>) -> JwkSetError {
    JwkSetError(reason.into())
}

/// A client's public keys, each usable to verify its assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwkSet {
    keys: Vec<VerifyingKey>,
    canonical: Value,
}

impl PublicJwkSet {
    /// Parses a JWK Set (RFC 7517 §5) by the rules of the module documentation.
    pub fn parse(set: &Value) -> Result<Self, JwkSetError> {
        if set.to_string().len() > MAX_SET_BYTES {
            return Err(refuse(format!(
                "a JWK Set is at most {MAX_SET_BYTES} bytes long"
            )));
        }
        let Some(members) = set.as_object() else {
            return Err(refuse("a JWK Set is a JSON object with a `keys` array"));
        };
        let Some(Value::Array(items)) = members.get("keys") else {
            return Err(refuse("a JWK Set is a JSON object with a `keys` array"));
        };
        if items.is_empty() {
            return Err(refuse("a JWK Set has at least one key"));
        }
        if items.len() > MAX_KEYS {
            return Err(refuse(format!(
                "a client registers at most {MAX_KEYS} keys"
            )));
        }
        let mut keys = Vec::with_capacity(items.len());
        let mut canonical = Vec::with_capacity(items.len());
        let mut kids = HashSet::new();
        for (index, item) in items.iter().enumerate() {
            let at = |reason: &str| refuse(format!("keys[{index}]: {reason}"));
            let Some(jwk) = item.as_object() else {
                return Err(at("a JWK is a JSON object"));
            };
            let (key, shown) = parse_jwk(jwk).map_err(|reason| at(&reason))?;
            if let Some(kid) = &key.kid
                && !kids.insert(kid.clone())
            {
                return Err(at("another key has the same kid"));
            }
            keys.push(key);
            canonical.push(shown);
        }
        Ok(Self {
            keys,
            canonical: json!({ "keys": canonical }),
        })
    }

    /// Parses the stored text of a set ([`Self::to_json`] as written when it was registered).
    pub fn from_text(text: &str) -> Result<Self, JwkSetError> {
        let value: Value =
            serde_json::from_str(text).map_err(|_| refuse("a JWK Set is a JSON object"))?;
        Self::parse(&value)
    }

    /// The keys to verify with ([`crate::jws::verify_with_registered_keys`]).
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// The canonical JWK Set: what is stored and shown.
    pub fn to_json(&self) -> &Value {
        &self.canonical
    }
}

/// One published key read back from its JWK (an issuer's own key as it was stored and
/// published), by the same rules as each key of a [`PublicJwkSet`]: an issuer's JWKS may hold
/// more keys than a client registers, so the set's limits do not apply.
pub fn verifying_key(jwk: &Value) -> Result<VerifyingKey, JwkSetError> {
    let members = jwk
        .as_object()
        .ok_or_else(|| refuse("a JWK is a JSON object"))?;
    parse_jwk(members).map(|(key, _)| key).map_err(refuse)
}

/// One JWK: the verifying key, and its canonical members. Errors are reasons without the
/// key's index.
fn parse_jwk(jwk: &Map<String, Value>) -> Result<(VerifyingKey, Value), String> {
    if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| jwk.contains_key(**m)) {
        return Err(format!(
            "`{member}` is a private or secret key member: register public keys only"
        ));
    }
    let text = |name: &str| -> Result<Option<&str>, String> {
        match jwk.get(name) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(format!("`{name}` is a string")),
        }
    };
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        let value = text(name)?.ok_or_else(|| format!("`{name}` is missing"))?;
        URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| format!("`{name}` is not unpadded base64url"))
    };
    let kid = text("kid")?;
    if kid.is_some_and(|kid| kid.is_empty() || kid.len() > MAX_KID_BYTES) {
        return Err(format!("a kid is 1 to {MAX_KID_BYTES} bytes long"));
    }
    let (algorithm, public, mut shown) = match (text("kty")?, text("crv")?) {
        (Some("EC"), Some("P-256")) => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("a P-256 key's `x` and `y` are 32 bytes each".to_owned());
            }
            // The uncompressed point ring verifies with: 0x04 ‖ X ‖ Y (SEC 1 §2.3.3).
            let point = [&[4u8][..], &x, &y].concat();
            let shown = json!({
                "kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&x), "y": URL_SAFE_NO_PAD.encode(&y),
            });
            (Algorithm::Es256, point, shown)
        }
        (Some("EC"), _) => return Err("the only EC curve accepted is P-256".to_owned()),
        (Some("RSA"), _) => {
            let (n, e) = (bytes("n")?, bytes("e")?);
            let (n, e) = (strip_leading_zeros(&n), strip_leading_zeros(&e));
            // An empty (or all-zero) modulus has no bits; `n` is stripped, so `first` is its
            // top octet.
            let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
            if !RSA_BITS.contains(&bits) {
                return Err(format!(
                    "an RSA key has {} to {} bits",
                    RSA_BITS.start(),
                    RSA_BITS.end()
                ));
            }
            let der = rsa_public_key_der(n, e)?;
            let shown = json!({
                "kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e),
            });
            (Algorithm::Rs256, der, shown)
        }
        (Some("OKP"), Some("Ed25519")) => {
            let x = bytes("x")?;
            if x.len() != 32 {
                return Err("an Ed25519 key's `x` is 32 bytes".to_owned());
            }
            let shown = json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(&x) });
            (Algorithm::EdDsa, x, shown)
        }
        (Some("OKP"), _) => return Err("the only OKP curve accepted is Ed25519".to_owned()),
        (Some("oct"), _) => {
            return Err("a symmetric key cannot be registered: register public keys".to_owned());
        }
        _ => {
            return Err("the key type (`kty`) is EC (P-256), RSA or OKP (Ed25519)".to_owned());
        }
    };
    // RFC 7517 §4.4: `alg` names the one algorithm the key is for; it must be the key type's
    // (`Ed25519`, RFC 9864 §2.2, is shown as `EdDSA`, its name in Tessera's discovery).
    if let Some(alg) = text("alg")?
        && Algorithm::from_client_name(alg) != Some(algorithm)
    {
        return Err(format!(
            "this key type is used with {} only",
            algorithm.as_str()
        ));
    }
    // RFC 7517 §4.2–4.3: a key for encryption, or one whose operations exclude verification,
    // is not one the client signs with.
    if text("use")?.is_some_and(|u| u != "sig") {
        return Err("`use` is `sig` for a client authentication key".to_owned());
    }
    match jwk.get("key_ops") {
        None => {}
        Some(Value::Array(ops)) if ops.iter().any(|op| op == "verify") => {}
        Some(_) => {
            return Err("`key_ops` includes `verify` for a client authentication key".to_owned());
        }
    }
    if let Some(members) = shown.as_object_mut() {
        if let Some(kid) = kid {
            members.insert("kid".to_owned(), Value::from(kid));
        }
        members.insert("alg".to_owned(), Value::from(algorithm.as_str()));
        members.insert("use".to_owned(), Value::from("sig"));
    }
    let key = VerifyingKey {
        kid: kid.map(str::to_owned),
        algorithm,
        public,
    };
    Ok((key, shown))
}

/// RFC 7518 §6.3.1 asks for no leading zero octets; some encoders add one (a sign byte).
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The PKCS#1 `RSAPublicKey` DER (RFC 8017 §A.1.1) ring verifies with; the `rsa` crate checks
/// the exponent (odd, at least 3) and writes the document.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Result<Vec<u8>, String> {
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    let invalid = || "the RSA key's `n` and `e` are not a valid public key".to_owned();
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(n),
        rsa::BigUint::from_bytes_be(e),
    )
    .map_err(|_| invalid())?;
    let document = key.to_pkcs1_der().map_err(|_| invalid())?;
    Ok(document.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;
    use crate::jws::{JwsError, Signer, verify_with_registered_keys};
    use proptest::prelude::*;

    /// One signer per algorithm, made once: RSA generation is slow in a debug build.
    static SIGNERS: LazyLock<Vec<(Signer, Vec<u8>)>> = LazyLock::new(|| {
        [Algorithm::Es256, Algorithm::Rs256, Algorithm::EdDsa]
            .into_iter()
            .map(|alg| Signer::generate(alg, &format!("k-{}", alg.as_str())).unwrap())
            .collect()
    });

    fn set_of(jwks: &[Value]) -> Value {
        json!({ "keys": jwks })
    }

    fn reason(set: &Value) -> String {
        PublicJwkSet::parse(set).unwrap_err().to_string()
    }

    #[test]
    fn published_keys_of_every_algorithm_verify_their_tokens() {
        let jwks: Vec<Value> = SIGNERS.iter().map(|(s, _)| s.public_jwk()).collect();
        let set = PublicJwkSet::parse(&set_of(&jwks)).unwrap();
        assert_eq!(set.keys().len(), 3);
        for (signer, _) in SIGNERS.iter() {
            let token = signer.sign("JWT", &json!({"sub": "cli_1"})).unwrap();
            let verified = verify_with_registered_keys(&token, set.keys()).unwrap();
            assert_eq!(verified.claims["sub"], "cli_1");
        }
        // The canonical form is what was registered (our JWKs are complete already) and
        // parses to the same set.
        assert_eq!(set.to_json(), &set_of(&jwks));
        assert_eq!(
            PublicJwkSet::from_text(&set.to_json().to_string()).unwrap(),
            set
        );
    }

    #[test]
    fn a_published_key_reads_back_as_the_key_it_was_published_from() {
        for (signer, _) in SIGNERS.iter() {
            let read = verifying_key(&signer.public_jwk()).unwrap();
            assert_eq!(read, signer.verifying_key(), "{:?}", signer.algorithm());
        }
        assert_eq!(
            verifying_key(&json!("not a key")).unwrap_err().to_string(),
            "a JWK is a JSON object"
        );
        let mut private = SIGNERS[0].0.public_jwk();
        private["d"] = json!("AAAA");
        assert!(
            verifying_key(&private)
                .unwrap_err()
                .to_string()
                .contains("`d` is a private")
        );
    }

    /// A token signed by an independent library (`jsonwebtoken`), without a `kid`.
    fn signed_without_kid(index: usize, claims: &Value) -> String {
        use jsonwebtoken::{EncodingKey, Header, encode};
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        use rsa::pkcs8::DecodePrivateKey as _;
        let (signer, pkcs8) = &SIGNERS[index];
        let (alg, key) = match signer.algorithm() {
            Algorithm::Es256 => (
                jsonwebtoken::Algorithm::ES256,
                EncodingKey::from_ec_der(pkcs8),
            ),
            Algorithm::Rs256 => (
                jsonwebtoken::Algorithm::RS256,
                EncodingKey::from_rsa_der(
                    rsa::RsaPrivateKey::from_pkcs8_der(pkcs8)
                        .unwrap()
                        .to_pkcs1_der()
                        .unwrap()
                        .as_bytes(),
                ),
            ),
            Algorithm::EdDsa => (
                jsonwebtoken::Algorithm::EdDSA,
                EncodingKey::from_ed_der(pkcs8),
            ),
        };
        encode(&Header::new(alg), claims, &key).unwrap()
    }

    #[test]
    fn keys_without_kid_are_tried_by_algorithm() {
        let jwks: Vec<Value> = SIGNERS
            .iter()
            .map(|(s, _)| {
                let mut jwk = s.public_jwk();
                for member in ["kid", "alg", "use"] {
                    jwk.as_object_mut().unwrap().remove(member);
                }
                jwk
            })
            .collect();
        let set = PublicJwkSet::parse(&set_of(&jwks)).unwrap();
        assert!(set.keys().iter().all(|k| k.kid().is_none()));
        assert_eq!(
            set.to_json()["keys"][1]["alg"],
            "RS256",
            "implied alg shown"
        );
        for (index, (signer, _)) in SIGNERS.iter().enumerate() {
            // A token naming a kid the set does not have is refused; one without is tried
            // against every key of its algorithm.
            let token = signer.sign("JWT", &json!({"sub": "x"})).unwrap();
            assert_eq!(
                verify_with_registered_keys(&token, set.keys()),
                Err(JwsError::UnknownKey)
            );
            let token = signed_without_kid(index, &json!({"sub": "x"}));
            assert!(verify_with_registered_keys(&token, set.keys()).is_ok());
            // Another key of the same algorithm does not verify it.
            let other = Signer::generate(signer.algorithm(), "other").unwrap().0;
            let mut jwk = other.public_jwk();
            jwk.as_object_mut().unwrap().remove("kid");
            let others = PublicJwkSet::parse(&set_of(&[jwk])).unwrap();
            assert_eq!(
                verify_with_registered_keys(&token, others.keys()),
                Err(JwsError::BadSignature)
            );
        }
    }

    #[test]
    fn private_and_symmetric_keys_are_refused() {
        let mut with_d = SIGNERS[0].0.public_jwk();
        with_d["d"] = json!("AAAA");
        assert!(reason(&set_of(&[with_d])).contains("`d` is a private"));
        let mut rsa = SIGNERS[1].0.public_jwk();
        rsa["p"] = json!("AAAA");
        assert!(reason(&set_of(&[rsa])).starts_with("keys[0]: `p`"));
        let oct = json!({"kty": "oct", "k": "c2VjcmV0"});
        assert!(reason(&set_of(&[oct])).contains("`k`"));
        let oct = json!({"kty": "oct"});
        assert!(reason(&set_of(&[oct])).contains("symmetric"));
    }

    #[test]
    fn unknown_key_types_curves_and_algorithms_are_refused() {
        let ec = SIGNERS[0].0.public_jwk();
        let mut p384 = ec.clone();
        p384["crv"] = json!("P-384");
        assert!(reason(&set_of(&[p384])).contains("P-256"));
        let mut x448 = SIGNERS[2].0.public_jwk();
        x448["crv"] = json!("X25519");
        assert!(reason(&set_of(&[x448])).contains("Ed25519"));
        let mut unknown = ec.clone();
        unknown["kty"] = json!("PQC");
        assert!(reason(&set_of(&[unknown])).contains("kty"));
        let mut missing = ec.clone();
        missing.as_object_mut().unwrap().remove("kty");
        assert!(reason(&set_of(&[missing])).contains("kty"));
        let mut wrong_alg = ec.clone();
        wrong_alg["alg"] = json!("RS256");
        assert!(reason(&set_of(&[wrong_alg])).contains("ES256 only"));
        let mut ps256 = SIGNERS[1].0.public_jwk();
        ps256["alg"] = json!("PS256");
        assert!(reason(&set_of(&[ps256])).contains("RS256 only"));
        let mut enc = ec.clone();
        enc["use"] = json!("enc");
        assert!(reason(&set_of(&[enc])).contains("use"));
        let mut ops = ec.clone();
        ops["key_ops"] = json!(["encrypt"]);
        assert!(reason(&set_of(&[ops])).contains("key_ops"));
        let mut ops = ec.clone();
        ops["key_ops"] = json!(["verify"]);
        assert!(PublicJwkSet::parse(&set_of(&[ops])).is_ok());
    }

    #[test]
    fn malformed_coordinates_and_small_rsa_keys_are_refused() {
        let mut short = SIGNERS[0].0.public_jwk();
        short["x"] = json!(URL_SAFE_NO_PAD.encode([1u8; 31]));
        assert!(reason(&set_of(&[short])).contains("32 bytes"));
        let mut padded = SIGNERS[2].0.public_jwk();
        padded["x"] = json!(format!("{}=", padded["x"].as_str().unwrap()));
        assert!(reason(&set_of(&[padded])).contains("base64url"));
        let mut number = SIGNERS[2].0.public_jwk();
        number["x"] = json!(5);
        assert!(reason(&set_of(&[number])).contains("string"));
        let mut small = SIGNERS[1].0.public_jwk();
        small["n"] = json!(URL_SAFE_NO_PAD.encode([0xffu8; 128]));
        assert!(reason(&set_of(&[small])).contains("2048 to 4096 bits"));
        for empty in ["", "AAAA"] {
            let mut zero = SIGNERS[1].0.public_jwk();
            zero["n"] = json!(empty);
            assert!(
                reason(&set_of(&[zero])).contains("2048 to 4096 bits"),
                "n = {empty:?}"
            );
        }
        let mut even = SIGNERS[1].0.public_jwk();
        even["e"] = json!("AQAA");
        assert!(reason(&set_of(&[even])).contains("not a valid public key"));
        // A leading zero octet (a sign byte some encoders add) is tolerated and dropped.
        let mut signed = SIGNERS[1].0.public_jwk();
        let n = URL_SAFE_NO_PAD
            .decode(signed["n"].as_str().unwrap())
            .unwrap();
        signed["n"] = json!(URL_SAFE_NO_PAD.encode([&[0u8][..], &n].concat()));
        let set = PublicJwkSet::parse(&set_of(&[signed])).unwrap();
        assert_eq!(set.to_json()["keys"][0], SIGNERS[1].0.public_jwk());
    }

    #[test]
    fn sets_are_bounded_and_kids_unique() {
        let ec = SIGNERS[0].0.public_jwk();
        assert!(reason(&json!([ec])).contains("`keys` array"));
        assert!(reason(&json!({"keys": {}})).contains("`keys` array"));
        assert!(reason(&json!({"keys": []})).contains("at least one"));
        assert!(reason(&json!({"keys": ["x"]})).contains("keys[0]: a JWK is a JSON object"));
        let many: Vec<Value> = (0..=MAX_KEYS)
            .map(|i| {
                let mut jwk = ec.clone();
                jwk["kid"] = json!(format!("k{i}"));
                jwk
            })
            .collect();
        assert!(reason(&set_of(&many)).contains("at most 10 keys"));
        assert!(PublicJwkSet::parse(&set_of(&many[..MAX_KEYS])).is_ok());
        let mut big = ec.clone();
        big["x5c"] = json!(["A".repeat(MAX_SET_BYTES)]);
        assert!(reason(&set_of(&[big])).contains("bytes long"));
        let twice = set_of(&[ec.clone(), ec.clone()]);
        assert_eq!(reason(&twice), "keys[1]: another key has the same kid");
        let mut no_kid = ec.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        assert!(PublicJwkSet::parse(&set_of(&[no_kid.clone(), no_kid])).is_ok());
        let mut empty_kid = ec.clone();
        empty_kid["kid"] = json!("");
        assert!(reason(&set_of(&[empty_kid])).contains("kid"));
        assert!(PublicJwkSet::from_text("not json").is_err());
    }

    /// RFC 9864 §2.2: WebCrypto exports Ed25519 keys with `alg: Ed25519`, and openid-client
    /// signs with that name.
    #[test]
    fn the_fully_specified_ed25519_name_is_accepted() {
        let mut jwk = SIGNERS[2].0.public_jwk();
        jwk["alg"] = json!("Ed25519");
        let set = PublicJwkSet::parse(&set_of(&[jwk])).unwrap();
        assert_eq!(set.to_json()["keys"][0]["alg"], "EdDSA");
        // A token whose header says `Ed25519`, signed with the key by ring directly.
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(&SIGNERS[2].1).unwrap();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"Ed25519"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"x"}"#)
        );
        let signature = URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()));
        let token = format!("{input}.{signature}");
        assert_eq!(
            verify_with_registered_keys(&token, set.keys())
                .unwrap()
                .claims["sub"],
            "x"
        );
        assert_eq!(
            crate::jws::verify(&token, set.keys()),
            Err(JwsError::UnsupportedAlgorithm),
            "issuer tokens stay EdDSA only"
        );
    }

    #[test]
    fn unknown_members_are_dropped_from_the_canonical_form() {
        let mut jwk = SIGNERS[2].0.public_jwk();
        jwk["x5t"] = json!("abc");
        let set = PublicJwkSet::parse(&set_of(&[jwk])).unwrap();
        assert_eq!(set.to_json()["keys"][0], SIGNERS[2].0.public_jwk());
    }

    proptest! {
        /// Invariants: `parse` never panics on any JSON, and what it accepts round-trips
        /// through its canonical text.
        #[test]
        fn parse_never_panics(
            kty in prop::sample::select(vec!["EC", "RSA", "OKP", "oct", "x"]),
            crv in prop::sample::select(vec!["P-256", "Ed25519", "P-384", ""]),
            x in prop::collection::vec(any::<u8>(), 0..40),
            y in prop::collection::vec(any::<u8>(), 0..40),
            n in prop::collection::vec(any::<u8>(), 0..300),
            e in prop::collection::vec(any::<u8>(), 0..5),
            extra in "\\PC{0,20}",
        ) {
            let jwk = json!({
                "kty": kty, "crv": crv, "x": URL_SAFE_NO_PAD.encode(&x),
                "y": URL_SAFE_NO_PAD.encode(&y), "n": URL_SAFE_NO_PAD.encode(&n),
                "e": URL_SAFE_NO_PAD.encode(&e), "kid": extra,
            });
            if let Ok(set) = PublicJwkSet::parse(&set_of(&[jwk])) {
                let again = PublicJwkSet::from_text(&set.to_json().to_string()).unwrap();
                prop_assert_eq!(again, set);
            }
        }

        #[test]
        fn from_text_never_panics(text in "\\PC{0,200}") {
            let _ = PublicJwkSet::from_text(&text);
        }
    }
}
