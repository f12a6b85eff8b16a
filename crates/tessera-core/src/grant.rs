//! The token endpoint's user grants: `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6)
//! and `refresh_token` (RFC 6749 §6, RFC 9700 §4.14), and what they issue.
//!
//! Everything issued from one code joins a [`TokenFamily`]: refresh tokens rotate inside it,
//! and access tokens name it (`tessera_family`), so revoking the family (a replayed code, a
//! reused refresh token, revocation, withdrawn consent) reaches every token it issued at the
//! endpoints that check tokens (userinfo, introspection).
//!
//! Rules enforced here, in order, for a code:
//! 1. the code is known, unexpired and unspent; a second presentation of a spent code is
//!    refused and revokes what the first issued (RFC 6749 §4.1.2, RFC 9700 §4.2.4);
//! 2. it was issued to the authenticating client (§4.1.3);
//! 3. `redirect_uri` repeats the authorization request's, when that named one (§4.1.3);
//! 4. PKCE: a challenge needs its verifier; no challenge refuses any verifier, which stops a
//!    downgrade (RFC 9700 §2.1.1, §4.8.2);
//! 5. the user still exists and is not blocked.
//!
//! A presentation that breaks a rule spends the code. One that passes spends it in the same
//! transaction that stores its token family (`TokenRepo::redeem_code`, one conditional
//! statement deciding the winner among concurrent presenters), after everything else that
//! reads the database: a database lost before that commit leaves the code usable for the
//! client's retry instead of spent with nothing issued.
//!
//! Refresh tokens are single use: a presented token is exchanged for a successor; presenting a
//! used one revokes its family (RFC 9700 §4.14.2). There is no grace period for a lost
//! response: a client that lost one must start a new authorization.

use serde_json::{Map, Value, json};
use tessera_crypto::{SecretHash, SecretToken, jws};
use tessera_model::{
    Actor, Client, FamilyId, Issuer, NewEvent, RefreshToken, TicketKind, TokenFamily, UnixTime,
    User,
};
use tessera_oauth::{OAuthError, Scope, TokenResponse, released_claims};
use tessera_store::{IssuerScope, Rotation, StoreError};

use crate::authorize::CodeGrant;
use crate::token::{FAMILY_CLAIM, internal};
use crate::{Core, CoreError};

fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::invalid_grant(description.to_owned())
}

fn unknown_code() -> OAuthError {
    invalid_grant("The authorization code is invalid or expired.")
}

