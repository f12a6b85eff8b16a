//! OpenID Connect Back-Channel Logout 1.0 end to end: a real server, its real delivery worker,
//! and receivers on port 0 that verify what they get with an independent JWT library
//! (`jsonwebtoken`) against the issuer's JWKS.

#![allow(clippy::unwrap_used, clippy::panic)] // test code: a panic is a failed assertion

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_testkit::TestApp;
use tessera_testkit::oidc::{Browser, Landing, RegisteredClient};
use tessera_testkit::receiver::{Receiver, Reply};

const REDIRECT: &str = "https://app.example.com/callback";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";
const WAIT: Duration = Duration::from_secs(15);

/// A server whose worker may call receivers on loopback, retrying every second.
async fn app() -> TestApp {
    TestApp::spawn_with(|config| {
        config.webhooks.allow_private_targets = true;
        config.webhooks.retry_schedule_seconds = vec![1, 1, 1];
    })
    .await
}

async fn client(app: &TestApp, backchannel_logout_uri: Option<String>) -> RegisteredClient {
    let mut body = json!({
        "name": "Notes", "client_type": "confidential", "first_party": true,
        "redirect_uris": [REDIRECT],
    });
    if let Some(uri) = backchannel_logout_uri {
        body["backchannel_logout_uri"] = json!(uri);
        body["backchannel_logout_session_required"] = json!(true);
    }
    app.register_client("default", body).await
}

/// Signs the browser's user in to `client` (the session then records the client).
async fn sign_in(app: &TestApp, browser: &Browser, client: &RegisteredClient) {
    let mut url =
        reqwest::Url::parse(&format!("{}/oauth/authorize", app.issuer_url("default"))).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "s"),
        ("nonce", "n"),
    ]);
    let landing = browser
        .authorize(url.as_str(), app.core().public_url(), EMAIL, PASSWORD)
        .await;
    assert!(landing.param("code").is_some(), "{landing:?}");
}

/// The user's only session, as the Core API lists it.
async fn the_session(app: &TestApp, token: &str, user: &str) -> Value {
    let sessions: Value = app
        .core_request(
            Method::GET,
            &format!("/core/v1/issuers/default/users/{user}/sessions"),
            token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1, "{sessions}");
    sessions["items"][0].clone()
}

/// Verifies a logout token as an RP would (§2.6): signature against the JWKS, `typ`, `iss`,
/// `aud`, `events`, `sub`, `sid`, no `nonce`, a short life. Returns its claims.
async fn verify_logout_token(
    app: &TestApp,
    token: &str,
    client_id: &str,
    user: &str,
    sid: &str,
) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .get("/default/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(
        header.typ.as_deref(),
        Some("logout+jwt"),
        "§2.4 explicit typing"
    );
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[app.issuer_url("default")]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["iss", "aud", "exp", "iat", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(
        claims["events"],
        json!({"http://schemas.openid.net/event/backchannel-logout": {}})
    );
    assert_eq!(claims["sub"], user);
    assert_eq!(claims["sid"], sid);
    assert!(claims.get("nonce").is_none(), "§2.4: no nonce");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((1..=120).contains(&lifetime), "{lifetime}");
    claims
}

#[tokio::test]
async fn rp_initiated_logout_sends_a_logout_token_to_each_client_of_the_session_that_asked() {
    let app = app().await;
    let user = app.create_user("default", EMAIL, PASSWORD).await;
    let (first, second, unrelated) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let a = client(&app, Some(first.url("/bcl"))).await;
    let b = client(&app, Some(second.url("/logout?tenant=b"))).await;
    let silent = client(&app, None).await;
    let _not_signed_in = client(&app, Some(unrelated.url("/bcl"))).await;
    let browser = Browser::new();
    for c in [&a, &b, &silent] {
        sign_in(&app, &browser, c).await;
    }
    let token = app.core_api_token(&[]).await;
    let session = the_session(&app, &token, &user).await;
    let sid = session["id"].as_str().unwrap();

    // RP-initiated logout without a hint: the user confirms on the page.
    let base = app.core().public_url().to_owned();
    let landing = browser
        .get(&format!("{}/oauth/logout", app.issuer_url("default")))
        .await;
    let Landing::Page(200, page) = landing else {
        panic!("a confirmation page: {landing:?}")
    };
    let signed_out = browser.submit(&page, &base, &[]).await;
    assert!(
        matches!(signed_out, Landing::Page(200, _)),
        "{signed_out:?}"
    );

    for (receiver, c) in [(&first, &a), (&second, &b)] {
        let received = receiver.wait_for(1, WAIT).await;
        assert_eq!(received.len(), 1, "one logout token for {}", c.id);
        assert_eq!(
            received[0].content_type(),
            Some("application/x-www-form-urlencoded"),
            "§2.5"
        );
        let logout_token = received[0].form_field("logout_token").unwrap();
        verify_logout_token(&app, &logout_token, &c.id, &user, sid).await;
    }
    assert_eq!(second.received()[0].uri, "/logout?tenant=b");
    // A client that was not signed in hears nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(unrelated.received().is_empty());
}

