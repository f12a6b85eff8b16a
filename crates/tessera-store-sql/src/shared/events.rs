use async_trait::async_trait;
use tessera_model::{Event, NewEvent};
use tessera_store::{
    EventListFilter, EventRepo, EventTypeFilter, IssuerScope, Page, PageRequest, StoreError,
};

use super::rows::{EventRow, convert};
use super::{SqlStore, after_bound, commit, fetch_limit, insert_event, paginate};
use crate::error::map;

#[async_trait]
impl EventRepo for SqlStore {
    async fn append(&self, scope: IssuerScope, event: &NewEvent) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await
    }

    async fn list(
        &self,
        scope: IssuerScope,
        filter: &EventListFilter,
        page: PageRequest,
    ) -> Result<Page<Event>, StoreError> {
        let (exact_type, type_prefix) = match &filter.event_type {
            None => (None, None),
            Some(EventTypeFilter::Exact(t)) => (Some(t.as_str()), None),
            Some(EventTypeFilter::Prefix(p)) => (None, Some(p.as_str())),
        };
        // Every condition is `$n IS NULL OR …`, so one statement serves every combination.
        // The type prefix is compared as the users' prefixes are (see `users.rs`): `substr`
        // and `=`, which both backends evaluate alike, not `LIKE`.
        let rows: Vec<EventRow> = sqlx::query_as(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE issuer_id = $1 AND id > $2 \
             AND ($4 IS NULL OR event_type = $4) \
             AND ($5 IS NULL OR substr(event_type, 1, length($5)) = $5) \
             AND ($6 IS NULL OR subject = $6) \
             AND ($7 IS NULL OR actor = $7) \
             AND ($8 IS NULL OR occurred_at >= $8) \
             AND ($9 IS NULL OR occurred_at <= $9) \
             ORDER BY id LIMIT $3"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(after_bound(page))
        .bind(fetch_limit(page))
        .bind(exact_type)
        .bind(type_prefix)
        .bind(filter.subject.as_deref())
        .bind(filter.actor.map(|a| a.to_storage()))
        .bind(filter.since.map(|t| t.0))
        .bind(filter.until.map(|t| t.0))
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("event", e))?;
        Ok(paginate(convert(rows)?, page.limit, |e: &Event| {
            e.id.as_uuid()
        }))
    }

    async fn list_chain(
        &self,
        scope: IssuerScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let limit = i64::from(limit.clamp(1, PageRequest::MAX_LIMIT));
        let rows: Vec<EventRow> = sqlx::query_as(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE issuer_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("event", e))?;
        convert(rows)
    }

    async fn count(&self, scope: IssuerScope) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE issuer_id = $1")
            .bind(scope.issuer_id().as_uuid())
            .fetch_one(&self.read)
            .await
            .map_err(|e| map("event", e))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
