//! Keeps this node's caches true to changes made through other nodes: reads the store's change
//! feed (PostgreSQL `LISTEN`) and drops whatever each notice names; after a gap in the feed (a
//! lost connection), drops everything. On SQLite there is no feed: one node is all there is.
//!
//! Beside the feed, [`revalidate`] checks every cached entry against the store in bulk a few
//! times per time to live (`Core::revalidate_caches`): the safety net for a lost notice, or a
//! change written by another process (`tessera admin` on SQLite), at a cost that does not grow
//! with one read per cached issuer.

use std::time::Duration;

use tessera_core::Core;

/// How long to wait before asking the database for a feed again.
const RETRY: Duration = Duration::from_secs(1);

/// Applies change notices until `stop` completes.
pub(crate) async fn run(core: Core, stop: impl Future<Output = ()> + Send) {
    tokio::pin!(stop);
    let mut feed = loop {
        match core.store().change_feed().await {
            Ok(Some(feed)) => {
                // Whatever was announced before the feed listened (since start-up, or while it
                // could not) is unknown here: anything cached until now is suspect.
                core.apply_notice(tessera_store::Notice::Gap);
                break feed;
            }
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for changes from other nodes; retrying");
            }
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    };
    loop {
        tokio::select! {
            () = &mut stop => return,
            notice = feed.next() => {
                if notice == tessera_store::Notice::Gap {
                    tracing::info!("the change feed reconnected; this node's caches start over");
                }
                core.apply_notice(notice);
            }
        }
    }
}

/// Runs [`Core::revalidate_caches`] every [`Core::revalidation_period`] until `stop` completes.
/// A failed round is logged and the next one tried; meanwhile entries expire as usual.
pub(crate) async fn revalidate(core: Core, stop: impl Future<Output = ()> + Send) {
    tokio::pin!(stop);
    let mut every = tokio::time::interval(core.revalidation_period());
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = every.tick() => {}
        }
        match core.revalidate_caches().await {
            Ok(done) => tracing::debug!(
                confirmed = done.confirmed,
                dropped = done.dropped,
                "cached entries checked against the store"
            ),
            Err(error) => tracing::warn!(%error, "cannot check cached entries against the store"),
        }
    }
}
