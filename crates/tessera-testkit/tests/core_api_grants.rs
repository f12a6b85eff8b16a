//! The Core API lists and revokes what a user has let in: consents given to third-party
//! clients (grants) and browser sessions. A user signs in through the real flow first; then
//! revoking the grant kills its refresh token and brings the consent page back, and revoking
//! the session signs the browser out.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use reqwest::Method;
use serde_json::{Value, json};
use tessera_testkit::oidc::{Browser, Landing, RegisteredClient};
use tessera_testkit::{TestApp, expect_problem};

const REDIRECT: &str = "https://notes.example.com/callback";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

struct Setup {
    app: TestApp,
    token: String,
    user_id: String,
    client: RegisteredClient,
    browser: Browser,
    refresh_token: String,
}

fn authorize_url(app: &TestApp, client_id: &str, prompt: Option<&str>) -> String {
    let mut url =
        reqwest::Url::parse(&format!("{}/oauth/authorize", app.issuer_url("default"))).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid offline_access"),
        ("state", "s1"),
    ]);
    if let Some(prompt) = prompt {
        url.query_pairs_mut().append_pair("prompt", prompt);
    }
    url.to_string()
}

async fn token_request(s: &Setup, form: &[(&str, &str)]) -> (u16, Value) {
    let response = s
        .app
        .client
        .post(format!("{}/default/oauth/token", s.app.base_url))
        .basic_auth(&s.client.id, s.client.secret.as_deref())
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Ada signs in to a third-party client, consents to `openid offline_access`, and the client
/// exchanges the code for tokens with a refresh token.
async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    let user_id = app.create_user("default", EMAIL, PASSWORD).await;
    let client = app
        .register_client(
            "default",
            json!({
                "name": "Notes", "client_type": "confidential", "first_party": false,
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [REDIRECT],
            }),
        )
        .await;
    let browser = Browser::new();
    let landing = browser
        .authorize(
            &authorize_url(&app, &client.id, None),
            app.core().public_url(),
            EMAIL,
            PASSWORD,
        )
        .await;
    let code = landing
        .param("code")
        .unwrap_or_else(|| panic!("{landing:?}"));
    let mut s = Setup {
        app,
        token,
        user_id,
        client,
        browser,
        refresh_token: String::new(),
    };
    let (status, tokens) = token_request(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    s.refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    s
}

async fn core(s: &Setup, method: Method, path: &str) -> reqwest::Response {
    s.app
        .core_request(method, path, &s.token)
        .send()
        .await
        .unwrap()
}

async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_core_api_lists_and_revokes_a_users_grant_and_session() {
    let s = setup().await;
    let base = s.app.core().public_url().to_owned();
    let user_path = format!("/core/v1/issuers/default/users/{}", s.user_id);

    // The consent, with its scopes.
    let grants = json_of(core(&s, Method::GET, &format!("{user_path}/grants")).await).await;
    let items = grants["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{grants}");
    assert_eq!(items[0]["client_id"], s.client.id.as_str());
    assert_eq!(items[0]["scopes"], json!(["offline_access", "openid"]));
    assert!(items[0]["id"].as_str().unwrap().starts_with("grt_"));
    assert!(items[0]["created_at"].is_i64() && items[0]["updated_at"].is_i64());

    // The session, with the client that received tokens from it.
    let sessions = json_of(core(&s, Method::GET, &format!("{user_path}/sessions")).await).await;
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{sessions}");
    let session = &items[0];
    let session_id = session["id"].as_str().unwrap().to_owned();
    assert!(session_id.starts_with("ses_"));
    assert_eq!(session["active"], true);
    assert_eq!(session["ended_at"], Value::Null);
    assert_eq!(session["amr"], json!(["pwd"]));
    assert_eq!(session["clients"], json!([s.client.id]));
    assert!(session["auth_time"].is_i64() && session["expires_at"].is_i64());

    // Revoking the grant: the refresh token dies, and the next authorization asks again.
    let revoked = core(
        &s,
        Method::DELETE,
        &format!("{user_path}/grants/{}", s.client.id),
    )
    .await;
    assert_eq!(revoked.status(), 204);
    let (status, refused) = token_request(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s.refresh_token),
        ],
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let grants = json_of(core(&s, Method::GET, &format!("{user_path}/grants")).await).await;
    assert_eq!(grants["items"], json!([]));
    let Landing::Page(200, page) = s
        .browser
        .follow(&authorize_url(&s.app, &s.client.id, None), &base)
        .await
    else {
        panic!("the consent page");
    };
    assert!(page.contains("value=\"allow\""), "the consent page: {page}");
    assert!(
        !page.contains("name=\"password\""),
        "still signed in: no password asked"
    );
    // Revoking it again: nothing to revoke.
    let again = core(
        &s,
        Method::DELETE,
        &format!("{user_path}/grants/{}", s.client.id),
    )
    .await;
    expect_problem(again, 404, "not_found").await;

    // Revoking the session signs the browser out; revoking it again changes nothing.
    let path = format!("{user_path}/sessions/{session_id}");
    assert_eq!(core(&s, Method::DELETE, &path).await.status(), 204);
    let landing = s
        .browser
        .follow(&authorize_url(&s.app, &s.client.id, Some("none")), &base)
        .await;
    assert_eq!(
        landing.param("error").as_deref(),
        Some("login_required"),
        "{landing:?}"
    );
    assert_eq!(core(&s, Method::DELETE, &path).await.status(), 204);
    let sessions = json_of(core(&s, Method::GET, &format!("{user_path}/sessions")).await).await;
    let ended = &sessions["items"][0];
    assert_eq!(ended["id"], session_id.as_str());
    assert_eq!(ended["active"], false);
    assert!(ended["ended_at"].is_i64(), "{ended}");

    // Both revocations are in the audit trail, by the admin credential.
    let events =
        json_of(core(&s, Method::GET, "/core/v1/issuers/default/events?limit=100").await).await;
    let types: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect();
    assert!(types.contains(&"grant.revoked"), "{types:?}");
    assert_eq!(
        types.iter().filter(|t| **t == "session.revoked").count(),
        1,
        "{types:?}"
    );
}

