//! `/core/v1/issuers`: issuers, their settings, and their signing keys.
//!
//! Settings travel as one nested object, `settings`, in requests and responses. In a PATCH,
//! each setting given replaces the stored one and the others stay; the numbers of `lockout`
//! and `password_policy` change one by one. In `signup`, `policy` and
//! `allowed_email_domains` are replaced together (domains without a policy are refused), and
//! `require_email_verification` changes on its own. A `null` setting is the same as an
//! absent one.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tessera_core::CoreError;
use tessera_core::issuers::{
    IssuerPatch, LockoutPatch, NewIssuer, PasswordPolicyPatch, SettingsPatch, SignupPatch,
};
use tessera_model::{Actor, Branding, BrandingParts, Issuer, IssuerSettings, SigningKey};
use utoipa::ToSchema;

use super::{CoreAuth, READ, WRITE, authorised_issuer};
use crate::AppState;
use crate::conventions::{
    JsonBody, PageQuery, QueryParams, created, double_option, encode_cursor, if_match, passed,
    with_etag,
};
use crate::problem::{ProblemDoc, core_error};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/core/v1/issuers", get(list_issuers).post(create_issuer))
        .route(
            "/core/v1/issuers/{slug}",
            get(get_issuer).patch(update_issuer).delete(delete_issuer),
        )
        .route("/core/v1/issuers/{slug}/keys", get(list_keys))
        .route("/core/v1/issuers/{slug}/keys/rotate", post(rotate_keys))
}

/// An issuer as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct IssuerOut {
    /// `iss_…`
    id: String,
    slug: String,
    display_name: String,
    /// `{public_url}/{slug}`: the issuer's `iss`.
    issuer_url: String,
    settings: SettingsOut,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    updated_at: i64,
}

/// An issuer's settings.
#[derive(Serialize, ToSchema)]
pub(crate) struct SettingsOut {
    /// Seconds.
    access_token_lifetime: i64,
    /// Seconds.
    id_token_lifetime: i64,
    /// Seconds.
    refresh_token_lifetime: i64,
    /// The JOSE algorithm the issuer signs with: `ES256`, `RS256` or `EdDSA`. ID tokens can
    /// also be RS256 (OIDC Discovery 1.0 §3); clients choose with
    /// `id_token_signed_response_alg`.
    signing_algorithm: String,
    signup: SignupOut,
    /// How many days events (and finished webhook deliveries) are kept, 1 to 3650; `null`:
    /// for ever.
    event_retention_days: Option<i64>,
    /// How many days a key signs before the issuer's keys are rotated on their own, 1 to
    /// 3650; `null`: only when rotated through `POST …/keys/rotate`.
    key_rotation_days: Option<i64>,
    lockout: LockoutOut,
    password_policy: PasswordPolicyOut,
    /// Whether people may delete their own accounts from the account pages (default
    /// `false`). Administrators can always delete users through this API.
    allow_account_deletion: bool,
    branding: BrandingDoc,
}

/// How the issuer's hosted pages look; every part optional. Replaced as a whole when given.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BrandingDoc {
    /// An absolute `https` URL of the logo shown above every page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logo_url: Option<String>,
    /// `#rrggbb` or `#rgb`: buttons, links and focus rings. The text on it is black or white,
    /// whichever contrasts more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    primary_color: Option<String>,
    /// `#rrggbb` or `#rgb`: the page behind the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    background_color: Option<String>,
    /// A stylesheet (at most 16 KiB) loaded after Tessera's, from Tessera, at
    /// `/{issuer}/branding.css`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    custom_css: Option<String>,
    /// An absolute `https` URL of the terms of service, linked from every page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    terms_url: Option<String>,
    /// An absolute `https` URL of the privacy policy, linked from every page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    privacy_url: Option<String>,
    /// Wording that replaces the pages' own, by language (`en`, `de`, `es`) then message id
    /// (e.g. `{"en": {"login-heading": "Welcome back to Acme"}}`); at most 200 in all, each
    /// 1 to 1000 characters. Message ids are those of the pages' catalogs
    /// (`crates/tessera-http/locales/en.ftl`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    texts: BTreeMap<String, BTreeMap<String, String>>,
}

