//! Provider metadata: OpenID Connect Discovery 1.0 §3 and OAuth 2.0 Authorization Server
//! Metadata (RFC 8414 §2).
//!
//! The documents advertise exactly what this crate implements, so a client configured from
//! them never picks something we refuse: only `response_type=code`, `query` and `form_post`
//! response modes, PKCE `S256`, no request objects and no `claims` parameter. Endpoint URLs
//! are the issuer plus [`crate::paths`], the same constants the router mounts.
//!
//! [`ProviderMetadata::authorization_server`] is the RFC 8414 document: the members RFC 8414
//! §2 defines (plus RFC 9207's `authorization_response_iss_parameter_supported`), without the
//! OpenID-only ones (`userinfo_endpoint`, `subject_types_supported`,
//! `id_token_signing_alg_values_supported`, `claims_supported`, `prompt_values_supported`,
//! `end_session_endpoint`, the `claims`/`request` flags, `acr_values_supported`). What is
//! deliberately left out of both until it exists: `registration_endpoint`,
//! `userinfo_signing_alg_values_supported`, and the front-channel logout members. Back-channel
//! logout (OpenID Connect Back-Channel Logout 1.0 §2.1) is advertised in both documents, and
//! `ui_locales_supported` (RFC 8414 §2, OIDC Discovery §3) lists the languages of the hosted
//! pages. `client_secret_jwt` (an HMAC keyed with the client secret) is not offered at all;
//! `private_key_jwt` is, with the algorithms of [`CLIENT_ASSERTION_SIGNING_ALGORITHMS`].

use serde_json::{Map, Value, json};

use crate::acr::ACR_VALUES_SUPPORTED;
use crate::claims::STANDARD_ORDER;
use crate::client_assertion::CLIENT_ASSERTION_SIGNING_ALGORITHMS;
use crate::paths;

/// The scopes we know the meaning of (OIDC Core §5.4, §11): every client may ask for them.
pub const STANDARD_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// The claims of an ID token and UserInfo response that are not a scope's standard claims
/// (OIDC Core §2, §3.1.3.6).
const PROTOCOL_CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "at_hash",
];

/// Client authentication methods at the token and revocation endpoints (RFC 7591 §2 names).
/// `client_secret_jwt` (HMAC with the client secret) is not offered.
const AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// Client authentication methods at the introspection endpoint: only confidential clients and
/// resource servers introspect (RFC 7662 §2.1 "the protected resource MUST also authenticate").
const INTROSPECTION_AUTH_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

/// The metadata of one issuer.
#[derive(Debug, Clone, Copy)]
pub struct ProviderMetadata<'a> {
    /// The issuer identifier: an `https` URL without query or fragment (OIDC Discovery §3,
    /// RFC 8414 §2), without a trailing slash.
    pub issuer: &'a str,
    /// The JWS algorithms the issuer signs ID tokens with (`RS256` must be among them for
    /// OIDC Discovery §3's REQUIRED member to be useful to every client).
    pub signing_algorithms: &'a [&'a str],
    /// The languages the hosted pages are written in, as BCP 47 tags.
    pub ui_locales: &'a [&'a str],
}