impl Core {
    /// RFC 6749 §4.1.3: exchanges an authorization code.
    pub(crate) async fn authorization_code(
        &self,
        issuer: &Issuer,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let scope = IssuerScope::of(issuer);
        let hash = SecretHash::of(code);
        let now = self.clock.now();
        let ticket = self
            .store
            .tickets()
            .find(scope, TicketKind::AuthorizationCode, hash.as_bytes())
            .await
            .map_err(internal)?;
        let (spent, grant) = match ticket {
            Some(ticket) if ticket.consumed_at.is_some() || ticket.expires_at > now => (
                ticket.consumed_at.is_some(),
                serde_json::from_value::<CodeGrant>(ticket.payload),
            ),
            _ => return Err(unknown_code()),
        };
        if spent {
            return Err(self.code_spent(issuer, grant.ok().as_ref()).await);
        }
        let grant = grant.map_err(|e| {
            internal(CoreError::Invalid(format!(
                "a stored code is unreadable: {e}"
            )))
        })?;
        let user = match self
            .check_code(issuer, client, &grant, redirect_uri, code_verifier)
            .await
        {
            Ok(user) => user,
            Err(refusal) => {
                self.spend_refused_code(scope, hash.as_bytes(), now).await;
                return Err(refusal);
            }
        };
        let offline = grant.scope.contains("offline_access")
            && client.grant_types.iter().any(|g| g == "refresh_token");
        let family = TokenFamily {
            id: grant.family_id,
            issuer_id: issuer.id,
            client_id: client.id,
            user_id: user.id,
            session_id: grant.session_id,
            scopes: grant.scope.iter().map(str::to_owned).collect(),
            auth_time: UnixTime(grant.auth_time),
            amr: grant.amr.clone(),
            acr: tessera_oauth::acr_of(&grant.amr).map(str::to_owned),
            created_at: now,
            expires_at: now.plus_seconds(
                client
                    .token_settings
                    .refresh_token_lifetime(&issuer.settings),
            ),
            revoked_at: None,
        };
        let refresh = offline.then(SecretToken::generate);
        let refresh_row = refresh.as_ref().map(|token| RefreshToken {
            secret_hash: *token.hash().as_bytes(),
            issuer_id: issuer.id,
            family_id: family.id,
            created_at: now,
            expires_at: family.expires_at,
            used_at: None,
        });
        // The keys are read before the redemption, so that signing after it reads nothing.
        self.issuer_keys(issuer).await.map_err(internal)?;
        match self
            .store
            .tokens()
            .redeem_code(scope, hash.as_bytes(), now, &family, refresh_row.as_ref())
            .await
        {
            Ok(()) => {}
            // Another presentation won the race since the code was read.
            Err(StoreError::AlreadyConsumed) => {
                return Err(self.code_spent(issuer, Some(&grant)).await);
            }
            Err(StoreError::NotFound) => return Err(unknown_code()),
            Err(e) => return Err(internal(e)),
        }
        let mut response = self
            .user_tokens(
                issuer,
                client,
                &user,
                &family,
                &grant.scope,
                grant.nonce.as_deref(),
            )
            .await?;
        response.refresh_token = refresh.map(|t| t.expose().to_owned());
        Ok(response)
    }

    /// RFC 6749 §6: exchanges a refresh token for new tokens and its successor.
    pub(crate) async fn refresh_token(
        &self,
        issuer: &Issuer,
        client: &Client,
        presented: &str,
        requested: Option<Scope>,
    ) -> Result<TokenResponse, OAuthError> {
        let scope = IssuerScope::of(issuer);
        let hash = SecretHash::of(presented);
        let now = self.clock.now();
        let unknown = || invalid_grant("The refresh token is invalid, expired or revoked.");
        // The token must be this client's before anything changes (RFC 6749 §6: "bound to
        // the client"); another client presenting it learns nothing and rotates nothing.
        let stored = self
            .store
            .tokens()
            .find_refresh(scope, hash.as_bytes())
            .await
            .map_err(internal)?
            .ok_or_else(unknown)?;
        let family = self
            .store
            .tokens()
            .find_family(scope, stored.family_id)
            .await
            .map_err(internal)?
            .ok_or_else(unknown)?;
        if family.client_id != client.id {
            return Err(unknown());
        }
        let granted = Scope::from_tokens(&family.scopes).map_err(|_| unknown())?;
        // RFC 6749 §6: the scope may narrow, never widen.
        let scope_now = match requested {
            Some(requested) if requested.is_subset_of(&granted) => requested,
            Some(_) => {
                return Err(OAuthError::invalid_scope(
                    "The requested scope exceeds the scope originally granted.",
                ));
            }
            None => granted,
        };
        // Everything that reads or writes beside the rotation happens before it, so that the
        // rotation is the last step that can fail: a database lost before it leaves the
        // presented token usable (the client retries it after a 503), and once it commits,
        // only signing remains. Were the user read after it, a failure there would answer 503
        // with the presented token spent and its successor never delivered, and the client's
        // retry would then revoke the family as a reuse.
        let user = self
            .usable_user(issuer, family.user_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| invalid_grant("The user can no longer sign in."))?;
        let mut response = self
            .user_tokens(issuer, client, &user, &family, &scope_now, None)
            .await?;
        let successor = SecretToken::generate();
        let next = RefreshToken {
            secret_hash: *successor.hash().as_bytes(),
            issuer_id: issuer.id,
            family_id: family.id,
            created_at: now,
            expires_at: family.expires_at,
            used_at: None,
        };
        let reuse_event = |family: FamilyId| {
            NewEvent::new(
                "token.refresh_reuse_detected",
                family,
                Actor::System,
                json!({ "client_id": client.id.to_string() }),
                now,
            )
        };
        // The tokens made above are handed out only if this rotation wins. If it loses (a
        // reuse, or the family died meanwhile), they are dropped unseen: an opaque access
        // token stored for them belongs to a revoked or expired family, so nothing accepts it.
        match self
            .store
            .tokens()
            .rotate_refresh(scope, hash.as_bytes(), &next, now, &reuse_event)
            .await
        {
            Ok(Rotation::Rotated(_)) => {}
            Ok(Rotation::Reused(_)) => {
                return Err(invalid_grant(
                    "The refresh token was already used; its whole family is now revoked.",
                ));
            }
            Err(StoreError::NotFound) => return Err(unknown()),
            Err(e) => return Err(internal(e)),
        }
        response.refresh_token = Some(successor.expose().to_owned());
        Ok(response)
    }

