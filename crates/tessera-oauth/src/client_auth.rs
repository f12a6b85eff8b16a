//! How a client says who it is at the token endpoint.
//!
//! [`client_auth`] reads the credentials a request *presents*; whether they are right (the
//! client exists, the secret matches, the method is the one the client registered, a client
//! with no secret is a public client) is decided by `tessera-core` against what storage
//! answered. The rules enforced here are those of the request's shape:
//!
//! - `Authorization: Basic` carries `base64(urlencode(client_id) ":" urlencode(client_secret))`
//!   (RFC 6749 §2.3.1), so both halves are form-decoded after the base64 is. A header that is
//!   not exactly that, or another scheme such as `Bearer`, is `invalid_client`.
//! - "The client MUST NOT use more than one authentication method in each request"
//!   (RFC 6749 §2.3): Basic together with `client_secret` or a `client_assertion` in the body
//!   is `invalid_request`, and so is a body `client_id` that names another client than the
//!   header.
//! - `client_secret` in the body requires `client_id` beside it (RFC 6749 §2.3.1); a
//!   request that names no client at all is `invalid_client`.
//! - A JWT client assertion (`private_key_jwt`, RFC 7523 §2.2) comes as `client_assertion`
//!   together with `client_assertion_type` `urn:ietf:params:oauth:client-assertion-type:
//!   jwt-bearer` (RFC 7521 §4.2: both, or it is `invalid_request`; another type is
//!   `invalid_client`). The assertion names its client in `sub` (RFC 7523 §3 item 2), read
//!   here without verifying anything, only to find the client whose keys will; a malformed
//!   assertion is `invalid_client`. A `client_id` in the body is optional and must name the
//!   same client (RFC 7521 §4.2), or it is `invalid_client`. A `client_secret` beside an
//!   assertion is a second method, `invalid_request`.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};

use crate::client_assertion::JWT_BEARER_ASSERTION_TYPE;
use crate::error::OAuthError;
use crate::form::{Form, decode_component};

/// The credentials a token-endpoint request presented, by authentication method.
///
/// The method names are those of the `token_endpoint_auth_method` registry (RFC 7591 §2),
/// see [`ClientAuth::method`]. `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic in the `Authorization` header (RFC 6749 §2.3.1).
    Basic {
        /// The client identifier, decoded.
        client_id: String,
        /// The client secret, decoded.
        client_secret: String,
    },
    /// `client_secret_post`: `client_id` and `client_secret` in the body (RFC 6749 §2.3.1).
    Post {
        /// The client identifier.
        client_id: String,
        /// The client secret.
        client_secret: String,
    },
    /// `none`: a public client that only names itself with `client_id` (RFC 6749 §2.1,
    /// §3.2.1). Valid only for a client registered as public.
    None {
        /// The client identifier.
        client_id: String,
    },
    /// `private_key_jwt`: a JWT signed with the client's private key (RFC 7523 §2.2, OIDC
    /// Core §9). Nothing of it is verified yet.
    PrivateKeyJwt {
        /// The client the assertion names (its `sub`, unverified).
        client_id: String,
        /// The compact JWS.
        assertion: String,
    },
}

impl ClientAuth {
    /// The client identifier the request presented.
    pub fn client_id(&self) -> &str {
        match self {
            ClientAuth::Basic { client_id, .. }
            | ClientAuth::Post { client_id, .. }
            | ClientAuth::None { client_id }
            | ClientAuth::PrivateKeyJwt { client_id, .. } => client_id,
        }
    }

    /// The method's name in the `token_endpoint_auth_method` registry (RFC 7591 §2), to
    /// compare with the method the client registered.
    pub fn method(&self) -> &'static str {
        match self {
            ClientAuth::Basic { .. } => "client_secret_basic",
            ClientAuth::Post { .. } => "client_secret_post",
            ClientAuth::None { .. } => "none",
            ClientAuth::PrivateKeyJwt { .. } => "private_key_jwt",
        }
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuth")
            .field("method", &self.method())
            .field("client_id", &self.client_id())
            .finish_non_exhaustive()
    }
}