impl ProviderMetadata<'_> {
    /// The OpenID Provider configuration (OIDC Discovery 1.0 §3), served at
    /// [`paths::OPENID_CONFIGURATION`].
    pub fn openid_configuration(&self) -> Value {
        let mut members = self.authorization_server_members();
        members.insert(
            "userinfo_endpoint".into(),
            self.endpoint(paths::USERINFO).into(),
        );
        members.insert(
            "end_session_endpoint".into(),
            self.endpoint(paths::END_SESSION).into(),
        );
        members.insert("subject_types_supported".into(), json!(["public"]));
        members.insert(
            "id_token_signing_alg_values_supported".into(),
            json!(self.signing_algorithms),
        );
        members.insert("claims_supported".into(), json!(claims_supported()));
        members.insert(
            "prompt_values_supported".into(),
            json!(["none", "login", "consent", "select_account"]),
        );
        members.insert("acr_values_supported".into(), json!(ACR_VALUES_SUPPORTED));
        members.insert("claims_parameter_supported".into(), false.into());
        members.insert("request_parameter_supported".into(), false.into());
        members.insert("request_uri_parameter_supported".into(), false.into());
        Value::Object(members)
    }

    /// The authorization server metadata (RFC 8414 §2), served at
    /// [`paths::OAUTH_AUTHORIZATION_SERVER`].
    pub fn authorization_server(&self) -> Value {
        Value::Object(self.authorization_server_members())
    }

    /// The RFC 8414 §2 members, which the OpenID configuration extends.
    fn authorization_server_members(&self) -> Map<String, Value> {
        let mut members = Map::new();
        let mut put = |name: &str, value: Value| {
            members.insert(name.to_owned(), value);
        };
        put("issuer", self.issuer.into());
        put(
            "authorization_endpoint",
            self.endpoint(paths::AUTHORIZE).into(),
        );
        put("token_endpoint", self.endpoint(paths::TOKEN).into());
        put("jwks_uri", self.endpoint(paths::JWKS).into());
        put("scopes_supported", json!(STANDARD_SCOPES));
        put("response_types_supported", json!(["code"]));
        put("response_modes_supported", json!(["query", "form_post"]));
        put(
            "grant_types_supported",
            json!(["authorization_code", "refresh_token", "client_credentials"]),
        );
        // RFC 8414 §2: the `*_auth_signing_alg_values_supported` members go with
        // `private_key_jwt` (OIDC Discovery §3: REQUIRED when it is supported).
        let assertion_algorithms = json!(CLIENT_ASSERTION_SIGNING_ALGORITHMS);
        put("token_endpoint_auth_methods_supported", json!(AUTH_METHODS));
        put(
            "token_endpoint_auth_signing_alg_values_supported",
            assertion_algorithms.clone(),
        );
        put("revocation_endpoint", self.endpoint(paths::REVOKE).into());
        put(
            "revocation_endpoint_auth_methods_supported",
            json!(AUTH_METHODS),
        );
        put(
            "revocation_endpoint_auth_signing_alg_values_supported",
            assertion_algorithms.clone(),
        );
        put(
            "introspection_endpoint",
            self.endpoint(paths::INTROSPECT).into(),
        );
        put(
            "introspection_endpoint_auth_methods_supported",
            json!(INTROSPECTION_AUTH_METHODS),
        );
        put(
            "introspection_endpoint_auth_signing_alg_values_supported",
            assertion_algorithms,
        );
        put("code_challenge_methods_supported", json!(["S256"]));
        put("ui_locales_supported", json!(self.ui_locales));
        // RFC 9207 §3: we send `iss` with every authorization response.
        put(
            "authorization_response_iss_parameter_supported",
            true.into(),
        );
        // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens are POSTed to clients
        // that register a `backchannel_logout_uri`, always with `sid`. §6.1 registers both
        // members in the OAuth Authorization Server Metadata registry, so the RFC 8414
        // document carries them too.
        put("backchannel_logout_supported", true.into());
        put("backchannel_logout_session_supported", true.into());
        members
    }

    /// The URL of an endpoint: the issuer followed by its path.
    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }
}

