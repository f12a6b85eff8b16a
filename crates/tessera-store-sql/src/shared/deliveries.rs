//! Outbound deliveries. Claiming is one conditional statement (`WITH due AS (SELECT … LIMIT n)
//! UPDATE … WHERE id IN due`) that takes the lease and counts the attempt: on PostgreSQL the
//! `SELECT` locks its rows `FOR UPDATE SKIP LOCKED` (the backend's `CLAIM_LOCK`), so concurrent
//! claimers pass over each other's rows instead of waiting for them; on SQLite the single
//! writer already makes claimers take turns. The outcome statements carry `lease_owner = $owner`, so a worker whose lease
//! expired cannot overwrite what the next holder did.

use std::sync::LazyLock;

use async_trait::async_trait;
use tessera_model::{
    Delivery, DeliveryId, DeliveryState, IssuerId, NewEvent, UnixTime, WebhookId,
    short_delivery_error,
};
use tessera_store::{AttemptFailure, DeliveryRepo, IssuerScope, Page, PageRequest, StoreError};

use super::rows::{DeliveryRow, convert};
use super::{SqlStore, Tx, after_bound, commit, fetch_limit, insert_event, paginate};
use crate::error::map;

/// Claims due deliveries (`$1` owner, `$2` now, `$3` lease until, `$4` limit): the `due` query
/// picks the earliest due, unleased rows (locked as the backend's `CLAIM_LOCK` says), once —
/// `MATERIALIZED`, because a subquery in the `UPDATE`'s condition may be rescanned by the
/// planner, its `LIMIT` applying per scan — and the `UPDATE` checks again that they are pending
/// and unleased, takes the lease and counts the attempt.
static CLAIM_DUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH due AS MATERIALIZED ( \
         SELECT id FROM deliveries \
         WHERE state = 'pending' AND next_attempt_at <= $2 \
         AND (lease_until IS NULL OR lease_until <= $2) \
         ORDER BY next_attempt_at, id LIMIT $4{lock}) \
         UPDATE deliveries SET lease_owner = $1, lease_until = $3, attempts = attempts + 1, \
         updated_at = $2 \
         WHERE state = 'pending' AND (lease_until IS NULL OR lease_until <= $2) \
         AND id IN (SELECT id FROM due) RETURNING {columns}",
        lock = super::CLAIM_LOCK,
        columns = delivery_columns!(),
    )
});

/// Writes `delivery` inside `tx`, for `issuer` (whatever the delivery says: the scope wins).
pub(super) async fn insert_delivery(
    tx: &mut Tx,
    issuer: IssuerId,
    delivery: &Delivery,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO deliveries (id, issuer_id, kind, client_id, target_url, payload, state, \
         attempts, next_attempt_at, lease_owner, lease_until, last_status, last_error, \
         created_at, updated_at, webhook_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(delivery.id.as_uuid())
    .bind(issuer.as_uuid())
    .bind(delivery.kind.as_str())
    .bind(delivery.client_id.map(|c| c.as_uuid()))
    .bind(&delivery.target_url)
    .bind(delivery.payload.to_string())
    .bind(delivery.state.as_str())
    .bind(i64::from(delivery.attempts))
    .bind(delivery.next_attempt_at.0)
    .bind(delivery.lease_owner.as_deref())
    .bind(delivery.lease_until.map(|t| t.0))
    .bind(delivery.last_status.map(i64::from))
    .bind(delivery.last_error.as_deref().map(short_delivery_error))
    .bind(delivery.created_at.0)
    .bind(delivery.updated_at.0)
    .bind(delivery.webhook_id.map(|w| w.as_uuid()))
    .execute(&mut **tx)
    .await
    .map_err(|e| map("delivery", e))?;
    Ok(())
}

/// A delivery as leased by a worker.
struct Lease<'a> {
    id: DeliveryId,
    owner: &'a str,
}

/// Ends `lease` with `state`, in `tx`. Whether the worker still held it.
async fn finish_attempt(
    tx: &mut Tx,
    scope: IssuerScope,
    lease: Lease<'_>,
    state: DeliveryState,
    failure: &AttemptFailure,
    next_attempt_at: Option<UnixTime>,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let error = (!failure.error.is_empty()).then(|| short_delivery_error(&failure.error));
    let changed = sqlx::query(
        "UPDATE deliveries SET state = $4, lease_owner = NULL, lease_until = NULL, \
         last_status = $5, last_error = $6, \
         next_attempt_at = COALESCE($7, next_attempt_at), updated_at = $8 \
         WHERE issuer_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'pending'",
    )
    .bind(scope.issuer_id().as_uuid())
    .bind(lease.id.as_uuid())
    .bind(lease.owner)
    .bind(state.as_str())
    .bind(failure.status.map(i64::from))
    .bind(error)
    .bind(next_attempt_at.map(|t| t.0))
    .bind(now.0)
    .execute(&mut **tx)
    .await
    .map_err(|e| map("delivery", e))?
    .rows_affected();
    Ok(changed > 0)
}

