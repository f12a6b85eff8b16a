//! Idempotency keys of the Core API (issue 3; the IETF draft "The Idempotency-Key HTTP Header
//! Field", with Stripe's behaviour as the model): a retry of a POST within 24 hours gets the
//! first response again instead of repeating the change.
//!
//! A key belongs to the Core API credential that chose it, not to an issuer, so two
//! credentials never see each other's keys. The request is identified by a fingerprint of its
//! method, target and body; the same key with another fingerprint is refused. The edge
//! decides which responses are worth keeping; this module holds the rules that need the
//! clock and the store.

use tessera_store::{Begin, StoredResponse};

use crate::token::CoreCaller;
use crate::{Core, CoreError};

/// How long a key is remembered, in seconds: 24 hours.
pub const KEY_LIFETIME: i64 = 24 * 60 * 60;

/// The longest key accepted, in characters.
pub const MAX_KEY_LENGTH: usize = 255;

/// A key as a client sent it: 1 to [`MAX_KEY_LENGTH`] visible ASCII characters (no spaces,
/// no control characters), compared exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// Why a key was refused (the text is for the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an idempotency key is 1 to 255 visible ASCII characters")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    /// Accepts `text` if it is a valid key.
    pub fn parse(text: &str) -> Result<Self, InvalidIdempotencyKey> {
        let valid = (1..=MAX_KEY_LENGTH).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidIdempotencyKey)
        }
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What identifies a request under a key: SHA-256 over its method, its target (path and
/// query) and its body. Neither method nor target can contain a line feed, so the
/// separators make the encoding unambiguous.
pub fn request_fingerprint(method: &str, target: &str, body: &[u8]) -> [u8; 32] {
    let mut input = Vec::with_capacity(method.len() + target.len() + body.len() + 2);
    input.extend_from_slice(method.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(target.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(body);
    tessera_crypto::sha256(&input)
}

impl Core {
    /// Claims `key` for the request with `fingerprint`, or learns what holds it (see
    /// [`Begin`]). A key is remembered for [`KEY_LIFETIME`] from its first use.
    pub async fn begin_idempotent(
        &self,
        caller: &CoreCaller,
        key: &IdempotencyKey,
        fingerprint: &[u8; 32],
    ) -> Result<Begin, CoreError> {
        let now = self.clock.now();
        Ok(self
            .store
            .idempotency()
            .begin(
                caller.client_id,
                key.as_str(),
                fingerprint,
                now,
                now.plus_seconds(KEY_LIFETIME),
            )
            .await?)
    }

    /// Keeps the response of a request that [started](Begin::Started) `key`.
    pub async fn finish_idempotent(
        &self,
        caller: &CoreCaller,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), CoreError> {
        Ok(self
            .store
            .idempotency()
            .finish(caller.client_id, key.as_str(), response)
            .await?)
    }

    /// Releases `key` after a failure a retry may fix, so the retry runs again.
    pub async fn abandon_idempotent(
        &self,
        caller: &CoreCaller,
        key: &IdempotencyKey,
    ) -> Result<(), CoreError> {
        Ok(self
            .store
            .idempotency()
            .abandon(caller.client_id, key.as_str())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse("8e03978e-40d5-43e8-bc93-6894a57f9324").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse("tab\there").is_err());
        assert!(IdempotencyKey::parse("café").is_err());
    }

    #[test]
    fn fingerprints_tell_method_target_and_body_apart() {
        let base = request_fingerprint("POST", "/core/v1/issuers", b"{}");
        assert_eq!(base, request_fingerprint("POST", "/core/v1/issuers", b"{}"));
        assert_ne!(base, request_fingerprint("PUT", "/core/v1/issuers", b"{}"));
        assert_ne!(
            base,
            request_fingerprint("POST", "/core/v1/issuers/a", b"{}")
        );
        assert_ne!(
            base,
            request_fingerprint("POST", "/core/v1/issuers", b"{ }")
        );
    }
}
