-- Leases on background jobs, and the indexes the expiry sweep reads (issue 7). Keep in step
-- with ../sqlite/0012_job_leases.sql.
--
-- `job_leases`: one row per background job that must not run on two nodes at once (expiry
-- clean-up, event retention). A node takes or renews a lease with one conditional upsert that
-- succeeds only if the row is absent, expired, or already its own; a node that dies holding
-- one blocks the job only until `expires_at`.
--
-- The sweep deletes expired rows across all issuers in batches, oldest first, so each table it
-- sweeps gets an index on `expires_at` (interactions and idempotency keys have one). The sweep
-- deletes expired sessions while token families may still name them in `session_id` (a plain
-- reference, see 0006): a session is no longer deleted only with its user.

CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX ix_tickets_expires ON tickets (expires_at);
CREATE INDEX ix_sessions_expires ON sessions (expires_at);
CREATE INDEX ix_token_families_expires ON token_families (expires_at);
CREATE INDEX ix_opaque_access_tokens_expires ON opaque_access_tokens (expires_at);
