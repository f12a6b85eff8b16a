//! The token endpoint's decisions (RFC 6749 §3.2, §4.4) and the verification of the access
//! tokens Tessera issues (RFC 9068), including those that authorise the Core API.
//!
//! The hot path: the client is looked up by id, its high-entropy secret checked with SHA-256
//! and a constant-time compare (never a password hash, DESIGN.md §7), the claims assembled and
//! signed with the issuer's cached key. A `private_key_jwt` client instead presents an
//! assertion signed with its private key, verified with the public keys parsed when the client
//! was cached; its `jti` is recorded once (one write per assertion, by necessity).
//!
//! An access token is a JWT (RFC 9068) unless its client asked for opaque ones
//! ([`AccessTokenFormat`]): then it is a random [`SecretToken`] stored as its hash beside the
//! claims the JWT would have carried, and [`Core::verify_access_token`] answers for both, so
//! userinfo, introspection and revocation do not care which form they were shown. The two
//! cannot be confused: a compact JWS always has two dots, a `SecretToken` none.

use serde_json::{Map, Value, json};
use tessera_crypto::jwk::PublicJwkSet;
use tessera_crypto::{SecretHash, SecretToken, jws, sha256};
use tessera_model::{
    AccessTokenFormat, Client, ClientId, ClientType, FamilyId, Issuer, IssuerSlug,
    OpaqueAccessToken, Ticket, TicketId, TicketKind, UnixTime,
};
use tessera_oauth::{
    ClientAuth, OAuthError, Scope, TokenRequest, TokenResponse, check_client_assertion_claims,
    paths,
};
use tessera_store::{IssuerScope, StoreError};

use crate::{Core, CoreError, LoadedClient};

/// The JOSE `typ` of access tokens (RFC 9068 §2.1).
pub(crate) const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The private claim that names the token family a user's access token belongs to, so that
/// revoking the family reaches the access token too.
pub const FAMILY_CLAIM: &str = "tessera_family";

/// The private claim that restricts a Core API token to some issuers.
pub const ISSUERS_CLAIM: &str = "tessera_issuers";

/// Turns a failure below the protocol into the protocol's words: the database away is
/// `temporarily_unavailable` (RFC 6749 §4.1.2.1), anything else `server_error`. The cause is
/// logged, never sent.
pub fn internal(error: impl Into<CoreError>) -> OAuthError {
    match error.into() {
        CoreError::Store(e) if e.is_unavailable() => {
            tracing::warn!(error = %e, "storage unavailable at an OAuth endpoint");
            OAuthError::temporarily_unavailable(
                "The service is temporarily unavailable; retry shortly.",
            )
        }
        other => {
            tracing::error!(error = %other, "OAuth endpoint failure");
            OAuthError::server_error("An internal error occurred.")
        }
    }
}

fn client_authentication_failed() -> OAuthError {
    // RFC 6749 §5.2: unknown client, wrong secret and wrong method all look alike.
    OAuthError::invalid_client("Client authentication failed.")
}

/// A verified Core API caller: who it is and what its token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreCaller {
    /// The admin client.
    pub client_id: ClientId,
    /// The granted scope (`None`: the token carries none).
    pub scope: Option<Scope>,
    /// The issuers the caller may see (`None`: all).
    pub issuers: Option<Vec<IssuerSlug>>,
}

impl CoreCaller {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.as_ref().is_some_and(|s| s.contains(scope))
    }

    /// Whether the caller may see `issuer`. A restricted caller never sees the `system`
    /// issuer, even if named: its clients are Core API credentials, and managing them would
    /// let a restricted credential mint an unrestricted one.
    pub fn may_see(&self, issuer: &IssuerSlug) -> bool {
        match &self.issuers {
            None => true,
            Some(allowed) => *issuer != IssuerSlug::system() && allowed.contains(issuer),
        }
    }
}

