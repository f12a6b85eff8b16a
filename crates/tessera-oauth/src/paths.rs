//! The endpoint paths of an issuer, relative to its issuer URL.
//!
//! Discovery advertises them ([`crate::ProviderMetadata`]) and the HTTP router mounts them, so
//! both read them from here and cannot drift apart: a path advertised but not served is a
//! client that fails at its first request.
//!
//! The well-known documents sit under the issuer, as OIDC Discovery 1.0 §4 places
//! `/.well-known/openid-configuration` ("the Issuer … concatenated with" the suffix). RFC 8414
//! §3.1 would insert `/.well-known/oauth-authorization-server` between host and path for an
//! issuer with a path; serving it under the issuer as well is what OIDC-style clients look
//! for, and the router decides whether it also mounts the RFC 8414 form.

/// The authorization endpoint (RFC 6749 §3.1).
pub const AUTHORIZE: &str = "/oauth/authorize";
/// The token endpoint (RFC 6749 §3.2).
pub const TOKEN: &str = "/oauth/token";
/// The UserInfo endpoint (OIDC Core §5.3).
pub const USERINFO: &str = "/oauth/userinfo";
/// The introspection endpoint (RFC 7662 §2).
pub const INTROSPECT: &str = "/oauth/introspect";
/// The revocation endpoint (RFC 7009 §2).
pub const REVOKE: &str = "/oauth/revoke";
/// The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0 §2).
pub const END_SESSION: &str = "/oauth/logout";
/// The issuer's public signing keys as a JWK Set (RFC 7517 §5; OIDC Discovery `jwks_uri`).
pub const JWKS: &str = "/.well-known/jwks.json";
/// The OpenID Provider configuration document (OIDC Discovery 1.0 §4).
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
/// The OAuth authorization server metadata document (RFC 8414 §3).
pub const OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
