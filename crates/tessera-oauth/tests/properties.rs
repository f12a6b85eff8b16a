//! Property tests for the parsers of attacker input (STYLE.md habit 10).
//!
//! Invariants, for every input, including arbitrary bytes as a form body:
//!
//! 1. No parser panics: `Form::parse`, `client_auth` (the Basic header parser and the client
//!    assertion reader), `check_client_assertion_claims`, `Scope::parse` and
//!    `parse_token_request` return `Ok` or `Err`.
//! 2. Every error is one of the catalog's codes, and one the parser documents:
//!    the form parser answers only `invalid_request`; client authentication only
//!    `invalid_client` or `invalid_request`; `Scope::parse` only `invalid_scope`; the token
//!    request parser only `invalid_request`, `unsupported_grant_type` or `invalid_scope`.
//! 3. Every error description is safe for the wire: RFC 6749 §5.2's character set, one short
//!    sentence, whatever the input echoed.
//! 4. What a conforming client encodes, we decode to the same values: form bodies written by
//!    a WHATWG serializer, Basic credentials written per RFC 6749 §2.3.1, and scopes written
//!    per RFC 6749 §3.3.
//!
//! Each property test below states the invariant it checks in its first comment; the later
//! parsers (authorization request, PKCE, bearer tokens, token references, end session and the
//! authorization response) hold to the same three rules, with their own lists of codes.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use tessera_oauth::{
    AuthorizationDelivery, ClientAuth, CodeChallenge, ErrorCode, Form, OAuthError, ResponseMode,
    Scope, TokenRequest, bearer_token, check_client_assertion_claims, client_auth, deliver,
    error_params, is_description_char, is_valid_code_verifier, parse_authorization_request,
    parse_client_target, parse_end_session_request, parse_token_reference, parse_token_request,
    post_logout_redirect, success_params, www_authenticate,
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
    fn client_assertion_extraction_never_panics_and_answers_from_the_catalog(
        assertion_type in prop::sample::select(vec![
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            "",
        ]),
        header in "\\PC{0,30}",
        claims in "\\PC{0,60}",
        raw in "[A-Za-z0-9_.=+/-]{0,60}",
        client_id in proptest::option::of("[a-z_0-9]{0,8}"),
        secret in proptest::option::of("[a-z]{1,4}"),
        use_raw in any::<bool>(),
    ) {
        // Invariants 1-3 for `private_key_jwt` extraction (RFC 7523 §2.2): base64url segments
        // of arbitrary text, or arbitrary characters, never panic, and every refusal is
        // invalid_client or invalid_request; what is accepted names the assertion's client.
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let assertion = if use_raw {
            raw
        } else {
            format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode(&header), URL_SAFE_NO_PAD.encode(&claims))
        };
        let mut params = BTreeMap::new();
        params.insert("client_assertion_type".to_owned(), assertion_type.to_owned());
        params.insert("client_assertion".to_owned(), assertion.clone());
        if let Some(id) = client_id {
            params.insert("client_id".to_owned(), id);
        }
        if let Some(secret) = secret {
            params.insert("client_secret".to_owned(), secret);
        }
        let form = Form::parse(serialize(&params).as_bytes()).unwrap();
        match client_auth(None, &form) {
            Ok(ClientAuth::PrivateKeyJwt { client_id, assertion: kept }) => {
                prop_assert_eq!(kept, assertion);
                prop_assert!(!client_id.is_empty());
            }
            // Empty parameters are omitted ones (RFC 6749 §3.1): then there is no assertion.
            Ok(other) => prop_assert!(
                assertion.is_empty() && assertion_type.is_empty(),
                "not an assertion: {:?}",
                other
            ),
            Err(error) => {
                assert_catalogued(&error, &[ErrorCode::InvalidClient, ErrorCode::InvalidRequest])?;
            }
        }
    }

    #[test]
    fn client_assertion_claim_checks_never_panic_and_answer_invalid_client(
        claims in prop::collection::btree_map(
            prop::sample::select(vec!["iss", "sub", "aud", "exp", "iat", "nbf", "jti"]),
            prop_oneof![
                Just(serde_json::json!("cli_1")),
                Just(serde_json::json!("https://id.example/acme")),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                Just(serde_json::json!(["https://id.example/acme", 1])),
                Just(serde_json::Value::Null),
            ],
            0..7,
        ),
        now in any::<i64>(),
    ) {
        // Invariants 1-3 for the claim rules of RFC 7523 §3: any claims and any clock, only
        // invalid_client, and an accepted assertion is remembered until after now.
        let claims: serde_json::Map<String, serde_json::Value> =
            claims.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        match check_client_assertion_claims(&claims, "cli_1", &["https://id.example/acme"], now) {
            Ok(accepted) => prop_assert!(accepted.remember_until > now),
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

    #[test]
    fn the_token_request_parser_reads_every_grant_or_answers_documented_codes(
        grant in prop::sample::select(vec!["authorization_code", "refresh_token", "client_credentials"]),
        params in prop::collection::btree_map(
            prop::sample::select(vec!["code", "redirect_uri", "code_verifier", "refresh_token", "scope"]),
            ".{1,24}",
            0..5,
        ),
    ) {
        // Invariants 1-3; and a request that parses keeps every value exactly as sent.
        let mut all = params.clone();
        all.insert("grant_type", grant.to_owned());
        let all: BTreeMap<String, String> = all.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
        let form = Form::parse(serialize(&all).as_bytes()).unwrap();
        match parse_token_request(&form) {
            Err(error) => assert_catalogued(&error, &[ErrorCode::InvalidRequest, ErrorCode::InvalidScope])?,
            Ok(TokenRequest::AuthorizationCode { code, redirect_uri, code_verifier }) => {
                prop_assert_eq!(Some(&code), params.get("code"));
                prop_assert_eq!(redirect_uri.as_ref(), params.get("redirect_uri"));
                prop_assert_eq!(code_verifier.as_ref(), params.get("code_verifier"));
            }
            Ok(TokenRequest::RefreshToken { refresh_token, .. }) => {
                prop_assert_eq!(Some(&refresh_token), params.get("refresh_token"));
            }
            Ok(request) => prop_assert_eq!(request.grant_type(), "client_credentials"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The authorization endpoint, PKCE, bearer tokens, token references, end session.
// ---------------------------------------------------------------------------------------------

/// The codes the stage-2 authorization request parser documents.
const AUTHORIZE_CODES: &[ErrorCode] = &[
    ErrorCode::InvalidRequest,
    ErrorCode::UnsupportedResponseType,
    ErrorCode::InvalidScope,
    ErrorCode::RequestNotSupported,
    ErrorCode::RequestUriNotSupported,
    ErrorCode::RegistrationNotSupported,
];

/// Parameter names of the authorization endpoint, so random bodies reach its checks.
fn authorize_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "response_type",
        "response_mode",
        "scope",
        "state",
        "nonce",
        "prompt",
        "max_age",
        "login_hint",
        "ui_locales",
        "acr_values",
        "code_challenge",
        "code_challenge_method",
        "request",
        "request_uri",
        "client_id",
        "redirect_uri",
    ])
}

/// Values that hit the interesting branches: valid ones, near misses and arbitrary text.
fn authorize_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "code",
            "token",
            "code id_token",
            "query",
            "form_post",
            "fragment",
            "openid email",
            "none",
            "login consent",
            "none login",
            "select_account",
            "0",
            "300",
            "-1",
            "+5",
            "S256",
            "plain",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ])
        .prop_map(str::to_owned),
        ".{1,48}",
    ]
}

