//! The OpenID Connect flows driven by a real relying-party library, the `openidconnect`
//! crate, against a running Tessera: discovery, authorization code with PKCE (confidential and
//! public clients), ID-token validation against the JWKS (signature, `iss`, `aud`, `nonce`,
//! `at_hash`), userinfo, refresh rotation, introspection, revocation and logout.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse,
};
use serde_json::{Value, json};
use tessera_testkit::TestApp;
use tessera_testkit::oidc::{Browser, Landing, RegisteredClient};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const LOGGED_OUT: &str = "http://127.0.0.1:9/logged-out";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn web_app(app: &TestApp, first_party: bool) -> RegisteredClient {
    app.register_client(
        "default",
        json!({
            "name": "Notes", "client_type": "confidential",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [REDIRECT], "post_logout_redirect_uris": [LOGGED_OUT],
            "first_party": first_party,
        }),
    )
    .await
}

async fn discover(app: &TestApp) -> CoreProviderMetadata {
    CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.issuer_url("default")).unwrap(),
        &http(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_confidential_client_signs_a_user_in_with_code_and_pkce_and_uses_every_token() {
    let app = TestApp::spawn().await;
    let user_id = app.create_user("default", EMAIL, PASSWORD).await;
    let token = app.core_api_token(&[]).await;
    let profile = app
        .core_request(
            reqwest::Method::PATCH,
            &format!("/core/v1/issuers/default/users/{user_id}"),
            &token,
        )
        .json(&json!({"picture": "https://example.com/ada.png", "locale": "en-gb"}))
        .send()
        .await
        .unwrap();
    assert_eq!(profile.status(), 200);
    let registered = web_app(&app, false).await;
    let metadata = discover(&app).await;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.clone()),
        Some(ClientSecret::new(registered.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("offline_access".to_owned()))
        // A voluntary request for more than a password (OIDC Core §3.1.2.1): the sign-in
        // reaches one factor, and the ID token says so.
        .add_auth_context_value(AuthenticationContextClass::new("2".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::new();
    let landing = browser
        .authorize(url.as_str(), app.core().public_url(), EMAIL, PASSWORD)
        .await;
    assert!(landing.location().starts_with(REDIRECT), "{landing:?}");
    assert_eq!(
        landing.param("state").as_deref(),
        Some(state.secret().as_str())
    );
    // RFC 9207: the issuer identifies itself in the response.
    assert_eq!(landing.param("iss"), Some(app.issuer_url("default")));
    let code = landing.param("code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    let id_verifier = client.id_token_verifier();
    let claims = id_token.claims(&id_verifier, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), user_id);
    assert_eq!(claims.email().unwrap().as_str(), EMAIL);
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.auth_context_ref().map(|acr| acr.as_str()), Some("1"));
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));

    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http())
        .await
        .unwrap();
    assert_eq!(userinfo.subject().as_str(), user_id);
    assert_eq!(userinfo.email().unwrap().as_str(), EMAIL);
    assert_eq!(userinfo.email_verified(), Some(true));
    assert!(userinfo.given_name().is_some());
    let picture = userinfo.picture().and_then(|p| p.get(None));
    assert_eq!(
        picture.map(|p| p.as_str()),
        Some("https://example.com/ada.png")
    );
    assert_eq!(userinfo.locale().map(|l| l.as_str()), Some("en-GB"));

    // Refresh rotates: a new refresh token each time, the old one is spent.
    let first_refresh = tokens.refresh_token().unwrap().clone();
    let refreshed = client
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&http())
        .await
        .unwrap();
    let second_refresh = refreshed.refresh_token().unwrap().clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    assert!(refreshed.id_token().is_some());

    // Introspection: active for the client's own token.
    let introspected = introspect(&app, &registered, refreshed.access_token().secret()).await;
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["sub"], user_id.as_str());
    assert_eq!(introspected["client_id"], registered.id.as_str());
    let introspected = introspect(&app, &registered, second_refresh.secret()).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["token_type"], "refresh_token");

    // Revoking the refresh token revokes its family, access tokens included.
    let revoked = app
        .client
        .post(format!("{}/default/oauth/revoke", app.base_url))
        .basic_auth(&registered.id, registered.secret.as_deref())
        .form(&[("token", second_refresh.secret().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    for token in [refreshed.access_token().secret(), second_refresh.secret()] {
        assert_eq!(
            introspect(&app, &registered, token).await,
            json!({"active": false})
        );
    }
    let userinfo = app
        .client
        .get(format!("{}/default/oauth/userinfo", app.base_url))
        .bearer_auth(refreshed.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);
    assert!(
        userinfo.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

async fn introspect(app: &TestApp, client: &RegisteredClient, token: &str) -> Value {
    let response = app
        .client
        .post(format!("{}/default/oauth/introspect", app.base_url))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_public_client_uses_pkce_without_a_secret() {
    let app = TestApp::spawn().await;
    app.create_user("default", EMAIL, PASSWORD).await;
    let registered = app
        .register_client(
            "default",
            json!({
                "name": "Mobile", "client_type": "public",
                "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none", "first_party": true,
            }),
        )
        .await;
    let client = CoreClient::from_provider_metadata(
        discover(&app).await,
        ClientId::new(registered.id.clone()),
        None,
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let landing = Browser::new()
        .authorize(url.as_str(), app.core().public_url(), EMAIL, PASSWORD)
        .await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(landing.param("code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert!(tokens.refresh_token().is_none(), "no offline_access asked");
}

/// Builds an authorization URL by hand, for the rules a library would never break.
fn authorize_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let mut url =
        reqwest::Url::parse(&format!("{}/oauth/authorize", app.issuer_url("default"))).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

#[tokio::test]
async fn consent_is_asked_once_per_scope_set_and_sessions_skip_the_sign_in() {
    let app = TestApp::spawn().await;
    app.create_user("default", EMAIL, PASSWORD).await;
    let client = web_app(&app, false).await;
    let browser = Browser::new();
    let base = app.core().public_url().to_owned();
    let ask = |scope: &'static str, prompt: Option<&'static str>| {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "s1"),
        ];
        if let Some(prompt) = prompt {
            params.push(("prompt", prompt));
        }
        authorize_url(&app, &params)
    };

    // Without a session, prompt=none cannot show the sign-in page.
    let landing = browser.follow(&ask("openid", Some("none")), &base).await;
    assert_eq!(landing.param("error").as_deref(), Some("login_required"));
    assert_eq!(landing.param("state").as_deref(), Some("s1"));

    // First time: sign in, then consent.
    let Landing::Page(200, login) = browser.follow(&ask("openid email", None), &base).await else {
        panic!("the sign-in page");
    };
    assert!(login.contains("Notes"));
    let Landing::Redirect(to_consent) = browser
        .submit(
            &login,
            &base,
            &[("username", EMAIL), ("password", PASSWORD)],
        )
        .await
    else {
        panic!("signed in");
    };
    let Landing::Page(200, consent) = browser.get(&to_consent).await else {
        panic!("the consent page");
    };
    assert!(consent.contains("email"));
    let landing = browser
        .submit(&consent, &base, &[("decision", "allow")])
        .await;
    assert!(landing.param("code").is_some());

    // Same scopes again: the session and the remembered consent answer at once.
    let landing = browser.follow(&ask("openid email", None), &base).await;
    assert!(landing.param("code").is_some(), "{landing:?}");
    let landing = browser.follow(&ask("openid", Some("none")), &base).await;
    assert!(landing.param("code").is_some(), "{landing:?}");
    // A new scope needs consent again; prompt=none says so.
    let landing = browser
        .follow(&ask("openid profile", Some("none")), &base)
        .await;
    assert_eq!(landing.param("error").as_deref(), Some("consent_required"));
    // prompt=consent always asks; a denial goes back as access_denied.
    let Landing::Page(200, consent) = browser.follow(&ask("openid", Some("consent")), &base).await
    else {
        panic!("the consent page");
    };
    let landing = browser
        .submit(&consent, &base, &[("decision", "deny")])
        .await;
    assert_eq!(landing.param("error").as_deref(), Some("access_denied"));
    // prompt=login asks for the password again even with a session.
    let Landing::Page(200, page) = browser.follow(&ask("openid", Some("login")), &base).await
    else {
        panic!("the sign-in page");
    };
    assert!(page.contains("name=\"password\""));

    // Another browser has neither the session nor the interaction.
    let stranger = Browser::new();
    let Landing::Redirect(interaction) = Browser::new().get(&ask("openid", None)).await else {
        panic!("to the sign-in page");
    };
    let Landing::Page(status, _) = stranger.get(&interaction).await else {
        panic!("a page");
    };
    assert_eq!(
        status, 403,
        "an interaction belongs to the browser that started it"
    );
}

#[tokio::test]
async fn first_party_clients_skip_consent_and_wrong_passwords_are_retried() {
    let app = TestApp::spawn().await;
    app.create_user("default", EMAIL, PASSWORD).await;
    let client = web_app(&app, true).await;
    let base = app.core().public_url().to_owned();
    let browser = Browser::new();
    let url = authorize_url(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile"),
            ("ui_locales", "fr-CA en-GB"),
        ],
    );
    let Landing::Page(200, login) = browser.follow(&url, &base).await else {
        panic!("the sign-in page");
    };
    // `en-GB` reaches `en` (`fr` has no pages); the lookup's rules are tested in
    // `tessera_oauth::locale`, the other languages in `tests/hosted_pages.rs`.
    assert!(login.contains(r#"<html lang="en">"#), "{login}");
    for (username, password) in [(EMAIL, "wrong password"), ("nobody@example.com", PASSWORD)] {
        let Landing::Page(200, again) = browser
            .submit(
                &login,
                &base,
                &[("username", username), ("password", password)],
            )
            .await
        else {
            panic!("the sign-in page again");
        };
        // The same answer whether or not the account exists.
        assert!(
            again.contains("The email, username or password is not right."),
            "{again}"
        );
    }
    // After a failure an identifier waits a second before its next try (`lockout`).
    tessera_testkit::wait_out_sign_in_delay(1).await;
    let landing = browser
        .submit(
            &login,
            &base,
            &[("username", EMAIL), ("password", PASSWORD)],
        )
        .await;
    assert!(
        landing.param("code").is_some(),
        "no consent page: {landing:?}"
    );
}

#[tokio::test]
async fn logout_ends_the_session_and_returns_only_to_registered_uris() {
    let app = TestApp::spawn().await;
    app.create_user("default", EMAIL, PASSWORD).await;
    let registered = web_app(&app, true).await;
    let client = CoreClient::from_provider_metadata(
        discover(&app).await,
        ClientId::new(registered.id.clone()),
        Some(ClientSecret::new(registered.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());
    let base = app.core().public_url().to_owned();
    let browser = Browser::new();
    let (url, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let landing = browser
        .authorize(url.as_str(), &base, EMAIL, PASSWORD)
        .await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(landing.param("code").unwrap()))
        .unwrap()
        .request_async(&http())
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap().to_string();
    let logout = |params: &[(&str, &str)]| {
        let mut url =
            reqwest::Url::parse(&format!("{}/oauth/logout", app.issuer_url("default"))).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.to_string()
    };

    // An unregistered destination is refused with a page, never a redirect.
    let landing = browser
        .get(&logout(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/elsewhere"),
        ]))
        .await;
    assert!(matches!(landing, Landing::Page(400, _)), "{landing:?}");

    let landing = browser
        .get(&logout(&[
            ("id_token_hint", &id_token),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "bye"),
        ]))
        .await;
    assert_eq!(landing.location(), format!("{LOGGED_OUT}?state=bye"));

    // The session is gone: prompt=none now needs a sign-in.
    let (url, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_prompt(openidconnect::core::CoreAuthPrompt::None)
        .url();
    let landing = browser.follow(url.as_str(), &base).await;
    assert_eq!(landing.param("error").as_deref(), Some("login_required"));
}

/// The sign-in page honours the request (OIDC Core §3.1.2.1): a session skips it, unless
/// `prompt=login` or `max_age` asks for a fresh sign-in (`max_age=0` at once, like
/// `prompt=login`); `login_hint` fills in the identifier; `prompt=none` never shows it. A
/// sign-in that `max_age` asked for puts `auth_time` in the ID token.
#[tokio::test]
async fn the_sign_in_honours_prompt_max_age_and_login_hint() {
    let app = TestApp::spawn().await;
    app.create_user("default", EMAIL, PASSWORD).await;
    let registered = web_app(&app, true).await;
    let base = app.core().public_url().to_owned();
    let authorize = |extra: &[(&str, &str)]| {
        let mut url =
            reqwest::Url::parse(&format!("{}/oauth/authorize", app.issuer_url("default"))).unwrap();
        url.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", registered.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "s"),
        ]);
        url.query_pairs_mut().extend_pairs(extra);
        url.to_string()
    };
    let browser = Browser::new();

    // Without a session, prompt=none answers the client at once: login_required.
    let landing = browser
        .follow(&authorize(&[("prompt", "none")]), &base)
        .await;
    assert_eq!(landing.param("error").as_deref(), Some("login_required"));

    // login_hint fills in the identifier.
    let Landing::Page(200, page) = browser
        .follow(&authorize(&[("login_hint", EMAIL)]), &base)
        .await
    else {
        panic!("expected the sign-in page");
    };
    assert!(
        page.contains(&format!("name=\"username\" value=\"{EMAIL}\"")),
        "{page}"
    );
    let landing = browser
        .authorize(&authorize(&[]), &base, EMAIL, PASSWORD)
        .await;
    assert!(landing.param("code").is_some(), "{landing:?}");

    // With a session: no page, for a plain request, a generous max_age and prompt=none.
    for extra in [vec![], vec![("max_age", "3600")], vec![("prompt", "none")]] {
        let landing = browser.follow(&authorize(&extra), &base).await;
        assert!(landing.param("code").is_some(), "{extra:?}: {landing:?}");
    }
    // prompt=login and max_age=0 ask for the password again, session or not.
    for extra in [[("prompt", "login")], [("max_age", "0")]] {
        let landing = browser.follow(&authorize(&extra), &base).await;
        let Landing::Page(200, page) = landing else {
            panic!("{extra:?}: expected the sign-in page, got {landing:?}");
        };
        assert!(page.contains("name=\"password\""), "{extra:?}");
    }
    // A sign-in asked for by max_age: the ID token says when it happened, which is after the
    // first sign-in (a second ago at least), not when that one did.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // The server's time now: the `iat` of a token it issues.
    let claims_of = |jwt: &str| -> Value {
        let payload = jwt.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap(),
        )
        .unwrap()
    };
    let before = claims_of(&app.core_api_token(&[]).await)["iat"]
        .as_u64()
        .unwrap();
    let landing = browser
        .authorize(&authorize(&[("max_age", "0")]), &base, EMAIL, PASSWORD)
        .await;
    let code = landing.param("code").unwrap();
    let tokens: Value = http()
        .post(format!("{}/oauth/token", app.issuer_url("default")))
        .basic_auth(&registered.id, registered.secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    let auth_time = claims["auth_time"].as_u64().unwrap_or_default();
    assert!(
        auth_time >= before,
        "auth_time {auth_time} before {before}: {claims}"
    );
}
