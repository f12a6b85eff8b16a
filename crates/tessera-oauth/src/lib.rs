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
//! - [`client_auth`] / [`ClientAuth`]: which client a token request claims to be, and how it
//!   authenticates (RFC 6749 §2.3).
//! - [`parse_token_request`] / [`TokenRequest`] and [`TokenResponse`]: the token endpoint's
//!   grants and its success body (RFC 6749 §4, §5.1).
//! - [`Scope`]: the parsed `scope` parameter (RFC 6749 §3.3).
//!
//! Whether credentials are right, a grant is allowed or a code is still valid is decided by
//! `tessera-core` with what storage answered; the edge (`tessera-http`) turns an
//! [`OAuthError`] into a response.

mod client_auth;
mod error;
mod form;
mod scope;
mod token;

pub use client_auth::{ClientAuth, client_auth};
pub use error::{ErrorCode, OAuthError, is_description_char};
pub use form::Form;
pub use scope::Scope;
pub use token::{TokenRequest, TokenResponse, TokenType, parse_token_request};
