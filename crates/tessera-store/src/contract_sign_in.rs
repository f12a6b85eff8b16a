//! Contract cases of the sign-in failure counts (brute-force protection): counts are kept per
//! subject and per issuer; `advance` is a compare-and-set, so of sign-ins that saw one count
//! exactly one reserves the next try; `add` counts up or starts again; the expiry sweep
//! forgets counts a day after their last failure.

use super::*;
use crate::FailureCount;

const ACCOUNT: [u8; 32] = [1; 32];
const ADDRESS: [u8; 32] = [2; 32];

fn count(failures: i64, at: UnixTime) -> FailureCount {
    FailureCount {
        failures,
        last_failure_at: at,
    }
}

/// Counts are read, advanced, added to, cleared, and never seen from another issuer.
pub async fn sign_in_failures_are_counted_per_subject_and_issuer(store: Arc<dyn Store>) {
    let (_, acme) = create_issuer(&*store, "acme").await;
    let (_, other) = create_issuer(&*store, "other").await;
    let failures = store.sign_in_failures();
    assert_eq!(
        failures.find(acme, &[ACCOUNT, ADDRESS]).await.unwrap(),
        vec![None, None]
    );

    // The first reservation inserts; a second one that also saw nothing loses.
    let first = count(1, T0);
    assert!(failures.advance(acme, &ACCOUNT, None, first).await.unwrap());
    assert!(!failures.advance(acme, &ACCOUNT, None, first).await.unwrap());
    // The next one must name the count it saw, exactly.
    let second = count(2, T0.plus_seconds(5));
    assert!(
        !failures
            .advance(acme, &ACCOUNT, Some(count(1, T0.plus_seconds(1))), second)
            .await
            .unwrap(),
        "a stale view of the count changes nothing"
    );
    assert!(
        failures
            .advance(acme, &ACCOUNT, Some(first), second)
            .await
            .unwrap()
    );

    // `add` counts up, and starts again after a quiet period.
    let restart_before = T0.plus_seconds(-900);
    assert_eq!(
        failures
            .add(acme, &ADDRESS, T0, restart_before)
            .await
            .unwrap(),
        count(1, T0)
    );
    assert_eq!(
        failures
            .add(acme, &ADDRESS, T0.plus_seconds(1), restart_before)
            .await
            .unwrap(),
        count(2, T0.plus_seconds(1))
    );
    let later = T0.plus_seconds(2000);
    assert_eq!(
        failures
            .add(acme, &ADDRESS, later, later.plus_seconds(-900))
            .await
            .unwrap(),
        count(1, later),
        "a count whose last failure is older than the period starts again"
    );
    assert_eq!(
        failures.find(acme, &[ACCOUNT, ADDRESS]).await.unwrap(),
        vec![Some(second), Some(count(1, later))]
    );

    // Another issuer sees none of it, and its counts are its own.
    assert_eq!(
        failures.find(other, &[ACCOUNT, ADDRESS]).await.unwrap(),
        vec![None, None]
    );
    assert!(
        failures
            .advance(other, &ACCOUNT, None, first)
            .await
            .unwrap()
    );
    failures.clear(other, &ACCOUNT).await.unwrap();
    assert_eq!(
        failures.find(acme, &[ACCOUNT]).await.unwrap(),
        vec![Some(second)],
        "clearing at one issuer leaves the other's count"
    );
    failures.clear(acme, &ACCOUNT).await.unwrap();
    assert_eq!(failures.find(acme, &[ACCOUNT]).await.unwrap(), vec![None]);

    // The sweep forgets a count a day after its last failure, not before.
    let swept_at = later.plus_seconds(86_400);
    assert_eq!(store.purge_expired(swept_at, 100).await.unwrap(), 0);
    assert_eq!(
        store
            .purge_expired(swept_at.plus_seconds(1), 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(failures.find(acme, &[ADDRESS]).await.unwrap(), vec![None]);
}

/// Sign-ins that read the same count race to reserve the next try: exactly one wins, whether
/// the count was absent (an insert) or present (an update).
pub async fn concurrent_sign_ins_that_saw_one_count_reserve_one_try(store: Arc<dyn Store>) {
    const RACERS: usize = 16;
    let (_, scope) = create_issuer(&*store, "acme").await;
    let mut seen = None;
    for round in 1..=3 {
        let next = count(round, T0.plus_seconds(round));
        let outcomes = race(RACERS, |_| {
            let store = store.clone();
            async move {
                store
                    .sign_in_failures()
                    .advance(scope, &ACCOUNT, seen, next)
                    .await
                    .unwrap()
            }
        })
        .await;
        assert_eq!(
            outcomes.iter().filter(|won| **won).count(),
            1,
            "round {round}: {outcomes:?}"
        );
        seen = Some(next);
    }
    assert_eq!(
        store
            .sign_in_failures()
            .find(scope, &[ACCOUNT])
            .await
            .unwrap(),
        vec![Some(count(3, T0.plus_seconds(3)))]
    );
}
