//! Contract cases of the scale-out machinery: a job lease has one holder at a time (taken in
//! one statement, so of concurrent askers exactly one wins), passes on when it expires or is
//! given back; the expiry sweep removes what expired, in batches, across issuers, and nothing
//! live; change notices reach every listener (on a backend with several nodes).

use std::time::Duration;

use tessera_model::ClientId;

use super::*;
use crate::{Backend, Begin, Change, Notice};

const JOB: &str = "expiry-sweep";

/// A lease is held by one node until it expires; its holder renews it.
pub async fn a_job_lease_has_one_holder_until_it_expires(store: Arc<dyn Store>) {
    let until = T0.plus_seconds(60);
    assert!(store.lease_job(JOB, "node-a", T0, until).await.unwrap());
    assert!(
        !store
            .lease_job(JOB, "node-b", T0.plus_seconds(59), until)
            .await
            .unwrap(),
        "a live lease is not taken"
    );
    assert!(
        store
            .lease_job("event-retention", "node-b", T0, until)
            .await
            .unwrap(),
        "another job's lease is another row"
    );
    assert!(
        store
            .lease_job(JOB, "node-a", T0.plus_seconds(30), T0.plus_seconds(90))
            .await
            .unwrap(),
        "the holder renews"
    );
    assert!(
        !store
            .lease_job(JOB, "node-b", T0.plus_seconds(89), until)
            .await
            .unwrap(),
        "the renewal counts"
    );
    // node-a dies without giving the lease back: it passes on when it expires.
    let later = T0.plus_seconds(90);
    assert!(
        store
            .lease_job(JOB, "node-b", later, later.plus_seconds(60))
            .await
            .unwrap()
    );
    assert!(
        !store
            .lease_job(JOB, "node-a", later, later.plus_seconds(60))
            .await
            .unwrap(),
        "the former holder lost it"
    );
}

/// Of nodes asking for one free lease at the same moment, exactly one gets it.
pub async fn concurrent_askers_for_one_job_lease_have_exactly_one_winner(store: Arc<dyn Store>) {
    const ASKERS: usize = 8;
    let askers = race(ASKERS, |n| {
        let store = store.clone();
        async move {
            store
                .lease_job(JOB, &format!("node-{n}"), T0, T0.plus_seconds(60))
                .await
                .unwrap()
        }
    })
    .await;
    let mut winners = 0;
    for asker in askers {
        winners += usize::from(asker);
    }
    assert_eq!(winners, 1);
}

/// The sweep removes every kind of expired record, one batch at a time and in every issuer,
/// and leaves what is still live.
pub async fn expired_records_are_swept_in_batches_and_live_ones_stay(store: Arc<dyn Store>) {
    let now = T0.plus_seconds(100_000);
    let expired = T0.plus_seconds(10);
    let live = now.plus_seconds(3600);
    let mut expired_families = Vec::new();
    let mut live_families = Vec::new();
    for slug in ["acme", "globex"] {
        let (issuer, scope) = create_issuer(&*store, slug).await;
        let (u, c) = user_and_client(&*store, &issuer).await;
        for (n, expires_at) in [(1u8, expired), (2u8, live)] {
            store
                .tickets()
                .create(scope, &ticket(issuer.id, [n; 32], expires_at))
                .await
                .unwrap();
            store
                .interactions()
                .create(scope, &interaction(issuer.id, c.id, expires_at))
                .await
                .unwrap();
            let s = Session {
                expires_at,
                ..session(issuer.id, u.id, [n; 32])
            };
            store
                .sessions()
                .create(scope, &s, &event("session.created", s.id))
                .await
                .unwrap();
            let f = TokenFamily {
                expires_at,
                ..family(issuer.id, u.id, c.id)
            };
            store
                .tokens()
                .create_family(scope, &f, Some(&refresh(&f, [n; 32], expires_at)))
                .await
                .unwrap();
            let a = OpaqueAccessToken {
                expires_at,
                ..access(issuer.id, c.id, None, [n; 32])
            };
            store.tokens().create_access(scope, &a).await.unwrap();
            let kept = if n == 1 {
                &mut expired_families
            } else {
                &mut live_families
            };
            kept.push((issuer.clone(), s.id, f.id, [n; 32]));
        }
    }
    let caller = ClientId::new();
    for (key, expires_at) in [("old", expired), ("new", live)] {
        let begun = store
            .idempotency()
            .begin(caller, key, &[7; 32], T0, expires_at)
            .await
            .unwrap();
        assert_eq!(begun, Begin::Started);
    }

    // Six kinds, two expired of each but idempotency keys (one): 11 rows, one per kind per call.
    let mut batches = Vec::new();
    loop {
        let removed = store.purge_expired(now, 1).await.unwrap();
        if removed == 0 {
            break;
        }
        batches.push(removed);
    }
    assert_eq!(
        batches,
        vec![6, 5],
        "a batch of one per kind, then the rest"
    );

    for (issuer, session_id, family_id, hash) in &expired_families {
        let scope = IssuerScope::of(issuer);
        assert_eq!(
            store.sessions().find(scope, *session_id).await.unwrap(),
            None
        );
        assert_eq!(
            store.tokens().find_family(scope, *family_id).await.unwrap(),
            None
        );
        assert_eq!(
            store.tokens().find_refresh(scope, hash).await.unwrap(),
            None,
            "refresh tokens go with their family"
        );
        assert_eq!(store.tokens().find_access(scope, hash).await.unwrap(), None);
        let kind = TicketKind::AuthorizationCode;
        assert_eq!(store.tickets().find(scope, kind, hash).await.unwrap(), None);
    }
    for (issuer, session_id, family_id, hash) in &live_families {
        let scope = IssuerScope::of(issuer);
        assert!(
            store
                .tokens()
                .find_family(scope, *family_id)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .tokens()
                .find_refresh(scope, hash)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .tokens()
                .find_access(scope, hash)
                .await
                .unwrap()
                .is_some()
        );
        let kind = TicketKind::AuthorizationCode;
        assert!(
            store
                .tickets()
                .find(scope, kind, hash)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .sessions()
                .find(scope, *session_id)
                .await
                .unwrap()
                .is_some()
        );
    }
    let again = store
        .idempotency()
        .begin(caller, "new", &[7; 32], T0, live)
        .await;
    assert_eq!(again.unwrap(), Begin::InProgress, "the live key stays");
}

/// A notice announced by one node reaches every node's feed, the announcer's own included;
/// a backend that is always one node has no feed and announcing is a no-op.
pub async fn announced_changes_reach_every_listener(store: Arc<dyn Store>) {
    let change = Change::Client(IssuerId::new(), ClientId::new());
    let (Some(mut first), Some(mut second)) = (
        store.change_feed().await.unwrap(),
        store.change_feed().await.unwrap(),
    ) else {
        assert_eq!(
            store.backend(),
            Backend::Sqlite,
            "only SQLite is single-node"
        );
        store.announce(change).await.unwrap();
        return;
    };
    store.announce(change).await.unwrap();
    for feed in [&mut first, &mut second] {
        let notice = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .expect("the notice arrives");
        assert_eq!(notice, Notice::Changed(change));
    }
}
