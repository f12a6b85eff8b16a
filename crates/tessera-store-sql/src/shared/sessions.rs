//! Browser sessions and the clients that received tokens from them. `end` is one conditional
//! `UPDATE`, so of two concurrent logouts only one ends the session and writes the event and
//! the deliveries (back-channel logout) its end causes.

use async_trait::async_trait;
use tessera_model::{ClientId, Delivery, NewEvent, Session, SessionId, UnixTime, UserId};
use tessera_store::{IssuerScope, SessionRepo, StoreError};
use uuid::Uuid;

use super::deliveries::insert_delivery;
use super::rows::{SessionRow, convert, json_list};
use super::{SqlStore, commit, insert_event};
use crate::error::map;

#[async_trait]
impl SessionRepo for SqlStore {
    async fn create(
        &self,
        scope: IssuerScope,
        session: &Session,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (issuer_id, id, user_id, secret_hash, auth_time, amr, acr, \
             created_at, expires_at, ended_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(session.id.as_uuid())
        .bind(session.user_id.as_uuid())
        .bind(session.secret_hash.to_vec())
        .bind(session.auth_time.0)
        .bind(json_list(&session.amr))
        .bind(session.acr.as_deref())
        .bind(session.created_at.0)
        .bind(session.expires_at.0)
        .bind(session.ended_at.map(|t| t.0))
        .execute(&mut *tx)
        .await
        .map_err(|e| map("session", e))?;
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await
    }

    async fn find(&self, scope: IssuerScope, id: SessionId) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE issuer_id = $1 AND id = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("session", e))?;
        row.map(Session::try_from).transpose()
    }

    async fn find_by_secret(
        &self,
        scope: IssuerScope,
        secret_hash: &[u8; 32],
    ) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE issuer_id = $1 AND secret_hash = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(secret_hash.to_vec())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("session", e))?;
        row.map(Session::try_from).transpose()
    }

    /// Newest first; the id (UUIDv7, so time-ordered too) breaks ties within a second.
    async fn list_by_user(
        &self,
        scope: IssuerScope,
        user: UserId,
    ) -> Result<Vec<Session>, StoreError> {
        let rows: Vec<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE issuer_id = $1 AND user_id = $2 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(user.as_uuid())
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("session", e))?;
        convert(rows)
    }

    /// One `INSERT … SELECT … ON CONFLICT DO NOTHING`: the `SELECT` finds the session and
    /// the client in this issuer (so nothing is recorded across tenants) and numbers the new
    /// row after the session's last; a client already recorded keeps its first number. When
    /// nothing was inserted, a read tells "already recorded" (fine) from "no such session or
    /// client" ([`StoreError::NotFound`]).
    async fn add_client(
        &self,
        scope: IssuerScope,
        session: SessionId,
        client: ClientId,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO session_clients (issuer_id, session_id, client_id, seen_order) \
             SELECT s.issuer_id, s.id, c.id, \
             (SELECT COALESCE(MAX(seen_order), 0) + 1 FROM session_clients \
              WHERE issuer_id = $1 AND session_id = $2) \
             FROM sessions s JOIN clients c ON c.issuer_id = s.issuer_id AND c.id = $3 \
             WHERE s.issuer_id = $1 AND s.id = $2 \
             ON CONFLICT (session_id, client_id) DO NOTHING",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(session.as_uuid())
        .bind(client.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(|e| map("session client", e))?
        .rows_affected();
        if inserted == 0 {
            let recorded: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM session_clients \
                 WHERE issuer_id = $1 AND session_id = $2 AND client_id = $3",
            )
            .bind(scope.issuer_id().as_uuid())
            .bind(session.as_uuid())
            .bind(client.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map("session client", e))?;
            if recorded == 0 {
                return Err(StoreError::NotFound);
            }
        }
        commit(tx).await
    }

    /// In the order first seen; the client id breaks a tie (two clients recorded at once on
    /// PostgreSQL may draw the same number).
    async fn list_clients(
        &self,
        scope: IssuerScope,
        session: SessionId,
    ) -> Result<Vec<ClientId>, StoreError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT client_id FROM session_clients WHERE issuer_id = $1 AND session_id = $2 \
             ORDER BY seen_order, client_id",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(session.as_uuid())
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("session client", e))?;
        Ok(ids.into_iter().map(ClientId::from_uuid).collect())
    }

    async fn end(
        &self,
        scope: IssuerScope,
        id: SessionId,
        now: UnixTime,
        event: &NewEvent,
        deliveries: &[Delivery],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let ended = sqlx::query(
            "UPDATE sessions SET ended_at = $3 \
             WHERE issuer_id = $1 AND id = $2 AND ended_at IS NULL",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| map("session", e))?
        .rows_affected();
        if ended == 0 {
            let exists: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sessions WHERE issuer_id = $1 AND id = $2",
            )
            .bind(scope.issuer_id().as_uuid())
            .bind(id.as_uuid())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map("session", e))?;
            return if exists == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(false)
            };
        }
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        for delivery in deliveries {
            insert_delivery(&mut tx, scope.issuer_id(), delivery).await?;
        }
        commit(tx).await?;
        Ok(true)
    }
}
