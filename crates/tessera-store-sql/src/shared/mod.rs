//! The repositories, written once for both backends. This file is compiled twice, as
//! `sqlite::shared` and `postgres::shared`; `super` is the backend module, which provides
//! `Db`, `MIGRATOR`, `BACKEND`, and the statement texts where the dialects differ.
//!
//! Every issuer-owned statement binds the scope's issuer id as `$1`.

use async_trait::async_trait;
use sqlx::Pool;
use tessera_model::{ChainFields, Delivery, GENESIS_HASH, IssuerId, NewEvent, UnixTime};
use tessera_store::SeedRepo;
use tessera_store::chain::chain_hash;
use tessera_store::{
    Backend, Change, ChangeFeed, ClientRepo, DeliveryRepo, EventRepo, GrantRepo, IdempotencyRepo,
    InteractionRepo, IssuerRepo, IssuerScope, KeyRepo, SchemaStatus, SessionRepo,
    SignInFailureRepo, Store, StoreError, TicketRepo, TokenRepo, UserRepo, WebhookRepo,
};
use uuid::Uuid;

use super::{
    AFTER_BULK_LOAD, BACKEND, BEGIN_WRITE, CLAIM_LOCK, Db, LOCK_ISSUER_FOR_APPEND,
    MIGRATIONS_TABLE_EXISTS, MIGRATOR,
};
use crate::error::map;

#[macro_use]
mod rows;
mod clients;
mod deliveries;
mod events;
mod grants;
mod idempotency;
mod interactions;
mod issuers;
mod jobs;
mod keys;
mod seed;
mod sessions;
mod sign_in_failures;
mod tickets;
mod tokens;
mod users;
mod webhooks;

type Tx = sqlx::Transaction<'static, Db>;

/// A store over one database: a read pool and a write pool (the same pool on PostgreSQL,
/// a single connection on SQLite).
#[derive(Debug, Clone)]
pub struct SqlStore {
    read: Pool<Db>,
    write: Pool<Db>,
}

impl SqlStore {
    pub(super) fn new(read: Pool<Db>, write: Pool<Db>) -> Self {
        Self { read, write }
    }

    /// Starts a write transaction.
    async fn begin_write(&self) -> Result<Tx, StoreError> {
        self.write
            .begin_with(BEGIN_WRITE)
            .await
            .map_err(|e| map("transaction", e))
    }

    /// The rows of `select`, whose text ends in `IN (`, for `ids`: a statement per
    /// [`IDS_PER_STATEMENT`] ids, each followed by `) ` and `rest`.
    async fn rows_for_ids<R>(
        &self,
        what: &'static str,
        select: &'static str,
        ids: &[Uuid],
        rest: &'static str,
    ) -> Result<Vec<R>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    {
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let mut query = sqlx::QueryBuilder::<Db>::new(select);
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            query.push(") ").push(rest);
            let found = query
                .build_query_as::<R>()
                .fetch_all(&self.read)
                .await
                .map_err(|e| map(what, e))?;
            rows.extend(found);
        }
        Ok(rows)
    }
}

/// How many ids one `IN` list binds: far below either database's limit on parameters
/// (SQLite's is 32,766), and few enough that a statement stays quick to prepare.
const IDS_PER_STATEMENT: usize = 500;

/// Commits `tx`, mapping the error.
async fn commit(tx: Tx) -> Result<(), StoreError> {
    tx.commit().await.map_err(|e| map("transaction", e))
}

