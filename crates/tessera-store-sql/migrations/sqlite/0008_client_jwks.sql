-- The public keys of a private_key_jwt client (OIDC Core §9, RFC 7523 §2.2): a JWK Set
-- (RFC 7517 §5) as canonical JSON text, written by tessera_crypto::jwk::PublicJwkSet when the
-- keys were registered. Keep in step with ../postgres/0008_client_jwks.sql.
-- NULL for every other client. Public keys are not secrets: stored in clear.
-- The used jti values of client assertions reuse the tickets table (kind client_assertion).

ALTER TABLE clients ADD COLUMN jwks TEXT;
