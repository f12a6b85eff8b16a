//! Webhook subscriptions of an issuer: where its events are delivered, and which ones.
//!
//! A subscription is checked when it is created and on every change:
//!
//! 1. the URL is `http` or `https`, carries no credentials (`user:pw@`) and no fragment;
//! 2. unless the installation allows private targets (`webhooks.allow_private_targets`), its
//!    host must resolve, and to no refused address ([`tessera_model::refused_address`]): loopback, private
//!    (RFC 1918, `fc00::/7`), link-local (`169.254.0.0/16` with the cloud metadata address
//!    `169.254.169.254`, `fe80::/10`), unspecified, broadcast, shared (CGNAT `100.64.0.0/10`),
//!    multicast or reserved (`240.0.0.0/4`), also inside IPv6 (mapped, NAT64, 6to4).
//!    This is the server-side request forgery guard: a webhook must not let an API caller
//!    make Tessera reach into its own network. (The delivery worker checks the address again
//!    when it connects, since a name may resolve differently later.)
//! 3. event types are exact types of the catalog ([`EVENT_CATALOG`]) or `prefix.*` wildcards
//!    of one of its families, at least one and at most [`MAX_EVENT_TYPES`].
//!
//! The signing secret ([`WebhookSecret`], `whsec_…`) is shown once, in the result of creation
//! and rotation. It is needed in clear to sign, so it is stored sealed with the master key and
//! bound to the webhook's id, never hashed. Events (`webhook.created`, `webhook.updated`,
//! `webhook.deleted`, `webhook.secret_rotated`) never carry it.

use std::net::IpAddr;

use serde_json::json;
use tessera_crypto::webhook::WebhookSecret;
use tessera_model::{Actor, Issuer, NewEvent, Webhook, WebhookId, refused_address};
use tessera_store::{IssuerScope, Page, PageRequest, StoreError};

use crate::{Core, CoreError};

/// The event types a webhook may subscribe to.
pub const EVENT_CATALOG: &[&str] = &[
    "issuer.created",
    "issuer.updated",
    "issuer.deleted",
    "client.created",
    "client.updated",
    "client.deleted",
    "client.secret_rotated",
    "user.created",
    "user.updated",
    "user.deleted",
    "user.blocked",
    "user.unblocked",
    "user.login.succeeded",
    "user.login.failed",
    "user.locked",
    "user.password.changed",
    "user.password_reset.requested",
    "user.password_reset.completed",
    "user.verification.succeeded",
    "user.verification.failed",
    "session.created",
    "session.ended",
    "session.revoked",
    "grant.created",
    "grant.revoked",
    "key.created",
    "key.state_changed",
    "key.rotated",
    "token.refresh_reuse_detected",
    "token.code_replayed",
    "delivery.failed",
];

/// The most event types one subscription may list.
pub const MAX_EVENT_TYPES: usize = 100;

/// The longest URL accepted, in bytes.
const MAX_URL_BYTES: usize = 2000;

/// A subscription to create, as the Core API receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Where to deliver.
    pub url: String,
    /// What to deliver.
    pub event_types: Vec<String>,
    /// Whether to deliver (default: yes).
    pub enabled: bool,
}

/// A change to a subscription; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    /// New URL.
    pub url: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// Enable or pause.
    pub enabled: Option<bool>,
}

/// A subscription with its signing secret in clear, as creation and rotation return it.
#[derive(Debug)]
pub struct WebhookWithSecret {
    /// The stored subscription.
    pub webhook: Webhook,
    /// The secret, to show once.
    pub secret: WebhookSecret,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> CoreError {
    CoreError::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// Rule 1: the URL's form.
fn check_url_form(text: &str) -> Result<url::Url, CoreError> {
    if text.len() > MAX_URL_BYTES {
        return Err(invalid(
            "url",
            format!("is too long (at most {MAX_URL_BYTES} bytes)"),
        ));
    }
    let url = url::Url::parse(text).map_err(|e| invalid("url", format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            "url",
            format!("must use http or https, not `{}`", url.scheme()),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "url",
            "must not carry credentials (`user:password@`)",
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid("url", "must not have a fragment (`#…`)"));
    }
    if url.host().is_none() {
        return Err(invalid("url", "must name a host"));
    }
    Ok(url)
}

/// Rule 2: where the URL's host resolves.
async fn check_url_target(url: &url::Url) -> Result<(), CoreError> {
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(name)) => match tokio::net::lookup_host((name, port)).await {
            Ok(found) => found.map(|socket| socket.ip()).collect(),
            Err(_) => Vec::new(),
        },
        None => Vec::new(),
    };
    if addresses.is_empty() {
        return Err(invalid("url", "has a host that does not resolve"));
    }
    for ip in addresses {
        if let Some(range) = refused_address(ip) {
            return Err(invalid(
                "url",
                format!(
                    "must not resolve to a {range} address ({ip}); an installation may allow \
                     private targets with `webhooks.allow_private_targets`"
                ),
            ));
        }
    }
    Ok(())
}