impl BrandingDoc {
    fn of(branding: &Branding) -> Self {
        let parts = branding.parts();
        Self {
            logo_url: parts.logo_url,
            primary_color: parts.primary_color,
            background_color: parts.background_color,
            custom_css: parts.custom_css,
            terms_url: parts.terms_url,
            privacy_url: parts.privacy_url,
            texts: parts.texts,
        }
    }

    /// The parts, once every text names a message the pages have.
    fn into_parts(self) -> Result<BrandingParts, CoreError> {
        let unknown = self
            .texts
            .values()
            .flat_map(BTreeMap::keys)
            .find(|id| !crate::pages::i18n::has_message(id));
        if let Some(id) = unknown {
            return Err(CoreError::InvalidField {
                field: "settings.branding.texts",
                reason: format!(
                    "`{}` is not a message of the pages (see locales/en.ftl)",
                    id.chars().take(60).collect::<String>()
                ),
            });
        }
        Ok(BrandingParts {
            logo_url: self.logo_url,
            primary_color: self.primary_color,
            background_color: self.background_color,
            custom_css: self.custom_css,
            terms_url: self.terms_url,
            privacy_url: self.privacy_url,
            texts: self.texts,
        })
    }
}

/// Brute-force protection of the sign-in page. After each failure in a row an account waits
/// 1, 2, 4 … seconds (at most 60) before its next try; at `max_failures` it is locked for
/// `lock_seconds`. A network address is locked at `address_max_failures`. Counts are per
/// identifier typed, so unknown accounts behave like known ones.
#[derive(Serialize, ToSchema)]
pub(crate) struct LockoutOut {
    /// Failures in a row that lock an account, 3 to 100 (default 5).
    max_failures: i64,
    /// How long a lock lasts after the last failure, 60 to 86400 seconds (default 900).
    lock_seconds: i64,
    /// Failures from one IPv4 address or IPv6 /64 that lock it, 10 to 100000 (default 50).
    address_max_failures: i64,
}

/// What a password must be wherever it is set (sign-up, password change and reset, and
/// users created or changed through this API). Lengths count characters (Unicode scalar
/// values), not bytes. Whatever `min_strength` says, a password that is one of the 30,000
/// most common ones (in any case, with l33t substitutions such as `P@ssw0rd`, or reversed) is
/// refused. Passwords already set stay valid when the policy changes.
#[derive(Serialize, ToSchema)]
pub(crate) struct PasswordPolicyOut {
    /// The fewest characters, 8 to 128 (default 8).
    min_length: i64,
    /// The most characters, 128 to 4096 and not below `min_length` (default 1024).
    max_length: i64,
    /// The least zxcvbn strength score, 0 (any) to 4 (very hard to guess) (default 2). The
    /// user's email address, username and names, and the issuer's name, count against it.
    min_strength: i64,
}

/// Who may sign up.
#[derive(Serialize, ToSchema)]
pub(crate) struct SignupOut {
    /// `disabled`, `open` or `allowed_email_domains`.
    policy: String,
    allowed_email_domains: Vec<String>,
    /// Whether a new account must verify its email address before it can sign in or finish
    /// an authorization (default `true`).
    require_email_verification: bool,
}

/// A page of issuers.
#[derive(Serialize, ToSchema)]
pub(crate) struct IssuerPage {
    items: Vec<IssuerOut>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    next_cursor: Option<String>,
}

fn issuer_json(state: &AppState, issuer: &Issuer) -> IssuerOut {
    IssuerOut {
        id: issuer.id.to_string(),
        slug: issuer.slug.as_str().to_owned(),
        display_name: issuer.display_name.clone(),
        issuer_url: state.core.issuer_url(issuer),
        settings: settings_json(&issuer.settings),
        created_at: issuer.created_at.0,
        updated_at: issuer.updated_at.0,
    }
}

