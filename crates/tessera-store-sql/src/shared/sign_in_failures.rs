//! Counts of failed sign-ins (brute-force protection). `advance` is a compare-and-set on the
//! count a caller read — an `INSERT … ON CONFLICT DO NOTHING` for a first failure, an `UPDATE
//! … WHERE failures = … AND last_failure_at = …` after that — so of concurrent sign-ins that
//! saw the same count, the database lets exactly one reserve the next try (ARCHITECTURE.md
//! invariant 6). `add` is one upsert that counts up or starts again.

use async_trait::async_trait;
use tessera_model::UnixTime;
use tessera_store::{FailureCount, IssuerScope, SignInFailureRepo, StoreError};

use super::SqlStore;
use crate::error::map;

#[derive(sqlx::FromRow)]
struct CountRow {
    subject: Vec<u8>,
    failures: i64,
    last_failure_at: i64,
}

#[async_trait]
impl SignInFailureRepo for SqlStore {
    async fn find(
        &self,
        scope: IssuerScope,
        subjects: &[[u8; 32]],
    ) -> Result<Vec<Option<FailureCount>>, StoreError> {
        // A sign-in asks for two subjects (the account and the address): two bound
        // parameters, the same text on both backends.
        let mut rows: Vec<CountRow> = Vec::new();
        for chunk in subjects.chunks(2) {
            let second = chunk.get(1).unwrap_or(&chunk[0]);
            rows.extend(
                sqlx::query_as::<_, CountRow>(
                    "SELECT subject, failures, last_failure_at FROM sign_in_failures \
                     WHERE issuer_id = $1 AND subject IN ($2, $3)",
                )
                .bind(scope.issuer_id().as_uuid())
                .bind(chunk[0].to_vec())
                .bind(second.to_vec())
                .fetch_all(&self.read)
                .await
                .map_err(|e| map("sign-in failure count", e))?,
            );
        }
        Ok(subjects
            .iter()
            .map(|subject| {
                rows.iter()
                    .find(|row| row.subject == subject)
                    .map(|row| FailureCount {
                        failures: row.failures,
                        last_failure_at: UnixTime(row.last_failure_at),
                    })
            })
            .collect())
    }

    async fn advance(
        &self,
        scope: IssuerScope,
        subject: &[u8; 32],
        seen: Option<FailureCount>,
        next: FailureCount,
    ) -> Result<bool, StoreError> {
        let issuer = scope.issuer_id();
        let query = match seen {
            None => sqlx::query(
                "INSERT INTO sign_in_failures (issuer_id, subject, failures, last_failure_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (issuer_id, subject) DO NOTHING",
            )
            .bind(issuer.as_uuid())
            .bind(subject.to_vec())
            .bind(next.failures)
            .bind(next.last_failure_at.0),
            Some(seen) => sqlx::query(
                "UPDATE sign_in_failures SET failures = $3, last_failure_at = $4 \
                 WHERE issuer_id = $1 AND subject = $2 AND failures = $5 \
                 AND last_failure_at = $6",
            )
            .bind(issuer.as_uuid())
            .bind(subject.to_vec())
            .bind(next.failures)
            .bind(next.last_failure_at.0)
            .bind(seen.failures)
            .bind(seen.last_failure_at.0),
        };
        let changed = query
            .execute(&self.write)
            .await
            .map_err(|e| map("sign-in failure count", e))?
            .rows_affected();
        Ok(changed == 1)
    }

    async fn add(
        &self,
        scope: IssuerScope,
        subject: &[u8; 32],
        now: UnixTime,
        restart_before: UnixTime,
    ) -> Result<FailureCount, StoreError> {
        let (failures, last_failure_at): (i64, i64) = sqlx::query_as(
            "INSERT INTO sign_in_failures (issuer_id, subject, failures, last_failure_at) \
             VALUES ($1, $2, 1, $3) ON CONFLICT (issuer_id, subject) DO UPDATE SET \
             failures = CASE WHEN sign_in_failures.last_failure_at < $4 THEN 1 \
             ELSE sign_in_failures.failures + 1 END, last_failure_at = excluded.last_failure_at \
             RETURNING failures, last_failure_at",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(subject.to_vec())
        .bind(now.0)
        .bind(restart_before.0)
        .fetch_one(&self.write)
        .await
        .map_err(|e| map("sign-in failure count", e))?;
        Ok(FailureCount {
            failures,
            last_failure_at: UnixTime(last_failure_at),
        })
    }

    async fn clear(&self, scope: IssuerScope, subject: &[u8; 32]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE issuer_id = $1 AND subject = $2")
            .bind(scope.issuer_id().as_uuid())
            .bind(subject.to_vec())
            .execute(&self.write)
            .await
            .map_err(|e| map("sign-in failure count", e))?;
        Ok(())
    }
}
