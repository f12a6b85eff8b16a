//! Clients (applications) of an issuer: registration, changes, secret rotation.
//!
//! Registration is where a client's security is decided, so every setting is checked here, in
//! one visible order ([`check_settings`]), and again on every change (a patch is applied to
//! the stored client and the result checked as a whole):
//!
//! 1. the name is 1 to 200 characters;
//! 2. grant types are among `authorization_code`, `refresh_token` and `client_credentials`
//!    (none given means `authorization_code`); `client_credentials` is for confidential clients
//!    only (RFC 6749 §4.4) and `refresh_token` comes only with `authorization_code`;
//! 3. the token endpoint authentication method fits the client type: a public client cannot
//!    keep a secret and uses `none`; a confidential client uses `client_secret_basic` (the
//!    default), `client_secret_post` (RFC 6749 §2.3.1) or `private_key_jwt` (OIDC Core §9,
//!    RFC 7523 §2.2); `client_secret_jwt` is not offered;
//! 4. every redirect URI and post-logout redirect URI is a [`RedirectUri`], and
//!    `authorization_code` needs at least one redirect URI (RFC 6749 §3.1.2.2);
//! 5. allowed scopes are scope tokens (RFC 6749 §3.3);
//! 6. `id_token_signed_response_alg` (OIDC Dynamic Client Registration 1.0 §2), if given, is
//!    an algorithm the issuer keeps keys for: its own signing algorithm or RS256 (see `keys`);
//!    absent, ID tokens are signed with the issuer's algorithm;
//! 7. `access_token_format` is `jwt` (the default) or `opaque`, and a lifetime given
//!    (`access_token_lifetime`, `id_token_lifetime`, `refresh_token_lifetime`) is within the
//!    bounds of the issuer setting it overrides ([`ClientTokenSettings`]); `null` follows the
//!    issuer.
//! 7. `jwks` (RFC 7591 §2: the client's public keys, inline) is a [`PublicJwkSet`] — public
//!    EC P-256, RSA (2048–4096 bits) or Ed25519 keys, unique `kid`s, at most ten — and goes
//!    with `private_key_jwt` exactly: such a client has keys, and no other client has any.
//!
//! A client has one kind of credential: a secret (`client_secret_basic`/`_post`), keys
//! (`private_key_jwt`) or nothing (`none`). A `private_key_jwt` client has no secret: none is
//! made when it is registered, a secret is dropped when a client changes to `private_key_jwt`,
//! and rotating its secret is refused — its credential changes by replacing `jwks` (PATCH),
//! effective at once (every node's client cache drops the client: this one at once, the others
//! when the change notice arrives).
//! A client that changes from `private_key_jwt` to a secret method has no secret until it is
//! rotated. Public keys are not secrets: `jwks` is stored in clear, in its canonical form, and
//! shown by the API.
//! 7. `backchannel_logout_uri` (OpenID Connect Back-Channel Logout 1.0 §2.2), if given, is a
//!    [`BackchannelLogoutUri`]: the redirect URI rules, `https` or loopback `http`, no
//!    fragment. Whether the OP may call a loopback or private address is decided when it
//!    calls (the delivery worker's SSRF guard), not here.
//!
//! A confidential client's secret is a [`SecretToken`]: it exists in clear only in the
//! [`RegisteredClient`] returned by creation and rotation, and is stored as its SHA-256 hash
//! (ARCHITECTURE.md invariant 5). Rotation replaces the hash, so the old secret stops working
//! at once. Events (`client.created`, `client.updated`, `client.deleted`,
//! `client.secret_rotated`) never carry the secret or its hash.

use serde_json::{Value, json};
use tessera_crypto::SecretToken;
use tessera_crypto::jwk::PublicJwkSet;
use tessera_model::{
    AccessTokenFormat, Actor, BackchannelLogoutUri, Client, ClientId, ClientTokenSettings,
    ClientType, Issuer, KeyAlgorithm, NewEvent, RedirectUri, UnixTime,
};
use tessera_oauth::Scope;
use tessera_store::{Change, IssuerScope, Page, PageRequest, StoreError};

use crate::{Core, CoreError};

/// The longest client name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// The most redirect URIs (of each kind) a client may register.
const MAX_REDIRECT_URIS: usize = 100;

/// The grant types a client may be registered for.
const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// The grant type of a client registered without any.
const DEFAULT_GRANT_TYPE: &str = "authorization_code";

/// The method of clients that authenticate with a JWT signed by a key they registered.
const PRIVATE_KEY_JWT: &str = "private_key_jwt";

/// A client to register, as the Core API receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// Confidential or public; cannot change later.
    pub client_type: ClientType,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Where the client may ask to return after logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types by their RFC names; empty means `authorization_code`.
    pub grant_types: Vec<String>,
    /// `client_secret_basic` (default for confidential clients), `client_secret_post`, or
    /// `none` (public clients).
    pub token_endpoint_auth_method: Option<String>,
    /// Scope tokens the client may request.
    pub allowed_scopes: Vec<String>,
    /// First-party clients skip consent.
    pub first_party: bool,
    /// The algorithm of the client's ID tokens (`ES256`, `RS256`, `EdDSA`); `None`: the
    /// issuer's.
    pub id_token_signed_response_alg: Option<String>,
    /// `jwt` (default) or `opaque`.
    pub access_token_format: Option<String>,
    /// The access-token lifetime in seconds; `None`: the issuer's.
    pub access_token_lifetime: Option<i64>,
    /// The ID-token lifetime in seconds; `None`: the issuer's.
    pub id_token_lifetime: Option<i64>,
    /// The refresh-token lifetime in seconds; `None`: the issuer's.
    pub refresh_token_lifetime: Option<i64>,
    /// The public keys of a `private_key_jwt` client, a JWK Set (RFC 7591 §2 `jwks`).
    pub jwks: Option<Value>,
    /// Where logout tokens are POSTed when a session of this client ends (OpenID Connect
    /// Back-Channel Logout 1.0 §2.2); `None`: no back-channel logout.
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client requires `sid` in logout tokens (§2.2; Tessera always sends it).
    pub backchannel_logout_session_required: bool,
}

impl NewClient {
    /// A client named `name` with every other setting at its default: no redirect URIs, the
    /// `authorization_code` grant, the type's default authentication method, no scopes, not
    /// first-party, the issuer's algorithm, format and lifetimes, no keys, no back-channel
    /// logout. Set what differs with struct update syntax.
    pub fn new(name: impl Into<String>, client_type: ClientType) -> Self {
        Self {
            name: name.into(),
            client_type,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            token_endpoint_auth_method: None,
            allowed_scopes: Vec::new(),
            first_party: false,
            id_token_signed_response_alg: None,
            access_token_format: None,
            access_token_lifetime: None,
            id_token_lifetime: None,
            refresh_token_lifetime: None,
            jwks: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        }
    }
}

/// A change to a client: each field given replaces the stored one. The client type never
/// changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientPatch {
    /// New display name.
    pub name: Option<String>,
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// New post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// New grant types (empty means `authorization_code`).
    pub grant_types: Option<Vec<String>>,
    /// New token endpoint authentication method.
    pub token_endpoint_auth_method: Option<String>,
    /// New allowed scopes.
    pub allowed_scopes: Option<Vec<String>>,
    /// New first-party flag.
    pub first_party: Option<bool>,
    /// New ID token signing algorithm; `Some(None)` goes back to the issuer's algorithm.
    pub id_token_signed_response_alg: Option<Option<String>>,
    /// New access-token format.
    pub access_token_format: Option<String>,
    /// New access-token lifetime; `Some(None)` follows the issuer again.
    pub access_token_lifetime: Option<Option<i64>>,
    /// New ID-token lifetime; `Some(None)` follows the issuer again.
    pub id_token_lifetime: Option<Option<i64>>,
    /// New refresh-token lifetime; `Some(None)` follows the issuer again.
    pub refresh_token_lifetime: Option<Option<i64>>,
    /// New public keys (they replace the old ones at once); `Some(None)` removes them.
    pub jwks: Option<Option<Value>>,
    /// New back-channel logout URI; `Some(None)` removes it.
    pub backchannel_logout_uri: Option<Option<String>>,
    /// New `backchannel_logout_session_required`.
    pub backchannel_logout_session_required: Option<bool>,
}

