//! Issuers: the only installation-level aggregate.

use async_trait::async_trait;
use sqlx::query_builder::Separated;
use tessera_model::{Issuer, IssuerId, IssuerSlug, KeyAlgorithm, NewEvent, UnixTime};
use tessera_store::{IssuerRepo, IssuerScope, IssuerVersion, Page, PageRequest, StoreError};
use uuid::Uuid;

use super::rows::{IssuerRow, branding_json, json_list};
use super::seed::insert_rows;
use super::{
    Db, SqlStore, after_bound, commit, fetch_limit, insert_event, missing_or_conflict, paginate,
};
use crate::error::{corrupt, map};

/// How issuer rows are written, by `create` and by the seeder alike.
pub(super) const INSERT_ISSUERS: &str = "INSERT INTO issuers (id, slug, display_name, \
     access_token_lifetime, id_token_lifetime, refresh_token_lifetime, signing_algorithm, \
     signup_policy, signup_allowed_domains, created_at, updated_at, revision, \
     event_retention_days, key_rotation_days, lockout_max_failures, lockout_seconds, \
     lockout_address_max_failures, branding, password_min_length, password_max_length, \
     password_min_strength, signup_require_email_verification, allow_account_deletion) ";

/// Binds one row of [`INSERT_ISSUERS`].
pub(super) fn push_issuer<'a>(mut row: Separated<'_, 'a, Db, &'static str>, issuer: &'a Issuer) {
    row.push_bind(issuer.id.as_uuid())
        .push_bind(issuer.slug.as_str())
        .push_bind(issuer.display_name.as_str())
        .push_bind(issuer.settings.access_token_lifetime())
        .push_bind(issuer.settings.id_token_lifetime())
        .push_bind(issuer.settings.refresh_token_lifetime())
        .push_bind(issuer.settings.signing_algorithm().as_str())
        .push_bind(issuer.settings.signup().as_str())
        .push_bind(json_list(issuer.settings.signup().domains()))
        .push_bind(issuer.created_at.0)
        .push_bind(issuer.updated_at.0)
        .push_bind(issuer.revision)
        .push_bind(issuer.settings.event_retention_days())
        .push_bind(issuer.settings.key_rotation_days())
        .push_bind(issuer.settings.lockout().max_failures())
        .push_bind(issuer.settings.lockout().lock_seconds())
        .push_bind(issuer.settings.lockout().address_max_failures())
        .push_bind(branding_json(issuer.settings.branding()))
        .push_bind(issuer.settings.password_policy().min_length())
        .push_bind(issuer.settings.password_policy().max_length())
        .push_bind(issuer.settings.password_policy().min_strength())
        .push_bind(issuer.settings.require_email_verification())
        .push_bind(issuer.settings.allow_account_deletion());
}

