//! Rows as the database returns them, and their conversion into entities. Lists and JSON
//! documents are stored as JSON text on both backends.

use sqlx::FromRow;
use tessera_model::{
    AccessTokenFormat, Actor, Branding, BrandingParts, Client, ClientId, ClientTokenSettings,
    ClientType, Delivery, DeliveryId, DeliveryKind, DeliveryState, Email, Event, EventId, FamilyId,
    Grant, GrantId, Interaction, InteractionId, Issuer, IssuerId, IssuerSettings, IssuerSlug,
    KeyAlgorithm, KeyId, KeyState, LockoutPolicy, OpaqueAccessToken, PasswordPolicy, RefreshToken,
    RequestContext, Session, SessionId, SigningKey, SignupPolicy, Ticket, TicketId, TicketKind,
    TokenFamily, UnixTime, User, UserId, Webhook, WebhookId,
};
use tessera_store::StoreError;
use uuid::Uuid;

use crate::error::corrupt;

pub(super) fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

fn parse_list(text: &str, what: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|_| corrupt(what))
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|_| corrupt(what))
}

/// An issuer's branding as its JSON column holds it: the Core API's field names, absent parts
/// left out.
pub(super) fn branding_json(branding: &Branding) -> String {
    let parts = branding.parts();
    let mut object = serde_json::Map::new();
    for (name, value) in [
        ("logo_url", parts.logo_url),
        ("primary_color", parts.primary_color),
        ("background_color", parts.background_color),
        ("custom_css", parts.custom_css),
        ("terms_url", parts.terms_url),
        ("privacy_url", parts.privacy_url),
    ] {
        if let Some(value) = value {
            object.insert(name.to_owned(), value.into());
        }
    }
    if !parts.texts.is_empty() {
        object.insert("texts".to_owned(), serde_json::json!(parts.texts));
    }
    serde_json::Value::Object(object).to_string()
}

/// The branding column, checked by the model's rules.
fn parse_branding(text: &str) -> Result<Branding, StoreError> {
    let value = parse_json(text, "issuer branding")?;
    let string = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let texts = match value.get("texts") {
        Some(texts) => {
            serde_json::from_value(texts.clone()).map_err(|_| corrupt("issuer branding texts"))?
        }
        None => Default::default(),
    };
    Branding::new(BrandingParts {
        logo_url: string("logo_url"),
        primary_color: string("primary_color"),
        background_color: string("background_color"),
        custom_css: string("custom_css"),
        terms_url: string("terms_url"),
        privacy_url: string("privacy_url"),
        texts,
    })
    .map_err(|_| corrupt("issuer branding"))
}

fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| corrupt(what))
}

macro_rules! issuer_columns {
    () => {
        "id, slug, display_name, access_token_lifetime, id_token_lifetime, \
     refresh_token_lifetime, signing_algorithm, signup_policy, signup_allowed_domains, \
     created_at, updated_at, revision, event_retention_days, key_rotation_days, \
     lockout_max_failures, lockout_seconds, lockout_address_max_failures, branding, \
     password_min_length, password_max_length, password_min_strength, \
     signup_require_email_verification, allow_account_deletion"
    };
}

#[derive(FromRow)]
pub(super) struct IssuerRow {
    id: Uuid,
    slug: String,
    display_name: String,
    access_token_lifetime: i64,
    id_token_lifetime: i64,
    refresh_token_lifetime: i64,
    signing_algorithm: String,
    signup_policy: String,
    signup_allowed_domains: String,
    created_at: i64,
    updated_at: i64,
    revision: i64,
    event_retention_days: Option<i64>,
    key_rotation_days: Option<i64>,
    lockout_max_failures: i64,
    lockout_seconds: i64,
    lockout_address_max_failures: i64,
    branding: String,
    password_min_length: i64,
    password_max_length: i64,
    password_min_strength: i64,
    signup_require_email_verification: bool,
    allow_account_deletion: bool,
}

