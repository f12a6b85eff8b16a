//! The aggregates stored so far. Each carries its issuer id (tenant), its timestamps, and a
//! `revision` that every update increments, for optimistic concurrency (`ETag`/`If-Match`).

use crate::{
    ClientId, ClientTokenSettings, Email, IssuerId, IssuerSettings, IssuerSlug, KeyId, NewEvent,
    TicketId, UnixTime, UserId, WebhookId,
};

/// An issuer: one independent identity hub (tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// Internal id.
    pub id: IssuerId,
    /// The URL path segment, unique in the installation.
    pub slug: IssuerSlug,
    /// Human-readable name, shown on hosted pages.
    pub display_name: String,
    /// Token lifetimes, signing algorithm, sign-up policy.
    pub settings: IssuerSettings,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it last changed.
    pub updated_at: UnixTime,
    /// Incremented by every update.
    pub revision: i64,
}

/// Whether a client can keep a secret (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    /// Runs on a server and authenticates at the token endpoint.
    Confidential,
    /// Runs on a user's device; cannot keep a secret.
    Public,
}

impl ClientType {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "confidential" => Some(Self::Confidential),
            "public" => Some(Self::Public),
            _ => None,
        }
    }
}

/// A client (relying party) of an issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Internal id; its public form is the OAuth `client_id`.
    pub id: ClientId,
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// Display name.
    pub name: String,
    /// Confidential or public.
    pub client_type: ClientType,
    /// SHA-256 of the client secret (confidential clients), never the secret itself.
    pub secret_hash: Option<[u8; 32]>,
    /// Exact redirect URIs (validated when registered).
    pub redirect_uris: Vec<String>,
    /// Where the client may ask to return after logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types the client may use, as their RFC names.
    pub grant_types: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none`.
    pub token_endpoint_auth_method: String,
    /// Scopes the client may request.
    pub allowed_scopes: Vec<String>,
    /// First-party clients skip consent.
    pub first_party: bool,
    /// For Core API clients of the `system` issuer: the issuers their tokens may see (`None`:
    /// all of them).
    pub allowed_issuers: Option<Vec<IssuerSlug>>,
    /// The algorithm the client's ID tokens are signed with (OIDC Dynamic Client Registration
    /// 1.0 §2 `id_token_signed_response_alg`); `None`: the issuer's signing algorithm.
    pub id_token_signed_response_alg: Option<KeyAlgorithm>,
    /// The form of its access tokens and the lifetimes that override the issuer's.
    pub token_settings: ClientTokenSettings,
    /// The public keys of a `private_key_jwt` client, as the canonical JWK Set text
    /// (RFC 7517 §5) that `tessera_crypto::jwk::PublicJwkSet` wrote when they were registered;
    /// `None` for every other client.
    pub jwks: Option<String>,
    /// Where the OP POSTs a logout token when a session the client took part in ends (OpenID
    /// Connect Back-Channel Logout 1.0 §2.2), validated as a
    /// [`BackchannelLogoutUri`](crate::BackchannelLogoutUri); `None`: no back-channel logout.
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client requires the `sid` claim in logout tokens (§2.2). Tessera always
    /// sends `sid` and `sub`, so this is recorded for the client's metadata only.
    pub backchannel_logout_session_required: bool,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it last changed.
    pub updated_at: UnixTime,
    /// Incremented by every update.
    pub revision: i64,
}

/// A user of one issuer.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Internal id.
    pub id: UserId,
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// Primary email address, unique per issuer in its normalized form.
    pub email: Option<Email>,
    /// Whether the email address has been proven.
    pub email_verified: bool,
    /// Optional username, unique per issuer.
    pub username: Option<String>,
    /// Argon2id PHC string, if the user has a password.
    pub password_hash: Option<String>,
    /// Full name.
    pub name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// URL of a picture of the user (the OIDC `picture` claim).
    pub picture: Option<String>,
    /// The user's language, a BCP 47 tag such as `de` or `es-MX` (the OIDC `locale` claim);
    /// the hosted pages speak it when the client asked for no language.
    pub locale: Option<String>,
    /// Data the user may edit.
    pub user_metadata: serde_json::Value,
    /// Data only administrators may edit.
    pub app_metadata: serde_json::Value,
    /// Blocked users cannot sign in.
    pub blocked: bool,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it last changed.
    pub updated_at: UnixTime,
    /// Incremented by every update.
    pub revision: i64,
}

/// A JOSE signing algorithm an issuer key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256 (the default).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// Ed25519.
    EdDsa,
}

impl KeyAlgorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Parses a JOSE `alg` name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
}

/// Where a key is in its life: published before it signs, kept after it stops signing until
/// the tokens it signed have expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published in the JWKS, not yet signing.
    Next,
    /// Signing.
    Current,
    /// Published, no longer signing.
    Previous,
    /// Neither published nor signing.
    Retired,
}

impl KeyState {
    /// The storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Previous => "previous",
            Self::Retired => "retired",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "next" => Some(Self::Next),
            "current" => Some(Self::Current),
            "previous" => Some(Self::Previous),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// A signing key of an issuer. The private part is sealed with the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Internal id; its public form is the JOSE `kid`.
    pub id: KeyId,
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// Signing algorithm.
    pub algorithm: KeyAlgorithm,
    /// Life-cycle state.
    pub state: KeyState,
    /// The public JWK, as JSON text.
    pub public_jwk: String,
    /// The private key, sealed by `MasterKey::seal`.
    pub private_key_sealed: Vec<u8>,
    /// When it was created.
    pub created_at: UnixTime,
    /// When its state last changed.
    pub updated_at: UnixTime,
}

/// What a single-use ticket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketKind {
    /// An OAuth authorization code.
    AuthorizationCode,
    /// An email-verification link.
    EmailVerification,
    /// A password-reset link.
    PasswordReset,
    /// The `jti` of a client assertion already used (RFC 7523 §3), kept until the assertion
    /// expires so that it is accepted once.
    ClientAssertion,
}

impl TicketKind {
    /// The storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::EmailVerification => "email_verification",
            Self::PasswordReset => "password_reset",
            Self::ClientAssertion => "client_assertion",
        }
    }

    /// Parses the storage spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "authorization_code" => Some(Self::AuthorizationCode),
            "email_verification" => Some(Self::EmailVerification),
            "password_reset" => Some(Self::PasswordReset),
            "client_assertion" => Some(Self::ClientAssertion),
            _ => None,
        }
    }
}

/// A single-use artefact (code, link), stored under the hash of the secret that redeems it and
/// consumed by exactly one caller (ARCHITECTURE.md invariants 5 and 6).
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    /// Internal id.
    pub id: TicketId,
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// What it is for.
    pub kind: TicketKind,
    /// SHA-256 of the redeeming secret.
    pub secret_hash: [u8; 32],
    /// Who or what it concerns (a user id, an interaction id).
    pub subject: String,
    /// What redeeming it yields.
    pub payload: serde_json::Value,
    /// When it stops being redeemable.
    pub expires_at: UnixTime,
    /// When it was redeemed, if it was.
    pub consumed_at: Option<UnixTime>,
    /// When it was created.
    pub created_at: UnixTime,
}

/// The type of the event written when a delivery is given up on.
pub const DELIVERY_FAILED: &str = "delivery.failed";

/// A webhook subscription of an issuer: where its events are delivered, and which ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Internal id; public form `whk_…`.
    pub id: WebhookId,
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// The endpoint events are posted to (checked when set).
    pub url: String,
    /// Event types delivered: exact types or `prefix.*` wildcards.
    pub event_types: Vec<String>,
    /// Whether events are delivered at all.
    pub enabled: bool,
    /// The signing secret, sealed with the master key (it is needed in clear to sign).
    pub secret_sealed: Vec<u8>,
    /// Set when deliveries were dead-lettered; cleared by a successful delivery.
    pub failing: bool,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it last changed.
    pub updated_at: UnixTime,
    /// Incremented by every update.
    pub revision: i64,
}

impl Webhook {
    /// Whether this subscription delivers events of `event_type`: it is enabled, and the type
    /// is one of its exact types or lies under one of its `family.*` wildcards (`user.*` covers
    /// `user.created` and `user.login.failed`).
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.enabled
            && self
                .event_types
                .iter()
                .any(|entry| match entry.strip_suffix('*') {
                    Some(prefix) => event_type.starts_with(prefix),
                    None => entry == event_type,
                })
    }

    /// Whether `event` is delivered to this subscription: it [subscribes
    /// to](Self::subscribes_to) the type, and the event is not a failure that failure news
    /// could feed back into. A `delivery.failed` is not sent to the webhook whose delivery
    /// failed (a dead endpoint would be sent its own failures, each failing in turn), nor
    /// anywhere when the failed delivery itself carried a `delivery.failed` (two dead
    /// subscribers would otherwise trade failure news for ever, more of it each round).
    pub fn receives(&self, event: &NewEvent) -> bool {
        if !self.subscribes_to(event.event_type) {
            return false;
        }
        if event.event_type != DELIVERY_FAILED {
            return true;
        }
        let field = |name: &str| event.data.get(name).and_then(serde_json::Value::as_str);
        field("event_type") != Some(DELIVERY_FAILED)
            && field("webhook_id") != Some(self.id.to_string().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(types: &[&str], enabled: bool) -> Webhook {
        Webhook {
            id: WebhookId::new(),
            issuer_id: IssuerId::new(),
            url: "https://hooks.example/".to_owned(),
            event_types: types.iter().map(|t| (*t).to_owned()).collect(),
            enabled,
            secret_sealed: Vec::new(),
            failing: false,
            created_at: UnixTime(0),
            updated_at: UnixTime(0),
            revision: 1,
        }
    }

    #[test]
    fn a_webhook_subscribes_to_its_exact_types_and_families_while_enabled() {
        let hook = webhook(&["user.*", "client.created"], true);
        assert!(hook.subscribes_to("user.created"));
        assert!(hook.subscribes_to("user.login.failed"));
        assert!(hook.subscribes_to("client.created"));
        assert!(!hook.subscribes_to("client.deleted"));
        assert!(!hook.subscribes_to("users.created"));
        assert!(!hook.subscribes_to("user"));
        assert!(!webhook(&["user.*"], false).subscribes_to("user.created"));
        let login = webhook(&["user.login.*"], true);
        assert!(login.subscribes_to("user.login.succeeded"));
        assert!(!login.subscribes_to("user.locked"));
    }

    #[test]
    fn failure_news_about_failure_news_or_about_oneself_is_not_sent() {
        let hook = webhook(&["delivery.*"], true);
        let failed = |webhook_id: String, carried: &str| {
            NewEvent::new(
                DELIVERY_FAILED,
                "dlv_x",
                crate::Actor::System,
                serde_json::json!({ "webhook_id": webhook_id, "event_type": carried }),
                UnixTime(0),
            )
        };
        let other = WebhookId::new().to_string();
        assert!(hook.receives(&failed(other.clone(), "user.created")));
        assert!(!hook.receives(&failed(hook.id.to_string(), "user.created")));
        assert!(!hook.receives(&failed(other, DELIVERY_FAILED)));
    }
}