/// Reads the client credentials of a token-endpoint request from its `Authorization` header
/// (if any) and its form body. Refusals are `invalid_client` or `invalid_request`.
pub fn client_auth(
    authorization_header: Option<&str>,
    form: &Form,
) -> Result<ClientAuth, OAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let body_assertion = form.has("client_assertion") || form.has("client_assertion_type");

    if let Some(header) = authorization_header {
        let (client_id, client_secret) = parse_basic(header)?;
        // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each
        // request."
        if body_secret.is_some() || body_assertion {
            return Err(OAuthError::invalid_request(
                "the client used more than one authentication method",
            ));
        }
        // RFC 6749 §3.2.1 lets a client repeat its client_id in the body; it must be the same
        // client.
        if body_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "the client_id parameter does not match the Authorization header",
            ));
        }
        return Ok(ClientAuth::Basic {
            client_id,
            client_secret,
        });
    }

    if body_assertion {
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "the client used more than one authentication method",
            ));
        }
        return assertion_auth(form, body_id);
    }
    match (body_id, body_secret) {
        (Some(client_id), Some(client_secret)) => Ok(ClientAuth::Post {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
        }),
        (Some(client_id), None) => Ok(ClientAuth::None {
            client_id: client_id.to_owned(),
        }),
        // RFC 6749 §2.3.1: client_secret is sent together with client_id.
        (None, Some(_)) => Err(OAuthError::invalid_client(
            "client_secret was sent without client_id",
        )),
        (None, None) => Err(OAuthError::invalid_client(
            "the request does not authenticate a client",
        )),
    }
}

/// RFC 7521 §4.2 and RFC 7523 §2.2: the assertion, its type, and the client it names.
fn assertion_auth(form: &Form, body_id: Option<&str>) -> Result<ClientAuth, OAuthError> {
    let (Some(assertion_type), Some(assertion)) = (
        form.get("client_assertion_type"),
        form.get("client_assertion"),
    ) else {
        return Err(OAuthError::invalid_request(
            "client_assertion and client_assertion_type are sent together",
        ));
    };
    if assertion_type != JWT_BEARER_ASSERTION_TYPE {
        return Err(OAuthError::invalid_client(
            "the client_assertion_type is not supported",
        ));
    }
    let client_id = assertion_subject(assertion)
        .ok_or_else(|| OAuthError::invalid_client("the client assertion is malformed"))?;
    if body_id.is_some_and(|id| id != client_id) {
        return Err(OAuthError::invalid_client(
            "the client_id parameter does not match the client assertion",
        ));
    }
    Ok(ClientAuth::PrivateKeyJwt {
        client_id,
        assertion: assertion.to_owned(),
    })
}

/// The `sub` of a compact JWS (three base64url segments, the second a JSON object), read
/// without verifying anything.
fn assertion_subject(assertion: &str) -> Option<String> {
    let mut segments = assertion.split('.');
    let (Some(_header), Some(claims), Some(_signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return None;
    };
    let claims = URL_SAFE_NO_PAD.decode(claims).ok()?;
    let claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&claims).ok()?;
    let subject = claims.get("sub")?.as_str()?;
    (!subject.is_empty()).then(|| subject.to_owned())
}