impl TryFrom<IssuerRow> for Issuer {
    type Error = StoreError;
    fn try_from(row: IssuerRow) -> Result<Self, StoreError> {
        let settings = issuer_settings(&row)?;
        Ok(Issuer {
            id: IssuerId::from_uuid(row.id),
            slug: IssuerSlug::parse(&row.slug).map_err(|_| corrupt("issuer slug"))?,
            display_name: row.display_name,
            settings,
            created_at: UnixTime(row.created_at),
            updated_at: UnixTime(row.updated_at),
            revision: row.revision,
        })
    }
}

/// The settings columns, checked by the model's rules: a value they refuse is corrupt.
fn issuer_settings(row: &IssuerRow) -> Result<IssuerSettings, StoreError> {
    let domains = parse_list(&row.signup_allowed_domains, "issuer signup_allowed_domains")?;
    let signup = SignupPolicy::parse(&row.signup_policy, &domains)
        .map_err(|_| corrupt("issuer signup policy"))?;
    let algorithm = KeyAlgorithm::parse(&row.signing_algorithm)
        .ok_or_else(|| corrupt("issuer signing_algorithm"))?;
    let lockout = LockoutPolicy::new(
        row.lockout_max_failures,
        row.lockout_seconds,
        row.lockout_address_max_failures,
    )
    .map_err(|_| corrupt("issuer lockout policy"))?;
    let password_policy = PasswordPolicy::new(
        row.password_min_length,
        row.password_max_length,
        row.password_min_strength,
    )
    .map_err(|_| corrupt("issuer password policy"))?;
    IssuerSettings::default()
        .with_lockout(lockout)
        .with_password_policy(password_policy)
        .with_require_email_verification(row.signup_require_email_verification)
        .with_allow_account_deletion(row.allow_account_deletion)
        .with_branding(parse_branding(&row.branding)?)
        .with_access_token_lifetime(row.access_token_lifetime)
        .and_then(|s| s.with_id_token_lifetime(row.id_token_lifetime))
        .and_then(|s| s.with_refresh_token_lifetime(row.refresh_token_lifetime))
        .and_then(|s| s.with_event_retention_days(row.event_retention_days))
        .and_then(|s| s.with_key_rotation_days(row.key_rotation_days))
        .map(|s| s.with_signing_algorithm(algorithm).with_signup(signup))
        .map_err(|_| corrupt("issuer settings"))
}

macro_rules! client_columns {
    () => {
        "id, issuer_id, name, client_type, secret_hash, \
     redirect_uris, post_logout_redirect_uris, grant_types, token_endpoint_auth_method, \
     allowed_scopes, first_party, allowed_issuers, id_token_signed_response_alg, \
     access_token_format, access_token_lifetime, id_token_lifetime, refresh_token_lifetime, jwks, \
     backchannel_logout_uri, backchannel_logout_session_required, created_at, updated_at, \
     revision"
    };
}

