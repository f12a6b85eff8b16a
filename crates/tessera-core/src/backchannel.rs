//! OpenID Connect Back-Channel Logout 1.0: when a session ends, every client that received
//! tokens from it and registered a `backchannel_logout_uri` is told so, server to server, with
//! a logout token.
//!
//! - **What is sent, when.** Ending a session (`Core::end_session`: RP-initiated logout, an
//!   administrator revoking it) writes one delivery per such client in the transaction of the
//!   end (`SessionRepo::end`): no delivery without the logout, no logout without its
//!   deliveries. The delivery worker (`tessera-webhooks`) sends them and retries; §2.8 leaves
//!   the retry policy to the OP.
//! - **The logout token (§2.4).** `iss`, `aud` (the client), `iat`, `exp`, `jti`, `sub` and
//!   `sid` (both always: §2.4 requires at least one, and §2.2 `backchannel_logout_session_required`
//!   is then always honoured), `events` with the back-channel logout member, and never a
//!   `nonce` (§2.4 forbids it, so a logout token cannot pass as an ID token). Its JOSE header
//!   says `typ: logout+jwt` (explicit typing, §2.4 and RFC 8725 §3.11). It is signed with the
//!   key and algorithm of the client's ID tokens (§2.4: "signed … in the same way as an ID
//!   Token").
//! - **Signed at send time.** The delivery stores `sub`, `sid` and `jti`; each attempt signs a
//!   fresh token with `iat` = now and `exp` two minutes later (§2.4 recommends a short
//!   lifetime), so a retry an hour later is not refused as expired, while the `jti` stays the
//!   same across retries (a receiver may use it to drop a replay, §2.6).
//! - **How (§2.5).** `POST` with `application/x-www-form-urlencoded` body `logout_token=…`.
//!   The worker counts 200 and 204 as success (§2.8); anything else is retried.

use serde_json::{Value, json};
use tessera_model::{
    AcceptedStatuses, Delivery, DeliveryKind, Issuer, OutboundRequest, Session, UnixTime,
};

use tessera_store::IssuerScope;

use crate::grant::new_jti;
use crate::{Core, CoreError};

/// The `events` member that makes a JWT a logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The JOSE `typ` of a logout token (§2.4).
pub const LOGOUT_TOKEN_TYPE: &str = "logout+jwt";

/// How long a logout token is valid, in seconds: §2.4 recommends at most two minutes.
pub const LOGOUT_TOKEN_LIFETIME: i64 = 120;

impl Core {
    /// The back-channel logout deliveries that ending `session` at `now` causes: one per
    /// client of the session with a `backchannel_logout_uri`, in the order the session first
    /// served them. A client deleted since is skipped.
    pub(crate) async fn logout_deliveries(
        &self,
        issuer: &Issuer,
        session: &Session,
        now: UnixTime,
    ) -> Result<Vec<Delivery>, CoreError> {
        let scope = IssuerScope::of(issuer);
        let clients = self
            .store
            .sessions()
            .list_clients(scope, session.id)
            .await?;
        let mut deliveries = Vec::new();
        for id in clients {
            let Some(client) = self.store.clients().find(scope, id).await? else {
                continue;
            };
            let Some(uri) = client.backchannel_logout_uri else {
                continue;
            };
            deliveries.push(Delivery::pending(
                issuer.id,
                DeliveryKind::BackchannelLogout,
                Some(client.id),
                uri,
                json!({
                    "sub": session.user_id.to_string(),
                    "sid": session.id.to_string(),
                    "jti": new_jti(),
                }),
                now,
            ));
        }
        Ok(deliveries)
    }

    /// §2.4, §2.5: a freshly signed logout token, form-encoded.
    pub(crate) async fn render_logout(
        &self,
        issuer: &Issuer,
        delivery: &Delivery,
    ) -> Result<OutboundRequest, CoreError> {
        let client_id = delivery.client_id.ok_or(CoreError::NotFound)?;
        let client = self
            .store
            .clients()
            .find(IssuerScope::of(issuer), client_id)
            .await?
            .ok_or(CoreError::NotFound)?;
        let field = |name: &str| -> Result<Value, CoreError> {
            delivery
                .payload
                .get(name)
                .filter(|v| v.is_string())
                .cloned()
                .ok_or_else(|| CoreError::Invalid(format!("a logout delivery lacks `{name}`")))
        };
        let now = self.clock.now().0;
        let claims = json!({
            "iss": self.issuer_url(issuer),
            "aud": client.id.to_string(),
            "iat": now,
            "exp": now + LOGOUT_TOKEN_LIFETIME,
            "jti": field("jti")?,
            "sub": field("sub")?,
            "sid": field("sid")?,
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        });
        let keys = self.issuer_keys(issuer).await?;
        let token = self
            .id_token_signer(issuer, &keys, &client)
            .await?
            .sign(LOGOUT_TOKEN_TYPE, &claims)
            .map_err(|e| CoreError::Invalid(e.to_string()))?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", &token)
            .finish();
        Ok(OutboundRequest {
            url: delivery.target_url.clone(),
            headers: vec![(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            )],
            body: body.into_bytes(),
            // §2.8: "the RP MUST respond with HTTP 200 OK", and the OP should be prepared for
            // the 204 No Content some frameworks send instead.
            accepted: AcceptedStatuses::Only(&[200, 204]),
        })
    }
}
