//! The closed catalog of OAuth error codes.
//!
//! An OAuth endpoint answers with one of the codes the RFCs define and nothing else (STYLE.md
//! habit 4): a client library switches on `error`, so an invented code is a code no client
//! understands. The catalog is a closed enum, so the edge maps every code to a response with
//! one exhaustive `match` and a new code cannot arrive unnoticed.
//!
//! The `error_description` is written for the client's developer and is safe for the wire: it
//! never carries a secret or an internal cause (those are logged at the edge, never sent), and
//! it is kept to the characters RFC 6749 §5.2 allows, even when a description names something
//! the attacker sent.

use std::fmt;

/// An error code of the OAuth wire protocol, spelled exactly as the RFC spells it.
///
/// The device flow (RFC 8628 §3.5: `authorization_pending`, `slow_down`, `expired_token`)
/// adds its codes here when the device grant arrives; PAR (RFC 9126) reuses the codes below.
///
/// The OpenID Connect codes (OIDC Core §3.1.2.6) travel in the authorization response like
/// RFC 6749 §4.1.2.1's; the `request`/`request_uri`/`registration` ones say that a feature we
/// deliberately do not offer was asked for, so a client learns why rather than being ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is missing a required parameter, repeats one, or is otherwise malformed
    /// (RFC 6749 §5.2, §4.1.2.1).
    InvalidRequest,
    /// Client authentication failed: unknown client, no authentication, or an unsupported
    /// method (RFC 6749 §5.2).
    InvalidClient,
    /// The authorization grant or refresh token is invalid, expired, revoked, was issued to
    /// another client, or does not match the redirect URI (RFC 6749 §5.2).
    InvalidGrant,
    /// The authenticated client may not use this grant type or response type
    /// (RFC 6749 §5.2, §4.1.2.1).
    UnauthorizedClient,
    /// The authorization server does not support this grant type (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, malformed, or beyond what the resource owner
    /// granted (RFC 6749 §5.2, §4.1.2.1).
    InvalidScope,
    /// The resource owner or the authorization server denied the request (RFC 6749 §4.1.2.1).
    AccessDenied,
    /// The authorization server does not support this response type (RFC 6749 §4.1.2.1).
    UnsupportedResponseType,
    /// The authorization server met an unexpected condition (RFC 6749 §4.1.2.1).
    ServerError,
    /// The authorization server is temporarily overloaded or in maintenance
    /// (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
    /// The access token presented to a protected resource is expired, revoked, malformed or
    /// otherwise invalid (RFC 6750 §3.1).
    InvalidToken,
    /// The access token lacks the scope the protected resource requires (RFC 6750 §3.1).
    InsufficientScope,
    /// `prompt=none` was asked but the user must interact with the authorization server
    /// (OIDC Core §3.1.2.6).
    InteractionRequired,
    /// `prompt=none` was asked but the user must authenticate (OIDC Core §3.1.2.6).
    LoginRequired,
    /// `prompt=none` was asked but the user must choose between sessions
    /// (OIDC Core §3.1.2.6).
    AccountSelectionRequired,
    /// `prompt=none` was asked but the user must consent (OIDC Core §3.1.2.6).
    ConsentRequired,
    /// The `request_uri` is invalid or its content is (OIDC Core §3.1.2.6).
    InvalidRequestUri,
    /// The `request` object is invalid (OIDC Core §3.1.2.6).
    InvalidRequestObject,
    /// The `request` parameter is not supported (OIDC Core §3.1.2.6, §6).
    RequestNotSupported,
    /// The `request_uri` parameter is not supported (OIDC Core §3.1.2.6, §6).
    RequestUriNotSupported,
    /// The `registration` parameter is not supported (OIDC Core §3.1.2.6, §7.2.1).
    RegistrationNotSupported,
    /// The revocation endpoint does not revoke this type of token (RFC 7009 §2.2.1).
    UnsupportedTokenType,
}