impl Core {
    /// Handles a parsed token request at `issuer`.
    pub async fn token(
        &self,
        issuer: &Issuer,
        auth: &ClientAuth,
        request: TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let client = self.authenticate_client(issuer, auth, paths::TOKEN).await?;
        if !client.grant_types.iter().any(|g| g == request.grant_type()) {
            return Err(OAuthError::unauthorized_client(format!(
                "This client may not use the {} grant.",
                request.grant_type()
            )));
        }
        match request {
            TokenRequest::ClientCredentials { scope } => {
                self.client_credentials(issuer, &client, scope).await
            }
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.authorization_code(
                    issuer,
                    &client,
                    &code,
                    redirect_uri.as_deref(),
                    code_verifier.as_deref(),
                )
                .await
            }
            TokenRequest::RefreshToken {
                refresh_token,
                scope,
            } => {
                self.refresh_token(issuer, &client, &refresh_token, scope)
                    .await
            }
        }
    }

    /// RFC 6749 §2.3.1 / §3.2.1: the client authenticates with the method it registered, at
    /// `endpoint` (a path of [`paths`]: the token, introspection or revocation endpoint, whose
    /// URL a client assertion may name as its audience).
    pub(crate) async fn authenticate_client(
        &self,
        issuer: &Issuer,
        auth: &ClientAuth,
        endpoint: &str,
    ) -> Result<std::sync::Arc<LoadedClient>, OAuthError> {
        let id = ClientId::parse(auth.client_id()).map_err(|_| client_authentication_failed())?;
        let client = self
            .cached_client(issuer, id)
            .await
            .map_err(internal)?
            .ok_or_else(client_authentication_failed)?;
        if client.token_endpoint_auth_method != auth.method() {
            return Err(client_authentication_failed());
        }
        let authenticated = match auth {
            ClientAuth::Basic { client_secret, .. } | ClientAuth::Post { client_secret, .. } => {
                client
                    .secret_hash
                    .is_some_and(|hash| SecretHash::from_bytes(hash).verify(client_secret))
            }
            ClientAuth::None { .. } => client.client_type == ClientType::Public,
            ClientAuth::PrivateKeyJwt { assertion, .. } => {
                let keys = client
                    .keys
                    .as_ref()
                    .ok_or_else(client_authentication_failed)?;
                self.check_client_assertion(issuer, &client, keys, assertion, endpoint)
                    .await?;
                true
            }
        };
        if authenticated {
            Ok(client)
        } else {
            Err(client_authentication_failed())
        }
    }

    /// `private_key_jwt` (RFC 7523 §3, OIDC Core §9): the signature, by a key the client
    /// registered, in an algorithm of that key (`none` and HMAC never); then the claims
    /// ([`check_client_assertion_claims`]); then the `jti`, recorded once: a ticket keyed by a
    /// hash of the client and the `jti`, kept until the assertion expires, whose insert is the
    /// one conditional statement that decides (ARCHITECTURE.md invariant 6). A replay is
    /// `invalid_client`.
    async fn check_client_assertion(
        &self,
        issuer: &Issuer,
        client: &Client,
        keys: &PublicJwkSet,
        assertion: &str,
        endpoint: &str,
    ) -> Result<(), OAuthError> {
        let verified = jws::verify_with_registered_keys(assertion, keys.keys())
            .map_err(|_| client_authentication_failed())?;
        let issuer_url = self.issuer_url(issuer);
        let endpoint_url = format!("{issuer_url}{endpoint}");
        let client_id = client.id.to_string();
        let now = self.clock.now();
        let accepted = check_client_assertion_claims(
            &verified.claims,
            &client_id,
            &[&issuer_url, &endpoint_url],
            now.0,
        )?;
        let used = Ticket {
            id: TicketId::new(),
            issuer_id: issuer.id,
            kind: TicketKind::ClientAssertion,
            // The client id has no NUL, so the pair is read back one way only.
            secret_hash: sha256(format!("{client_id}\0{}", accepted.jti).as_bytes()),
            subject: client_id,
            payload: json!({}),
            expires_at: UnixTime(accepted.remember_until),
            consumed_at: Some(now),
            created_at: now,
        };
        match self
            .store
            .tickets()
            .create(IssuerScope::of(issuer), &used)
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::AlreadyExists { .. }) => Err(OAuthError::invalid_client(
                "The client assertion was already used.",
            )),
            Err(other) => Err(internal(other)),
        }
    }

    /// RFC 6749 §4.4: a confidential client obtains a token for itself.
    async fn client_credentials(
        &self,
        issuer: &Issuer,
        client: &Client,
        requested: Option<Scope>,
    ) -> Result<TokenResponse, OAuthError> {
        if client.client_type != ClientType::Confidential {
            // RFC 6749 §4.4: "MUST only be used by confidential clients".
            return Err(OAuthError::unauthorized_client(
                "Only confidential clients may use the client_credentials grant.",
            ));
        }
        let allowed = if client.allowed_scopes.is_empty() {
            None
        } else {
            Some(Scope::from_tokens(&client.allowed_scopes).map_err(|_| {
                internal(CoreError::Invalid(
                    "a client's allowed scopes are not valid".to_owned(),
                ))
            })?)
        };
        // RFC 6749 §3.3: with no scope requested, the default is every allowed scope.
        let granted = match (requested, allowed) {
            (None, allowed) => allowed,
            (Some(requested), Some(allowed)) if requested.is_subset_of(&allowed) => Some(requested),
            (Some(_), _) => {
                return Err(OAuthError::invalid_scope(
                    "The requested scope includes scopes this client may not request.",
                ));
            }
        };
        let issuer_url = self.issuer_url(issuer);
        let audience = if issuer.slug == IssuerSlug::system() {
            self.core_api_url()
        } else {
            issuer_url.clone()
        };
        // The client's or the issuer's setting, checked against its bounds when it was set.
        let lifetime = client
            .token_settings
            .access_token_lifetime(&issuer.settings);
        let now = self.clock.now().0;
        let mut claims = json!({
            "iss": issuer_url,
            "sub": client.id.to_string(),
            "aud": audience,
            "client_id": client.id.to_string(),
            "iat": now,
            "exp": now + lifetime,
            "jti": crate::grant::new_jti(),
        });
        if let Some(granted) = &granted {
            claims["scope"] = json!(granted.to_string());
        }
        if let Some(issuers) = &client.allowed_issuers {
            let slugs: Vec<&str> = issuers.iter().map(IssuerSlug::as_str).collect();
            claims[ISSUERS_CLAIM] = json!(slugs);
        }
        let token = self
            .issue_access_token(issuer, client, claims, None)
            .await?;
        let mut response = TokenResponse::bearer(token, lifetime.unsigned_abs());
        response.scope = granted;
        Ok(response)
    }

    /// The access token carrying `claims` (with their `exp`), in the client's format: signed
    /// with the issuer's key, or stored by its hash with `family` so that revoking the family
    /// revokes it.
    pub(crate) async fn issue_access_token(
        &self,
        issuer: &Issuer,
        client: &Client,
        claims: Value,
        family: Option<FamilyId>,
    ) -> Result<String, OAuthError> {
        match client.token_settings.access_token_format() {
            AccessTokenFormat::Jwt => {
                let keys = self.issuer_keys(issuer).await.map_err(internal)?;
                keys.signer()
                    .sign(ACCESS_TOKEN_TYPE, &claims)
                    .map_err(|e| internal(CoreError::Invalid(e.to_string())))
            }
            AccessTokenFormat::Opaque => {
                let token = SecretToken::generate();
                let expires_at = claims
                    .get("exp")
                    .and_then(Value::as_i64)
                    .map(UnixTime)
                    .ok_or_else(|| internal(CoreError::Invalid("claims without exp".into())))?;
                let row = OpaqueAccessToken {
                    secret_hash: *token.hash().as_bytes(),
                    issuer_id: issuer.id,
                    family_id: family,
                    client_id: client.id,
                    claims,
                    expires_at,
                    revoked_at: None,
                };
                self.store
                    .tokens()
                    .create_access(IssuerScope::of(issuer), &row)
                    .await
                    .map_err(internal)?;
                Ok(token.expose().to_owned())
            }
        }
    }

    /// Verifies an access token this issuer signed: the signature with a published key, the
    /// `typ`, `iss` and `exp` (RFC 9068 §4), and, for a user's token, that its family was not
    /// revoked. Returns the claims; every failure is the same `invalid_token` (RFC 6750 §3.1).
    pub async fn verify_access_token(
        &self,
        issuer: &Issuer,
        token: &str,
    ) -> Result<Map<String, Value>, OAuthError> {
        let invalid = || OAuthError::invalid_token("The access token is invalid or expired.");
        let now = self.clock.now();
        let claims = if is_opaque(token) {
            let row = self
                .store
                .tokens()
                .find_access(IssuerScope::of(issuer), SecretHash::of(token).as_bytes())
                .await
                .map_err(internal)?
                .filter(|row| row.revoked_at.is_none() && row.expires_at > now)
                .ok_or_else(invalid)?;
            match row.claims {
                Value::Object(claims) => claims,
                _ => return Err(invalid()),
            }
        } else {
            let keys = self.issuer_keys(issuer).await.map_err(internal)?;
            let verified = jws::verify(token, keys.verifying_keys().map_err(internal)?)
                .map_err(|_| invalid())?;
            if verified.header.get("typ").and_then(Value::as_str) != Some(ACCESS_TOKEN_TYPE) {
                return Err(invalid());
            }
            verified.claims
        };
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer_url(issuer).as_str()) {
            return Err(invalid());
        }
        let expires = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(invalid)?;
        if expires <= now.0 {
            return Err(invalid());
        }
        if let Some(family) = claims.get(FAMILY_CLAIM) {
            let family = family
                .as_str()
                .and_then(|f| FamilyId::parse(f).ok())
                .ok_or_else(invalid)?;
            let active = self
                .store
                .tokens()
                .find_family(IssuerScope::of(issuer), family)
                .await
                .map_err(internal)?
                .is_some_and(|f| f.is_active(now));
            if !active {
                return Err(invalid());
            }
        }
        Ok(claims)
    }

    /// Verifies a Core API bearer token: an access token of the `system` issuer, for the Core
    /// API audience, not expired. RFC 6750 §3.1 `invalid_token` otherwise.
    pub async fn authenticate_core_token(&self, token: &str) -> Result<CoreCaller, OAuthError> {
        let invalid = || OAuthError::invalid_token("The access token is invalid or expired.");
        let system = self
            .issuer_by_slug(&IssuerSlug::system())
            .await
            .map_err(internal)?
            .ok_or_else(|| internal(CoreError::Store(StoreError::NotFound)))?;
        let claims = self.verify_access_token(&system, token).await?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if !has_audience(&claims, &self.core_api_url()) {
            return Err(invalid());
        }
        let client_id = text("client_id")
            .and_then(|id| ClientId::parse(id).ok())
            .ok_or_else(invalid)?;
        let scope = text("scope")
            .map(|scope| Scope::parse(scope).map_err(|_| invalid()))
            .transpose()?;
        let issuers = match claims.get(ISSUERS_CLAIM) {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|v| v.as_str().and_then(|s| IssuerSlug::parse(s).ok()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(invalid)?,
            ),
            Some(_) => return Err(invalid()),
        };
        Ok(CoreCaller {
            client_id,
            scope,
            issuers,
        })
    }
}