/// Rule 3: the event types.
fn check_event_types(types: &[String]) -> Result<Vec<String>, CoreError> {
    if types.is_empty() {
        return Err(invalid("event_types", "must list at least one event type"));
    }
    if types.len() > MAX_EVENT_TYPES {
        return Err(invalid(
            "event_types",
            format!("may list at most {MAX_EVENT_TYPES} event types"),
        ));
    }
    let mut checked: Vec<String> = Vec::with_capacity(types.len());
    for (index, entry) in types.iter().enumerate() {
        let known = match entry.strip_suffix('*') {
            Some(prefix) => {
                prefix.ends_with('.')
                    && !prefix.contains('*')
                    && EVENT_CATALOG.iter().any(|t| t.starts_with(prefix))
            }
            None => EVENT_CATALOG.contains(&entry.as_str()),
        };
        if !known {
            let shown: String = entry.chars().take(60).collect();
            return Err(invalid(
                "event_types",
                format!(
                    "entry {index} (`{shown}`) is not an event type of the catalog nor a \
                     `family.*` wildcard of one"
                ),
            ));
        }
        if !checked.contains(entry) {
            checked.push(entry.clone());
        }
    }
    Ok(checked)
}

/// A webhook that is not found in this issuer is [`CoreError::NotFound`].
fn not_found_as_core(error: StoreError) -> CoreError {
    match error {
        StoreError::NotFound => CoreError::NotFound,
        other => CoreError::Store(other),
    }
}

/// Associated data that binds a sealed secret to its webhook.
fn sealing_purpose(id: WebhookId) -> Vec<u8> {
    format!("tessera/webhook-secret/v1/{id}").into_bytes()
}

impl Core {
    /// Rules 1 and 2 for a URL, as this installation applies them.
    pub async fn check_webhook_url(&self, text: &str) -> Result<String, CoreError> {
        let url = check_url_form(text)?;
        if !self.allow_private_webhook_targets {
            check_url_target(&url).await?;
        }
        Ok(url.to_string())
    }

