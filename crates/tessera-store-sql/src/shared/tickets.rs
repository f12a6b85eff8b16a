//! Single-use tickets. `consume` is one conditional `UPDATE … RETURNING` ([`spend`], which
//! `TokenRepo::redeem_code` runs inside its own transaction): the database decides the one
//! winner (ARCHITECTURE.md invariant 6); the follow-up read only explains a loss.
//! `find` reads a ticket in any state, so that a replayed code can be acted on (its family
//! revoked).

use async_trait::async_trait;
use tessera_model::{Ticket, TicketKind, UnixTime};
use tessera_store::{IssuerScope, StoreError, TicketRepo};

use super::rows::TicketRow;
use super::{SqlStore, Tx, commit};
use crate::error::map;

#[async_trait]
impl TicketRepo for SqlStore {
    async fn create(&self, scope: IssuerScope, ticket: &Ticket) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tickets (issuer_id, id, kind, secret_hash, subject, payload, \
             expires_at, consumed_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(ticket.id.as_uuid())
        .bind(ticket.kind.as_str())
        .bind(ticket.secret_hash.to_vec())
        .bind(&ticket.subject)
        .bind(ticket.payload.to_string())
        .bind(ticket.expires_at.0)
        .bind(ticket.consumed_at.map(|t| t.0))
        .bind(ticket.created_at.0)
        .execute(&self.write)
        .await
        .map_err(|e| map("ticket", e))?;
        Ok(())
    }

    async fn consume(
        &self,
        scope: IssuerScope,
        kind: TicketKind,
        secret_hash: &[u8; 32],
        now: UnixTime,
    ) -> Result<Ticket, StoreError> {
        let mut tx = self.begin_write().await?;
        let ticket = spend(&mut tx, scope, kind, secret_hash, now).await?;
        commit(tx).await?;
        Ok(ticket)
    }

    async fn find(
        &self,
        scope: IssuerScope,
        kind: TicketKind,
        secret_hash: &[u8; 32],
    ) -> Result<Option<Ticket>, StoreError> {
        let row: Option<TicketRow> = sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE issuer_id = $1 AND kind = $2 AND secret_hash = $3"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(kind.as_str())
        .bind(secret_hash.to_vec())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("ticket", e))?;
        row.map(Ticket::try_from).transpose()
    }
}

/// Marks the unexpired, unconsumed ticket hashed `secret_hash` consumed at `now` inside `tx`;
/// [`StoreError::AlreadyConsumed`] or [`StoreError::NotFound`] explain a loss.
pub(super) async fn spend(
    tx: &mut Tx,
    scope: IssuerScope,
    kind: TicketKind,
    secret_hash: &[u8; 32],
    now: UnixTime,
) -> Result<Ticket, StoreError> {
    let won: Option<TicketRow> = sqlx::query_as(concat!(
        "UPDATE tickets SET consumed_at = $4 \
         WHERE issuer_id = $1 AND kind = $2 AND secret_hash = $3 \
         AND consumed_at IS NULL AND expires_at > $4 \
         RETURNING ",
        ticket_columns!()
    ))
    .bind(scope.issuer_id().as_uuid())
    .bind(kind.as_str())
    .bind(secret_hash.to_vec())
    .bind(now.0)
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| map("ticket", e))?;
    if let Some(row) = won {
        return Ticket::try_from(row);
    }
    let consumed_at: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT consumed_at FROM tickets \
         WHERE issuer_id = $1 AND kind = $2 AND secret_hash = $3",
    )
    .bind(scope.issuer_id().as_uuid())
    .bind(kind.as_str())
    .bind(secret_hash.to_vec())
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| map("ticket", e))?;
    match consumed_at {
        Some(Some(_)) => Err(StoreError::AlreadyConsumed),
        _ => Err(StoreError::NotFound),
    }
}
