//! The endpoints that take a token back: userinfo (OIDC Core §5.3), introspection (RFC 7662)
//! and revocation (RFC 7009).
//!
//! A client sees only its own tokens: introspecting another client's token answers
//! `{"active": false}` exactly as for an unknown one (RFC 7662 §2.2, §4: the server may decide
//! which tokens a caller may learn about), and revoking it does nothing. Resource servers that
//! introspect tokens issued to others arrive with resource servers.

use serde_json::{Map, Value, json};
use tessera_crypto::SecretHash;
use tessera_model::{ClientType, FamilyId, Issuer, UserId};
use tessera_oauth::{ClientAuth, OAuthError, Scope, TokenReference, TokenTypeHint, paths};
use tessera_store::IssuerScope;

use crate::Core;
use crate::grant::user_claims;
use crate::token::{FAMILY_CLAIM, internal, is_opaque};

/// What a token of this issuer is, when the caller may know.
enum Found {
    Access(Map<String, Value>),
    Refresh(Map<String, Value>, FamilyId),
}

impl Core {
    /// OIDC Core §5.3: the claims about the user an access token with `openid` releases.
    pub async fn userinfo(&self, issuer: &Issuer, token: &str) -> Result<Value, OAuthError> {
        let claims = self.verify_access_token(issuer, token).await?;
        let scope = claims
            .get("scope")
            .and_then(Value::as_str)
            .map(Scope::parse)
            .transpose()
            .map_err(|_| OAuthError::invalid_token("The access token is invalid."))?
            .unwrap_or_else(Scope::empty);
        // RFC 6750 §3.1: a valid token without the scope the resource needs.
        if !scope.contains("openid") {
            return Err(OAuthError::insufficient_scope(
                "The access token lacks the openid scope.",
            ));
        }
        let user = claims
            .get("sub")
            .and_then(Value::as_str)
            .and_then(|sub| UserId::parse(sub).ok())
            .ok_or_else(|| {
                OAuthError::invalid_token("The access token was not issued for a user.")
            })?;
        let user = self
            .usable_user(issuer, user)
            .await
            .map_err(internal)?
            .ok_or_else(|| OAuthError::invalid_token("The user can no longer sign in."))?;
        let mut body = user_claims(&user, &scope);
        body.insert("sub".to_owned(), json!(user.id.to_string()));
        Ok(Value::Object(body))
    }

    /// RFC 7662: what the authenticated client may learn about a token.
    pub async fn introspect(
        &self,
        issuer: &Issuer,
        auth: &ClientAuth,
        reference: &TokenReference,
    ) -> Result<Value, OAuthError> {
        let client = self
            .authenticate_client(issuer, auth, paths::INTROSPECT)
            .await?;
        if client.client_type != ClientType::Confidential {
            // RFC 7662 §2.1: the endpoint requires authorization; a public client has none.
            return Err(OAuthError::invalid_client(
                "Only confidential clients may introspect tokens.",
            ));
        }
        let inactive = json!({ "active": false });
        let Some(found) = self.find_token(issuer, reference).await? else {
            return Ok(inactive);
        };
        let (mut claims, token_type) = match found {
            Found::Access(claims) => (claims, "Bearer"),
            Found::Refresh(claims, _) => (claims, "refresh_token"),
        };
        if claims.get("client_id").and_then(Value::as_str) != Some(client.id.to_string().as_str()) {
            return Ok(inactive);
        }
        claims.remove(FAMILY_CLAIM);
        claims.insert("active".to_owned(), json!(true));
        claims.insert("token_type".to_owned(), json!(token_type));
        Ok(Value::Object(claims))
    }

    /// RFC 7009: revokes a token of the authenticated client. Revoking any token of a user
    /// grant revokes its whole family. Unknown tokens, and other clients' tokens, are
    /// answered the same way (§2.2: "invalid tokens do not cause an error").
    pub async fn revoke(
        &self,
        issuer: &Issuer,
        auth: &ClientAuth,
        reference: &TokenReference,
    ) -> Result<(), OAuthError> {
        let client = self
            .authenticate_client(issuer, auth, paths::REVOKE)
            .await?;
        let Some(found) = self.find_token(issuer, reference).await? else {
            return Ok(());
        };
        let (claims, family) = match found {
            Found::Refresh(claims, family) => (claims, Some(family)),
            Found::Access(claims) => {
                let family = claims
                    .get(FAMILY_CLAIM)
                    .and_then(Value::as_str)
                    .and_then(|f| FamilyId::parse(f).ok());
                (claims, family)
            }
        };
        if claims.get("client_id").and_then(Value::as_str) != Some(client.id.to_string().as_str()) {
            return Ok(());
        }
        if let Some(family) = family {
            self.revoke_family(issuer, family).await.map_err(internal)?;
        } else if is_opaque(&reference.token) {
            // A client-credentials token: an opaque one is revoked by itself; a JWT is
            // self-contained and lapses at `exp`.
            let hash = SecretHash::of(&reference.token);
            self.store
                .tokens()
                .revoke_access(IssuerScope::of(issuer), hash.as_bytes(), self.clock.now())
                .await
                .map_err(internal)?;
        }
        Ok(())
    }

    /// Finds an active token of this issuer, trying the hinted type first (RFC 7662 §2.1,
    /// RFC 7009 §2.1: the hint is only an optimisation).
    async fn find_token(
        &self,
        issuer: &Issuer,
        reference: &TokenReference,
    ) -> Result<Option<Found>, OAuthError> {
        if reference.hint == Some(TokenTypeHint::RefreshToken)
            && let Some(found) = self.find_refresh_token(issuer, &reference.token).await?
        {
            return Ok(Some(found));
        }
        if let Ok(claims) = self.verify_access_token(issuer, &reference.token).await {
            return Ok(Some(Found::Access(claims)));
        }
        if reference.hint != Some(TokenTypeHint::RefreshToken) {
            return self.find_refresh_token(issuer, &reference.token).await;
        }
        Ok(None)
    }

    async fn find_refresh_token(
        &self,
        issuer: &Issuer,
        token: &str,
    ) -> Result<Option<Found>, OAuthError> {
        let scope = IssuerScope::of(issuer);
        let now = self.clock.now();
        let hash = SecretHash::of(token);
        let Some(refresh) = self
            .store
            .tokens()
            .find_refresh(scope, hash.as_bytes())
            .await
            .map_err(internal)?
        else {
            return Ok(None);
        };
        if refresh.used_at.is_some() || refresh.expires_at <= now {
            return Ok(None);
        }
        let Some(family) = self
            .store
            .tokens()
            .find_family(scope, refresh.family_id)
            .await
            .map_err(internal)?
            .filter(|f| f.is_active(now))
        else {
            return Ok(None);
        };
        let mut claims = Map::new();
        claims.insert("iss".to_owned(), json!(self.issuer_url(issuer)));
        claims.insert("sub".to_owned(), json!(family.user_id.to_string()));
        claims.insert("client_id".to_owned(), json!(family.client_id.to_string()));
        claims.insert("scope".to_owned(), json!(family.scopes.join(" ")));
        claims.insert("iat".to_owned(), json!(refresh.created_at.0));
        claims.insert("exp".to_owned(), json!(refresh.expires_at.0));
        Ok(Some(Found::Refresh(claims, family.id)))
    }
}
