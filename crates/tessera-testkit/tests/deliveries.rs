//! The delivery worker against real receivers on port 0, over a real database of this run's
//! backend, with a fixed clock moved by the test: retries follow the schedule and keep the
//! `jti`, redirects are not followed, the last failure dead-letters, refused addresses are not
//! contacted, and deliveries survive a restart; webhook events take turns at a busy endpoint,
//! and event retention leaves a chain that verifies. Each attempt is one `run_once`, so no
//! test sleeps through a backoff.

#![allow(clippy::unwrap_used, clippy::panic)] // test code: a panic is a failed assertion

use std::sync::Arc;

use serde_json::{Value, json};
use tessera_core::Core;
use tessera_core::clients::NewClient;
use tessera_core::users::NewUser;
use tessera_core::webhooks::NewWebhook;
use tessera_crypto::MasterKey;
use tessera_model::{
    Actor, Client, ClientType, Delivery, DeliveryState, FixedClock, Issuer, NewEvent, Session,
    SessionId, UnixTime, User,
};
use tessera_server::config::WebhooksSection;
use tessera_store::{EventListFilter, EventTypeFilter, IssuerScope, PageRequest, Store};
use tessera_store_sql::PoolSize;
use tessera_store_sql::testing::{FreshDatabase, fresh_database};
use tessera_testkit::receiver::{Receiver, Reply};
use tessera_webhooks::Dispatcher;

const T0: UnixTime = UnixTime(1_750_000_000);

struct World {
    database: FreshDatabase,
    master_key: MasterKey,
    store: Arc<dyn Store>,
    clock: Arc<FixedClock>,
    core: Core,
    issuer: Issuer,
    user: User,
}

