//! Periodic work of a node that is not a request: event retention now (expired tickets and
//! sessions join it with the scale issue). Every node runs it; the work is safe to run on
//! several nodes at once (each prune takes the issuer's append lock, so an event is removed
//! once), so no job lease is needed yet.

use std::time::Duration;

use tessera_core::Core;

/// How often retention runs. Retention is counted in days; an hour's lag is nothing.
const RETENTION_INTERVAL: Duration = Duration::from_secs(3600);

/// The first run waits this long after start, so that a restart under load does not add work
/// to the moment the node joins.
const FIRST_RUN_AFTER: Duration = Duration::from_secs(60);

/// Runs housekeeping until `stop` completes.
pub(crate) async fn run(core: Core, stop: impl Future<Output = ()> + Send) {
    tokio::pin!(stop);
    let mut next = tokio::time::Instant::now() + FIRST_RUN_AFTER;
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep_until(next) => {}
        }
        match core.apply_event_retention().await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "event retention removed old events"),
            Err(error) => tracing::warn!(%error, "event retention failed; it runs again later"),
        }
        next += RETENTION_INTERVAL;
    }
}
