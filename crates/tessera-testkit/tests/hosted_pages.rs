//! The hosted pages in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) drives the sign-in and consent pages for a relying party built on the
//! `openidconnect` crate, whose redirect URI is a real HTTP receiver started by the test.
//! Each page a test passes through is saved as a screenshot (see `tessera_testkit::chromium`).

#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde_json::json;
use tessera_testkit::TestApp;
use tessera_testkit::chromium::Chromium;
use tessera_testkit::oidc::RegisteredClient;
use tessera_testkit::receiver::Receiver;

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A running Tessera with a user and a third-party web app (so consent is asked), and the
/// app's redirect URI: a receiver that answers the browser with 200.
struct Scene {
    app: TestApp,
    user_id: String,
    registered: RegisteredClient,
    callback: Receiver,
}

impl Scene {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let user_id = app.create_user("default", EMAIL, PASSWORD).await;
        let callback = Receiver::start().await;
        let registered = app
            .register_client(
                "default",
                json!({
                    "name": "Notes", "client_type": "confidential",
                    "grant_types": ["authorization_code"],
                    "redirect_uris": [callback.url("/callback")],
                }),
            )
            .await;
        Self {
            app,
            user_id,
            registered,
            callback,
        }
    }

    async fn relying_party(
        &self,
    ) -> CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        let metadata = CoreProviderMetadata::discover_async(
            IssuerUrl::new(self.app.issuer_url("default")).unwrap(),
            &http(),
        )
        .await
        .unwrap();
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.registered.id.clone()),
            self.registered.secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(self.callback.url("/callback")).unwrap())
    }

    /// An authorization request with PKCE; `extra` adds parameters such as `ui_locales`.
    async fn authorize_url(
        &self,
        extra: &[(&str, &str)],
    ) -> (String, CsrfToken, Nonce, PkceCodeVerifier) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.relying_party().await;
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge);
        for (name, value) in extra {
            request = request.add_extra_param(*name, *value);
        }
        let (url, state, nonce) = request.url();
        (url.to_string(), state, nonce, verifier)
    }
}

/// Fills the sign-in form as the user and sends it with `password`.
async fn sign_in(browser: &Chromium, password: &str) {
    browser.fill("username", EMAIL).await;
    browser.fill("password", password).await;
    browser.click("sign-in").await;
}

/// The query parameter `name` of a URL.
fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

