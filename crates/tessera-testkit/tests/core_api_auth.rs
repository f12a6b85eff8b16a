//! The Core API is opened only by access tokens of the `system` issuer, obtained with the
//! client-credentials grant by a real OAuth client library (the `oauth2` crate).

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde_json::Value;
use tessera_model::IssuerSlug;
use tessera_testkit::TestApp;

/// Exchanges a Core API credential for an access token with the `oauth2` crate.
async fn token_with_oauth2_crate(
    app: &TestApp,
    client_id: &str,
    secret: &str,
    scopes: &[&str],
) -> Result<String, String> {
    let client = BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_token_uri(TokenUrl::new(format!("{}/system/oauth/token", app.base_url)).unwrap());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.exchange_client_credentials();
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    request
        .request_async(&http)
        .await
        .map(|token| token.access_token().secret().clone())
        .map_err(|e| format!("{e:?}"))
}

async fn core_get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn slugs(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_credential_from_the_cli_opens_the_core_api_through_a_standard_oauth_client() {
    let app = TestApp::spawn().await;
    let credential = app.core().create_admin_credential("ci", &[]).await.unwrap();
    let token = token_with_oauth2_crate(
        &app,
        &credential.client_id.to_string(),
        credential.client_secret.expose(),
        &[],
    )
    .await
    .unwrap();

    let response = core_get(&app, "/core/v1/issuers", Some(&token)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(slugs(&body), ["system", "default"]);
    assert_eq!(
        body["items"][1]["issuer_url"],
        format!("{}/default", app.base_url.replace("127.0.0.1", "localhost"))
    );
}

#[tokio::test]
async fn a_restricted_credential_sees_only_its_issuers() {
    let app = TestApp::spawn().await;
    let credential = app
        .core()
        .create_admin_credential("tenant-admin", &[IssuerSlug::default_issuer()])
        .await
        .unwrap();
    let token = token_with_oauth2_crate(
        &app,
        &credential.client_id.to_string(),
        credential.client_secret.expose(),
        &["core:read"],
    )
    .await
    .unwrap();
    let body: Value = core_get(&app, "/core/v1/issuers", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(slugs(&body), ["default"]);
}

#[tokio::test]
async fn missing_invalid_and_underscoped_tokens_are_refused_with_bearer_challenges() {
    let app = TestApp::spawn().await;
    let missing = core_get(&app, "/core/v1/issuers", None).await;
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"tessera-core\""
    );
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );

    let garbage = core_get(&app, "/core/v1/issuers", Some("not.a.token")).await;
    assert_eq!(garbage.status(), 401);
    assert_eq!(
        garbage.headers()["www-authenticate"],
        "Bearer realm=\"tessera-core\", error=\"invalid_token\""
    );
    let body: Value = garbage.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");

    let credential = app
        .core()
        .create_admin_credential("writer", &[])
        .await
        .unwrap();
    let write_only = token_with_oauth2_crate(
        &app,
        &credential.client_id.to_string(),
        credential.client_secret.expose(),
        &["core:write"],
    )
    .await
    .unwrap();
    let forbidden = core_get(&app, "/core/v1/issuers", Some(&write_only)).await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        forbidden.headers()["www-authenticate"],
        "Bearer realm=\"tessera-core\", error=\"insufficient_scope\", scope=\"core:read\""
    );
}

#[tokio::test]
async fn a_token_of_another_issuer_does_not_open_the_core_api() {
    let app = TestApp::spawn().await;
    // A client-credentials client of the default issuer, made like a Core API credential
    // but stored in another tenant.
    let builtin = app.core().ensure_builtin_issuers().await.unwrap();
    let credential = app.core().create_admin_credential("ci", &[]).await.unwrap();
    let mut client = app
        .core()
        .store()
        .clients()
        .find(
            tessera_store::IssuerScope::of(&builtin.system),
            credential.client_id,
        )
        .await
        .unwrap()
        .unwrap();
    client.id = tessera_model::ClientId::new();
    client.issuer_id = builtin.default.id;
    let event = tessera_model::NewEvent::new(
        "client.created",
        client.id,
        tessera_model::Actor::System,
        serde_json::json!({}),
        client.created_at,
    );
    app.core()
        .store()
        .clients()
        .create(
            tessera_store::IssuerScope::of(&builtin.default),
            &client,
            &event,
        )
        .await
        .unwrap();
    let response = app
        .client
        .post(format!("{}/default/oauth/token", app.base_url))
        .basic_auth(
            client.id.to_string(),
            Some(credential.client_secret.expose()),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    let foreign = token["access_token"].as_str().unwrap();
    assert_eq!(
        core_get(&app, "/core/v1/issuers", Some(foreign))
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let app = TestApp::spawn().await;
    let credential = app.core().create_admin_credential("ci", &[]).await.unwrap();
    let id = credential.client_id.to_string();
    let url = format!("{}/system/oauth/token", app.base_url);

    let wrong_secret = app
        .client
        .post(&url)
        .basic_auth(&id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);
    assert_eq!(
        wrong_secret.headers()["www-authenticate"],
        "Basic realm=\"tessera\""
    );
    assert_eq!(wrong_secret.headers()["cache-control"], "no-store");
    let body: Value = wrong_secret.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    let secret = credential.client_secret.expose();
    type Form<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Form<'_>, u16, &str); 3] = [
        (&[("grant_type", "password")], 400, "unsupported_grant_type"),
        (&[], 400, "invalid_request"),
        (
            &[
                ("grant_type", "client_credentials"),
                ("scope", "core:read everything"),
            ],
            400,
            "invalid_scope",
        ),
    ];
    for (form, status, error) in cases {
        let response = app
            .client
            .post(&url)
            .basic_auth(&id, Some(secret))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{form:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error, "{form:?}");
    }

    // RFC 6749 §3.2: parameters must not repeat; the body must be a form.
    let repeated = app
        .client
        .post(&url)
        .basic_auth(&id, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(repeated.status(), 400);
    let json_body = app
        .client
        .post(&url)
        .basic_auth(&id, Some(secret))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
    assert_eq!(
        json_body.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    let ok = app
        .client
        .post(&url)
        .basic_auth(&id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    assert_eq!(ok.headers()["pragma"], "no-cache");
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);

    let unknown_issuer = app
        .client
        .post(format!("{}/nowhere/oauth/token", app.base_url))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_issuer.status(), 404);
}

/// An independent JWT library verifies an access token with the issuer's published JWKS.
#[tokio::test]
async fn access_tokens_verify_against_the_published_jwks() {
    let app = TestApp::spawn().await;
    let credential = app.core().create_admin_credential("ci", &[]).await.unwrap();
    let token = token_with_oauth2_crate(
        &app,
        &credential.client_id.to_string(),
        credential.client_secret.expose(),
        &[],
    )
    .await
    .unwrap();
    let jwks_response = app.get("/system/.well-known/jwks.json").await;
    assert_eq!(jwks_response.status(), 200);
    assert_eq!(
        jwks_response.headers()["cache-control"],
        "public, max-age=300"
    );
    let jwks: jsonwebtoken::jwk::JwkSet = jwks_response.json().await.unwrap();
    assert_eq!(
        jwks.keys.len(),
        4,
        "current and next of the ES256 chain and of the RS256 chain"
    );
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    let public = app.base_url.replace("127.0.0.1", "localhost");
    validation.set_audience(&[format!("{public}/core/v1")]);
    validation.set_issuer(&[format!("{public}/system")]);
    let claims = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["client_id"], credential.client_id.to_string());
    assert_eq!(claims["scope"], "core:read core:write");
}
