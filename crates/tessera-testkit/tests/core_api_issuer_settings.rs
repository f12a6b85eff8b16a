//! Issuer settings through `/core/v1/issuers`: set at creation, read back, patched one at a
//! time, refused with the field named, and obeyed by the token endpoint.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion

use reqwest::Method;
use serde_json::{Value, json};
use tessera_testkit::{TestApp, expect_problem};

fn default_settings() -> Value {
    json!({
        "access_token_lifetime": 3600,
        "id_token_lifetime": 3600,
        "refresh_token_lifetime": 2_592_000,
        "signing_algorithm": "ES256",
        "signup": {
            "policy": "open",
            "allowed_email_domains": [],
            "require_email_verification": true,
        },
        "event_retention_days": null,
        "key_rotation_days": null,
        "lockout": {"max_failures": 5, "lock_seconds": 900, "address_max_failures": 50},
        "password_policy": {"min_length": 8, "max_length": 1024, "min_strength": 2},
        "allow_account_deletion": false,
        "branding": {},
    })
}

#[tokio::test]
async fn an_issuer_without_settings_gets_the_defaults() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let created = app
        .core_request(Method::POST, "/core/v1/issuers", &token)
        .json(&json!({"slug": "plain", "display_name": "Plain"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.json::<Value>().await.unwrap()["settings"],
        default_settings()
    );
    // The built-in issuers, created before any setting existed in a request, have them too.
    let system = app
        .core_request(Method::GET, "/core/v1/issuers/system", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        system.json::<Value>().await.unwrap()["settings"],
        default_settings()
    );
}

#[tokio::test]
async fn settings_are_set_at_creation_read_back_and_patched_one_at_a_time() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let settings = json!({
        "access_token_lifetime": 900,
        "id_token_lifetime": 600,
        "refresh_token_lifetime": 86_400,
        "signing_algorithm": "ES256",
        "signup": {
            "policy": "allowed_email_domains",
            "allowed_email_domains": ["Acme.Example", "corp.acme.example"],
        },
    });
    let created = app
        .core_request(Method::POST, "/core/v1/issuers", &token)
        .json(&json!({"slug": "acme", "display_name": "Acme", "settings": settings}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let mut expected = settings.clone();
    expected["signup"]["allowed_email_domains"] = json!(["acme.example", "corp.acme.example"]);
    expected["signup"]["require_email_verification"] = json!(true);
    expected["event_retention_days"] = Value::Null;
    expected["key_rotation_days"] = Value::Null;
    expected["lockout"] = default_settings()["lockout"].clone();
    expected["password_policy"] = default_settings()["password_policy"].clone();
    expected["allow_account_deletion"] = json!(false);
    expected["branding"] = json!({});
    assert_eq!(created.json::<Value>().await.unwrap()["settings"], expected);

    let read = app
        .core_request(Method::GET, "/core/v1/issuers/acme", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.json::<Value>().await.unwrap()["settings"], expected);

    let patched = app
        .core_request(Method::PATCH, "/core/v1/issuers/acme", &token)
        .header("if-match", "\"1\"")
        .json(&json!({"settings": {"id_token_lifetime": 120}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(patched.headers()["etag"], "\"2\"");
    let body: Value = patched.json().await.unwrap();
    expected["id_token_lifetime"] = json!(120);
    assert_eq!(body["settings"], expected);
    assert_eq!(body["display_name"], "Acme");

    // The sign-up policy is replaced as a whole; the lifetimes stay.
    let closed = app
        .core_request(Method::PATCH, "/core/v1/issuers/acme", &token)
        .json(&json!({"settings": {"signup": {"policy": "disabled"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    expected["signup"] = json!({
        "policy": "disabled", "allowed_email_domains": [], "require_email_verification": true,
    });
    assert_eq!(closed.json::<Value>().await.unwrap()["settings"], expected);

    // Email verification changes on its own: the policy and its domains stay.
    let unverified = app
        .core_request(Method::PATCH, "/core/v1/issuers/acme", &token)
        .json(&json!({"settings": {"signup": {"require_email_verification": false}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(unverified.status(), 200);
    expected["signup"]["require_email_verification"] = json!(false);
    assert_eq!(
        unverified.json::<Value>().await.unwrap()["settings"],
        expected
    );

    // The password policy's numbers given change; the others stay.
    let stricter = app
        .core_request(Method::PATCH, "/core/v1/issuers/acme", &token)
        .json(&json!({"settings": {
            "password_policy": {"min_length": 12, "min_strength": 3},
            "allow_account_deletion": true,
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(stricter.status(), 200);
    expected["password_policy"] = json!({"min_length": 12, "max_length": 1024, "min_strength": 3});
    expected["allow_account_deletion"] = json!(true);
    assert_eq!(
        stricter.json::<Value>().await.unwrap()["settings"],
        expected
    );

    // The lockout numbers given change; the others stay.
    let guarded = app
        .core_request(Method::PATCH, "/core/v1/issuers/acme", &token)
        .json(&json!({"settings": {"lockout": {"max_failures": 3, "lock_seconds": 60}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(guarded.status(), 200);
    expected["lockout"] =
        json!({"max_failures": 3, "lock_seconds": 60, "address_max_failures": 50});
    assert_eq!(guarded.json::<Value>().await.unwrap()["settings"], expected);

    // Branding is replaced as a whole; colours come back in their long form.
    let branded = app
        .core_request(Method::PATCH, "/core/v1/issuers/acme", &token)
        .json(&json!({"settings": {"branding": {
            "primary_color": "#FA0", "terms_url": "https://acme.example/terms",
            "texts": {"es": {"consent-allow": "Sí, claro"}},
        }}}))
        .send()
        .await
        .unwrap();
    assert_eq!(branded.status(), 200);
    expected["branding"] = json!({
        "primary_color": "#ffaa00", "terms_url": "https://acme.example/terms",
        "texts": {"es": {"consent-allow": "Sí, claro"}},
    });
    assert_eq!(branded.json::<Value>().await.unwrap()["settings"], expected);
    let css = app.get("/acme/branding.css").await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        css.text()
            .await
            .unwrap()
            .contains("--tessera-primary: #ffaa00;")
    );

    // A display-name change leaves the settings alone.
    let renamed = app
        .core_request(Method::PATCH, "/core/v1/issuers/acme", &token)
        .json(&json!({"display_name": "Acme Corp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.json::<Value>().await.unwrap()["settings"], expected);
}

#[tokio::test]
async fn bad_settings_are_refused_naming_the_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let cases = [
        (
            json!({"access_token_lifetime": 59}),
            "settings.access_token_lifetime",
        ),
        (
            json!({"access_token_lifetime": 86_401}),
            "settings.access_token_lifetime",
        ),
        (
            json!({"id_token_lifetime": 0}),
            "settings.id_token_lifetime",
        ),
        (
            json!({"refresh_token_lifetime": 299}),
            "settings.refresh_token_lifetime",
        ),
        (
            json!({"signing_algorithm": "none"}),
            "settings.signing_algorithm",
        ),
        (
            json!({"signup": {"policy": "invite_only"}}),
            "settings.signup.policy",
        ),
        (
            json!({"signup": {"policy": "allowed_email_domains"}}),
            "settings.signup.allowed_email_domains",
        ),
        (
            json!({"signup": {"policy": "allowed_email_domains",
                              "allowed_email_domains": ["not a domain"]}}),
            "settings.signup.allowed_email_domains",
        ),
        (
            json!({"signup": {"policy": "open", "allowed_email_domains": ["example.com"]}}),
            "settings.signup.allowed_email_domains",
        ),
        (
            json!({"signup": {"allowed_email_domains": ["example.com"]}}),
            "settings.signup.policy",
        ),
        (
            json!({"lockout": {"max_failures": 2}}),
            "settings.lockout.max_failures",
        ),
        (
            json!({"password_policy": {"min_length": 7}}),
            "settings.password_policy.min_length",
        ),
        (
            json!({"password_policy": {"min_length": 129}}),
            "settings.password_policy.min_length",
        ),
        // A minimum above the maximum: the bounds already forbid it (128 is the most of one
        // and the least of the other).
        (
            json!({"password_policy": {"min_length": 200, "max_length": 128}}),
            "settings.password_policy.min_length",
        ),
        (
            json!({"password_policy": {"max_length": 127}}),
            "settings.password_policy.max_length",
        ),
        (
            json!({"password_policy": {"max_length": 4097}}),
            "settings.password_policy.max_length",
        ),
        (
            json!({"password_policy": {"min_strength": -1}}),
            "settings.password_policy.min_strength",
        ),
        (
            json!({"password_policy": {"min_strength": 5}}),
            "settings.password_policy.min_strength",
        ),
        (
            json!({"lockout": {"lock_seconds": 86_401}}),
            "settings.lockout.lock_seconds",
        ),
        (
            json!({"lockout": {"address_max_failures": 9}}),
            "settings.lockout.address_max_failures",
        ),
        (
            json!({"branding": {"logo_url": "http://acme.example/logo.png"}}),
            "settings.branding.logo_url",
        ),
        (
            json!({"branding": {"primary_color": "blue"}}),
            "settings.branding.primary_color",
        ),
        (
            json!({"branding": {"custom_css": "a{}".repeat(6000)}}),
            "settings.branding.custom_css",
        ),
        (
            json!({"branding": {"texts": {"fr": {"login-submit": "Entrer"}}}}),
            "settings.branding.texts",
        ),
        (
            json!({"branding": {"texts": {"en": {"no-such-message": "x"}}}}),
            "settings.branding.texts",
        ),
    ];
    for (settings, field) in cases {
        let created = app
            .core_request(Method::POST, "/core/v1/issuers", &token)
            .json(&json!({"slug": "acme", "display_name": "Acme", "settings": settings}))
            .send()
            .await
            .unwrap();
        let body = expect_problem(created, 400, "invalid_field").await;
        assert_eq!(body["field"], field, "{settings}");
        let patched = app
            .core_request(Method::PATCH, "/core/v1/issuers/default", &token)
            .json(&json!({"settings": settings}))
            .send()
            .await
            .unwrap();
        let body = expect_problem(patched, 400, "invalid_field").await;
        assert_eq!(body["field"], field, "{settings}");
    }
    let missing = app
        .core_request(Method::GET, "/core/v1/issuers/acme", &token)
        .send()
        .await
        .unwrap();
    expect_problem(missing, 404, "not_found").await;
    let default = app
        .core_request(Method::GET, "/core/v1/issuers/default", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(default.headers()["etag"], "\"1\"");
    assert_eq!(
        default.json::<Value>().await.unwrap()["settings"],
        default_settings()
    );
}

#[tokio::test]
async fn unknown_or_mistyped_settings_are_refused_by_their_path() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let cases = [
        (json!({"colour": "red"}), "settings.colour"),
        (
            json!({"signup": {"policy": "open", "colour": "red"}}),
            "settings.signup.colour",
        ),
        (
            json!({"access_token_lifetime": "1h"}),
            "settings.access_token_lifetime",
        ),
        (
            json!({"signup": {"require_email_verification": "yes"}}),
            "settings.signup.require_email_verification",
        ),
        (
            json!({"password_policy": {"min_length": "8"}}),
            "settings.password_policy.min_length",
        ),
        (
            json!({"password_policy": {"max_chars": 64}}),
            "settings.password_policy.max_chars",
        ),
        (
            json!({"allow_account_deletion": "true"}),
            "settings.allow_account_deletion",
        ),
    ];
    for (settings, field) in cases {
        let created = app
            .core_request(Method::POST, "/core/v1/issuers", &token)
            .json(&json!({"slug": "acme", "display_name": "Acme", "settings": settings}))
            .send()
            .await
            .unwrap();
        let body = expect_problem(created, 400, "invalid_body").await;
        assert_eq!(body["field"], field, "{body}");
        let patched = app
            .core_request(Method::PATCH, "/core/v1/issuers/default", &token)
            .json(&json!({"settings": settings}))
            .send()
            .await
            .unwrap();
        let body = expect_problem(patched, 400, "invalid_body").await;
        assert_eq!(body["field"], field, "{body}");
    }
}

#[tokio::test]
async fn access_tokens_follow_the_issuers_access_token_lifetime() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let patched = app
        .core_request(Method::PATCH, "/core/v1/issuers/system", &token)
        .json(&json!({"settings": {"access_token_lifetime": 300}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);

    let credential = app.core().create_admin_credential("ci", &[]).await.unwrap();
    let response: Value = app
        .client
        .post(format!("{}/system/oauth/token", app.base_url))
        .basic_auth(
            credential.client_id.to_string(),
            Some(credential.client_secret.expose()),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["expires_in"], 300, "{response}");

    // The token itself says so too, checked by an independent JWT library.
    let access_token = response["access_token"].as_str().unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .get("/system/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(access_token).unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(
        access_token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );

    // Tokens issued before the change keep the lifetime they were issued with; new ones of
    // the default issuer are unaffected by the system issuer's setting.
    let default = app
        .core_request(Method::GET, "/core/v1/issuers/default", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        default.json::<Value>().await.unwrap()["settings"]["access_token_lifetime"],
        3600
    );
}

#[tokio::test]
async fn an_issuer_set_to_rs256_signs_access_tokens_with_rs256() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let patched = app
        .core_request(Method::PATCH, "/core/v1/issuers/system", &token)
        .json(&json!({"settings": {"signing_algorithm": "RS256"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(
        patched.json::<Value>().await.unwrap()["settings"]["signing_algorithm"],
        "RS256"
    );
    for _ in 0..2 {
        let rotated = app
            .core_request(Method::POST, "/core/v1/issuers/system/keys/rotate", &token)
            .send()
            .await
            .unwrap();
        assert!(rotated.status().is_success(), "{}", rotated.status());
    }

    let credential = app.core().create_admin_credential("ci", &[]).await.unwrap();
    let response: Value = app
        .client
        .post(format!("{}/system/oauth/token", app.base_url))
        .basic_auth(
            credential.client_id.to_string(),
            Some(credential.client_secret.expose()),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = response["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(access_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .get("/system/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(
        access_token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("the RS256 token verifies against the published key");
}

#[tokio::test]
async fn periods_in_days_are_set_cleared_with_null_and_checked() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let patch = |settings: Value| {
        app.core_request(Method::PATCH, "/core/v1/issuers/default", &token)
            .json(&json!({ "settings": settings }))
            .send()
    };
    for field in ["event_retention_days", "key_rotation_days"] {
        let set: Value = patch(json!({ field: 30 }))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(set["settings"][field], 30);
        for (bad, code) in [
            (json!(0), "invalid_field"),
            (json!(3651), "invalid_field"),
            (json!("30"), "invalid_body"),
        ] {
            let refused = patch(json!({ field: bad })).await.unwrap();
            let problem = expect_problem(refused, 400, code).await;
            assert!(problem.to_string().contains(field), "{bad}: {problem}");
        }
        let read: Value = app
            .core_request(Method::GET, "/core/v1/issuers/default", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            read["settings"][field], 30,
            "a refused value changed nothing"
        );
        let cleared: Value = patch(json!({ field: null }))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(cleared["settings"][field], Value::Null);
    }
}

#[tokio::test]
async fn the_password_policy_and_account_switches_survive_a_restart_and_bind_the_users_api() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let settings = json!({
        "signup": {"policy": "open", "require_email_verification": false},
        "password_policy": {"min_length": 16, "max_length": 4096, "min_strength": 4},
        "allow_account_deletion": true,
    });
    let created = app
        .core_request(Method::POST, "/core/v1/issuers", &token)
        .json(&json!({"slug": "acme", "display_name": "Acme", "settings": settings}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let mut expected = default_settings();
    expected["signup"]["require_email_verification"] = json!(false);
    expected["password_policy"] = settings["password_policy"].clone();
    expected["allow_account_deletion"] = json!(true);
    assert_eq!(created.json::<Value>().await.unwrap()["settings"], expected);

    // Read back from the database by a new server.
    let app = app.restart().await;
    let token = app.core_api_token(&[]).await;
    let read = app
        .core_request(Method::GET, "/core/v1/issuers/acme", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.json::<Value>().await.unwrap()["settings"], expected);

    // The issuer's policy decides what a user's password may be; the default issuer's stays.
    let create_user = |issuer: &str, password: &str| {
        app.core_request(
            Method::POST,
            &format!("/core/v1/issuers/{issuer}/users"),
            &token,
        )
        .json(&json!({"email": "ada@example.com", "password": password}))
        .send()
    };
    let short = create_user("acme", "Tangerine-orbit").await.unwrap();
    let problem = expect_problem(short, 400, "invalid_field").await;
    assert_eq!(problem["field"], "password");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("must be at least 16 characters long"),
        "{problem}"
    );
    let created = create_user("default", "Tangerine-orbit").await.unwrap();
    assert_eq!(created.status(), 201);
    let created = create_user("acme", "Tangerine orbit quietly 42 kettles")
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}