#[async_trait]
impl IssuerRepo for SqlStore {
    async fn create(&self, issuer: &Issuer, event: &NewEvent) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_rows(
            &mut tx,
            "issuer",
            INSERT_ISSUERS,
            std::slice::from_ref(issuer),
            push_issuer,
        )
        .await?;
        insert_event(&mut tx, issuer.id, event).await?;
        commit(tx).await
    }

    async fn find(&self, id: IssuerId) -> Result<Option<Issuer>, StoreError> {
        let row: Option<IssuerRow> = sqlx::query_as(concat!(
            "SELECT ",
            issuer_columns!(),
            " FROM issuers WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("issuer", e))?;
        row.map(Issuer::try_from).transpose()
    }

    async fn find_by_slug(&self, slug: &IssuerSlug) -> Result<Option<Issuer>, StoreError> {
        let row: Option<IssuerRow> = sqlx::query_as(concat!(
            "SELECT ",
            issuer_columns!(),
            " FROM issuers WHERE slug = $1"
        ))
        .bind(slug.as_str())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("issuer", e))?;
        row.map(Issuer::try_from).transpose()
    }

    async fn list(&self, page: PageRequest) -> Result<Page<Issuer>, StoreError> {
        self.issuer_page(
            concat!(
                "SELECT ",
                issuer_columns!(),
                " FROM issuers WHERE id > $1 ORDER BY id LIMIT $2"
            ),
            page,
            None,
        )
        .await
    }

    async fn list_with_event_retention(
        &self,
        page: PageRequest,
    ) -> Result<Page<Issuer>, StoreError> {
        self.issuer_page(
            concat!(
                "SELECT ",
                issuer_columns!(),
                " FROM issuers WHERE event_retention_days IS NOT NULL AND id > $1 \
                 ORDER BY id LIMIT $2"
            ),
            page,
            None,
        )
        .await
    }

    async fn list_due_for_key_rotation(
        &self,
        now: UnixTime,
        page: PageRequest,
    ) -> Result<Page<Issuer>, StoreError> {
        // A rotation makes every chain's current key current at once, and the newest one
        // decides, so an issuer rotated through the Core API waits a whole period again.
        self.issuer_page(
            concat!(
                "SELECT ",
                issuer_columns!(),
                " FROM issuers WHERE key_rotation_days IS NOT NULL AND id > $1 \
                 AND EXISTS (SELECT 1 FROM signing_keys k WHERE k.issuer_id = issuers.id \
                     AND k.state = 'current') \
                 AND NOT EXISTS (SELECT 1 FROM signing_keys k WHERE k.issuer_id = issuers.id \
                     AND k.state = 'current' AND k.updated_at > $3 - key_rotation_days * 86400) \
                 ORDER BY id LIMIT $2"
            ),
            page,
            Some(now),
        )
        .await
    }

    async fn versions(&self, ids: &[IssuerId]) -> Result<Vec<IssuerVersion>, StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let rows: Vec<(Uuid, i64, String)> = self
            .rows_for_ids(
                "issuer",
                "SELECT id, revision, signing_algorithm FROM issuers WHERE id IN (",
                &ids,
                "",
            )
            .await?;
        rows.into_iter()
            .map(|(id, revision, algorithm)| {
                Ok(IssuerVersion {
                    id: IssuerId::from_uuid(id),
                    revision,
                    signing_algorithm: KeyAlgorithm::parse(&algorithm)
                        .ok_or_else(|| corrupt("issuer signing algorithm"))?,
                })
            })
            .collect()
    }

    async fn update(&self, issuer: &Issuer, event: &NewEvent) -> Result<Issuer, StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE issuers SET display_name = $1, access_token_lifetime = $2, \
             id_token_lifetime = $3, refresh_token_lifetime = $4, signing_algorithm = $5, \
             signup_policy = $6, signup_allowed_domains = $7, updated_at = $8, \
             event_retention_days = $11, key_rotation_days = $12, lockout_max_failures = $13, \
             lockout_seconds = $14, lockout_address_max_failures = $15, branding = $16, \
             password_min_length = $17, password_max_length = $18, password_min_strength = $19, \
             signup_require_email_verification = $20, allow_account_deletion = $21, \
             revision = revision + 1 \
             WHERE id = $9 AND revision = $10",
        )
        .bind(&issuer.display_name)
        .bind(issuer.settings.access_token_lifetime())
        .bind(issuer.settings.id_token_lifetime())
        .bind(issuer.settings.refresh_token_lifetime())
        .bind(issuer.settings.signing_algorithm().as_str())
        .bind(issuer.settings.signup().as_str())
        .bind(json_list(issuer.settings.signup().domains()))
        .bind(issuer.updated_at.0)
        .bind(issuer.id.as_uuid())
        .bind(issuer.revision)
        .bind(issuer.settings.event_retention_days())
        .bind(issuer.settings.key_rotation_days())
        .bind(issuer.settings.lockout().max_failures())
        .bind(issuer.settings.lockout().lock_seconds())
        .bind(issuer.settings.lockout().address_max_failures())
        .bind(branding_json(issuer.settings.branding()))
        .bind(issuer.settings.password_policy().min_length())
        .bind(issuer.settings.password_policy().max_length())
        .bind(issuer.settings.password_policy().min_strength())
        .bind(issuer.settings.require_email_verification())
        .bind(issuer.settings.allow_account_deletion())
        .execute(&mut *tx)
        .await
        .map_err(|e| map("issuer", e))?
        .rows_affected();
        if changed == 0 {
            let exists = "SELECT COUNT(*) FROM issuers WHERE id = $1";
            return Err(missing_or_conflict(&mut tx, exists, None, issuer.id.as_uuid()).await);
        }
        insert_event(&mut tx, issuer.id, event).await?;
        commit(tx).await?;
        Ok(Issuer {
            revision: issuer.revision + 1,
            ..issuer.clone()
        })
    }

    async fn delete(
        &self,
        id: IssuerId,
        audit: IssuerScope,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM issuers WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(|e| map("issuer", e))?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        insert_event(&mut tx, audit.issuer_id(), event).await?;
        commit(tx).await
    }
}

impl SqlStore {
    /// One page of the issuers `query` selects: it binds `$1` (the page's lower bound), `$2`
    /// (the fetch limit) and, when given, `$3` (`now`).
    async fn issuer_page(
        &self,
        query: &'static str,
        page: PageRequest,
        now: Option<UnixTime>,
    ) -> Result<Page<Issuer>, StoreError> {
        let mut statement = sqlx::query_as::<_, IssuerRow>(query)
            .bind(after_bound(page))
            .bind(fetch_limit(page));
        if let Some(now) = now {
            statement = statement.bind(now.0);
        }
        let rows = statement
            .fetch_all(&self.read)
            .await
            .map_err(|e| map("issuer", e))?;
        let items = super::rows::convert(rows)?;
        Ok(paginate(items, page.limit, |i: &Issuer| i.id.as_uuid()))
    }
}
