//! `/core/v1/issuers/{slug}/clients` over HTTP, on this run's backend.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use reqwest::Method;
use serde_json::{Value, json};
use tessera_testkit::TestApp;

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> u16 {
    app.client
        .post(format!("{}/default/oauth/token", app.base_url))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_client_is_registered_with_a_secret_shown_once_rotated_and_deleted() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let response = app
        .core_request(Method::POST, "/core/v1/issuers/default/clients", &token)
        .json(&json!({
            "name": "Billing service", "client_type": "confidential",
            "grant_types": ["client_credentials"], "allowed_scopes": ["invoices:read"]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(client_credentials(&app, &id, &secret).await, 200);

    let path = format!("/core/v1/issuers/default/clients/{id}");
    let read: Value = app
        .core_request(Method::GET, &path, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        read.get("client_secret").is_none(),
        "the secret is shown only once"
    );
    assert_eq!(read["token_endpoint_auth_method"], "client_secret_basic");

    let rotated: Value = app
        .core_request(Method::POST, &format!("{path}/rotate-secret"), &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_eq!(client_credentials(&app, &id, &secret).await, 401);
    assert_eq!(client_credentials(&app, &id, new_secret).await, 200);

    let renamed = app
        .core_request(Method::PATCH, &path, &token)
        .header("if-match", "\"2\"")
        .json(&json!({"name": "Billing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    assert_eq!(renamed.headers()["etag"], "\"3\"");
    let stale = app
        .core_request(Method::DELETE, &path, &token)
        .header("if-match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let deleted = app
        .core_request(Method::DELETE, &path, &token)
        .header("if-match", "\"3\"")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(client_credentials(&app, &id, new_secret).await, 401);
}

#[tokio::test]
async fn redirect_uris_and_grants_are_validated_at_registration() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let register = |body: Value| {
        app.core_request(Method::POST, "/core/v1/issuers/default/clients", &token)
            .json(&body)
            .send()
    };
    for uri in [
        "http://app.example.com/cb",
        "https://app.example.com/cb#frag",
        "/relative",
        "javascript:alert(1)",
        "https://*.example.com/cb",
    ] {
        let response =
            register(json!({"name": "Web", "client_type": "public", "redirect_uris": [uri]}))
                .await
                .unwrap();
        assert_eq!(response.status(), 400, "{uri}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["field"],
            "redirect_uris",
            "{uri}"
        );
    }
    for uri in [
        "https://app.example.com/cb",
        "http://127.0.0.1:8000/cb",
        "com.example.app:/oauth",
    ] {
        let response =
            register(json!({"name": "App", "client_type": "public", "redirect_uris": [uri]}))
                .await
                .unwrap();
        assert_eq!(response.status(), 201, "{uri}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body.get("client_secret").is_none(),
            "public clients get no secret"
        );
        assert_eq!(body["token_endpoint_auth_method"], "none");
    }
    let public_machine = register(
        json!({"name": "x", "client_type": "public", "grant_types": ["client_credentials"]}),
    )
    .await
    .unwrap();
    assert_eq!(public_machine.status(), 400);
    assert_eq!(
        public_machine.json::<Value>().await.unwrap()["field"],
        "grant_types"
    );
    let bad_type = register(json!({"name": "x", "client_type": "secretive"}))
        .await
        .unwrap();
    assert_eq!(bad_type.status(), 400);
    assert_eq!(
        bad_type.json::<Value>().await.unwrap()["field"],
        "client_type"
    );
}

#[tokio::test]
async fn clients_of_one_issuer_are_invisible_from_another() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    app.core_request(Method::POST, "/core/v1/issuers", &token)
        .json(&json!({"slug": "other", "display_name": "Other"}))
        .send()
        .await
        .unwrap();
    let created: Value = app.core_request(Method::POST, "/core/v1/issuers/default/clients", &token)
        .json(&json!({"name": "M2M", "client_type": "confidential", "grant_types": ["client_credentials"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["client_id"].as_str().unwrap();
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::DELETE, ""),
        (Method::POST, "/rotate-secret"),
    ] {
        let response = app
            .core_request(
                method.clone(),
                &format!("/core/v1/issuers/other/clients/{id}{suffix}"),
                &token,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method} {suffix}");
    }
    let listed: Value = app
        .core_request(Method::GET, "/core/v1/issuers/other/clients", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed["items"].as_array().unwrap().is_empty());
    // A restricted credential cannot manage Core API credentials in the system issuer.
    let restricted = app.core_api_token(&["default"]).await;
    let system = app
        .core_request(Method::GET, "/core/v1/issuers/system/clients", &restricted)
        .send()
        .await
        .unwrap();
    assert_eq!(system.status(), 404);
}