async fn open(database: &FreshDatabase) -> Arc<dyn Store> {
    let store = tessera_store_sql::connect(&database.url, PoolSize { max_connections: 4 })
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

async fn world() -> World {
    let database = fresh_database().await;
    let store = open(&database).await;
    let clock = Arc::new(FixedClock::at(T0));
    let master_key = MasterKey::generate();
    let core = Core::new(
        store.clone(),
        clock.clone(),
        master_key.clone(),
        "http://localhost:8080",
    )
    .with_private_webhook_targets(true);
    let issuer = core.ensure_builtin_issuers().await.unwrap().default;
    let user = core
        .create_user(
            &issuer,
            NewUser {
                email: "ada@example.com".to_owned(),
                ..NewUser::default()
            },
            Actor::System,
        )
        .await
        .unwrap();
    World {
        database,
        master_key,
        store,
        clock,
        core,
        issuer,
        user,
    }
}

impl World {
    async fn client(&self, backchannel_logout_uri: Option<String>) -> Client {
        self.core
            .create_client(
                &self.issuer,
                NewClient {
                    redirect_uris: vec!["https://notes.example.com/callback".to_owned()],
                    first_party: true,
                    backchannel_logout_uri,
                    ..NewClient::new("Notes", ClientType::Confidential)
                },
                Actor::System,
            )
            .await
            .unwrap()
            .client
    }

    /// A session that served `clients`, then ended (RP-initiated logout).
    async fn logout(&self, clients: &[&Client]) -> Session {
        let scope = IssuerScope::of(&self.issuer);
        let now = self.clock_now();
        let session = Session {
            id: SessionId::new(),
            issuer_id: self.issuer.id,
            user_id: self.user.id,
            secret_hash: tessera_crypto::random_bytes::<32>(),
            auth_time: now,
            amr: vec!["pwd".to_owned()],
            acr: None,
            created_at: now,
            expires_at: now.plus_seconds(3600),
            ended_at: None,
        };
        self.store
            .sessions()
            .create(
                scope,
                &session,
                &NewEvent::new("session.created", session.id, Actor::System, json!({}), now),
            )
            .await
            .unwrap();
        for client in clients {
            self.store
                .sessions()
                .add_client(scope, session.id, client.id)
                .await
                .unwrap();
        }
        self.core
            .end_session(
                &self.issuer,
                &session,
                "session.ended",
                Actor::User(self.user.id),
            )
            .await
            .unwrap();
        session
    }

    fn clock_now(&self) -> UnixTime {
        tessera_model::Clock::now(&*self.clock)
    }

    fn dispatcher(&self, allow_private_targets: bool, schedule: &[u64]) -> Dispatcher {
        worker(
            &self.core,
            self.clock.clone(),
            allow_private_targets,
            schedule,
        )
    }

    async fn deliveries(&self) -> Vec<Delivery> {
        self.store
            .deliveries()
            .list(IssuerScope::of(&self.issuer), PageRequest::first(100))
            .await
            .unwrap()
            .items
    }
}

/// The delivery worker as `tessera serve` wires it, over `core`, with these `[webhooks]`
/// settings.
fn worker(
    core: &Core,
    clock: Arc<FixedClock>,
    allow_private_targets: bool,
    schedule: &[u64],
) -> Dispatcher {
    tessera_server::deliveries::dispatcher(
        core,
        clock,
        &WebhooksSection {
            allow_private_targets,
            retry_schedule_seconds: schedule.to_vec(),
            ..WebhooksSection::default()
        },
    )
    .unwrap()
}

/// The claims of a logout token, unverified (the end-to-end tests verify signatures).
fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_failing_receiver_is_retried_on_schedule_with_the_same_jti_until_it_accepts() {
    let w = world().await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(500)]);
    let client = w.client(Some(receiver.url("/bcl"))).await;
    w.logout(&[&client]).await;
    let worker = w.dispatcher(true, &[10, 100]);

    assert_eq!(worker.run_once().await, 1);
    let [failed]: [Delivery; 1] = w.deliveries().await.try_into().unwrap();
    assert_eq!(failed.state, DeliveryState::Pending);
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.last_status, Some(500));
    let delay = failed.next_attempt_at.0 - T0.0;
    assert!((8..=12).contains(&delay), "10 s ± 20 %: {delay}");

    // Not before its time.
    assert_eq!(worker.run_once().await, 0);
    w.clock.advance(delay - 1);
    assert_eq!(worker.run_once().await, 0);
    assert_eq!(receiver.received().len(), 1);
    w.clock.advance(1);
    assert_eq!(worker.run_once().await, 1);

    let [delivered]: [Delivery; 1] = w.deliveries().await.try_into().unwrap();
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert_eq!(delivered.attempts, 2);
    assert_eq!(delivered.last_status, Some(200));
    let tokens: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| claims(&r.form_field("logout_token").unwrap()))
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0]["jti"], tokens[1]["jti"], "one jti across retries");
    // Signed at send time: the retry's token is fresh.
    assert_eq!(tokens[0]["iat"], T0.0);
    assert_eq!(tokens[1]["iat"], T0.0 + delay);
    assert_eq!(tokens[1]["exp"], T0.0 + delay + 120);
    // Delivered is final.
    w.clock.advance(1_000_000);
    assert_eq!(worker.run_once().await, 0);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let w = world().await;
    let elsewhere = Receiver::start().await;
    let receiver = Receiver::start().await;
    receiver.otherwise(Reply::Redirect(307, elsewhere.url("/steal")));
    let client = w.client(Some(receiver.url("/bcl"))).await;
    w.logout(&[&client]).await;
    let worker = w.dispatcher(true, &[10]);
    assert_eq!(worker.run_once().await, 1);
    assert_eq!(receiver.received().len(), 1);
    assert!(elsewhere.received().is_empty(), "the redirect was followed");
    let [delivery]: [Delivery; 1] = w.deliveries().await.try_into().unwrap();
    assert_eq!(delivery.state, DeliveryState::Pending);
    assert_eq!(delivery.last_status, Some(307));
    assert!(
        delivery
            .last_error
            .unwrap()
            .contains("redirects are not followed"),
        "the error says why"
    );
}

