//! Events: the immutable record of what happened, appended to the outbox in the same
//! transaction as the change they describe (DESIGN.md §4).
//!
//! An event made while a request is served carries that request's [`RequestContext`]
//! (client address, user agent, request id). The HTTP layer sets the request's
//! [`RequestOrigin`] for its duration ([`RequestOrigin::scope`]) and [`NewEvent::new`] reads
//! it, so the forty-odd use cases that write events do not each take it as a parameter; it is
//! ambient the way a tracing span is. The origin is kept as the request brought it (an address,
//! shared header values) and turned into text only when an event is made: most requests
//! (tokens, JWKS) make none and pay nothing for it. Work outside a request (the delivery
//! worker, the command line) has none.

use std::future::Future;
use std::net::IpAddr;

use crate::{ClientId, EventId, IssuerId, UnixTime, UserId};

/// The longest user agent kept with an event, in characters.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// The request an event was caused by, as far as Tessera saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The client's address: the TCP peer (a proxy in front of Tessera is that peer).
    pub ip: Option<String>,
    /// The `User-Agent` header, cut to [`MAX_USER_AGENT_CHARS`].
    pub user_agent: Option<String>,
    /// The `x-request-id` of the request (Tessera's own or the caller's).
    pub request_id: Option<String>,
}

/// What a request shows of itself, as it arrived; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct RequestOrigin {
    /// The TCP peer's address.
    pub peer: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<http::HeaderValue>,
    /// The `x-request-id` header.
    pub request_id: Option<http::HeaderValue>,
}

tokio::task_local! {
    static CURRENT: RequestOrigin;
}

impl RequestOrigin {
    /// Runs `future` with `self` as the origin of the events it makes.
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }

    /// The context an event records: the address in its canonical text form (an IPv4-mapped
    /// IPv6 address as IPv4), the headers that are text.
    fn context(&self) -> RequestContext {
        fn text(value: &Option<http::HeaderValue>) -> Option<&str> {
            value.as_ref().and_then(|v| v.to_str().ok())
        }
        RequestContext::new(
            self.peer.map(|ip| ip.to_canonical().to_string()),
            text(&self.user_agent),
            text(&self.request_id).map(str::to_owned),
        )
    }
}

impl RequestContext {
    /// A context from what a request shows, the user agent cut to its limit.
    pub fn new(ip: Option<String>, user_agent: Option<&str>, request_id: Option<String>) -> Self {
        Self {
            ip,
            user_agent: user_agent.map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
            request_id,
        }
    }

    /// The context of the request being served, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(RequestOrigin::context).ok()
    }

    /// Whether it says nothing at all.
    pub fn is_empty(&self) -> bool {
        self.ip.is_none() && self.user_agent.is_none() && self.request_id.is_none()
    }
}

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
    /// The request that caused it, if it was caused by one.
    pub context: Option<RequestContext>,
}

impl NewEvent {
    /// An event with a fresh id, in the context of the request being served, if any.
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
            context: RequestContext::current().filter(|c| !c.is_empty()),
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
    /// The request that caused it, if any.
    pub context: Option<RequestContext>,
    /// Its place in the issuer's chain: 1 for the issuer's first event, then 2, 3, …
    pub seq: i64,
    /// The `hash` of the issuer's previous event ([`GENESIS_HASH`] for `seq` 1).
    pub prev_hash: [u8; 32],
    /// SHA-256 of `prev_hash` and [`ChainFields::canonical_bytes`] of this event.
    pub hash: [u8; 32],
}

impl Event {
    /// The fields the chain hash covers, as stored.
    pub fn chain_fields(&self) -> ChainFields<'_> {
        ChainFields {
            issuer_id: self.issuer_id,
            seq: self.seq,
            id: self.id,
            event_type: &self.event_type,
            subject: &self.subject,
            actor: self.actor,
            data: &self.data,
            occurred_at: self.occurred_at,
            context: self.context.as_ref(),
        }
    }
}

/// The `prev_hash` of an issuer's first event.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// What an event's chain hash covers: everything about it except the hashes themselves.
///
/// The writer (the store, when it appends) and the verifier (`tessera audit verify`) both
/// hash [`ChainFields::canonical_bytes`], so they cannot disagree on the encoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainFields<'a> {
    /// The issuer whose trail it belongs to.
    pub issuer_id: IssuerId,
    /// Its place in the chain.
    pub seq: i64,
    /// Its id.
    pub id: EventId,
    /// Dotted type.
    pub event_type: &'a str,
    /// The public id of what it is about.
    pub subject: &'a str,
    /// Who caused it.
    pub actor: Actor,
    /// Type-specific detail.
    pub data: &'a serde_json::Value,
    /// When it happened.
    pub occurred_at: UnixTime,
    /// The request that caused it, if any.
    pub context: Option<&'a RequestContext>,
}

/// Names the encoding, so that a later version can never collide with this one.
const CHAIN_DOMAIN: &[u8] = b"tessera/event-chain/v1";

