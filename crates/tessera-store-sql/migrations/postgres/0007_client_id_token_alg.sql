-- The algorithm a client's ID tokens are signed with (OIDC Dynamic Client Registration 1.0 §2
-- `id_token_signed_response_alg`). Keep in step with ../sqlite/0007_client_id_token_alg.sql.
-- NULL, as for every existing client: the issuer's signing algorithm. Otherwise the JOSE name
-- (`ES256`, `RS256`, `EdDSA`) of tessera_model::KeyAlgorithm.

ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT;
