//! Property tests for the parsers of attacker input (STYLE.md habit 10).
//!
//! Invariants, for every input, including arbitrary bytes as a form body:
//!
//! 1. No parser panics: `Form::parse`, `client_auth` (the Basic header parser),
//!    `Scope::parse` and `parse_token_request` return `Ok` or `Err`.
//! 2. Every error is one of the catalog's codes, and one the parser documents:
//!    the form parser answers only `invalid_request`; client authentication only
//!    `invalid_client` or `invalid_request`; `Scope::parse` only `invalid_scope`; the token
//!    request parser only `invalid_request`, `unsupported_grant_type` or `invalid_scope`.
//! 3. Every error description is safe for the wire: RFC 6749 §5.2's character set, one short
//!    sentence, whatever the input echoed.
//! 4. What a conforming client encodes, we decode to the same values: form bodies written by
//!    a WHATWG serializer, Basic credentials written per RFC 6749 §2.3.1, and scopes written
//!    per RFC 6749 §3.3.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use tessera_oauth::{
    ClientAuth, ErrorCode, Form, OAuthError, Scope, client_auth, is_description_char,
    parse_token_request,
};

/// Invariants 2 and 3 for one error.
fn assert_catalogued(error: &OAuthError, allowed: &[ErrorCode]) -> Result<(), TestCaseError> {
    prop_assert!(ErrorCode::ALL.contains(&error.code));
    prop_assert!(
        allowed.contains(&error.code),
        "unexpected code {}",
        error.code
    );
    prop_assert!(
        error.description.chars().all(is_description_char),
        "description not wire-safe: {:?}",
        error.description
    );
    prop_assert!(error.description.len() <= 200);
    let json = error.to_json();
    prop_assert_eq!(json["error"].as_str(), Some(error.code.as_str()));
    Ok(())
}

/// Bytes that tend to reach the interesting branches of a form parser: separators, escapes,
/// hex digits, and bytes that are not UTF-8 on their own.
fn formish_bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b"ab=&+%0fF9\xc3\xa9\xff\xe2\x82 ".to_vec();
    prop::collection::vec(prop::sample::select(alphabet), 0..80)
}