/// Introduces the request context in the canonical encoding.
const CONTEXT_MARKER: &[u8] = b"context";

impl ChainFields<'_> {
    /// The bytes hashed for this event after `prev_hash`: a version tag, then every field
    /// as an 8-byte big-endian length followed by its bytes (ids as their 16 UUID bytes,
    /// numbers as 8 big-endian bytes, the actor in its storage spelling, `data` as compact
    /// JSON text), and, only for an event with a request context, a context marker and its
    /// three fields (absent ones as empty). Length prefixes make the encoding unambiguous: no
    /// two different events share it, whatever their strings contain; and events without a
    /// context hash as they did before contexts were recorded.
    pub fn canonical_bytes(&self, prev_hash: &[u8; 32]) -> Vec<u8> {
        let data = self.data.to_string();
        let actor = self.actor.to_storage();
        let (issuer, id) = (self.issuer_id.as_uuid(), self.id.as_uuid());
        let fields: [&[u8]; 9] = [
            prev_hash,
            issuer.as_bytes(),
            &self.seq.to_be_bytes(),
            id.as_bytes(),
            self.event_type.as_bytes(),
            self.subject.as_bytes(),
            actor.as_bytes(),
            data.as_bytes(),
            &self.occurred_at.0.to_be_bytes(),
        ];
        let mut out = Vec::with_capacity(
            CHAIN_DOMAIN.len() + fields.iter().map(|f| f.len() + 8).sum::<usize>(),
        );
        out.extend_from_slice(CHAIN_DOMAIN);
        let mut put = |field: &[u8]| {
            out.extend_from_slice(&(field.len() as u64).to_be_bytes());
            out.extend_from_slice(field);
        };
        for field in fields {
            put(field);
        }
        // An empty context is stored as none (its columns are all NULL), so it hashes as none.
        if let Some(context) = self.context.filter(|c| !c.is_empty()) {
            put(CONTEXT_MARKER);
            for field in [&context.ip, &context.user_agent, &context.request_id] {
                put(field.as_deref().unwrap_or("").as_bytes());
            }
        }
        out
    }
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

    #[test]
    fn the_canonical_encoding_separates_fields() {
        let data = serde_json::json!({});
        let fields = |event_type, subject| ChainFields {
            issuer_id: IssuerId::from_uuid(uuid::Uuid::nil()),
            seq: 1,
            id: EventId::from_uuid(uuid::Uuid::nil()),
            event_type,
            subject,
            actor: Actor::System,
            data: &data,
            occurred_at: UnixTime(0),
            context: None,
        };
        // The same characters split differently between two fields encode differently.
        assert_ne!(
            fields("user.created", "x").canonical_bytes(&GENESIS_HASH),
            fields("user.create", "dx").canonical_bytes(&GENESIS_HASH)
        );
        assert_ne!(
            fields("a", "b").canonical_bytes(&GENESIS_HASH),
            fields("a", "b").canonical_bytes(&[1; 32])
        );
        // A context is covered, and which of its fields holds a value matters.
        let context = |ip: Option<&str>, ua: Option<&str>| RequestContext {
            ip: ip.map(str::to_owned),
            user_agent: ua.map(str::to_owned),
            request_id: None,
        };
        let with = |c: &RequestContext| {
            ChainFields {
                context: Some(c),
                ..fields("a", "b")
            }
            .canonical_bytes(&GENESIS_HASH)
        };
        let plain = fields("a", "b").canonical_bytes(&GENESIS_HASH);
        assert_ne!(with(&context(Some("192.0.2.1"), None)), plain);
        assert_ne!(
            with(&context(Some("x"), None)),
            with(&context(None, Some("x")))
        );
        assert_eq!(with(&context(None, None)), plain);
    }

    #[tokio::test]
    async fn events_made_inside_a_request_scope_carry_its_context() {
        let make = || {
            NewEvent::new(
                "user.created",
                "usr_x",
                Actor::System,
                serde_json::json!({}),
                UnixTime(0),
            )
        };
        assert_eq!(make().context, None);
        let origin = RequestOrigin {
            peer: Some("::ffff:192.0.2.7".parse().unwrap()),
            user_agent: Some(http::HeaderValue::from_str(&"u".repeat(1000)).unwrap()),
            request_id: Some(http::HeaderValue::from_static("req-1")),
        };
        let inside = origin.scope(async { make() }).await;
        let carried = inside.context.unwrap();
        assert_eq!(
            carried.ip.as_deref(),
            Some("192.0.2.7"),
            "IPv4-mapped as IPv4"
        );
        assert_eq!(carried.request_id.as_deref(), Some("req-1"));
        assert_eq!(carried.user_agent.unwrap().len(), MAX_USER_AGENT_CHARS);
        // A request that shows nothing gives no context.
        let empty = RequestOrigin::default().scope(async { make() }).await;
        assert_eq!(empty.context, None);
    }
}
