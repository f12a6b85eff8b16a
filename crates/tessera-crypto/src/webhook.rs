//! Webhook signatures as Standard Webhooks defines them (<https://www.standardwebhooks.com>).
//!
//! A signing secret is 32 random bytes, handed out as `whsec_` followed by their standard
//! base64. A message is signed with HMAC-SHA256 over `{msg_id}.{timestamp}.{payload}` and the
//! signature is sent as `v1,` followed by the base64 of the MAC. The secret must be kept in
//! clear to sign, so it is stored sealed with the master key, never hashed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::random_bytes;

/// The prefix of a signing secret's public form.
pub const SECRET_PREFIX: &str = "whsec_";

/// A webhook signing secret: 32 random bytes. Its `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret([u8; 32]);

impl WebhookSecret {
    /// A new secret from the operating system's random source.
    pub fn generate() -> Self {
        Self(random_bytes())
    }

    /// Rebuilds a secret from its bytes (as unsealed from storage).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes, to seal for storage and to sign with.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The secret as handed out: `whsec_` and the standard base64 of the bytes.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(self.0))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` value for a message: `v1,` and the base64 of
/// HMAC-SHA256(`secret`, `{msg_id}.{timestamp}.{payload}`).
pub fn sign(secret: &[u8], msg_id: &str, timestamp: i64, payload: &[u8]) -> String {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of every length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    /// The example of the Standard Webhooks specification and its reference libraries.
    #[test]
    fn signs_the_published_test_vector() {
        let secret = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign(
                &secret,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    /// HMAC-SHA256 written out from RFC 2104 with plain SHA-256, as an independent check.
    fn reference_hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let inner_key: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
        let outer_key: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::digest([inner_key.as_slice(), message].concat());
        Sha256::digest([outer_key.as_slice(), inner.as_slice()].concat()).into()
    }

    #[test]
    fn a_generated_secret_signs_like_an_independent_hmac() {
        let secret = WebhookSecret::generate();
        let exposed = secret.expose();
        let encoded = exposed.strip_prefix(SECRET_PREFIX).unwrap();
        let decoded = STANDARD.decode(encoded).unwrap();
        assert_eq!(decoded, secret.as_bytes());
        let payload = br#"{"type":"user.created"}"#;
        let signature = sign(&decoded, "msg_1", 1_750_000_000, payload);
        let expected = reference_hmac(&decoded, b"msg_1.1750000000.{\"type\":\"user.created\"}");
        assert_eq!(signature, format!("v1,{}", STANDARD.encode(expected)));
        assert_ne!(WebhookSecret::generate(), secret);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
    }
}
