-- Webhook event deliveries, request context on events, and event retention (issue 6). Keep in
-- step with ../sqlite/0011_webhook_deliveries.sql.
--
-- `deliveries.webhook_id`: the subscription a webhook delivery is for; deleting the webhook
-- drops its deliveries. (A column-level reference, as on SQLite, which cannot add a composite
-- one; the store writes a webhook's deliveries under the webhook's own issuer.)
--
-- `events.ip`, `user_agent`, `request_id`: the request that caused the event, NULL for work
-- outside a request. Covered by the chain hash when present (tessera_model::ChainFields).
--
-- `event_chain_anchors`: when retention removes an issuer's oldest events, the last removed
-- link (`seq`, `hash`) is kept here, so the chain still starts from a known hash and
-- `tessera audit verify` can tell a pruned beginning from a removed event.
--
-- `issuers.event_retention_days`: how long the issuer's events (and finished deliveries) are
-- kept; NULL keeps them for ever.

ALTER TABLE deliveries ADD COLUMN webhook_id UUID REFERENCES webhooks (id) ON DELETE CASCADE;
CREATE INDEX ix_deliveries_webhook ON deliveries (webhook_id, id);

ALTER TABLE events ADD COLUMN ip TEXT;
ALTER TABLE events ADD COLUMN user_agent TEXT;
ALTER TABLE events ADD COLUMN request_id TEXT;

CREATE TABLE event_chain_anchors (
    issuer_id UUID PRIMARY KEY REFERENCES issuers (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);

ALTER TABLE issuers ADD COLUMN event_retention_days BIGINT;
