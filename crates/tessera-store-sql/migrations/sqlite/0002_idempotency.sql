-- Idempotency keys of the Core API (issue 3). Keep in step with ../postgres/0002_idempotency.sql.
-- A key belongs to the caller (the admin client id), not to an issuer: two credentials may
-- use the same key independently. `request_hash` is the SHA-256 of method, path and body;
-- `status` stays NULL while the first request runs. Times are Unix seconds; a row whose
-- `expires_at` has passed counts as absent.

CREATE TABLE idempotency_keys (
    caller TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status INTEGER,
    response_headers TEXT,
    response_body BLOB,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    CONSTRAINT pk_idempotency_keys PRIMARY KEY (caller, key)
);
CREATE INDEX ix_idempotency_keys_expires ON idempotency_keys (expires_at);
