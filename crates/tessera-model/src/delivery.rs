//! Outbound deliveries: the durable queue of every call Tessera makes to someone else's
//! endpoint: OpenID Back-Channel Logout tokens and webhook events.
//!
//! A delivery is written in the transaction of the change that causes it (a session's end
//! writes its logout deliveries), so nothing is sent for a change that did not happen and
//! nothing is lost for one that did. The worker (`tessera-webhooks`) claims due deliveries with
//! a lease, so several nodes may run it and no delivery is attempted twice at once; it records
//! each outcome, retries with backoff, and dead-letters after the last attempt.
//!
//! What a delivery carries is what is needed to *build* the request at send time, not the
//! request itself: a logout token is signed at each attempt with a fresh `iat`/`exp` (OpenID
//! Back-Channel Logout 1.0 §2.4) while its `jti`, stored here, stays the same across retries;
//! a webhook delivery stores its event's id and type (the type so that a failure can be
//! judged without reading the event), and the event is read and signed with the
//! subscription's current secret at each attempt.

use crate::{ClientId, DeliveryId, EventId, IssuerId, UnixTime, Webhook, WebhookId};

/// The longest `last_error` kept, in characters: enough to tell a refused connection from a
/// timeout, not a place for response bodies.
pub const MAX_DELIVERY_ERROR_CHARS: usize = 200;

/// What a delivery is, which decides how it is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryKind {
    /// A logout token to a client's `backchannel_logout_uri` (OpenID Back-Channel Logout 1.0).
    BackchannelLogout,
    /// An event to a webhook subscription (Standard Webhooks, CloudEvents envelope).
    Webhook,
}

impl DeliveryKind {
    /// The storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BackchannelLogout => "backchannel_logout",
            Self::Webhook => "webhook",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "backchannel_logout" => Some(Self::BackchannelLogout),
            "webhook" => Some(Self::Webhook),
            _ => None,
        }
    }
}

/// Where a delivery is in its life. `Delivered` and `Dead` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted, under a lease).
    Pending,
    /// The receiver accepted it.
    Delivered,
    /// Every attempt failed; kept for inspection, never attempted again.
    Dead,
}

impl DeliveryState {
    /// The storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// One outbound call, with its attempts so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Internal id; public form `dlv_…`.
    pub id: DeliveryId,
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// What it is.
    pub kind: DeliveryKind,
    /// The client it is for (back-channel logout), if any: deleting the client drops it.
    pub client_id: Option<ClientId>,
    /// The subscription it is for (webhook event), if any: deleting the webhook drops it.
    pub webhook_id: Option<WebhookId>,
    /// Where it is sent.
    pub target_url: String,
    /// What is needed to build the request at send time (for a logout: `sub`, `sid`, `jti`).
    pub payload: serde_json::Value,
    /// Pending, delivered or dead.
    pub state: DeliveryState,
    /// Attempts started so far (a claim counts as one, so a crash mid-attempt is counted).
    pub attempts: u32,
    /// When it is due.
    pub next_attempt_at: UnixTime,
    /// The worker holding it, while an attempt runs.
    pub lease_owner: Option<String>,
    /// Until when that worker holds it; after that, another may claim it.
    pub lease_until: Option<UnixTime>,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, briefly (at most [`MAX_DELIVERY_ERROR_CHARS`]).
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: UnixTime,
    /// When it last changed.
    pub updated_at: UnixTime,
}

impl Delivery {
    /// A new delivery, due at once.
    pub fn pending(
        issuer_id: IssuerId,
        kind: DeliveryKind,
        client_id: Option<ClientId>,
        target_url: String,
        payload: serde_json::Value,
        now: UnixTime,
    ) -> Self {
        Self {
            id: DeliveryId::new(),
            issuer_id,
            kind,
            client_id,
            webhook_id: None,
            target_url,
            payload,
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_at: now,
            lease_owner: None,
            lease_until: None,
            last_status: None,
            last_error: None,
            created_at: now,
            updated_at: now,
        }
    }
}

impl Delivery {
    /// A new delivery of event `event_id`, of type `event_type`, to `webhook`, due at once.
    /// The type is kept so that a failure of this delivery can say what failed to arrive.
    pub fn webhook_event(
        webhook: &Webhook,
        event_id: EventId,
        event_type: &str,
        now: UnixTime,
    ) -> Self {
        Self {
            webhook_id: Some(webhook.id),
            ..Self::pending(
                webhook.issuer_id,
                DeliveryKind::Webhook,
                None,
                webhook.url.clone(),
                serde_json::json!({
                    "event_id": event_id.to_string(),
                    "event_type": event_type,
                }),
                now,
            )
        }
    }

    /// The type of the event a webhook delivery carries.
    pub fn event_type(&self) -> Option<&str> {
        self.payload
            .get("event_type")
            .and_then(serde_json::Value::as_str)
    }

    /// The event a webhook delivery carries.
    pub fn event_id(&self) -> Option<EventId> {
        self.payload
            .get("event_id")
            .and_then(serde_json::Value::as_str)
            .and_then(|text| EventId::parse(text).ok())
    }
}

/// A delivery's request as built at send time (`tessera-core` builds it, the worker in
/// `tessera-webhooks` sends it as is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// Where to `POST`.
    pub url: String,
    /// Headers, as (name, value).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Which answers mean the receiver accepted it; any other status, like a network error,
    /// is a failed attempt.
    pub accepted: AcceptedStatuses,
}

/// The answers that count as success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptedStatuses {
    /// Any 2xx (Standard Webhooks).
    AnySuccess,
    /// These only (OpenID Back-Channel Logout: 200, and the 204 some frameworks send).
    Only(&'static [u16]),
}

impl AcceptedStatuses {
    /// Whether `status` is one of them.
    pub fn includes(self, status: u16) -> bool {
        match self {
            Self::AnySuccess => (200..300).contains(&status),
            Self::Only(statuses) => statuses.contains(&status),
        }
    }
}

/// `text` cut to [`MAX_DELIVERY_ERROR_CHARS`] characters, as `last_error` keeps it.
pub fn short_delivery_error(text: &str) -> String {
    text.chars().take(MAX_DELIVERY_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_round_trip_their_storage_spelling() {
        for kind in [DeliveryKind::BackchannelLogout, DeliveryKind::Webhook] {
            assert_eq!(DeliveryKind::parse(kind.as_str()), Some(kind));
        }
        for state in [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Dead,
        ] {
            assert_eq!(DeliveryState::parse(state.as_str()), Some(state));
        }
        assert_eq!(DeliveryKind::parse("Webhook"), None);
    }

    #[test]
    fn accepted_statuses_are_any_2xx_or_a_list() {
        assert!(AcceptedStatuses::AnySuccess.includes(200));
        assert!(AcceptedStatuses::AnySuccess.includes(299));
        assert!(!AcceptedStatuses::AnySuccess.includes(300));
        assert!(!AcceptedStatuses::AnySuccess.includes(199));
        let logout = AcceptedStatuses::Only(&[200, 204]);
        assert!(logout.includes(204));
        assert!(!logout.includes(202));
    }

    #[test]
    fn errors_are_kept_short() {
        assert_eq!(short_delivery_error(&"é".repeat(500)).chars().count(), 200);
        assert_eq!(short_delivery_error("refused"), "refused");
    }
}
