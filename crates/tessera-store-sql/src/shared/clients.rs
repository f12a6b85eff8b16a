//! Clients of an issuer.

use async_trait::async_trait;
use sqlx::query_builder::Separated;
use tessera_model::{Client, ClientId, IssuerId, NewEvent};
use tessera_store::{ClientRepo, ClientRevision, IssuerScope, Page, PageRequest, StoreError};
use uuid::Uuid;

use super::rows::{ClientRow, convert, json_list};
use super::seed::insert_rows;
use super::{
    Db, DeleteStatements, SqlStore, after_bound, commit, delete_scoped, fetch_limit, insert_event,
    missing_or_conflict, paginate,
};
use crate::error::map;

/// How client rows are written, by `create` and by the seeder alike.
pub(super) const INSERT_CLIENTS: &str = "INSERT INTO clients (issuer_id, id, name, client_type, \
     secret_hash, redirect_uris, post_logout_redirect_uris, grant_types, \
     token_endpoint_auth_method, allowed_scopes, first_party, allowed_issuers, created_at, \
     updated_at, revision, id_token_signed_response_alg, access_token_format, \
     access_token_lifetime, id_token_lifetime, refresh_token_lifetime, jwks, \
     backchannel_logout_uri, backchannel_logout_session_required) ";

/// Binds one row of [`INSERT_CLIENTS`]: the client under `scope`, lists as JSON text.
pub(super) fn push_client<'a>(
    mut row: Separated<'_, 'a, Db, &'static str>,
    scope: IssuerScope,
    client: &'a Client,
) {
    row.push_bind(scope.issuer_id().as_uuid())
        .push_bind(client.id.as_uuid())
        .push_bind(client.name.as_str())
        .push_bind(client.client_type.as_str())
        .push_bind(client.secret_hash.map(|h| h.to_vec()))
        .push_bind(json_list(&client.redirect_uris))
        .push_bind(json_list(&client.post_logout_redirect_uris))
        .push_bind(json_list(&client.grant_types))
        .push_bind(client.token_endpoint_auth_method.as_str())
        .push_bind(json_list(&client.allowed_scopes))
        .push_bind(client.first_party)
        .push_bind(allowed_issuers(client))
        .push_bind(client.created_at.0)
        .push_bind(client.updated_at.0)
        .push_bind(client.revision)
        .push_bind(id_token_alg(client))
        .push_bind(client.token_settings.access_token_format().as_str())
        .push_bind(client.token_settings.access_token_lifetime_override())
        .push_bind(client.token_settings.id_token_lifetime_override())
        .push_bind(client.token_settings.refresh_token_lifetime_override())
        .push_bind(client.jwks.as_deref())
        .push_bind(client.backchannel_logout_uri.as_deref())
        .push_bind(client.backchannel_logout_session_required);
}

fn id_token_alg(client: &Client) -> Option<&'static str> {
    client.id_token_signed_response_alg.map(|alg| alg.as_str())
}

fn allowed_issuers(client: &Client) -> Option<String> {
    client.allowed_issuers.as_ref().map(|slugs| {
        let slugs: Vec<String> = slugs.iter().map(|s| s.as_str().to_owned()).collect();
        json_list(&slugs)
    })
}

#[async_trait]
impl ClientRepo for SqlStore {
    async fn create(
        &self,
        scope: IssuerScope,
        client: &Client,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let rows = std::slice::from_ref(client);
        insert_rows(&mut tx, "client", INSERT_CLIENTS, rows, |row, client| {
            push_client(row, scope, client);
        })
        .await?;
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await
    }