fn settings_json(settings: &IssuerSettings) -> SettingsOut {
    SettingsOut {
        access_token_lifetime: settings.access_token_lifetime(),
        id_token_lifetime: settings.id_token_lifetime(),
        refresh_token_lifetime: settings.refresh_token_lifetime(),
        signing_algorithm: settings.signing_algorithm().as_str().to_owned(),
        signup: SignupOut {
            policy: settings.signup().as_str().to_owned(),
            allowed_email_domains: settings.signup().domains().to_vec(),
            require_email_verification: settings.require_email_verification(),
        },
        event_retention_days: settings.event_retention_days(),
        key_rotation_days: settings.key_rotation_days(),
        lockout: LockoutOut {
            max_failures: settings.lockout().max_failures(),
            lock_seconds: settings.lockout().lock_seconds(),
            address_max_failures: settings.lockout().address_max_failures(),
        },
        password_policy: PasswordPolicyOut {
            min_length: settings.password_policy().min_length(),
            max_length: settings.password_policy().max_length(),
            min_strength: settings.password_policy().min_strength(),
        },
        allow_account_deletion: settings.allow_account_deletion(),
        branding: BrandingDoc::of(settings.branding()),
    }
}

/// The `settings` object of a create or update body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsBody {
    access_token_lifetime: Option<i64>,
    id_token_lifetime: Option<i64>,
    refresh_token_lifetime: Option<i64>,
    /// `ES256`, `RS256` or `EdDSA`. An algorithm whose keys already exist (RS256 always does)
    /// signs at once; another signs from the next key rotation.
    signing_algorithm: Option<String>,
    signup: Option<SignupBody>,
    /// Days to keep events (and finished webhook deliveries), 1 to 3650; `null` keeps them
    /// for ever (the default).
    #[serde(default, deserialize_with = "double_option")]
    event_retention_days: Option<Option<i64>>,
    /// Days a key signs before the keys rotate on their own (checked hourly), 1 to 3650;
    /// `null` rotates only on request (the default).
    #[serde(default, deserialize_with = "double_option")]
    key_rotation_days: Option<Option<i64>>,
    lockout: Option<LockoutBody>,
    password_policy: Option<PasswordPolicyBody>,
    /// Whether people may delete their own accounts (default `false`).
    allow_account_deletion: Option<bool>,
    branding: Option<BrandingDoc>,
}

/// `settings.password_policy`: the numbers given change, the others stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordPolicyBody {
    /// 8 to 128 characters.
    min_length: Option<i64>,
    /// 128 to 4096 characters, not below `min_length`.
    max_length: Option<i64>,
    /// 0 to 4.
    min_strength: Option<i64>,
}

/// `settings.lockout`: the numbers given change, the others stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LockoutBody {
    /// 3 to 100.
    max_failures: Option<i64>,
    /// 60 to 86400.
    lock_seconds: Option<i64>,
    /// 10 to 100000.
    address_max_failures: Option<i64>,
}

/// `settings.signup`: a policy and, for `allowed_email_domains`, its domains, replaced
/// together; and whether new accounts must verify their email address, changed on its own.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignupBody {
    /// `disabled`, `open` or `allowed_email_domains`; required with `allowed_email_domains`.
    policy: Option<String>,
    /// Only with the `allowed_email_domains` policy, which needs 1 to 100.
    allowed_email_domains: Option<Vec<String>>,
    /// Whether a new account must verify its email address before it can sign in.
    require_email_verification: Option<bool>,
}