#[tokio::test]
async fn revoking_a_session_through_the_core_api_sends_logout_tokens() {
    let app = app().await;
    let user = app.create_user("default", EMAIL, PASSWORD).await;
    let receiver = Receiver::start().await;
    let a = client(&app, Some(receiver.url("/bcl"))).await;
    sign_in(&app, &Browser::new(), &a).await;
    let token = app.core_api_token(&[]).await;
    let sid = the_session(&app, &token, &user).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .core_request(
            Method::DELETE,
            &format!("/core/v1/issuers/default/users/{user}/sessions/{sid}"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1);
    let logout_token = received[0].form_field("logout_token").unwrap();
    verify_logout_token(&app, &logout_token, &a.id, &user, &sid).await;
}

#[tokio::test]
async fn a_receiver_that_fails_at_first_gets_the_same_jti_until_it_accepts() {
    let app = app().await;
    let user = app.create_user("default", EMAIL, PASSWORD).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(500), Reply::Status(502)]);
    let a = client(&app, Some(receiver.url("/bcl"))).await;
    sign_in(&app, &Browser::new(), &a).await;
    let token = app.core_api_token(&[]).await;
    let sid = the_session(&app, &token, &user).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.core_request(
        Method::DELETE,
        &format!("/core/v1/issuers/default/users/{user}/sessions/{sid}"),
        &token,
    )
    .send()
    .await
    .unwrap();
    let received = receiver.wait_for(3, WAIT).await;
    assert_eq!(received.len(), 3, "two failures, then success");
    let mut jtis = Vec::new();
    for r in &received {
        let logout_token = r.form_field("logout_token").unwrap();
        let claims = verify_logout_token(&app, &logout_token, &a.id, &user, &sid).await;
        jtis.push(claims["jti"].clone());
    }
    assert!(jtis.windows(2).all(|w| w[0] == w[1]), "{jtis:?}");
    // Accepted: no fourth attempt.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn a_delivery_pending_at_shutdown_is_delivered_after_the_restart() {
    let app = app().await;
    let user = app.create_user("default", EMAIL, PASSWORD).await;
    let receiver = Receiver::start().await;
    receiver.otherwise(Reply::Status(503));
    let a = client(&app, Some(receiver.url("/bcl"))).await;
    sign_in(&app, &Browser::new(), &a).await;
    let token = app.core_api_token(&[]).await;
    let sid = the_session(&app, &token, &user).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.core_request(
        Method::DELETE,
        &format!("/core/v1/issuers/default/users/{user}/sessions/{sid}"),
        &token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(receiver.wait_for(1, WAIT).await.len(), 1);
    let app = app.restart().await;
    // Only the restarted server's worker can deliver it now.
    receiver.otherwise(Reply::Status(200));
    let before = receiver.received().len();
    let received = receiver.wait_for(before + 1, WAIT).await;
    assert!(received.len() > before, "delivered after the restart");
    let last = received.last().unwrap().form_field("logout_token").unwrap();
    verify_logout_token(&app, &last, &a.id, &user, &sid).await;
}

#[tokio::test]
async fn client_registration_checks_the_backchannel_logout_uri() {
    let app = app().await;
    let token = app.core_api_token(&[]).await;
    for (uri, reason) in [
        ("https://app.example.com/bcl#frag", "fragment"),
        ("http://app.example.com/bcl", "loopback"),
        ("com.example.app:/bcl", "https"),
        ("not a uri", ""),
    ] {
        let response = app
            .core_request(Method::POST, "/core/v1/issuers/default/clients", &token)
            .json(&json!({
                "name": "Notes", "client_type": "confidential",
                "redirect_uris": [REDIRECT], "backchannel_logout_uri": uri,
            }))
            .send()
            .await
            .unwrap();
        let body = tessera_testkit::expect_problem(response, 400, "invalid_field").await;
        assert_eq!(body["field"], "backchannel_logout_uri", "{uri}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(reason),
            "{uri}: {body}"
        );
    }
    // Read back, changed and removed through the API.
    let created = client(&app, Some("https://app.example.com/bcl".to_owned())).await;
    let path = format!("/core/v1/issuers/default/clients/{}", created.id);
    let read: Value = app
        .core_request(Method::GET, &path, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        read["backchannel_logout_uri"],
        "https://app.example.com/bcl"
    );
    assert_eq!(read["backchannel_logout_session_required"], true);
    let changed: Value = app
        .core_request(Method::PATCH, &path, &token)
        .json(
            &json!({"backchannel_logout_uri": null, "backchannel_logout_session_required": false}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(changed["backchannel_logout_uri"], Value::Null, "{changed}");
    assert_eq!(changed["backchannel_logout_session_required"], false);
}
