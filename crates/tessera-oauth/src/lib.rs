//! Sans-IO OAuth 2.0 and OpenID Connect: the protocol's rules, without the network.
//!
//! This crate parses and validates what clients send and assembles what we answer, and does
//! nothing else (DESIGN.md §3, STYLE.md habit 2): it reads no socket, database, file or clock.
//! A function here takes the request as bytes or parsed values, plus whatever storage answered
//! and the current time when it needs them, and returns a decision. So every RFC rule is a
//! cheap unit test and every parser of attacker input is a property test.
//!
//! What it owns:
//!
//! - [`OAuthError`] and [`ErrorCode`]: the closed catalog of RFC error codes, each with its
//!   HTTP status and a description that is safe for the wire. No other error leaves an OAuth
//!   endpoint.
//! - [`Form`]: the `application/x-www-form-urlencoded` body, with RFC 6749's "no repeated
//!   parameters" and "empty means omitted" rules, UTF-8 enforced and sizes capped.
//! - [`parse_client_target`] and [`parse_authorization_request`]: the authorization request
//!   in its two stages, unredirectable and redirectable (RFC 6749 §4.1.1, OIDC Core
//!   §3.1.2.1), with [`CodeChallenge`] for PKCE (RFC 7636, `S256` only).
//! - [`success_params`], [`error_params`] and [`deliver`]: the authorization response, by
//!   query or form post, with `iss` (RFC 9207).
//! - [`client_auth`] / [`ClientAuth`]: which client a token request claims to be, and how it
//!   authenticates (RFC 6749 §2.3), including JWT client assertions (RFC 7523 §2.2), whose
//!   claims [`check_client_assertion_claims`] checks once their signature verified.
//! - [`parse_token_request`] / [`TokenRequest`] and [`TokenResponse`]: the token endpoint's
//!   grants and its success body (RFC 6749 §4, §5.1, §6).
//! - [`bearer_token`] and [`www_authenticate`]: access tokens at a protected resource
//!   (RFC 6750).
//! - [`parse_token_reference`]: the token of an introspection or revocation request
//!   (RFC 7662, RFC 7009).
//! - [`parse_end_session_request`]: RP-Initiated Logout.
//! - [`ProviderMetadata`] and [`paths`]: discovery documents and the endpoint paths they
//!   advertise (OIDC Discovery, RFC 8414).
//! - [`Scope`] (RFC 6749 §3.3) and [`released_claims`], the claims a scope releases
//!   (OIDC Core §5.4).
//! - [`acr_of`]: the authentication context class (`acr`) a sign-in reached, and
//!   [`locale::lookup`]: the page language `ui_locales` asks for (RFC 4647 lookup), and
//!   [`locale::accepted_languages`]: the browser's `Accept-Language` preferences, by weight.
//!
//! Whether credentials are right, a grant is allowed or a code is still valid is decided by
//! `tessera-core` with what storage answered; the edge (`tessera-http`) turns an
//! [`OAuthError`] into a response.

mod acr;
mod authorize;
mod bearer;
mod claims;
mod client_assertion;
mod client_auth;
mod discovery;
mod end_session;
mod error;
mod form;
pub mod locale;
pub mod paths;
mod pkce;
mod response;
mod scope;
mod token;
mod token_reference;

pub use acr::{ACR_VALUES_SUPPORTED, MULTI_FACTOR, SINGLE_FACTOR, acr_of};
pub use authorize::{
    AuthorizationRequest, ClientTarget, Prompt, ResponseMode, error_response_mode,
    parse_authorization_request, parse_client_target,
};
pub use bearer::{bearer_token, www_authenticate, www_authenticate_with_scope};
pub use claims::{claims_of_scope, released_claims};
pub use client_assertion::{
    ASSERTION_CLOCK_SKEW, AcceptedAssertion, CLIENT_ASSERTION_SIGNING_ALGORITHMS,
    JWT_BEARER_ASSERTION_TYPE, MAX_ASSERTION_LIFETIME, check_client_assertion_claims,
};
pub use client_auth::{ClientAuth, client_auth};
pub use discovery::{ProviderMetadata, STANDARD_SCOPES};
pub use end_session::{EndSessionRequest, parse_end_session_request, post_logout_redirect};
pub use error::{ErrorCode, OAuthError, is_description_char};
pub use form::Form;
pub use pkce::{CodeChallenge, is_valid_code_verifier};
pub use response::{
    AuthorizationDelivery, deliver, error_params, form_post_content_security_policy, success_params,
};
pub use scope::Scope;
pub use token::{TokenRequest, TokenResponse, TokenType, parse_token_request};
pub use token_reference::{TokenReference, TokenTypeHint, parse_token_reference};
