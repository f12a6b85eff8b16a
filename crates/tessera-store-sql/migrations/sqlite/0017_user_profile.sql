-- The profile a user edits in the account portal (issue 5): a picture URL and a language
-- (BCP 47), beside the names the users table already has. Keep in step with
-- ../postgres/0017_user_profile.sql.

ALTER TABLE users ADD COLUMN picture TEXT;
ALTER TABLE users ADD COLUMN locale TEXT;
