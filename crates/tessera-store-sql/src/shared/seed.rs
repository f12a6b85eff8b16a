//! Multi-row inserts: the one way issuer, client, user and key rows are written, a row at a
//! time by the repositories' `create`, by the thousand by the seeder ([`SeedRepo`]).
//!
//! Sharing the statement text and the binding of each row (`INSERT_USERS` and `push_user` in
//! `users.rs`, and so on) is what makes a seeded record indistinguishable from a created one:
//! the same columns, the same JSON text for lists, the same normalized email. The seeder only
//! packs more rows into a statement, and writes no events (see [`SeedRepo`] for why).
//!
//! A statement binds at most [`MAX_BIND_PARAMETERS`] values: SQLite's limit (32,766 since
//! 3.32), which is below PostgreSQL's (65,535), so one row count per table serves both.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use sqlx::query_builder::Separated;
use tessera_store::{SeedBatch, SeedRepo, StoreError};

use super::clients::{INSERT_CLIENTS, push_client};
use super::issuers::{INSERT_ISSUERS, push_issuer};
use super::keys::{INSERT_KEYS, push_key};
use super::users::{INSERT_USERS, push_user};
use super::{AFTER_BULK_LOAD, Db, SqlStore, Tx, commit};
use crate::error::map;

/// The most values one statement binds, on either backend.
const MAX_BIND_PARAMETERS: usize = 32_766;

/// How many columns `insert` (`INSERT INTO t (a, b, …) `) names.
fn column_count(insert: &str) -> usize {
    let list = insert
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map_or("", |(list, _)| list);
    list.split(',').count()
}

/// Inserts `items` with `insert` followed by `VALUES (…), (…), …`, as many rows per statement
/// as [`MAX_BIND_PARAMETERS`] allows; `push` binds one item's row, in `insert`'s column order.
pub(super) async fn insert_rows<'a, T>(
    tx: &mut Tx,
    entity: &'static str,
    insert: &'static str,
    items: &'a [T],
    mut push: impl FnMut(Separated<'_, 'a, Db, &'static str>, &'a T),
) -> Result<(), StoreError> {
    let rows_per_statement = (MAX_BIND_PARAMETERS / column_count(insert)).max(1);
    for chunk in items.chunks(rows_per_statement) {
        let mut statement = QueryBuilder::<Db>::new(insert);
        statement.push_values(chunk, &mut push);
        statement
            .build()
            .execute(&mut **tx)
            .await
            .map_err(|e| map(entity, e))?;
    }
    Ok(())
}

#[async_trait]
impl SeedRepo for SqlStore {
    async fn insert(&self, batch: &SeedBatch) -> Result<(), StoreError> {
        // Every issuer's records of a kind go into the same statements: ten thousand issuers
        // with one client each are a few statements, not ten thousand.
        let clients: Vec<_> = batch
            .contents
            .iter()
            .flat_map(|c| c.clients.iter().map(move |client| (c.scope, client)))
            .collect();
        let users: Vec<_> = batch
            .contents
            .iter()
            .flat_map(|c| c.users.iter().map(move |user| (c.scope, user)))
            .collect();
        let keys: Vec<_> = batch
            .contents
            .iter()
            .flat_map(|c| c.keys.iter().map(move |key| (c.scope, key)))
            .collect();
        let mut tx = self.begin_write().await?;
        insert_rows(
            &mut tx,
            "issuer",
            INSERT_ISSUERS,
            &batch.issuers,
            push_issuer,
        )
        .await?;
        insert_rows(
            &mut tx,
            "client",
            INSERT_CLIENTS,
            &clients,
            |row, (scope, client)| {
                push_client(row, *scope, client);
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            "user",
            INSERT_USERS,
            &users,
            |row, (scope, user)| {
                push_user(row, *scope, user);
            },
        )
        .await?;
        insert_rows(&mut tx, "key", INSERT_KEYS, &keys, |row, (scope, key)| {
            push_key(row, *scope, key);
        })
        .await?;
        commit(tx).await
    }

    async fn settle(&self) -> Result<(), StoreError> {
        for statement in AFTER_BULK_LOAD {
            // As a simple query, outside any transaction: `VACUUM` refuses to run in one.
            sqlx::raw_sql(statement)
                .execute(&self.write)
                .await
                .map_err(|e| map("database", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_insert_names_its_columns_and_fills_a_statement_within_the_limit() {
        assert_eq!(column_count(INSERT_ISSUERS), 23);
        assert_eq!(column_count(INSERT_CLIENTS), 23);
        assert_eq!(column_count(INSERT_USERS), 18);
        assert_eq!(column_count(INSERT_KEYS), 8);
        assert_eq!(column_count("INSERT INTO t (a) "), 1);
    }
}