    /// Rules 2 to 5 of the module docs for a code read from the store; the user it names.
    async fn check_code(
        &self,
        issuer: &Issuer,
        client: &Client,
        grant: &CodeGrant,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
    ) -> Result<User, OAuthError> {
        if grant.client_id != client.id {
            return Err(invalid_grant(
                "The authorization code was issued to another client.",
            ));
        }
        if grant.redirect_uri_given && redirect_uri != Some(grant.redirect_uri.as_str()) {
            return Err(invalid_grant(
                "The redirect_uri does not match the authorization request.",
            ));
        }
        match (&grant.code_challenge, code_verifier) {
            (Some(challenge), Some(verifier)) if challenge.verify(verifier) => {}
            (Some(_), Some(_)) => return Err(invalid_grant("The code_verifier is wrong.")),
            (Some(_), None) => return Err(invalid_grant("The code_verifier is missing.")),
            (None, Some(_)) => {
                return Err(invalid_grant(
                    "A code_verifier was sent but the authorization request had no code_challenge.",
                ));
            }
            (None, None) => {}
        }
        self.usable_user(issuer, grant.user_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| invalid_grant("The user can no longer sign in."))
    }

    /// Spends a code whose presentation broke a rule, so it cannot be tried again. Failing to
    /// (a spent code, a database lost) changes nothing for the refusal the caller returns.
    async fn spend_refused_code(&self, scope: IssuerScope, hash: &[u8; 32], now: UnixTime) {
        match self
            .store
            .tickets()
            .consume(scope, TicketKind::AuthorizationCode, hash, now)
            .await
        {
            Ok(_) | Err(StoreError::AlreadyConsumed | StoreError::NotFound) => {}
            Err(error) => tracing::warn!(%error, "a refused authorization code stays unspent"),
        }
    }

