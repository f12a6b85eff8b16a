//! The token endpoint's request and response (RFC 6749 §3.2, §4, §5).
//!
//! [`parse_token_request`] turns a form into a [`TokenRequest`] that says which grant is asked
//! for and with what parameters, and checks only what the request itself can show wrong. What
//! needs storage or policy (is the client allowed this grant: `unauthorized_client`; is the
//! scope allowed: `invalid_scope`; is the code valid: `invalid_grant`) is decided by
//! `tessera-core` with the parsed request in hand. Parameters the grant does not use are
//! ignored, as RFC 6749 §3.2 requires of unrecognised ones.
//!
//! [`TokenResponse`] is the successful answer's body (RFC 6749 §5.1). The edge sends it with
//! `Cache-Control: no-store` and `Pragma: no-cache`, as §5.1 requires.

use std::fmt;

use crate::error::OAuthError;
use crate::form::Form;
use crate::scope::Scope;

/// A token request, by grant type.
///
/// The enum is deliberately exhaustive: adding a grant breaks the `match` in the token
/// endpoint of `tessera-core`, so no grant can be parsed without being handled. `Debug` never
/// shows a code, verifier or refresh token.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenRequest {
    /// `grant_type=authorization_code` (RFC 6749 §4.1.3): redeem a code for tokens.
    AuthorizationCode {
        /// The authorization code (RFC 6749 §4.1.3: REQUIRED).
        code: String,
        /// The redirect URI of the authorization request, if it named one (RFC 6749 §4.1.3:
        /// REQUIRED when the authorization request included it, which `tessera-core` checks
        /// against the code).
        redirect_uri: Option<String>,
        /// The PKCE verifier (RFC 7636 §4.5), exactly as sent: a malformed one simply fails
        /// verification (§4.6), which `tessera-core` answers with `invalid_grant`.
        code_verifier: Option<String>,
    },
    /// `grant_type=client_credentials` (RFC 6749 §4.4.2): the client acts on its own behalf.
    ClientCredentials {
        /// The requested scope, if any (RFC 6749 §4.4.2: OPTIONAL).
        scope: Option<Scope>,
    },
    /// `grant_type=refresh_token` (RFC 6749 §6): a new access token from a refresh token.
    RefreshToken {
        /// The refresh token (RFC 6749 §6: REQUIRED).
        refresh_token: String,
        /// A narrower scope, if asked for (RFC 6749 §6: OPTIONAL; it "MUST NOT include any
        /// scope not originally granted", which `tessera-core` checks).
        scope: Option<Scope>,
    },
}

impl TokenRequest {
    /// The `grant_type` value of this request, to compare with the grants a client may use.
    pub fn grant_type(&self) -> &'static str {
        match self {
            TokenRequest::AuthorizationCode { .. } => "authorization_code",
            TokenRequest::ClientCredentials { .. } => "client_credentials",
            TokenRequest::RefreshToken { .. } => "refresh_token",
        }
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenRequest::AuthorizationCode {
                redirect_uri,
                code_verifier,
                ..
            } => f
                .debug_struct("AuthorizationCode")
                .field("redirect_uri", redirect_uri)
                .field("has_code_verifier", &code_verifier.is_some())
                .finish_non_exhaustive(),
            TokenRequest::ClientCredentials { scope } => f
                .debug_struct("ClientCredentials")
                .field("scope", scope)
                .finish(),
            TokenRequest::RefreshToken { scope, .. } => f
                .debug_struct("RefreshToken")
                .field("scope", scope)
                .finish_non_exhaustive(),
        }
    }
}

/// Parses the grant-specific part of a token request (RFC 6749 §4.1.3, §4.4.2, §6). Client
/// authentication is read separately by [`crate::client_auth`].
pub fn parse_token_request(form: &Form) -> Result<TokenRequest, OAuthError> {
    // RFC 6749 §5.2: a missing required parameter is invalid_request.
    let grant_type = form.require("grant_type")?;
    match grant_type {
        "authorization_code" => authorization_code(form),
        "client_credentials" => client_credentials(form),
        "refresh_token" => refresh_token(form),
        // RFC 6749 §5.2: "The authorization grant type is not supported by the authorization
        // server."
        _ => Err(OAuthError::unsupported_grant_type(
            "the grant_type is not supported",
        )),
    }
}

/// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5): a required `code`, and
/// the `redirect_uri` and `code_verifier` when the authorization request called for them.
fn authorization_code(form: &Form) -> Result<TokenRequest, OAuthError> {
    Ok(TokenRequest::AuthorizationCode {
        code: form.require("code")?.to_owned(),
        redirect_uri: form.get("redirect_uri").map(str::to_owned),
        code_verifier: form.get("code_verifier").map(str::to_owned),
    })
}

