//! `/core/v1/issuers/{slug}/events` over HTTP, on this run's backend: filters, the `user.*`
//! wildcard, pagination, refusals naming the parameter, and tenant isolation.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use reqwest::Method;
use serde_json::{Value, json};
use tessera_testkit::{TestApp, expect_problem};

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Value) -> Value {
    let response = app
        .core_request(method, path, token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.core_request(Method::GET, path, token)
        .send()
        .await
        .unwrap()
}

async fn events(app: &TestApp, path: &str, token: &str) -> Vec<Value> {
    let response = get(app, path, token).await;
    assert_eq!(response.status(), 200, "{path}");
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

fn types(items: &[Value]) -> Vec<&str> {
    items.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// An issuer `acme` with a user created, updated and blocked by the admin client.
async fn arranged(app: &TestApp, token: &str) -> String {
    send(
        app,
        Method::POST,
        "/core/v1/issuers",
        token,
        json!({"slug": "acme", "display_name": "Acme"}),
    )
    .await;
    let user = send(
        app,
        Method::POST,
        "/core/v1/issuers/acme/users",
        token,
        json!({"email": "ada@example.com"}),
    )
    .await;
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/core/v1/issuers/acme/users/{id}");
    send(app, Method::PATCH, &path, token, json!({"name": "Ada"})).await;
    send(
        app,
        Method::POST,
        &format!("{path}/block"),
        token,
        json!({}),
    )
    .await;
    id
}

#[tokio::test]
async fn events_are_listed_with_their_chain_links_and_filtered() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let user = arranged(&app, &token).await;

    let all = events(&app, "/core/v1/issuers/acme/events", &token).await;
    assert!(types(&all).contains(&"user.created"), "{all:?}");
    let first = &all[0];
    assert_eq!(first["seq"], 1);
    assert!(first["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(first["hash"].as_str().unwrap().len(), 64);
    assert!(first["time"].is_i64() && first["data"].is_object());
    let mut seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=all.len() as i64).collect::<Vec<_>>());

    let user_events = events(&app, "/core/v1/issuers/acme/events?type=user.*", &token).await;
    assert_eq!(
        types(&user_events),
        ["user.created", "user.updated", "user.blocked"]
    );
    let created = events(
        &app,
        "/core/v1/issuers/acme/events?type=user.created",
        &token,
    )
    .await;
    assert_eq!(types(&created), ["user.created"]);
    assert_eq!(created[0]["subject"], user.as_str());

    let about = events(
        &app,
        &format!("/core/v1/issuers/acme/events?subject={user}"),
        &token,
    )
    .await;
    assert_eq!(about.len(), 3);
    let actor = about[0]["actor"].as_str().unwrap().to_owned();
    assert!(actor.starts_with("client:cli_"), "{actor}");
    let by_actor = events(
        &app,
        &format!("/core/v1/issuers/acme/events?actor={actor}&type=user.*"),
        &token,
    )
    .await;
    assert_eq!(by_actor.len(), 3);
    assert!(
        events(
            &app,
            "/core/v1/issuers/acme/events?actor=system&type=user.*",
            &token
        )
        .await
        .is_empty()
    );

    let time = first["time"].as_i64().unwrap();
    assert_eq!(
        events(
            &app,
            &format!("/core/v1/issuers/acme/events?since={time}&until={time}"),
            &token
        )
        .await
        .len(),
        all.iter().filter(|e| e["time"] == time).count()
    );
    assert!(
        events(
            &app,
            &format!("/core/v1/issuers/acme/events?since={}", time + 3600),
            &token
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn events_page_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    arranged(&app, &token).await;
    let all = events(&app, "/core/v1/issuers/acme/events", &token).await;
    let mut paged = Vec::new();
    let mut path = "/core/v1/issuers/acme/events?limit=2".to_owned();
    loop {
        let body: Value = get(&app, &path, &token).await.json().await.unwrap();
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        paged.extend(items.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/core/v1/issuers/acme/events?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, all);
}

#[tokio::test]
async fn bad_filters_are_refused_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    for (query, field, code) in [
        ("type=user*", "type", "invalid_field"),
        ("type=*", "type", "invalid_field"),
        ("type=User.Created", "type", "invalid_field"),
        ("actor=admin", "actor", "invalid_field"),
        ("actor=client:usr_x", "actor", "invalid_field"),
        ("since=yesterday", "since", "invalid_request"),
        ("until=-5", "until", "invalid_request"),
        ("since=20&until=10", "until", "invalid_field"),
        ("limit=0", "limit", "invalid_request"),
        ("cursor=nope!", "cursor", "invalid_request"),
    ] {
        let response = get(
            &app,
            &format!("/core/v1/issuers/default/events?{query}"),
            &token,
        )
        .await;
        let body = expect_problem(response, 400, code).await;
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let unknown = get(&app, "/core/v1/issuers/default/events?colour=red", &token).await;
    expect_problem(unknown, 400, "invalid_request").await;
}

#[tokio::test]
async fn events_of_other_issuers_are_not_visible() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let user = arranged(&app, &token).await;

    // The default issuer's trail holds nothing about acme's user.
    let default_events = events(&app, "/core/v1/issuers/default/events", &token).await;
    assert!(default_events.iter().all(|e| e["subject"] != user.as_str()));
    assert!(
        events(
            &app,
            &format!("/core/v1/issuers/default/events?subject={user}"),
            &token
        )
        .await
        .is_empty()
    );

    // A credential restricted to `default` sees its events and not acme's.
    let restricted = app.core_api_token(&["default"]).await;
    assert_eq!(
        get(&app, "/core/v1/issuers/default/events", &restricted)
            .await
            .status(),
        200
    );
    let denied = get(&app, "/core/v1/issuers/acme/events", &restricted).await;
    expect_problem(denied, 404, "not_found").await;
    let missing = get(&app, "/core/v1/issuers/nowhere/events", &token).await;
    expect_problem(missing, 404, "not_found").await;
}