/// A form body written the way browsers and HTTP libraries write it.
fn serialize(params: &BTreeMap<String, String>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// The header a conforming client sends (RFC 6749 §2.3.1).
fn basic(id: &str, secret: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let secret: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// A valid scope token (RFC 6749 §3.3).
fn scope_token() -> impl Strategy<Value = String> {
    "[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,12}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_form_parser_never_panics_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(error) = Form::parse(&body) {
            assert_catalogued(&error, &[ErrorCode::InvalidRequest])?;
        }
    }

    #[test]
    fn the_form_parser_agrees_with_the_whatwg_parser_when_it_accepts(body in formish_bytes()) {
        match Form::parse(&body) {
            Err(error) => assert_catalogued(&error, &[ErrorCode::InvalidRequest])?,
            Ok(form) => {
                // Accepted means every name and value was UTF-8, so the reference parser's
                // lossy decoding is exact here.
                let mut expected = BTreeMap::new();
                for (name, value) in form_urlencoded::parse(&body) {
                    if !value.is_empty() {
                        prop_assert!(expected.insert(name.into_owned(), value.into_owned()).is_none());
                    }
                }
                let got: BTreeMap<String, String> =
                    form.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
                prop_assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn a_serialized_form_parses_back_to_its_parameters(
        params in prop::collection::btree_map(".{1,12}", ".{1,24}", 0..8),
    ) {
        let body = serialize(&params);
        let form = Form::parse(body.as_bytes()).unwrap();
        let got: BTreeMap<String, String> =
            form.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
        prop_assert_eq!(got, params);
    }

    #[test]
    fn a_parameter_sent_twice_with_values_is_always_refused(
        name in "[a-z_]{1,12}",
        first in ".{1,8}",
        second in ".{1,8}",
    ) {
        let body = format!(
            "{name}={}&{name}={}",
            form_urlencoded::byte_serialize(first.as_bytes()).collect::<String>(),
            form_urlencoded::byte_serialize(second.as_bytes()).collect::<String>(),
        );
        let error = Form::parse(body.as_bytes()).unwrap_err();
        assert_catalogued(&error, &[ErrorCode::InvalidRequest])?;
        prop_assert_eq!(error.description, format!("the {name} parameter is repeated"));
    }

    #[test]
    fn client_auth_never_panics_on_an_arbitrary_header_and_body(
        header in proptest::option::of(".{0,64}"),
        body in formish_bytes(),
    ) {
        let form = Form::parse(&body).unwrap_or_default();
        if let Err(error) = client_auth(header.as_deref(), &form) {
            assert_catalogued(&error, &[ErrorCode::InvalidClient, ErrorCode::InvalidRequest])?;
        }
    }

    #[test]
    fn the_basic_parser_never_panics_on_arbitrary_decoded_bytes(
        scheme in "(?i:basic)",
        credentials in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let header = format!("{scheme} {}", STANDARD.encode(&credentials));
        match client_auth(Some(&header), &Form::default()) {
            Ok(auth) => prop_assert_eq!(auth.method(), "client_secret_basic"),
            Err(error) => assert_catalogued(&error, &[ErrorCode::InvalidClient])?,
        }
    }

    #[test]
    fn basic_credentials_written_per_rfc_6749_are_read_back(id in ".{1,24}", secret in ".{1,40}") {
        let auth = client_auth(Some(&basic(&id, &secret)), &Form::default()).unwrap();
        prop_assert_eq!(auth, ClientAuth::Basic { client_id: id, client_secret: secret });
    }

    #[test]
    fn scope_parse_never_panics_and_refuses_only_with_invalid_scope(text in ".{0,64}") {
        if let Err(error) = Scope::parse(&text) {
            assert_catalogued(&error, &[ErrorCode::InvalidScope])?;
        }
    }

    #[test]
    fn scope_parse_on_edge_characters_refuses_only_with_invalid_scope(text in "[ ab\"\\\\\\x7f!~]{0,16}") {
        match Scope::parse(&text) {
            Ok(scope) => prop_assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope),
            Err(error) => assert_catalogued(&error, &[ErrorCode::InvalidScope])?,
        }
    }

    #[test]
    fn a_scope_of_valid_tokens_round_trips_without_duplicates(
        tokens in prop::collection::vec(scope_token(), 1..10),
    ) {
        let scope = Scope::parse(&tokens.join(" ")).unwrap();
        let mut expected: Vec<&str> = Vec::new();
        for token in &tokens {
            if !expected.contains(&token.as_str()) {
                expected.push(token);
            }
        }
        prop_assert_eq!(scope.iter().collect::<Vec<_>>(), expected.clone());
        prop_assert_eq!(scope.to_string(), expected.join(" "));
        prop_assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope.clone());
        for token in &tokens {
            prop_assert!(scope.contains(token));
        }
        prop_assert!(scope.is_subset_of(&scope));
    }

    #[test]
    fn an_intersection_is_a_subset_of_both_sides(
        left in prop::collection::vec("[a-e]", 1..6),
        right in prop::collection::vec("[a-e]", 1..6),
    ) {
        let left = Scope::parse(&left.join(" ")).unwrap();
        let right = Scope::parse(&right.join(" ")).unwrap();
        let both = left.intersection(&right);
        prop_assert!(both.is_subset_of(&left));
        prop_assert!(both.is_subset_of(&right));
        prop_assert!(left.iter().all(|token| both.contains(token) == right.contains(token)));
    }

    #[test]
    fn the_token_request_parser_answers_only_documented_codes(
        prefix in prop::sample::select(vec!["", "grant_type=client_credentials&", "grant_type=x&"]),
        rest in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let body = [prefix.as_bytes(), &rest].concat();
        if let Ok(form) = Form::parse(&body)
            && let Err(error) = parse_token_request(&form)
        {
            assert_catalogued(
                &error,
                &[ErrorCode::InvalidRequest, ErrorCode::UnsupportedGrantType, ErrorCode::InvalidScope],
            )?;
        }
    }

    #[test]
    fn a_client_credentials_request_with_any_scope_text_answers_only_documented_codes(scope in ".{0,32}") {
        let body = format!(
            "grant_type=client_credentials&scope={}",
            form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>(),
        );
        let form = Form::parse(body.as_bytes()).unwrap();
        if let Err(error) = parse_token_request(&form) {
            assert_catalogued(&error, &[ErrorCode::InvalidScope])?;
        }
    }
}