    /// The answer to a presentation of a spent code (`grant` is what it was issued for, unless
    /// its stored payload is unreadable): what its first redemption issued is revoked (RFC 6749
    /// §4.1.2), then `invalid_grant`.
    async fn code_spent(&self, issuer: &Issuer, grant: Option<&CodeGrant>) -> OAuthError {
        let refusal = invalid_grant("The authorization code was already used.");
        let Some(grant) = grant else {
            return refusal;
        };
        let scope = IssuerScope::of(issuer);
        let now = self.clock.now();
        let event = |revoked: bool| {
            NewEvent::new(
                "token.code_replayed",
                grant.family_id,
                Actor::System,
                json!({ "client_id": grant.client_id.to_string(), "family_revoked": revoked }),
                now,
            )
        };
        // The revocation and its event are one write; a replay that revokes nothing (already
        // revoked, or a code spent by a refused presentation, which stores no family) is
        // still recorded.
        let recorded = match self
            .store
            .tokens()
            .revoke_family(scope, grant.family_id, now, Some(&event(true)))
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) | Err(StoreError::NotFound) => {
                self.store.events().append(scope, &event(false)).await
            }
            Err(e) => Err(e),
        };
        match recorded {
            Ok(()) => refusal,
            Err(e) => internal(e),
        }
    }

    /// The access token and, for `openid`, the ID token of a user grant.
    async fn user_tokens(
        &self,
        issuer: &Issuer,
        client: &Client,
        user: &User,
        family: &TokenFamily,
        scope: &Scope,
        nonce: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let issuer_url = self.issuer_url(issuer);
        let now = self.clock.now().0;
        let lifetime = client
            .token_settings
            .access_token_lifetime(&issuer.settings);
        let mut claims = json!({
            "iss": issuer_url,
            "sub": user.id.to_string(),
            "aud": issuer_url,
            "client_id": client.id.to_string(),
            "iat": now,
            "exp": now + lifetime,
            "jti": new_jti(),
            "auth_time": family.auth_time.0,
            FAMILY_CLAIM: family.id.to_string(),
        });
        if !scope.is_empty() {
            claims["scope"] = json!(scope.to_string());
        }
        if let Some(session) = family.session_id {
            claims["sid"] = json!(session.to_string());
        }
        let access_token = self
            .issue_access_token(issuer, client, claims, Some(family.id))
            .await?;
        let mut response = TokenResponse::bearer(access_token, lifetime.unsigned_abs());
        response.scope = Some(scope.clone());
        if scope.contains("openid") {
            // OIDC Core §2, §3.1.3.6.
            let mut id_claims = user_claims(user, scope);
            let mut set = |name: &str, value: Value| {
                id_claims.insert(name.to_owned(), value);
            };
            set("iss", json!(issuer_url));
            set("sub", json!(user.id.to_string()));
            set("aud", json!(client.id.to_string()));
            set("azp", json!(client.id.to_string()));
            set("iat", json!(now));
            set(
                "exp",
                json!(now + client.token_settings.id_token_lifetime(&issuer.settings)),
            );
            set("auth_time", json!(family.auth_time.0));
            if !family.amr.is_empty() {
                set("amr", json!(family.amr));
            }
            // OIDC Core §2: the class the sign-in reached, whatever `acr_values` asked
            // (a voluntary request, §3.1.2.1; see `tessera_oauth::acr_of`).
            if let Some(acr) = &family.acr {
                set("acr", json!(acr));
            }
            if let Some(nonce) = nonce {
                set("nonce", json!(nonce));
            }
            if let Some(session) = family.session_id {
                set("sid", json!(session.to_string()));
            }
            let keys = self.issuer_keys(issuer).await.map_err(internal)?;
            let id_signer = self
                .id_token_signer(issuer, &keys, client)
                .await
                .map_err(internal)?;
            set(
                "at_hash",
                json!(jws::hash_left_half(
                    id_signer.algorithm(),
                    response.access_token.as_bytes()
                )),
            );
            let id_token = id_signer
                .sign("JWT", &Value::Object(id_claims))
                .map_err(|e| internal(CoreError::Invalid(e.to_string())))?;
            response.id_token = Some(id_token);
        }
        // The session learnt of this client when the interaction finished (`authorize`), so a
        // refresh writes nothing but its rotation.
        Ok(response)
    }

    /// Revokes a family (revocation, withdrawn consent); unknown families are ignored.
    pub(crate) async fn revoke_family(
        &self,
        issuer: &Issuer,
        family: FamilyId,
    ) -> Result<(), CoreError> {
        match self
            .store
            .tokens()
            .revoke_family(IssuerScope::of(issuer), family, self.clock.now(), None)
            .await
        {
            Ok(_) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A fresh `jti`: 128 random bits (RFC 7519 §4.1.7 asks for a negligible collision chance).
pub(crate) fn new_jti() -> String {
    tessera_crypto::base64url(&tessera_crypto::random_bytes::<16>())
}

/// The user's standard claims that `scope` releases (OIDC Core §5.1, §5.4).
pub(crate) fn user_claims(user: &User, scope: &Scope) -> Map<String, Value> {
    let mut claims = Map::new();
    for claim in released_claims(scope) {
        let value = match claim {
            "name" => user.name.clone().map(Value::from),
            "given_name" => user.given_name.clone().map(Value::from),
            "family_name" => user.family_name.clone().map(Value::from),
            "preferred_username" => user.username.clone().map(Value::from),
            "picture" => user.picture.clone().map(Value::from),
            "locale" => user.locale.clone().map(Value::from),
            "updated_at" => Some(json!(user.updated_at.0)),
            "email" => user.email.as_ref().map(|e| json!(e.as_str())),
            "email_verified" => user.email.as_ref().map(|_| json!(user.email_verified)),
            _ => None,
        };
        if let Some(value) = value {
            claims.insert(claim.to_owned(), value);
        }
    }
    claims
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tessera_model::{Actor, ClientType, FixedClock, Issuer};
    use tessera_oauth::{
        AuthorizationDelivery, ClientAuth, ErrorCode, Form, OAuthError, TokenRequest, TokenResponse,
    };

    use crate::Core;
    use crate::authorize::{
        AuthorizeOutcome, CODE_LIFETIME, INTERACTION_LIFETIME, InteractionError, LoginOutcome,
        Next, SignInAttempt,
    };
    use crate::clients::NewClient;
    use crate::users::NewUser;

    const REDIRECT: &str = "https://app.example.com/callback";
    const EMAIL: &str = "ada@example.com";
    const PASSWORD: &str = "correct horse battery staple";

    /// A Core on a fixed clock, with a user and a first-party confidential client.
    struct Fixture {
        core: Core,
        clock: Arc<FixedClock>,
        issuer: Issuer,
        auth: ClientAuth,
        _db: tessera_store::contract::TestStore,
    }

    async fn fixture() -> Fixture {
        fixture_with(|_| {}).await
    }

    /// The fixture, with the client changed by `adjust` before it is registered.
    async fn fixture_with(adjust: impl FnOnce(&mut NewClient)) -> Fixture {
        let (core, clock, db) = crate::test_core().await;
        let issuer = core.ensure_builtin_issuers().await.unwrap().default;
        let user = NewUser {
            email: EMAIL.to_owned(),
            password: Some(PASSWORD.to_owned()),
            email_verified: true,
            ..NewUser::default()
        };
        core.create_user(&issuer, user, Actor::System)
            .await
            .unwrap();
        let mut client = NewClient {
            redirect_uris: vec![REDIRECT.to_owned()],
            grant_types: vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
            first_party: true,
            ..NewClient::new("Web", ClientType::Confidential)
        };
        adjust(&mut client);
        let registered = core
            .create_client(&issuer, client, Actor::System)
            .await
            .unwrap();
        let auth = ClientAuth::Basic {
            client_id: registered.client.id.to_string(),
            client_secret: registered.client_secret.unwrap().expose().to_owned(),
        };
        Fixture {
            core,
            clock,
            issuer,
            auth,
            _db: db,
        }
    }

    /// Starts an authorization and returns the interaction id and browser secret.
    async fn start(f: &Fixture) -> (String, String) {
        let query = format!(
            "response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=openid%20offline_access",
            f.auth.client_id()
        );
        let form = Form::parse(query.as_bytes()).unwrap();
        match f
            .core
            .authorize(&f.issuer, &form, None, None)
            .await
            .unwrap()
        {
            AuthorizeOutcome::Interact {
                interaction,
                new_browser_secret: Some(secret),
                ..
            } => (interaction.to_string(), secret.expose().to_owned()),
            other => panic!("expected the sign-in page, got {other:?}"),
        }
    }

    async fn sign_in(
        f: &Fixture,
        interaction: &str,
        browser: &str,
    ) -> Result<String, InteractionError> {
        let view = f
            .core
            .interaction(&f.issuer, interaction, Some(browser))
            .await?;
        let outcome = f
            .core
            .submit_login(
                &f.issuer,
                interaction,
                Some(browser),
                SignInAttempt {
                    csrf: &view.csrf,
                    username: EMAIL,
                    password: PASSWORD,
                    address: None,
                },
            )
            .await?;
        let LoginOutcome::SignedIn {
            next: Next::Respond(AuthorizationDelivery::Redirect(location)),
            ..
        } = outcome
        else {
            panic!("expected a redirect with a code, got {outcome:?}");
        };
        let url = url::Url::parse(&location).unwrap();
        Ok(url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned())
    }

    /// A refresh-token grant request for `token`, with the scope unchanged.
    fn refresh(token: String) -> TokenRequest {
        TokenRequest::RefreshToken {
            refresh_token: token,
            scope: None,
        }
    }

    async fn exchange(f: &Fixture, code: &str) -> Result<TokenResponse, OAuthError> {
        let request = TokenRequest::AuthorizationCode {
            code: code.to_owned(),
            redirect_uri: Some(REDIRECT.to_owned()),
            code_verifier: None,
        };
        f.core.token(&f.issuer, &f.auth, request).await
    }

    #[tokio::test]
    async fn a_code_expires_after_its_lifetime() {
        let f = fixture().await;
        let (interaction, browser) = start(&f).await;
        let code = sign_in(&f, &interaction, &browser).await.unwrap();
        f.clock.advance(CODE_LIFETIME);
        let error = exchange(&f, &code).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidGrant);
    }

    #[tokio::test]
    async fn an_interaction_expires_after_its_lifetime() {
        let f = fixture().await;
        let (interaction, browser) = start(&f).await;
        f.clock.advance(INTERACTION_LIFETIME);
        assert!(matches!(
            sign_in(&f, &interaction, &browser).await,
            Err(InteractionError::Gone)
        ));
    }

    #[tokio::test]
    async fn access_and_refresh_tokens_are_refused_once_expired() {
        let f = fixture().await;
        let (interaction, browser) = start(&f).await;
        let code = sign_in(&f, &interaction, &browser).await.unwrap();
        let tokens = exchange(&f, &code).await.unwrap();
        let lifetime = f.issuer.settings.access_token_lifetime();
        f.clock.advance(lifetime - 1);
        f.core
            .userinfo(&f.issuer, &tokens.access_token)
            .await
            .unwrap();
        f.clock.advance(1);
        let error = f
            .core
            .userinfo(&f.issuer, &tokens.access_token)
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidToken);

        // The refresh token lives as long as the issuer's refresh lifetime, from the code
        // exchange, however often it is rotated.
        let rotated = f
            .core
            .token(
                &f.issuer,
                &f.auth,
                refresh(tokens.refresh_token.clone().unwrap()),
            )
            .await
            .unwrap();
        f.clock
            .advance(f.issuer.settings.refresh_token_lifetime() - lifetime);
        let error = f
            .core
            .token(&f.issuer, &f.auth, refresh(rotated.refresh_token.unwrap()))
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidGrant);
    }

    #[tokio::test]
    async fn a_clients_own_lifetimes_bound_its_opaque_and_refresh_tokens() {
        let f = fixture_with(|client| {
            client.access_token_format = Some("opaque".to_owned());
            client.access_token_lifetime = Some(120);
            client.refresh_token_lifetime = Some(600);
        })
        .await;
        let (interaction, browser) = start(&f).await;
        let code = sign_in(&f, &interaction, &browser).await.unwrap();
        let tokens = exchange(&f, &code).await.unwrap();
        assert!(!tokens.access_token.contains('.'), "an opaque token");
        assert_eq!(tokens.expires_in, 120);
        f.clock.advance(119);
        f.core
            .userinfo(&f.issuer, &tokens.access_token)
            .await
            .unwrap();
        f.clock.advance(1);
        let error = f
            .core
            .userinfo(&f.issuer, &tokens.access_token)
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidToken);

        // The refresh token lives the client's 600 s from the code exchange, not the
        // issuer's thirty days: it rotates at 599 s, and its successor dies with the family.
        f.clock.advance(599 - 120);
        let rotated = f
            .core
            .token(&f.issuer, &f.auth, refresh(tokens.refresh_token.unwrap()))
            .await
            .unwrap();
        f.clock.advance(1);
        let error = f
            .core
            .token(&f.issuer, &f.auth, refresh(rotated.refresh_token.unwrap()))
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidGrant);
    }
}
