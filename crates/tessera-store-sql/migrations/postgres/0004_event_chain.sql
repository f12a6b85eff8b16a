-- The tamper-evident chain over each issuer's events (issue 6). Keep in step with
-- ../sqlite/0004_event_chain.sql. `seq` numbers an issuer's events 1, 2, …; `prev_hash` is
-- the previous event's `hash` (32 zero bytes for seq 1); `hash` is SHA-256 over `prev_hash`
-- and the event's canonical encoding (tessera_model::ChainFields). The columns are nullable
-- only because SQLite cannot add a NOT NULL column without a default: every event written
-- since this migration has them, and `tessera audit verify` reports a row without them.

ALTER TABLE events ADD COLUMN seq BIGINT;
ALTER TABLE events ADD COLUMN prev_hash BYTEA;
ALTER TABLE events ADD COLUMN hash BYTEA;
CREATE UNIQUE INDEX uq_events_seq ON events (issuer_id, seq);
