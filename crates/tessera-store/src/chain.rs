//! The per-issuer hash chain over events: the one hash function that the store uses when it
//! appends and `tessera audit verify` uses when it checks.
//!
//! Each event stores `seq` (1, 2, … per issuer), `prev_hash` (the previous event's `hash`,
//! [`GENESIS_HASH`](tessera_model::GENESIS_HASH) for the first) and `hash`. Changing a stored
//! event's contents breaks its own hash; recomputing that hash breaks the next event's
//! `prev_hash`; deleting an event leaves a gap in `seq`. (Cutting off the newest events is not
//! detectable from the chain alone: that needs the last hash kept elsewhere.)

use tessera_model::ChainFields;

/// SHA-256 over `prev_hash` and the event's canonical encoding.
pub fn chain_hash(prev_hash: &[u8; 32], fields: &ChainFields<'_>) -> [u8; 32] {
    tessera_crypto::sha256(&fields.canonical_bytes(prev_hash))
}