impl ErrorCode {
    /// Every code of the catalog, for exhaustive tests and documentation.
    pub const ALL: [ErrorCode; 22] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::InvalidScope,
        ErrorCode::AccessDenied,
        ErrorCode::UnsupportedResponseType,
        ErrorCode::ServerError,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::InvalidToken,
        ErrorCode::InsufficientScope,
        ErrorCode::InteractionRequired,
        ErrorCode::LoginRequired,
        ErrorCode::AccountSelectionRequired,
        ErrorCode::ConsentRequired,
        ErrorCode::InvalidRequestUri,
        ErrorCode::InvalidRequestObject,
        ErrorCode::RequestNotSupported,
        ErrorCode::RequestUriNotSupported,
        ErrorCode::RegistrationNotSupported,
        ErrorCode::UnsupportedTokenType,
    ];

    /// The code as it appears in the `error` field on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::AccountSelectionRequired => "account_selection_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::InvalidRequestObject => "invalid_request_object",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::RegistrationNotSupported => "registration_not_supported",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
        }
    }

    /// The HTTP status of a response that carries this code in its body.
    ///
    /// The edge adds the headers the RFCs require alongside: `WWW-Authenticate` naming the
    /// supported schemes with `invalid_client` (RFC 6749 §5.2), and a `Bearer` challenge with
    /// `invalid_token` and `insufficient_scope` (RFC 6750 §3). Codes of the authorization
    /// endpoint normally travel in a redirect; their status applies only when the error
    /// cannot be redirected.
    pub const fn status(self) -> u16 {
        match self {
            // RFC 6749 §5.2: 401 is required when the client authenticated with the
            // Authorization header, and allowed otherwise; one status keeps the edge simple.
            ErrorCode::InvalidClient => 401,
            // RFC 6750 §3.1.
            ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            // RFC 6749 §4.1.2.1 names these because a 500 or 503 cannot be redirected.
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            // RFC 6749 §5.2: "The authorization server responds with an HTTP 400 (Bad
            // Request) status code (unless specified otherwise)".
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidGrant
            | ErrorCode::UnauthorizedClient
            | ErrorCode::UnsupportedGrantType
            | ErrorCode::InvalidScope
            | ErrorCode::AccessDenied
            | ErrorCode::UnsupportedResponseType => 400,
            // OIDC Core §3.1.2.6 codes travel in the authorization response; shown directly,
            // they describe a bad request like RFC 6749 §4.1.2.1's.
            ErrorCode::InteractionRequired
            | ErrorCode::LoginRequired
            | ErrorCode::AccountSelectionRequired
            | ErrorCode::ConsentRequired
            | ErrorCode::InvalidRequestUri
            | ErrorCode::InvalidRequestObject
            | ErrorCode::RequestNotSupported
            | ErrorCode::RequestUriNotSupported
            | ErrorCode::RegistrationNotSupported => 400,
            // RFC 7009 §2.2.1 answers it with the RFC 6749 §5.2 error response: 400.
            ErrorCode::UnsupportedTokenType => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest `error_description` we send; a description is one sentence, not a payload.
const MAX_DESCRIPTION_CHARS: usize = 200;

/// An OAuth error as the client sees it: a code from the catalog and a description that is
/// safe for the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// The wire code.
    pub code: ErrorCode,
    /// Human-readable text for the client's developer, in the RFC 6749 §5.2 character set.
    /// Never a secret, never an internal cause.
    pub description: String,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(description: impl Into<String>) -> Self {
                Self::new(ErrorCode::$code, description)
            }
        )*
    };
}

impl OAuthError {
    /// An error with `code` and `description`; characters the wire does not allow in a
    /// description are replaced and an overlong description is cut.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: wire_safe(&description.into()),
        }
    }

    constructors! {
        /// An `invalid_request` error (RFC 6749 §5.2).
        invalid_request => InvalidRequest;
        /// An `invalid_client` error (RFC 6749 §5.2).
        invalid_client => InvalidClient;
        /// An `invalid_grant` error (RFC 6749 §5.2).
        invalid_grant => InvalidGrant;
        /// An `unauthorized_client` error (RFC 6749 §5.2).
        unauthorized_client => UnauthorizedClient;
        /// An `unsupported_grant_type` error (RFC 6749 §5.2).
        unsupported_grant_type => UnsupportedGrantType;
        /// An `invalid_scope` error (RFC 6749 §5.2).
        invalid_scope => InvalidScope;
        /// An `access_denied` error (RFC 6749 §4.1.2.1).
        access_denied => AccessDenied;
        /// An `unsupported_response_type` error (RFC 6749 §4.1.2.1).
        unsupported_response_type => UnsupportedResponseType;
        /// A `server_error` error (RFC 6749 §4.1.2.1). Describe nothing internal.
        server_error => ServerError;
        /// A `temporarily_unavailable` error (RFC 6749 §4.1.2.1).
        temporarily_unavailable => TemporarilyUnavailable;
        /// An `invalid_token` error (RFC 6750 §3.1).
        invalid_token => InvalidToken;
        /// An `insufficient_scope` error (RFC 6750 §3.1).
        insufficient_scope => InsufficientScope;
        /// An `interaction_required` error (OIDC Core §3.1.2.6).
        interaction_required => InteractionRequired;
        /// A `login_required` error (OIDC Core §3.1.2.6).
        login_required => LoginRequired;
        /// An `account_selection_required` error (OIDC Core §3.1.2.6).
        account_selection_required => AccountSelectionRequired;
        /// A `consent_required` error (OIDC Core §3.1.2.6).
        consent_required => ConsentRequired;
        /// An `invalid_request_uri` error (OIDC Core §3.1.2.6).
        invalid_request_uri => InvalidRequestUri;
        /// An `invalid_request_object` error (OIDC Core §3.1.2.6).
        invalid_request_object => InvalidRequestObject;
        /// A `request_not_supported` error (OIDC Core §3.1.2.6).
        request_not_supported => RequestNotSupported;
        /// A `request_uri_not_supported` error (OIDC Core §3.1.2.6).
        request_uri_not_supported => RequestUriNotSupported;
        /// A `registration_not_supported` error (OIDC Core §3.1.2.6).
        registration_not_supported => RegistrationNotSupported;
        /// An `unsupported_token_type` error (RFC 7009 §2.2.1).
        unsupported_token_type => UnsupportedTokenType;
    }

    /// The HTTP status of the response (see [`ErrorCode::status`]).
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The JSON body of the error response (RFC 6749 §5.2):
    /// `{"error": "...", "error_description": "..."}`, without the description when it is
    /// empty.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.code.as_str().into());
        // The field is public, so it is made wire-safe again here rather than trusted.
        let description = wire_safe(&self.description);
        if !description.is_empty() {
            body.insert("error_description".into(), description.into());
        }
        serde_json::Value::Object(body)
    }
}