#[tokio::test]
async fn unknown_objects_other_issuers_and_read_only_credentials_are_refused() {
    let s = setup().await;
    let user_path = format!("/core/v1/issuers/default/users/{}", s.user_id);
    let sessions = json_of(core(&s, Method::GET, &format!("{user_path}/sessions")).await).await;
    let session_id = sessions["items"][0]["id"].as_str().unwrap().to_owned();
    let grant_path = format!("{user_path}/grants/{}", s.client.id);
    let session_path = format!("{user_path}/sessions/{session_id}");

    // Unknown or malformed users, grants and sessions: 404 problems.
    let stranger = "/core/v1/issuers/default/users/usr_0198a0e4c1d27c3ab5e5f7a9b1c3d5e7";
    for (method, path) in [
        (Method::GET, format!("{stranger}/grants")),
        (Method::GET, format!("{stranger}/sessions")),
        (
            Method::GET,
            "/core/v1/issuers/default/users/nobody/grants".to_owned(),
        ),
        (Method::DELETE, format!("{stranger}/grants/{}", s.client.id)),
        (Method::DELETE, format!("{stranger}/sessions/{session_id}")),
        (
            Method::DELETE,
            format!("{user_path}/grants/cli_0198a0e4c1d27c3ab5e5f7a9b1c3d5e7"),
        ),
        (Method::DELETE, format!("{user_path}/grants/not-a-client")),
        (
            Method::DELETE,
            format!("{user_path}/sessions/ses_0198a0e4c1d27c3ab5e5f7a9b1c3d5e7"),
        ),
        (
            Method::DELETE,
            format!("{user_path}/sessions/not-a-session"),
        ),
    ] {
        let response = core(&s, method.clone(), &path).await;
        expect_problem(response, 404, "not_found").await;
    }

    // A credential restricted to another issuer sees none of it.
    s.app
        .core_request(Method::POST, "/core/v1/issuers", &s.token)
        .json(&json!({"slug": "other", "display_name": "Other"}))
        .send()
        .await
        .unwrap();
    let restricted = s.app.core_api_token(&["other"]).await;
    for (method, path) in [
        (Method::GET, format!("{user_path}/grants")),
        (Method::GET, format!("{user_path}/sessions")),
        (Method::DELETE, grant_path.clone()),
        (Method::DELETE, session_path.clone()),
    ] {
        let response = s
            .app
            .core_request(method, &path, &restricted)
            .send()
            .await
            .unwrap();
        expect_problem(response, 404, "not_found").await;
    }
    // Nor does the other issuer's path reach the default issuer's user.
    let cross = s
        .app
        .core_request(
            Method::GET,
            &format!("/core/v1/issuers/other/users/{}/grants", s.user_id),
            &s.token,
        )
        .send()
        .await
        .unwrap();
    expect_problem(cross, 404, "not_found").await;

    // core:read lists but cannot revoke.
    let credential = s
        .app
        .core()
        .create_admin_credential("ro", &[])
        .await
        .unwrap();
    let reply: Value = s
        .app
        .client
        .post(format!("{}/system/oauth/token", s.app.base_url))
        .basic_auth(
            credential.client_id.to_string(),
            Some(credential.client_secret.expose()),
        )
        .form(&[("grant_type", "client_credentials"), ("scope", "core:read")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let read_only = reply["access_token"].as_str().unwrap();
    let listed = s
        .app
        .core_request(Method::GET, &format!("{user_path}/grants"), read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    for path in [&grant_path, &session_path] {
        let response = s
            .app
            .core_request(Method::DELETE, path, read_only)
            .send()
            .await
            .unwrap();
        expect_problem(response, 403, "insufficient_scope").await;
    }
    // Nothing was revoked by the refused or invisible calls.
    let grants = json_of(core(&s, Method::GET, &format!("{user_path}/grants")).await).await;
    assert_eq!(grants["items"].as_array().unwrap().len(), 1);
    let sessions = json_of(core(&s, Method::GET, &format!("{user_path}/sessions")).await).await;
    assert_eq!(sessions["items"][0]["active"], true);
}