/// A client just registered or whose secret was just rotated: the only moment its secret
/// exists in clear.
#[derive(Debug)]
pub struct RegisteredClient {
    /// The client as stored.
    pub client: Client,
    /// The client secret, to be shown once (`None` for public clients).
    pub client_secret: Option<SecretToken>,
}

/// A client's settings after [`check_settings`]: normalized and valid.
#[derive(Debug, PartialEq, Eq)]
struct Settings {
    name: String,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    token_endpoint_auth_method: String,
    allowed_scopes: Vec<String>,
    first_party: bool,
    id_token_signed_response_alg: Option<KeyAlgorithm>,
    token_settings: ClientTokenSettings,
    /// The canonical text of the client's [`PublicJwkSet`].
    jwks: Option<String>,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: bool,
}

impl Settings {
    fn of(client: &Client) -> Self {
        Self {
            name: client.name.clone(),
            redirect_uris: client.redirect_uris.clone(),
            post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
            grant_types: client.grant_types.clone(),
            token_endpoint_auth_method: client.token_endpoint_auth_method.clone(),
            allowed_scopes: client.allowed_scopes.clone(),
            first_party: client.first_party,
            id_token_signed_response_alg: client.id_token_signed_response_alg,
            token_settings: client.token_settings,
            jwks: client.jwks.clone(),
            backchannel_logout_uri: client.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: client.backchannel_logout_session_required,
        }
    }

    fn apply_to(self, client: &mut Client) {
        client.name = self.name;
        client.redirect_uris = self.redirect_uris;
        client.post_logout_redirect_uris = self.post_logout_redirect_uris;
        client.grant_types = self.grant_types;
        client.token_endpoint_auth_method = self.token_endpoint_auth_method;
        client.allowed_scopes = self.allowed_scopes;
        client.first_party = self.first_party;
        client.id_token_signed_response_alg = self.id_token_signed_response_alg;
        client.token_settings = self.token_settings;
        client.jwks = self.jwks;
        // A client has one kind of credential: keys replace a secret.
        if client.token_endpoint_auth_method == PRIVATE_KEY_JWT {
            client.secret_hash = None;
        }
        client.backchannel_logout_uri = self.backchannel_logout_uri;
        client.backchannel_logout_session_required = self.backchannel_logout_session_required;
    }

    /// The names of the fields that differ from `other`, as the API spells them.
    fn changed_fields(&self, other: &Self) -> Vec<&'static str> {
        [
            ("name", self.name != other.name),
            ("redirect_uris", self.redirect_uris != other.redirect_uris),
            (
                "post_logout_redirect_uris",
                self.post_logout_redirect_uris != other.post_logout_redirect_uris,
            ),
            ("grant_types", self.grant_types != other.grant_types),
            (
                "token_endpoint_auth_method",
                self.token_endpoint_auth_method != other.token_endpoint_auth_method,
            ),
            (
                "allowed_scopes",
                self.allowed_scopes != other.allowed_scopes,
            ),
            ("first_party", self.first_party != other.first_party),
            (
                "id_token_signed_response_alg",
                self.id_token_signed_response_alg != other.id_token_signed_response_alg,
            ),
            (
                "access_token_format",
                self.token_settings.access_token_format()
                    != other.token_settings.access_token_format(),
            ),
            (
                "access_token_lifetime",
                self.token_settings.access_token_lifetime_override()
                    != other.token_settings.access_token_lifetime_override(),
            ),
            (
                "id_token_lifetime",
                self.token_settings.id_token_lifetime_override()
                    != other.token_settings.id_token_lifetime_override(),
            ),
            (
                "refresh_token_lifetime",
                self.token_settings.refresh_token_lifetime_override()
                    != other.token_settings.refresh_token_lifetime_override(),
            ),
            ("jwks", self.jwks != other.jwks),
            (
                "backchannel_logout_uri",
                self.backchannel_logout_uri != other.backchannel_logout_uri,
            ),
            (
                "backchannel_logout_session_required",
                self.backchannel_logout_session_required
                    != other.backchannel_logout_session_required,
            ),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect()
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> CoreError {
    CoreError::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// A value from the input, cut short enough to quote in an error.
fn quoted(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() <= MAX {
        format!("`{value}`")
    } else {
        format!("`{}…`", value.chars().take(MAX).collect::<String>())
    }
}

/// Every rule of the module documentation, in its order.
fn check_settings(issuer: &Issuer, input: &NewClient) -> Result<Settings, CoreError> {
    let name = check_name(&input.name)?;
    let grant_types = check_grant_types(input.client_type, &input.grant_types)?;
    let token_endpoint_auth_method = check_auth_method(
        input.client_type,
        input.token_endpoint_auth_method.as_deref(),
    )?;
    let redirect_uris = check_redirect_uris("redirect_uris", &input.redirect_uris)?;
    let post_logout_redirect_uris = check_redirect_uris(
        "post_logout_redirect_uris",
        &input.post_logout_redirect_uris,
    )?;
    // RFC 6749 §3.1.2.2: a client of the code grant registers where codes may be sent; without
    // one, any code would have nowhere safe to go.
    if grant_types.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
        return Err(invalid(
            "redirect_uris",
            "a client of the authorization_code grant registers at least one redirect URI",
        ));
    }
    let allowed_scopes = check_scopes(&input.allowed_scopes)?;
    let id_token_signed_response_alg =
        check_id_token_alg(issuer, input.id_token_signed_response_alg.as_deref())?;
    let format = input
        .access_token_format
        .as_deref()
        .map(AccessTokenFormat::parse)
        .transpose()?
        .unwrap_or_default();
    let token_settings = ClientTokenSettings::default()
        .with_access_token_format(format)
        .with_access_token_lifetime(input.access_token_lifetime)?
        .with_id_token_lifetime(input.id_token_lifetime)?
        .with_refresh_token_lifetime(input.refresh_token_lifetime)?;
    let jwks = check_jwks(&token_endpoint_auth_method, input.jwks.as_ref())?;
    let backchannel_logout_uri =
        check_backchannel_logout_uri(input.backchannel_logout_uri.as_deref())?;
    Ok(Settings {
        name,
        redirect_uris,
        post_logout_redirect_uris,
        grant_types,
        token_endpoint_auth_method,
        allowed_scopes,
        first_party: input.first_party,
        id_token_signed_response_alg,
        token_settings,
        jwks,
        backchannel_logout_uri,
        backchannel_logout_session_required: input.backchannel_logout_session_required,
    })
}

fn check_name(name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid("name", "a client name is 1 to 200 characters long"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "a client name has no control characters"));
    }
    Ok(name.to_owned())
}