/// Whether `c` may appear in an `error_description`.
///
/// RFC 6749 §5.2: "Values for the "error_description" parameter MUST NOT include characters
/// outside the set %x20-21 / %x23-5B / %x5D-7E" (printable ASCII without `"` and `\`).
pub fn is_description_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// Replaces every character outside the RFC 6749 §5.2 set with `?` and cuts the text to
/// [`MAX_DESCRIPTION_CHARS`].
pub(crate) fn wire_safe(text: &str) -> String {
    text.chars()
        .take(MAX_DESCRIPTION_CHARS)
        .map(|c| if is_description_char(c) { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_code_is_spelled_as_the_rfc_spells_it() {
        let spelled: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(
            spelled,
            [
                "invalid_request",
                "invalid_client",
                "invalid_grant",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
                "access_denied",
                "unsupported_response_type",
                "server_error",
                "temporarily_unavailable",
                "invalid_token",
                "insufficient_scope",
                "interaction_required",
                "login_required",
                "account_selection_required",
                "consent_required",
                "invalid_request_uri",
                "invalid_request_object",
                "request_not_supported",
                "request_uri_not_supported",
                "registration_not_supported",
                "unsupported_token_type",
            ]
        );
    }

    #[test]
    fn statuses_follow_rfc_6749_rfc_6750_oidc_core_and_rfc_7009() {
        for code in ErrorCode::ALL {
            let expected = match code {
                ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
                ErrorCode::InsufficientScope => 403,
                ErrorCode::ServerError => 500,
                ErrorCode::TemporarilyUnavailable => 503,
                _ => 400,
            };
            assert_eq!(code.status(), expected, "{code}");
        }
        assert_eq!(OAuthError::invalid_client("x").status(), 401);
    }

    #[test]
    fn each_constructor_carries_its_own_code() {
        let made = [
            OAuthError::invalid_request("d"),
            OAuthError::invalid_client("d"),
            OAuthError::invalid_grant("d"),
            OAuthError::unauthorized_client("d"),
            OAuthError::unsupported_grant_type("d"),
            OAuthError::invalid_scope("d"),
            OAuthError::access_denied("d"),
            OAuthError::unsupported_response_type("d"),
            OAuthError::server_error("d"),
            OAuthError::temporarily_unavailable("d"),
            OAuthError::invalid_token("d"),
            OAuthError::insufficient_scope("d"),
            OAuthError::interaction_required("d"),
            OAuthError::login_required("d"),
            OAuthError::account_selection_required("d"),
            OAuthError::consent_required("d"),
            OAuthError::invalid_request_uri("d"),
            OAuthError::invalid_request_object("d"),
            OAuthError::request_not_supported("d"),
            OAuthError::request_uri_not_supported("d"),
            OAuthError::registration_not_supported("d"),
            OAuthError::unsupported_token_type("d"),
        ];
        let codes: Vec<ErrorCode> = made.iter().map(|error| error.code).collect();
        assert_eq!(codes, ErrorCode::ALL);
    }

    #[test]
    fn the_json_body_has_error_and_error_description() {
        // RFC 6749 §5.2.
        let error = OAuthError::invalid_request("the grant_type parameter is missing");
        assert_eq!(
            error.to_json(),
            json!({
                "error": "invalid_request",
                "error_description": "the grant_type parameter is missing",
            })
        );
    }

    #[test]
    fn an_empty_description_is_left_out_of_the_json_body() {
        let error = OAuthError::server_error("");
        assert_eq!(error.to_json(), json!({ "error": "server_error" }));
    }

    #[test]
    fn a_description_keeps_to_the_rfc_character_set() {
        // RFC 6749 §5.2: no quote, no backslash, no control characters, ASCII only.
        let error = OAuthError::invalid_request("bad \"x\"\\\n\u{e9}");
        assert_eq!(error.description, "bad ?x????");
        let mut tampered = OAuthError::invalid_request("ok");
        tampered.description = "a\"b".into();
        assert_eq!(tampered.to_json()["error_description"], "a?b");
    }

    #[test]
    fn an_overlong_description_is_cut() {
        let error = OAuthError::invalid_request("x".repeat(10_000));
        assert_eq!(error.description.len(), MAX_DESCRIPTION_CHARS);
    }

    #[test]
    fn the_display_form_names_code_and_description() {
        let error = OAuthError::invalid_scope("unknown scope");
        assert_eq!(error.to_string(), "invalid_scope: unknown scope");
    }
}
