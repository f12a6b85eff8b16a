//! Periodic work of a node that is not a request: sweeping expired records, applying event
//! retention and rotating the keys of issuers that asked for it (`key_rotation_days`).
//!
//! Every node runs this loop, and each run of a job is taken with a lease for one period
//! (`Core::lease_job`, [`Job::lease_seconds`]), so a job runs once per period across all nodes,
//! never on two at once, and a node that died holding it delays it by one period at most.
//! Each step of a job is complete in itself (a batch of the sweep in its own statements, one
//! issuer's prune in one transaction), so a run cut short leaves nothing half-done and the next
//! run carries on. There is no timer per issuer: each job is one pass over the installation.

use std::time::Duration;

use tessera_core::{Core, CoreError};

/// A kind of periodic work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// Expired tickets, interactions, sessions, token families, opaque tokens, idempotency keys.
    ExpirySweep,
    /// Events older than their issuer's retention.
    EventRetention,
    /// Keys older than their issuer's rotation period.
    KeyRotation,
}

impl Job {
    const ALL: [Job; 3] = [Job::ExpirySweep, Job::EventRetention, Job::KeyRotation];

    /// The lease's name, shared by every node.
    fn name(self) -> &'static str {
        match self {
            Self::ExpirySweep => "expiry-sweep",
            Self::EventRetention => "event-retention",
            Self::KeyRotation => "key-rotation",
        }
    }

    /// How often the job runs. Expired rows cost only space; retention and rotation periods
    /// are counted in days.
    fn every(self) -> Duration {
        match self {
            Self::ExpirySweep => Duration::from_secs(300),
            Self::EventRetention | Self::KeyRotation => Duration::from_secs(3600),
        }
    }

    /// The lease a run takes: one period, so the job runs once per period across all nodes,
    /// and a node that dies mid-run holds it up for one period at most.
    fn lease_seconds(self) -> i64 {
        i64::try_from(self.every().as_secs()).unwrap_or(i64::MAX)
    }
}

/// Rows of each kind the sweep deletes per statement, so no statement holds locks for long.
const SWEEP_BATCH: u32 = 1000;

/// The first runs wait this long after start, so that a restart under load does not add work
/// to the moment the node joins.
const FIRST_RUN_AFTER: Duration = Duration::from_secs(60);

/// Runs housekeeping until `stop` completes. `holder` names this node in the leases.
pub(crate) async fn run(core: Core, holder: String, stop: impl Future<Output = ()> + Send) {
    tokio::pin!(stop);
    let start = tokio::time::Instant::now() + FIRST_RUN_AFTER;
    let mut next = Job::ALL.map(|_| start);
    loop {
        let (index, due) = next
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|(_, at)| *at)
            .expect("there are jobs");
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep_until(due) => {}
        }
        let job = Job::ALL[index];
        if let Err(error) = run_job(&core, &holder, job).await {
            tracing::warn!(%error, job = job.name(), "a housekeeping job failed; it runs again later");
        }
        next[index] = due + job.every();
    }
}

/// Runs `job` if this node gets its lease for the coming period: the lease says "this period's
/// run is taken", so it is kept, not given back, and the other nodes, whose timers fire at
/// other moments of the period, skip it.
async fn run_job(core: &Core, holder: &str, job: Job) -> Result<(), CoreError> {
    if !core
        .lease_job(job.name(), holder, job.lease_seconds())
        .await?
    {
        tracing::debug!(job = job.name(), "another node ran the job in this period");
        return Ok(());
    }
    let outcome = match job {
        Job::ExpirySweep => sweep(core, holder, job).await,
        Job::EventRetention => core.apply_event_retention().await,
        Job::KeyRotation => core.rotate_due_keys().await,
    };
    match outcome? {
        0 => {}
        count => tracing::info!(
            count,
            job = job.name(),
            "housekeeping done (records removed, or issuers whose keys rotated)"
        ),
    }
    Ok(())
}

/// Sweeps batch after batch until nothing expired is left, renewing the lease in between; stops
/// early if the lease was lost (another node took over after a pause longer than the lease).
async fn sweep(core: &Core, holder: &str, job: Job) -> Result<u64, CoreError> {
    let mut removed = 0;
    loop {
        let batch = core.purge_expired(SWEEP_BATCH).await?;
        removed += batch;
        if batch == 0
            || !core
                .lease_job(job.name(), holder, job.lease_seconds())
                .await?
        {
            return Ok(removed);
        }
    }
}

/// The name this node goes by in job leases: the process id and a random part (two processes,
/// or one restarted, never share a name).
pub(crate) fn node_name() -> String {
    format!(
        "node-{}-{}",
        std::process::id(),
        tessera_crypto::base64url(&tessera_crypto::random_bytes::<6>())
    )
}
