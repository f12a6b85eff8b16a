-- A client's own token settings (issue 4): the form of its access tokens and lifetimes that
-- override the issuer's. Keep in step with ../sqlite/0010_client_token_settings.sql.
-- `access_token_format` is `jwt` (RFC 9068, the default for every existing client) or `opaque`;
-- a NULL lifetime (in seconds) follows the issuer's setting.

ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'jwt';
ALTER TABLE clients ADD COLUMN access_token_lifetime BIGINT;
ALTER TABLE clients ADD COLUMN id_token_lifetime BIGINT;
ALTER TABLE clients ADD COLUMN refresh_token_lifetime BIGINT;