#[derive(FromRow)]
pub(super) struct ClientRow {
    id: Uuid,
    issuer_id: Uuid,
    name: String,
    client_type: String,
    secret_hash: Option<Vec<u8>>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    token_endpoint_auth_method: String,
    allowed_scopes: String,
    first_party: bool,
    allowed_issuers: Option<String>,
    id_token_signed_response_alg: Option<String>,
    access_token_format: String,
    access_token_lifetime: Option<i64>,
    id_token_lifetime: Option<i64>,
    refresh_token_lifetime: Option<i64>,
    jwks: Option<String>,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
    created_at: i64,
    updated_at: i64,
    revision: i64,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(row: ClientRow) -> Result<Self, StoreError> {
        let allowed_issuers = match row.allowed_issuers {
            None => None,
            Some(text) => Some(
                parse_list(&text, "client allowed_issuers")?
                    .iter()
                    .map(|slug| IssuerSlug::parse(slug).map_err(|_| corrupt("issuer slug")))
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Client {
            id: ClientId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            name: row.name,
            client_type: ClientType::parse(&row.client_type)
                .ok_or_else(|| corrupt("client type"))?,
            secret_hash: row
                .secret_hash
                .map(|h| hash32(h, "client secret hash"))
                .transpose()?,
            redirect_uris: parse_list(&row.redirect_uris, "client redirect_uris")?,
            post_logout_redirect_uris: parse_list(
                &row.post_logout_redirect_uris,
                "client post_logout_redirect_uris",
            )?,
            grant_types: parse_list(&row.grant_types, "client grant_types")?,
            token_endpoint_auth_method: row.token_endpoint_auth_method,
            allowed_scopes: parse_list(&row.allowed_scopes, "client allowed_scopes")?,
            first_party: row.first_party,
            allowed_issuers,
            id_token_signed_response_alg: row
                .id_token_signed_response_alg
                .map(|alg| KeyAlgorithm::parse(&alg).ok_or_else(|| corrupt("client id_token alg")))
                .transpose()?,
            token_settings: client_token_settings(
                &row.access_token_format,
                row.access_token_lifetime,
                row.id_token_lifetime,
                row.refresh_token_lifetime,
            )?,
            jwks: row.jwks,
            backchannel_logout_uri: row.backchannel_logout_uri,
            backchannel_logout_session_required: row.backchannel_logout_session_required,
            created_at: UnixTime(row.created_at),
            updated_at: UnixTime(row.updated_at),
            revision: row.revision,
        })
    }
}

/// A client's token settings through the model's own checks: a stored value they refuse is
/// corrupt.
fn client_token_settings(
    format: &str,
    access: Option<i64>,
    id: Option<i64>,
    refresh: Option<i64>,
) -> Result<ClientTokenSettings, StoreError> {
    let format = AccessTokenFormat::parse(format).map_err(|_| corrupt("client token format"))?;
    ClientTokenSettings::default()
        .with_access_token_format(format)
        .with_access_token_lifetime(access)
        .and_then(|s| s.with_id_token_lifetime(id))
        .and_then(|s| s.with_refresh_token_lifetime(refresh))
        .map_err(|_| corrupt("client token lifetimes"))
}

macro_rules! user_columns {
    () => {
        "id, issuer_id, email, email_verified, username, \
     password_hash, name, given_name, family_name, picture, locale, user_metadata, \
     app_metadata, blocked, created_at, updated_at, revision"
    };
}

#[derive(FromRow)]
pub(super) struct UserRow {
    id: Uuid,
    issuer_id: Uuid,
    email: Option<String>,
    email_verified: bool,
    username: Option<String>,
    password_hash: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    picture: Option<String>,
    locale: Option<String>,
    user_metadata: String,
    app_metadata: String,
    blocked: bool,
    created_at: i64,
    updated_at: i64,
    revision: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            email: row
                .email
                .map(|e| Email::parse(&e).map_err(|_| corrupt("user email")))
                .transpose()?,
            email_verified: row.email_verified,
            username: row.username,
            password_hash: row.password_hash,
            name: row.name,
            given_name: row.given_name,
            family_name: row.family_name,
            picture: row.picture,
            locale: row.locale,
            user_metadata: parse_json(&row.user_metadata, "user_metadata")?,
            app_metadata: parse_json(&row.app_metadata, "app_metadata")?,
            blocked: row.blocked,
            created_at: UnixTime(row.created_at),
            updated_at: UnixTime(row.updated_at),
            revision: row.revision,
        })
    }
}

macro_rules! key_columns {
    () => {
        "id, issuer_id, algorithm, state, public_jwk, private_key_sealed, created_at, updated_at"
    };
}