    async fn find(&self, scope: IssuerScope, id: ClientId) -> Result<Option<Client>, StoreError> {
        let row: Option<ClientRow> = sqlx::query_as(concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients WHERE issuer_id = $1 AND id = $2"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&self.read)
        .await
        .map_err(|e| map("client", e))?;
        row.map(Client::try_from).transpose()
    }

    async fn list(
        &self,
        scope: IssuerScope,
        page: PageRequest,
    ) -> Result<Page<Client>, StoreError> {
        let rows: Vec<ClientRow> = sqlx::query_as(concat!(
            "SELECT ",
            client_columns!(),
            " FROM clients WHERE issuer_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(scope.issuer_id().as_uuid())
        .bind(after_bound(page))
        .bind(fetch_limit(page))
        .fetch_all(&self.read)
        .await
        .map_err(|e| map("client", e))?;
        Ok(paginate(convert(rows)?, page.limit, |c: &Client| {
            c.id.as_uuid()
        }))
    }

    async fn revisions(&self, ids: &[ClientId]) -> Result<Vec<ClientRevision>, StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let rows: Vec<(Uuid, Uuid, i64)> = self
            .rows_for_ids(
                "client",
                "SELECT issuer_id, id, revision FROM clients WHERE id IN (",
                &ids,
                "",
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(issuer_id, id, revision)| ClientRevision {
                issuer_id: IssuerId::from_uuid(issuer_id),
                id: ClientId::from_uuid(id),
                revision,
            })
            .collect())
    }

    async fn update(
        &self,
        scope: IssuerScope,
        client: &Client,
        event: &NewEvent,
    ) -> Result<Client, StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE clients SET name = $3, client_type = $4, secret_hash = $5, \
             redirect_uris = $6, post_logout_redirect_uris = $7, grant_types = $8, \
             token_endpoint_auth_method = $9, allowed_scopes = $10, first_party = $11, \
             allowed_issuers = $12, updated_at = $13, id_token_signed_response_alg = $15, \
             access_token_format = $16, access_token_lifetime = $17, id_token_lifetime = $18, \
             refresh_token_lifetime = $19, jwks = $20, backchannel_logout_uri = $21, \
             backchannel_logout_session_required = $22, revision = revision + 1 \
             WHERE issuer_id = $1 AND id = $2 AND revision = $14",
        )
        .bind(scope.issuer_id().as_uuid())
        .bind(client.id.as_uuid())
        .bind(&client.name)
        .bind(client.client_type.as_str())
        .bind(client.secret_hash.map(|h| h.to_vec()))
        .bind(json_list(&client.redirect_uris))
        .bind(json_list(&client.post_logout_redirect_uris))
        .bind(json_list(&client.grant_types))
        .bind(&client.token_endpoint_auth_method)
        .bind(json_list(&client.allowed_scopes))
        .bind(client.first_party)
        .bind(allowed_issuers(client))
        .bind(client.updated_at.0)
        .bind(client.revision)
        .bind(id_token_alg(client))
        .bind(client.token_settings.access_token_format().as_str())
        .bind(client.token_settings.access_token_lifetime_override())
        .bind(client.token_settings.id_token_lifetime_override())
        .bind(client.token_settings.refresh_token_lifetime_override())
        .bind(client.jwks.as_deref())
        .bind(client.backchannel_logout_uri.as_deref())
        .bind(client.backchannel_logout_session_required)
        .execute(&mut *tx)
        .await
        .map_err(|e| map("client", e))?
        .rows_affected();
        if changed == 0 {
            let exists = "SELECT COUNT(*) FROM clients WHERE issuer_id = $1 AND id = $2";
            return Err(
                missing_or_conflict(&mut tx, exists, Some(scope), client.id.as_uuid()).await,
            );
        }
        insert_event(&mut tx, scope.issuer_id(), event).await?;
        commit(tx).await?;
        Ok(Client {
            issuer_id: scope.issuer_id(),
            revision: client.revision + 1,
            ..client.clone()
        })
    }

    async fn delete(
        &self,
        scope: IssuerScope,
        id: ClientId,
        expected_revision: Option<i64>,
        event: &NewEvent,
    ) -> Result<(), StoreError> {
        let statements = DeleteStatements {
            any_revision: "DELETE FROM clients WHERE issuer_id = $1 AND id = $2",
            at_revision: "DELETE FROM clients WHERE issuer_id = $1 AND id = $2 AND revision = $3",
            exists: "SELECT COUNT(*) FROM clients WHERE issuer_id = $1 AND id = $2",
        };
        delete_scoped(
            self,
            "client",
            statements,
            scope,
            id.as_uuid(),
            expected_revision,
            event,
        )
        .await
    }

    async fn longest_lifetime_override(
        &self,
        scope: IssuerScope,
    ) -> Result<Option<i64>, StoreError> {
        let (access, id): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT MAX(access_token_lifetime), MAX(id_token_lifetime) FROM clients \
             WHERE issuer_id = $1",
        )
        .bind(scope.issuer_id().as_uuid())
        .fetch_one(&self.read)
        .await
        .map_err(|e| map("client", e))?;
        Ok(access.max(id))
    }
}
