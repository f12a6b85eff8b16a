-- Webhook subscriptions of an issuer (issue 6). Keep in step with ../sqlite/0005_webhooks.sql.
-- `event_types` is a JSON list of exact types and `prefix.*` wildcards; `secret_sealed` is the
-- signing secret sealed with the master key (it is needed in clear to sign, so it is not
-- hashed); `failing` is set when deliveries are dead-lettered.

CREATE TABLE webhooks (
    id UUID PRIMARY KEY,
    issuer_id UUID NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    secret_sealed BYTEA NOT NULL,
    failing BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX ix_webhooks_issuer ON webhooks (issuer_id, id);
