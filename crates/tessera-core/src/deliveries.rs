//! What a delivery sends, built at send time, and the Core API's view of webhook deliveries.
//!
//! **Webhook events.** The store enqueues one delivery per subscribed webhook in the
//! transaction that writes an event (`tessera_store_sql`'s `insert_event`); the delivery holds
//! only the event's id. At each attempt [`Core::render_delivery`] reads the event and the
//! webhook and builds:
//!
//! - the body: the event as a CloudEvents 1.0 structured-mode JSON document
//!   ([`cloud_event`]): `specversion`, `id`, `source` (the issuer URL), `type`, `subject`,
//!   `time` (RFC 3339), `datacontenttype`, `data`, and the extension attributes `actor`
//!   (`system`, `client:cli_…`, `user:usr_…`) and, for an event caused by a request,
//!   `clientip`, `useragent` and `requestid`. CloudEvents extension values are strings and
//!   their names lowercase letters and digits (CloudEvents 1.0 §3.1.1), hence the flat names;
//!   sent as `application/cloudevents+json` (CloudEvents HTTP binding §3.2);
//! - the Standard Webhooks headers: `webhook-id` (the event id, the same on every retry and
//!   redelivery, so a receiver can drop duplicates), `webhook-timestamp` (send time, Unix
//!   seconds) and `webhook-signature` (`v1,` HMAC-SHA256 with the webhook's current secret,
//!   [`tessera_crypto::webhook::sign`]).
//!
//! Any 2xx status is success (Standard Webhooks); the worker retries everything else.
//!
//! **Ping and redelivery** are asked for through the Core API. Each writes an audit event
//! (`webhook.ping`, `webhook.redelivery_requested`) and the delivery it asks for in one
//! transaction. A ping delivers its own event to the one webhook; a redelivery sends the
//! original event again, to the webhook's current URL, as a new delivery with its own attempts.

use serde_json::{Value, json};
use tessera_model::{
    AcceptedStatuses, Actor, Delivery, DeliveryId, DeliveryKind, Event, Issuer, NewEvent,
    OutboundRequest, UnixTime, WebhookId,
};
use tessera_store::{IssuerScope, Page, PageRequest};

use crate::{Core, CoreError};

/// The content type of a structured-mode CloudEvent (CloudEvents HTTP binding §3.2).
pub const CLOUDEVENTS_JSON: &str = "application/cloudevents+json";

