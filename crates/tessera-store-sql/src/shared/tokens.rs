//! Token families, their refresh tokens, and opaque access tokens.
//!
//! Rotation (RFC 9700 §4.14.2) marks the presented refresh token used with one conditional
//! `UPDATE … RETURNING`: the database picks the one presenter that rotates (ARCHITECTURE.md
//! invariant 6). On PostgreSQL a concurrent presenter's `UPDATE` waits for the winner's row
//! lock and then finds the token used; under SQLite's single writer the presenters take turns.
//! Either way every loser sees a used token and revokes the family — a refresh token presented
//! twice means it leaked, or the client is confused, and both end the family.
//!
//! Revoking a family also marks the opaque access tokens issued under it revoked, in the
//! same transaction, so that `find_access` alone already refuses them.

use async_trait::async_trait;
use tessera_model::{
    FamilyId, NewEvent, OpaqueAccessToken, RefreshToken, TicketKind, TokenFamily, UnixTime,
};
use tessera_store::{IssuerScope, Rotation, StoreError, TokenRepo};
use uuid::Uuid;

use super::rows::{AccessRow, FamilyRow, RefreshRow, json_list};
use super::tickets::spend;
use super::{SqlStore, Tx, commit, insert_event};
use crate::error::map;

/// Revokes the families of a user and client at `$4` (`$2` user, `$3` client).
pub(super) const REVOKE_FAMILIES_OF_USER_CLIENT: &str = "UPDATE token_families SET revoked_at = $4 \
     WHERE issuer_id = $1 AND user_id = $2 AND client_id = $3 AND revoked_at IS NULL";

/// Revokes the opaque access tokens issued under the families of a user and client.
pub(super) const REVOKE_ACCESS_OF_USER_CLIENT: &str = "UPDATE opaque_access_tokens SET revoked_at = $4 \
     WHERE issuer_id = $1 AND revoked_at IS NULL AND family_id IN \
     (SELECT id FROM token_families WHERE issuer_id = $1 AND user_id = $2 AND client_id = $3)";

