//! Webhook subscriptions of an issuer.

use async_trait::async_trait;
use tessera_model::{IssuerId, NewEvent, Webhook, WebhookId};
use tessera_store::{IssuerScope, Page, PageRequest, StoreError, WebhookRepo};

use super::rows::{WebhookRow, convert, json_list};
use super::{
    DeleteStatements, SqlStore, Tx, after_bound, commit, delete_scoped, fetch_limit, insert_event,
    missing_or_conflict, paginate,
};
use crate::error::map;

/// The enabled webhooks of `issuer`, read inside `tx` (the event fan-out's question).
pub(super) async fn enabled(tx: &mut Tx, issuer: IssuerId) -> Result<Vec<Webhook>, StoreError> {
    let rows: Vec<WebhookRow> = sqlx::query_as(concat!(
        "SELECT ",
        webhook_columns!(),
        " FROM webhooks WHERE issuer_id = $1 AND enabled ORDER BY id"
    ))
    .bind(issuer.as_uuid())
    .fetch_all(&mut **tx)
    .await
    .map_err(|e| map("webhook", e))?;
    convert(rows)
}

#[async_trait]
impl WebhookRepo for SqlStore {
    async fn create(
        &self,
        scope: IssuerScope,
        webhook: &Webhook,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhooks (issuer_id, id, url, event_types, enabled, secret_sealed, \
             failing, created_at, updated_at, revision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(webhook.id.as_uuid())
        .bind(&webhook.url)
        .bind(json_list(&webhook.event_types))
        .bind(webhook.enabled)
        .bind(&webhook.secret_sealed)
        .bind(webhook.failing)
        .bind(webhook.created_at.0)
        .bind(webhook.updated_at.0)
        .bind(webhook.revision)
        .execute(&mut *tx)
        .await
        .map_err(|e| map("webhook", e))?;
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await
    }

    async fn find(&self, scope: IssuerScope, id: WebhookId) -> Result<Option<Webhook>, StoreError> {
        let row: Option<WebhookRow> = sqlx::query_as(concat!(
            "SELECT ",
            webhook_columns!(),
            " FROM webhooks WHERE issuer_id = $1 AND id = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("webhook", e))?;
        row.map(Webhook::try_from).transpose()
    }

    async fn list(
        &self,
        scope: IssuerScope,
        page: PageRequest,
    ) -> Result<Page<Webhook>, StoreError> {
        let rows: Vec<WebhookRow> = sqlx::query_as(concat!(
            "SELECT ",
            webhook_columns!(),
            " FROM webhooks WHERE issuer_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(after_bound(page))
        .bind(fetch_limit(page))
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("webhook", e))?;
        Ok(paginate(convert(rows)?, page.limit, |w: &Webhook| {
            w.id.as_uuid()
        }))
    }

    async fn update(
        &self,
        scope: IssuerScope,
        webhook: &Webhook,
        event: &NewEvent,
    ) -> Result<Webhook, StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE webhooks SET url = $3, event_types = $4, enabled = $5, secret_sealed = $6, \
             failing = $7, updated_at = $8, revision = revision + 1 \
             WHERE issuer_id = $1 AND id = $2 AND revision = $9",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(webhook.id.as_uuid())
        .bind(&webhook.url)
        .bind(json_list(&webhook.event_types))
        .bind(webhook.enabled)
        .bind(&webhook.secret_sealed)
        .bind(webhook.failing)
        .bind(webhook.updated_at.0)
        .bind(webhook.revision)
        .execute(&mut *tx)
        .await
        .map_err(|e| map("webhook", e))?
        .rows_affected();
        if changed == 0 {
            let exists = "SELECT COUNT(*) FROM webhooks WHERE issuer_id = $1 AND id = $2";
            return Err(
                missing_or_conflict(&mut tx, exists, Some(scope), webhook.id.as_uuid()).await,
            );
        }
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await?;
        Ok(Webhook {
            issuer_id: scope.issuer_id(),
            revision: webhook.revision + 1,
            ..webhook.clone()
        })
    }

    async fn delete(
        &self,
        scope: IssuerScope,
        id: WebhookId,
        expected_revision: Option<i64>,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let statements = DeleteStatements {
            any_revision: "DELETE FROM webhooks WHERE issuer_id = $1 AND id = $2",
            at_revision: "DELETE FROM webhooks WHERE issuer_id = $1 AND id = $2 AND revision = $3",
            exists: "SELECT COUNT(*) FROM webhooks WHERE issuer_id = $1 AND id = $2",
        };
        delete_scoped(
            self,
            "webhook",
            statements,
            scope,
            id.as_uuid(),
            expected_revision,
            event,
        )
        .await
    }
}