/// `grant_type=refresh_token` (RFC 6749 §6): a required `refresh_token` and an optional
/// `scope`.
fn refresh_token(form: &Form) -> Result<TokenRequest, OAuthError> {
    let refresh_token = form.require("refresh_token")?.to_owned();
    let scope = form.get("scope").map(Scope::parse).transpose()?;
    Ok(TokenRequest::RefreshToken {
        refresh_token,
        scope,
    })
}

/// `grant_type=client_credentials` (RFC 6749 §4.4.2): only an optional `scope`.
fn client_credentials(form: &Form) -> Result<TokenRequest, OAuthError> {
    let scope = form.get("scope").map(Scope::parse).transpose()?;
    Ok(TokenRequest::ClientCredentials { scope })
}

/// The type of an issued access token (RFC 6749 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// A bearer token (RFC 6750).
    Bearer,
    // `DPoP` (RFC 9449 §5) joins here.
}

impl TokenType {
    /// The `token_type` value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenType::Bearer => "Bearer",
        }
    }
}

/// A successful token response (RFC 6749 §5.1). `Debug` never shows a token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// How the access token is used (RFC 6749 §7.1).
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The granted scope. RFC 6749 §5.1: OPTIONAL when it is the requested scope, REQUIRED
    /// otherwise; `tessera-core` always sends it when it knows it.
    pub scope: Option<Scope>,
    /// A refresh token, when one is issued (RFC 6749 §6).
    pub refresh_token: Option<String>,
    /// An ID token, when the grant authenticated a user for OpenID Connect (OIDC Core §3.1.3.3).
    pub id_token: Option<String>,
}

impl TokenResponse {
    /// A bearer token response without scope, refresh token or ID token.
    pub fn bearer(access_token: impl Into<String>, expires_in: u64) -> Self {
        Self {
            access_token: access_token.into(),
            token_type: TokenType::Bearer,
            expires_in,
            scope: None,
            refresh_token: None,
            id_token: None,
        }
    }

