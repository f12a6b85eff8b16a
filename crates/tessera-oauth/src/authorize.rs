//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
//!
//! The authorization endpoint is reached through the user's browser, so a request is read in
//! two stages that differ in where an error goes:
//!
//! 1. [`parse_client_target`]: who asks (`client_id`) and where the answer goes
//!    (`redirect_uri`). Until the caller has checked both against the client's registration,
//!    an error must be shown to the user and never redirected (RFC 6749 §4.1.2.1: "MUST NOT
//!    automatically redirect the user-agent to the invalid redirection URI"), or the endpoint
//!    becomes an open redirector (RFC 9700 §4.11).
//! 2. [`parse_authorization_request`]: every other parameter. Its errors go back to the
//!    client's checked redirect URI, with [`error_response_mode`] and the request's `state`
//!    (RFC 6749 §4.1.2.1).
//!
//! What is refused, and why:
//!
//! - Every `response_type` but `code`: the implicit and hybrid flows put tokens in the front
//!   channel (RFC 9700 §2.1.2: "clients SHOULD NOT use the implicit grant … or any other
//!   response type causing the authorization server to issue an access token in the
//!   authorization response"), and we issue no ID token there either.
//! - Every `response_mode` but `query` and `form_post` (the `fragment` mode serves only the
//!   refused response types).
//! - Request objects (`request`, `request_uri`) and `registration`: not offered, and answered
//!   with their own OIDC Core §3.1.2.6 codes so the client learns why (OIDC Core §6).
//! - A `prompt` with an unknown value, or `none` together with another value
//!   (OIDC Core §3.1.2.1).
//! - PKCE other than `S256` (see [`crate::CodeChallenge`]).
//!
//! The request is checked in that order, one named check per rule, so a reviewer sees the
//! whole validation in [`parse_authorization_request`]. What needs storage or policy
//! (is the scope allowed, is PKCE required for this client, must the user log in again for
//! `max_age`) is `tessera-core`'s. The `claims` parameter (OIDC Core §5.5) is not supported and,
//! like every unrecognised parameter, ignored (RFC 6749 §3.1); discovery says
//! `claims_parameter_supported: false`. `id_token_hint` is read by the caller from the form.

use crate::error::OAuthError;
use crate::form::Form;
use crate::pkce::CodeChallenge;
use crate::scope::Scope;

/// Stage 1: who asks and where the answer goes. Errors here must never be redirected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTarget {
    /// The client identifier (RFC 6749 §4.1.1: REQUIRED).
    pub client_id: String,
    /// The redirection URI, if the request names one (RFC 6749 §3.1.2.3: OPTIONAL when the
    /// client registered exactly one; OIDC Core §3.1.2.1 makes it REQUIRED for OpenID
    /// requests, which the caller checks once it knows the scope).
    pub redirect_uri: Option<String>,
}

/// Reads the client and the redirection URI of an authorization request. A missing
/// `client_id` is `invalid_request`. The caller shows any error to the user; it never
/// redirects it.
pub fn parse_client_target(form: &Form) -> Result<ClientTarget, OAuthError> {
    let client_id = form.require("client_id")?.to_owned();
    let redirect_uri = form.get("redirect_uri").map(str::to_owned);
    Ok(ClientTarget {
        client_id,
        redirect_uri,
    })
}

/// An authorization request, parsed (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636 §4.3).
///
/// Serializable, so the caller can keep it across the login and consent interaction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthorizationRequest {
    /// How the response is delivered; `query` unless the client asked for `form_post`.
    pub response_mode: ResponseMode,
    /// The requested scope; empty when the request names none.
    pub scope: Scope,
    /// The client's opaque value, returned unchanged (RFC 6749 §4.1.1: RECOMMENDED).
    pub state: Option<String>,
    /// The value to bind into the ID token (OIDC Core §3.1.2.1).
    pub nonce: Option<String>,
    /// Whether to re-authenticate, ask for consent, let the user choose an account, or show
    /// nothing (OIDC Core §3.1.2.1).
    pub prompt: Prompt,
    /// The longest time since the user last authenticated that the client accepts, in
    /// seconds (OIDC Core §3.1.2.1).
    pub max_age: Option<u64>,
    /// A hint about who the user is (OIDC Core §3.1.2.1).
    pub login_hint: Option<String>,
    /// The user's preferred languages for the UI, as BCP 47 tags (OIDC Core §3.1.2.1).
    pub ui_locales: Vec<String>,
    /// Requested authentication context classes, in order of preference
    /// (OIDC Core §3.1.2.1).
    pub acr_values: Vec<String>,
    /// The PKCE challenge, if the client sent one (RFC 7636 §4.3).
    pub code_challenge: Option<CodeChallenge>,
}

