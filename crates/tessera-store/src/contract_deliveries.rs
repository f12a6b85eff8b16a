//! Contract cases of the outbound delivery queue: enqueued rows round-trip and stay in their
//! issuer; claiming takes a lease in one statement, so concurrent claimers get disjoint sets; a
//! lease that expired may be taken again (and its former holder then changes nothing); a row
//! that was delivered or dead-lettered is never claimed again.

use std::collections::HashSet;

use tessera_model::{
    ClientId, Delivery, DeliveryKind, DeliveryState, IssuerId, RequestContext, Webhook,
};

use super::*;
use crate::AttemptFailure;

/// A back-channel logout delivery for `client`, due at `at`.
pub(super) fn logout_delivery(issuer: IssuerId, client: ClientId, at: UnixTime) -> Delivery {
    Delivery::pending(
        issuer,
        DeliveryKind::BackchannelLogout,
        Some(client),
        "https://app.example.com/backchannel".to_owned(),
        json!({"sub": "usr_x", "sid": "ses_y", "jti": "j1"}),
        at,
    )
}

fn failure(status: Option<u16>, error: &str) -> AttemptFailure {
    AttemptFailure {
        status,
        error: error.to_owned(),
    }
}

async fn enqueue_logouts(
    store: &dyn Store,
    issuer: &Issuer,
    client: ClientId,
    at: UnixTime,
    count: usize,
) -> Vec<Delivery> {
    let mut enqueued = Vec::with_capacity(count);
    for _ in 0..count {
        let d = logout_delivery(issuer.id, client, at);
        store
            .deliveries()
            .enqueue(IssuerScope::of(issuer), &d)
            .await
            .unwrap();
        enqueued.push(d);
    }
    enqueued
}