#[derive(FromRow)]
pub(super) struct KeyRow {
    id: Uuid,
    issuer_id: Uuid,
    algorithm: String,
    state: String,
    public_jwk: String,
    private_key_sealed: Vec<u8>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<KeyRow> for SigningKey {
    type Error = StoreError;
    fn try_from(row: KeyRow) -> Result<Self, StoreError> {
        Ok(SigningKey {
            id: KeyId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            algorithm: KeyAlgorithm::parse(&row.algorithm)
                .ok_or_else(|| corrupt("key algorithm"))?,
            state: KeyState::parse(&row.state).ok_or_else(|| corrupt("key state"))?,
            public_jwk: row.public_jwk,
            private_key_sealed: row.private_key_sealed,
            created_at: UnixTime(row.created_at),
            updated_at: UnixTime(row.updated_at),
        })
    }
}

macro_rules! event_columns {
    () => {
        "id, issuer_id, event_type, subject, actor, data, occurred_at, seq, prev_hash, hash, \
         ip, user_agent, request_id"
    };
}

#[derive(FromRow)]
pub(super) struct EventRow {
    id: Uuid,
    issuer_id: Uuid,
    event_type: String,
    subject: String,
    actor: String,
    data: String,
    occurred_at: i64,
    seq: Option<i64>,
    prev_hash: Option<Vec<u8>>,
    hash: Option<Vec<u8>>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        Ok(Event {
            id: EventId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            event_type: row.event_type,
            subject: row.subject,
            actor: Actor::from_storage(&row.actor).ok_or_else(|| corrupt("event actor"))?,
            data: parse_json(&row.data, "event data")?,
            occurred_at: UnixTime(row.occurred_at),
            context: Some(RequestContext {
                ip: row.ip,
                user_agent: row.user_agent,
                request_id: row.request_id,
            })
            .filter(|c| !c.is_empty()),
            // A row outside the chain (written before migration 0004) cannot be an `Event`;
            // `tessera audit verify` finds it by counting.
            seq: row.seq.ok_or_else(|| corrupt("event seq"))?,
            prev_hash: hash32(
                row.prev_hash.ok_or_else(|| corrupt("event prev_hash"))?,
                "event prev_hash",
            )?,
            hash: hash32(row.hash.ok_or_else(|| corrupt("event hash"))?, "event hash")?,
        })
    }
}

macro_rules! ticket_columns {
    () => {
        "id, issuer_id, kind, secret_hash, subject, payload, expires_at, consumed_at, created_at"
    };
}

#[derive(FromRow)]
pub(super) struct TicketRow {
    id: Uuid,
    issuer_id: Uuid,
    kind: String,
    secret_hash: Vec<u8>,
    subject: String,
    payload: String,
    expires_at: i64,
    consumed_at: Option<i64>,
    created_at: i64,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;
    fn try_from(row: TicketRow) -> Result<Self, StoreError> {
        Ok(Ticket {
            id: TicketId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            kind: TicketKind::parse(&row.kind).ok_or_else(|| corrupt("ticket kind"))?,
            secret_hash: hash32(row.secret_hash, "ticket secret hash")?,
            subject: row.subject,
            payload: parse_json(&row.payload, "ticket payload")?,
            expires_at: UnixTime(row.expires_at),
            consumed_at: row.consumed_at.map(UnixTime),
            created_at: UnixTime(row.created_at),
        })
    }
}

macro_rules! webhook_columns {
    () => {
        "id, issuer_id, url, event_types, enabled, secret_sealed, failing, created_at, \
     updated_at, revision"
    };
}

#[derive(FromRow)]
pub(super) struct WebhookRow {
    id: Uuid,
    issuer_id: Uuid,
    url: String,
    event_types: String,
    enabled: bool,
    secret_sealed: Vec<u8>,
    failing: bool,
    created_at: i64,
    updated_at: i64,
    revision: i64,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = StoreError;
    fn try_from(row: WebhookRow) -> Result<Self, StoreError> {
        Ok(Webhook {
            id: WebhookId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            url: row.url,
            event_types: parse_list(&row.event_types, "webhook event_types")?,
            enabled: row.enabled,
            secret_sealed: row.secret_sealed,
            failing: row.failing,
            created_at: UnixTime(row.created_at),
            updated_at: UnixTime(row.updated_at),
            revision: row.revision,
        })
    }
}