    /// The JSON body (RFC 6749 §5.1), with absent optional members (and an empty scope) left
    /// out rather than sent as `null` or `""`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("access_token".into(), self.access_token.clone().into());
        body.insert("token_type".into(), self.token_type.as_str().into());
        body.insert("expires_in".into(), self.expires_in.into());
        // An empty scope has no wire form (RFC 6749 §3.3 needs one token), so it is left out.
        if let Some(scope) = self.scope.as_ref().filter(|scope| !scope.is_empty()) {
            body.insert("scope".into(), scope.to_string().into());
        }
        if let Some(refresh_token) = &self.refresh_token {
            body.insert("refresh_token".into(), refresh_token.clone().into());
        }
        if let Some(id_token) = &self.id_token {
            body.insert("id_token".into(), id_token.clone().into());
        }
        serde_json::Value::Object(body)
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("has_id_token", &self.id_token.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn parse(body: &str) -> Result<TokenRequest, OAuthError> {
        parse_token_request(&Form::parse(body.as_bytes()).unwrap())
    }

    #[test]
    fn a_client_credentials_request_needs_only_its_grant_type() {
        // RFC 6749 §4.4.2: scope is OPTIONAL.
        let request = parse("grant_type=client_credentials").unwrap();
        assert_eq!(request, TokenRequest::ClientCredentials { scope: None });
        assert_eq!(request.grant_type(), "client_credentials");
    }

    #[test]
    fn a_client_credentials_request_may_ask_for_a_scope() {
        let request = parse("grant_type=client_credentials&scope=read%20write+read").unwrap();
        assert_eq!(
            request,
            TokenRequest::ClientCredentials {
                scope: Some(Scope::parse("read write").unwrap())
            }
        );
    }

    #[test]
    fn an_empty_scope_is_an_omitted_scope() {
        // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
        let request = parse("grant_type=client_credentials&scope=").unwrap();
        assert_eq!(request, TokenRequest::ClientCredentials { scope: None });
    }

    #[test]
    fn a_malformed_scope_is_invalid_scope() {
        // RFC 6749 §3.3, §5.2.
        let error = parse("grant_type=client_credentials&scope=read++write").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidScope);
        let error = parse("grant_type=client_credentials&scope=%22read%22").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn a_missing_grant_type_is_invalid_request() {
        // RFC 6749 §4.4.2: grant_type is REQUIRED; §5.2.
        let error = parse("scope=read").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the grant_type parameter is missing");
        assert_eq!(
            parse("grant_type=").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn an_unknown_grant_type_is_unsupported_grant_type() {
        // RFC 6749 §5.2.
        for grant_type in [
            "password",
            "implicit",
            "CLIENT_CREDENTIALS",
            "urn%3Aexample%3Agrant",
        ] {
            let error = parse(&format!("grant_type={grant_type}")).unwrap_err();
            assert_eq!(error.code, ErrorCode::UnsupportedGrantType, "{grant_type}");
        }
    }

    #[test]
    fn an_authorization_code_request_carries_code_redirect_uri_and_verifier() {
        // RFC 6749 §4.1.3, RFC 7636 §4.5.
        let request = parse(
            "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA\
             &redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb\
             &code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        )
        .unwrap();
        assert_eq!(
            request,
            TokenRequest::AuthorizationCode {
                code: "SplxlOBeZQQYbYS6WxSbIA".into(),
                redirect_uri: Some("https://client.example.com/cb".into()),
                code_verifier: Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()),
            }
        );
        assert_eq!(request.grant_type(), "authorization_code");
    }

    #[test]
    fn an_authorization_code_request_needs_only_its_code() {
        let request = parse("grant_type=authorization_code&code=c").unwrap();
        assert_eq!(
            request,
            TokenRequest::AuthorizationCode {
                code: "c".into(),
                redirect_uri: None,
                code_verifier: None,
            }
        );
    }

    #[test]
    fn an_authorization_code_request_without_a_code_is_invalid_request() {
        // RFC 6749 §4.1.3: code is REQUIRED.
        let error = parse("grant_type=authorization_code&redirect_uri=x").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the code parameter is missing");
    }

    #[test]
    fn a_malformed_code_verifier_is_kept_for_verification_to_fail() {
        // RFC 7636 §4.6: the server verifies; a bad verifier fails there as invalid_grant.
        let request = parse("grant_type=authorization_code&code=c&code_verifier=short").unwrap();
        assert!(matches!(
            request,
            TokenRequest::AuthorizationCode { code_verifier: Some(ref v), .. } if v == "short"
        ));
    }

    #[test]
    fn a_refresh_token_request_carries_the_token_and_an_optional_scope() {
        // RFC 6749 §6.
        let request =
            parse("grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA").unwrap();
        assert_eq!(
            request,
            TokenRequest::RefreshToken {
                refresh_token: "tGzv3JOkF0XG5Qx2TlKWIA".into(),
                scope: None,
            }
        );
        assert_eq!(request.grant_type(), "refresh_token");
        let request = parse("grant_type=refresh_token&refresh_token=r&scope=read").unwrap();
        assert_eq!(
            request,
            TokenRequest::RefreshToken {
                refresh_token: "r".into(),
                scope: Some(Scope::parse("read").unwrap()),
            }
        );
    }

    #[test]
    fn a_refresh_token_request_without_its_token_is_invalid_request() {
        // RFC 6749 §6: refresh_token is REQUIRED.
        let error = parse("grant_type=refresh_token&scope=read").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the refresh_token parameter is missing");
    }

    #[test]
    fn a_refresh_token_request_with_a_malformed_scope_is_invalid_scope() {
        let error = parse("grant_type=refresh_token&refresh_token=r&scope=a++b").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn debug_output_never_shows_a_code_verifier_or_refresh_token() {
        let code =
            parse("grant_type=authorization_code&code=code-secret&code_verifier=verifier-secret")
                .unwrap();
        let refresh = parse("grant_type=refresh_token&refresh_token=refresh-secret").unwrap();
        for shown in [format!("{code:?}"), format!("{refresh:?}")] {
            assert!(!shown.contains("secret"), "{shown}");
        }
    }

    #[test]
    fn unrecognised_parameters_are_ignored() {
        // RFC 6749 §3.2: "The authorization server MUST ignore unrecognized request
        // parameters."
        let request = parse("grant_type=client_credentials&foo=bar&code=x").unwrap();
        assert_eq!(request, TokenRequest::ClientCredentials { scope: None });
    }

    #[test]
    fn the_response_omits_absent_members() {
        // RFC 6749 §5.1.
        let response = TokenResponse::bearer("2YotnFZFEjr1zCsicMWpAA", 3600);
        assert_eq!(
            response.to_json(),
            json!({
                "access_token": "2YotnFZFEjr1zCsicMWpAA",
                "token_type": "Bearer",
                "expires_in": 3600,
            })
        );
    }

    #[test]
    fn the_response_carries_scope_refresh_token_and_id_token_when_present() {
        let response = TokenResponse {
            scope: Some(Scope::parse("openid email").unwrap()),
            refresh_token: Some("tGzv3JOkF0XG5Qx2TlKWIA".into()),
            id_token: Some("eyJ.eyJ.sig".into()),
            ..TokenResponse::bearer("2YotnFZFEjr1zCsicMWpAA", 300)
        };
        assert_eq!(
            response.to_json(),
            json!({
                "access_token": "2YotnFZFEjr1zCsicMWpAA",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "openid email",
                "refresh_token": "tGzv3JOkF0XG5Qx2TlKWIA",
                "id_token": "eyJ.eyJ.sig",
            })
        );
    }

    #[test]
    fn an_empty_scope_is_left_out_of_the_response() {
        let response = TokenResponse {
            scope: Some(Scope::empty()),
            ..TokenResponse::bearer("at", 60)
        };
        assert!(response.to_json().get("scope").is_none());
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let response = TokenResponse {
            refresh_token: Some("refresh-secret".into()),
            id_token: Some("id-secret".into()),
            ..TokenResponse::bearer("access-secret", 60)
        };
        let shown = format!("{response:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
