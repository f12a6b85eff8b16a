//! Typed identifiers.
//!
//! Internally every id is a UUIDv7 (time-ordered, so keyset pagination by id is pagination by
//! creation time). On the wire an id carries a type prefix, `usr_0190…`, so an id of the wrong
//! kind is refused by the parser instead of silently matching nothing.

use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Why a public id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id did not start with the expected prefix.
    #[error("expected an id starting with `{expected}_`")]
    WrongPrefix {
        /// The prefix this kind of id carries.
        expected: &'static str,
    },
    /// The part after the prefix was not 32 lowercase hex digits.
    #[error("the id is malformed")]
    Malformed,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// The prefix of this id's public form.
            pub const PREFIX: &'static str = $prefix;

            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps a UUID read from storage.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID under which the id is stored.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses the public form, `prefix_` followed by 32 lowercase hex digits.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                let rest = text
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .ok_or(IdError::WrongPrefix { expected: $prefix })?;
                if rest.len() != 32 || !rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    return Err(IdError::Malformed);
                }
                Uuid::try_parse(rest).map(Self).map_err(|_| IdError::Malformed)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.simple())
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, IdError> {
                Self::parse(text)
            }
        }
    };
}

typed_id!(
    /// Identifies an issuer (tenant).
    IssuerId, "iss"
);
typed_id!(
    /// Identifies a client (application). Its public form is the OAuth `client_id`.
    ClientId, "cli"
);
typed_id!(
    /// Identifies a user.
    UserId, "usr"
);
typed_id!(
    /// Identifies a signing key record (its JOSE `kid` is this id's public form).
    KeyId, "key"
);
typed_id!(
    /// Identifies an event.
    EventId, "evt"
);
typed_id!(
    /// Identifies a single-use ticket record.
    TicketId, "tkt"
);
typed_id!(
    /// Identifies a webhook subscription.
    WebhookId, "whk"
);
typed_id!(
    /// Identifies an interaction: an authorization request waiting for the user.
    InteractionId, "int"
);
typed_id!(
    /// Identifies a browser session at an issuer (its public form is the `sid` claim).
    SessionId, "ses"
);
typed_id!(
    /// Identifies a user's consent to a client.
    GrantId, "grt"
);
typed_id!(
    /// Identifies a token family: what one authorization issued.
    FamilyId, "fam"
);
typed_id!(
    /// Identifies an outbound delivery (a back-channel logout, a webhook event).
    DeliveryId, "dlv"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn public_ids_round_trip_and_refuse_other_kinds() {
        let id = UserId::new();
        let text = id.to_string();
        assert!(text.starts_with("usr_"));
        assert_eq!(text.parse::<UserId>(), Ok(id));
        assert_eq!(
            ClientId::parse(&text),
            Err(IdError::WrongPrefix { expected: "cli" })
        );
        assert_eq!(UserId::parse("usr_"), Err(IdError::Malformed));
        assert_eq!(
            UserId::parse(&text.to_uppercase().replace("USR", "usr")),
            Err(IdError::Malformed)
        );
    }

    #[test]
    fn ids_sort_by_creation() {
        let first = EventId::new();
        let second = EventId::new();
        assert!(first < second);
    }

    proptest! {
        #[test]
        fn id_parser_never_panics_and_accepts_only_canonical_forms(text in "(usr_)?[0-9a-fA-F-]{0,40}") {
            if let Ok(id) = UserId::parse(&text) {
                prop_assert_eq!(id.to_string(), text);
            }
        }
    }
}
