//! An issuer's event trail.

use async_trait::async_trait;
use tessera_model::{Event, NewEvent};
use tessera_store::{EventRepo, IssuerScope, Page, PageRequest, StoreError};

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

    async fn list(&self, scope: IssuerScope, page: PageRequest) -> Result<Page<Event>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE issuer_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(after_bound(page))
        .bind(fetch_limit(page))
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("event", e))?;
        Ok(paginate(convert(rows)?, page.limit, |e: &Event| {
            e.id.as_uuid()
        }))
    }
}
