//! Interactions: authorization requests waiting for the user. They carry no event (nothing
//! has happened to anyone yet; the code, session or consent they lead to has its own).
//! `consume` is one conditional `DELETE … RETURNING`, so of concurrent finishers exactly one
//! gets the interaction (ARCHITECTURE.md invariant 6) and one request yields at most one code.

use async_trait::async_trait;
use tessera_model::{Interaction, InteractionId, UnixTime};
use tessera_store::{InteractionRepo, IssuerScope, StoreError};

use super::rows::{InteractionRow, json_list};
use super::{SqlStore, missing_or_conflict};
use crate::error::map;

#[async_trait]
impl InteractionRepo for SqlStore {
    async fn create(
        &self,
        scope: IssuerScope,
        interaction: &Interaction,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO interactions (issuer_id, id, client_id, browser_hash, request, user_id, \
             auth_time, amr, created_at, expires_at, revision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(interaction.id.as_uuid())
        .bind(interaction.client_id.as_uuid())
        .bind(interaction.browser_hash.to_vec())
        .bind(interaction.request.to_string())
        .bind(interaction.user_id.map(|u| u.as_uuid()))
        .bind(interaction.auth_time.map(|t| t.0))
        .bind(json_list(&interaction.amr))
        .bind(interaction.created_at.0)
        .bind(interaction.expires_at.0)
        .bind(interaction.revision)
        .execute(&self.write)
        .await
        .map_err(|e| map("interaction", e))?;
        Ok(())
    }

    async fn find(
        &self,
        scope: IssuerScope,
        id: InteractionId,
    ) -> Result<Option<Interaction>, StoreError> {
        let row: Option<InteractionRow> = sqlx::query_as(concat!(
            "SELECT ",
            interaction_columns!(),
            " FROM interactions WHERE issuer_id = $1 AND id = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("interaction", e))?;
        row.map(Interaction::try_from).transpose()
    }

    /// Changes what the user's progress changes (the request as amended, who authenticated,
    /// when and how, the deadline). The client and the browser an interaction is bound to,
    /// and when it was created, never change: they are left out of the statement.
    async fn update(
        &self,
        scope: IssuerScope,
        interaction: &Interaction,
    ) -> Result<Interaction, StoreError> {
        let mut tx = self.begin_write().await?;
        let updated: Option<InteractionRow> = sqlx::query_as(concat!(
            "UPDATE interactions SET request = $3, user_id = $4, auth_time = $5, amr = $6, \
             expires_at = $7, revision = revision + 1 \
             WHERE issuer_id = $1 AND id = $2 AND revision = $8 RETURNING ",
            interaction_columns!()
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(interaction.id.as_uuid())
        .bind(interaction.request.to_string())
        .bind(interaction.user_id.map(|u| u.as_uuid()))
        .bind(interaction.auth_time.map(|t| t.0))
        .bind(json_list(&interaction.amr))
        .bind(interaction.expires_at.0)
        .bind(interaction.revision)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map("interaction", e))?;
        let Some(row) = updated else {
            let exists = "SELECT COUNT(*) FROM interactions WHERE issuer_id = $1 AND id = $2";
            return Err(missing_or_conflict(
                &mut tx,
                exists,
                Some(scope),
                interaction.id.as_uuid(),
            )
            .await);
        };
        super::commit(tx).await?;
        Interaction::try_from(row)
    }

    async fn consume(
        &self,
        scope: IssuerScope,
        id: InteractionId,
        now: UnixTime,
    ) -> Result<Interaction, StoreError> {
        let won: Option<InteractionRow> = sqlx::query_as(concat!(
            "DELETE FROM interactions WHERE issuer_id = $1 AND id = $2 AND expires_at > $3 \
             RETURNING ",
            interaction_columns!()
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .bind(now.0)
        .fetch_optional(&self.write)
        .await
        .map_err(|e| map("interaction", e))?;
        won.map(Interaction::try_from)
            .unwrap_or(Err(StoreError::NotFound))
    }
}