/// Base64 with the standard alphabet (RFC 7617 §2 refers to RFC 4648 §4); padding is accepted
/// but not required, since some clients leave it off.
const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parses `Basic <token68>` into the decoded client id and secret (RFC 6749 §2.3.1,
/// RFC 7617 §2). Every refusal is `invalid_client`.
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let malformed = || OAuthError::invalid_client("the Authorization header is malformed");

    // RFC 7235 §2.1: credentials = auth-scheme [ 1*SP token68 ]; the scheme is
    // case-insensitive.
    let header = header.trim_matches([' ', '\t']);
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "the token endpoint accepts only the Basic authentication scheme",
        ));
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() {
        return Err(malformed());
    }
    let decoded = BASIC_BASE64.decode(token).map_err(|_| malformed())?;
    // RFC 7617 §2: user-id and password are split at the first colon; the user-id cannot
    // contain one (a colon in a client_id arrives percent-encoded).
    let mut halves = decoded.splitn(2, |&b| b == b':');
    let raw_id = halves.next().unwrap_or_default();
    let raw_secret = halves.next().ok_or_else(malformed)?;
    // RFC 6749 §2.3.1: both halves are application/x-www-form-urlencoded before base64.
    let client_id = decode_component(raw_id).ok_or_else(malformed)?;
    let client_secret = decode_component(raw_secret).ok_or_else(malformed)?;
    if client_id.is_empty() || client_secret.is_empty() {
        return Err(malformed());
    }
    if client_id.len() > Form::MAX_PARAMETER_BYTES
        || client_secret.len() > Form::MAX_PARAMETER_BYTES
    {
        return Err(malformed());
    }
    Ok((client_id, client_secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use base64::engine::general_purpose::STANDARD;

    fn form(body: &str) -> Form {
        Form::parse(body.as_bytes()).unwrap()
    }

    /// The header a conforming client sends (RFC 6749 §2.3.1): each half form-urlencoded,
    /// then base64.
    fn basic(id: &str, secret: &str) -> String {
        let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
        let secret: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn refused(header: Option<&str>, body: &str) -> OAuthError {
        client_auth(header, &form(body)).expect_err("the credentials should be refused")
    }

    #[test]
    fn basic_credentials_are_read_from_the_authorization_header() {
        // RFC 6749 §2.3.1.
        let auth = client_auth(
            Some(&basic("s6BhdRkqt3", "7Fjfp0ZBr1KtDRbnfVdmIw")),
            &form(""),
        )
        .unwrap();
        assert_eq!(
            auth,
            ClientAuth::Basic {
                client_id: "s6BhdRkqt3".into(),
                client_secret: "7Fjfp0ZBr1KtDRbnfVdmIw".into(),
            }
        );
        assert_eq!(auth.method(), "client_secret_basic");
        assert_eq!(auth.client_id(), "s6BhdRkqt3");
    }

    #[test]
    fn basic_credentials_are_form_urldecoded_after_base64() {
        // RFC 6749 §2.3.1: "The client identifier is encoded using the
        // application/x-www-form-urlencoded encoding algorithm … and the encoded value is used
        // as the username; the client password is encoded using the same algorithm".
        let auth = client_auth(Some(&basic("my:client", "p@ss w+rd/é%")), &form("")).unwrap();
        assert_eq!(auth.client_id(), "my:client");
        assert_eq!(
            auth,
            ClientAuth::Basic {
                client_id: "my:client".into(),
                client_secret: "p@ss w+rd/é%".into(),
            }
        );
        // `+` is a space once decoded.
        let plus = format!("Basic {}", STANDARD.encode("a+b:c+d"));
        let auth = client_auth(Some(&plus), &form("")).unwrap();
        assert_eq!(
            auth,
            ClientAuth::Basic {
                client_id: "a b".into(),
                client_secret: "c d".into()
            }
        );
    }

    #[test]
    fn the_scheme_name_is_case_insensitive() {
        // RFC 7235 §2.1.
        let header = basic("id", "secret").replacen("Basic", "bAsIc", 1);
        assert!(client_auth(Some(&header), &form("")).is_ok());
    }

    #[test]
    fn base64_padding_may_be_left_off() {
        let header = format!(
            "Basic {}",
            STANDARD.encode("id:secret1").trim_end_matches('=')
        );
        assert!(client_auth(Some(&header), &form("")).is_ok());
    }

    #[test]
    fn a_malformed_basic_header_is_invalid_client() {
        let not_utf8 = format!("Basic {}", STANDARD.encode(b"id:%FF"));
        let no_colon = format!("Basic {}", STANDARD.encode("idsecret"));
        let no_id = format!("Basic {}", STANDARD.encode(":secret"));
        let no_secret = format!("Basic {}", STANDARD.encode("id:"));
        let raw_not_utf8 = format!("Basic {}", STANDARD.encode(b"id:\xff"));
        for header in [
            "Basic",
            "Basic ",
            "Basic !!!",
            "Basic aWQ6c2VjcmV0 extra",
            "",
            not_utf8.as_str(),
            no_colon.as_str(),
            no_id.as_str(),
            no_secret.as_str(),
            raw_not_utf8.as_str(),
        ] {
            let error = refused(Some(header), "");
            assert_eq!(error.code, ErrorCode::InvalidClient, "{header:?}");
        }
    }

    #[test]
    fn a_bearer_token_does_not_authenticate_a_client() {
        let error = refused(Some("Bearer mF_9.B5f-4.1JqM"), "client_id=abc");
        assert_eq!(error.code, ErrorCode::InvalidClient);
        assert_eq!(error.status(), 401);
    }

    #[test]
    fn basic_together_with_a_body_secret_is_invalid_request() {
        // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each
        // request."
        let error = refused(
            Some(&basic("id", "secret")),
            "client_id=id&client_secret=secret",
        );
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        let error = refused(Some(&basic("id", "secret")), "client_secret=secret");
        assert_eq!(error.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn basic_together_with_a_client_assertion_is_invalid_request() {
        let error = refused(
            Some(&basic("id", "secret")),
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=x.y.z",
        );
        assert_eq!(error.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_body_client_id_must_match_the_basic_one() {
        // RFC 6749 §3.2.1 allows client_id in the body; it must name the same client.
        let same = client_auth(Some(&basic("id", "secret")), &form("client_id=id")).unwrap();
        assert_eq!(same.client_id(), "id");
        let error = refused(Some(&basic("id", "secret")), "client_id=other");
        assert_eq!(error.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn body_credentials_are_client_secret_post() {
        // RFC 6749 §2.3.1.
        let auth = client_auth(None, &form("client_id=id&client_secret=s%2Bcret")).unwrap();
        assert_eq!(
            auth,
            ClientAuth::Post {
                client_id: "id".into(),
                client_secret: "s+cret".into()
            }
        );
        assert_eq!(auth.method(), "client_secret_post");
    }

    #[test]
    fn a_client_id_alone_is_a_public_client() {
        // RFC 6749 §3.2.1: an unauthenticated client identifies itself with client_id.
        let auth = client_auth(None, &form("client_id=spa")).unwrap();
        assert_eq!(
            auth,
            ClientAuth::None {
                client_id: "spa".into()
            }
        );
        assert_eq!(auth.method(), "none");
    }

    #[test]
    fn a_body_secret_without_client_id_is_invalid_client() {
        let error = refused(None, "client_secret=secret");
        assert_eq!(error.code, ErrorCode::InvalidClient);
    }

    #[test]
    fn a_request_without_any_client_is_invalid_client() {
        let error = refused(None, "grant_type=client_credentials");
        assert_eq!(error.code, ErrorCode::InvalidClient);
        // An empty client_id is an omitted one (RFC 6749 §3.1).
        let error = refused(None, "client_id=&client_secret=");
        assert_eq!(error.code, ErrorCode::InvalidClient);
    }

    const JWT_BEARER: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

    /// An (unsigned) compact JWS whose claims are `claims`.
    fn assertion(claims: &str) -> String {
        format!(
            "eyJhbGciOiJFUzI1NiJ9.{}.c2ln",
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn a_jwt_assertion_is_private_key_jwt_for_the_client_it_names() {
        // RFC 7523 §2.2; the client is the assertion's sub (RFC 7523 §3 item 2).
        let jwt = assertion(r#"{"iss":"cli_1","sub":"cli_1"}"#);
        let body = format!("client_assertion_type={JWT_BEARER}&client_assertion={jwt}");
        let auth = client_auth(None, &form(&body)).unwrap();
        assert_eq!(
            auth,
            ClientAuth::PrivateKeyJwt {
                client_id: "cli_1".into(),
                assertion: jwt.clone(),
            }
        );
        assert_eq!(auth.method(), "private_key_jwt");
        assert_eq!(auth.client_id(), "cli_1");
        // RFC 7521 §4.2: a client_id beside it names the same client.
        let same = client_auth(None, &form(&format!("{body}&client_id=cli_1"))).unwrap();
        assert_eq!(same, auth);
        let error = refused(None, &format!("{body}&client_id=cli_2"));
        assert_eq!(error.code, ErrorCode::InvalidClient);
        assert!(
            !format!("{auth:?}").contains(&jwt),
            "Debug hides the assertion"
        );
    }

    #[test]
    fn an_assertion_needs_its_type_and_the_jwt_bearer_type() {
        // RFC 7521 §4.2: both parameters are REQUIRED.
        let jwt = assertion(r#"{"sub":"cli_1"}"#);
        let error = refused(None, &format!("client_id=id&client_assertion={jwt}"));
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        let error = refused(None, &format!("client_assertion_type={JWT_BEARER}"));
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        let error = refused(
            None,
            &format!(
                "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Asaml2-bearer&client_assertion={jwt}"
            ),
        );
        assert_eq!(error.code, ErrorCode::InvalidClient);
    }

    #[test]
    fn a_malformed_assertion_is_invalid_client() {
        for jwt in [
            "x.y.z".to_owned(),
            "a.b".to_owned(),
            assertion(r#"{"iss":"cli_1"}"#),
            assertion(r#"{"sub":""}"#),
            assertion(r#"{"sub":5}"#),
            assertion(r#"["sub"]"#),
            format!("{}.extra", assertion(r#"{"sub":"cli_1"}"#)),
        ] {
            let body = format!("client_assertion_type={JWT_BEARER}&client_assertion={jwt}");
            assert_eq!(refused(None, &body).code, ErrorCode::InvalidClient, "{jwt}");
        }
    }

    #[test]
    fn an_assertion_together_with_a_secret_is_invalid_request() {
        // RFC 6749 §2.3: one method per request.
        let jwt = assertion(r#"{"sub":"cli_1"}"#);
        let body = format!(
            "client_id=cli_1&client_secret=s&client_assertion_type={JWT_BEARER}&client_assertion={jwt}"
        );
        assert_eq!(refused(None, &body).code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let auth = ClientAuth::Post {
            client_id: "id".into(),
            client_secret: "hunter2".into(),
        };
        let shown = format!("{auth:?}");
        assert!(shown.contains("client_secret_post") && shown.contains("id"));
        assert!(!shown.contains("hunter2"));
    }
}
