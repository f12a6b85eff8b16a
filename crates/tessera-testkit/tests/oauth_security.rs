//! One test per security rule of RFC 6749, RFC 9700 and OpenID Connect Core that the IdP API
//! enforces, over HTTP: what an attacker (or a broken client) sends, and what it gets.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tessera_testkit::TestApp;
use tessera_testkit::oidc::{Browser, Landing, RegisteredClient};

const REDIRECT: &str = "https://app.example.com/callback";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Setup {
    app: TestApp,
    /// The signed-in user's id.
    user: String,
    client: RegisteredClient,
    public: RegisteredClient,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let user = app.create_user("default", EMAIL, PASSWORD).await;
    let client = app
        .register_client(
            "default",
            json!({
                "name": "Web", "client_type": "confidential", "first_party": true,
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "redirect_uris": [REDIRECT],
            }),
        )
        .await;
    let public = app
        .register_client(
            "default",
            json!({
                "name": "SPA", "client_type": "public", "first_party": true,
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT],
            }),
        )
        .await;
    Setup {
        app,
        user,
        client,
        public,
    }
}

fn authorize_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let mut url =
        reqwest::Url::parse(&format!("{}/oauth/authorize", app.issuer_url("default"))).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

/// Signs in and returns the code of an authorization request with `extra` parameters.
async fn code(s: &Setup, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid offline_access"),
    ];
    params.extend_from_slice(extra);
    let landing = Browser::new()
        .authorize(
            &authorize_url(&s.app, &params),
            s.app.core().public_url(),
            EMAIL,
            PASSWORD,
        )
        .await;
    landing
        .param("code")
        .unwrap_or_else(|| panic!("{landing:?}"))
}

