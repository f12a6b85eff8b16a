//! The records of signing in and of tokens: the interaction an authorization request waits in,
//! the browser session it leaves behind, the consent a user gave a client, and the families of
//! refresh tokens issued under one authorization.
//!
//! Bearer secrets (the session cookie, refresh tokens, opaque access tokens) appear here only
//! as SHA-256 hashes (DESIGN.md §3 invariant 5).

use crate::{ClientId, FamilyId, GrantId, InteractionId, IssuerId, SessionId, UnixTime, UserId};

/// An authorization request waiting for the user. `/authorize` validates the request and
/// stores it here; the hosted pages authenticate the user and ask for consent through
/// `tessera-core`, which finishes the interaction by issuing a code (DESIGN.md §3 invariant 4).
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// Internal id; its public form `int_…` travels in the pages' URLs.
    pub id: InteractionId,
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// The client that asked.
    pub client_id: ClientId,
    /// SHA-256 of the secret in the browser's interaction cookie: an interaction belongs to
    /// the browser that started it, so a leaked URL is useless elsewhere.
    pub browser_hash: [u8; 32],
    /// The validated authorization request, as `tessera-core` serialised it.
    pub request: serde_json::Value,
    /// The user, once authenticated in this interaction (or by an existing session).
    pub user_id: Option<UserId>,
    /// When that user authenticated (OIDC Core §2 `auth_time`).
    pub auth_time: Option<UnixTime>,
    /// How they authenticated (RFC 8176 `amr` values).
    pub amr: Vec<String>,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it can no longer be finished.
    pub expires_at: UnixTime,
    /// Incremented by every update.
    pub revision: i64,
}

/// A user's sign-in at an issuer, held by the browser as a cookie (OIDC Core `sid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Internal id; its public form `ses_…` is the `sid` claim.
    pub id: SessionId,
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// Who signed in.
    pub user_id: UserId,
    /// SHA-256 of the cookie's secret.
    pub secret_hash: [u8; 32],
    /// When the user last authenticated (OIDC Core `auth_time`).
    pub auth_time: UnixTime,
    /// How (RFC 8176 `amr` values).
    pub amr: Vec<String>,
    /// The authentication context class reached, if any (`acr`).
    pub acr: Option<String>,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it lapses.
    pub expires_at: UnixTime,
    /// When it was ended by logout or revocation.
    pub ended_at: Option<UnixTime>,
}

impl Session {
    /// Whether the session can still be used at `now`.
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.ended_at.is_none() && now < self.expires_at
    }
}

/// What a user consented to for a client: the scopes, remembered so that the next
/// authorization asking for no more does not ask again. One per user and client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Internal id.
    pub id: GrantId,
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// Who consented.
    pub user_id: UserId,
    /// To which client.
    pub client_id: ClientId,
    /// The scopes consented to, sorted and distinct.
    pub scopes: Vec<String>,
    /// When consent was first given.
    pub created_at: UnixTime,
    /// When it last grew.
    pub updated_at: UnixTime,
}

/// Everything issued from one authorization (one code exchange): its refresh tokens rotate
/// within the family, and revoking the family revokes them all together with the access tokens
/// that name it (RFC 9700 §4.14.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFamily {
    /// Internal id; access tokens name it so that revocation reaches them.
    pub id: FamilyId,
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// The client the tokens were issued to.
    pub client_id: ClientId,
    /// The user they act for.
    pub user_id: UserId,
    /// The browser session the authorization came from, if any.
    pub session_id: Option<SessionId>,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// When the user authenticated, carried into refreshed ID tokens.
    pub auth_time: UnixTime,
    /// How they authenticated.
    pub amr: Vec<String>,
    /// The authentication context class, if any.
    pub acr: Option<String>,
    /// When it was created.
    pub created_at: UnixTime,
    /// When the last refresh token of the family stops being usable, however often rotated.
    pub expires_at: UnixTime,
    /// When it was revoked (reuse detected, code replayed, revocation, consent withdrawn).
    pub revoked_at: Option<UnixTime>,
}

impl TokenFamily {
    /// Whether its tokens are still good at `now`.
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// One refresh token of a family, stored under the hash of its secret. It is used once:
/// rotation marks it used and issues its successor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the token.
    pub secret_hash: [u8; 32],
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// Its family.
    pub family_id: FamilyId,
    /// When it was issued.
    pub created_at: UnixTime,
    /// When it stops being usable.
    pub expires_at: UnixTime,
    /// When it was exchanged for its successor.
    pub used_at: Option<UnixTime>,
}

/// An opaque access token (for clients configured for them), stored under the hash of its
/// secret with the claims a JWT would have carried, for introspection and userinfo.
#[derive(Debug, Clone, PartialEq)]
pub struct OpaqueAccessToken {
    /// SHA-256 of the token.
    pub secret_hash: [u8; 32],
    /// The owning issuer.
    pub issuer_id: IssuerId,
    /// The family it was issued under, if any (client credentials have none).
    pub family_id: Option<FamilyId>,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The claims (`sub`, `scope`, `exp`, …) as a JSON object.
    pub claims: serde_json::Value,
    /// When it expires.
    pub expires_at: UnixTime,
    /// When it was revoked.
    pub revoked_at: Option<UnixTime>,
}
