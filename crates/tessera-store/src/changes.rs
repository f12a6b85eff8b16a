//! Change notices between nodes: what a node announces after a change, so that every other
//! node drops its cached copy at once instead of waiting for the copy's time to live.
//!
//! A notice is sent after its change has committed. It carries only which record changed,
//! never its content: a node that receives one reads the record again when it next needs it.
//! Notices can be lost (a node's listening connection drops; a node dies between its commit
//! and its announcement), so a feed reports a gap when it may have missed some, and caches
//! keep a time to live as the safety net.

use async_trait::async_trait;
use tessera_model::{ClientId, IssuerId};

/// A change whose cached copies, on any node, are now stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// An issuer's record (settings, slug) changed or it was deleted; its clients and keys go
    /// with it.
    Issuer(IssuerId),
    /// A client changed (its secret rotated, say) or was deleted.
    Client(IssuerId, ClientId),
    /// An issuer's signing keys changed (rotation, a new chain).
    Keys(IssuerId),
}

impl Change {
    /// The notice's text: `issuer iss_…`, `client iss_… cli_…`, `keys iss_…`.
    pub fn encode(&self) -> String {
        match self {
            Self::Issuer(issuer) => format!("issuer {issuer}"),
            Self::Client(issuer, client) => format!("client {issuer} {client}"),
            Self::Keys(issuer) => format!("keys {issuer}"),
        }
    }

    /// Reads a notice's text; `None` for anything [`Change::encode`] does not write (a notice
    /// from a newer node, say, which the caller treats as a gap).
    pub fn decode(text: &str) -> Option<Self> {
        let mut words = text.split(' ');
        let change = match (words.next()?, words.next(), words.next()) {
            ("issuer", Some(issuer), None) => Self::Issuer(IssuerId::parse(issuer).ok()?),
            ("client", Some(issuer), Some(client)) => {
                Self::Client(IssuerId::parse(issuer).ok()?, ClientId::parse(client).ok()?)
            }
            ("keys", Some(issuer), None) => Self::Keys(IssuerId::parse(issuer).ok()?),
            _ => return None,
        };
        words.next().is_none().then_some(change)
    }
}

/// What a change feed says next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A node (this one included) announced a change.
    Changed(Change),
    /// Notices may have been missed (the listening connection was lost and is back, or a
    /// notice could not be read): every cached copy is suspect.
    Gap,
}

/// The changes every node announces, as one stream.
#[async_trait]
pub trait ChangeFeed: Send {
    /// Waits for the next notice. Reconnects by itself; reports [`Notice::Gap`] when the
    /// connection was lost or could not be made again (a reconnection that follows a failed
    /// one is not reported again: the caches' time to live covers that stretch).
    async fn next(&mut self) -> Notice;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn notices_it_does_not_write_are_not_read() {
        let issuer = IssuerId::new().to_string();
        for text in [
            String::new(),
            "issuer".to_owned(),
            format!("issuer {issuer} extra"),
            format!("keys  {issuer}"),
            format!("client {issuer}"),
            format!("user {issuer}"),
            "issuer iss_not-an-id".to_owned(),
        ] {
            assert_eq!(Change::decode(&text), None, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn any_change_reads_back_as_itself(issuer: u128, client: u128, kind in 0..3u8) {
            let issuer = IssuerId::from_uuid(uuid::Uuid::from_u128(issuer));
            let change = match kind {
                0 => Change::Issuer(issuer),
                1 => Change::Client(issuer, ClientId::from_uuid(uuid::Uuid::from_u128(client))),
                _ => Change::Keys(issuer),
            };
            prop_assert_eq!(Change::decode(&change.encode()), Some(change));
        }

        #[test]
        fn a_cut_or_extended_notice_reads_as_nothing_or_as_what_it_spells(
            issuer: u128,
            client: u128,
            kind in 0..3u8,
            keep in 0usize..=80,
            extra in "[ a-z0-9_]{0,3}",
        ) {
            let issuer = IssuerId::from_uuid(uuid::Uuid::from_u128(issuer));
            let change = match kind {
                0 => Change::Issuer(issuer),
                1 => Change::Client(issuer, ClientId::from_uuid(uuid::Uuid::from_u128(client))),
                _ => Change::Keys(issuer),
            };
            let encoded = change.encode();
            let text = format!("{}{extra}", &encoded[..keep.min(encoded.len())]);
            match Change::decode(&text) {
                Some(read) => prop_assert_eq!(read.encode(), text),
                None => prop_assert_ne!(text, encoded),
            }
        }
    }
}
