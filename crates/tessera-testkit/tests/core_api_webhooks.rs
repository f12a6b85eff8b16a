//! `/core/v1/issuers/{slug}/webhooks` over HTTP, on this run's backend. The test server does
//! not allow private webhook targets, so the SSRF guard is what a default installation runs;
//! accepted URLs use a public address literal, so no test depends on DNS.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use reqwest::Method;
use serde_json::{Value, json};
use tessera_testkit::{TestApp, expect_problem};

const HOOK: &str = "https://203.0.113.10/hooks/tessera";

async fn create(app: &TestApp, token: &str, slug: &str, body: Value) -> reqwest::Response {
    app.core_request(
        Method::POST,
        &format!("/core/v1/issuers/{slug}/webhooks"),
        token,
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_webhook_is_created_with_a_secret_shown_once_changed_rotated_and_deleted() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let response = create(
        &app,
        &token,
        "default",
        json!({"url": HOOK, "event_types": ["user.*", "client.created"]}),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("whk_"), "{id}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["failing"], false);
    assert_eq!(created["event_types"], json!(["user.*", "client.created"]));

    let path = format!("/core/v1/issuers/default/webhooks/{id}");
    let read = app
        .core_request(Method::GET, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["etag"], "\"1\"");
    let read: Value = read.json().await.unwrap();
    assert!(
        read.get("secret").is_none(),
        "the secret is shown only once"
    );
    assert_eq!(read["url"], HOOK);
    let listed: Value = app
        .core_request(Method::GET, "/core/v1/issuers/default/webhooks", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("secret").is_none());

    let paused = app
        .core_request(Method::PATCH, &path, &token)
        .header("if-match", "\"1\"")
        .json(&json!({"enabled": false, "event_types": ["key.*"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
    assert_eq!(paused.headers()["etag"], "\"2\"");
    let paused: Value = paused.json().await.unwrap();
    assert_eq!(paused["enabled"], false);
    assert_eq!(paused["event_types"], json!(["key.*"]));
    let stale = app
        .core_request(Method::PATCH, &path, &token)
        .header("if-match", "\"1\"")
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);

    let rotated = app
        .core_request(Method::POST, &format!("{path}/rotate-secret"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    assert_eq!(rotated.headers()["etag"], "\"3\"");
    let rotated: Value = rotated.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);

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
    let gone = app
        .core_request(Method::GET, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);

    // Every change left its event, and none carries a secret.
    let events: Value = app
        .core_request(
            Method::GET,
            "/core/v1/issuers/default/events?type=webhook.*",
            &token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = events.to_string();
    assert!(!text.contains(&secret) && !text.contains(new_secret));
    let types: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for expected in [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.deleted",
    ] {
        assert!(types.contains(&expected), "{expected} in {types:?}");
    }
}

#[tokio::test]
async fn urls_that_break_a_rule_are_refused_naming_the_rule() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    for (url, rule) in [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.0.0.8/hook", "private"),
        ("http://user:pw@example.com", "credentials"),
        ("ftp://example.com/hook", "http or https"),
        ("https://example.com/hook#part", "fragment"),
    ] {
        let response = create(
            &app,
            &token,
            "default",
            json!({"url": url, "event_types": ["user.*"]}),
        )
        .await;
        let problem = expect_problem(response, 400, "invalid_field").await;
        assert_eq!(problem["field"], "url", "{url}");
        assert!(
            problem["detail"].as_str().unwrap().contains(rule),
            "{url}: {problem}"
        );
    }
}

#[tokio::test]
async fn unknown_event_types_are_refused() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    for types in [
        json!(["user.nonsense"]),
        json!(["*"]),
        json!(["payments.*"]),
        json!([]),
    ] {
        let response = create(
            &app,
            &token,
            "default",
            json!({"url": HOOK, "event_types": types}),
        )
        .await;
        let problem = expect_problem(response, 400, "invalid_field").await;
        assert_eq!(problem["field"], "event_types", "{types}");
    }
}

#[tokio::test]
async fn webhooks_of_one_issuer_are_invisible_from_another() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let other = app
        .core_request(Method::POST, "/core/v1/issuers", &token)
        .json(&json!({"slug": "other", "display_name": "Other"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 201);
    let created: Value = create(
        &app,
        &token,
        "default",
        json!({"url": HOOK, "event_types": ["user.created"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap();
    for (method, suffix) in [
        (Method::GET, ""),
        (Method::PATCH, ""),
        (Method::DELETE, ""),
        (Method::POST, "/rotate-secret"),
    ] {
        let mut request = app.core_request(
            method.clone(),
            &format!("/core/v1/issuers/other/webhooks/{id}{suffix}"),
            &token,
        );
        if method == Method::PATCH {
            request = request.json(&json!({"enabled": false}));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 404, "{method} {suffix}");
    }
    let listed: Value = app
        .core_request(Method::GET, "/core/v1/issuers/other/webhooks", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed["items"].as_array().unwrap().is_empty());
    // A credential restricted to the other issuer does not see the default issuer's webhook.
    let restricted = app.core_api_token(&["other"]).await;
    let hidden = app
        .core_request(
            Method::GET,
            &format!("/core/v1/issuers/default/webhooks/{id}"),
            &restricted,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);
}