#[tokio::test]
async fn a_relying_party_signs_a_user_in_through_the_pages_of_a_real_browser() {
    let Some(browser) = Chromium::start("en-US,en;q=0.9").await else {
        return;
    };
    let scene = Scene::new().await;
    let (url, state, nonce, verifier) = scene.authorize_url(&[]).await;

    browser.goto(&url).await;
    assert_eq!(browser.page_language().await, "en");
    assert_eq!(browser.text("sign-in").await, "Sign in", "the sign-in page");
    assert_eq!(browser.text("issuer-name").await, "Default");
    browser.screenshot("sign-in").await;

    // A wrong password: the form again, with a message that names no account.
    sign_in(&browser, "not the password").await;
    assert_eq!(
        browser
            .attribute("refusal", "data-refusal")
            .await
            .as_deref(),
        Some("credentials")
    );
    assert_eq!(
        browser.text("refusal").await,
        "The email, username or password is not right."
    );
    assert_eq!(
        browser.attribute("username", "value").await.as_deref(),
        Some(EMAIL),
        "the identifier typed is kept"
    );
    browser.screenshot("sign-in-refused").await;

    // After a failure the identifier waits a second before its next try (`lockout`; the
    // refusal itself is tested over HTTP in `tests/sign_in_protection.rs`).
    tessera_testkit::wait_out_sign_in_delay(1).await;
    sign_in(&browser, PASSWORD).await;
    let scopes = browser.text("scopes").await;
    assert!(scopes.contains("See your email address"), "{scopes}");
    assert!(scopes.contains("See your name and profile"), "{scopes}");
    browser.screenshot("consent").await;

    browser.click("allow").await;
    let landed = browser.url().await;
    assert_eq!(
        landed.as_str().split('?').next(),
        Some(scene.callback.url("/callback").as_str()),
        "the browser lands at the relying party"
    );
    assert_eq!(
        param(&landed, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(param(&landed, "iss"), Some(scene.app.issuer_url("default")));
    let callbacks: Vec<_> = scene
        .callback
        .received()
        .into_iter()
        .filter(|r| r.uri.starts_with("/callback?"))
        .collect();
    assert_eq!(callbacks.len(), 1, "the receiver saw the browser come back");

    let client = scene.relying_party().await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(param(&landed, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(claims.subject().as_str(), scene.user_id);
    assert_eq!(claims.email().unwrap().as_str(), EMAIL);

    // Logout without an ID token hint asks first (OIDC RP-Initiated Logout §2), then signs the
    // browser out: the portal then shows its sign-in form.
    let logout = format!("{}/oauth/logout", scene.app.issuer_url("default"));
    browser.goto(&logout).await;
    assert!(browser.has("sign-out").await, "the confirmation");
    browser.screenshot("logout").await;
    browser.click("sign-out").await;
    assert!(browser.has("signed-out").await);
    browser.screenshot("signed-out").await;
    browser
        .goto(&format!("{}/default/account", scene.app.base_url))
        .await;
    assert!(browser.has("sign-in").await, "the session is gone");
    browser.close().await;
}

#[tokio::test]
async fn denying_consent_answers_the_relying_party_with_access_denied() {
    let Some(browser) = Chromium::start("en").await else {
        return;
    };
    let scene = Scene::new().await;
    let (url, state, _, _) = scene.authorize_url(&[]).await;
    browser.goto(&url).await;
    sign_in(&browser, PASSWORD).await;
    browser.click("deny").await;
    let landed = browser.url().await;
    // RFC 6749 §4.1.2.1: the user's refusal is `access_denied`, with the client's state.
    assert_eq!(param(&landed, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        param(&landed, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(param(&landed, "code"), None);
    browser.close().await;
}

#[tokio::test]
async fn pages_speak_the_browsers_language_then_ui_locales_then_the_users_pick() {
    let Some(browser) = Chromium::start("de-DE,de;q=0.9,en;q=0.5").await else {
        return;
    };
    let scene = Scene::new().await;

    // The browser's Accept-Language.
    let (url, ..) = scene.authorize_url(&[]).await;
    browser.goto(&url).await;
    assert_eq!(browser.page_language().await, "de");
    assert_eq!(browser.text("sign-in").await, "Anmelden");
    browser.screenshot("sign-in-de").await;

    // The relying party's ui_locales outrank the browser (OIDC Core §3.1.2.1).
    let (url, ..) = scene.authorize_url(&[("ui_locales", "es-MX es")]).await;
    browser.goto(&url).await;
    assert_eq!(browser.page_language().await, "es");
    assert_eq!(browser.text("sign-in").await, "Iniciar sesión");

    // The user's own pick on the page outranks both, and is remembered for later pages.
    browser.click("lang-en").await;
    assert_eq!(param(&browser.url().await, "lang").as_deref(), Some("en"));
    assert_eq!(browser.page_language().await, "en");
    assert_eq!(browser.text("sign-in").await, "Sign in");
    sign_in(&browser, "wrong").await;
    assert_eq!(
        browser.page_language().await,
        "en",
        "the pick is remembered"
    );

    browser
        .goto(&format!(
            "{}/default/interaction/int_unknown",
            scene.app.base_url
        ))
        .await;
    browser.screenshot("error").await;
    assert_eq!(
        browser.attribute("error", "data-error").await.as_deref(),
        Some("interaction_gone")
    );
    browser.close().await;
}

/// Once someone has signed in, their own language (the profile's `locale`) comes after the
/// relying party's `ui_locales` and before the browser's: the consent page speaks it.
#[tokio::test]
async fn the_consent_page_speaks_the_signed_in_users_language() {
    let Some(browser) = Chromium::start("en-US,en;q=0.9").await else {
        return;
    };
    let scene = Scene::new().await;
    let token = scene.app.core_api_token(&[]).await;
    let patched = scene
        .app
        .core_request(
            reqwest::Method::PATCH,
            &format!("/core/v1/issuers/default/users/{}", scene.user_id),
            &token,
        )
        .json(&json!({"locale": "es"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);

    let (url, ..) = scene.authorize_url(&[]).await;
    browser.goto(&url).await;
    assert_eq!(browser.page_language().await, "en", "nobody signed in yet");
    sign_in(&browser, PASSWORD).await;
    assert_eq!(browser.page_language().await, "es", "the user's language");
    assert_eq!(browser.text("allow").await, "Permitir");
    browser.screenshot("consent-users-language").await;

    // The relying party's ui_locales still come first.
    let (url, ..) = scene.authorize_url(&[("ui_locales", "de")]).await;
    browser.goto(&url).await;
    assert!(browser.has("allow").await, "signed in: the consent page");
    assert_eq!(browser.page_language().await, "de");
    browser.close().await;
}

/// Every hosted page, on a phone's screen: axe-core finds nothing against WCAG 2.2 A and AA
/// (labels, names, contrast, language, focus order), and nothing needs scrolling sideways.
#[tokio::test]
async fn every_page_is_accessible_and_fits_a_phone() {
    let Some(browser) = Chromium::start("en-US,en;q=0.9").await else {
        return;
    };
    browser.resize(375, 667).await;
    let scene = Scene::new().await;
    let issuer = scene.app.issuer_url("default");
    let check = |name: &'static str| {
        let browser = &browser;
        async move {
            let violations = browser.accessibility_violations().await;
            assert!(violations.is_empty(), "{name}: {violations:#?}");
            assert!(
                browser.fits_width().await,
                "{name} scrolls sideways on a phone"
            );
            browser.screenshot(&format!("phone-{name}")).await;
        }
    };

    let (url, ..) = scene.authorize_url(&[]).await;
    browser.goto(&url).await;
    check("sign-in").await;
    // The checker itself: a field whose label is taken away is found.
    browser
        .client()
        .execute(
            "document.querySelector('label[for=username]').remove();",
            vec![],
        )
        .await
        .unwrap();
    let violations = browser.accessibility_violations().await;
    assert!(
        violations.iter().any(|v| v.starts_with("label ")),
        "{violations:#?}"
    );
    let interaction = browser.url().await;
    sign_in(&browser, "not the password").await;
    check("sign-in-refused").await;
    browser.goto(&format!("{interaction}/signup")).await;
    check("sign-up").await;
    browser.goto(&format!("{issuer}/password/forgot")).await;
    check("forgot-password").await;
    browser
        .goto(&format!("{issuer}/password/reset?token=unknown"))
        .await;
    check("link-unknown").await;
    browser
        .goto(&format!("{issuer}/interaction/int_unknown"))
        .await;
    check("error").await;
    browser.goto(&format!("{issuer}/account")).await;
    check("account-sign-in").await;

    tessera_testkit::wait_out_sign_in_delay(1).await;
    browser.goto(interaction.as_str()).await;
    sign_in(&browser, PASSWORD).await;
    assert!(browser.has("allow").await, "the consent page");
    check("consent").await;
    browser.goto(&format!("{issuer}/account")).await;
    assert!(browser.has("sessions").await, "the portal");
    check("account").await;
    browser.goto(&format!("{issuer}/oauth/logout")).await;
    check("logout").await;
    browser.close().await;
}

#[tokio::test]
async fn a_locked_account_is_told_when_to_come_back() {
    let Some(browser) = Chromium::start("en").await else {
        return;
    };
    let scene = Scene::new().await;
    let token = scene.app.core_api_token(&[]).await;
    let patched = scene
        .app
        .core_request(reqwest::Method::PATCH, "/core/v1/issuers/default", &token)
        .json(&json!({"settings": {"lockout": {"max_failures": 3, "lock_seconds": 900}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let (url, ..) = scene.authorize_url(&[]).await;
    browser.goto(&url).await;
    // Three failures, each after the wait the previous one asked for (1 s, then 2 s; whole seconds, so up to 2 s and 3 s).
    for wait in [0, 2100, 3100] {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        sign_in(&browser, "not it").await;
        assert_eq!(
            browser
                .attribute("refusal", "data-refusal")
                .await
                .as_deref(),
            Some("credentials")
        );
    }
    browser.fill("password", PASSWORD).await;
    browser.click("sign-in").await;
    assert_eq!(
        browser
            .attribute("refusal", "data-refusal")
            .await
            .as_deref(),
        Some("too_many_attempts"),
        "locked: even the right password is refused"
    );
    assert_eq!(
        browser.text("refusal").await,
        "Too many failed sign-ins. Signing in is paused; try again in 15 minutes."
    );
    browser.screenshot("sign-in-locked").await;
    browser.close().await;
}

#[tokio::test]
async fn an_issuers_branding_shows_on_its_pages() {
    let Some(browser) = Chromium::start("en").await else {
        return;
    };
    let scene = Scene::new().await;
    let token = scene.app.core_api_token(&[]).await;
    let patched = scene
        .app
        .core_request(reqwest::Method::PATCH, "/core/v1/issuers/default", &token)
        .json(&json!({"settings": {"branding": {
            "logo_url": "https://acme.example/logo.svg",
            "primary_color": "#ffd400",
            "background_color": "#102030",
            "custom_css": "main { border-top: 6px solid rgb(1, 2, 3); }",
            "terms_url": "https://acme.example/terms",
            "privacy_url": "https://acme.example/privacy",
            "texts": {"de": {"login-submit": "Los geht's"}},
        }}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let (url, ..) = scene.authorize_url(&[]).await;
    browser.goto(&url).await;

    let css = |id: &'static str, property: &'static str| {
        let browser = &browser;
        async move {
            browser
                .client()
                .find(fantoccini::Locator::Css(id))
                .await
                .unwrap()
                .css_value(property)
                .await
                .unwrap()
        }
    };
    // The brand colour on the button, with black text, which contrasts more with yellow
    // (WebDriver reports computed colours as rgba).
    assert_eq!(
        css("#sign-in", "background-color").await,
        "rgba(255, 212, 0, 1)"
    );
    assert_eq!(css("#sign-in", "color").await, "rgba(0, 0, 0, 1)");
    assert_eq!(css("body", "background-color").await, "rgba(16, 32, 48, 1)");
    assert_eq!(css("main", "border-top-color").await, "rgba(1, 2, 3, 1)");
    // The footer sits on the dark background: white text.
    assert_eq!(css("#terms", "color").await, "rgba(255, 255, 255, 1)");
    assert_eq!(
        browser.attribute("logo", "src").await.as_deref(),
        Some("https://acme.example/logo.svg")
    );
    assert_eq!(
        browser.attribute("logo", "alt").await.as_deref(),
        Some("Default")
    );
    assert_eq!(
        browser.attribute("terms", "href").await.as_deref(),
        Some("https://acme.example/terms")
    );
    assert_eq!(browser.text("privacy").await, "Privacy policy");
    browser.screenshot("sign-in-branded").await;

    // The issuer's own wording, in the language it was given for.
    browser.click("lang-de").await;
    assert_eq!(browser.text("sign-in").await, "Los geht's");
    assert_eq!(browser.text("terms").await, "Nutzungsbedingungen");
    browser.close().await;
}