macro_rules! interaction_columns {
    () => {
        "id, issuer_id, client_id, browser_hash, request, user_id, auth_time, amr, created_at, \
     expires_at, revision"
    };
}

#[derive(FromRow)]
pub(super) struct InteractionRow {
    id: Uuid,
    issuer_id: Uuid,
    client_id: Uuid,
    browser_hash: Vec<u8>,
    request: String,
    user_id: Option<Uuid>,
    auth_time: Option<i64>,
    amr: String,
    created_at: i64,
    expires_at: i64,
    revision: i64,
}

impl TryFrom<InteractionRow> for Interaction {
    type Error = StoreError;
    fn try_from(row: InteractionRow) -> Result<Self, StoreError> {
        Ok(Interaction {
            id: InteractionId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            client_id: ClientId::from_uuid(row.client_id),
            browser_hash: hash32(row.browser_hash, "interaction browser hash")?,
            request: parse_json(&row.request, "interaction request")?,
            user_id: row.user_id.map(UserId::from_uuid),
            auth_time: row.auth_time.map(UnixTime),
            amr: parse_list(&row.amr, "interaction amr")?,
            created_at: UnixTime(row.created_at),
            expires_at: UnixTime(row.expires_at),
            revision: row.revision,
        })
    }
}

macro_rules! session_columns {
    () => {
        "id, issuer_id, user_id, secret_hash, auth_time, amr, acr, created_at, expires_at, \
     ended_at"
    };
}

#[derive(FromRow)]
pub(super) struct SessionRow {
    id: Uuid,
    issuer_id: Uuid,
    user_id: Uuid,
    secret_hash: Vec<u8>,
    auth_time: i64,
    amr: String,
    acr: Option<String>,
    created_at: i64,
    expires_at: i64,
    ended_at: Option<i64>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(row: SessionRow) -> Result<Self, StoreError> {
        Ok(Session {
            id: SessionId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            user_id: UserId::from_uuid(row.user_id),
            secret_hash: hash32(row.secret_hash, "session secret hash")?,
            auth_time: UnixTime(row.auth_time),
            amr: parse_list(&row.amr, "session amr")?,
            acr: row.acr,
            created_at: UnixTime(row.created_at),
            expires_at: UnixTime(row.expires_at),
            ended_at: row.ended_at.map(UnixTime),
        })
    }
}

macro_rules! grant_columns {
    () => {
        "id, issuer_id, user_id, client_id, scopes, created_at, updated_at"
    };
}