fn check_grant_types(
    client_type: ClientType,
    grant_types: &[String],
) -> Result<Vec<String>, CoreError> {
    if grant_types.is_empty() {
        return Ok(vec![DEFAULT_GRANT_TYPE.to_owned()]);
    }
    let mut kept: Vec<String> = Vec::new();
    for grant in grant_types {
        match grant.as_str() {
            g if GRANT_TYPES.contains(&g) => {
                if !kept.contains(grant) {
                    kept.push(grant.clone());
                }
            }
            // RFC 9700 §2.1.2 and §2.4: the implicit and password grants are not offered.
            "implicit" | "password" => {
                return Err(invalid(
                    "grant_types",
                    format!(
                        "the {grant} grant is not offered (RFC 9700); use authorization_code \
                         with PKCE"
                    ),
                ));
            }
            other => {
                return Err(invalid(
                    "grant_types",
                    format!(
                        "{} is not a supported grant type: use authorization_code, \
                         refresh_token or client_credentials",
                        quoted(other)
                    ),
                ));
            }
        }
    }
    // RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential
    // clients."
    if client_type == ClientType::Public && kept.iter().any(|g| g == "client_credentials") {
        return Err(invalid(
            "grant_types",
            "client_credentials is only for confidential clients (RFC 6749 section 4.4)",
        ));
    }
    // Refresh tokens are issued only by the code grant (RFC 6749 §4.4.3: none with client
    // credentials), so refresh_token alone would be a grant the client can never use.
    if kept.iter().any(|g| g == "refresh_token") && !kept.iter().any(|g| g == "authorization_code")
    {
        return Err(invalid(
            "grant_types",
            "refresh_token is only useful together with authorization_code",
        ));
    }
    Ok(kept)
}

fn check_auth_method(client_type: ClientType, method: Option<&str>) -> Result<String, CoreError> {
    const FIELD: &str = "token_endpoint_auth_method";
    let method = match (client_type, method) {
        // RFC 6749 §2.1: a public client cannot keep a secret, so it does not authenticate.
        (ClientType::Public, None | Some("none")) => "none",
        (ClientType::Public, Some(_)) => {
            return Err(invalid(
                FIELD,
                "a public client cannot keep a secret and uses `none` (RFC 6749 section 2.1)",
            ));
        }
        (ClientType::Confidential, None) => "client_secret_basic",
        // RFC 6749 §2.3.1: HTTP Basic must be supported; the body parameters may be.
        (ClientType::Confidential, Some(m @ ("client_secret_basic" | "client_secret_post"))) => m,
        // OIDC Core §9: a JWT signed with a key the client registered (see `check_jwks`).
        (ClientType::Confidential, Some(PRIVATE_KEY_JWT)) => PRIVATE_KEY_JWT,
        (ClientType::Confidential, Some("none")) => {
            return Err(invalid(
                FIELD,
                "a confidential client authenticates at the token endpoint (RFC 6749 section \
                 2.3.1): use client_secret_basic, client_secret_post or private_key_jwt",
            ));
        }
        (ClientType::Confidential, Some("client_secret_jwt")) => {
            return Err(invalid(
                FIELD,
                "client_secret_jwt is not offered: use private_key_jwt, client_secret_basic or \
                 client_secret_post",
            ));
        }
        (ClientType::Confidential, Some(other)) => {
            return Err(invalid(
                FIELD,
                format!(
                    "{} is not a supported method: use client_secret_basic, \
                     client_secret_post or private_key_jwt",
                    quoted(other)
                ),
            ));
        }
    };
    Ok(method.to_owned())
}

/// Every URI parses as a [`RedirectUri`]; exact duplicates are kept once, in order.
fn check_redirect_uris(field: &'static str, uris: &[String]) -> Result<Vec<String>, CoreError> {
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(invalid(
            field,
            format!("a client registers at most {MAX_REDIRECT_URIS} URIs here"),
        ));
    }
    let mut kept: Vec<String> = Vec::new();
    for (index, text) in uris.iter().enumerate() {
        let uri = RedirectUri::parse(text)
            .map_err(|e| invalid(field, format!("{field}[{index}]: {e}")))?;
        if !kept.iter().any(|k| k == uri.as_str()) {
            kept.push(uri.as_str().to_owned());
        }
    }
    Ok(kept)
}

/// RFC 6749 §3.3: each allowed scope is a scope token; duplicates are kept once.
fn check_scopes(scopes: &[String]) -> Result<Vec<String>, CoreError> {
    let scope = Scope::from_tokens(scopes).map_err(|e| invalid("allowed_scopes", e.description))?;
    Ok(scope.iter().map(str::to_owned).collect())
}

/// OIDC Dynamic Client Registration 1.0 §2: the client's ID tokens are signed with `name`,
/// which must be an algorithm the issuer keeps a key chain for (its own and RS256).
fn check_id_token_alg(
    issuer: &Issuer,
    name: Option<&str>,
) -> Result<Option<KeyAlgorithm>, CoreError> {
    const FIELD: &str = "id_token_signed_response_alg";
    let Some(name) = name else {
        return Ok(None);
    };
    let algorithm = KeyAlgorithm::parse(name).ok_or_else(|| {
        invalid(
            FIELD,
            format!(
                "{} is not a supported algorithm: use ES256, RS256 or EdDSA",
                quoted(name)
            ),
        )
    })?;
    let configured = issuer.settings.signing_algorithm();
    if algorithm != KeyAlgorithm::Rs256 && algorithm != configured {
        return Err(invalid(
            FIELD,
            format!(
                "this issuer signs with {} and RS256 only: use one of those, or set the \
                 issuer's signing_algorithm to {}",
                configured.as_str(),
                algorithm.as_str()
            ),
        ));
    }
    Ok(Some(algorithm))
}

/// RFC 7591 §2 `jwks`: a [`PublicJwkSet`], given exactly when the method is `private_key_jwt`.
/// Returns its canonical text.
fn check_jwks(method: &str, jwks: Option<&Value>) -> Result<Option<String>, CoreError> {
    const FIELD: &str = "jwks";
    match (method == PRIVATE_KEY_JWT, jwks) {
        (true, Some(jwks)) => {
            let set = PublicJwkSet::parse(jwks).map_err(|e| invalid(FIELD, e.to_string()))?;
            Ok(Some(set.to_json().to_string()))
        }
        (true, None) => Err(invalid(
            FIELD,
            "a private_key_jwt client registers its public keys in jwks (a JWK Set)",
        )),
        (false, None) => Ok(None),
        (false, Some(_)) => Err(invalid(
            FIELD,
            "jwks is only for private_key_jwt clients: set token_endpoint_auth_method to \
             private_key_jwt, or remove jwks (null)",
        )),
    }
}

/// The stored canonical text of a JWK Set as JSON (it was written by [`PublicJwkSet`], so it
/// parses; anything else would be shown as absent and refused by the next check).
pub fn jwks_json(text: Option<&str>) -> Option<Value> {
    text.and_then(|text| serde_json::from_str(text).ok())
}

/// OpenID Connect Back-Channel Logout 1.0 §2.2: an absolute web URI without a fragment.
fn check_backchannel_logout_uri(text: Option<&str>) -> Result<Option<String>, CoreError> {
    text.map(|text| {
        BackchannelLogoutUri::parse(text)
            .map(BackchannelLogoutUri::into_string)
            .map_err(|e| invalid("backchannel_logout_uri", e.to_string()))
    })
    .transpose()
}

/// A client that is not found in this issuer is [`CoreError::NotFound`], whatever the reason.
fn not_found_as_core(error: StoreError) -> CoreError {
    match error {
        StoreError::NotFound => CoreError::NotFound,
        other => CoreError::Store(other),
    }
}