/// How the authorization response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query (RFC 6749 §4.1.2; the default for `code`,
    /// OAuth 2.0 Multiple Response Type Encoding Practices §2.1).
    Query,
    /// Parameters in an auto-submitted HTML form POSTed to the redirect URI (OAuth 2.0 Form
    /// Post Response Mode §2).
    FormPost,
}

impl ResponseMode {
    /// The `response_mode` value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::FormPost => "form_post",
        }
    }
}

/// The `prompt` parameter: a set of OIDC Core §3.1.2.1's values. The default is no prompt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Prompt {
    /// Show no page at all; fail with `login_required`, `consent_required`… instead.
    pub none: bool,
    /// Authenticate the user again, even with a session.
    pub login: bool,
    /// Ask for consent again, even if it was given before.
    pub consent: bool,
    /// Let the user choose between the accounts of their sessions.
    pub select_account: bool,
}

impl Prompt {
    /// Parses a `prompt` value (OIDC Core §3.1.2.1): space-separated `none`, `login`,
    /// `consent` and `select_account`; `none` stands alone. Every refusal is
    /// `invalid_request`.
    pub fn parse(text: &str) -> Result<Self, OAuthError> {
        let mut prompt = Prompt::default();
        for value in text.split(' ') {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => prompt.select_account = true,
                "" => {
                    return Err(OAuthError::invalid_request(
                        "the prompt parameter has an empty value (extra spaces)",
                    ));
                }
                _ => {
                    return Err(OAuthError::invalid_request(
                        "the prompt parameter has an unknown value",
                    ));
                }
            }
        }
        // OIDC Core §3.1.2.1: "If this parameter contains none with any other value, an
        // error is returned."
        if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with another prompt value",
            ));
        }
        Ok(prompt)
    }
}

/// Reads every parameter of an authorization request but the client and redirect URI, once
/// the caller has checked those. Errors are delivered to the redirect URI.
///
/// The checks run in this order, so the first rule broken is the one reported.
pub fn parse_authorization_request(form: &Form) -> Result<AuthorizationRequest, OAuthError> {
    check_response_type(form)?;
    let response_mode = parse_response_mode(form)?;
    refuse_request_objects(form)?;
    let scope = match form.get("scope") {
        Some(text) => Scope::parse(text)?,
        None => Scope::empty(),
    };
    let prompt = match form.get("prompt") {
        Some(text) => Prompt::parse(text)?,
        None => Prompt::default(),
    };
    let max_age = form.get("max_age").map(parse_max_age).transpose()?;
    // RFC 7636 §4.3.
    let code_challenge = CodeChallenge::parse(
        form.get("code_challenge"),
        form.get("code_challenge_method"),
    )?;
    Ok(AuthorizationRequest {
        response_mode,
        scope,
        state: form.get("state").map(str::to_owned),
        nonce: form.get("nonce").map(str::to_owned),
        prompt,
        max_age,
        login_hint: form.get("login_hint").map(str::to_owned),
        ui_locales: space_separated(form.get("ui_locales")),
        acr_values: space_separated(form.get("acr_values")),
        code_challenge,
    })
}

/// The response mode to deliver a stage-2 error with: `form_post` when the request asked for
/// it, `query` otherwise, including when the `response_mode` itself was the error.
pub fn error_response_mode(form: &Form) -> ResponseMode {
    match form.get("response_mode") {
        Some("form_post") => ResponseMode::FormPost,
        _ => ResponseMode::Query,
    }
}

/// RFC 6749 §4.1.1: `response_type` is REQUIRED and is `code` for this flow; RFC 9700 §2.1.2
/// leaves no other value worth offering.
fn check_response_type(form: &Form) -> Result<(), OAuthError> {
    match form.require("response_type")? {
        "code" => Ok(()),
        // RFC 6749 §4.1.2.1: "The authorization server does not support obtaining an
        // authorization code using this method" is unsupported_response_type.
        _ => Err(OAuthError::unsupported_response_type(
            "only response_type=code is supported",
        )),
    }
}

/// OAuth 2.0 Multiple Response Type Encoding Practices §2.1 and Form Post Response Mode §2.
fn parse_response_mode(form: &Form) -> Result<ResponseMode, OAuthError> {
    match form.get("response_mode") {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(_) => Err(OAuthError::invalid_request(
            "the response_mode must be query or form_post",
        )),
    }
}

