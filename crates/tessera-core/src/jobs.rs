//! Background work that any node may do but no two may do at once: each job is taken with a
//! lease in the database ([`Core::lease_job`]), renewed while it runs and given back when it
//! is done. A node that dies holding one blocks the job only until the lease expires; then
//! the next node to ask takes it over. The jobs themselves are idempotent batches, so one cut
//! short half-way leaves nothing half-done.

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

    /// Gives the lease on `job` back, so that the next run need not wait for it to expire.
    pub async fn release_job(&self, job: &str, holder: &str) -> Result<(), CoreError> {
        Ok(self.store.release_job(job, holder).await?)
    }

    /// Deletes what expired (single-use tickets, interactions, sessions, token families with
    /// their refresh tokens, opaque access tokens, idempotency keys), up to `batch` rows of each
    /// kind; returns how many went. Call again until it returns 0.
    pub async fn purge_expired(&self, batch: u32) -> Result<u64, CoreError> {
        Ok(self.store.purge_expired(self.clock.now(), batch).await?)
    }
}
