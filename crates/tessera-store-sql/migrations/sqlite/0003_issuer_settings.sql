-- Issuer settings (issues 3 and 5). Keep in step with ../postgres/0003_issuer_settings.sql.
-- Existing issuers get the defaults of tessera_model::IssuerSettings: access and ID tokens
-- live an hour, refresh tokens thirty days, keys are ES256, sign-up is open. Lifetimes are
-- seconds; the allowed email domains are a JSON list of lowercase DNS names.

ALTER TABLE issuers ADD COLUMN access_token_lifetime INTEGER NOT NULL DEFAULT 3600;
ALTER TABLE issuers ADD COLUMN id_token_lifetime INTEGER NOT NULL DEFAULT 3600;
ALTER TABLE issuers ADD COLUMN refresh_token_lifetime INTEGER NOT NULL DEFAULT 2592000;
ALTER TABLE issuers ADD COLUMN signing_algorithm TEXT NOT NULL DEFAULT 'ES256';
ALTER TABLE issuers ADD COLUMN signup_policy TEXT NOT NULL DEFAULT 'open';
ALTER TABLE issuers ADD COLUMN signup_allowed_domains TEXT NOT NULL DEFAULT '[]';