impl SettingsBody {
    /// The patch the body asks for; refused when a branding text names no message.
    fn into_patch(self) -> Result<SettingsPatch, CoreError> {
        let body = self;
        let (signup, require_email_verification) = match body.signup {
            None => (None, None),
            Some(signup) => {
                let policy = match (signup.policy, signup.allowed_email_domains) {
                    (Some(policy), domains) => Some(SignupPatch {
                        policy,
                        allowed_email_domains: domains.unwrap_or_default(),
                    }),
                    (None, None) => None,
                    (None, Some(_)) => {
                        return Err(CoreError::InvalidField {
                            field: "settings.signup.policy",
                            reason: "give the policy with its domains: they are replaced together"
                                .to_owned(),
                        });
                    }
                };
                (policy, signup.require_email_verification)
            }
        };
        Ok(SettingsPatch {
            access_token_lifetime: body.access_token_lifetime,
            id_token_lifetime: body.id_token_lifetime,
            refresh_token_lifetime: body.refresh_token_lifetime,
            signing_algorithm: body.signing_algorithm,
            signup,
            require_email_verification,
            password_policy: body.password_policy.map(|policy| PasswordPolicyPatch {
                min_length: policy.min_length,
                max_length: policy.max_length,
                min_strength: policy.min_strength,
            }),
            allow_account_deletion: body.allow_account_deletion,
            event_retention_days: body.event_retention_days,
            key_rotation_days: body.key_rotation_days,
            lockout: body.lockout.map(|lockout| LockoutPatch {
                max_failures: lockout.max_failures,
                lock_seconds: lockout.lock_seconds,
                address_max_failures: lockout.address_max_failures,
            }),
            branding: body.branding.map(BrandingDoc::into_parts).transpose()?,
        })
    }
}

/// `POST /core/v1/issuers` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateIssuer {
    slug: String,
    display_name: String,
    settings: Option<SettingsBody>,
}

/// `PATCH /core/v1/issuers/{slug}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateIssuer {
    display_name: Option<String>,
    settings: Option<SettingsBody>,
}

/// `GET /core/v1/issuers`: a page of the issuers the caller may see.
#[utoipa::path(get, path = "/core/v1/issuers", tag = "issuers", params(PageQuery),
    responses((status = 200, description = "A page of the issuers the credential may see", body = IssuerPage), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn list_issuers(
    State(state): State<AppState>,
    auth: CoreAuth,
    QueryParams(query): QueryParams<PageQuery>,
) -> Response {
    if let Some(refusal) = auth.refusal_without(READ) {
        return refusal;
    }
    let page = passed!(query.page());
    match state.core.list_issuers(&auth.0, page).await {
        Ok(page) => Json(IssuerPage {
            items: page.items.iter().map(|i| issuer_json(&state, i)).collect(),
            next_cursor: page.next_after.map(encode_cursor),
        })
        .into_response(),
        Err(error) => core_error(&error),
    }
}

/// `POST /core/v1/issuers`.
#[utoipa::path(post, path = "/core/v1/issuers", tag = "issuers", params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response")), request_body = CreateIssuer,
    responses((status = 201, description = "Created", body = IssuerOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 422, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn create_issuer(
    State(state): State<AppState>,
    auth: CoreAuth,
    JsonBody(body): JsonBody<CreateIssuer>,
) -> Response {
    if let Some(refusal) = auth.refusal_without(WRITE) {
        return refusal;
    }
    let input = NewIssuer {
        slug: body.slug,
        display_name: body.display_name,
        settings: passed!(
            body.settings
                .unwrap_or_default()
                .into_patch()
                .map_err(|e| core_error(&e))
        ),
    };
    match state.core.create_issuer(&auth.0, input).await {
        Ok(issuer) => created(
            &format!("/core/v1/issuers/{}", issuer.slug),
            issuer.revision,
            issuer_json(&state, &issuer),
        ),
        Err(error) => core_error(&error),
    }
}

/// `GET /core/v1/issuers/{slug}`.
#[utoipa::path(get, path = "/core/v1/issuers/{slug}", tag = "issuers", params(("slug" = String, Path, description = "The issuer's slug")),
    responses((status = 200, description = "The issuer", body = IssuerOut), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn get_issuer(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
) -> Response {
    match authorised_issuer(&state, &auth, READ, &slug).await {
        Ok(issuer) => with_etag(issuer.revision, Json(issuer_json(&state, &issuer))),
        Err(response) => response,
    }
}

/// `PATCH /core/v1/issuers/{slug}`.
#[utoipa::path(patch, path = "/core/v1/issuers/{slug}", tag = "issuers", params(("slug" = String, Path, description = "The issuer's slug"), ("If-Match" = Option<String>, Header, description = "The ETag as read")),
    request_body = UpdateIssuer,
    responses((status = 200, description = "The changed issuer", body = IssuerOut), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn update_issuer(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateIssuer>,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, WRITE, &slug).await);
    let expected = passed!(if_match(&headers));
    let patch = IssuerPatch {
        display_name: body.display_name,
        settings: passed!(
            body.settings
                .unwrap_or_default()
                .into_patch()
                .map_err(|e| core_error(&e))
        ),
    };
    match state
        .core
        .update_issuer(&auth.0, &issuer, expected, patch)
        .await
    {
        Ok(issuer) => with_etag(issuer.revision, Json(issuer_json(&state, &issuer))),
        Err(error) => core_error(&error),
    }
}

/// `DELETE /core/v1/issuers/{slug}`.
#[utoipa::path(delete, path = "/core/v1/issuers/{slug}", tag = "issuers", params(("slug" = String, Path, description = "The issuer's slug"), ("If-Match" = Option<String>, Header, description = "The ETag as read")),
    responses((status = 204, description = "Deleted, with everything it owned"), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn delete_issuer(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, WRITE, &slug).await);
    let expected = passed!(if_match(&headers));
    match state.core.delete_issuer(&auth.0, &issuer, expected).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => core_error(&error),
    }
}

/// A signing key's public part.
#[derive(Serialize, ToSchema)]
pub(crate) struct KeyOut {
    /// The JOSE `kid`.
    kid: String,
    /// The JOSE `alg`.
    alg: String,
    /// `next` (published, not yet signing), `current` (signing) or `previous`.
    state: String,
    /// The public JWK (RFC 7517).
    #[schema(value_type = Object)]
    public_jwk: serde_json::Value,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds.
    updated_at: i64,
}

/// An issuer's published keys, oldest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct KeyList {
    items: Vec<KeyOut>,
}