/// OIDC Core §6: request objects are optional and not offered; §3.1.2.6 names the codes.
fn refuse_request_objects(form: &Form) -> Result<(), OAuthError> {
    if form.has("request") {
        return Err(OAuthError::request_not_supported(
            "the request parameter is not supported",
        ));
    }
    if form.has("request_uri") {
        return Err(OAuthError::request_uri_not_supported(
            "the request_uri parameter is not supported",
        ));
    }
    // OIDC Core §7.2.1: `registration` belongs to Self-Issued OpenID Providers.
    if form.has("registration") {
        return Err(OAuthError::registration_not_supported(
            "the registration parameter is not supported",
        ));
    }
    Ok(())
}

/// OIDC Core §3.1.2.1: `max_age` is a number of seconds. Only ASCII digits are accepted, so
/// `+5`, `-0` and `5.0` are refused rather than read by a lenient integer parser.
fn parse_max_age(text: &str) -> Result<u64, OAuthError> {
    let invalid = || OAuthError::invalid_request("max_age must be a non-negative integer");
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    text.parse().map_err(|_| invalid())
}

/// A space-separated list (OIDC Core §3.1.2.1 `ui_locales`, `acr_values`); extra spaces are
/// skipped, since these values only express preferences.
pub(crate) fn space_separated(text: Option<&str>) -> Vec<String> {
    text.map(|text| {
        text.split(' ')
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn form(body: &str) -> Form {
        Form::parse(body.as_bytes()).unwrap()
    }

    fn parse(body: &str) -> Result<AuthorizationRequest, OAuthError> {
        parse_authorization_request(&form(body))
    }

    fn refused(body: &str) -> OAuthError {
        parse(body).expect_err("the request should be refused")
    }

    #[test]
    fn the_client_target_is_client_id_and_redirect_uri() {
        let target = parse_client_target(&form(
            "client_id=s6BhdRkqt3&redirect_uri=https%3A%2F%2Fclient.example%2Fcb&response_type=x",
        ))
        .unwrap();
        assert_eq!(
            target,
            ClientTarget {
                client_id: "s6BhdRkqt3".into(),
                redirect_uri: Some("https://client.example/cb".into()),
            }
        );
        let target = parse_client_target(&form("client_id=a")).unwrap();
        assert_eq!(target.redirect_uri, None);
    }

    #[test]
    fn a_missing_client_id_is_invalid_request() {
        // RFC 6749 §4.1.1: client_id is REQUIRED.
        let error = parse_client_target(&form("redirect_uri=https%3A%2F%2Fa.example")).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the client_id parameter is missing");
    }

    #[test]
    fn a_minimal_request_is_response_type_code() {
        let request = parse("response_type=code").unwrap();
        assert_eq!(
            request,
            AuthorizationRequest {
                response_mode: ResponseMode::Query,
                scope: Scope::empty(),
                state: None,
                nonce: None,
                prompt: Prompt::default(),
                max_age: None,
                login_hint: None,
                ui_locales: Vec::new(),
                acr_values: Vec::new(),
                code_challenge: None,
            }
        );
    }

    #[test]
    fn a_full_openid_request_is_read_completely() {
        let request = parse(&format!(
            "response_type=code&client_id=c&scope=openid+email&state=af0ifjsldkj&nonce=n-0S6_WzA2Mj\
             &response_mode=form_post&prompt=login+consent&max_age=300&login_hint=alice%40example.com\
             &ui_locales=fr-CA+fr+en&acr_values=urn%3Amace%3Aincommon%3Aiap%3Asilver\
             &code_challenge={CHALLENGE}&code_challenge_method=S256"
        ))
        .unwrap();
        assert_eq!(request.response_mode, ResponseMode::FormPost);
        assert_eq!(request.scope, Scope::parse("openid email").unwrap());
        assert_eq!(request.state.as_deref(), Some("af0ifjsldkj"));
        assert_eq!(request.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert_eq!(
            request.prompt,
            Prompt {
                login: true,
                consent: true,
                ..Prompt::default()
            }
        );
        assert_eq!(request.max_age, Some(300));
        assert_eq!(request.login_hint.as_deref(), Some("alice@example.com"));
        assert_eq!(request.ui_locales, ["fr-CA", "fr", "en"]);
        assert_eq!(request.acr_values, ["urn:mace:incommon:iap:silver"]);
        assert_eq!(
            request.code_challenge.as_ref().map(CodeChallenge::as_str),
            Some(CHALLENGE)
        );
    }

    #[test]
    fn a_missing_response_type_is_invalid_request() {
        // RFC 6749 §4.1.1: response_type is REQUIRED.
        let error = refused("scope=openid");
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(error.description, "the response_type parameter is missing");
    }

    #[test]
    fn every_response_type_but_code_is_unsupported() {
        // RFC 9700 §2.1.2: no tokens in the authorization response.
        for response_type in [
            "token",
            "id_token",
            "code+id_token",
            "code+token",
            "id_token+token",
            "none",
            "CODE",
            "code+",
        ] {
            let error = refused(&format!("response_type={response_type}"));
            assert_eq!(
                error.code,
                ErrorCode::UnsupportedResponseType,
                "{response_type}"
            );
        }
    }

    #[test]
    fn the_response_mode_is_query_or_form_post() {
        assert_eq!(
            parse("response_type=code&response_mode=query")
                .unwrap()
                .response_mode,
            ResponseMode::Query
        );
        assert_eq!(
            parse("response_type=code&response_mode=form_post")
                .unwrap()
                .response_mode,
            ResponseMode::FormPost
        );
        for mode in ["fragment", "jwt", "query.jwt", "FORM_POST"] {
            let error = refused(&format!("response_type=code&response_mode={mode}"));
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{mode}");
        }
    }

    #[test]
    fn an_error_is_delivered_with_form_post_only_when_asked_for() {
        assert_eq!(
            error_response_mode(&form("response_mode=form_post")),
            ResponseMode::FormPost
        );
        for body in ["", "response_mode=query", "response_mode=fragment"] {
            assert_eq!(
                error_response_mode(&form(body)),
                ResponseMode::Query,
                "{body}"
            );
        }
    }

    #[test]
    fn request_objects_are_refused_with_their_own_codes() {
        // OIDC Core §6, §3.1.2.6.
        let error = refused("response_type=code&request=eyJ.eyJ.sig");
        assert_eq!(error.code, ErrorCode::RequestNotSupported);
        let error = refused("response_type=code&request_uri=urn%3Aexample%3Ax");
        assert_eq!(error.code, ErrorCode::RequestUriNotSupported);
        let error = refused("response_type=code&registration=%7B%7D");
        assert_eq!(error.code, ErrorCode::RegistrationNotSupported);
    }

    #[test]
    fn an_absent_scope_is_the_empty_scope_and_a_malformed_one_is_invalid_scope() {
        assert!(parse("response_type=code").unwrap().scope.is_empty());
        let error = refused("response_type=code&scope=openid++email");
        assert_eq!(error.code, ErrorCode::InvalidScope);
    }

    #[test]
    fn prompt_is_a_set_of_known_values() {
        // OIDC Core §3.1.2.1.
        let prompt = parse("response_type=code&prompt=select_account+login+login")
            .unwrap()
            .prompt;
        assert_eq!(
            prompt,
            Prompt {
                login: true,
                select_account: true,
                ..Prompt::default()
            }
        );
        assert!(parse("response_type=code&prompt=none").unwrap().prompt.none);
    }

    #[test]
    fn an_unknown_prompt_value_is_invalid_request() {
        for prompt in ["create", "Login", "login++consent", "+none"] {
            let error = refused(&format!("response_type=code&prompt={prompt}"));
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{prompt}");
        }
    }

    #[test]
    fn prompt_none_with_another_value_is_invalid_request() {
        // OIDC Core §3.1.2.1: "If this parameter contains none with any other value, an error
        // is returned."
        for prompt in ["none+login", "consent+none", "none+select_account"] {
            let error = refused(&format!("response_type=code&prompt={prompt}"));
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{prompt}");
        }
    }

    #[test]
    fn max_age_is_a_non_negative_integer() {
        assert_eq!(
            parse("response_type=code&max_age=0").unwrap().max_age,
            Some(0)
        );
        for max_age in ["-1", "%2B5", "5.0", "1e3", "abc", "18446744073709551616"] {
            let error = refused(&format!("response_type=code&max_age={max_age}"));
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{max_age}");
        }
    }

    #[test]
    fn the_pkce_rules_apply_to_the_request() {
        let error = refused(&format!("response_type=code&code_challenge={CHALLENGE}"));
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert_eq!(
            error.description,
            "PKCE method plain is not accepted; use S256"
        );
    }

    #[test]
    fn the_response_type_is_checked_before_anything_else() {
        let error = refused("response_type=token&response_mode=fragment&request=x&prompt=bad");
        assert_eq!(error.code, ErrorCode::UnsupportedResponseType);
    }

    #[test]
    fn unrecognised_parameters_are_ignored() {
        // RFC 6749 §3.1; the claims parameter is not supported (OIDC Core §5.5).
        let request = parse("response_type=code&claims=%7B%7D&foo=bar").unwrap();
        assert!(request.scope.is_empty());
    }

    #[test]
    fn a_request_survives_a_serde_round_trip() {
        let request = parse(&format!(
            "response_type=code&scope=openid&state=s&response_mode=form_post&prompt=consent\
             &code_challenge={CHALLENGE}&code_challenge_method=S256"
        ))
        .unwrap();
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["response_mode"], "form_post");
        assert_eq!(json["scope"], "openid");
        let back: AuthorizationRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request);
    }
}