/// A delivery survives the round trip field by field, and another issuer does not see it.
pub async fn deliveries_round_trip_and_are_scoped_by_issuer(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (_, other_scope) = create_issuer(&*store, "other").await;
    let c = another_client(&*store, &acme, "Logout app").await;
    let mut d = logout_delivery(acme.id, c.id, T0);
    d.last_error = Some("x".repeat(500));
    d.last_status = Some(503);
    store.deliveries().enqueue(scope, &d).await.unwrap();
    let found = store.deliveries().find(scope, d.id).await.unwrap().unwrap();
    // The store keeps a short error.
    assert_eq!(found.last_error.as_deref().map(str::len), Some(200));
    assert_eq!(
        found,
        Delivery {
            last_error: found.last_error.clone(),
            ..d.clone()
        }
    );
    assert_eq!(
        store.deliveries().find(other_scope, d.id).await.unwrap(),
        None
    );
    assert!(
        store
            .deliveries()
            .list(other_scope, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // Outcomes need the owning issuer's scope.
    let claimed = store
        .deliveries()
        .claim_due("w", T0, T0.plus_seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        !store
            .deliveries()
            .record_success(other_scope, d.id, "w", 200, T0)
            .await
            .unwrap()
    );
    assert!(
        store
            .deliveries()
            .record_success(scope, d.id, "w", 200, T0)
            .await
            .unwrap()
    );
}

/// N workers claiming the same due rows at once never get the same row twice, and between
/// them get every row.
pub async fn concurrent_claimers_of_due_deliveries_get_disjoint_sets(store: Arc<dyn Store>) {
    let (acme, _) = create_issuer(&*store, "acme").await;
    let c = another_client(&*store, &acme, "Logout app").await;
    let enqueued = enqueue_logouts(&*store, &acme, c.id, T0, 30).await;
    let mut claimed_by: Vec<(String, Delivery)> = Vec::new();
    // Rounds of eight claimers at once, until nothing is left.
    for round in 0..10 {
        let tasks: Vec<_> = (0..8)
            .map(|worker| {
                let store = store.clone();
                let owner = format!("worker-{round}-{worker}");
                tokio::spawn(async move {
                    let got = store
                        .deliveries()
                        .claim_due(&owner, T0, T0.plus_seconds(60), 3)
                        .await
                        .unwrap();
                    (owner, got)
                })
            })
            .collect();
        let mut any = false;
        for task in tasks {
            let (owner, got) = task.await.unwrap();
            any |= !got.is_empty();
            for d in got {
                assert_eq!(d.lease_owner.as_deref(), Some(owner.as_str()));
                assert_eq!(d.attempts, 1);
                claimed_by.push((owner.clone(), d));
            }
        }
        if !any {
            break;
        }
    }
    let ids: HashSet<_> = claimed_by.iter().map(|(_, d)| d.id).collect();
    assert_eq!(ids.len(), claimed_by.len(), "a row was claimed twice");
    let expected: HashSet<_> = enqueued.iter().map(|d| d.id).collect();
    assert_eq!(ids, expected);
}

/// Only pending, due, unleased rows are claimed, of every issuer, earliest due first; the
/// claim takes the lease and counts the attempt.
pub async fn a_delivery_is_claimed_only_when_due_and_unleased(store: Arc<dyn Store>) {
    let (acme, _) = create_issuer(&*store, "acme").await;
    let (globex, _) = create_issuer(&*store, "globex").await;
    let c = another_client(&*store, &acme, "Logout app").await;
    let g = another_client(&*store, &globex, "Logout app").await;
    let later = enqueue_logouts(&*store, &acme, c.id, T0.plus_seconds(10), 1).await;
    let sooner = enqueue_logouts(&*store, &globex, g.id, T0.plus_seconds(5), 1).await;
    let deliveries = store.deliveries();
    assert!(
        deliveries
            .claim_due("a", T0, T0.plus_seconds(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = deliveries
        .claim_due("a", T0.plus_seconds(10), T0.plus_seconds(70), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![sooner[0].id, later[0].id],
        "both issuers, earliest due first"
    );
    for d in &claimed {
        assert_eq!(d.state, DeliveryState::Pending);
        assert_eq!(d.attempts, 1);
        assert_eq!(d.lease_owner.as_deref(), Some("a"));
        assert_eq!(d.lease_until, Some(T0.plus_seconds(70)));
    }
    // Leased: nobody else gets them until the lease ends.
    assert!(
        deliveries
            .claim_due("b", T0.plus_seconds(69), T0.plus_seconds(120), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A limit is a limit.
    let (initech, _) = create_issuer(&*store, "initech").await;
    let i = another_client(&*store, &initech, "Logout app").await;
    enqueue_logouts(&*store, &initech, i.id, T0, 3).await;
    assert_eq!(
        deliveries
            .claim_due("b", T0, T0.plus_seconds(60), 2)
            .await
            .unwrap()
            .len(),
        2
    );
}

/// A lease that ended may be claimed by another worker (the first one died mid-attempt); the
/// first worker's late outcome then changes nothing.
pub async fn an_expired_lease_is_claimable_again(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let c = another_client(&*store, &acme, "Logout app").await;
    let d = enqueue_logouts(&*store, &acme, c.id, T0, 1).await.remove(0);
    let deliveries = store.deliveries();
    let first = deliveries
        .claim_due("a", T0, T0.plus_seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let second = deliveries
        .claim_due("b", T0.plus_seconds(60), T0.plus_seconds(120), 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, d.id);
    assert_eq!(second[0].attempts, 2);
    assert_eq!(second[0].lease_owner.as_deref(), Some("b"));
    // The worker whose lease expired: its outcome is not recorded.
    assert!(
        !deliveries
            .record_success(scope, d.id, "a", 200, T0.plus_seconds(61))
            .await
            .unwrap()
    );
    assert!(
        !deliveries
            .record_failure(
                scope,
                d.id,
                "a",
                &failure(Some(500), "late"),
                T0.plus_seconds(999),
                T0.plus_seconds(61)
            )
            .await
            .unwrap()
    );
    assert!(
        !deliveries
            .dead_letter(
                scope,
                d.id,
                "a",
                &failure(Some(500), "late"),
                T0.plus_seconds(61),
                &event("delivery.failed", d.id)
            )
            .await
            .unwrap()
    );
    let now = deliveries.find(scope, d.id).await.unwrap().unwrap();
    assert_eq!(now.lease_owner.as_deref(), Some("b"));
    assert_eq!(now.state, DeliveryState::Pending);
    assert_eq!(now.last_error, None);
    assert!(
        !event_types(&*store, scope)
            .await
            .contains(&"delivery.failed".to_owned())
    );
}

/// Success makes a row `delivered`; a failure puts it back for its next attempt with the
/// lease released; dead-lettering makes it `dead` with its event. Final rows are never
/// claimed again.
pub async fn a_delivered_or_dead_delivery_is_never_claimed_again(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let c = another_client(&*store, &acme, "Logout app").await;
    let [ok, failing]: [Delivery; 2] = enqueue_logouts(&*store, &acme, c.id, T0, 2)
        .await
        .try_into()
        .unwrap();
    let deliveries = store.deliveries();
    let far = T0.plus_seconds(1_000_000);
    assert_eq!(
        deliveries
            .claim_due("w", T0, T0.plus_seconds(60), 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        deliveries
            .record_success(scope, ok.id, "w", 204, T0.plus_seconds(1))
            .await
            .unwrap()
    );
    let delivered = deliveries.find(scope, ok.id).await.unwrap().unwrap();
    assert_eq!(delivered.state, DeliveryState::Delivered);
    assert_eq!(delivered.last_status, Some(204));
    assert_eq!(delivered.lease_owner, None);
    assert_eq!(delivered.lease_until, None);
    assert_eq!(delivered.updated_at, T0.plus_seconds(1));

    assert!(
        deliveries
            .record_failure(
                scope,
                failing.id,
                "w",
                &failure(Some(500), "HTTP 500"),
                T0.plus_seconds(30),
                T0.plus_seconds(1)
            )
            .await
            .unwrap()
    );
    let retrying = deliveries.find(scope, failing.id).await.unwrap().unwrap();
    assert_eq!(retrying.state, DeliveryState::Pending);
    assert_eq!(retrying.next_attempt_at, T0.plus_seconds(30));
    assert_eq!(retrying.last_status, Some(500));
    assert_eq!(retrying.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(retrying.lease_owner, None);
    // Not before its time; then again, as its second attempt.
    assert!(
        deliveries
            .claim_due("w", T0.plus_seconds(29), far, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = deliveries
        .claim_due("w", T0.plus_seconds(30), T0.plus_seconds(90), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, failing.id);
    assert_eq!(again[0].attempts, 2);
    let dead_event = event("delivery.failed", failing.id);
    assert!(
        deliveries
            .dead_letter(
                scope,
                failing.id,
                "w",
                &failure(None, "connection refused"),
                T0.plus_seconds(31),
                &dead_event
            )
            .await
            .unwrap()
    );
    let dead = deliveries.find(scope, failing.id).await.unwrap().unwrap();
    assert_eq!(dead.state, DeliveryState::Dead);
    assert_eq!(dead.last_status, None);
    assert_eq!(dead.last_error.as_deref(), Some("connection refused"));
    assert_eq!(
        event_types(&*store, scope).await.last().map(String::as_str),
        Some("delivery.failed")
    );
    // Neither final row comes back, however late.
    assert!(
        deliveries
            .claim_due("w", far, far.plus_seconds(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Nor can a final row be finished twice (a second dead letter writes no second event).
    assert!(
        !deliveries
            .dead_letter(
                scope,
                failing.id,
                "w",
                &failure(None, "again"),
                far,
                &event("delivery.failed", failing.id)
            )
            .await
            .unwrap()
    );
}

/// A worker that never held the lease changes nothing, whatever it reports (one whose lease
/// expired and was taken over: `an_expired_lease_is_claimable_again`).
pub async fn a_worker_that_never_held_the_lease_changes_nothing(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let c = another_client(&*store, &acme, "Logout app").await;
    let d = enqueue_logouts(&*store, &acme, c.id, T0, 1).await.remove(0);
    let deliveries = store.deliveries();
    // Never claimed by "ghost".
    assert!(
        !deliveries
            .record_success(scope, d.id, "ghost", 200, T0)
            .await
            .unwrap()
    );
    assert!(
        !deliveries
            .dead_letter(
                scope,
                d.id,
                "ghost",
                &failure(None, "x"),
                T0,
                &event("delivery.failed", d.id)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        deliveries.find(scope, d.id).await.unwrap().unwrap(),
        d,
        "untouched"
    );
    assert!(
        !event_types(&*store, scope)
            .await
            .contains(&"delivery.failed".to_owned())
    );
}

/// Deleting a client drops its deliveries; deleting an issuer drops all of its own.
pub async fn deleting_a_client_or_issuer_removes_its_deliveries(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (kept, kept_scope) = create_issuer(&*store, "kept").await;
    let gone = another_client(&*store, &acme, "Gone").await;
    let stays = another_client(&*store, &acme, "Stays").await;
    let k = another_client(&*store, &kept, "Kept").await;
    enqueue_logouts(&*store, &acme, gone.id, T0, 2).await;
    let staying = enqueue_logouts(&*store, &acme, stays.id, T0, 1).await;
    let elsewhere = enqueue_logouts(&*store, &kept, k.id, T0, 1).await;
    store
        .clients()
        .delete(scope, gone.id, None, &event("client.deleted", gone.id))
        .await
        .unwrap();
    let left = store
        .deliveries()
        .list(scope, PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(left, staying);
    store
        .issuers()
        .delete(acme.id, kept_scope, &event("issuer.deleted", acme.id))
        .await
        .unwrap();
    let claimable = store
        .deliveries()
        .claim_due("w", T0, T0.plus_seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(
        claimable.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![elsewhere[0].id]
    );
}

/// Subscribes a webhook with `types` to `issuer`.
async fn subscribe(store: &dyn Store, issuer: &Issuer, url: &str, types: &[&str]) -> Webhook {
    let mut hook = super::webhook(issuer.id, url);
    hook.event_types = types.iter().map(|t| (*t).to_owned()).collect();
    store
        .webhooks()
        .create(
            IssuerScope::of(issuer),
            &hook,
            &event("webhook.created", hook.id),
        )
        .await
        .unwrap();
    hook
}

/// Every event write enqueues one delivery per enabled webhook that receives it, with the
/// event: an event whose transaction fails leaves no delivery, and another issuer's webhooks
/// get nothing.
pub async fn an_event_is_fanned_out_to_the_webhooks_that_receive_it_in_its_transaction(
    store: Arc<dyn Store>,
) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (other, _) = create_issuer(&*store, "other").await;
    let users = subscribe(
        &*store,
        &acme,
        "https://hooks.example.com/users",
        &["user.*"],
    )
    .await;
    let created = subscribe(
        &*store,
        &acme,
        "https://hooks.example.com/created",
        &["user.created", "client.created"],
    )
    .await;
    let mut paused = super::webhook(acme.id, "https://hooks.example.com/paused");
    paused.enabled = false;
    store
        .webhooks()
        .create(scope, &paused, &event("webhook.created", paused.id))
        .await
        .unwrap();
    let elsewhere = subscribe(&*store, &other, "https://hooks.example.com/o", &["user.*"]).await;

    let ada = user(acme.id, "ada@example.com", None);
    let created_event = event("user.created", ada.id);
    store
        .users()
        .create(scope, &ada, &created_event)
        .await
        .unwrap();
    let blocked = event("user.blocked", ada.id);
    store.events().append(scope, &blocked).await.unwrap();

    let of = |hook: &Webhook| {
        let store = store.clone();
        let id = hook.id;
        let scope = IssuerScope::of(if hook.issuer_id == acme.id {
            &acme
        } else {
            &other
        });
        async move {
            store
                .deliveries()
                .list_for_webhook(scope, id, PageRequest::first(50))
                .await
                .unwrap()
                .items
        }
    };
    let to_users = of(&users).await;
    assert_eq!(
        to_users.iter().map(|d| d.event_id()).collect::<Vec<_>>(),
        vec![Some(created_event.id), Some(blocked.id)]
    );
    for d in &to_users {
        assert_eq!(d.kind, DeliveryKind::Webhook);
        assert_eq!(d.webhook_id, Some(users.id));
        assert_eq!(d.target_url, users.url);
        assert_eq!(d.state, DeliveryState::Pending);
        assert_eq!(d.next_attempt_at, T0);
    }
    let to_created = of(&created).await;
    assert_eq!(to_created.len(), 1);
    assert_eq!(to_created[0].event_id(), Some(created_event.id));
    assert!(of(&paused).await.is_empty());
    assert!(of(&elsewhere).await.is_empty());

    // A change that fails (a duplicate email) writes neither its event nor a delivery.
    let twin = user(acme.id, "ada@example.com", None);
    assert!(
        store
            .users()
            .create(scope, &twin, &event("user.created", twin.id))
            .await
            .is_err()
    );
    assert_eq!(of(&users).await.len(), 2);
    // The deliveries are the worker's like any other.
    let claimed = store
        .deliveries()
        .claim_due("w", T0, T0.plus_seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
}

/// A dead-lettered webhook delivery marks its webhook failing, in the dead letter's
/// transaction; a later success clears it. The webhook's revision does not move.
pub async fn a_dead_webhook_delivery_marks_its_webhook_failing_until_one_succeeds(
    store: Arc<dyn Store>,
) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let hook = subscribe(&*store, &acme, "https://hooks.example.com/x", &["user.*"]).await;
    for n in 0..2 {
        let e = event("user.updated", format!("usr_{n}"));
        store.events().append(scope, &e).await.unwrap();
    }
    let claimed = store
        .deliveries()
        .claim_due("w", T0, T0.plus_seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let dead_event = event("delivery.failed", claimed[0].id);
    assert!(
        store
            .deliveries()
            .dead_letter(
                scope,
                claimed[0].id,
                "w",
                &failure(Some(500), "HTTP 500"),
                T0,
                &dead_event
            )
            .await
            .unwrap()
    );
    let failing = store
        .webhooks()
        .find(scope, hook.id)
        .await
        .unwrap()
        .unwrap();
    assert!(failing.failing);
    assert_eq!(failing.revision, hook.revision);
    assert!(
        store
            .deliveries()
            .record_success(scope, claimed[1].id, "w", 204, T0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .webhooks()
            .find(scope, hook.id)
            .await
            .unwrap()
            .unwrap()
            .failing
    );
}

/// Deleting a webhook drops its deliveries, whatever their state, and no others.
pub async fn deleting_a_webhook_removes_its_deliveries(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let gone = subscribe(
        &*store,
        &acme,
        "https://hooks.example.com/gone",
        &["user.*"],
    )
    .await;
    let kept = subscribe(
        &*store,
        &acme,
        "https://hooks.example.com/kept",
        &["user.*"],
    )
    .await;
    store
        .events()
        .append(scope, &event("user.updated", "usr_1"))
        .await
        .unwrap();
    store
        .webhooks()
        .delete(scope, gone.id, None, &event("webhook.deleted", gone.id))
        .await
        .unwrap();
    let all = store
        .deliveries()
        .list(scope, PageRequest::first(50))
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].webhook_id, Some(kept.id));
}

/// An event's request context is stored, read back, and covered by its chain hash.
pub async fn events_keep_their_request_context_under_the_chain_hash(store: Arc<dyn Store>) {
    let (_, scope) = create_issuer(&*store, "acme").await;
    let context = RequestContext {
        ip: Some("2001:db8::7".to_owned()),
        user_agent: Some("curl/8.5".to_owned()),
        request_id: None,
    };
    let with = NewEvent {
        context: Some(context.clone()),
        ..event("user.updated", "usr_1")
    };
    store.events().append(scope, &with).await.unwrap();
    let found = store.events().find(scope, with.id).await.unwrap().unwrap();
    assert_eq!(found.context, Some(context));
    assert_eq!(
        found.hash,
        crate::chain::chain_hash(&found.prev_hash, &found.chain_fields())
    );
    let mut altered = found.clone();
    altered.context.as_mut().unwrap().ip = Some("192.0.2.1".to_owned());
    assert_ne!(
        found.hash,
        crate::chain::chain_hash(&altered.prev_hash, &altered.chain_fields())
    );
}

/// Pruning removes the events before a time, and finished deliveries last changed before
/// it, and anchors the chain at the last removed link: the next event links to it, and the
/// kept events still form one chain from it.
pub async fn pruning_removes_old_events_and_anchors_the_chain(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (_, other_scope) = create_issuer(&*store, "other").await;
    let hook = subscribe(&*store, &acme, "https://hooks.example.com/x", &["user.*"]).await;
    let at = |offset: i64, n: usize| NewEvent {
        occurred_at: T0.plus_seconds(offset),
        ..event("user.updated", format!("usr_{n}"))
    };
    for n in 0..3 {
        store.events().append(scope, &at(100, n)).await.unwrap();
    }
    store.events().append(scope, &at(1000, 9)).await.unwrap();
    // One delivery finished long ago, the others still pending.
    let claimed = store
        .deliveries()
        .claim_due("w", T0.plus_seconds(100), T0.plus_seconds(160), 1)
        .await
        .unwrap();
    store
        .deliveries()
        .record_success(scope, claimed[0].id, "w", 200, T0.plus_seconds(101))
        .await
        .unwrap();
    assert_eq!(store.events().chain_anchor(scope).await.unwrap(), None);
    let chain = store.events().list_chain(scope, 0, 100).await.unwrap();
    // issuer.created, webhook.created, three old user events, one new.
    assert_eq!(chain.len(), 6);
    let removed = store
        .events()
        .prune(scope, T0.plus_seconds(500), T0.plus_seconds(2000))
        .await
        .unwrap();
    assert_eq!(removed, 5);
    let anchor = store.events().chain_anchor(scope).await.unwrap().unwrap();
    assert_eq!((anchor.seq, anchor.hash), (chain[4].seq, chain[4].hash));
    let kept = store.events().list_chain(scope, 0, 100).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].prev_hash, anchor.hash);
    let deliveries = store
        .deliveries()
        .list_for_webhook(scope, hook.id, PageRequest::first(50))
        .await
        .unwrap()
        .items;
    assert_eq!(deliveries.len(), 3, "only the finished delivery is removed");
    assert!(deliveries.iter().all(|d| d.state == DeliveryState::Pending));
    // Pruning everything leaves the anchor as the chain's start.
    store
        .events()
        .prune(scope, T0.plus_seconds(5000), T0.plus_seconds(6000))
        .await
        .unwrap();
    assert_eq!(store.events().count(scope).await.unwrap(), 0);
    let next = event("user.updated", "usr_next");
    store.events().append(scope, &next).await.unwrap();
    let after = store.events().find(scope, next.id).await.unwrap().unwrap();
    assert_eq!(after.seq, kept[0].seq + 1);
    assert_eq!(after.prev_hash, kept[0].hash);
    // Another issuer's trail is untouched.
    assert_eq!(store.events().count(other_scope).await.unwrap(), 1);
    assert_eq!(
        store.events().chain_anchor(other_scope).await.unwrap(),
        None
    );
}
