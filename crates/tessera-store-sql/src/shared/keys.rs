//! Signing keys of an issuer.

use async_trait::async_trait;
use sqlx::query_builder::Separated;
use tessera_model::{IssuerId, KeyId, KeyState, NewEvent, SigningKey};
use tessera_store::{IssuerScope, KeyRepo, KeyStateRow, StoreError};
use uuid::Uuid;

use super::rows::{KeyRow, convert};
use super::seed::insert_rows;
use super::{Db, LOCK_ISSUER_FOR_APPEND, SqlStore, Tx, commit, insert_event};
use crate::error::{corrupt, map};

/// How key rows are written, by `create` and by the seeder alike.
pub(super) const INSERT_KEYS: &str = "INSERT INTO signing_keys (issuer_id, id, algorithm, state, \
     public_jwk, private_key_sealed, created_at, updated_at) ";

/// Binds one row of [`INSERT_KEYS`]: the key under `scope`, its private half as sealed.
pub(super) fn push_key<'a>(
    mut row: Separated<'_, 'a, Db, &'static str>,
    scope: IssuerScope,
    key: &'a SigningKey,
) {
    row.push_bind(scope.issuer_id().as_uuid())
        .push_bind(key.id.as_uuid())
        .push_bind(key.algorithm.as_str())
        .push_bind(key.state.as_str())
        .push_bind(key.public_jwk.as_str())
        .push_bind(key.private_key_sealed.as_slice())
        .push_bind(key.created_at.0)
        .push_bind(key.updated_at.0);
}

#[async_trait]
impl KeyRepo for SqlStore {
    async fn create(
        &self,
        scope: IssuerScope,
        key: &SigningKey,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_key(&mut tx, scope, key).await?;
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await
    }

    async fn create_chains(
        &self,
        scope: IssuerScope,
        keys: &[(SigningKey, NewEvent)],
    ) -> Result<bool, StoreError> {
        if keys.is_empty() {
            return Ok(false);
        }
        let mut tx = self.begin_write().await?;
        // The lock that event appends take: a second maker of the chains waits here until the
        // first commits, then finds its keys (SQLite's single writer serializes anyway).
        sqlx::query(LOCK_ISSUER_FOR_APPEND)
            .bind(scope.issuer_id().as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(|e| map("key", e))?;
        for (key, _) in keys {
            let started: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM signing_keys \
                 WHERE issuer_id = $1 AND algorithm = $2 AND state IN ('current', 'next')",
            )
            .bind(scope.issuer_id().as_uuid())
            .bind(key.algorithm.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map("key", e))?;
            if started > 0 {
                // Dropping `tx` rolls back: nothing of this set is stored.
                return Ok(false);
            }
        }
        for (key, event) in keys {
            insert_key(&mut tx, scope, key).await?;
            insert_event(&mut tx, scope.issuer_id(), event).await?;
        }
        commit(tx).await?;
        Ok(true)
    }

    async fn list_active(&self, scope: IssuerScope) -> Result<Vec<SigningKey>, StoreError> {
        let rows: Vec<KeyRow> = sqlx::query_as(concat!(
            "SELECT ",
            key_columns!(),
            " FROM signing_keys WHERE issuer_id = $1 AND state <> 'retired' ORDER BY id"
        ))
        .bind(scope.issuer_id().as_uuid())
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("key", e))?;
        convert(rows)
    }

    async fn active_states(&self, issuers: &[IssuerId]) -> Result<Vec<KeyStateRow>, StoreError> {
        let ids: Vec<Uuid> = issuers.iter().map(|id| id.as_uuid()).collect();
        let rows: Vec<(Uuid, Uuid, String)> = self
            .rows_for_ids(
                "key",
                "SELECT issuer_id, id, state FROM signing_keys WHERE issuer_id IN (",
                &ids,
                "AND state <> 'retired' ORDER BY issuer_id, id",
            )
            .await?;
        rows.into_iter()
            .map(|(issuer_id, id, state)| {
                Ok(KeyStateRow {
                    issuer_id: IssuerId::from_uuid(issuer_id),
                    id: KeyId::from_uuid(id),
                    state: KeyState::parse(&state).ok_or_else(|| corrupt("key state"))?,
                })
            })
            .collect()
    }

    async fn set_state(
        &self,
        scope: IssuerScope,
        id: KeyId,
        state: KeyState,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE signing_keys SET state = $3, updated_at = $4 \
             WHERE issuer_id = $1 AND id = $2",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .bind(state.as_str())
        .bind(event.occurred_at.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| map("key", e))?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await
    }
}

async fn insert_key(tx: &mut Tx, scope: IssuerScope, key: &SigningKey) -> Result<(), StoreError> {
    insert_rows(
        tx,
        "key",
        INSERT_KEYS,
        std::slice::from_ref(key),
        |row, key| {
            push_key(row, scope, key);
        },
    )
    .await
}
