//! `/core/v1/issuers/{slug}/users` over HTTP, on this run's backend.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use reqwest::Method;
use serde_json::{Value, json};
use tessera_testkit::{TestApp, expect_problem};

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.core_request(Method::POST, "/core/v1/issuers/default/users", token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_is_provisioned_changed_blocked_and_deleted() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let response = create(
        &app,
        &token,
        json!({"email": "Ada@Example.com", "username": "ada", "password": "correct horse battery",
               "name": "Ada", "app_metadata": {"plan": "pro"}}),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let user: Value = response.json().await.unwrap();
    let id = user["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("usr_"));
    assert_eq!(user["has_password"], true);
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    assert_eq!(user["app_metadata"]["plan"], "pro");

    // The password is stored as an argon2id hash that verifies.
    let builtin = app.core().ensure_builtin_issuers().await.unwrap();
    let stored = app
        .core()
        .get_user(&builtin.default, id.parse().unwrap())
        .await
        .unwrap();
    let hash = stored.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(tessera_crypto::password::verify_password(
        "correct horse battery",
        &hash
    ));

    let path = format!("/core/v1/issuers/default/users/{id}");
    let patched = app
        .core_request(Method::PATCH, &path, &token)
        .header("if-match", "\"1\"")
        .json(&json!({"name": null, "given_name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(patched.headers()["etag"], "\"2\"");
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["name"], Value::Null);
    assert_eq!(patched["given_name"], "Ada");

    let blocked: Value = app
        .core_request(Method::POST, &format!("{path}/block"), &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(blocked["blocked"], true);
    let unblocked: Value = app
        .core_request(Method::POST, &format!("{path}/unblock"), &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unblocked["blocked"], false);

    let password = app
        .core_request(Method::PUT, &format!("{path}/password"), &token)
        .json(&json!({"password": "another long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(password.status(), 204);
    let short = app
        .core_request(Method::PUT, &format!("{path}/password"), &token)
        .json(&json!({"password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 400);
    assert_eq!(short.json::<Value>().await.unwrap()["field"], "password");
    // The issuer's password policy refuses the most common passwords, with the reason.
    let common = app
        .core_request(Method::PUT, &format!("{path}/password"), &token)
        .json(&json!({"password": "P@ssw0rd"}))
        .send()
        .await
        .unwrap();
    let problem = expect_problem(common, 400, "invalid_field").await;
    assert_eq!(problem["field"], "password");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("one of the most common passwords"),
        "{problem}"
    );

    let stale = app
        .core_request(Method::DELETE, &path, &token)
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let deleted = app
        .core_request(Method::DELETE, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        app.core_request(Method::GET, &path, &token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Every change left its event, by the admin client, and none carries the password.
    let events = app
        .core()
        .store()
        .events()
        .list(
            tessera_store::IssuerScope::of(&builtin.default),
            &Default::default(),
            tessera_store::PageRequest::first(100),
        )
        .await
        .unwrap()
        .items;
    let trail: Vec<&str> = events
        .iter()
        .filter(|e| e.subject == id)
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        trail,
        [
            "user.created",
            "user.updated",
            "user.blocked",
            "user.unblocked",
            "user.password.changed",
            "user.deleted"
        ]
    );
    assert!(
        events
            .iter()
            .filter(|e| e.subject == id)
            .all(|e| matches!(e.actor, tessera_model::Actor::AdminClient(_)))
    );
    assert!(!events.iter().any(
        |e| e.data.to_string().contains("passphrase") || e.data.to_string().contains("battery")
    ));
}

#[tokio::test]
async fn user_input_errors_name_their_field() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let cases = [
        (
            json!({"email": "not-an-email"}),
            400,
            "invalid_field",
            "email",
        ),
        (json!({"email": 5}), 400, "invalid_body", "email"),
        (
            json!({"email": "a@example.com", "shoe_size": 44}),
            400,
            "invalid_body",
            "shoe_size",
        ),
        (
            json!({"email": "a@example.com", "user_metadata": [1]}),
            400,
            "invalid_field",
            "user_metadata",
        ),
        (
            json!({"email": "a@example.com", "picture": "javascript:alert(1)"}),
            400,
            "invalid_field",
            "picture",
        ),
        (
            json!({"email": "a@example.com", "locale": "english please"}),
            400,
            "invalid_field",
            "locale",
        ),
    ];
    for (body, status, code, field) in cases {
        let response = create(&app, &token, body.clone()).await;
        assert_eq!(response.status(), status, "{body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            (problem["code"].as_str(), problem["field"].as_str()),
            (Some(code), Some(field)),
            "{body}"
        );
    }
    assert_eq!(
        create(&app, &token, json!({"email": "a@example.com"}))
            .await
            .status(),
        201
    );
    let duplicate = create(&app, &token, json!({"email": "A@EXAMPLE.com"})).await;
    assert_eq!(duplicate.status(), 409);
    assert_eq!(duplicate.json::<Value>().await.unwrap()["field"], "email");
    let malformed_id = app
        .core_request(Method::GET, "/core/v1/issuers/default/users/nope", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(malformed_id.status(), 404);
}

#[tokio::test]
async fn users_are_searched_by_prefix_or_found_by_email_and_paged_and_stay_in_their_issuer() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    for (email, username) in [
        ("ann@example.com", "ann"),
        ("anna@example.com", "anna"),
        ("bob@example.com", "bob"),
    ] {
        assert_eq!(
            create(&app, &token, json!({"email": email, "username": username}))
                .await
                .status(),
            201
        );
    }
    // The addresses a listing with `query` shows, and its next cursor.
    let listed = |query: &'static str| {
        let request = app.core_request(
            Method::GET,
            &format!("/core/v1/issuers/default/users?{query}"),
            &token,
        );
        async move {
            let found: Value = request.send().await.unwrap().json().await.unwrap();
            let emails: Vec<String> = found["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned())
                .collect();
            (emails, found["next_cursor"].clone())
        }
    };
    let (emails, _) = listed("email_prefix=ANN").await;
    assert_eq!(emails, ["ann@example.com", "anna@example.com"]);

    // `email` is the exact address, in any case: one user or none.
    assert_eq!(
        listed("email=ANN@example.com").await,
        (vec!["ann@example.com".to_owned()], Value::Null)
    );
    assert_eq!(listed("email=an@example.com").await, (vec![], Value::Null));
    let refused = app
        .core_request(
            Method::GET,
            "/core/v1/issuers/default/users?email=nope",
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    let first: Value = app
        .core_request(
            Method::GET,
            "/core/v1/issuers/default/users?limit=2",
            &token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .core_request(
            Method::GET,
            &format!("/core/v1/issuers/default/users?limit=2&cursor={cursor}"),
            &token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"][0]["username"], "bob");
    assert_eq!(second["next_cursor"], Value::Null);

    // Another issuer has none of them; a credential of another issuer cannot reach them.
    app.core_request(Method::POST, "/core/v1/issuers", &token)
        .json(&json!({"slug": "other", "display_name": "Other"}))
        .send()
        .await
        .unwrap();
    let other: Value = app
        .core_request(Method::GET, "/core/v1/issuers/other/users", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(other["items"].as_array().unwrap().is_empty());
    let id = first["items"][0]["id"].as_str().unwrap();
    let cross = app
        .core_request(
            Method::GET,
            &format!("/core/v1/issuers/other/users/{id}"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 404);
    let restricted = app.core_api_token(&["other"]).await;
    let denied = app
        .core_request(
            Method::GET,
            &format!("/core/v1/issuers/default/users/{id}"),
            &restricted,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 404);
}
