-- Tessera schema, version 1 (SQLite). Keep in step with ../postgres/0001_initial.sql: the
-- parity test compares both schemas table by table, column by column.
-- Conventions: ids are UUIDs (BLOB here, UUID there), times are Unix seconds, JSON is TEXT,
-- unique constraints are named uq_<table>_<column> so errors name the field on both backends.

CREATE TABLE installation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    master_key_check BLOB NOT NULL
);

CREATE TABLE issuers (
    id BLOB PRIMARY KEY,
    slug TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    CONSTRAINT uq_issuers_slug UNIQUE (slug)
);

CREATE TABLE clients (
    id BLOB PRIMARY KEY,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    client_type TEXT NOT NULL,
    secret_hash BLOB,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    allowed_scopes TEXT NOT NULL,
    first_party BOOLEAN NOT NULL,
    allowed_issuers TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX ix_clients_issuer ON clients (issuer_id, id);

CREATE TABLE users (
    id BLOB PRIMARY KEY,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    email TEXT,
    email_normalized TEXT,
    email_verified BOOLEAN NOT NULL,
    username TEXT,
    password_hash TEXT,
    name TEXT,
    given_name TEXT,
    family_name TEXT,
    user_metadata TEXT NOT NULL,
    app_metadata TEXT NOT NULL,
    blocked BOOLEAN NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    CONSTRAINT uq_users_email_normalized UNIQUE (issuer_id, email_normalized),
    CONSTRAINT uq_users_username UNIQUE (issuer_id, username)
);
CREATE INDEX ix_users_issuer ON users (issuer_id, id);

CREATE TABLE signing_keys (
    id BLOB PRIMARY KEY,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    algorithm TEXT NOT NULL,
    state TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    private_key_sealed BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_signing_keys_issuer ON signing_keys (issuer_id, id);

-- The outbox and audit trail: one row per event, written in the transaction of its change.
CREATE TABLE events (
    id BLOB PRIMARY KEY,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    subject TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    occurred_at INTEGER NOT NULL
);
CREATE INDEX ix_events_issuer ON events (issuer_id, id);

-- Single-use artefacts (codes, links), stored under the SHA-256 of their secret.
CREATE TABLE tickets (
    id BLOB PRIMARY KEY,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    consumed_at INTEGER,
    created_at INTEGER NOT NULL,
    CONSTRAINT uq_tickets_secret_hash UNIQUE (issuer_id, kind, secret_hash)
);
