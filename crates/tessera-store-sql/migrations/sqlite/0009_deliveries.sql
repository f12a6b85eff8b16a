-- Outbound deliveries (OpenID Back-Channel Logout now, webhook events with issue #6) and the
-- client fields of back-channel logout. Keep in step with ../postgres/0009_deliveries.sql.
--
-- One durable queue for every outbound call, written in the transaction of the change that
-- causes it. The worker claims due rows with a lease (`lease_owner`, `lease_until`), so any
-- node may run it and no row is attempted twice at once; `attempts` counts claims.
-- `payload` is JSON text: what is needed to build the request at send time. `state` is
-- `pending`, `delivered` or `dead`. The client reference is a composite foreign key, as
-- from 0006 on, so a delivery cannot point into another issuer; deleting the issuer or the
-- client drops its deliveries.

CREATE TABLE deliveries (
    id BLOB PRIMARY KEY,
    issuer_id BLOB NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    client_id BLOB,
    target_url TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    FOREIGN KEY (issuer_id, client_id) REFERENCES clients (issuer_id, id) ON DELETE CASCADE
);
-- The worker's question: which pending rows are due?
CREATE INDEX ix_deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX ix_deliveries_issuer ON deliveries (issuer_id, id);
CREATE INDEX ix_deliveries_client ON deliveries (issuer_id, client_id);

-- OpenID Connect Back-Channel Logout 1.0 §2.2 client metadata. NULL: no back-channel logout.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;