/// Whether a presented access token is an opaque reference rather than a compact JWS
/// (RFC 7515 §7.1: three parts joined by dots).
pub(crate) fn is_opaque(token: &str) -> bool {
    !token.contains('.')
}

/// RFC 7519 §4.1.3: `aud` is a string or an array of strings.
pub(crate) fn has_audience(claims: &Map<String, Value>, audience: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tessera_model::{FixedClock, IssuerSlug};
    use tessera_oauth::{ClientAuth, ErrorCode, Scope, TokenRequest};

    use crate::Core;
    use crate::issuers::{IssuerPatch, SettingsPatch};

    struct Fixture {
        core: Core,
        clock: Arc<FixedClock>,
        _db: tessera_store::contract::TestStore,
    }

    async fn fixture() -> Fixture {
        let (core, clock, db) = crate::test_core().await;
        Fixture {
            core,
            clock,
            _db: db,
        }
    }

    fn basic(id: &str, secret: &str) -> ClientAuth {
        ClientAuth::Basic {
            client_id: id.to_owned(),
            client_secret: secret.to_owned(),
        }
    }

    fn credentials(scope: Option<&str>) -> TokenRequest {
        TokenRequest::ClientCredentials {
            scope: scope.map(|s| Scope::parse(s).unwrap()),
        }
    }

    #[tokio::test]
    async fn a_core_api_credential_gets_a_token_the_core_api_accepts_until_it_expires() {
        let f = fixture().await;
        let builtin = f.core.ensure_builtin_issuers().await.unwrap();
        let credential = f
            .core
            .create_admin_credential("ci", &[IssuerSlug::default_issuer()])
            .await
            .unwrap();
        let auth = basic(
            &credential.client_id.to_string(),
            credential.client_secret.expose(),
        );

        let response = f
            .core
            .token(&builtin.system, &auth, credential_request())
            .await
            .unwrap();
        assert_eq!(response.expires_in, 3600);
        assert_eq!(
            response.scope.as_ref().unwrap().to_string(),
            "core:read core:write"
        );
        let caller = f
            .core
            .authenticate_core_token(&response.access_token)
            .await
            .unwrap();
        assert_eq!(caller.client_id, credential.client_id);
        assert!(caller.has_scope("core:write"));
        assert_eq!(caller.issuers, Some(vec![IssuerSlug::default_issuer()]));
        assert!(caller.may_see(&IssuerSlug::default_issuer()));
        assert!(!caller.may_see(&IssuerSlug::parse("other").unwrap()));

        let narrow = f
            .core
            .token(&builtin.system, &auth, credentials(Some("core:read")))
            .await
            .unwrap();
        let caller = f
            .core
            .authenticate_core_token(&narrow.access_token)
            .await
            .unwrap();
        assert!(!caller.has_scope("core:write"));

        f.clock
            .advance(builtin.system.settings.access_token_lifetime() - 1);
        assert!(
            f.core
                .authenticate_core_token(&response.access_token)
                .await
                .is_ok()
        );
        f.clock.advance(1);
        let expired = f
            .core
            .authenticate_core_token(&response.access_token)
            .await
            .unwrap_err();
        assert_eq!(expired.code, ErrorCode::InvalidToken);
    }

    fn credential_request() -> TokenRequest {
        credentials(None)
    }

    #[tokio::test]
    async fn wrong_secrets_methods_and_unknown_clients_are_all_invalid_client() {
        let f = fixture().await;
        let builtin = f.core.ensure_builtin_issuers().await.unwrap();
        let credential = f.core.create_admin_credential("ci", &[]).await.unwrap();
        let id = credential.client_id.to_string();
        let secret = credential.client_secret.expose().to_owned();
        for auth in [
            basic(&id, "wrong"),
            basic("cli_00000000000000000000000000000000", &secret),
            basic("not-an-id", &secret),
            ClientAuth::Post {
                client_id: id.clone(),
                client_secret: secret.clone(),
            },
            ClientAuth::None {
                client_id: id.clone(),
            },
        ] {
            let err = f
                .core
                .token(&builtin.system, &auth, credential_request())
                .await
                .unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidClient, "{auth:?}");
        }
        // The same client does not exist at another issuer (tenant isolation).
        let err = f
            .core
            .token(&builtin.default, &basic(&id, &secret), credential_request())
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidClient);
        // A scope beyond what the client may request.
        let err = f
            .core
            .token(
                &builtin.system,
                &basic(&id, &secret),
                credentials(Some("core:read admin")),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
    }

    #[tokio::test]
    async fn tokens_of_other_issuers_or_types_do_not_open_the_core_api() {
        let f = fixture().await;
        let builtin = f.core.ensure_builtin_issuers().await.unwrap();
        // A token signed by the default issuer's key, otherwise shaped like a Core API token.
        let keys = f.core.issuer_keys(&builtin.default).await.unwrap();
        let claims = serde_json::json!({
            "iss": f.core.issuer_url(&builtin.system), "aud": f.core.core_api_url(),
            "exp": 4_000_000_000i64, "client_id": "cli_00000000000000000000000000000000",
        });
        let foreign = keys.signer().sign("at+jwt", &claims).unwrap();
        assert_eq!(
            f.core
                .authenticate_core_token(&foreign)
                .await
                .unwrap_err()
                .code,
            ErrorCode::InvalidToken
        );
        // The system key, but an ID-token typ.
        let system_keys = f.core.issuer_keys(&builtin.system).await.unwrap();
        let id_token = system_keys.signer().sign("JWT", &claims).unwrap();
        assert_eq!(
            f.core
                .authenticate_core_token(&id_token)
                .await
                .unwrap_err()
                .code,
            ErrorCode::InvalidToken
        );
        // The system key and typ, but the wrong audience.
        let mut wrong_aud = claims.clone();
        wrong_aud["aud"] = serde_json::json!("https://elsewhere");
        let token = system_keys.signer().sign("at+jwt", &wrong_aud).unwrap();
        assert_eq!(
            f.core
                .authenticate_core_token(&token)
                .await
                .unwrap_err()
                .code,
            ErrorCode::InvalidToken
        );
        assert!(
            f.core
                .authenticate_core_token(&system_keys.signer().sign("at+jwt", &claims).unwrap())
                .await
                .is_ok()
        );
        assert_eq!(
            f.core
                .authenticate_core_token("garbage")
                .await
                .unwrap_err()
                .code,
            ErrorCode::InvalidToken
        );
    }

    #[tokio::test]
    async fn access_tokens_live_as_long_as_their_issuer_says() {
        let f = fixture().await;
        let builtin = f.core.ensure_builtin_issuers().await.unwrap();
        let credential = f.core.create_admin_credential("ci", &[]).await.unwrap();
        let caller = super::CoreCaller {
            client_id: credential.client_id,
            scope: None,
            issuers: None,
        };
        let patch = IssuerPatch {
            settings: SettingsPatch {
                access_token_lifetime: Some(300),
                ..SettingsPatch::default()
            },
            ..IssuerPatch::default()
        };
        let system = f
            .core
            .update_issuer(&caller, &builtin.system, None, patch)
            .await
            .unwrap();
        let auth = basic(
            &credential.client_id.to_string(),
            credential.client_secret.expose(),
        );
        let response = f
            .core
            .token(&system, &auth, credential_request())
            .await
            .unwrap();
        assert_eq!(response.expires_in, 300);
        f.clock.advance(299);
        assert!(
            f.core
                .authenticate_core_token(&response.access_token)
                .await
                .is_ok()
        );
        f.clock.advance(1);
        assert_eq!(
            f.core
                .authenticate_core_token(&response.access_token)
                .await
                .unwrap_err()
                .code,
            ErrorCode::InvalidToken
        );
    }
}