/// A new client of `issuer` made from `input` at `now`, checked by every rule, with its secret
/// if it gets one; not stored yet. What [`Core::create_client`] stores, and what the seeder
/// stores by the thousand.
pub(crate) fn new_client(
    issuer: &Issuer,
    input: &NewClient,
    now: UnixTime,
) -> Result<RegisteredClient, CoreError> {
    let settings = check_settings(issuer, input)?;
    // Only the secret methods get a secret; `private_key_jwt` clients have keys instead.
    let secret = (input.client_type == ClientType::Confidential
        && settings.token_endpoint_auth_method != PRIVATE_KEY_JWT)
        .then(SecretToken::generate);
    let mut client = Client {
        id: ClientId::new(),
        issuer_id: issuer.id,
        name: String::new(),
        client_type: input.client_type,
        secret_hash: secret.as_ref().map(|s| *s.hash().as_bytes()),
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        grant_types: Vec::new(),
        token_endpoint_auth_method: String::new(),
        allowed_scopes: Vec::new(),
        first_party: false,
        allowed_issuers: None,
        id_token_signed_response_alg: None,
        token_settings: ClientTokenSettings::default(),
        jwks: None,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        created_at: now,
        updated_at: now,
        revision: 1,
    };
    settings.apply_to(&mut client);
    Ok(RegisteredClient {
        client,
        client_secret: secret,
    })
}

impl Core {
    /// Registers a client at `issuer`; a confidential client gets its secret, returned once.
    pub async fn create_client(
        &self,
        issuer: &Issuer,
        input: NewClient,
        actor: Actor,
    ) -> Result<RegisteredClient, CoreError> {
        let now = self.clock.now();
        let registered = new_client(issuer, &input, now)?;
        let client = &registered.client;
        let event = NewEvent::new(
            "client.created",
            client.id,
            actor,
            json!({
                "name": client.name,
                "client_type": client.client_type.as_str(),
                "redirect_uris": client.redirect_uris,
                "post_logout_redirect_uris": client.post_logout_redirect_uris,
                "grant_types": client.grant_types,
                "token_endpoint_auth_method": client.token_endpoint_auth_method,
                "allowed_scopes": client.allowed_scopes,
                "first_party": client.first_party,
                "id_token_signed_response_alg":
                    client.id_token_signed_response_alg.map(|a| a.as_str()),
                "access_token_format": client.token_settings.access_token_format().as_str(),
                "access_token_lifetime":
                    client.token_settings.access_token_lifetime_override(),
                "id_token_lifetime": client.token_settings.id_token_lifetime_override(),
                "refresh_token_lifetime":
                    client.token_settings.refresh_token_lifetime_override(),
                "jwks": jwks_json(client.jwks.as_deref()),
                "backchannel_logout_uri": client.backchannel_logout_uri,
                "backchannel_logout_session_required": client.backchannel_logout_session_required,
            }),
            now,
        );
        self.store
            .clients()
            .create(IssuerScope::of(issuer), client, &event)
            .await?;
        Ok(registered)
    }

