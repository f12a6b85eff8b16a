//! Users of an issuer.

use async_trait::async_trait;
use sqlx::query_builder::Separated;
use tessera_model::{NewEvent, User, UserId};
use tessera_store::{IssuerScope, Page, PageRequest, StoreError, UserListFilter, UserRepo};

use super::rows::{UserRow, convert};
use super::seed::insert_rows;
use super::{
    Db, DeleteStatements, SqlStore, after_bound, commit, delete_scoped, fetch_limit, insert_event,
    missing_or_conflict, paginate,
};
use crate::error::map;

/// How user rows are written, by `create` and by the seeder alike.
pub(super) const INSERT_USERS: &str = "INSERT INTO users (issuer_id, id, email, \
     email_normalized, email_verified, username, password_hash, name, given_name, family_name, \
     picture, locale, user_metadata, app_metadata, blocked, created_at, updated_at, revision) ";

/// Binds one row of [`INSERT_USERS`]: the user under `scope`, its email beside its normalized
/// form (which `find_by_email` and the unique constraint compare).
pub(super) fn push_user<'a>(
    mut row: Separated<'_, 'a, Db, &'static str>,
    scope: IssuerScope,
    user: &'a User,
) {
    row.push_bind(scope.issuer_id().as_uuid())
        .push_bind(user.id.as_uuid())
        .push_bind(user.email.as_ref().map(|e| e.as_str()))
        .push_bind(user.email.as_ref().map(|e| e.normalized()))
        .push_bind(user.email_verified)
        .push_bind(user.username.as_deref())
        .push_bind(user.password_hash.as_deref())
        .push_bind(user.name.as_deref())
        .push_bind(user.given_name.as_deref())
        .push_bind(user.family_name.as_deref())
        .push_bind(user.picture.as_deref())
        .push_bind(user.locale.as_deref())
        .push_bind(user.user_metadata.to_string())
        .push_bind(user.app_metadata.to_string())
        .push_bind(user.blocked)
        .push_bind(user.created_at.0)
        .push_bind(user.updated_at.0)
        .push_bind(user.revision);
}

impl SqlStore {
    async fn find_user_where(
        &self,
        scope: IssuerScope,
        sql: &'static str,
        value: &str,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(sql)
            .bind(scope.issuer_id().as_uuid())
            .bind(value)
            .fetch_optional(&self.read)
            .await
            .map_err(|e| map("user", e))?;
        row.map(User::try_from).transpose()
    }
}

#[async_trait]
impl UserRepo for SqlStore {
    async fn create(
        &self,
        scope: IssuerScope,
        user: &User,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_rows(
            &mut tx,
            "user",
            INSERT_USERS,
            std::slice::from_ref(user),
            |row, user| {
                push_user(row, scope, user);
            },
        )
        .await?;
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await
    }

    async fn find(&self, scope: IssuerScope, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE issuer_id = $1 AND id = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("user", e))?;
        row.map(User::try_from).transpose()
    }

    async fn find_by_email(
        &self,
        scope: IssuerScope,
        normalized_email: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE issuer_id = $1 AND email_normalized = $2"
        );
        self.find_user_where(scope, sql, normalized_email).await
    }

    async fn find_by_username(
        &self,
        scope: IssuerScope,
        username: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE issuer_id = $1 AND username = $2"
        );
        self.find_user_where(scope, sql, username).await
    }

    async fn list(
        &self,
        scope: IssuerScope,
        filter: &UserListFilter,
        page: PageRequest,
    ) -> Result<Page<User>, StoreError> {
        // Prefixes are compared with `substr(col, 1, length(p)) = p`, not `LIKE` (whose
        // wildcards would need escaping) nor a range (`col >= p AND col < p'`, which PostgreSQL
        // orders by the column's collation and SQLite by bytes): both backends count characters
        // in `substr`/`length` and compare with `=` byte for byte, so they agree exactly.
        let rows: Vec<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE issuer_id = $1 AND id > $2 \
             AND ($4 IS NULL OR substr(email_normalized, 1, length($4)) = $4) \
             AND ($5 IS NULL OR substr(username, 1, length($5)) = $5) \
             ORDER BY id LIMIT $3"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(after_bound(page))
        .bind(fetch_limit(page))
        .bind(filter.email_prefix.as_deref())
        .bind(filter.username_prefix.as_deref())
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("user", e))?;
        Ok(paginate(convert(rows)?, page.limit, |u: &User| {
            u.id.as_uuid()
        }))
    }

    async fn update(
        &self,
        scope: IssuerScope,
        user: &User,
        event: &NewEvent,
    ) -> Result<User, StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE users SET email = $3, email_normalized = $4, email_verified = $5, \
             username = $6, password_hash = $7, name = $8, given_name = $9, family_name = $10, \
             picture = $11, locale = $12, user_metadata = $13, app_metadata = $14, \
             blocked = $15, updated_at = $16, revision = revision + 1 \
             WHERE issuer_id = $1 AND id = $2 AND revision = $17",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(user.id.as_uuid())
        .bind(user.email.as_ref().map(|e| e.as_str()))
        .bind(user.email.as_ref().map(|e| e.normalized()))
        .bind(user.email_verified)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(&user.name)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.picture)
        .bind(&user.locale)
        .bind(user.user_metadata.to_string())
        .bind(user.app_metadata.to_string())
        .bind(user.blocked)
        .bind(user.updated_at.0)
        .bind(user.revision)
        .execute(&mut *tx)
        .await
        .map_err(|e| map("user", e))?
        .rows_affected();
        if changed == 0 {
            let exists = "SELECT COUNT(*) FROM users WHERE issuer_id = $1 AND id = $2";
            return Err(missing_or_conflict(&mut tx, exists, Some(scope), user.id.as_uuid()).await);
        }
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await?;
        Ok(User {
            issuer_id: scope.issuer_id(),
            revision: user.revision + 1,
            ..user.clone()
        })
    }

    async fn delete(
        &self,
        scope: IssuerScope,
        id: UserId,
        expected_revision: Option<i64>,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let statements = DeleteStatements {
            any_revision: "DELETE FROM users WHERE issuer_id = $1 AND id = $2",
            at_revision: "DELETE FROM users WHERE issuer_id = $1 AND id = $2 AND revision = $3",
            exists: "SELECT COUNT(*) FROM users WHERE issuer_id = $1 AND id = $2",
        };
        delete_scoped(
            self,
            "user",
            statements,
            scope,
            id.as_uuid(),
            expected_revision,
            event,
        )
        .await
    }
}