async fn token(s: &Setup, auth: Option<(&str, &str)>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut request = s
        .app
        .client
        .post(format!("{}/default/oauth/token", s.app.base_url))
        .form(form);
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Exchanges a code of the setup's confidential client.
async fn exchange(s: &Setup, code: &str) -> (u16, Value) {
    token(
        s,
        Some(secret(s)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await
}

fn secret(s: &Setup) -> (&str, &str) {
    (&s.client.id, s.client.secret.as_deref().unwrap())
}

async fn userinfo_status(app: &TestApp, slug: &str, token: &str) -> u16 {
    app.client
        .get(format!("{}/{slug}/oauth/userinfo", app.base_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn redirect_uris_that_differ_in_any_way_are_refused_without_a_redirect() {
    let s = setup().await;
    for variant in [
        "https://app.example.com/callback/",
        "https://app.example.com/callback/extra",
        "https://app.example.com/callback?x=1",
        "https://app.example.com:8443/callback",
        "http://app.example.com/callback",
        "https://APP.example.com/callback",
        "https://app.example.com/Callback",
        "https://user@app.example.com/callback",
        "https://app.example.com/callback#fragment",
        "https://evil.example/callback",
    ] {
        let landing = Browser::new()
            .get(&authorize_url(
                &s.app,
                &[
                    ("response_type", "code"),
                    ("client_id", &s.client.id),
                    ("redirect_uri", variant),
                ],
            ))
            .await;
        let Landing::Page(400, html) = landing else {
            panic!("{variant}: expected an error page, got {landing:?}");
        };
        assert!(html.contains("invalid_request"), "{variant}");
    }
    // An unknown client is an error page too, whatever its redirect_uri.
    let landing = Browser::new()
        .get(&authorize_url(
            &s.app,
            &[
                ("response_type", "code"),
                ("client_id", "cli_00000000000000000000000000000000"),
                ("redirect_uri", REDIRECT),
            ],
        ))
        .await;
    assert!(matches!(landing, Landing::Page(400, _)));
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_trusted_go_back_with_state_and_iss() {
    let s = setup().await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("response_type", "token")], "unsupported_response_type"),
        (
            &[("response_type", "code id_token")],
            "unsupported_response_type",
        ),
        (
            &[
                ("response_type", "code"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            &[("response_type", "code"), ("prompt", "none login")],
            "invalid_request",
        ),
        (
            &[("response_type", "code"), ("request", "eyJ")],
            "request_not_supported",
        ),
    ];
    for (params, error) in cases {
        let mut all = vec![
            ("client_id", s.client.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("state", "xyz"),
        ];
        all.extend_from_slice(params);
        let landing = Browser::new().get(&authorize_url(&s.app, &all)).await;
        assert_eq!(landing.param("error").as_deref(), Some(error), "{params:?}");
        assert_eq!(landing.param("state").as_deref(), Some("xyz"));
        assert_eq!(landing.param("iss"), Some(s.app.issuer_url("default")));
    }
}

#[tokio::test]
async fn public_clients_must_use_pkce() {
    let s = setup().await;
    let landing = Browser::new()
        .get(&authorize_url(
            &s.app,
            &[
                ("response_type", "code"),
                ("client_id", &s.public.id),
                ("redirect_uri", REDIRECT),
            ],
        ))
        .await;
    assert_eq!(landing.param("error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn a_wrong_or_missing_verifier_and_a_pkce_downgrade_are_refused() {
    let s = setup().await;
    let pkce = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    for verifier in [Some("wrong-verifier-wrong-verifier-wrong-verifier-x"), None] {
        let code = code(&s, &s.public.id, &pkce).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", s.public.id.as_str()),
        ];
        if let Some(verifier) = verifier {
            form.push(("code_verifier", verifier));
        }
        let (status, body) = token(&s, None, &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        // A refused presentation spent the code: the right verifier comes too late.
        let (status, body) = token(
            &s,
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &s.public.id),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error_description"].as_str()),
            (400, Some("The authorization code was already used."))
        );
    }
    // No challenge at /authorize, a verifier at /token: a downgrade (RFC 9700 §2.1.1).
    let code = code(&s, &s.client.id, &[]).await;
    let (status, body) = token(
        &s,
        Some(secret(&s)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // The right verifier works.
    let code = self::code(&s, &s.public.id, &pkce).await;
    let (status, body) = token(
        &s,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &s.public.id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let s = setup().await;
    let code = code(&s, &s.client.id, &[]).await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (status, first) = token(&s, Some(secret(&s)), &exchange).await;
    assert_eq!(status, 200);
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&s.app, "default", access).await, 200);
    let (status, replay) = token(&s, Some(secret(&s)), &exchange).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(userinfo_status(&s.app, "default", access).await, 401);
    let (_, refresh) = token(
        &s,
        Some(secret(&s)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(refresh["error"], "invalid_grant");
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_family() {
    let s = setup().await;
    let code = code(&s, &s.client.id, &[]).await;
    let (_, first) = exchange(&s, &code).await;
    let refresh = |token: String| {
        let s = &s;
        async move {
            self::token(
                s,
                Some(secret(s)),
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    let original = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = refresh(original.clone()).await;
    assert_eq!(status, 200);
    let successor = second["refresh_token"].as_str().unwrap().to_owned();
    // The attacker replays the first token: refused, and the family dies.
    let (status, reuse) = refresh(original).await;
    assert_eq!(
        (status, reuse["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(successor).await;
    assert_eq!(status, 400, "the legitimate successor is revoked too");
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&s.app, "default", access).await, 401);
}

#[tokio::test]
async fn a_code_of_another_client_or_redirect_uri_is_refused() {
    let s = setup().await;
    let other = s
        .app
        .register_client(
            "default",
            json!({
                "name": "Other", "client_type": "confidential",
                "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT],
            }),
        )
        .await;
    let code = code(&s, &s.client.id, &[]).await;
    let (_, body) = token(
        &s,
        Some((&other.id, other.secret.as_deref().unwrap())),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
    let code = self::code(&s, &s.client.id, &[]).await;
    let (_, body) = token(
        &s,
        Some(secret(&s)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/other"),
        ],
    )
    .await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn tokens_of_one_issuer_are_refused_at_another() {
    let s = setup().await;
    let admin = s.app.core_api_token(&[]).await;
    let created = s
        .app
        .core_request(reqwest::Method::POST, "/core/v1/issuers", &admin)
        .json(&json!({ "slug": "other", "display_name": "Other" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let code = code(&s, &s.client.id, &[]).await;
    let (_, tokens) = exchange(&s, &code).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&s.app, "default", access).await, 200);
    assert_eq!(userinfo_status(&s.app, "other", access).await, 401);
}

#[tokio::test]
async fn unsigned_and_hmac_forged_tokens_are_refused() {
    let s = setup().await;
    let jwks: Value = s
        .app
        .get("/default/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap();
    let claims = URL_SAFE_NO_PAD.encode(
        json!({
            "iss": s.app.issuer_url("default"), "sub": s.user,
            "aud": s.app.issuer_url("default"), "exp": 4_000_000_000u64, "scope": "openid",
            "client_id": s.client.id,
        })
        .to_string(),
    );
    let none = format!(
        "{}.{claims}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "at+jwt", "kid": kid}).to_string())
    );
    assert_eq!(userinfo_status(&s.app, "default", &none).await, 401);
    // HS256 "signed" with the public JWK as the secret (RFC 8725 §2.1).
    let header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}).to_string());
    let signing_input = format!("{header}.{claims}");
    let mac = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(jwks["keys"][0].to_string().as_bytes()),
        jsonwebtoken::Algorithm::HS256,
    )
    .unwrap();
    let forged = format!("{signing_input}.{mac}");
    assert_eq!(userinfo_status(&s.app, "default", &forged).await, 401);
    // The control: the same claims signed with the issuer's key are accepted, so the refusals
    // above are the signatures' doing, not the claims'.
    let issuer = s.app.core().find_issuer("default").await.unwrap().unwrap();
    let keys = s.app.core().issuer_keys(&issuer).await.unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&claims).unwrap()).unwrap();
    let genuine = keys.signer().sign("at+jwt", &claims).unwrap();
    assert_eq!(userinfo_status(&s.app, "default", &genuine).await, 200);
}

#[tokio::test]
async fn unknown_grants_wrong_secrets_and_bad_forms_get_their_rfc_errors() {
    let s = setup().await;
    let (status, body) = token(&s, Some(secret(&s)), &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body) = token(
        &s,
        Some((&s.client.id, "wrong")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // RFC 6749 §3.1: a repeated parameter is refused.
    let response = s
        .app
        .client
        .post(format!("{}/default/oauth/token", s.app.base_url))
        .basic_auth(&s.client.id, s.client.secret.as_deref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // Invalid UTF-8 is refused, not a panic.
    let response = s
        .app
        .client
        .post(format!("{}/default/oauth/token", s.app.base_url))
        .basic_auth(&s.client.id, s.client.secret.as_deref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"grant_type=%FF%FE".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn discovery_advertises_exactly_the_endpoints_that_answer() {
    let s = setup().await;
    let issuer = s.app.issuer_url("default");
    let response = s.app.get("/default/.well-known/openid-configuration").await;
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let openid: Value = response.json().await.unwrap();
    assert_eq!(openid["issuer"], issuer.as_str());
    assert_eq!(openid["response_types_supported"], json!(["code"]));
    assert_eq!(openid["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        openid["authorization_response_iss_parameter_supported"],
        true
    );
    for (member, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("userinfo_endpoint", "/oauth/userinfo"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("end_session_endpoint", "/oauth/logout"),
        ("jwks_uri", "/.well-known/jwks.json"),
    ] {
        assert_eq!(openid[member], format!("{issuer}{path}"), "{member}");
        let status = s
            .app
            .client
            .get(format!("{}/default{path}", s.app.base_url))
            .send()
            .await
            .unwrap()
            .status();
        assert_ne!(status, 404, "{member} answers");
    }
    // RFC 8414 §3.1: both placements of the well-known segment.
    for path in [
        "/default/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/default",
    ] {
        let oauth: Value = s.app.get(path).await.json().await.unwrap();
        assert_eq!(oauth["issuer"], issuer.as_str(), "{path}");
        // The RFC 8414 members agree with the OpenID configuration; the OIDC-only ones are
        // left out.
        for member in [
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "revocation_endpoint",
        ] {
            assert_eq!(oauth[member], openid[member], "{path}: {member}");
        }
        assert!(oauth.get("userinfo_endpoint").is_none(), "{path}");
    }
}

#[tokio::test]
async fn malformed_authorization_requests_get_an_error_page_and_no_redirect() {
    let s = setup().await;
    let authorize = format!("{}/oauth/authorize", s.app.issuer_url("default"));
    let long_state = "s".repeat(20_000);
    for query in [
        // RFC 6749 §3.1: a repeated parameter.
        format!(
            "response_type=code&client_id={0}&client_id={0}&redirect_uri={REDIRECT}",
            s.client.id
        ),
        // Not UTF-8.
        format!("response_type=code&client_id={}&state=%FF%FE", s.client.id),
        // Oversized.
        format!(
            "response_type=code&client_id={}&redirect_uri={REDIRECT}&state={long_state}",
            s.client.id
        ),
        String::new(),
    ] {
        let landing = Browser::new().get(&format!("{authorize}?{query}")).await;
        let Landing::Page(status, _) = landing else {
            panic!("{query:.80}: expected an error page, got {landing:?}");
        };
        assert_eq!(status, 400, "{query:.80}");
    }
}

#[tokio::test]
async fn a_client_cannot_introspect_or_revoke_another_clients_tokens() {
    let s = setup().await;
    let other = s
        .app
        .register_client(
            "default",
            json!({
                "name": "Other", "client_type": "confidential",
                "grant_types": ["client_credentials"],
            }),
        )
        .await;
    let code = code(&s, &s.client.id, &[]).await;
    let (_, tokens) = exchange(&s, &code).await;
    for token in [&tokens["access_token"], &tokens["refresh_token"]] {
        let token = token.as_str().unwrap();
        let answer: Value = s
            .app
            .client
            .post(format!("{}/default/oauth/introspect", s.app.base_url))
            .basic_auth(&other.id, other.secret.as_deref())
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer, json!({"active": false}));
        let revoked = s
            .app
            .client
            .post(format!("{}/default/oauth/revoke", s.app.base_url))
            .basic_auth(&other.id, other.secret.as_deref())
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            revoked.status(),
            200,
            "RFC 7009 §2.2: no error, and no effect"
        );
    }
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&s.app, "default", access).await, 200);
    // A public client may not introspect at all.
    let response = s
        .app
        .client
        .post(format!("{}/default/oauth/introspect", s.app.base_url))
        .form(&[("token", access), ("client_id", s.public.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn cookies_are_http_only_same_site_lax_and_scoped_to_the_issuer() {
    let s = setup().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(authorize_url(
            &s.app,
            &[
                ("response_type", "code"),
                ("client_id", &s.client.id),
                ("redirect_uri", REDIRECT),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in [
        "tessera_browser=",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/default",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    // The public URL is http://localhost:…, a loopback address: no `Secure`, or the browser
    // would never send the cookie back over plain HTTP.
    assert!(!cookie.contains("Secure"), "{cookie}");
    // The page itself refuses framing and scripts.
    let location = response.headers()["location"].to_str().unwrap();
    let page = http
        .get(format!("{}{location}", s.app.core().public_url()))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    // Styles come only from Tessera's own stylesheet: nothing inline is allowed.
    assert!(
        csp.contains("style-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    let stylesheet = html
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(!html.contains("style="), "no inline style");
    let css = http
        .get(format!("{}{stylesheet}", s.app.core().public_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
}

/// Every hosted page, whatever it says, carries the same protections: no framing, no caching,
/// no referrer, a CSP without inline style or script, and no MIME sniffing.
#[tokio::test]
async fn every_hosted_page_sends_the_protective_headers() {
    let s = setup().await;
    let browser = Browser::new();
    let url = authorize_url(
        &s.app,
        &[
            ("response_type", "code"),
            ("client_id", &s.client.id),
            ("redirect_uri", REDIRECT),
        ],
    );
    let Landing::Redirect(interaction) = browser.get(&url).await else {
        panic!("a redirect to the sign-in page");
    };
    let issuer = s.app.issuer_url("default");
    let pages = [
        (interaction.clone(), 200),
        (format!("{interaction}/signup"), 200),
        (format!("{issuer}/interaction/int_unknown"), 410),
        (format!("{issuer}/password/forgot"), 200),
        (format!("{issuer}/password/reset?token=unknown"), 404),
        (format!("{issuer}/verify-email?token=unknown"), 200),
        (format!("{issuer}/account"), 200),
        (format!("{issuer}/oauth/logout"), 200),
    ];
    for (url, status) in pages {
        let response = browser.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), status, "{url}");
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "DENY", "{url}");
        assert_eq!(headers["cache-control"], "no-store", "{url}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{url}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{url}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("style-src 'self'")
                && !csp.contains("unsafe-inline")
                && !csp.contains("script-src"),
            "{url}: {csp}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("<html lang="), "{url}: a page");
    }
}

#[tokio::test]
async fn form_post_answers_with_a_self_submitting_form_allowed_by_its_script_hash() {
    let s = setup().await;
    let base = s.app.core().public_url().to_owned();
    let browser = Browser::new();
    let url = authorize_url(
        &s.app,
        &[
            ("response_type", "code"),
            ("response_mode", "form_post"),
            ("client_id", &s.client.id),
            ("redirect_uri", REDIRECT),
            ("state", "a<b\"c"),
        ],
    );
    let Landing::Page(200, login) = browser.follow(&url, &base).await else {
        panic!("the sign-in page");
    };
    let action = tessera_testkit::oidc::form_action(&login).unwrap();
    let csrf = tessera_testkit::oidc::hidden_input(&login, "csrf").unwrap();
    let response = browser
        .http
        .post(format!("{base}{action}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{REDIRECT}\"")), "{html}");
    assert!(html.contains("name=\"code\""));
    assert!(html.contains("name=\"iss\""));
    assert!(!html.contains("a<b\"c"), "the state is escaped");
}

/// Introspects `token` as the setup's confidential client.
async fn introspect(s: &Setup, token: &str) -> Value {
    s.app
        .client
        .post(format!("{}/default/oauth/introspect", s.app.base_url))
        .basic_auth(&s.client.id, s.client.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The claims of a compact JWS, unverified (the other tests check signatures).
fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn opaque_access_tokens_reveal_nothing_and_stop_working_when_revoked() {
    let s = setup().await;
    let admin = s.app.core_api_token(&[]).await;
    let patched = s
        .app
        .core_request(
            reqwest::Method::PATCH,
            &format!("/core/v1/issuers/default/clients/{}", s.client.id),
            &admin,
        )
        .json(&json!({ "access_token_format": "opaque" }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);

    // A user's token: no claims to read, but userinfo and introspection know it.
    let code = code(&s, &s.client.id, &[]).await;
    let (status, tokens) = exchange(&s, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert!(!access.contains('.'), "not a JWT: {access}");
    assert_eq!(userinfo_status(&s.app, "default", access).await, 200);
    let answer = introspect(&s, access).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["sub"], s.user.as_str());
    assert_eq!(answer["client_id"], s.client.id.as_str());
    assert_eq!(answer["scope"], "openid offline_access");
    assert!(answer.get("tessera_family").is_none(), "{answer}");
    // The ID token's at_hash is over the opaque token (OIDC Core §3.1.3.6).
    let id_token = payload(tokens["id_token"].as_str().unwrap());
    assert!(id_token["at_hash"].is_string());

    // Refreshing gives another opaque token; revoking the first ends the whole family.
    let (status, refreshed) = token(
        &s,
        Some(secret(&s)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let second = refreshed["access_token"].as_str().unwrap();
    assert!(!second.contains('.') && second != access);
    let revoked = s
        .app
        .client
        .post(format!("{}/default/oauth/revoke", s.app.base_url))
        .basic_auth(&s.client.id, s.client.secret.as_deref())
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    for dead in [access, second] {
        assert_eq!(userinfo_status(&s.app, "default", dead).await, 401);
        assert_eq!(introspect(&s, dead).await, json!({"active": false}));
    }

    // A client-credentials token has no family: revoking it revokes just that token.
    let (status, issued) = token(
        &s,
        Some(secret(&s)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    let service = issued["access_token"].as_str().unwrap();
    assert!(!service.contains('.'));
    assert_eq!(introspect(&s, service).await["active"], true);
    s.app
        .client
        .post(format!("{}/default/oauth/revoke", s.app.base_url))
        .basic_auth(&s.client.id, s.client.secret.as_deref())
        .form(&[("token", service), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(introspect(&s, service).await, json!({"active": false}));
    // An opaque token of another issuer means nothing here.
    assert_eq!(userinfo_status(&s.app, "system", second).await, 401);
}

#[tokio::test]
async fn a_clients_own_lifetimes_override_its_issuers() {
    let s = setup().await;
    let admin = s.app.core_api_token(&[]).await;
    let patch = |body: Value| {
        s.app
            .core_request(
                reqwest::Method::PATCH,
                &format!("/core/v1/issuers/default/clients/{}", s.client.id),
                &admin,
            )
            .json(&body)
            .send()
    };
    let response = patch(json!({ "access_token_lifetime": 120, "id_token_lifetime": 300 }))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let client: Value = response.json().await.unwrap();
    assert_eq!(client["access_token_lifetime"], 120);
    assert_eq!(client["refresh_token_lifetime"], Value::Null);

    let code = code(&s, &s.client.id, &[]).await;
    let (_, tokens) = exchange(&s, &code).await;
    assert_eq!(tokens["expires_in"], 120);
    let access = payload(tokens["access_token"].as_str().unwrap());
    assert_eq!(
        access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(),
        120
    );
    let id = payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        300
    );
    let (_, service) = token(
        &s,
        Some(secret(&s)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(service["expires_in"], 120);

    // Out of bounds: refused, naming the field; `null` goes back to the issuer's hour.
    let refused = patch(json!({ "access_token_lifetime": 30 })).await.unwrap();
    assert_eq!(refused.status(), 400);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["field"], "access_token_lifetime", "{problem}");
    let back = patch(json!({ "access_token_lifetime": null }))
        .await
        .unwrap();
    assert_eq!(back.status(), 200);
    let (_, service) = token(
        &s,
        Some(secret(&s)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(service["expires_in"], 3600);
}

#[tokio::test]
async fn a_token_in_the_body_of_a_get_is_not_read() {
    let s = setup().await;
    let code = code(&s, &s.client.id, &[]).await;
    let (_, tokens) = exchange(&s, &code).await;
    let access = tokens["access_token"].as_str().unwrap();
    let url = format!("{}/default/oauth/userinfo", s.app.base_url);
    let send = |method: reqwest::Method| {
        s.app
            .client
            .request(method, &url)
            .form(&[("access_token", access)])
            .send()
    };
    // RFC 6750 §2.2: the form-encoded body parameter is for methods with body semantics; a
    // GET carrying one has presented no credentials.
    let get = send(reqwest::Method::GET).await.unwrap();
    assert_eq!(get.status(), 401);
    assert!(
        !get.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error="),
        "a bare challenge"
    );
    assert_eq!(send(reqwest::Method::POST).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_page_form_that_is_not_a_form_gets_an_error_page_not_a_redirect() {
    let s = setup().await;
    for action in ["login", "consent"] {
        let response = s
            .app
            .client
            .post(format!(
                "{}/default/interaction/unknown/{action}",
                s.app.base_url
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("csrf=a&csrf=b")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{action}");
        assert!(response.headers().get("location").is_none());
        assert!(
            response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        assert!(
            response
                .text()
                .await
                .unwrap()
                .contains("The form could not be read.")
        );
    }
}
