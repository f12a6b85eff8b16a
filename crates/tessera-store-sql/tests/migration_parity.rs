//! The two migration folders must describe the same schema: same migrations, same tables,
//! same columns. Types differ by design (BLOB/UUID, INTEGER/BIGINT); names may not.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::Path;

type Schema = BTreeMap<String, BTreeSet<String>>;

fn migration_names(backend: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("migration folder")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Tables and their columns as declared in one folder: by `CREATE TABLE` statements, and by
/// `ALTER TABLE t ADD COLUMN c …` lines (one per line, as the migrations write them).
fn declared_schema(backend: &str) -> Schema {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut schema = Schema::new();
    for name in migration_names(backend) {
        let sql = std::fs::read_to_string(dir.join(&name)).expect("migration file");
        let mut table: Option<String> = None;
        for line in sql.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("ALTER TABLE ") {
                let mut words = rest.split_whitespace();
                let table = words.next().expect("table name");
                let action: Vec<&str> = words.by_ref().take(2).collect();
                assert_eq!(
                    action,
                    ["ADD", "COLUMN"],
                    "{name}: the parity test understands only `ALTER TABLE t ADD COLUMN c …`"
                );
                let column = words.next().expect("column name");
                schema
                    .get_mut(table)
                    .unwrap_or_else(|| panic!("{name}: ALTER TABLE of undeclared `{table}`"))
                    .insert(column.to_owned());
            } else if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                let name = rest.split_whitespace().next().expect("table name");
                table = Some(name.to_owned());
                schema.entry(name.to_owned()).or_default();
            } else if line.starts_with(");") {
                table = None;
            } else if let Some(table) = &table {
                let first = line.split_whitespace().next().unwrap_or("");
                // Table constraints are not columns.
                let constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK"];
                if !first.is_empty() && !constraint.contains(&first) && !first.starts_with("--") {
                    schema
                        .get_mut(table)
                        .expect("table")
                        .insert(first.to_owned());
                }
            }
        }
    }
    schema
}

#[test]
fn both_backends_have_the_same_migrations() {
    assert_eq!(migration_names("sqlite"), migration_names("postgres"));
}

#[test]
fn both_backends_declare_the_same_tables_and_columns() {
    let sqlite = declared_schema("sqlite");
    assert!(sqlite.contains_key("users") && sqlite["users"].contains("email_normalized"));
    assert!(sqlite["issuers"].contains("signup_allowed_domains"));
    assert_eq!(sqlite, declared_schema("postgres"));
}

/// The schema a migrated database really has, read from its catalog.
async fn live_schema(url: &str) -> Schema {
    use sqlx::Row;
    let store = tessera_store_sql::connect(url, Default::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let sql = if url.starts_with("sqlite:") {
        "SELECT m.name AS table_name, p.name AS column_name \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"
    } else {
        "SELECT table_name::text AS table_name, column_name::text AS column_name \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'"
    };
    let mut schema = Schema::new();
    let rows = if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql)
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.get::<String, _>("table_name"),
                    r.get::<String, _>("column_name"),
                )
            })
            .collect::<Vec<_>>()
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql)
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.get::<String, _>("table_name"),
                    r.get::<String, _>("column_name"),
                )
            })
            .collect::<Vec<_>>()
    };
    for (table, column) in rows {
        schema.entry(table).or_default().insert(column);
    }
    schema
}

/// On the PostgreSQL run, compare the catalogs of a migrated SQLite and a migrated PostgreSQL
/// database. (On the SQLite run there is only one backend to read.)
#[tokio::test]
async fn migrated_databases_have_the_same_tables_and_columns() {
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}/parity.db", sqlite_dir.path().display());
    let sqlite = live_schema(&sqlite_url).await;
    assert_eq!(sqlite, declared_schema("sqlite"));
    if tessera_store_sql::testing::postgres_admin_url().is_some() {
        let postgres_db = tessera_store_sql::testing::fresh_database().await;
        assert_eq!(live_schema(&postgres_db.url).await, sqlite);
    }
}
