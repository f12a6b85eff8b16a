//! Idempotency keys of Core API callers. `begin` is one conditional statement — an
//! `INSERT … ON CONFLICT DO UPDATE … WHERE` that only replaces an expired claim — so the
//! database decides the one request that starts (ARCHITECTURE.md invariant 6); the read that
//! follows a lost insert only tells the loser what holds the key.

use async_trait::async_trait;
use tessera_model::{ClientId, UnixTime};
use tessera_store::{Begin, IdempotencyRepo, StoreError, StoredResponse};

use super::SqlStore;
use crate::error::{corrupt, map};

/// A claim as stored: `status` is `NULL` until the request finishes.
#[derive(sqlx::FromRow)]
struct ClaimRow {
    request_hash: Vec<u8>,
    status: Option<i64>,
    response_headers: Option<String>,
    response_body: Option<Vec<u8>>,
    expires_at: i64,
}

impl ClaimRow {
    fn response(self) -> Result<Option<StoredResponse>, StoreError> {
        let Some(status) = self.status else {
            return Ok(None);
        };
        let status = u16::try_from(status).map_err(|_| corrupt("idempotent response status"))?;
        let headers = match self.response_headers {
            Some(text) => {
                serde_json::from_str(&text).map_err(|_| corrupt("idempotent response headers"))?
            }
            None => Vec::new(),
        };
        Ok(Some(StoredResponse {
            status,
            headers,
            body: self.response_body.unwrap_or_default(),
        }))
    }
}

/// How often `begin` tries again when the claim it lost to vanished before it could read it
/// (abandoned by its owner in between). Each round is a fresh attempt to claim the key.
const BEGIN_ROUNDS: usize = 3;

#[async_trait]
impl IdempotencyRepo for SqlStore {
    async fn begin(
        &self,
        caller: ClientId,
        key: &str,
        request_hash: &[u8; 32],
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<Begin, StoreError> {
        let caller = caller.to_string();
        for _ in 0..BEGIN_ROUNDS {
            let claimed = sqlx::query(
                "INSERT INTO idempotency_keys (caller, key, request_hash, status, \
                 response_headers, response_body, created_at, expires_at) \
                 VALUES ($1, $2, $3, NULL, NULL, NULL, $4, $5) \
                 ON CONFLICT (caller, key) DO UPDATE SET \
                 request_hash = excluded.request_hash, status = NULL, \
                 response_headers = NULL, response_body = NULL, \
                 created_at = excluded.created_at, expires_at = excluded.expires_at \
                 WHERE idempotency_keys.expires_at <= $4",
            )
            .bind(&caller)
            .bind(key)
            .bind(request_hash.to_vec())
            .bind(now.0)
            .bind(expires_at.0)
            .execute(&self.write)
            .await
            .map_err(|e| map("idempotency key", e))?;
            if claimed.rows_affected() == 1 {
                return Ok(Begin::Started);
            }
            // Read through the writer: it has seen the claim the insert collided with.
            let holder: Option<ClaimRow> = sqlx::query_as(
                "SELECT request_hash, status, response_headers, response_body, expires_at \
                 FROM idempotency_keys WHERE caller = $1 AND key = $2",
            )
            .bind(&caller)
            .bind(key)
            .fetch_optional(&self.write)
            .await
            .map_err(|e| map("idempotency key", e))?;
            let Some(holder) = holder.filter(|h| h.expires_at > now.0) else {
                continue;
            };
            if holder.request_hash != request_hash {
                return Ok(Begin::Mismatch);
            }
            return Ok(match holder.response()? {
                Some(response) => Begin::Replay(response),
                None => Begin::InProgress,
            });
        }
        // The key keeps changing hands under us: another request is working with it.
        Ok(Begin::InProgress)
    }

    async fn finish(
        &self,
        caller: ClientId,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let headers = serde_json::to_string(&response.headers)
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        let finished = sqlx::query(
            "UPDATE idempotency_keys SET status = $3, response_headers = $4, response_body = $5 \
             WHERE caller = $1 AND key = $2 AND status IS NULL",
        )
        .bind(caller.to_string())
        .bind(key)
        .bind(i64::from(response.status))
        .bind(headers)
        .bind(&response.body)
        .execute(&self.write)
        .await
        .map_err(|e| map("idempotency key", e))?;
        if finished.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn abandon(&self, caller: ClientId, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND status IS NULL",
        )
        .bind(caller.to_string())
        .bind(key)
        .execute(&self.write)
        .await
        .map_err(|e| map("idempotency key", e))?;
        Ok(())
    }
}