/// A URI-ish redirect target with the characters that matter to query and HTML encoding.
fn redirect_uri() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "https://client.example/cb",
            "http://127.0.0.1:8080/cb",
            "com.example.app:/cb",
        ]),
        proptest::option::of("[a-z]{1,6}=[a-zA-Z0-9]{0,6}(&[a-z]{1,6}=[a-zA-Z0-9]{0,6}){0,2}"),
    )
        .prop_map(|(base, query)| match query {
            Some(query) => format!("{base}?{query}"),
            None => base.to_owned(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_authorization_request_parsers_answer_only_documented_codes(
        params in prop::collection::btree_map(authorize_name(), authorize_value(), 0..10),
    ) {
        // Invariants 1-3: stage 1 answers only invalid_request, stage 2 only its codes; an
        // accepted request asked for response_type=code, and its state is the one sent.
        let params: BTreeMap<String, String> =
            params.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
        let form = Form::parse(serialize(&params).as_bytes()).unwrap();
        match parse_client_target(&form) {
            Ok(target) => prop_assert_eq!(Some(&target.client_id), params.get("client_id")),
            Err(error) => assert_catalogued(&error, &[ErrorCode::InvalidRequest])?,
        }
        match parse_authorization_request(&form) {
            Ok(request) => {
                prop_assert_eq!(params.get("response_type").map(String::as_str), Some("code"));
                prop_assert_eq!(request.state.as_ref(), params.get("state"));
                prop_assert!(!(request.prompt.none && (request.prompt.login || request.prompt.consent)));
            }
            Err(error) => assert_catalogued(&error, AUTHORIZE_CODES)?,
        }
    }

    #[test]
    fn the_authorization_request_parser_never_panics_on_arbitrary_bytes(
        rest in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        // Invariants 1-3 on bodies that are not what any client would write.
        let body = [b"response_type=code&".as_slice(), &rest].concat();
        if let Ok(form) = Form::parse(&body)
            && let Err(error) = parse_authorization_request(&form)
        {
            assert_catalogued(&error, AUTHORIZE_CODES)?;
        }
    }

    #[test]
    fn code_challenge_parse_answers_only_invalid_request(
        challenge in proptest::option::of(prop_oneof![".{0,64}", "[A-Za-z0-9_-]{43}"]),
        method in proptest::option::of(prop_oneof![Just("S256".to_owned()), Just("plain".to_owned()), ".{0,8}"]),
    ) {
        // Invariants 1-3; an accepted challenge came with method S256 and is 43 characters.
        match CodeChallenge::parse(challenge.as_deref(), method.as_deref()) {
            Ok(None) => prop_assert!(challenge.is_none() && method.is_none()),
            Ok(Some(parsed)) => {
                prop_assert_eq!(method.as_deref(), Some("S256"));
                prop_assert_eq!(parsed.as_str().len(), 43);
            }
            Err(error) => assert_catalogued(&error, &[ErrorCode::InvalidRequest])?,
        }
    }

    #[test]
    fn a_verifier_matches_exactly_its_own_s256_challenge(
        verifier in "[A-Za-z0-9._~-]{43,128}",
        other in ".{0,160}",
    ) {
        // A valid verifier verifies against the challenge computed from it per RFC 7636 §4.2,
        // and any other text does not.
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(verifier.as_bytes());
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        let challenge = CodeChallenge::parse(Some(&encoded), Some("S256")).unwrap().unwrap();
        prop_assert!(is_valid_code_verifier(&verifier));
        prop_assert!(challenge.verify(&verifier));
        prop_assert_eq!(challenge.verify(&other), other == verifier);
    }

    #[test]
    fn bearer_token_answers_only_invalid_request(
        header in proptest::option::of(prop_oneof![
            "(?i:bearer) .{0,40}",
            "(?i:bearer)[ \t]{0,3}[A-Za-z0-9._~+/=-]{0,40}",
            ".{0,40}",
        ]),
        body_token in proptest::option::of("[ -~]{1,24}"),
    ) {
        // Invariants 1-3; a token taken from the header is token68, and two methods are never
        // both accepted.
        let form = body_token.as_ref().map(|token| {
            let mut params = BTreeMap::new();
            params.insert("access_token".to_owned(), token.clone());
            Form::parse(serialize(&params).as_bytes()).unwrap()
        });
        match bearer_token(header.as_deref(), form.as_ref()) {
            Ok(Some(token)) => {
                prop_assert!(!token.is_empty());
                if body_token.as_ref() != Some(&token) {
                    prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)));
                }
            }
            Ok(None) => prop_assert!(body_token.is_none()),
            Err(error) => assert_catalogued(&error, &[ErrorCode::InvalidRequest])?,
        }
    }

    #[test]
    fn the_www_authenticate_challenge_is_always_one_header_line(realm in ".{0,40}", description in ".{0,40}") {
        // Whatever the realm and description, the challenge has no CR/LF and balanced quotes.
        let error = OAuthError::invalid_token(description);
        for challenge in [www_authenticate(&realm, None), www_authenticate(&realm, Some(&error))] {
            prop_assert!(challenge.starts_with("Bearer realm=\""));
            prop_assert!(challenge.chars().all(|c| (' '..='~').contains(&c)), "{}", challenge);
            let unescaped_quotes = challenge.replace("\\\\", "").replace("\\\"", "").matches('"').count();
            prop_assert_eq!(unescaped_quotes % 2, 0);
        }
    }

    #[test]
    fn parse_token_reference_answers_only_invalid_request(body in formish_bytes(), hint in ".{0,16}") {
        // Invariants 1-3; a parsed reference has a non-empty token, and any hint text parses.
        if let Ok(form) = Form::parse(&body) {
            match parse_token_reference(&form) {
                Ok(reference) => prop_assert!(!reference.token.is_empty()),
                Err(error) => assert_catalogued(&error, &[ErrorCode::InvalidRequest])?,
            }
        }
        let mut params = BTreeMap::new();
        params.insert("token".to_owned(), "t".to_owned());
        if !hint.is_empty() {
            params.insert("token_type_hint".to_owned(), hint);
        }
        let form = Form::parse(serialize(&params).as_bytes()).unwrap();
        prop_assert!(parse_token_reference(&form).is_ok());
    }

    #[test]
    fn parse_end_session_request_answers_only_invalid_request(
        params in prop::collection::btree_map(
            prop::sample::select(vec![
                "id_token_hint", "logout_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales",
            ]),
            ".{1,24}",
            0..6,
        ),
    ) {
        // Invariants 1-3; the only refusal is a redirect URI that no client vouches for.
        let params: BTreeMap<String, String> =
            params.into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
        let form = Form::parse(serialize(&params).as_bytes()).unwrap();
        match parse_end_session_request(&form) {
            Ok(request) => prop_assert_eq!(request.state.as_ref(), params.get("state")),
            Err(error) => {
                assert_catalogued(&error, &[ErrorCode::InvalidRequest])?;
                prop_assert!(params.contains_key("post_logout_redirect_uri"));
                prop_assert!(!params.contains_key("client_id") && !params.contains_key("id_token_hint"));
            }
        }
    }

    #[test]
    fn query_delivery_round_trips_the_parameters(
        uri in redirect_uri(),
        code in ".{1,32}",
        state in proptest::option::of(".{1,32}"),
        description in ".{0,32}",
    ) {
        // The redirect parses as a URL whose query is the registered query followed by exactly
        // the delivered parameters, decoded to the same values.
        let error = OAuthError::access_denied(description);
        for params in [
            success_params(&code, state.as_deref(), "https://id.example/acme"),
            error_params(&error, state.as_deref(), "https://id.example/acme"),
        ] {
            let AuthorizationDelivery::Redirect(location) = deliver(&uri, ResponseMode::Query, &params) else {
                return Err(TestCaseError::fail("query mode must redirect"));
            };
            let parsed = url::Url::parse(&location).unwrap();
            let registered: Vec<(String, String)> = url::Url::parse(&uri)
                .unwrap()
                .query_pairs()
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            let got: Vec<(String, String)> =
                parsed.query_pairs().map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
            let mut expected = registered;
            expected.extend(params.iter().map(|(n, v)| ((*n).to_owned(), v.clone())));
            prop_assert_eq!(got, expected);
            prop_assert!(location.starts_with(&uri));
        }
    }

    #[test]
    fn form_post_delivery_never_lets_input_out_of_its_attribute(
        uri in ".{0,48}",
        code in ".{1,32}",
        state in proptest::option::of(".{1,32}"),
    ) {
        // Never panics; every input value appears only HTML-escaped inside its quoted
        // attribute, so the page has exactly as many `<`, `>`, `"` and `'` as the same page
        // built from harmless values: all of them are our markup, none came from the input.
        let params = success_params(&code, state.as_deref(), "https://id.example/acme");
        let AuthorizationDelivery::FormPost(page) = deliver(&uri, ResponseMode::FormPost, &params) else {
            return Err(TestCaseError::fail("form_post mode must answer a page"));
        };
        let harmless: Vec<(&'static str, String)> =
            params.iter().map(|(name, _)| (*name, "x".to_owned())).collect();
        let AuthorizationDelivery::FormPost(reference) = deliver("x", ResponseMode::FormPost, &harmless) else {
            return Err(TestCaseError::fail("form_post mode must answer a page"));
        };
        for markup in ['<', '>', '"', '\''] {
            prop_assert_eq!(page.matches(markup).count(), reference.matches(markup).count(), "{:?}", markup);
        }
        let mut values: Vec<&str> = vec![&uri, &code];
        values.extend(state.as_deref());
        for value in values {
            let escaped = value
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#x27;");
            prop_assert!(page.contains(&format!("\"{escaped}\"")), "{:?} not found escaped", value);
        }
    }

    #[test]
    fn query_delivery_never_panics_on_arbitrary_uris(uri in ".{0,48}", state in ".{0,16}") {
        // Never panics, whatever the URI; the parameters are always appended.
        let params = success_params("c", Some(&state), "https://id.example");
        let AuthorizationDelivery::Redirect(location) = deliver(&uri, ResponseMode::Query, &params) else {
            return Err(TestCaseError::fail("query mode must redirect"));
        };
        prop_assert!(location.contains("code=c"));
        let redirect = post_logout_redirect(&uri, Some(&state));
        prop_assert!(redirect.len() >= uri.len());
    }
}
