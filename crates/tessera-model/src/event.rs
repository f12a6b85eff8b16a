//! Events: the immutable record of what happened, appended to the outbox in the same
//! transaction as the change they describe (DESIGN.md §4).

use crate::{ClientId, EventId, IssuerId, UnixTime, UserId};

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// Tessera itself (bootstrap, background jobs) or an operator at the command line.
    System,
    /// A Core API client of the `system` issuer.
    AdminClient(ClientId),
    /// A signed-in user.
    User(UserId),
}

impl Actor {
    /// The storage spelling: `system`, `client:cli_…` or `user:usr_…`.
    pub fn to_storage(self) -> String {
        match self {
            Self::System => "system".to_owned(),
            Self::AdminClient(id) => format!("client:{id}"),
            Self::User(id) => format!("user:{id}"),
        }
    }

    /// Parses the storage spelling.
    pub fn from_storage(text: &str) -> Option<Self> {
        match text.split_once(':') {
            None if text == "system" => Some(Self::System),
            Some(("client", id)) => ClientId::parse(id).ok().map(Self::AdminClient),
            Some(("user", id)) => UserId::parse(id).ok().map(Self::User),
            _ => None,
        }
    }
}

/// An event about to be written with the change it describes. The store writes it to the
/// issuer the change belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Its id, chosen by the caller so that the caller can refer to it.
    pub id: EventId,
    /// Dotted type, e.g. `user.created`.
    pub event_type: &'static str,
    /// The public id of what it is about.
    pub subject: String,
    /// Who caused it.
    pub actor: Actor,
    /// Type-specific detail (never a secret).
    pub data: serde_json::Value,
    /// When it happened.
    pub occurred_at: UnixTime,
}

impl NewEvent {
    /// An event with a fresh id.
    pub fn new(
        event_type: &'static str,
        subject: impl ToString,
        actor: Actor,
        data: serde_json::Value,
        occurred_at: UnixTime,
    ) -> Self {
        Self {
            id: EventId::new(),
            event_type,
            subject: subject.to_string(),
            actor,
            data,
            occurred_at,
        }
    }
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its id.
    pub id: EventId,
    /// The issuer whose trail it belongs to.
    pub issuer_id: IssuerId,
    /// Dotted type.
    pub event_type: String,
    /// The public id of what it is about.
    pub subject: String,
    /// Who caused it.
    pub actor: Actor,
    /// Type-specific detail.
    pub data: serde_json::Value,
    /// When it happened.
    pub occurred_at: UnixTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_through_storage() {
        for actor in [
            Actor::System,
            Actor::AdminClient(ClientId::new()),
            Actor::User(UserId::new()),
        ] {
            assert_eq!(Actor::from_storage(&actor.to_storage()), Some(actor));
        }
        assert_eq!(Actor::from_storage("client:usr_00"), None);
        assert_eq!(Actor::from_storage("nobody"), None);
    }
}