/// The protocol claims, then every standard claim the supported scopes release (which is
/// all of [`STANDARD_ORDER`]; `claims` tests that the scopes release exactly those).
fn claims_supported() -> Vec<&'static str> {
    [PROTOCOL_CLAIMS, STANDARD_ORDER].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: ProviderMetadata<'static> = ProviderMetadata {
        issuer: "https://id.example/acme",
        signing_algorithms: &["RS256", "ES256"],
        ui_locales: &["en"],
    };

    #[test]
    fn endpoints_are_the_issuer_followed_by_the_router_paths() {
        let document = METADATA.openid_configuration();
        assert_eq!(document["issuer"], "https://id.example/acme");
        assert_eq!(
            document["authorization_endpoint"],
            "https://id.example/acme/oauth/authorize"
        );
        assert_eq!(
            document["token_endpoint"],
            "https://id.example/acme/oauth/token"
        );
        assert_eq!(
            document["userinfo_endpoint"],
            "https://id.example/acme/oauth/userinfo"
        );
        assert_eq!(
            document["introspection_endpoint"],
            "https://id.example/acme/oauth/introspect"
        );
        assert_eq!(
            document["revocation_endpoint"],
            "https://id.example/acme/oauth/revoke"
        );
        assert_eq!(
            document["end_session_endpoint"],
            "https://id.example/acme/oauth/logout"
        );
        assert_eq!(
            document["jwks_uri"],
            "https://id.example/acme/.well-known/jwks.json"
        );
    }

    #[test]
    fn a_trailing_slash_on_the_issuer_does_not_double_the_slash() {
        let metadata = ProviderMetadata {
            issuer: "https://id.example/",
            ..METADATA
        };
        assert_eq!(
            metadata.authorization_server()["token_endpoint"],
            "https://id.example/oauth/token"
        );
    }

    #[test]
    fn the_openid_configuration_advertises_exactly_what_is_implemented() {
        let document = METADATA.openid_configuration();
        assert_eq!(document["response_types_supported"], json!(["code"]));
        assert_eq!(
            document["response_modes_supported"],
            json!(["query", "form_post"])
        );
        assert_eq!(
            document["grant_types_supported"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(document["subject_types_supported"], json!(["public"]));
        assert_eq!(
            document["id_token_signing_alg_values_supported"],
            json!(["RS256", "ES256"])
        );
        assert_eq!(
            document["code_challenge_methods_supported"],
            json!(["S256"])
        );
        assert_eq!(
            document["token_endpoint_auth_methods_supported"],
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none"
            ])
        );
        assert_eq!(
            document["introspection_endpoint_auth_methods_supported"],
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt"
            ])
        );
        assert_eq!(
            document["revocation_endpoint_auth_methods_supported"],
            document["token_endpoint_auth_methods_supported"]
        );
        // OIDC Discovery §3, RFC 8414 §2: the algorithms of private_key_jwt assertions, never
        // `none` or HMAC.
        for member in [
            "token_endpoint_auth_signing_alg_values_supported",
            "introspection_endpoint_auth_signing_alg_values_supported",
            "revocation_endpoint_auth_signing_alg_values_supported",
        ] {
            assert_eq!(
                document[member],
                json!(["ES256", "RS256", "EdDSA", "Ed25519"]),
                "{member}"
            );
        }
        assert_eq!(
            document["scopes_supported"],
            json!([
                "openid",
                "profile",
                "email",
                "address",
                "phone",
                "offline_access"
            ])
        );
        assert_eq!(
            document["prompt_values_supported"],
            json!(["none", "login", "consent", "select_account"])
        );
        assert_eq!(document["claims_parameter_supported"], false);
        assert_eq!(document["request_parameter_supported"], false);
        assert_eq!(document["request_uri_parameter_supported"], false);
        assert_eq!(
            document["authorization_response_iss_parameter_supported"],
            true
        );
        assert_eq!(document["backchannel_logout_supported"], true);
        assert_eq!(document["backchannel_logout_session_supported"], true);
    }

    #[test]
    fn unimplemented_features_are_not_advertised() {
        let document = METADATA.openid_configuration();
        for member in [
            "registration_endpoint",
            "userinfo_signing_alg_values_supported",
            "frontchannel_logout_supported",
            "check_session_iframe",
        ] {
            assert!(document.get(member).is_none(), "{member}");
        }
    }

    #[test]
    fn claims_supported_lists_protocol_and_scope_claims_once() {
        let document = METADATA.openid_configuration();
        let claims: Vec<&str> = document["claims_supported"]
            .as_array()
            .unwrap()
            .iter()
            .map(|claim| claim.as_str().unwrap())
            .collect();
        assert_eq!(claims[..3], ["sub", "iss", "aud"]);
        for claim in [
            "at_hash",
            "sid",
            "name",
            "email_verified",
            "address",
            "phone_number_verified",
        ] {
            assert!(claims.contains(&claim), "{claim}");
        }
        let mut unique = claims.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), claims.len());
    }

    #[test]
    fn the_rfc_8414_document_leaves_out_the_openid_only_members() {
        let document = METADATA.authorization_server();
        for member in [
            "userinfo_endpoint",
            "end_session_endpoint",
            "subject_types_supported",
            "id_token_signing_alg_values_supported",
            "claims_supported",
            "prompt_values_supported",
            "claims_parameter_supported",
            "request_parameter_supported",
            "request_uri_parameter_supported",
        ] {
            assert!(document.get(member).is_none(), "{member}");
        }
        // RFC 8414 §2: issuer, authorization_endpoint, token_endpoint and
        // response_types_supported are present; RFC 9207 §3 adds the iss flag.
        for member in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "response_types_supported",
            "jwks_uri",
        ] {
            assert!(document.get(member).is_some(), "{member}");
        }
        assert_eq!(
            document["authorization_response_iss_parameter_supported"],
            true
        );
    }

    #[test]
    fn the_openid_configuration_contains_every_rfc_8414_member_unchanged() {
        let oidc = METADATA.openid_configuration();
        let Value::Object(oauth) = METADATA.authorization_server() else {
            panic!("an object")
        };
        for (name, value) in oauth {
            assert_eq!(oidc[&name], value, "{name}");
        }
    }
}
