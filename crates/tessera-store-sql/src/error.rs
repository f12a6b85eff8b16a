//! Turning sqlx errors into the storage vocabulary, the same way for both backends.

use tessera_store::StoreError;

/// Unique constraints the API reports, as (table, column, public field). PostgreSQL names
/// the constraint (`uq_<table>_<column>`); SQLite names the columns (`table.column`) in its
/// message. Both spellings come from the same migration text.
const UNIQUE_FIELDS: &[(&str, &str, &str)] = &[
    ("issuers", "slug", "slug"),
    ("users", "email_normalized", "email"),
    ("users", "username", "username"),
    ("tickets", "secret_hash", "secret"),
    ("sessions", "secret_hash", "secret"),
    ("refresh_tokens", "secret_hash", "secret"),
    ("opaque_access_tokens", "secret_hash", "secret"),
];

/// PostgreSQL SQLSTATE classes and codes after which a retry may succeed: connection
/// exceptions (08…), shutdown or start-up in progress (57P01–57P03), serialization failures.
fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
}

/// Whether PostgreSQL ended the session with this error (severity `FATAL` or `PANIC`): the
/// connection is gone, whatever the code says. A database that refuses connections answers
/// the start-up with `FATAL` 55000 ("not currently accepting connections"), a code that,
/// raised by a statement, means a broken precondition; only the severity tells the two apart.
/// Either way the request may succeed on a new connection later, so it is transient. (A
/// misconfiguration, such as a wrong password, is `FATAL` too, but it stops Tessera at
/// start-up, where the error's text is what is reported.)
fn ends_the_session(error: &dyn sqlx::error::DatabaseError) -> bool {
    use sqlx::postgres::{PgDatabaseError, PgSeverity};
    error
        .try_downcast_ref::<PgDatabaseError>()
        .is_some_and(|pg| matches!(pg.severity(), PgSeverity::Fatal | PgSeverity::Panic))
}

/// SQLite result codes (primary code in the low byte) for a busy or locked database.
fn is_transient_sqlite_code(code: &str) -> bool {
    code.parse::<u32>()
        .map(|code| matches!(code & 0xff, 5 | 6))
        .unwrap_or(false)
}

/// Maps an error from a statement about `entity` (`user`, `client`, …).
pub(crate) fn map(entity: &'static str, error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if db.is_unique_violation() {
                let constraint = db.constraint().unwrap_or_default();
                let message = db.message();
                let field = UNIQUE_FIELDS.iter().find_map(|(table, column, field)| {
                    let named = constraint == format!("uq_{table}_{column}");
                    let listed = message.contains(&format!("{table}.{column}"));
                    (named || listed).then_some(*field)
                });
                if let Some(field) = field {
                    return StoreError::AlreadyExists { entity, field };
                }
            }
            if is_transient_sqlstate(&code)
                || is_transient_sqlite_code(&code)
                || ends_the_session(db.as_ref())
            {
                StoreError::Unavailable(db.into_error())
            } else {
                StoreError::Backend(db.into_error())
            }
        }
        e @ (sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed) => StoreError::Unavailable(Box::new(e)),
        other => StoreError::Backend(Box::new(other)),
    }
}

/// A stored value that does not decode as its type: the database was changed behind
/// Tessera's back.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("a stored {what} is not valid").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_codes_are_recognized() {
        assert!(is_transient_sqlstate("08006"));
        assert!(is_transient_sqlstate("57P01"));
        assert!(!is_transient_sqlstate("23505"));
        assert!(is_transient_sqlite_code("5"));
        assert!(is_transient_sqlite_code("517")); // SQLITE_BUSY_SNAPSHOT
        assert!(!is_transient_sqlite_code("2067")); // SQLITE_CONSTRAINT_UNIQUE
        assert!(!is_transient_sqlite_code("XX000"));
    }
}
