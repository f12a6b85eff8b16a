-- Sign-in and token records (interactions, sessions, consents, token families). Keep in step
-- with ../postgres/0006_flows.sql. Bearer secrets (session cookies, refresh tokens, opaque
-- access tokens) are stored only as SHA-256 hashes (DESIGN.md §3 invariant 5); lists such as
-- `amr` and `scopes` are JSON text.
--
-- Tenancy is enforced by the schema, not only by the queries: every reference to a user,
-- client, session or family is a composite foreign key on (issuer_id, id), so a row can never
-- point at another issuer's record. The unique indexes below exist to be the parents of those
-- keys. References cascade, so deleting an issuer, a user or a client leaves nothing of
-- theirs behind.

CREATE UNIQUE INDEX uq_users_issuer_id ON users (issuer_id, id);
CREATE UNIQUE INDEX uq_clients_issuer_id ON clients (issuer_id, id);

-- Authorization requests waiting for the user. Short-lived; `consume` deletes them.
CREATE TABLE interactions (
    id BLOB PRIMARY KEY,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    client_id BLOB NOT NULL,
    browser_hash BLOB NOT NULL,
    request TEXT NOT NULL,
    user_id BLOB,
    auth_time INTEGER,
    amr TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    FOREIGN KEY (issuer_id, client_id) REFERENCES clients (issuer_id, id) ON DELETE CASCADE,
    FOREIGN KEY (issuer_id, user_id) REFERENCES users (issuer_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_interactions_client ON interactions (issuer_id, client_id);
CREATE INDEX ix_interactions_user ON interactions (issuer_id, user_id);
CREATE INDEX ix_interactions_expires ON interactions (expires_at);

-- Browser sessions, found by id (`sid`) or by the hash of the cookie's secret.
CREATE TABLE sessions (
    id BLOB PRIMARY KEY,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL,
    secret_hash BLOB NOT NULL,
    auth_time INTEGER NOT NULL,
    amr TEXT NOT NULL,
    acr TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at INTEGER,
    CONSTRAINT uq_sessions_secret_hash UNIQUE (issuer_id, secret_hash),
    CONSTRAINT uq_sessions_issuer_id UNIQUE (issuer_id, id),
    FOREIGN KEY (issuer_id, user_id) REFERENCES users (issuer_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_sessions_user ON sessions (issuer_id, user_id, created_at);

-- The clients that received tokens from a session, for logout. `seen_order` numbers them in
-- the order they were first seen (the repository is given no time, and seconds would not
-- order two clients seen in the same one).
CREATE TABLE session_clients (
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    session_id BLOB NOT NULL,
    client_id BLOB NOT NULL,
    seen_order INTEGER NOT NULL,
    CONSTRAINT pk_session_clients PRIMARY KEY (session_id, client_id),
    FOREIGN KEY (issuer_id, session_id) REFERENCES sessions (issuer_id, id) ON DELETE CASCADE,
    FOREIGN KEY (issuer_id, client_id) REFERENCES clients (issuer_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_session_clients_client ON session_clients (issuer_id, client_id);

-- Consents: one per user and client; saving again replaces the scopes.
CREATE TABLE grants (
    id BLOB PRIMARY KEY,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL,
    client_id BLOB NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT uq_grants_user_client UNIQUE (issuer_id, user_id, client_id),
    FOREIGN KEY (issuer_id, user_id) REFERENCES users (issuer_id, id) ON DELETE CASCADE,
    FOREIGN KEY (issuer_id, client_id) REFERENCES clients (issuer_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_grants_client ON grants (issuer_id, client_id);

-- What one authorization issued. `session_id` is a plain reference, not a foreign key: ending
-- a session does not end its tokens, and a session is only ever deleted with its user, whose
-- families go too.
CREATE TABLE token_families (
    id BLOB PRIMARY KEY,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    client_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    session_id BLOB,
    scopes TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    amr TEXT NOT NULL,
    acr TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CONSTRAINT uq_token_families_issuer_id UNIQUE (issuer_id, id),
    FOREIGN KEY (issuer_id, user_id) REFERENCES users (issuer_id, id) ON DELETE CASCADE,
    FOREIGN KEY (issuer_id, client_id) REFERENCES clients (issuer_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_token_families_user_client ON token_families (issuer_id, user_id, client_id);
CREATE INDEX ix_token_families_client ON token_families (issuer_id, client_id);

-- Refresh tokens under the hash of their secret; `used_at` is set once, by rotation.
CREATE TABLE refresh_tokens (
    secret_hash BLOB NOT NULL,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    family_id BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    CONSTRAINT uq_refresh_tokens_secret_hash PRIMARY KEY (issuer_id, secret_hash),
    FOREIGN KEY (issuer_id, family_id) REFERENCES token_families (issuer_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (issuer_id, family_id);

-- Opaque access tokens under the hash of their secret, with their claims as a JSON object.
CREATE TABLE opaque_access_tokens (
    secret_hash BLOB NOT NULL,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    family_id BLOB,
    client_id BLOB NOT NULL,
    claims TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CONSTRAINT uq_opaque_access_tokens_secret_hash PRIMARY KEY (issuer_id, secret_hash),
    FOREIGN KEY (issuer_id, family_id) REFERENCES token_families (issuer_id, id) ON DELETE CASCADE,
    FOREIGN KEY (issuer_id, client_id) REFERENCES clients (issuer_id, id) ON DELETE CASCADE
);
CREATE INDEX ix_opaque_access_tokens_family ON opaque_access_tokens (issuer_id, family_id);
CREATE INDEX ix_opaque_access_tokens_client ON opaque_access_tokens (issuer_id, client_id);
