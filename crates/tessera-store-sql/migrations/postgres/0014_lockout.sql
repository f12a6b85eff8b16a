-- Brute-force protection of the sign-in page (issue 5). Keep in step with
-- ../sqlite/0014_lockout.sql.
--
-- The issuer's policy: failures in a row that lock an account, how long a lock lasts (and how
-- long a count is remembered), and failures that lock a network address.
--
-- `sign_in_failures` counts failed sign-ins per subject: the SHA-256 of the identifier typed
-- ("account:<lowercased identifier>") or of the network address ("address:<ip or /64>"). An
-- identifier is counted whether or not an account has it, so a lock says nothing about which
-- accounts exist; hashing keeps typed identifiers (often mistyped addresses) out of the
-- database. Rows are shared by every node, so a lock holds across the cluster; the expiry
-- sweep removes rows whose last failure is older than a day (the longest lock).

ALTER TABLE issuers ADD COLUMN lockout_max_failures BIGINT NOT NULL DEFAULT 5;
ALTER TABLE issuers ADD COLUMN lockout_seconds BIGINT NOT NULL DEFAULT 900;
ALTER TABLE issuers ADD COLUMN lockout_address_max_failures BIGINT NOT NULL DEFAULT 50;

CREATE TABLE sign_in_failures (
    issuer_id UUID NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    subject BYTEA NOT NULL,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    PRIMARY KEY (issuer_id, subject)
);

CREATE INDEX ix_sign_in_failures_last_failure_at ON sign_in_failures (last_failure_at);
