use async_trait::async_trait;
use tessera_model::{Event, EventId, IssuerId, NewEvent, UnixTime};
use tessera_store::{
    ChainAnchor, EventListFilter, EventRepo, EventTypeFilter, IssuerScope, Page, PageRequest,
    StoreError,
};

use super::rows::{EventRow, convert};
use super::{
    LOCK_ISSUER_FOR_APPEND, SqlStore, Tx, after_bound, commit, fetch_limit, insert_event, paginate,
};
use crate::error::{corrupt, map};

/// The last link of `issuer`'s chain, read inside `tx`: the newest event's `seq` and `hash`, or,
/// when retention removed every event, the anchor it left; `None` for a chain not begun.
pub(super) async fn last_link(
    tx: &mut Tx,
    issuer: IssuerId,
) -> Result<Option<ChainAnchor>, StoreError> {
    let newest: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, hash FROM events WHERE issuer_id = $1 AND seq IS NOT NULL \
         ORDER BY seq DESC LIMIT 1",
    )
    .bind(issuer.as_uuid())
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| map("event", e))?;
    let link = match newest {
        Some(link) => Some(link),
        None => sqlx::query_as(SELECT_ANCHOR)
            .bind(issuer.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| map("event", e))?,
    };
    as_link(link)
}

/// The anchor retention left in an issuer's chain (`$1`).
const SELECT_ANCHOR: &str = "SELECT seq, hash FROM event_chain_anchors WHERE issuer_id = $1";

/// A `(seq, hash)` row as a link of the chain.
fn as_link(row: Option<(i64, Vec<u8>)>) -> Result<Option<ChainAnchor>, StoreError> {
    row.map(|(seq, hash)| {
        let hash = hash.try_into().map_err(|_| corrupt("event hash"))?;
        Ok(ChainAnchor { seq, hash })
    })
    .transpose()
}

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

    async fn find(&self, scope: IssuerScope, id: EventId) -> Result<Option<Event>, StoreError> {
        let row: Option<EventRow> = sqlx::query_as(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE issuer_id = $1 AND id = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("event", e))?;
        row.map(Event::try_from).transpose()
    }

    async fn chain_anchor(&self, scope: IssuerScope) -> Result<Option<ChainAnchor>, StoreError> {
        let row = sqlx::query_as(SELECT_ANCHOR)
            .bind(scope.issuer_id().as_uuid())
            .fetch_optional(&self.read)
            .await
            .map_err(|e| map("event", e))?;
        as_link(row)
    }

    async fn prune(
        &self,
        scope: IssuerScope,
        before: UnixTime,
        now: UnixTime,
    ) -> Result<u64, StoreError> {
        let issuer = scope.issuer_id().as_uuid();
        let mut tx = self.begin_write().await?;
        // Appends lock the issuer first; so does pruning, so that no event is appended onto
        // a link being removed.
        sqlx::query(LOCK_ISSUER_FOR_APPEND)
            .bind(issuer)
            .execute(&mut *tx)
            .await
            .map_err(|e| map("event", e))?;
        sqlx::query(
            "DELETE FROM deliveries WHERE issuer_id = $1 AND state <> 'pending' \
             AND updated_at < $2",
        )
        .bind(issuer)
        .bind(before.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| map("delivery", e))?;
        // The chain is cut after the newest old event, so that what stays is one unbroken
        // run of links from the anchor.
        let last: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, hash FROM events WHERE issuer_id = $1 AND seq IS NOT NULL \
             AND occurred_at < $2 ORDER BY seq DESC LIMIT 1",
        )
        .bind(issuer)
        .bind(before.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map("event", e))?;
        let Some((seq, hash)) = last else {
            commit(tx).await?;
            return Ok(0);
        };
        let removed = sqlx::query("DELETE FROM events WHERE issuer_id = $1 AND seq <= $2")
            .bind(issuer)
            .bind(seq)
            .execute(&mut *tx)
            .await
            .map_err(|e| map("event", e))?
            .rows_affected();
        sqlx::query(
            "INSERT INTO event_chain_anchors (issuer_id, seq, hash, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (issuer_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
             updated_at = excluded.updated_at",
        )
        .bind(issuer)
        .bind(seq)
        .bind(&hash)
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| map("event", e))?;
        commit(tx).await?;
        Ok(removed)
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