#[derive(FromRow)]
pub(super) struct GrantRow {
    id: Uuid,
    issuer_id: Uuid,
    user_id: Uuid,
    client_id: Uuid,
    scopes: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<GrantRow> for Grant {
    type Error = StoreError;
    fn try_from(row: GrantRow) -> Result<Self, StoreError> {
        Ok(Grant {
            id: GrantId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            user_id: UserId::from_uuid(row.user_id),
            client_id: ClientId::from_uuid(row.client_id),
            scopes: parse_list(&row.scopes, "grant scopes")?,
            created_at: UnixTime(row.created_at),
            updated_at: UnixTime(row.updated_at),
        })
    }
}

macro_rules! family_columns {
    () => {
        "id, issuer_id, client_id, user_id, session_id, scopes, auth_time, amr, acr, \
     created_at, expires_at, revoked_at"
    };
}

#[derive(FromRow)]
pub(super) struct FamilyRow {
    id: Uuid,
    issuer_id: Uuid,
    client_id: Uuid,
    user_id: Uuid,
    session_id: Option<Uuid>,
    scopes: String,
    auth_time: i64,
    amr: String,
    acr: Option<String>,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl TryFrom<FamilyRow> for TokenFamily {
    type Error = StoreError;
    fn try_from(row: FamilyRow) -> Result<Self, StoreError> {
        Ok(TokenFamily {
            id: FamilyId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            client_id: ClientId::from_uuid(row.client_id),
            user_id: UserId::from_uuid(row.user_id),
            session_id: row.session_id.map(SessionId::from_uuid),
            scopes: parse_list(&row.scopes, "token family scopes")?,
            auth_time: UnixTime(row.auth_time),
            amr: parse_list(&row.amr, "token family amr")?,
            acr: row.acr,
            created_at: UnixTime(row.created_at),
            expires_at: UnixTime(row.expires_at),
            revoked_at: row.revoked_at.map(UnixTime),
        })
    }
}

macro_rules! refresh_columns {
    () => {
        "secret_hash, issuer_id, family_id, created_at, expires_at, used_at"
    };
}

#[derive(FromRow)]
pub(super) struct RefreshRow {
    secret_hash: Vec<u8>,
    issuer_id: Uuid,
    family_id: Uuid,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl TryFrom<RefreshRow> for RefreshToken {
    type Error = StoreError;
    fn try_from(row: RefreshRow) -> Result<Self, StoreError> {
        Ok(RefreshToken {
            secret_hash: hash32(row.secret_hash, "refresh token hash")?,
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            family_id: FamilyId::from_uuid(row.family_id),
            created_at: UnixTime(row.created_at),
            expires_at: UnixTime(row.expires_at),
            used_at: row.used_at.map(UnixTime),
        })
    }
}

macro_rules! access_columns {
    () => {
        "secret_hash, issuer_id, family_id, client_id, claims, expires_at, revoked_at"
    };
}

#[derive(FromRow)]
pub(super) struct AccessRow {
    secret_hash: Vec<u8>,
    issuer_id: Uuid,
    family_id: Option<Uuid>,
    client_id: Uuid,
    claims: String,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl TryFrom<AccessRow> for OpaqueAccessToken {
    type Error = StoreError;
    fn try_from(row: AccessRow) -> Result<Self, StoreError> {
        Ok(OpaqueAccessToken {
            secret_hash: hash32(row.secret_hash, "access token hash")?,
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            family_id: row.family_id.map(FamilyId::from_uuid),
            client_id: ClientId::from_uuid(row.client_id),
            claims: parse_json(&row.claims, "access token claims")?,
            expires_at: UnixTime(row.expires_at),
            revoked_at: row.revoked_at.map(UnixTime),
        })
    }
}

/// Converts a list of rows.
pub(super) fn convert<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

macro_rules! delivery_columns {
    () => {
        "id, issuer_id, kind, client_id, target_url, payload, state, attempts, next_attempt_at, \
     lease_owner, lease_until, last_status, last_error, created_at, updated_at, webhook_id"
    };
}

#[derive(FromRow)]
pub(super) struct DeliveryRow {
    id: Uuid,
    issuer_id: Uuid,
    kind: String,
    client_id: Option<Uuid>,
    target_url: String,
    payload: String,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    lease_owner: Option<String>,
    lease_until: Option<i64>,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    webhook_id: Option<Uuid>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(row: DeliveryRow) -> Result<Self, StoreError> {
        Ok(Delivery {
            id: DeliveryId::from_uuid(row.id),
            issuer_id: IssuerId::from_uuid(row.issuer_id),
            kind: DeliveryKind::parse(&row.kind).ok_or_else(|| corrupt("delivery kind"))?,
            client_id: row.client_id.map(ClientId::from_uuid),
            webhook_id: row.webhook_id.map(WebhookId::from_uuid),
            target_url: row.target_url,
            payload: parse_json(&row.payload, "delivery payload")?,
            state: DeliveryState::parse(&row.state).ok_or_else(|| corrupt("delivery state"))?,
            attempts: u32::try_from(row.attempts).map_err(|_| corrupt("delivery attempts"))?,
            next_attempt_at: UnixTime(row.next_attempt_at),
            lease_owner: row.lease_owner,
            lease_until: row.lease_until.map(UnixTime),
            last_status: row
                .last_status
                .map(|s| u16::try_from(s).map_err(|_| corrupt("delivery status")))
                .transpose()?,
            last_error: row.last_error,
            created_at: UnixTime(row.created_at),
            updated_at: UnixTime(row.updated_at),
        })
    }
}
