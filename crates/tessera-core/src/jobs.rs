//! Background work that any node may do but no two may do at once: a run of a job is taken
//! with a lease in the database ([`Core::lease_job`]), renewed while it runs. A node that dies
//! holding one blocks the job only until the lease expires; then the next node to ask takes it
//! over.

use crate::{Core, CoreError};

impl Core {
    /// Takes (or, when `holder` has it, renews) the lease on `job` for `seconds`; false while
    /// another holder's lease is live.
    pub async fn lease_job(
        &self,
        job: &str,
        holder: &str,
        seconds: i64,
    ) -> Result<bool, CoreError> {
        let now = self.clock.now();
        Ok(self
            .store
            .lease_job(job, holder, now, now.plus_seconds(seconds))
            .await?)
    }

    /// Deletes what expired (single-use tickets, interactions, sessions, token families with
    /// their refresh tokens, opaque access tokens, idempotency keys), up to `batch` rows of each
    /// kind; returns how many went. Call again until it returns 0.
    pub async fn purge_expired(&self, batch: u32) -> Result<u64, CoreError> {
        Ok(self.store.purge_expired(self.clock.now(), batch).await?)
    }
}
