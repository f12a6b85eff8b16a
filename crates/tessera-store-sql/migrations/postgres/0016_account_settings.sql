-- Password policy and account settings of an issuer (issue 5). Keep in step with
-- ../sqlite/0016_account_settings.sql.
--
-- The password policy: the fewest and the most characters (Unicode scalar values) a password
-- may have, and the least zxcvbn strength score (0 to 4) it needs. Whether a new account
-- must verify its email address before it signs in, and whether people may delete their own
-- accounts. The defaults are the model's (IssuerSettings::default), so every existing issuer
-- gets them.

ALTER TABLE issuers ADD COLUMN password_min_length BIGINT NOT NULL DEFAULT 8;
ALTER TABLE issuers ADD COLUMN password_max_length BIGINT NOT NULL DEFAULT 1024;
ALTER TABLE issuers ADD COLUMN password_min_strength BIGINT NOT NULL DEFAULT 2;
ALTER TABLE issuers ADD COLUMN signup_require_email_verification BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE issuers ADD COLUMN allow_account_deletion BOOLEAN NOT NULL DEFAULT FALSE;