/// Marks the webhook that delivery `id` was for, if any, as failing or not, in `tx`. Only a
/// change is written. `failing` is a status, not configuration: the webhook's revision stays.
async fn mark_webhook(
    tx: &mut Tx,
    scope: IssuerScope,
    id: DeliveryId,
    failing: bool,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE webhooks SET failing = $3 WHERE issuer_id = $1 AND failing <> $3 \
         AND id = (SELECT webhook_id FROM deliveries WHERE issuer_id = $1 AND id = $2)",
    )
    .bind(scope.issuer_id().as_uuid())
    .bind(id.as_uuid())
    .bind(failing)
    .execute(&mut **tx)
    .await
    .map_err(|e| map("webhook", e))?;
    Ok(())
}

#[async_trait]
impl DeliveryRepo for SqlStore {
    async fn enqueue(&self, scope: IssuerScope, delivery: &Delivery) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_delivery(&mut tx, scope.issuer_id(), delivery).await?;
        commit(tx).await
    }

    async fn find(
        &self,
        scope: IssuerScope,
        id: DeliveryId,
    ) -> Result<Option<Delivery>, StoreError> {
        let row: Option<DeliveryRow> = sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE issuer_id = $1 AND id = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("delivery", e))?;
        row.map(Delivery::try_from).transpose()
    }

    async fn list(
        &self,
        scope: IssuerScope,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE issuer_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(after_bound(page))
        .bind(fetch_limit(page))
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("delivery", e))?;
        Ok(paginate(convert(rows)?, page.limit, |d: &Delivery| {
            d.id.as_uuid()
        }))
    }

    async fn list_for_webhook(
        &self,
        scope: IssuerScope,
        webhook: WebhookId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE issuer_id = $1 AND webhook_id = $4 AND id > $2 \
             ORDER BY id LIMIT $3"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(after_bound(page))
        .bind(fetch_limit(page))
        .bind(webhook.as_uuid())
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("delivery", e))?;
        Ok(paginate(convert(rows)?, page.limit, |d: &Delivery| {
            d.id.as_uuid()
        }))
    }

    async fn enqueue_with_event(
        &self,
        scope: IssuerScope,
        deliveries: &[Delivery],
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        for delivery in deliveries {
            insert_delivery(&mut tx, scope.issuer_id(), delivery).await?;
        }
        commit(tx).await
    }

    async fn claim_due(
        &self,
        owner: &str,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut tx = self.begin_write().await?;
        let rows: Vec<DeliveryRow> = sqlx::query_as(CLAIM_DUE.as_str())
            .bind(owner)
            .bind(now.0)
            .bind(lease_until.0)
            .bind(i64::from(limit.clamp(1, PageRequest::MAX_LIMIT)))
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| map("delivery", e))?;
        commit(tx).await?;
        let mut claimed: Vec<Delivery> = convert(rows)?;
        // `RETURNING` promises no order.
        claimed.sort_by_key(|d| (d.next_attempt_at, d.id));
        Ok(claimed)
    }

    async fn record_success(
        &self,
        scope: IssuerScope,
        id: DeliveryId,
        owner: &str,
        status: u16,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let success = AttemptFailure {
            status: Some(status),
            error: String::new(),
        };
        let held = finish_attempt(
            &mut tx,
            scope,
            Lease { id, owner },
            DeliveryState::Delivered,
            &success,
            None,
            now,
        )
        .await?;
        if held {
            mark_webhook(&mut tx, scope, id, false).await?;
        }
        commit(tx).await?;
        Ok(held)
    }

    async fn record_failure(
        &self,
        scope: IssuerScope,
        id: DeliveryId,
        owner: &str,
        failure: &AttemptFailure,
        next_attempt_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let held = finish_attempt(
            &mut tx,
            scope,
            Lease { id, owner },
            DeliveryState::Pending,
            failure,
            Some(next_attempt_at),
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(held)
    }

    async fn dead_letter(
        &self,
        scope: IssuerScope,
        id: DeliveryId,
        owner: &str,
        failure: &AttemptFailure,
        now: UnixTime,
        event: &NewEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let held = finish_attempt(
            &mut tx,
            scope,
            Lease { id, owner },
            DeliveryState::Dead,
            failure,
            None,
            now,
        )
        .await?;
        if held {
            mark_webhook(&mut tx, scope, id, true).await?;
            insert_event(&mut tx, scope.issuer_id(), event).await?;
        }
        commit(tx).await?;
        Ok(held)
    }
}
