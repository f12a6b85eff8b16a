//! Keeps this node's caches true to changes made through other nodes: reads the store's change
//! feed (PostgreSQL `LISTEN`) and drops whatever each notice names; after a gap in the feed (a
//! lost connection), drops everything. On SQLite there is no feed: one node is all there is.

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