    /// The signing secret of a webhook, unsealed.
    pub fn webhook_secret(&self, webhook: &Webhook) -> Result<WebhookSecret, CoreError> {
        let bytes = self
            .master_key
            .open(&sealing_purpose(webhook.id), &webhook.secret_sealed)
            .map_err(|_| CoreError::MasterKeyMismatch)?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CoreError::Invalid("a stored webhook secret is malformed".to_owned()))?;
        Ok(WebhookSecret::from_bytes(bytes))
    }

    /// Subscribes a URL to events of `issuer`; the signing secret is returned once.
    pub async fn create_webhook(
        &self,
        issuer: &Issuer,
        input: NewWebhook,
        actor: Actor,
    ) -> Result<WebhookWithSecret, CoreError> {
        let url = self.check_webhook_url(&input.url).await?;
        let event_types = check_event_types(&input.event_types)?;
        let secret = WebhookSecret::generate();
        let id = WebhookId::new();
        let now = self.clock.now();
        let webhook = Webhook {
            id,
            issuer_id: issuer.id,
            url,
            event_types,
            enabled: input.enabled,
            secret_sealed: self
                .master_key
                .seal(&sealing_purpose(id), secret.as_bytes()),
            failing: false,
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        let event = NewEvent::new(
            "webhook.created",
            webhook.id,
            actor,
            json!({
                "url": webhook.url,
                "event_types": webhook.event_types,
                "enabled": webhook.enabled,
            }),
            now,
        );
        self.store
            .webhooks()
            .create(IssuerScope::of(issuer), &webhook, &event)
            .await?;
        Ok(WebhookWithSecret { webhook, secret })
    }

    /// A webhook of `issuer`; [`CoreError::NotFound`] if it has none with this id.
    pub async fn get_webhook(&self, issuer: &Issuer, id: WebhookId) -> Result<Webhook, CoreError> {
        self.store
            .webhooks()
            .find(IssuerScope::of(issuer), id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// The webhooks of `issuer`, in creation order.
    pub async fn list_webhooks(
        &self,
        issuer: &Issuer,
        page: PageRequest,
    ) -> Result<Page<Webhook>, CoreError> {
        Ok(self
            .store
            .webhooks()
            .list(IssuerScope::of(issuer), page)
            .await?)
    }

    /// Applies `patch` to a webhook, checking what it changes. With `expected_revision`, a
    /// webhook changed since that revision is a [`StoreError::Conflict`] (`If-Match`). A patch
    /// that changes nothing writes nothing.
    pub async fn update_webhook(
        &self,
        issuer: &Issuer,
        id: WebhookId,
        expected_revision: Option<i64>,
        patch: WebhookPatch,
        actor: Actor,
    ) -> Result<Webhook, CoreError> {
        let mut webhook = self.get_webhook(issuer, id).await?;
        if expected_revision.is_some_and(|expected| expected != webhook.revision) {
            return Err(CoreError::Store(StoreError::Conflict));
        }
        let mut changed: Vec<&'static str> = Vec::new();
        if let Some(url) = patch.url {
            let url = self.check_webhook_url(&url).await?;
            if url != webhook.url {
                webhook.url = url;
                changed.push("url");
            }
        }
        if let Some(types) = patch.event_types {
            let types = check_event_types(&types)?;
            if types != webhook.event_types {
                webhook.event_types = types;
                changed.push("event_types");
            }
        }
        if let Some(enabled) = patch.enabled
            && enabled != webhook.enabled
        {
            webhook.enabled = enabled;
            changed.push("enabled");
        }
        if changed.is_empty() {
            return Ok(webhook);
        }
        let now = self.clock.now();
        webhook.updated_at = now;
        let event = NewEvent::new(
            "webhook.updated",
            webhook.id,
            actor,
            json!({ "changed": changed }),
            now,
        );
        self.store
            .webhooks()
            .update(IssuerScope::of(issuer), &webhook, &event)
            .await
            .map_err(not_found_as_core)
    }

    /// Deletes a webhook. With `expected_revision`, refuses if it changed since it was read.
    pub async fn delete_webhook(
        &self,
        issuer: &Issuer,
        id: WebhookId,
        expected_revision: Option<i64>,
        actor: Actor,
    ) -> Result<(), CoreError> {
        let webhook = self.get_webhook(issuer, id).await?;
        let event = NewEvent::new(
            "webhook.deleted",
            webhook.id,
            actor,
            json!({ "url": webhook.url }),
            self.clock.now(),
        );
        self.store
            .webhooks()
            .delete(IssuerScope::of(issuer), id, expected_revision, &event)
            .await
            .map_err(not_found_as_core)
    }

    /// Gives a webhook a new signing secret, returned once; the old one signs nothing more.
    pub async fn rotate_webhook_secret(
        &self,
        issuer: &Issuer,
        id: WebhookId,
        actor: Actor,
    ) -> Result<WebhookWithSecret, CoreError> {
        let mut webhook = self.get_webhook(issuer, id).await?;
        let secret = WebhookSecret::generate();
        let now = self.clock.now();
        webhook.secret_sealed = self
            .master_key
            .seal(&sealing_purpose(webhook.id), secret.as_bytes());
        webhook.updated_at = now;
        let event = NewEvent::new("webhook.secret_rotated", webhook.id, actor, json!({}), now);
        let webhook = self
            .store
            .webhooks()
            .update(IssuerScope::of(issuer), &webhook, &event)
            .await
            .map_err(not_found_as_core)?;
        Ok(WebhookWithSecret { webhook, secret })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Types written to the trail that no webhook may subscribe to (`docs/events.md`, "In the
    /// trail, not in the catalog").
    const AUDIT_ONLY: &[&str] = &[
        "webhook.created",
        "webhook.updated",
        "webhook.deleted",
        "webhook.secret_rotated",
        "webhook.ping",
        "webhook.redelivery_requested",
    ];

    /// `docs/events.md` has a section for every catalog type, and none for a type that is
    /// neither in the catalog nor audit-only.
    #[test]
    fn the_event_catalog_document_matches_the_catalog() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md");
        let doc = std::fs::read_to_string(path).expect("docs/events.md is readable");
        let documented: Vec<&str> = doc
            .lines()
            .filter_map(|line| line.strip_prefix("### `"))
            .filter_map(|rest| rest.split_once('`').map(|(ty, _)| ty))
            .collect();
        for ty in EVENT_CATALOG {
            assert!(
                documented.contains(ty),
                "docs/events.md has no section for the catalog type `{ty}`: add a heading \
                 \"### `{ty}`\" with when it is written, its subject, its actor and an example \
                 of its data (or \"Reserved: not written yet\")"
            );
        }
        for ty in &documented {
            assert!(
                EVENT_CATALOG.contains(ty) || AUDIT_ONLY.contains(ty),
                "docs/events.md documents `{ty}`, which is not in EVENT_CATALOG: remove its \
                 section, or add the type to EVENT_CATALOG (or to AUDIT_ONLY in this test)"
            );
        }
    }

    proptest! {
        #[test]
        fn the_url_check_never_panics(text in "\\PC{0,80}") {
            let _ = check_url_form(&text);
        }
    }

    #[test]
    fn url_form_rules_name_the_rule() {
        let reason = |text: &str| match check_url_form(text) {
            Err(CoreError::InvalidField { field, reason }) => {
                assert_eq!(field, "url");
                reason
            }
            other => panic!("{text}: {other:?}"),
        };
        assert!(reason("ftp://example.com/x").contains("http or https"));
        assert!(reason("http://user:pw@example.com/").contains("credentials"));
        assert!(reason("https://example.com/#top").contains("fragment"));
        assert!(reason("not a url").contains("not a URL"));
        assert!(check_url_form("https://hooks.example.com/x?y=1").is_ok());
    }

    #[test]
    fn event_types_are_exact_or_family_wildcards_of_the_catalog() {
        let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            check_event_types(&strings(&[
                "user.*",
                "client.created",
                "user.*",
                "user.login.*"
            ]))
            .unwrap(),
            strings(&["user.*", "client.created", "user.login.*"])
        );
        for bad in [
            &["*"][..],
            &["user"],
            &["user*"],
            &["foo.*"],
            &["user.nope"],
            &[],
        ] {
            assert!(
                matches!(
                    check_event_types(&strings(bad)),
                    Err(CoreError::InvalidField {
                        field: "event_types",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    async fn core(
        allow_private: bool,
    ) -> (Core, Issuer, Issuer, tessera_store::contract::TestStore) {
        let (core, _, db) = crate::test_core().await;
        let core = core.with_private_webhook_targets(allow_private);
        let builtin = core.ensure_builtin_issuers().await.unwrap();
        (core, builtin.default, builtin.system, db)
    }

    fn new_webhook(url: &str) -> NewWebhook {
        NewWebhook {
            url: url.to_owned(),
            event_types: vec!["user.*".to_owned()],
            enabled: true,
        }
    }

    #[tokio::test]
    async fn loopback_targets_need_the_installation_s_permission() {
        let (strict, issuer, _, _db) = core(false).await;
        for url in [
            "http://127.0.0.1/hook",
            "http://[::1]:8080/",
            "http://169.254.169.254/",
            "http://localhost/",
        ] {
            let refused = strict
                .create_webhook(&issuer, new_webhook(url), Actor::System)
                .await;
            assert!(
                matches!(&refused, Err(CoreError::InvalidField { field: "url", .. })),
                "{url}: {refused:?}"
            );
        }
        let (relaxed, issuer, _, _db) = core(true).await;
        relaxed
            .create_webhook(&issuer, new_webhook("http://127.0.0.1/hook"), Actor::System)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_secret_is_sealed_bound_to_its_webhook_and_rotates() {
        let (core, issuer, other, db) = core(false).await;
        let created = core
            .create_webhook(
                &issuer,
                new_webhook("https://203.0.113.10/hook"),
                Actor::System,
            )
            .await
            .unwrap();
        let exposed = created.secret.expose();
        assert!(exposed.starts_with("whsec_"));
        assert!(
            !created
                .webhook
                .secret_sealed
                .windows(32)
                .any(|w| w == created.secret.as_bytes())
        );
        assert_eq!(
            core.webhook_secret(&created.webhook).unwrap(),
            created.secret
        );
        let rotated = core
            .rotate_webhook_secret(&issuer, created.webhook.id, Actor::System)
            .await
            .unwrap();
        assert_ne!(rotated.secret, created.secret);
        assert_eq!(rotated.webhook.revision, 2);
        let stored = core.get_webhook(&issuer, created.webhook.id).await.unwrap();
        assert_eq!(core.webhook_secret(&stored).unwrap(), rotated.secret);
        // Another webhook's sealed bytes do not open as this one's.
        let mut moved = stored.clone();
        moved.id = WebhookId::new();
        assert!(core.webhook_secret(&moved).is_err());
        // Events never carry the secret.
        let events = db
            .store
            .events()
            .list(
                IssuerScope::of(&issuer),
                &Default::default(),
                PageRequest::first(100),
            )
            .await
            .unwrap();
        for event in &events.items {
            let text = event.data.to_string();
            assert!(!text.contains(&exposed) && !text.contains(&rotated.secret.expose()));
        }
        assert!(matches!(
            core.get_webhook(&other, created.webhook.id).await,
            Err(CoreError::NotFound)
        ));
    }
}
