//! `Idempotency-Key` on Core API POSTs: a retry gets the first response and changes nothing,
//! a reused key with another request is refused, keys are per credential, and requests
//! without the header behave as before.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};
use tessera_store::{IssuerScope, PageRequest};
use tessera_testkit::{TestApp, expect_problem};

fn post(app: &TestApp, path: &str, token: &str) -> RequestBuilder {
    app.client
        .post(format!("{}{path}", app.base_url))
        .bearer_auth(token)
}

/// How many `event_type` events the issuer `slug` has.
async fn events_of(app: &TestApp, slug: &str, event_type: &str) -> usize {
    let issuer = app.core().find_issuer(slug).await.unwrap().unwrap();
    app.core()
        .store()
        .events()
        .list(
            IssuerScope::of(&issuer),
            &Default::default(),
            PageRequest::first(100),
        )
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| e.event_type == event_type)
        .count()
}

async fn issuer_slugs(app: &TestApp, token: &str) -> Vec<String> {
    let listed: Value = app
        .client
        .get(format!("{}/core/v1/issuers", app.base_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_retried_create_gets_the_first_response_and_creates_one_issuer() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let body = json!({"slug": "acme", "display_name": "Acme"});

    let first = post(&app, "/core/v1/issuers", &token)
        .header("idempotency-key", "create-acme-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_headers = first.headers().clone();
    let first_body = first.bytes().await.unwrap();

    let retry = post(&app, "/core/v1/issuers", &token)
        .header("idempotency-key", "create-acme-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    for name in ["content-type", "location", "etag"] {
        assert_eq!(retry.headers()[name], first_headers[name], "{name}");
    }
    assert_eq!(retry.bytes().await.unwrap(), first_body);

    assert_eq!(
        issuer_slugs(&app, &token)
            .await
            .iter()
            .filter(|s| *s == "acme")
            .count(),
        1
    );
    assert_eq!(events_of(&app, "acme", "issuer.created").await, 1);
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let created = post(&app, "/core/v1/issuers", &token)
        .header("idempotency-key", "k-1")
        .json(&json!({"slug": "acme", "display_name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let other_body = post(&app, "/core/v1/issuers", &token)
        .header("idempotency-key", "k-1")
        .json(&json!({"slug": "globex", "display_name": "Globex"}))
        .send()
        .await
        .unwrap();
    let refused = expect_problem(other_body, 422, "idempotency_key_reused").await;
    assert_eq!(refused["field"], "Idempotency-Key");
    // The same body on another path is another request too.
    let other_path = post(&app, "/core/v1/issuers/acme/keys/rotate", &token)
        .header("idempotency-key", "k-1")
        .json(&json!({"slug": "acme", "display_name": "Acme"}))
        .send()
        .await
        .unwrap();
    expect_problem(other_path, 422, "idempotency_key_reused").await;

    assert_eq!(app.core().find_issuer("globex").await.unwrap(), None);
    assert_eq!(events_of(&app, "acme", "key.rotated").await, 0);
}

#[tokio::test]
async fn keys_of_two_credentials_are_independent() {
    let app = TestApp::spawn().await;
    let alice = app.core_api_token(&[]).await;
    let bob = app.core_api_token(&[]).await;
    let acme = json!({"slug": "acme", "display_name": "Acme"});

    let by_alice = post(&app, "/core/v1/issuers", &alice)
        .header("idempotency-key", "shared-key")
        .json(&acme)
        .send()
        .await
        .unwrap();
    assert_eq!(by_alice.status(), 201);

    // Bob's key of the same name is not Alice's: his request runs (and finds the slug taken)
    // instead of receiving her response.
    let by_bob = post(&app, "/core/v1/issuers", &bob)
        .header("idempotency-key", "shared-key")
        .json(&acme)
        .send()
        .await
        .unwrap();
    assert!(by_bob.headers().get("idempotent-replayed").is_none());
    expect_problem(by_bob, 409, "conflict").await;

    // Nor does his key refuse a different body: it was never Alice's.
    let other_bob = post(&app, "/core/v1/issuers", &bob)
        .header("idempotency-key", "another-shared-key")
        .json(&json!({"slug": "globex", "display_name": "Globex"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other_bob.status(), 201);
    let by_alice_again = post(&app, "/core/v1/issuers", &alice)
        .header("idempotency-key", "another-shared-key")
        .json(&json!({"slug": "initech", "display_name": "Initech"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_alice_again.status(), 201);
    assert_eq!(events_of(&app, "acme", "issuer.created").await, 1);
}

#[tokio::test]
async fn a_refused_request_is_kept_and_replayed_like_any_other() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let invalid = json!({"slug": "Not A Slug!", "display_name": "Acme"});

    let first = post(&app, "/core/v1/issuers", &token)
        .header("idempotency-key", "bad-create")
        .json(&invalid)
        .send()
        .await
        .unwrap();
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = expect_problem(first, 400, "invalid_field").await;

    let retry = post(&app, "/core/v1/issuers", &token)
        .header("idempotency-key", "bad-create")
        .json(&invalid)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(expect_problem(retry, 400, "invalid_field").await, first);
}

#[tokio::test]
async fn an_invalid_key_is_a_bad_request_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let too_long = "k".repeat(256);
    for key in ["", "has space", "tab\tinside", too_long.as_str()] {
        let response = post(&app, "/core/v1/issuers", &token)
            .header("idempotency-key", key)
            .json(&json!({"slug": "acme", "display_name": "Acme"}))
            .send()
            .await
            .unwrap();
        let refused = expect_problem(response, 400, "invalid_request").await;
        assert_eq!(refused["field"], "Idempotency-Key", "{key:?}");
    }
    let twice = post(&app, "/core/v1/issuers", &token)
        .header("idempotency-key", "one")
        .header("idempotency-key", "two")
        .json(&json!({"slug": "acme", "display_name": "Acme"}))
        .send()
        .await
        .unwrap();
    expect_problem(twice, 400, "invalid_request").await;
    assert_eq!(app.core().find_issuer("acme").await.unwrap(), None);

    // The longest key is fine.
    let longest = post(&app, "/core/v1/issuers", &token)
        .header("idempotency-key", "k".repeat(255))
        .json(&json!({"slug": "acme", "display_name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(longest.status(), 201);
}

#[tokio::test]
async fn without_a_valid_token_the_key_is_not_used() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let body = json!({"slug": "acme", "display_name": "Acme"});
    let unauthenticated = post(&app, "/core/v1/issuers", "not-a-token")
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(unauthenticated.headers().contains_key("www-authenticate"));
    expect_problem(unauthenticated, 401, "unauthorized").await;

    // Nothing was kept under the key: the real request runs.
    let created = post(&app, "/core/v1/issuers", &token)
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_a_key_too() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let huge = json!({"slug": "acme", "display_name": "x".repeat(1024 * 1024)});
    let response = post(&app, "/core/v1/issuers", &token)
        .header("idempotency-key", "huge")
        .json(&huge)
        .send()
        .await
        .unwrap();
    expect_problem(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn without_the_header_every_post_runs() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let body = json!({"slug": "acme", "display_name": "Acme"});
    let first = post(&app, "/core/v1/issuers", &token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let second = post(&app, "/core/v1/issuers", &token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(second.headers().get("idempotent-replayed").is_none());
    let conflict = expect_problem(second, 409, "conflict").await;
    assert_eq!(conflict["field"], "slug");
    assert_eq!(events_of(&app, "acme", "issuer.created").await, 1);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_run_the_request_once() {
    const RETRIES: usize = 8;
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let body = json!({"slug": "acme", "display_name": "Acme"});
    let sends = (0..RETRIES).map(|_| {
        post(&app, "/core/v1/issuers", &token)
            .header("idempotency-key", "racing")
            .json(&body)
            .send()
    });
    let responses = send_all(sends.collect()).await;
    let (mut ran, mut replayed, mut in_progress) = (0, 0, 0);
    for response in responses {
        match (
            response.status().as_u16(),
            response.headers().contains_key("idempotent-replayed"),
        ) {
            (201, false) => ran += 1,
            (201, true) => replayed += 1,
            (409, false) => {
                let refused = expect_problem(response, 409, "conflict").await;
                assert_eq!(refused["field"], "Idempotency-Key");
                in_progress += 1;
            }
            other => panic!("unexpected answer: {other:?}"),
        }
    }
    assert_eq!(ran, 1);
    assert_eq!(ran + replayed + in_progress, RETRIES);
    assert_eq!(events_of(&app, "acme", "issuer.created").await, 1);
}

/// Sends every request at once and waits for all the answers.
async fn send_all(
    sends: Vec<impl std::future::Future<Output = reqwest::Result<Response>> + Send + 'static>,
) -> Vec<Response> {
    let tasks: Vec<_> = sends.into_iter().map(tokio::spawn).collect();
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.unwrap().unwrap());
    }
    responses
}
