//! Consents, one per user and client. `save` is one upsert on (issuer, user, client), so two
//! concurrent consents for the same pair end as one row; `delete` withdraws the consent and
//! revokes what was issued under it in the same transaction, so no token outlives it.

use async_trait::async_trait;
use tessera_model::{ClientId, Grant, NewEvent, UnixTime, UserId};
use tessera_store::{GrantRepo, IssuerScope, StoreError};

use super::rows::{GrantRow, convert, json_list};
use super::tokens::{REVOKE_ACCESS_OF_USER_CLIENT, REVOKE_FAMILIES_OF_USER_CLIENT};
use super::{SqlStore, commit, insert_event};
use crate::error::map;

#[async_trait]
impl GrantRepo for SqlStore {
    async fn find(
        &self,
        scope: IssuerScope,
        user: UserId,
        client: ClientId,
    ) -> Result<Option<Grant>, StoreError> {
        let row: Option<GrantRow> = sqlx::query_as(concat!(
            "SELECT ",
            grant_columns!(),
            " FROM grants WHERE issuer_id = $1 AND user_id = $2 AND client_id = $3"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(user.as_uuid())
        .bind(client.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("grant", e))?;
        row.map(Grant::try_from).transpose()
    }

    /// An existing consent keeps its id and `created_at`; the scopes and `updated_at` are
    /// the new ones. `RETURNING` hands back what is stored, whichever row that is.
    async fn save(
        &self,
        scope: IssuerScope,
        grant: &Grant,
        event: &NewEvent,
    ) -> Result<Grant, StoreError> {
        let mut tx = self.begin_write().await?;
        let row: GrantRow = sqlx::query_as(concat!(
            "INSERT INTO grants (issuer_id, id, user_id, client_id, scopes, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (issuer_id, user_id, client_id) DO UPDATE SET \
             scopes = excluded.scopes, updated_at = excluded.updated_at \
             RETURNING ",
            grant_columns!()
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(grant.id.as_uuid())
        .bind(grant.user_id.as_uuid())
        .bind(grant.client_id.as_uuid())
        .bind(json_list(&grant.scopes))
        .bind(grant.created_at.0)
        .bind(grant.updated_at.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map("grant", e))?;
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await?;
        Grant::try_from(row)
    }

    async fn list_by_user(
        &self,
        scope: IssuerScope,
        user: UserId,
    ) -> Result<Vec<Grant>, StoreError> {
        let rows: Vec<GrantRow> = sqlx::query_as(concat!(
            "SELECT ",
            grant_columns!(),
            " FROM grants WHERE issuer_id = $1 AND user_id = $2 ORDER BY created_at, id"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(user.as_uuid())
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("grant", e))?;
        convert(rows)
    }

    async fn delete(
        &self,
        scope: IssuerScope,
        user: UserId,
        client: ClientId,
        now: UnixTime,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query(
            "DELETE FROM grants WHERE issuer_id = $1 AND user_id = $2 AND client_id = $3",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(user.as_uuid())
        .bind(client.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(|e| map("grant", e))?
        .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        for statement in [REVOKE_ACCESS_OF_USER_CLIENT, REVOKE_FAMILIES_OF_USER_CLIENT] {
            sqlx::query(statement)
                .bind(scope.issuer_id().as_uuid())
                .bind(user.as_uuid())
                .bind(client.as_uuid())
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(|e| map("token family", e))?;
        }
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await
    }
}
