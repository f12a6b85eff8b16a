-- Scheduled key rotation (issue 7). Keep in step with ../postgres/0013_key_rotation.sql.
--
-- `issuers.key_rotation_days`: how many days a key signs before the housekeeping job rotates
-- the issuer's keys (1 to 3650); NULL, the default, rotates only through the Core API. The job
-- asks for the issuers whose current key became current (`signing_keys.updated_at`) longer ago
-- than that. Both periodic jobs that read issuers (this one and event retention) read only
-- the issuers that set their period, through the partial indexes below, not every issuer.

ALTER TABLE issuers ADD COLUMN key_rotation_days INTEGER;

CREATE INDEX ix_issuers_key_rotation ON issuers (id) WHERE key_rotation_days IS NOT NULL;
CREATE INDEX ix_issuers_event_retention ON issuers (id) WHERE event_retention_days IS NOT NULL;
