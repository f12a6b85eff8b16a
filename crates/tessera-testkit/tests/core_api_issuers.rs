//! `/core/v1/issuers` and the Core API conventions: problem documents, ETag/If-Match, cursor
//! pagination, and every bad input named.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use reqwest::Method;
use serde_json::{Value, json};
use tessera_testkit::{TestApp, expect_problem};

#[tokio::test]
async fn an_issuer_is_created_read_updated_and_deleted_with_etags() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;

    let created = app
        .core_request(Method::POST, "/core/v1/issuers", &token)
        .json(&json!({"slug": "acme", "display_name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/core/v1/issuers/acme");
    assert_eq!(created.headers()["etag"], "\"1\"");
    let body: Value = created.json().await.unwrap();
    assert!(body["id"].as_str().unwrap().starts_with("iss_"));
    assert!(body["issuer_url"].as_str().unwrap().ends_with("/acme"));

    let read = app
        .core_request(Method::GET, "/core/v1/issuers/acme", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.headers()["etag"], "\"1\"");

    let updated = app
        .core_request(Method::PATCH, "/core/v1/issuers/acme", &token)
        .header("if-match", "\"1\"")
        .json(&json!({"display_name": "Acme Corp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    assert_eq!(updated.headers()["etag"], "\"2\"");
    assert_eq!(
        updated.json::<Value>().await.unwrap()["display_name"],
        "Acme Corp"
    );

    let stale = app
        .core_request(Method::PATCH, "/core/v1/issuers/acme", &token)
        .header("if-match", "\"1\"")
        .json(&json!({"display_name": "Lost update"}))
        .send()
        .await
        .unwrap();
    expect_problem(stale, 412, "precondition_failed").await;
    let stale_delete = app
        .core_request(Method::DELETE, "/core/v1/issuers/acme", &token)
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    expect_problem(stale_delete, 412, "precondition_failed").await;

    let deleted = app
        .core_request(Method::DELETE, "/core/v1/issuers/acme", &token)
        .header("if-match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = app
        .core_request(Method::GET, "/core/v1/issuers/acme", &token)
        .send()
        .await
        .unwrap();
    expect_problem(gone, 404, "not_found").await;
}

#[tokio::test]
async fn bad_input_gets_a_problem_that_names_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let post = |body: &'static str, content_type: &'static str| {
        app.core_request(Method::POST, "/core/v1/issuers", &token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let json = "application/json";

    expect_problem(post("{\"slug\":", json).await.unwrap(), 400, "invalid_body").await;
    let wrong_type = expect_problem(
        post(r#"{"slug":"acme","display_name":5}"#, json)
            .await
            .unwrap(),
        400,
        "invalid_body",
    )
    .await;
    assert_eq!(wrong_type["field"], "display_name");
    let unknown = expect_problem(
        post(r#"{"slug":"acme","display_name":"A","colour":"red"}"#, json)
            .await
            .unwrap(),
        400,
        "invalid_body",
    )
    .await;
    assert_eq!(unknown["field"], "colour");
    let missing = expect_problem(
        post(r#"{"display_name":"A"}"#, json).await.unwrap(),
        400,
        "invalid_body",
    )
    .await;
    assert!(
        missing["detail"].as_str().unwrap().contains("slug"),
        "{missing}"
    );
    expect_problem(
        post(r#"{"slug":"acme","display_name":"A"}"#, "text/plain")
            .await
            .unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    let reserved = expect_problem(
        post(r#"{"slug":"core","display_name":"A"}"#, json)
            .await
            .unwrap(),
        400,
        "invalid_field",
    )
    .await;
    assert_eq!(reserved["field"], "slug");

    let huge = format!(
        r#"{{"slug":"acme","display_name":"{}"}}"#,
        "x".repeat(1024 * 1024 + 1)
    );
    let too_large = app
        .core_request(Method::POST, "/core/v1/issuers", &token)
        .header("content-type", json)
        .body(huge)
        .send()
        .await
        .unwrap();
    expect_problem(too_large, 413, "payload_too_large").await;

    assert_eq!(
        post(r#"{"slug":"acme","display_name":"A"}"#, json)
            .await
            .unwrap()
            .status(),
        201
    );
    let duplicate = expect_problem(
        post(r#"{"slug":"acme","display_name":"B"}"#, json)
            .await
            .unwrap(),
        409,
        "conflict",
    )
    .await;
    assert_eq!(duplicate["field"], "slug");

    // Nothing half-written: exactly the three issuers that were created exist.
    let list: Value = app
        .core_request(Method::GET, "/core/v1/issuers", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slugs: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["system", "default", "acme"]);
    assert_eq!(
        list["items"][2]["display_name"], "A",
        "the refused duplicate changed nothing"
    );
}

#[tokio::test]
async fn listings_page_with_opaque_cursors() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    for n in 0..3 {
        let response = app
            .core_request(Method::POST, "/core/v1/issuers", &token)
            .json(&json!({"slug": format!("tenant-{n}"), "display_name": "T"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let mut seen = Vec::new();
    let mut path = "/core/v1/issuers?limit=2".to_owned();
    loop {
        let page: Value = app
            .core_request(Method::GET, &path, &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|i| i["slug"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/core/v1/issuers?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["system", "default", "tenant-0", "tenant-1", "tenant-2"]
    );

    let bad_cursor = app
        .core_request(Method::GET, "/core/v1/issuers?cursor=zzz", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(bad_cursor, 400, "invalid_request").await["field"],
        "cursor"
    );
    let bad_limit = app
        .core_request(Method::GET, "/core/v1/issuers?limit=0", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_problem(bad_limit, 400, "invalid_request").await["field"],
        "limit"
    );
}

#[tokio::test]
async fn a_restricted_credential_cannot_see_or_create_beyond_its_issuers() {
    let app = TestApp::spawn().await;
    let admin = app.core_api_token(&[]).await;
    for slug in ["tenant-a", "tenant-b"] {
        app.core_request(Method::POST, "/core/v1/issuers", &admin)
            .json(&json!({"slug": slug, "display_name": slug}))
            .send()
            .await
            .unwrap();
    }
    let restricted = app.core_api_token(&["tenant-a"]).await;
    let other = app
        .core_request(Method::GET, "/core/v1/issuers/tenant-b", &restricted)
        .send()
        .await
        .unwrap();
    expect_problem(other, 404, "not_found").await;
    let other_keys = app
        .core_request(Method::GET, "/core/v1/issuers/tenant-b/keys", &restricted)
        .send()
        .await
        .unwrap();
    expect_problem(other_keys, 404, "not_found").await;
    let own = app
        .core_request(Method::GET, "/core/v1/issuers/tenant-a", &restricted)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let create = app
        .core_request(Method::POST, "/core/v1/issuers", &restricted)
        .json(&json!({"slug": "tenant-c", "display_name": "C"}))
        .send()
        .await
        .unwrap();
    expect_problem(create, 403, "forbidden").await;
}

#[tokio::test]
async fn keys_are_listed_without_private_parts_and_rotate_through_the_jwks() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let keys: Value = app
        .core_request(Method::GET, "/core/v1/issuers/default/keys", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Two chains: the issuer's ES256 and the RS256 one every issuer keeps for ID tokens.
    let es256 = |listing: &Value| -> Vec<(Value, String)> {
        listing["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["alg"] == "ES256")
            .map(|k| (k["kid"].clone(), k["state"].as_str().unwrap().to_owned()))
            .collect()
    };
    let states: Vec<_> = es256(&keys).into_iter().map(|(_, state)| state).collect();
    assert_eq!(states, ["current", "next"]);
    assert_eq!(keys["items"].as_array().unwrap().len(), 4);
    assert!(
        keys["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["public_jwk"].get("d").is_none())
    );
    let next_kid = es256(&keys)[1].0.clone();

    let rotated: Value = app
        .core_request(Method::POST, "/core/v1/issuers/default/keys/rotate", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let states = es256(&rotated);
    assert_eq!(states.len(), 3);
    assert_eq!(states[1], (next_kid, "current".to_owned()));
    let jwks: Value = app
        .get("/default/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        6,
        "previous, current and next of both chains"
    );
}