/// Appends `event` to `issuer`'s trail inside `tx`, as the next link of its chain, and
/// enqueues its webhook deliveries.
///
/// The chain: the issuer is locked for the append (a no-op under SQLite's single writer), the
/// last link is read (the newest event, or, when retention has removed them all, the anchor it
/// left), and the new one stores `seq + 1`, the last hash, and its own hash.
///
/// The fan-out: one delivery per enabled webhook of the issuer that [receives] the event,
/// in the same transaction, so no event is written without its deliveries and none is
/// delivered whose change did not happen. An issuer without webhooks pays one indexed read.
///
/// [receives]: tessera_model::Webhook::receives
async fn insert_event(tx: &mut Tx, issuer: IssuerId, event: &NewEvent) -> Result<(), StoreError> {
    sqlx::query(LOCK_ISSUER_FOR_APPEND)
        .bind(issuer.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(|e| map("event", e))?;
    let (seq, prev_hash) = match events::last_link(tx, issuer).await? {
        None => (1, GENESIS_HASH),
        Some(last) => (last.seq + 1, last.hash),
    };
    let context = event.context.as_ref();
    let hash = chain_hash(
        &prev_hash,
        &ChainFields {
            issuer_id: issuer,
            seq,
            id: event.id,
            event_type: event.event_type,
            subject: &event.subject,
            actor: event.actor,
            data: &event.data,
            occurred_at: event.occurred_at,
            context,
        },
    );
    sqlx::query(
        "INSERT INTO events (id, issuer_id, event_type, subject, actor, data, occurred_at, \
         seq, prev_hash, hash, ip, user_agent, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(event.id.as_uuid())
    .bind(issuer.as_uuid())
    .bind(event.event_type)
    .bind(&event.subject)
    .bind(event.actor.to_storage())
    .bind(event.data.to_string())
    .bind(event.occurred_at.0)
    .bind(seq)
    .bind(&prev_hash[..])
    .bind(&hash[..])
    .bind(context.and_then(|c| c.ip.as_deref()))
    .bind(context.and_then(|c| c.user_agent.as_deref()))
    .bind(context.and_then(|c| c.request_id.as_deref()))
    .execute(&mut **tx)
    .await
    .map_err(|e| map("event", e))?;
    for webhook in webhooks::enabled(tx, issuer).await? {
        if webhook.receives(event) {
            let delivery =
                Delivery::webhook_event(&webhook, event.id, event.event_type, event.occurred_at);
            deliveries::insert_delivery(tx, issuer, &delivery).await?;
        }
    }
    Ok(())
}

/// The statements that delete one issuer-owned row, optionally only at a revision.
struct DeleteStatements {
    /// `DELETE … WHERE issuer_id = $1 AND id = $2`
    any_revision: &'static str,
    /// The same, `AND revision = $3`.
    at_revision: &'static str,
    /// `SELECT COUNT(*) … WHERE issuer_id = $1 AND id = $2`
    exists: &'static str,
}

/// Deletes one issuer-owned row and writes its event, in one transaction. With
/// `expected_revision`, the delete itself carries the condition (no read-then-delete).
async fn delete_scoped(
    store: &SqlStore,
    entity: &'static str,
    statements: DeleteStatements,
    scope: IssuerScope,
    id: Uuid,
    expected_revision: Option<i64>,
    event: &NewEvent,
) -> Result<(), StoreError> {
    let mut tx = store.begin_write().await?;
    let sql = match expected_revision {
        None => statements.any_revision,
        Some(_) => statements.at_revision,
    };
    let mut query = sqlx::query(sql).bind(scope.issuer_id().as_uuid()).bind(id);
    if let Some(revision) = expected_revision {
        query = query.bind(revision);
    }
    let deleted = query
        .execute(&mut *tx)
        .await
        .map_err(|e| map(entity, e))?
        .rows_affected();
    if deleted == 0 {
        return Err(match expected_revision {
            None => StoreError::NotFound,
            Some(_) => missing_or_conflict(&mut tx, statements.exists, Some(scope), id).await,
        });
    }
    insert_event(&mut tx, scope.issuer_id(), event).await?;
    commit(tx).await
}

/// After an `UPDATE … WHERE revision = $n` touched nothing: was the row gone, or changed?
async fn missing_or_conflict(
    tx: &mut Tx,
    exists_sql: &'static str,
    scope: Option<IssuerScope>,
    id: Uuid,
) -> StoreError {
    let mut query = sqlx::query_scalar::<_, i64>(exists_sql);
    if let Some(scope) = scope {
        query = query.bind(scope.issuer_id().as_uuid());
    }
    match query.bind(id).fetch_one(&mut **tx).await {
        Ok(0) => StoreError::NotFound,
        Ok(_) => StoreError::Conflict,
        Err(e) => map("record", e),
    }
}

/// Keyset pagination: ask for one row more than the page to learn whether a next page exists.
fn paginate<T>(
    mut items: Vec<T>,
    limit: u32,
    id_of: impl Fn(&T) -> Uuid,
) -> tessera_store::Page<T> {
    let limit = limit as usize;
    let next_after = if items.len() > limit {
        items.truncate(limit);
        items.last().map(&id_of)
    } else {
        None
    };
    tessera_store::Page { items, next_after }
}

/// The `after` bound of a page request as a bindable value: UUIDv7 ids are all above nil.
fn after_bound(page: tessera_store::PageRequest) -> Uuid {
    page.after.unwrap_or(Uuid::nil())
}

/// `LIMIT` for a page request: one more than the page.
fn fetch_limit(page: tessera_store::PageRequest) -> i64 {
    i64::from(page.limit.clamp(1, tessera_store::PageRequest::MAX_LIMIT)) + 1
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        BACKEND
    }

    async fn migrate(&self) -> Result<SchemaStatus, StoreError> {
        let before = self.schema_status().await?;
        if let Some(found) = before.applied
            && found > before.latest_known
        {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: before.latest_known,
            });
        }
        MIGRATOR
            .run(&self.write)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        self.schema_status().await
    }

    async fn schema_status(&self) -> Result<SchemaStatus, StoreError> {
        let latest_known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let has_table: i64 = sqlx::query_scalar(MIGRATIONS_TABLE_EXISTS)
            .fetch_one(&self.read)
            .await
            .map_err(|e| map("schema", e))?;
        let versions: Vec<i64> = if has_table == 0 {
            Vec::new()
        } else {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.read)
                .await
                .map_err(|e| map("schema", e))?
        };
        // Every known migration counts, not just the newest: one added between two applied
        // ones (a branch merged late) is still pending.
        let pending = MIGRATOR
            .iter()
            .filter(|m| !versions.contains(&m.version))
            .count();
        Ok(SchemaStatus {
            applied: versions.iter().copied().max(),
            latest_known,
            pending,
        })
    }

    async fn master_key_check(&self, proposed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO installation (id, master_key_check) VALUES (1, $1) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(proposed)
        .execute(&mut *tx)
        .await
        .map_err(|e| map("installation", e))?;
        let stored: Vec<u8> =
            sqlx::query_scalar("SELECT master_key_check FROM installation WHERE id = 1")
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| map("installation", e))?;
        commit(tx).await?;
        Ok(stored)
    }

    async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    async fn announce(&self, change: Change) -> Result<(), StoreError> {
        super::announce(&self.write, change).await
    }

    async fn change_feed(&self) -> Result<Option<Box<dyn ChangeFeed>>, StoreError> {
        super::change_feed(&self.read).await
    }

    async fn lease_job(
        &self,
        job: &str,
        holder: &str,
        now: UnixTime,
        until: UnixTime,
    ) -> Result<bool, StoreError> {
        self.lease(job, holder, now, until).await
    }

    async fn purge_expired(&self, now: UnixTime, batch: u32) -> Result<u64, StoreError> {
        self.purge(now, batch).await
    }

    fn issuers(&self) -> &dyn IssuerRepo {
        self
    }
    fn clients(&self) -> &dyn ClientRepo {
        self
    }
    fn users(&self) -> &dyn UserRepo {
        self
    }
    fn keys(&self) -> &dyn KeyRepo {
        self
    }
    fn events(&self) -> &dyn EventRepo {
        self
    }
    fn tickets(&self) -> &dyn TicketRepo {
        self
    }
    fn idempotency(&self) -> &dyn IdempotencyRepo {
        self
    }
    fn webhooks(&self) -> &dyn WebhookRepo {
        self
    }
    fn interactions(&self) -> &dyn InteractionRepo {
        self
    }
    fn sessions(&self) -> &dyn SessionRepo {
        self
    }
    fn grants(&self) -> &dyn GrantRepo {
        self
    }
    fn tokens(&self) -> &dyn TokenRepo {
        self
    }
    fn deliveries(&self) -> &dyn DeliveryRepo {
        self
    }
    fn sign_in_failures(&self) -> &dyn SignInFailureRepo {
        self
    }
    fn seed(&self) -> &dyn SeedRepo {
        self
    }
}