    /// A client of `issuer`; [`CoreError::NotFound`] if `issuer` has none with this id.
    pub async fn get_client(&self, issuer: &Issuer, id: ClientId) -> Result<Client, CoreError> {
        self.store
            .clients()
            .find(IssuerScope::of(issuer), id)
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// The clients of `issuer`, in creation order.
    pub async fn list_clients(
        &self,
        issuer: &Issuer,
        page: PageRequest,
    ) -> Result<Page<Client>, CoreError> {
        Ok(self
            .store
            .clients()
            .list(IssuerScope::of(issuer), page)
            .await?)
    }

    /// Applies `patch` to a client and checks the result as a whole. With
    /// `expected_revision`, a client changed since that revision is a
    /// [`StoreError::Conflict`] (`If-Match`). A patch that changes nothing writes nothing.
    pub async fn update_client(
        &self,
        issuer: &Issuer,
        id: ClientId,
        expected_revision: Option<i64>,
        patch: ClientPatch,
        actor: Actor,
    ) -> Result<Client, CoreError> {
        let mut client = self.get_client(issuer, id).await?;
        if expected_revision.is_some_and(|expected| expected != client.revision) {
            return Err(CoreError::Store(StoreError::Conflict));
        }
        let merged = NewClient {
            name: patch.name.unwrap_or_else(|| client.name.clone()),
            client_type: client.client_type,
            redirect_uris: patch
                .redirect_uris
                .unwrap_or_else(|| client.redirect_uris.clone()),
            post_logout_redirect_uris: patch
                .post_logout_redirect_uris
                .unwrap_or_else(|| client.post_logout_redirect_uris.clone()),
            grant_types: patch
                .grant_types
                .unwrap_or_else(|| client.grant_types.clone()),
            token_endpoint_auth_method: Some(
                patch
                    .token_endpoint_auth_method
                    .unwrap_or_else(|| client.token_endpoint_auth_method.clone()),
            ),
            allowed_scopes: patch
                .allowed_scopes
                .unwrap_or_else(|| client.allowed_scopes.clone()),
            first_party: patch.first_party.unwrap_or(client.first_party),
            id_token_signed_response_alg: match patch.id_token_signed_response_alg {
                Some(given) => given,
                None => client
                    .id_token_signed_response_alg
                    .map(|a| a.as_str().to_owned()),
            },
            access_token_format: Some(patch.access_token_format.unwrap_or_else(|| {
                client
                    .token_settings
                    .access_token_format()
                    .as_str()
                    .to_owned()
            })),
            access_token_lifetime: patch
                .access_token_lifetime
                .unwrap_or(client.token_settings.access_token_lifetime_override()),
            id_token_lifetime: patch
                .id_token_lifetime
                .unwrap_or(client.token_settings.id_token_lifetime_override()),
            refresh_token_lifetime: patch
                .refresh_token_lifetime
                .unwrap_or(client.token_settings.refresh_token_lifetime_override()),
            jwks: match patch.jwks {
                Some(given) => given,
                None => jwks_json(client.jwks.as_deref()),
            },
            backchannel_logout_uri: patch
                .backchannel_logout_uri
                .unwrap_or_else(|| client.backchannel_logout_uri.clone()),
            backchannel_logout_session_required: patch
                .backchannel_logout_session_required
                .unwrap_or(client.backchannel_logout_session_required),
        };
        let settings = check_settings(issuer, &merged)?;
        let changed = settings.changed_fields(&Settings::of(&client));
        if changed.is_empty() {
            return Ok(client);
        }
        let now = self.clock.now();
        settings.apply_to(&mut client);
        client.updated_at = now;
        let event = NewEvent::new(
            "client.updated",
            client.id,
            actor,
            json!({ "changed": changed }),
            now,
        );
        let updated = self
            .store
            .clients()
            .update(IssuerScope::of(issuer), &client, &event)
            .await
            .map_err(not_found_as_core)?;
        self.invalidate(Change::Client(issuer.id, updated.id)).await;
        Ok(updated)
    }

    /// Deletes a client; its tokens stop being issued at once. With `expected_revision`,
    /// refuses if the client changed since it was read (checked by the delete itself).
    pub async fn delete_client(
        &self,
        issuer: &Issuer,
        id: ClientId,
        expected_revision: Option<i64>,
        actor: Actor,
    ) -> Result<(), CoreError> {
        let client = self.get_client(issuer, id).await?;
        let event = NewEvent::new(
            "client.deleted",
            client.id,
            actor,
            json!({ "name": client.name }),
            self.clock.now(),
        );
        self.store
            .clients()
            .delete(IssuerScope::of(issuer), id, expected_revision, &event)
            .await
            .map_err(not_found_as_core)?;
        self.invalidate(Change::Client(issuer.id, id)).await;
        Ok(())
    }

    /// Gives a confidential client a new secret, returned once; the old one stops working at
    /// once (its hash is replaced). A public client has no secret to rotate.
    pub async fn rotate_client_secret(
        &self,
        issuer: &Issuer,
        id: ClientId,
        actor: Actor,
    ) -> Result<RegisteredClient, CoreError> {
        let mut client = self.get_client(issuer, id).await?;
        if client.client_type != ClientType::Confidential {
            return Err(CoreError::Invalid(
                "a public client has no secret to rotate".to_owned(),
            ));
        }
        if client.token_endpoint_auth_method == PRIVATE_KEY_JWT {
            return Err(CoreError::Invalid(
                "a private_key_jwt client has no secret: replace its keys by changing jwks"
                    .to_owned(),
            ));
        }
        let secret = SecretToken::generate();
        let now = self.clock.now();
        client.secret_hash = Some(*secret.hash().as_bytes());
        client.updated_at = now;
        let event = NewEvent::new("client.secret_rotated", client.id, actor, json!({}), now);
        let client = self
            .store
            .clients()
            .update(IssuerScope::of(issuer), &client, &event)
            .await
            .map_err(not_found_as_core)?;
        self.invalidate(Change::Client(issuer.id, client.id)).await;
        Ok(RegisteredClient {
            client,
            client_secret: Some(secret),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use tessera_crypto::SecretHash;
    use tessera_crypto::jws::{Algorithm, Signer};
    use tessera_model::{
        Actor, ClientId, ClientType, Clock as _, FixedClock, Issuer, KeyAlgorithm, UnixTime,
    };
    use tessera_oauth::{ClientAuth, ErrorCode, TokenRequest};
    use tessera_store::{IssuerScope, PageRequest, StoreError};

    use super::{ClientPatch, NewClient};
    use crate::{Core, CoreError};

    struct Fixture {
        core: Core,
        clock: Arc<FixedClock>,
        /// The issuer clients are made at.
        issuer: Issuer,
        /// Another issuer, for isolation.
        other: Issuer,
        db: tessera_store::contract::TestStore,
    }

    async fn fixture() -> Fixture {
        let (core, clock, db) = crate::test_core().await;
        let builtin = core.ensure_builtin_issuers().await.unwrap();
        Fixture {
            core,
            clock,
            issuer: builtin.default,
            other: builtin.system,
            db,
        }
    }

    fn web_app() -> NewClient {
        NewClient {
            redirect_uris: vec!["https://app.example.com/callback".to_owned()],
            allowed_scopes: vec!["openid".to_owned(), "profile".to_owned()],
            ..NewClient::new("Web app", ClientType::Confidential)
        }
    }

    fn service() -> NewClient {
        NewClient {
            name: "Billing service".to_owned(),
            client_type: ClientType::Confidential,
            redirect_uris: vec![],
            grant_types: vec!["client_credentials".to_owned()],
            allowed_scopes: vec!["invoices:read".to_owned()],
            ..web_app()
        }
    }

    fn native_app() -> NewClient {
        NewClient {
            name: "Mobile app".to_owned(),
            client_type: ClientType::Public,
            redirect_uris: vec![
                "com.example.app:/callback".to_owned(),
                "http://127.0.0.1/callback".to_owned(),
            ],
            ..web_app()
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The field and reason of an `InvalidField` refusal.
    async fn refusal(f: &Fixture, input: NewClient) -> (&'static str, String) {
        match f.core.create_client(&f.issuer, input, Actor::System).await {
            Err(CoreError::InvalidField { field, reason }) => (field, reason),
            other => panic!("expected InvalidField, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn token_settings_are_checked_and_a_patch_can_return_to_the_issuers() {
        let f = fixture().await;
        let (field, reason) = refusal(
            &f,
            NewClient {
                access_token_format: Some("reference".to_owned()),
                ..web_app()
            },
        )
        .await;
        assert_eq!(
            (field, reason.as_str()),
            ("access_token_format", "must be `jwt` or `opaque`")
        );
        for (input, expected) in [
            (
                NewClient {
                    access_token_lifetime: Some(59),
                    ..web_app()
                },
                "access_token_lifetime",
            ),
            (
                NewClient {
                    id_token_lifetime: Some(86_401),
                    ..web_app()
                },
                "id_token_lifetime",
            ),
            (
                NewClient {
                    refresh_token_lifetime: Some(-1),
                    ..web_app()
                },
                "refresh_token_lifetime",
            ),
        ] {
            assert_eq!(refusal(&f, input).await.0, expected);
        }

        let registered = f
            .core
            .create_client(
                &f.issuer,
                NewClient {
                    access_token_format: Some("opaque".to_owned()),
                    access_token_lifetime: Some(300),
                    ..web_app()
                },
                Actor::System,
            )
            .await
            .unwrap();
        let settings = registered.client.token_settings;
        assert_eq!(settings.access_token_format().as_str(), "opaque");
        assert_eq!(settings.access_token_lifetime(&f.issuer.settings), 300);
        let patched = f
            .core
            .update_client(
                &f.issuer,
                registered.client.id,
                None,
                ClientPatch {
                    access_token_lifetime: Some(None),
                    id_token_lifetime: Some(Some(600)),
                    ..ClientPatch::default()
                },
                Actor::System,
            )
            .await
            .unwrap();
        let settings = patched.token_settings;
        assert_eq!(
            settings.access_token_lifetime(&f.issuer.settings),
            f.issuer.settings.access_token_lifetime()
        );
        assert_eq!(settings.id_token_lifetime(&f.issuer.settings), 600);
        assert_eq!(settings.access_token_format().as_str(), "opaque", "kept");
    }

    #[tokio::test]
    async fn an_id_token_algorithm_is_one_the_issuer_keeps_keys_for() {
        let f = fixture().await;
        let with_alg = |alg: &str| NewClient {
            id_token_signed_response_alg: Some(alg.to_owned()),
            ..web_app()
        };
        let registered = f
            .core
            .create_client(&f.issuer, with_alg("RS256"), Actor::System)
            .await
            .unwrap();
        assert_eq!(
            registered.client.id_token_signed_response_alg,
            Some(KeyAlgorithm::Rs256)
        );
        let own = f
            .core
            .create_client(&f.issuer, with_alg("ES256"), Actor::System)
            .await
            .unwrap();
        assert_eq!(
            own.client.id_token_signed_response_alg,
            Some(KeyAlgorithm::Es256)
        );
        for (alg, needle) in [("EdDSA", "ES256 and RS256"), ("HS256", "not a supported")] {
            let (field, reason) = refusal(&f, with_alg(alg)).await;
            assert_eq!(field, "id_token_signed_response_alg");
            assert!(reason.contains(needle), "{alg}: {reason}");
        }
        // A change is checked as a registration is.
        let refused = f
            .core
            .update_client(
                &f.issuer,
                registered.client.id,
                None,
                ClientPatch {
                    id_token_signed_response_alg: Some(Some("EdDSA".to_owned())),
                    ..ClientPatch::default()
                },
                Actor::System,
            )
            .await;
        assert!(matches!(
            refused,
            Err(CoreError::InvalidField {
                field: "id_token_signed_response_alg",
                ..
            })
        ));
        let changed = f
            .core
            .update_client(
                &f.issuer,
                registered.client.id,
                None,
                ClientPatch {
                    id_token_signed_response_alg: Some(Some("ES256".to_owned())),
                    ..ClientPatch::default()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(
            changed.id_token_signed_response_alg,
            Some(KeyAlgorithm::Es256)
        );
        let cleared = f
            .core
            .update_client(
                &f.issuer,
                registered.client.id,
                None,
                ClientPatch {
                    id_token_signed_response_alg: Some(None),
                    ..ClientPatch::default()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(cleared.id_token_signed_response_alg, None);
    }

    fn basic(id: &str, secret: &str) -> ClientAuth {
        ClientAuth::Basic {
            client_id: id.to_owned(),
            client_secret: secret.to_owned(),
        }
    }

    fn client_credentials() -> TokenRequest {
        TokenRequest::ClientCredentials { scope: None }
    }

    #[tokio::test]
    async fn a_confidential_client_gets_a_secret_stored_only_as_its_hash() {
        let f = fixture().await;
        let registered = f
            .core
            .create_client(&f.issuer, web_app(), Actor::System)
            .await
            .unwrap();
        let secret = registered
            .client_secret
            .as_ref()
            .expect("a confidential client has a secret");
        let client = &registered.client;
        assert_eq!(
            client.grant_types,
            ["authorization_code"],
            "the default grant"
        );
        assert_eq!(client.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!(client.allowed_scopes, ["openid", "profile"]);
        assert_eq!(client.revision, 1);

        let stored = f.core.get_client(&f.issuer, client.id).await.unwrap();
        assert_eq!(&stored, client);
        let hash = stored.secret_hash.expect("the hash is stored");
        assert!(SecretHash::from_bytes(hash).verify(secret.expose()));
        assert_ne!(hash.to_vec(), secret.expose().as_bytes().to_vec());
        assert!(!format!("{registered:?}").contains(secret.expose()));
    }

    #[tokio::test]
    async fn a_public_client_uses_no_secret_and_no_client_credentials() {
        let f = fixture().await;
        let registered = f
            .core
            .create_client(&f.issuer, native_app(), Actor::System)
            .await
            .unwrap();
        assert!(registered.client_secret.is_none());
        assert!(registered.client.secret_hash.is_none());
        assert_eq!(registered.client.token_endpoint_auth_method, "none");

        let (field, reason) = refusal(
            &f,
            NewClient {
                token_endpoint_auth_method: Some("client_secret_basic".to_owned()),
                ..native_app()
            },
        )
        .await;
        assert_eq!(field, "token_endpoint_auth_method");
        assert!(reason.contains("none"), "{reason}");

        let (field, reason) = refusal(
            &f,
            NewClient {
                grant_types: strings(&["authorization_code", "client_credentials"]),
                ..native_app()
            },
        )
        .await;
        assert_eq!(field, "grant_types");
        assert!(reason.contains("confidential"), "{reason}");

        assert!(matches!(
            f.core
                .rotate_client_secret(&f.issuer, registered.client.id, Actor::System)
                .await,
            Err(CoreError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn confidential_clients_authenticate_with_a_client_secret() {
        let f = fixture().await;
        let post = f
            .core
            .create_client(
                &f.issuer,
                NewClient {
                    token_endpoint_auth_method: Some("client_secret_post".to_owned()),
                    ..web_app()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(post.client.token_endpoint_auth_method, "client_secret_post");
        for method in ["none", "client_secret_jwt", "tls_client_auth"] {
            let (field, _) = refusal(
                &f,
                NewClient {
                    token_endpoint_auth_method: Some(method.to_owned()),
                    ..web_app()
                },
            )
            .await;
            assert_eq!(field, "token_endpoint_auth_method", "{method}");
        }
    }

    /// A fresh ES256 key and the JWK Set of its public half.
    fn es256_key(kid: &str) -> (Signer, serde_json::Value) {
        let (signer, _) = Signer::generate(Algorithm::Es256, kid).unwrap();
        let jwks = json!({ "keys": [signer.public_jwk()] });
        (signer, jwks)
    }

    fn key_client(jwks: serde_json::Value) -> NewClient {
        NewClient {
            token_endpoint_auth_method: Some("private_key_jwt".to_owned()),
            jwks: Some(jwks),
            ..service()
        }
    }

    /// An assertion for `client` at the token endpoint of the fixture's issuer.
    fn assertion(f: &Fixture, signer: &Signer, client: ClientId, jti: &str) -> ClientAuth {
        let now = f.clock.now().0;
        let claims = json!({
            "iss": client.to_string(), "sub": client.to_string(),
            "aud": f.core.issuer_url(&f.issuer), "iat": now, "exp": now + 60, "jti": jti,
        });
        ClientAuth::PrivateKeyJwt {
            client_id: client.to_string(),
            assertion: signer.sign("JWT", &claims).unwrap(),
        }
    }

    #[tokio::test]
    async fn a_private_key_jwt_client_has_keys_and_no_secret() {
        let f = fixture().await;
        let (signer, jwks) = es256_key("k1");
        let registered = f
            .core
            .create_client(&f.issuer, key_client(jwks.clone()), Actor::System)
            .await
            .unwrap();
        assert!(registered.client_secret.is_none());
        assert!(registered.client.secret_hash.is_none());
        assert_eq!(
            super::jwks_json(registered.client.jwks.as_deref()),
            Some(jwks)
        );
        let id = registered.client.id;
        let auth = assertion(&f, &signer, id, "j1");
        f.core
            .token(&f.issuer, &auth, client_credentials())
            .await
            .expect("the assertion authenticates the client");
        // OIDC Core §9 / RFC 7523 §3: a jti is used once.
        let replay = f
            .core
            .token(&f.issuer, &auth, client_credentials())
            .await
            .unwrap_err();
        assert_eq!(replay.code, ErrorCode::InvalidClient);
        // Its secret cannot be rotated: its credential is its keys.
        assert!(matches!(
            f.core
                .rotate_client_secret(&f.issuer, id, Actor::System)
                .await,
            Err(CoreError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn jwks_goes_with_private_key_jwt_and_is_checked() {
        let f = fixture().await;
        let (_, jwks) = es256_key("k1");
        let (field, reason) = refusal(
            &f,
            NewClient {
                jwks: None,
                ..key_client(jwks.clone())
            },
        )
        .await;
        assert_eq!((field, reason.contains("jwks")), ("jwks", true));
        let (field, _) = refusal(
            &f,
            NewClient {
                jwks: Some(jwks.clone()),
                ..service()
            },
        )
        .await;
        assert_eq!(field, "jwks");
        let (field, reason) = refusal(
            &f,
            NewClient {
                client_type: ClientType::Public,
                grant_types: vec![],
                redirect_uris: strings(&["https://app.example.com/cb"]),
                ..key_client(jwks.clone())
            },
        )
        .await;
        assert_eq!(field, "token_endpoint_auth_method", "{reason}");
        let mut private = jwks.clone();
        private["keys"][0]["d"] = json!("AAAA");
        let (field, reason) = refusal(&f, key_client(private)).await;
        assert_eq!(field, "jwks");
        assert!(reason.contains("private"), "{reason}");
    }

    #[tokio::test]
    async fn replacing_the_keys_takes_effect_at_once_and_switching_methods_drops_the_secret() {
        let f = fixture().await;
        let registered = f
            .core
            .create_client(&f.issuer, service(), Actor::System)
            .await
            .unwrap();
        let id = registered.client.id;
        let secret = registered.client_secret.unwrap();
        let (old_key, old_jwks) = es256_key("old");
        let switched = f
            .core
            .update_client(
                &f.issuer,
                id,
                None,
                ClientPatch {
                    token_endpoint_auth_method: Some("private_key_jwt".to_owned()),
                    jwks: Some(Some(old_jwks)),
                    ..ClientPatch::default()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert!(switched.secret_hash.is_none(), "keys replace the secret");
        let err = f
            .core
            .token(
                &f.issuer,
                &basic(&id.to_string(), secret.expose()),
                client_credentials(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidClient);
        f.core
            .token(
                &f.issuer,
                &assertion(&f, &old_key, id, "a"),
                client_credentials(),
            )
            .await
            .unwrap();

        let (new_key, new_jwks) = es256_key("new");
        f.core
            .update_client(
                &f.issuer,
                id,
                None,
                ClientPatch {
                    jwks: Some(Some(new_jwks)),
                    ..ClientPatch::default()
                },
                Actor::System,
            )
            .await
            .unwrap();
        // No clock advance: the cached client is dropped, not waited out.
        let err = f
            .core
            .token(
                &f.issuer,
                &assertion(&f, &old_key, id, "b"),
                client_credentials(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidClient);
        f.core
            .token(
                &f.issuer,
                &assertion(&f, &new_key, id, "c"),
                client_credentials(),
            )
            .await
            .unwrap();

        // Back to a secret method: the keys go (null), and the secret comes from rotation.
        let back = f
            .core
            .update_client(
                &f.issuer,
                id,
                None,
                ClientPatch {
                    token_endpoint_auth_method: Some("client_secret_basic".to_owned()),
                    jwks: Some(None),
                    ..ClientPatch::default()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert!(back.jwks.is_none() && back.secret_hash.is_none());
        let rotated = f
            .core
            .rotate_client_secret(&f.issuer, id, Actor::System)
            .await
            .unwrap();
        let secret = rotated.client_secret.unwrap();
        f.core
            .token(
                &f.issuer,
                &basic(&id.to_string(), secret.expose()),
                client_credentials(),
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn names_are_1_to_200_characters() {
        let f = fixture().await;
        for name in [
            "".to_owned(),
            "   ".to_owned(),
            "x".repeat(201),
            "a\u{0}b".to_owned(),
        ] {
            let (field, _) = refusal(
                &f,
                NewClient {
                    name: name.clone(),
                    ..web_app()
                },
            )
            .await;
            assert_eq!(field, "name", "{name:?}");
        }
        let longest = f
            .core
            .create_client(
                &f.issuer,
                NewClient {
                    name: format!(" {} ", "é".repeat(200)),
                    ..web_app()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(longest.client.name, "é".repeat(200), "trimmed");
    }

    #[tokio::test]
    async fn only_the_supported_grant_types_are_accepted() {
        let f = fixture().await;
        for grants in [
            &["implicit"][..],
            &["password"],
            &["urn:ietf:params:oauth:grant-type:device_code"],
            &["authorization_code", "bogus"],
            // RFC 6749 §4.4.3: client credentials never come with a refresh token.
            &["client_credentials", "refresh_token"],
        ] {
            let (field, reason) = refusal(
                &f,
                NewClient {
                    grant_types: strings(grants),
                    ..web_app()
                },
            )
            .await;
            assert_eq!(field, "grant_types", "{grants:?}: {reason}");
        }
        let all = f
            .core
            .create_client(
                &f.issuer,
                NewClient {
                    grant_types: strings(&[
                        "authorization_code",
                        "refresh_token",
                        "client_credentials",
                        "refresh_token",
                    ]),
                    ..web_app()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(
            all.client.grant_types,
            ["authorization_code", "refresh_token", "client_credentials"]
        );
    }

    #[tokio::test]
    async fn the_code_grant_needs_a_redirect_uri() {
        let f = fixture().await;
        let (field, _) = refusal(
            &f,
            NewClient {
                redirect_uris: vec![],
                ..web_app()
            },
        )
        .await;
        assert_eq!(field, "redirect_uris");
        // A service without the code grant needs none.
        assert!(
            f.core
                .create_client(&f.issuer, service(), Actor::System)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn every_redirect_uri_is_validated_and_the_error_names_its_index() {
        let f = fixture().await;
        let (field, reason) = refusal(
            &f,
            NewClient {
                redirect_uris: strings(&[
                    "https://app.example.com/a",
                    "https://app.example.com/b",
                    "http://app.example.com/c",
                ]),
                ..web_app()
            },
        )
        .await;
        assert_eq!(field, "redirect_uris");
        assert!(reason.starts_with("redirect_uris[2]: "), "{reason}");
        assert!(reason.contains("loopback"), "{reason}");

        for bad in [
            "https://app.example.com/cb#x",
            "javascript:alert(1)",
            "https://*.example.com/cb",
            "https://user@app.example.com/cb",
            "/relative",
        ] {
            let (field, _) = refusal(
                &f,
                NewClient {
                    redirect_uris: strings(&[bad]),
                    ..web_app()
                },
            )
            .await;
            assert_eq!(field, "redirect_uris", "{bad}");
        }

        let (field, reason) = refusal(
            &f,
            NewClient {
                post_logout_redirect_uris: strings(&["data:text/html,bye"]),
                ..web_app()
            },
        )
        .await;
        assert_eq!(field, "post_logout_redirect_uris");
        assert!(
            reason.starts_with("post_logout_redirect_uris[0]: "),
            "{reason}"
        );

        let too_many = (0..101)
            .map(|i| format!("https://app.example.com/{i}"))
            .collect();
        let (field, _) = refusal(
            &f,
            NewClient {
                redirect_uris: too_many,
                ..web_app()
            },
        )
        .await;
        assert_eq!(field, "redirect_uris");

        let kept = f
            .core
            .create_client(
                &f.issuer,
                NewClient {
                    redirect_uris: strings(&[
                        "https://App.example.com/cb",
                        "https://App.example.com/cb",
                        "http://localhost:8080/cb",
                    ]),
                    post_logout_redirect_uris: strings(&["https://app.example.com/bye"]),
                    ..web_app()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(
            kept.client.redirect_uris,
            ["https://App.example.com/cb", "http://localhost:8080/cb"],
            "kept exactly as registered, duplicates once"
        );
        assert_eq!(
            kept.client.post_logout_redirect_uris,
            ["https://app.example.com/bye"]
        );
    }

    #[tokio::test]
    async fn allowed_scopes_are_rfc_6749_scope_tokens() {
        let f = fixture().await;
        for bad in ["", "two words", "quote\"d", "back\\slash", "é"] {
            let (field, _) = refusal(
                &f,
                NewClient {
                    allowed_scopes: strings(&["openid", bad]),
                    ..web_app()
                },
            )
            .await;
            assert_eq!(field, "allowed_scopes", "{bad:?}");
        }
        let client = f
            .core
            .create_client(
                &f.issuer,
                NewClient {
                    allowed_scopes: strings(&["openid", "api:read", "openid"]),
                    ..web_app()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(client.client.allowed_scopes, ["openid", "api:read"]);
    }

    #[tokio::test]
    async fn a_client_gets_tokens_with_its_secret_until_the_secret_is_rotated() {
        let f = fixture().await;
        let registered = f
            .core
            .create_client(&f.issuer, service(), Actor::System)
            .await
            .unwrap();
        let id = registered.client.id.to_string();
        let old = registered.client_secret.unwrap();

        let response = f
            .core
            .token(&f.issuer, &basic(&id, old.expose()), client_credentials())
            .await
            .unwrap();
        assert_eq!(response.scope.unwrap().to_string(), "invoices:read");

        let rotated = f
            .core
            .rotate_client_secret(&f.issuer, registered.client.id, Actor::System)
            .await
            .unwrap();
        assert_eq!(rotated.client.revision, 2);
        let new = rotated.client_secret.unwrap();
        assert_ne!(new.expose(), old.expose());

        let err = f
            .core
            .token(&f.issuer, &basic(&id, old.expose()), client_credentials())
            .await
            .unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::InvalidClient,
            "the old secret stops at once"
        );
        assert!(
            f.core
                .token(&f.issuer, &basic(&id, new.expose()), client_credentials())
                .await
                .is_ok()
        );

        // Events record what happened, never the secret or its hash.
        let events =
            f.db.store
                .events()
                .list(
                    IssuerScope::of(&f.issuer),
                    &Default::default(),
                    PageRequest::first(100),
                )
                .await
                .unwrap()
                .items;
        let types: Vec<&str> = events
            .iter()
            .filter(|e| e.subject == id)
            .map(|e| e.event_type.as_str())
            .collect();
        assert_eq!(types, ["client.created", "client.secret_rotated"]);
        let hash = rotated.client.secret_hash.unwrap();
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        for event in &events {
            let data = event.data.to_string();
            for secret in [old.expose(), new.expose(), hex.as_str()] {
                assert!(!data.contains(secret), "{data}");
            }
            assert!(!data.contains("secret_hash"), "{data}");
        }
    }

    #[tokio::test]
    async fn a_patch_is_checked_as_a_whole_and_refuses_stale_revisions() {
        let f = fixture().await;
        let registered = f
            .core
            .create_client(&f.issuer, web_app(), Actor::System)
            .await
            .unwrap();
        let id = registered.client.id;

        f.clock.advance(60);
        let updated = f
            .core
            .update_client(
                &f.issuer,
                id,
                Some(1),
                ClientPatch {
                    name: Some("Renamed".to_owned()),
                    redirect_uris: Some(strings(&["https://new.example.com/cb"])),
                    first_party: Some(true),
                    ..ClientPatch::default()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(updated.name, "Renamed");
        assert_eq!(updated.redirect_uris, ["https://new.example.com/cb"]);
        assert!(updated.first_party);
        assert_eq!(updated.revision, 2);
        assert_eq!(updated.updated_at, UnixTime(1_750_000_060));
        assert_eq!(updated.secret_hash, registered.client.secret_hash);
        assert_eq!(updated.client_type, ClientType::Confidential);
        assert_eq!(f.core.get_client(&f.issuer, id).await.unwrap(), updated);

        // If-Match with a revision that is no longer current.
        assert!(matches!(
            f.core
                .update_client(
                    &f.issuer,
                    id,
                    Some(1),
                    ClientPatch {
                        name: Some("Stale".to_owned()),
                        ..ClientPatch::default()
                    },
                    Actor::System,
                )
                .await,
            Err(CoreError::Store(StoreError::Conflict))
        ));

        // The merged client must still satisfy every rule.
        for (patch, field) in [
            (
                ClientPatch {
                    redirect_uris: Some(vec![]),
                    ..ClientPatch::default()
                },
                "redirect_uris",
            ),
            (
                ClientPatch {
                    token_endpoint_auth_method: Some("none".to_owned()),
                    ..ClientPatch::default()
                },
                "token_endpoint_auth_method",
            ),
            (
                ClientPatch {
                    grant_types: Some(strings(&["implicit"])),
                    ..ClientPatch::default()
                },
                "grant_types",
            ),
            (
                ClientPatch {
                    name: Some(String::new()),
                    ..ClientPatch::default()
                },
                "name",
            ),
        ] {
            match f
                .core
                .update_client(&f.issuer, id, None, patch, Actor::System)
                .await
            {
                Err(CoreError::InvalidField { field: got, .. }) => assert_eq!(got, field),
                other => panic!("expected InvalidField {field}, got {other:?}"),
            }
        }
        assert_eq!(f.core.get_client(&f.issuer, id).await.unwrap(), updated);

        // A patch that changes nothing writes nothing.
        let same = f
            .core
            .update_client(
                &f.issuer,
                id,
                Some(2),
                ClientPatch {
                    name: Some("Renamed".to_owned()),
                    ..ClientPatch::default()
                },
                Actor::System,
            )
            .await
            .unwrap();
        assert_eq!(same.revision, 2);

        let events =
            f.db.store
                .events()
                .list(
                    IssuerScope::of(&f.issuer),
                    &Default::default(),
                    PageRequest::first(100),
                )
                .await
                .unwrap()
                .items;
        let updates: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "client.updated")
            .collect();
        assert_eq!(updates.len(), 1);
        assert_eq!(
            updates[0].data["changed"],
            serde_json::json!(["name", "redirect_uris", "first_party"])
        );
    }

    #[tokio::test]
    async fn deleted_clients_are_gone_and_cannot_get_tokens() {
        let f = fixture().await;
        let registered = f
            .core
            .create_client(&f.issuer, service(), Actor::System)
            .await
            .unwrap();
        let id = registered.client.id;
        f.core
            .delete_client(&f.issuer, id, None, Actor::System)
            .await
            .unwrap();
        assert!(matches!(
            f.core.get_client(&f.issuer, id).await,
            Err(CoreError::NotFound)
        ));
        assert!(matches!(
            f.core
                .delete_client(&f.issuer, id, None, Actor::System)
                .await,
            Err(CoreError::NotFound)
        ));
        let err = f
            .core
            .token(
                &f.issuer,
                &basic(&id.to_string(), registered.client_secret.unwrap().expose()),
                client_credentials(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidClient);
    }

    #[tokio::test]
    async fn clients_are_listed_in_creation_order_page_by_page() {
        let f = fixture().await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let registered = f
                .core
                .create_client(
                    &f.issuer,
                    NewClient {
                        name: format!("client {i}"),
                        ..service()
                    },
                    Actor::System,
                )
                .await
                .unwrap();
            ids.push(registered.client.id);
        }
        let first = f
            .core
            .list_clients(&f.issuer, PageRequest::first(2))
            .await
            .unwrap();
        assert_eq!(
            first.items.iter().map(|c| c.id).collect::<Vec<_>>(),
            ids[..2]
        );
        let after = first.next_after.expect("a second page");
        let second = f
            .core
            .list_clients(&f.issuer, PageRequest::after(after, 2))
            .await
            .unwrap();
        assert_eq!(
            second.items.iter().map(|c| c.id).collect::<Vec<_>>(),
            ids[2..]
        );
    }

    #[tokio::test]
    async fn a_client_of_one_issuer_does_not_exist_at_another() {
        let f = fixture().await;
        let registered = f
            .core
            .create_client(&f.issuer, service(), Actor::System)
            .await
            .unwrap();
        let id = registered.client.id;
        let secret = registered.client_secret.unwrap();

        assert!(matches!(
            f.core.get_client(&f.other, id).await,
            Err(CoreError::NotFound)
        ));
        assert!(matches!(
            f.core
                .update_client(
                    &f.other,
                    id,
                    None,
                    ClientPatch {
                        name: Some("Hijacked".to_owned()),
                        ..ClientPatch::default()
                    },
                    Actor::System,
                )
                .await,
            Err(CoreError::NotFound)
        ));
        assert!(matches!(
            f.core
                .rotate_client_secret(&f.other, id, Actor::System)
                .await,
            Err(CoreError::NotFound)
        ));
        assert!(matches!(
            f.core
                .delete_client(&f.other, id, None, Actor::System)
                .await,
            Err(CoreError::NotFound)
        ));
        let listed = f
            .core
            .list_clients(&f.other, PageRequest::first(100))
            .await
            .unwrap();
        assert!(listed.items.iter().all(|c| c.id != id));
        let err = f
            .core
            .token(
                &f.other,
                &basic(&id.to_string(), secret.expose()),
                client_credentials(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidClient);

        // Untouched at its own issuer.
        let stored = f.core.get_client(&f.issuer, id).await.unwrap();
        assert_eq!(stored, registered.client);
        assert!(
            f.core
                .token(
                    &f.issuer,
                    &basic(&id.to_string(), secret.expose()),
                    client_credentials()
                )
                .await
                .is_ok()
        );
    }
}
