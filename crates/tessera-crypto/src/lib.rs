//! Cryptographic primitives for Tessera.
//!
//! This crate owns every decision about *how* secrets are made, stored and compared, so
//! that the rest of the code base never has to choose an algorithm:
//!
//! - [`random_bytes`] is the only source of randomness for secrets (the operating system's).
//! - [`SecretToken`] is a high-entropy bearer secret (client secrets, codes, reset links).
//!   It is stored only as its [`SecretHash`]: SHA-256 is the right hash for 256 random bits
//!   (a password hash would only slow the hot path down, DESIGN.md §7), and comparison is in
//!   constant time.
//! - [`MasterKey`] encrypts what must be recoverable (private signing keys, upstream secrets)
//!   with AES-256-GCM, binding each ciphertext to its purpose through associated data.
//!
//! - [`jws`] signs and verifies compact JWS (JWTs) with keys parsed once.
//! - [`jwk`] parses the public JWK Sets clients register for `private_key_jwt`.
//! - [`password`] hashes passwords with Argon2id (OWASP parameters) and verifies them.
//! - [`webhook`] makes webhook signing secrets and signs payloads the Standard Webhooks way.
//!
//! No I/O and no clock: the server crate reads the key file, this crate only uses the bytes.

pub mod jwk;
pub mod jws;
pub mod password;
pub mod webhook;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Errors of this crate. Their text is safe to show to an operator: it never contains key
/// material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// A master key was not 32 bytes of base64.
    #[error("a master key must be 32 bytes encoded as base64 or base64url ({0})")]
    InvalidMasterKey(&'static str),
    /// A sealed value could not be opened: wrong key, wrong purpose, or tampered data.
    #[error("the encrypted value could not be decrypted with this master key")]
    Decrypt,
}

/// Fills an array with bytes from the operating system's CSPRNG.
///
/// # Panics
/// When the operating system has no random source; nothing secure can run then.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system's random source is unavailable");
    out
}

/// The SHA-256 digest of `bytes`, for fingerprints that are not secrets (e.g. the request an
/// idempotency key was first used with).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `bytes` in base64url without padding (RFC 4648 §5), the encoding of JOSE and of PKCE.
pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A freshly generated bearer secret: 32 random bytes, base64url without padding (43 chars).
///
/// The value is shown once to whoever receives it and then only its [`SecretHash`] is kept.
pub struct SecretToken(String);

impl SecretToken {
    /// Generates a new secret from the operating system's random source.
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }

    /// The secret as it is handed out.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash under which the secret is stored.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

/// SHA-256 of a bearer secret, the only form in which such a secret is stored (ARCHITECTURE.md
/// invariant 5).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Hashes a presented secret.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Rebuilds a hash read from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes to store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `presented` hashes to this value, compared in constant time.
    pub fn verify(&self, presented: &str) -> bool {
        constant_time_eq(&Self::of(presented).0, &self.0)
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// The installation's master key: 32 bytes that encrypt private keys and upstream secrets at
/// rest. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

/// Length in bytes of the nonce that prefixes every sealed value.
const NONCE_LEN: usize = 12;

impl MasterKey {
    /// Generates a new master key.
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    /// Parses a key written as base64url (as Tessera writes it) or standard base64, with or
    /// without padding and surrounding white space.
    pub fn from_encoded(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let trimmed = text.trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD
            .decode(trimmed)
            .or_else(|_| STANDARD.decode(text))
            .map_err(|_| CryptoError::InvalidMasterKey("not base64"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::InvalidMasterKey("wrong length"))?;
        Ok(Self(bytes))
    }

    /// The key as base64url without padding, the form written to the key file.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Encrypts `plaintext` for `purpose` (associated data: a value sealed for one purpose
    /// cannot be opened as another). Output: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, purpose: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce_bytes),
                Payload {
                    msg: plaintext,
                    aad: purpose,
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts a value made by [`MasterKey::seal`] with the same key and purpose.
    pub fn open(&self, purpose: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: purpose,
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.0).into())
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_secret_token_verifies_against_its_own_hash_only() {
        let token = SecretToken::generate();
        assert_eq!(token.expose().len(), 43);
        assert!(token.hash().verify(token.expose()));
        assert!(!token.hash().verify(SecretToken::generate().expose()));
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn a_sealed_value_opens_only_with_the_same_key_and_purpose() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"signing-key", b"private bytes");
        assert_eq!(key.open(b"signing-key", &sealed).unwrap(), b"private bytes");
        assert_eq!(key.open(b"other", &sealed), Err(CryptoError::Decrypt));
        assert_eq!(
            MasterKey::generate().open(b"signing-key", &sealed),
            Err(CryptoError::Decrypt)
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            key.open(b"signing-key", &tampered),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn master_keys_parse_in_both_base64_alphabets() {
        let key = MasterKey::generate();
        let reparsed = MasterKey::from_encoded(&format!("  {}\n", key.encode())).unwrap();
        assert_eq!(reparsed.0, key.0);
        let standard = STANDARD.encode(key.0);
        assert_eq!(MasterKey::from_encoded(&standard).unwrap().0, key.0);
        assert_eq!(
            MasterKey::from_encoded("c2hvcnQ").unwrap_err(),
            CryptoError::InvalidMasterKey("wrong length")
        );
        assert_eq!(
            MasterKey::from_encoded("not base64!").unwrap_err(),
            CryptoError::InvalidMasterKey("not base64")
        );
    }

    proptest! {
        /// The master-key parser reads operator input: it never panics and accepts exactly
        /// the inputs that decode to 32 bytes.
        #[test]
        fn master_key_parser_never_panics(text in ".{0,80}") {
            if let Ok(key) = MasterKey::from_encoded(&text) {
                prop_assert_eq!(MasterKey::from_encoded(&key.encode()).unwrap().0, key.0);
            }
        }

        #[test]
        fn opening_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let key = MasterKey::generate();
            prop_assert_eq!(key.open(b"p", &bytes), Err(CryptoError::Decrypt));
        }
    }
}