/// `time` as RFC 3339 in UTC, to the second (`2026-11-24T10:00:00Z`).
fn rfc3339(time: UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(time.0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        // Out of the representable range only for a corrupt timestamp; the epoch says so.
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// `event` as a CloudEvents 1.0 structured-mode JSON document, `source` being its issuer's
/// URL. See the module documentation for the attributes.
pub fn cloud_event(source: &str, event: &Event) -> Value {
    let mut envelope = json!({
        "specversion": "1.0",
        "id": event.id.to_string(),
        "source": source,
        "type": event.event_type,
        "subject": event.subject,
        "time": rfc3339(event.occurred_at),
        "datacontenttype": "application/json",
        "actor": event.actor.to_storage(),
        "data": event.data,
    });
    if let (Some(context), Some(object)) = (&event.context, envelope.as_object_mut()) {
        for (name, value) in [
            ("clientip", &context.ip),
            ("useragent", &context.user_agent),
            ("requestid", &context.request_id),
        ] {
            if let Some(value) = value {
                object.insert(name.to_owned(), Value::String(value.clone()));
            }
        }
    }
    envelope
}

impl Core {
    /// Builds the request a claimed delivery sends, now. Called by the delivery worker at
    /// every attempt, so what is signed is signed at send time.
    pub async fn render_delivery(&self, delivery: &Delivery) -> Result<OutboundRequest, CoreError> {
        let issuer = self
            .store
            .issuers()
            .find(delivery.issuer_id)
            .await?
            .ok_or(CoreError::NotFound)?;
        match delivery.kind {
            DeliveryKind::BackchannelLogout => self.render_logout(&issuer, delivery).await,
            DeliveryKind::Webhook => self.render_webhook_event(&issuer, delivery).await,
        }
    }

    /// A webhook event: its CloudEvent, signed with the webhook's current secret.
    async fn render_webhook_event(
        &self,
        issuer: &Issuer,
        delivery: &Delivery,
    ) -> Result<OutboundRequest, CoreError> {
        let scope = IssuerScope::of(issuer);
        let webhook_id = delivery
            .webhook_id
            .ok_or_else(|| CoreError::Invalid("a webhook delivery names no webhook".to_owned()))?;
        let webhook = self
            .store
            .webhooks()
            .find(scope, webhook_id)
            .await?
            .ok_or(CoreError::NotFound)?;
        let event_id = delivery
            .event_id()
            .ok_or_else(|| CoreError::Invalid("a webhook delivery names no event".to_owned()))?;
        let event = self
            .store
            .events()
            .find(scope, event_id)
            .await?
            .ok_or_else(|| {
                CoreError::Invalid("its event is no longer kept (event retention)".to_owned())
            })?;
        let body = cloud_event(&self.issuer_url(issuer), &event).to_string();
        let timestamp = self.clock.now().0;
        let message_id = event.id.to_string();
        let secret = self.webhook_secret(&webhook)?;
        let signature = tessera_crypto::webhook::sign(
            secret.as_bytes(),
            &message_id,
            timestamp,
            body.as_bytes(),
        );
        Ok(OutboundRequest {
            url: delivery.target_url.clone(),
            headers: vec![
                ("content-type".to_owned(), CLOUDEVENTS_JSON.to_owned()),
                ("webhook-id".to_owned(), message_id),
                ("webhook-timestamp".to_owned(), timestamp.to_string()),
                ("webhook-signature".to_owned(), signature),
            ],
            body: body.into_bytes(),
            accepted: AcceptedStatuses::AnySuccess,
        })
    }

    /// The deliveries of one webhook of `issuer`, oldest first.
    pub async fn list_webhook_deliveries(
        &self,
        issuer: &Issuer,
        webhook: WebhookId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, CoreError> {
        self.get_webhook(issuer, webhook).await?;
        Ok(self
            .store
            .deliveries()
            .list_for_webhook(IssuerScope::of(issuer), webhook, page)
            .await?)
    }

    /// One delivery of one webhook; [`CoreError::NotFound`] unless it is that webhook's.
    pub async fn get_webhook_delivery(
        &self,
        issuer: &Issuer,
        webhook: WebhookId,
        id: DeliveryId,
    ) -> Result<Delivery, CoreError> {
        self.store
            .deliveries()
            .find(IssuerScope::of(issuer), id)
            .await?
            .filter(|d| d.webhook_id == Some(webhook))
            .ok_or(CoreError::NotFound)
    }

    /// Sends a delivery's event again to its webhook's current URL, as a new delivery due at
    /// once, whatever became of the old one. Refused if the event is no longer kept.
    pub async fn redeliver(
        &self,
        issuer: &Issuer,
        webhook: WebhookId,
        id: DeliveryId,
        actor: Actor,
    ) -> Result<Delivery, CoreError> {
        let original = self.get_webhook_delivery(issuer, webhook, id).await?;
        let webhook = self.get_webhook(issuer, webhook).await?;
        let scope = IssuerScope::of(issuer);
        let event_id = original.event_id().ok_or(CoreError::NotFound)?;
        let Some(carried) = self.store.events().find(scope, event_id).await? else {
            return Err(CoreError::Invalid(format!(
                "the event of delivery {id} is no longer kept (the issuer's event retention \
                 removed it), so it cannot be sent again"
            )));
        };
        let now = self.clock.now();
        let delivery = Delivery::webhook_event(&webhook, event_id, &carried.event_type, now);
        let event = NewEvent::new(
            "webhook.redelivery_requested",
            webhook.id,
            actor,
            json!({
                "delivery_id": original.id.to_string(),
                "new_delivery_id": delivery.id.to_string(),
                "event_id": event_id.to_string(),
            }),
            now,
        );
        self.store
            .deliveries()
            .enqueue_with_event(scope, std::slice::from_ref(&delivery), &event)
            .await?;
        self.deliveries_enqueued.notify_one();
        Ok(delivery)
    }

    /// Sends a `webhook.ping` event to one webhook (enabled or not), to test the endpoint and
    /// its signature check. The event is in the trail; no other webhook receives it.
    pub async fn ping_webhook(
        &self,
        issuer: &Issuer,
        webhook: WebhookId,
        actor: Actor,
    ) -> Result<Delivery, CoreError> {
        let webhook = self.get_webhook(issuer, webhook).await?;
        let now = self.clock.now();
        let event = NewEvent::new(
            "webhook.ping",
            webhook.id,
            actor,
            json!({ "webhook_id": webhook.id.to_string() }),
            now,
        );
        let delivery = Delivery::webhook_event(&webhook, event.id, event.event_type, now);
        self.store
            .deliveries()
            .enqueue_with_event(
                IssuerScope::of(issuer),
                std::slice::from_ref(&delivery),
                &event,
            )
            .await?;
        self.deliveries_enqueued.notify_one();
        Ok(delivery)
    }
}

#[cfg(test)]
mod tests {
    use tessera_model::{EventId, GENESIS_HASH, IssuerId, RequestContext, UserId};

    use super::*;

    fn event(context: Option<RequestContext>) -> Event {
        Event {
            id: EventId::new(),
            issuer_id: IssuerId::new(),
            event_type: "user.created".to_owned(),
            subject: "usr_x".to_owned(),
            actor: Actor::User(UserId::new()),
            data: json!({ "email": "ada@example.com" }),
            occurred_at: UnixTime(1_764_000_000),
            context,
            seq: 1,
            prev_hash: GENESIS_HASH,
            hash: [0; 32],
        }
    }

    #[test]
    fn rfc3339_is_utc_to_the_second() {
        assert_eq!(rfc3339(UnixTime(0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UnixTime(1_764_000_000)), "2025-11-24T16:00:00Z");
    }

    #[test]
    fn the_envelope_is_a_cloudevent_with_actor_and_request_context() {
        let plain = event(None);
        let envelope = cloud_event("https://id.example/acme", &plain);
        assert_eq!(envelope["specversion"], "1.0");
        assert_eq!(envelope["id"], plain.id.to_string());
        assert_eq!(envelope["source"], "https://id.example/acme");
        assert_eq!(envelope["type"], "user.created");
        assert_eq!(envelope["subject"], "usr_x");
        assert_eq!(envelope["time"], "2025-11-24T16:00:00Z");
        assert_eq!(envelope["datacontenttype"], "application/json");
        assert_eq!(envelope["actor"], plain.actor.to_storage());
        assert_eq!(envelope["data"]["email"], "ada@example.com");
        assert!(envelope.get("clientip").is_none());
        // CloudEvents 1.0 §3.1.1: attribute names are lowercase letters and digits.
        for name in envelope.as_object().unwrap().keys() {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{name}"
            );
        }
        let with = event(Some(RequestContext {
            ip: Some("192.0.2.9".to_owned()),
            user_agent: None,
            request_id: Some("r-1".to_owned()),
        }));
        let envelope = cloud_event("https://id.example/acme", &with);
        assert_eq!(envelope["clientip"], "192.0.2.9");
        assert_eq!(envelope["requestid"], "r-1");
        assert!(envelope.get("useragent").is_none());
    }
}