#[tokio::test]
async fn a_delivery_is_dead_after_its_last_attempt_and_says_so_in_an_event() {
    let w = world().await;
    let receiver = Receiver::start().await;
    receiver.otherwise(Reply::Status(503));
    let client = w.client(Some(receiver.url("/bcl"))).await;
    w.logout(&[&client]).await;
    let worker = w.dispatcher(true, &[1, 1]);
    for _ in 0..3 {
        assert_eq!(worker.run_once().await, 1);
        w.clock.advance(2);
    }
    let [dead]: [Delivery; 1] = w.deliveries().await.try_into().unwrap();
    assert_eq!(dead.state, DeliveryState::Dead);
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.last_status, Some(503));
    w.clock.advance(1_000_000);
    assert_eq!(worker.run_once().await, 0, "dead is final");
    assert_eq!(receiver.received().len(), 3);

    let events = w
        .core
        .store()
        .events()
        .list(
            IssuerScope::of(&w.issuer),
            &EventListFilter {
                event_type: Some(EventTypeFilter::Exact("delivery.failed".to_owned())),
                ..EventListFilter::default()
            },
            PageRequest::first(10),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject, dead.id.to_string());
    assert_eq!(events[0].data["kind"], "backchannel_logout");
    assert_eq!(events[0].data["client_id"], client.id.to_string());
    assert_eq!(events[0].data["attempts"], 3);
    assert_eq!(events[0].data["last_status"], 503);
}

#[tokio::test]
async fn loopback_targets_are_not_contacted_unless_private_targets_are_allowed() {
    let w = world().await;
    let receiver = Receiver::start().await;
    let by_address = w.client(Some(receiver.url("/by-address"))).await;
    let by_name = w
        .client(Some(format!(
            "http://localhost:{}/by-name",
            receiver.address.port()
        )))
        .await;
    w.logout(&[&by_address, &by_name]).await;
    let guarded = w.dispatcher(false, &[1]);
    assert_eq!(guarded.run_once().await, 2);
    assert!(
        receiver.received().is_empty(),
        "a refused address was contacted"
    );
    for delivery in w.deliveries().await {
        assert_eq!(delivery.state, DeliveryState::Pending);
        assert_eq!(delivery.last_status, None);
        let error = delivery.last_error.unwrap();
        assert!(error.contains("loopback"), "{error}");
    }
    // The same deliveries go through where the installation allows private targets.
    w.clock.advance(2);
    assert_eq!(w.dispatcher(true, &[1]).run_once().await, 2);
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn deliveries_enqueued_before_a_restart_are_delivered_by_the_next_worker() {
    let w = world().await;
    let receiver = Receiver::start().await;
    let client = w.client(Some(receiver.url("/bcl"))).await;
    let session = w.logout(&[&client]).await;
    // The process stops before any worker ran.
    w.store.close().await;

    let store = open(&w.database).await;
    let core = Core::new(
        store.clone(),
        w.clock.clone(),
        w.master_key.clone(),
        "http://localhost:8080",
    );
    let worker = worker(&core, w.clock.clone(), true, &[1]);
    assert_eq!(worker.run_once().await, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let token = claims(&received[0].form_field("logout_token").unwrap());
    assert_eq!(token["sid"], session.id.to_string());
}

#[tokio::test]
async fn only_clients_of_the_session_with_a_logout_uri_are_told_and_only_once() {
    let w = world().await;
    let receiver = Receiver::start().await;
    let with_uri = w.client(Some(receiver.url("/a"))).await;
    let without_uri = w.client(None).await;
    // A client with a logout URI that the session never served: the one delivery below is
    // not for it.
    w.client(Some(receiver.url("/not-in-session"))).await;
    let session = w.logout(&[&with_uri, &without_uri]).await;
    // Ending it again (a second logout, a revocation) enqueues nothing more.
    w.core
        .end_session(&w.issuer, &session, "session.revoked", Actor::System)
        .await
        .unwrap();
    let deliveries = w.deliveries().await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].client_id, Some(with_uri.id));
    assert_eq!(w.dispatcher(true, &[1]).run_once().await, 1);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].uri, "/a");
    assert_eq!(received[0].method, "POST");
    assert_eq!(
        received[0].content_type(),
        Some("application/x-www-form-urlencoded")
    );
}

impl World {
    /// Subscribes `url` to `user.*` events.
    async fn subscribe(&self, url: String) -> tessera_model::Webhook {
        self.core
            .create_webhook(
                &self.issuer,
                NewWebhook {
                    url,
                    event_types: vec!["user.*".to_owned()],
                    enabled: true,
                },
                Actor::System,
            )
            .await
            .unwrap()
            .webhook
    }