/// Revokes one family and its opaque access tokens inside `tx`; whether the family was
/// active until now (`false`: already revoked, or absent).
async fn revoke_family_in(
    tx: &mut Tx,
    scope: IssuerScope,
    family: Uuid,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let revoked = sqlx::query(
        "UPDATE token_families SET revoked_at = $3 \
         WHERE issuer_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(scope.issuer_id().as_uuid())
    .bind(family)
    .bind(now.0)
    .execute(&mut **tx)
    .await
    .map_err(|e| map("token family", e))?
    .rows_affected();
    sqlx::query(
        "UPDATE opaque_access_tokens SET revoked_at = $3 \
         WHERE issuer_id = $1 AND family_id = $2 AND revoked_at IS NULL",
    )
    .bind(scope.issuer_id().as_uuid())
    .bind(family)
    .bind(now.0)
    .execute(&mut **tx)
    .await
    .map_err(|e| map("access token", e))?;
    Ok(revoked > 0)
}

/// Inserts a family and its first refresh token, if any, inside `tx`.
async fn insert_family(
    tx: &mut Tx,
    scope: IssuerScope,
    family: &TokenFamily,
    refresh: Option<&RefreshToken>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO token_families (issuer_id, id, client_id, user_id, session_id, scopes, \
         auth_time, amr, acr, created_at, expires_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(scope.issuer_id().as_uuid())
    .bind(family.id.as_uuid())
    .bind(family.client_id.as_uuid())
    .bind(family.user_id.as_uuid())
    .bind(family.session_id.map(|s| s.as_uuid()))
    .bind(json_list(&family.scopes))
    .bind(family.auth_time.0)
    .bind(json_list(&family.amr))
    .bind(family.acr.as_deref())
    .bind(family.created_at.0)
    .bind(family.expires_at.0)
    .bind(family.revoked_at.map(|t| t.0))
    .execute(&mut **tx)
    .await
    .map_err(|e| map("token family", e))?;
    if let Some(refresh) = refresh {
        insert_refresh(tx, scope, family.id.as_uuid(), refresh).await?;
    }
    Ok(())
}

/// Stores a refresh token of `family` inside `tx` (the family given, not the token's own
/// field: the caller of `create_family` and `rotate_refresh` names the family by context).
async fn insert_refresh(
    tx: &mut Tx,
    scope: IssuerScope,
    family: Uuid,
    token: &RefreshToken,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (issuer_id, secret_hash, family_id, created_at, \
         expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(scope.issuer_id().as_uuid())
    .bind(token.secret_hash.to_vec())
    .bind(family)
    .bind(token.created_at.0)
    .bind(token.expires_at.0)
    .bind(token.used_at.map(|t| t.0))
    .execute(&mut **tx)
    .await
    .map_err(|e| map("refresh token", e))?;
    Ok(())
}

#[async_trait]
impl TokenRepo for SqlStore {
    async fn create_family(
        &self,
        scope: IssuerScope,
        family: &TokenFamily,
        refresh: Option<&RefreshToken>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_family(&mut tx, scope, family, refresh).await?;
        commit(tx).await
    }

    async fn redeem_code(
        &self,
        scope: IssuerScope,
        code: &[u8; 32],
        now: UnixTime,
        family: &TokenFamily,
        refresh: Option<&RefreshToken>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        spend(&mut tx, scope, TicketKind::AuthorizationCode, code, now).await?;
        insert_family(&mut tx, scope, family, refresh).await?;
        commit(tx).await
    }

    async fn find_family(
        &self,
        scope: IssuerScope,
        id: FamilyId,
    ) -> Result<Option<TokenFamily>, StoreError> {
        let row: Option<FamilyRow> = sqlx::query_as(concat!(
            "SELECT ",
            family_columns!(),
            " FROM token_families WHERE issuer_id = $1 AND id = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("token family", e))?;
        row.map(TokenFamily::try_from).transpose()
    }

    async fn revoke_family(
        &self,
        scope: IssuerScope,
        id: FamilyId,
        now: UnixTime,
        event: Option<&NewEvent>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if revoke_family_in(&mut tx, scope, id.as_uuid(), now).await? {
            if let Some(event) = event {
                insert_event(&mut tx, scope.issuer_id(), event).await?;
            }
            commit(tx).await?;
            return Ok(true);
        }
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM token_families WHERE issuer_id = $1 AND id = $2",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map("token family", e))?;
        if exists == 0 {
            return Err(StoreError::NotFound);
        }
        commit(tx).await?;
        Ok(false)
    }

    /// One write transaction:
    ///
    /// 1. the conditional `UPDATE` marks the presented token used if it is unused and
    ///    unexpired, and names its family — only one presenter can get a row back;
    /// 2. the winner checks that the family is active; if not, the transaction is dropped
    ///    (rolled back, the token stays unused) and the answer is `NotFound`; otherwise the
    ///    successor is stored in that family and the family returned;
    /// 3. a loser reads the token: used means replayed, and the family is revoked (an expired
    ///    or already revoked family is revoked all the same, harmlessly); unknown or merely
    ///    expired is `NotFound`, with nothing changed.
    async fn rotate_refresh(
        &self,
        scope: IssuerScope,
        presented: &[u8; 32],
        next: &RefreshToken,
        now: UnixTime,
        reuse_event: &(dyn Fn(FamilyId) -> NewEvent + Sync),
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.begin_write().await?;
        let won: Option<Uuid> = sqlx::query_scalar(
            "UPDATE refresh_tokens SET used_at = $3 \
             WHERE issuer_id = $1 AND secret_hash = $2 AND used_at IS NULL AND expires_at > $3 \
             RETURNING family_id",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(presented.to_vec())
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map("refresh token", e))?;

        if let Some(family_id) = won {
            let row: FamilyRow = sqlx::query_as(concat!(
                "SELECT ",
                family_columns!(),
                " FROM token_families WHERE issuer_id = $1 AND id = $2"
            ))
            .bind(scope.issuer_id().as_uuid())
            .bind(family_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map("token family", e))?;
            let family = TokenFamily::try_from(row)?;
            if !family.is_active(now) {
                // Dropping `tx` rolls back the mark: a dead family changes nothing.
                return Err(StoreError::NotFound);
            }
            insert_refresh(&mut tx, scope, family_id, next).await?;
            commit(tx).await?;
            return Ok(Rotation::Rotated(family));
        }

        let used: Option<(Option<i64>, Uuid)> = sqlx::query_as(
            "SELECT used_at, family_id FROM refresh_tokens \
             WHERE issuer_id = $1 AND secret_hash = $2",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(presented.to_vec())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map("refresh token", e))?;
        match used {
            Some((Some(_), family_id)) => {
                let family = FamilyId::from_uuid(family_id);
                if revoke_family_in(&mut tx, scope, family_id, now).await? {
                    insert_event(&mut tx, scope.issuer_id(), &reuse_event(family)).await?;
                }
                commit(tx).await?;
                Ok(Rotation::Reused(family))
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn find_refresh(
        &self,
        scope: IssuerScope,
        secret_hash: &[u8; 32],
    ) -> Result<Option<RefreshToken>, StoreError> {
        let row: Option<RefreshRow> = sqlx::query_as(concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM refresh_tokens WHERE issuer_id = $1 AND secret_hash = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(secret_hash.to_vec())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("refresh token", e))?;
        row.map(RefreshToken::try_from).transpose()
    }

    async fn create_access(
        &self,
        scope: IssuerScope,
        token: &OpaqueAccessToken,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO opaque_access_tokens (issuer_id, secret_hash, family_id, client_id, \
             claims, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(token.secret_hash.to_vec())
        .bind(token.family_id.map(|f| f.as_uuid()))
        .bind(token.client_id.as_uuid())
        .bind(token.claims.to_string())
        .bind(token.expires_at.0)
        .bind(token.revoked_at.map(|t| t.0))
        .execute(&self.write)
        .await
        .map_err(|e| map("access token", e))?;
        Ok(())
    }

    async fn find_access(
        &self,
        scope: IssuerScope,
        secret_hash: &[u8; 32],
    ) -> Result<Option<OpaqueAccessToken>, StoreError> {
        let row: Option<AccessRow> = sqlx::query_as(concat!(
            "SELECT ",
            access_columns!(),
            " FROM opaque_access_tokens WHERE issuer_id = $1 AND secret_hash = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(secret_hash.to_vec())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("access token", e))?;
        row.map(OpaqueAccessToken::try_from).transpose()
    }

    async fn revoke_access(
        &self,
        scope: IssuerScope,
        secret_hash: &[u8; 32],
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let revoked = sqlx::query(
            "UPDATE opaque_access_tokens SET revoked_at = $3 \
             WHERE issuer_id = $1 AND secret_hash = $2 AND revoked_at IS NULL",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(secret_hash.to_vec())
        .bind(now.0)
        .execute(&self.write)
        .await
        .map_err(|e| map("access token", e))?
        .rows_affected();
        Ok(revoked > 0)
    }
}
