//! Leases on background jobs and the sweep of expired rows.

use tessera_model::UnixTime;
use tessera_store::StoreError;

use super::SqlStore;
use crate::error::map;

/// Takes the lease if the row is absent, expired, or already `holder`'s: one statement, so of
/// two nodes asking at once the database lets exactly one write.
const LEASE: &str = "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
     WHERE job_leases.expires_at <= $4 OR job_leases.holder = excluded.holder";

/// The expired rows the sweep removes, oldest first, `$2` at a time. Refresh tokens go with
/// their family (a used one must be kept while its family lives, for reuse detection), and
/// session-client links with their session. Sign-in failure counts go a day after their last
/// failure: no lock lasts longer (`LOCKOUT_SECONDS`).
const PURGES: [&str; 7] = [
    "DELETE FROM tickets WHERE id IN \
     (SELECT id FROM tickets WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
    "DELETE FROM interactions WHERE id IN \
     (SELECT id FROM interactions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
    "DELETE FROM sessions WHERE id IN \
     (SELECT id FROM sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
    "DELETE FROM token_families WHERE id IN \
     (SELECT id FROM token_families WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
    "DELETE FROM opaque_access_tokens WHERE (issuer_id, secret_hash) IN \
     (SELECT issuer_id, secret_hash FROM opaque_access_tokens WHERE expires_at < $1 \
      ORDER BY expires_at LIMIT $2)",
    "DELETE FROM idempotency_keys WHERE (caller, key) IN \
     (SELECT caller, key FROM idempotency_keys WHERE expires_at < $1 \
      ORDER BY expires_at LIMIT $2)",
    "DELETE FROM sign_in_failures WHERE (issuer_id, subject) IN \
     (SELECT issuer_id, subject FROM sign_in_failures WHERE last_failure_at < $1 - 86400 \
      ORDER BY last_failure_at LIMIT $2)",
];

impl SqlStore {
    pub(super) async fn lease(
        &self,
        job: &str,
        holder: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(LEASE)
            .bind(job)
            .bind(holder)
            .bind(until.0)
            .bind(now.0)
            .execute(&self.write)
            .await
            .map_err(|e| map("job lease", e))?;
        Ok(result.rows_affected() == 1)
    }

    /// Each table in its own short transaction, so the sweep never holds the write lock
    /// (SQLite's only one) for long.
    pub(super) async fn purge(&self, now: UnixTime, batch: u32) -> Result<u64, StoreError> {
        let mut removed = 0;
        for statement in PURGES {
            let result = sqlx::query(statement)
                .bind(now.0)
                .bind(i64::from(batch))
                .execute(&self.write)
                .await
                .map_err(|e| map("expired record", e))?;
            removed += result.rows_affected();
        }
        Ok(removed)
    }
}