    /// Creates `count` users, each with its `user.created` event.
    async fn users(&self, count: usize) {
        for n in 0..count {
            self.core
                .create_user(
                    &self.issuer,
                    NewUser {
                        email: format!("user{n}@example.com"),
                        ..NewUser::default()
                    },
                    Actor::System,
                )
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_endpoint_gets_at_most_four_deliveries_at_once() {
    let w = world().await;
    let busy = Receiver::start().await;
    busy.otherwise(Reply::Slow(200, std::time::Duration::from_millis(300)));
    let other = Receiver::start().await;
    other.otherwise(Reply::Slow(200, std::time::Duration::from_millis(300)));
    w.subscribe(busy.url("/hook")).await;
    w.subscribe(other.url("/hook")).await;
    w.users(12).await;

    // Passes claim 16 at most (the concurrency) until all 24 are sent: two passes.
    let worker = w.dispatcher(true, &[1]);
    let mut sent = 0;
    while sent < 24 {
        let attempted = worker.run_once().await;
        assert!(attempted > 0, "deliveries left unclaimed");
        sent += attempted;
    }
    assert_eq!(busy.received().len(), 12);
    assert_eq!(other.received().len(), 12);
    assert_eq!(busy.max_in_flight(), 4, "four turns per endpoint");
    assert_eq!(other.max_in_flight(), 4);
    assert!(
        w.deliveries()
            .await
            .iter()
            .all(|d| d.state == DeliveryState::Delivered)
    );
}

#[tokio::test]
async fn retention_removes_old_events_and_the_chain_still_verifies() {
    let w = world().await;
    let receiver = Receiver::start().await;
    let hook = w.subscribe(receiver.url("/hook")).await;
    w.users(3).await;
    // Two of the three arrive; one fails and waits for a retry an hour away.
    receiver.script([Reply::Status(500)]);
    assert_eq!(w.dispatcher(true, &[3600]).run_once().await, 3);
    let old = w.deliveries().await;
    let delivered = old
        .iter()
        .find(|d| d.state == DeliveryState::Delivered)
        .unwrap()
        .id;
    let retrying = old
        .iter()
        .find(|d| d.state == DeliveryState::Pending)
        .unwrap()
        .id;

    // Keep a day; two days pass; one more event.
    let mut issuer = w.issuer.clone();
    issuer.settings = issuer
        .settings
        .clone()
        .with_event_retention_days(Some(1))
        .unwrap();
    let issuer = w
        .store
        .issuers()
        .update(
            &issuer,
            &NewEvent::new("issuer.updated", issuer.id, Actor::System, json!({}), T0),
        )
        .await
        .unwrap();
    w.clock.advance(2 * 86_400);
    w.core
        .create_user(
            &issuer,
            NewUser {
                email: "late@example.com".to_owned(),
                ..NewUser::default()
            },
            Actor::System,
        )
        .await
        .unwrap();
    let scope = IssuerScope::of(&issuer);
    let before = w.store.events().count(scope).await.unwrap();

    let removed = w.core.apply_event_retention().await.unwrap();
    assert!(removed > 0);
    assert_eq!(
        w.store.events().count(scope).await.unwrap(),
        before - removed
    );
    let report = w.core.verify_audit_chain(&issuer).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert!(report.pruned_through > 0);
    assert_eq!(report.events, 1, "only the late user's event is kept");
    // The finished deliveries of removed events went with them; the pending ones stay: the
    // old one still retrying, and the late user's.
    let kept: Vec<_> = w
        .deliveries()
        .await
        .iter()
        .map(|d| (d.id, d.state))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter()
            .all(|(_, state)| *state == DeliveryState::Pending)
    );
    assert!(kept.iter().any(|(id, _)| *id == retrying));
    // A finished delivery went with its event: it is unknown now.
    let refused = w
        .core
        .redeliver(&issuer, hook.id, delivered, Actor::System)
        .await;
    assert!(
        matches!(refused, Err(tessera_core::CoreError::NotFound)),
        "{refused:?}"
    );
    // A delivery kept while its event went cannot be sent again, and says why.
    let refused = w
        .core
        .redeliver(&issuer, hook.id, retrying, Actor::System)
        .await;
    assert!(
        matches!(&refused, Err(tessera_core::CoreError::Invalid(why)) if why.contains("no longer kept")),
        "{refused:?}"
    );
}