fn keys_json(keys: &[SigningKey]) -> KeyList {
    KeyList {
        items: keys
            .iter()
            .map(|k| KeyOut {
                kid: k.id.to_string(),
                alg: k.algorithm.as_str().to_owned(),
                state: k.state.as_str().to_owned(),
                public_jwk: serde_json::from_str(&k.public_jwk).unwrap_or_default(),
                created_at: k.created_at.0,
                updated_at: k.updated_at.0,
            })
            .collect(),
    }
}

/// `GET /core/v1/issuers/{slug}/keys`: the published keys (public parts only).
#[utoipa::path(get, path = "/core/v1/issuers/{slug}/keys", tag = "issuers", params(("slug" = String, Path, description = "The issuer's slug")),
    responses((status = 200, description = "The published keys (public parts only)", body = KeyList), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc)),
    security(("bearer" = ["core:read"])))]
pub(crate) async fn list_keys(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, READ, &slug).await);
    match state.core.list_keys(&issuer).await {
        Ok(keys) => Json(keys_json(&keys)).into_response(),
        Err(error) => core_error(&error),
    }
}

/// `POST /core/v1/issuers/{slug}/keys/rotate`: next becomes current; a new next is made.
#[utoipa::path(post, path = "/core/v1/issuers/{slug}/keys/rotate", tag = "issuers", params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: a retry with the same key within 24 h returns the first response"), ("slug" = String, Path, description = "The issuer's slug")),
    responses((status = 200, description = "The keys after rotation: next became current", body = KeyList), (status = 400, response = ProblemDoc), (status = 401, response = ProblemDoc), (status = 403, response = ProblemDoc), (status = 404, response = ProblemDoc), (status = 409, response = ProblemDoc), (status = 412, response = ProblemDoc), (status = 413, response = ProblemDoc), (status = 422, response = ProblemDoc), (status = 415, response = ProblemDoc)),
    security(("bearer" = ["core:write"])))]
pub(crate) async fn rotate_keys(
    State(state): State<AppState>,
    auth: CoreAuth,
    Path(slug): Path<String>,
) -> Response {
    let issuer = passed!(authorised_issuer(&state, &auth, WRITE, &slug).await);
    let actor = Actor::AdminClient(auth.0.client_id);
    if let Err(error) = state.core.rotate_keys(&issuer, actor).await {
        return core_error(&error);
    }
    match state.core.list_keys(&issuer).await {
        Ok(keys) => Json(keys_json(&keys)).into_response(),
        Err(error) => core_error(&error),
    }
}
