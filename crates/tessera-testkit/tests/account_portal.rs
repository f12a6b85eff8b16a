//! The account portal (`/{issuer}/account`) in a real browser: signing in to it, the list of
//! the user's sessions, and signing other sessions out. The other sessions are real sign-ins
//! of their own, from HTTP clients that keep cookies as a second and third browser would.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_testkit::TestApp;
use tessera_testkit::chromium::Chromium;
use tessera_testkit::oidc::{Browser, hidden_input, page_text};

const EMAIL: &str = "grace@example.com";
const PASSWORD: &str = "a ship in port is safe, but that is not what ships are for";

/// Signs `client` in to the portal as the user; returns the portal page it then sees.
async fn portal_sign_in(app: &TestApp, client: &reqwest::Client, password: &str) -> String {
    let portal = format!("{}/default/account", app.base_url);
    let form = page_text(client, &portal).await;
    let answer = client
        .post(format!("{portal}/sign-in"))
        .form(&[
            ("csrf", hidden_input(&form, "csrf").unwrap().as_str()),
            ("username", EMAIL),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    if answer.status() == StatusCode::SEE_OTHER {
        assert_eq!(answer.headers()["location"], "/default/account");
    }
    page_text(client, &portal).await
}

fn is_signed_in(page: &str) -> bool {
    page.contains("id=\"sessions\"")
}

#[tokio::test]
async fn the_portal_lists_the_users_sessions_and_signs_others_out() {
    let Some(browser) = Chromium::start("en-US,en;q=0.9").await else {
        return;
    };
    let app = TestApp::spawn().await;
    app.create_user("default", EMAIL, PASSWORD).await;
    let portal = format!("{}/default/account", app.base_url);

    // Signed out, the portal is its own sign-in form; a wrong password is refused there.
    browser.goto(&portal).await;
    assert!(browser.has("sign-in").await);
    browser.screenshot("account-sign-in").await;
    browser.fill("username", EMAIL).await;
    browser.fill("password", "not it").await;
    browser.click("sign-in").await;
    assert_eq!(
        browser
            .attribute("refusal", "data-refusal")
            .await
            .as_deref(),
        Some("credentials")
    );
    tessera_testkit::wait_out_sign_in_delay(1).await;
    browser.fill("password", PASSWORD).await;
    browser.click("sign-in").await;
    assert_eq!(browser.url().await.path(), "/default/account");
    assert_eq!(browser.text("profile-email").await, EMAIL);
    assert_eq!(browser.count("li.session").await, 1);
    assert_eq!(browser.count("li.session[data-current]").await, 1);

    // Two more browsers sign in as the same user.
    let (second, third) = (Browser::new().http, Browser::new().http);
    assert!(is_signed_in(&portal_sign_in(&app, &second, PASSWORD).await));
    assert!(is_signed_in(&portal_sign_in(&app, &third, PASSWORD).await));
    browser.goto(&portal).await;
    assert_eq!(browser.count("li.session").await, 3);
    assert_eq!(
        browser.count("li.session[data-current]").await,
        1,
        "this browser's session is marked"
    );
    browser.screenshot("account-sessions").await;

    // Signing one other session out: that browser is signed out, the others are not.
    let second_page = page_text(&second, &portal).await;
    let second_id = session_of(&second_page);
    browser.click(&format!("end-{second_id}")).await;
    assert_eq!(
        browser.attribute("notice", "role").await.as_deref(),
        Some("status")
    );
    assert_eq!(browser.text("notice").await, "That session is signed out.");
    assert_eq!(browser.count("li.session").await, 2);
    let second_page = page_text(&second, &portal).await;
    assert!(
        !is_signed_in(&second_page),
        "the ended session is signed out"
    );
    let third_page = page_text(&third, &portal).await;
    assert!(is_signed_in(&third_page));

    // "Everywhere else": only this browser stays signed in.
    browser.click("end-others").await;
    assert_eq!(
        browser.text("notice").await,
        "You are signed out everywhere else."
    );
    assert_eq!(browser.count("li.session").await, 1);
    assert!(!browser.has("end-others").await, "nothing else to sign out");
    browser.screenshot("account-sessions-ended").await;
    let third_page = page_text(&third, &portal).await;
    assert!(!is_signed_in(&third_page));

    // Signing this session out signs the browser out of the portal, and takes the session
    // cookie away with it (the browser cookie, which forms' tokens are bound to, stays).
    let own = session_of_browser(&browser).await;
    assert!(has_cookie(&browser, "tessera_session").await);
    browser.click(&format!("end-{own}")).await;
    assert!(browser.has("sign-in").await, "back to the sign-in form");
    assert!(!has_cookie(&browser, "tessera_session").await);
    assert!(has_cookie(&browser, "tessera_browser").await);
    browser.close().await;
}

/// The id of the session marked as this browser's on a portal page.
fn session_of(page: &str) -> String {
    let marker = page.find("data-current=\"true\"").unwrap();
    let li = page[..marker].rfind("data-session=\"").unwrap() + "data-session=\"".len();
    page[li..][..page[li..].find('"').unwrap()].to_owned()
}

/// Whether the browser holds a cookie named `name` for the page it is on.
async fn has_cookie(browser: &Chromium, name: &str) -> bool {
    browser
        .client()
        .get_all_cookies()
        .await
        .unwrap()
        .iter()
        .any(|cookie| cookie.name() == name)
}

async fn session_of_browser(browser: &Chromium) -> String {
    browser
        .client()
        .find(fantoccini::Locator::Css("li.session[data-current]"))
        .await
        .unwrap()
        .attr("data-session")
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn portal_forms_need_their_session_and_their_token() {
    let app = TestApp::spawn().await;
    let user_id = app.create_user("default", EMAIL, PASSWORD).await;
    app.create_user("default", "mallory@example.com", PASSWORD)
        .await;
    let portal = format!("{}/default/account", app.base_url);
    let user = Browser::new().http;
    let page = portal_sign_in(&app, &user, PASSWORD).await;
    assert!(is_signed_in(&page));
    let own = session_of(&page);

    // A forged form (no token, a made-up one, or the right one cut short) is refused and ends
    // nothing.
    for token in [
        "",
        "forged",
        &hidden_input(&page_text(&user, &portal).await, "csrf").unwrap()[1..],
    ] {
        let answer = user
            .post(format!("{portal}/sessions/end-others"))
            .form(&[("csrf", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "token {token:?}");
        let body = answer.text().await.unwrap();
        assert!(body.contains("data-error=\"form_forbidden\""), "{body}");
    }

    // Another user's session is not this user's to end, nor is one that does not exist.
    let mallory = Browser::new().http;
    let mallory_page = {
        let form = page_text(&mallory, &portal).await;
        mallory
            .post(format!("{portal}/sign-in"))
            .form(&[
                ("csrf", hidden_input(&form, "csrf").unwrap().as_str()),
                ("username", "mallory@example.com"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        page_text(&mallory, &portal).await
    };
    let csrf = hidden_input(&mallory_page, "csrf").unwrap();
    for target in [own.as_str(), "ses_00000000000000000000000000", "junk"] {
        let answer = mallory
            .post(format!("{portal}/sessions/{target}/end"))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{target}");
    }
    assert!(is_signed_in(&page_text(&user, &portal).await));

    // Signed out, a form leads back to the portal's sign-in form.
    let stranger = Browser::new().http;
    let answer = stranger
        .post(format!("{portal}/sessions/end-others"))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()["location"], "/default/account");

    // The portal's sign-in form needs its own token, bound to the browser cookie.
    let answer = stranger
        .post(format!("{portal}/sign-in"))
        .form(&[("csrf", "x"), ("username", EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);

    // A user blocked by an administrator is signed out of every form of the portal, with a
    // session still open and a valid token: the form changes nothing.
    let page = page_text(&user, &portal).await;
    let csrf = hidden_input(&page, "csrf").unwrap();
    let before = user_json(&app, &user_id).await;
    let token = app.core_api_token(&[]).await;
    let blocked = app
        .core_request(
            reqwest::Method::POST,
            &format!("/core/v1/issuers/default/users/{user_id}/block"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), StatusCode::OK);
    for (form, fields) in [
        ("sessions/end-others", vec![("csrf", csrf.as_str())]),
        (
            "profile",
            vec![
                ("csrf", csrf.as_str()),
                ("name", "Blocked"),
                ("picture", ""),
                ("locale", ""),
            ],
        ),
    ] {
        let answer = user
            .post(format!("{portal}/{form}"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{form}");
        assert_eq!(answer.headers()["location"], "/default/account", "{form}");
    }
    let after = user_json(&app, &user_id).await;
    assert_eq!(
        after["name"], before["name"],
        "the profile form saved nothing"
    );
    assert_eq!(after["blocked"], true);
}

/// The profile form: name, picture and language are saved (one `user.updated` by the user),
/// the portal then speaks the user's language, and the Core API shows the new values. A
/// picture that is no web address, an over-long name and a forged form are refused at the
/// form, and nothing is saved.
#[tokio::test]
async fn the_user_edits_the_profile_and_the_portal_speaks_their_language() {
    let Some(browser) = Chromium::start("en-US,en;q=0.9").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let user_id = app.create_user("default", EMAIL, PASSWORD).await;
    let portal = format!("{}/default/account", app.base_url);
    browser.goto(&portal).await;
    browser.fill("username", EMAIL).await;
    browser.fill("password", PASSWORD).await;
    browser.click("sign-in").await;
    assert_eq!(browser.page_language().await, "en");

    // Port 1 refuses at once: the page shows the picture without waiting on the network.
    let picture = "https://127.0.0.1:1/grace.png";
    browser.fill("profile-name", "Grace Hopper").await;
    browser.fill("profile-picture-url", picture).await;
    browser.choose("profile-locale", "de").await;
    browser.click("save-profile").await;
    assert_eq!(
        browser.page_language().await,
        "de",
        "the user's language now"
    );
    assert_eq!(browser.text("notice").await, "Ihr Profil ist gespeichert.");
    assert_eq!(
        browser.attribute("profile-picture", "src").await.as_deref(),
        Some(picture)
    );
    assert_eq!(
        browser.attribute("profile-name", "value").await.as_deref(),
        Some("Grace Hopper")
    );
    browser.screenshot("account-profile-saved").await;
    let stored = user_json(&app, &user_id).await;
    assert_eq!(
        (&stored["name"], &stored["picture"], &stored["locale"]),
        (&json!("Grace Hopper"), &json!(picture), &json!("de"))
    );
    let token = app.core_api_token(&[]).await;
    let events: Value = app
        .core_request(
            reqwest::Method::GET,
            "/core/v1/issuers/default/events?type=user.updated",
            &token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let updates = events["items"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0]["data"]["fields"],
        json!(["name", "picture", "locale"])
    );
    assert_eq!(updates[0]["actor"], format!("user:{user_id}"));

    // A picture the browser takes as a URL but no web address: refused, in German.
    browser
        .fill("profile-picture-url", "ftp://example.com/grace.png")
        .await;
    browser.fill("profile-name", "Amazing Grace").await;
    browser.click("save-profile").await;
    assert_eq!(
        browser
            .attribute("profile-problem", "data-problem")
            .await
            .as_deref(),
        Some("picture_invalid")
    );
    assert!(browser.text("profile-problem").await.contains("Webadresse"));
    assert_eq!(
        browser.attribute("profile-name", "value").await.as_deref(),
        Some("Amazing Grace"),
        "the form shows what was typed"
    );
    assert_eq!(
        browser
            .attribute("profile-picture-url", "value")
            .await
            .as_deref(),
        Some("ftp://example.com/grace.png")
    );
    browser.screenshot("account-profile-refused").await;
    assert_eq!(user_json(&app, &user_id).await, stored, "nothing saved");

    // Over HTTP, past the browser's own checks: an over-long name, then a forged form.
    let client = Browser::new().http;
    let page = portal_sign_in(&app, &client, PASSWORD).await;
    let answer = client
        .post(format!("{portal}/profile"))
        .form(&[
            ("csrf", hidden_input(&page, "csrf").unwrap().as_str()),
            ("name", "n".repeat(301).as_str()),
            ("picture", ""),
            ("locale", "de"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = answer.text().await.unwrap();
    assert!(body.contains("data-problem=\"name_too_long\""), "{body}");
    assert!(body.contains("höchstens 300 Zeichen"), "{body}");
    let answer = client
        .post(format!("{portal}/profile"))
        .form(&[("csrf", "forged"), ("name", "Mallory")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert_eq!(user_json(&app, &user_id).await, stored, "nothing saved");
}

/// The user as the Core API shows it.
async fn user_json(app: &TestApp, id: &str) -> Value {
    let token = app.core_api_token(&[]).await;
    app.core_request(
        reqwest::Method::GET,
        &format!("/core/v1/issuers/default/users/{id}"),
        &token,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

/// Lets users of `default` delete their own accounts.
async fn allow_deletion(app: &TestApp) {
    let token = app.core_api_token(&[]).await;
    let answer = app
        .core_request(reqwest::Method::PATCH, "/core/v1/issuers/default", &token)
        .json(&json!({"settings": {"allow_account_deletion": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_user_changes_the_password_then_deletes_the_account() {
    let Some(browser) = Chromium::start("en-US,en;q=0.9").await else {
        return;
    };
    let app = TestApp::spawn().await;
    let user_id = app.create_user("default", EMAIL, PASSWORD).await;
    allow_deletion(&app).await;
    let portal = format!("{}/default/account", app.base_url);
    let elsewhere = Browser::new().http;
    assert!(is_signed_in(
        &portal_sign_in(&app, &elsewhere, PASSWORD).await
    ));

    browser.goto(&portal).await;
    browser.fill("username", EMAIL).await;
    browser.fill("password", PASSWORD).await;
    browser.click("sign-in").await;

    // The current password is asked again, and must be right.
    browser.fill("current-password", "not the password").await;
    browser
        .fill("new-password", "copper kettle wanders east")
        .await;
    browser.click("save-password").await;
    assert_eq!(
        browser
            .attribute("password-problem", "data-problem")
            .await
            .as_deref(),
        Some("current_password")
    );
    // The new one must meet the policy; the browser's own checks are bypassed to see the
    // server's.
    tessera_testkit::wait_out_sign_in_delay(1).await;
    browser.fill("current-password", PASSWORD).await;
    browser.fill("new-password", "qwertyuiop").await;
    browser.click("save-password").await;
    let problem = browser
        .attribute("password-problem", "data-problem")
        .await
        .unwrap();
    assert!(
        problem == "password_common" || problem == "password_weak",
        "{problem}"
    );
    browser.screenshot("account-password-refused").await;

    let new_password = "copper kettle wanders east";
    browser.fill("current-password", PASSWORD).await;
    browser.fill("new-password", new_password).await;
    browser.click("save-password").await;
    assert_eq!(
        browser.text("notice").await,
        "Your password is changed. Your other sessions are signed out."
    );
    assert_eq!(browser.count("li.session").await, 1, "this browser stays");
    let elsewhere_page = page_text(&elsewhere, &portal).await;
    assert!(!is_signed_in(&elsewhere_page), "the other session ended");
    assert!(
        is_signed_in(&portal_sign_in(&app, &elsewhere, new_password).await),
        "the new password signs in"
    );
    let old = Browser::new().http;
    assert!(!is_signed_in(&portal_sign_in(&app, &old, PASSWORD).await));

    // Deleting the account asks for the password, then removes the user and signs out. (The
    // failed sign-in with the old password just now makes the account wait a second, and
    // the wrong password below two more.)
    tessera_testkit::wait_out_sign_in_delay(1).await;
    browser.fill("delete-password", "wrong").await;
    browser.click("delete").await;
    assert_eq!(
        browser
            .attribute("delete-problem", "data-problem")
            .await
            .as_deref(),
        Some("current_password")
    );
    tessera_testkit::wait_out_sign_in_delay(2).await;
    browser.fill("delete-password", new_password).await;
    browser.click("delete").await;
    assert_eq!(
        browser.attribute("outcome", "data-state").await.as_deref(),
        Some("account_deleted")
    );
    browser.screenshot("account-deleted").await;
    let token = app.core_api_token(&[]).await;
    let gone = app
        .core_request(
            reqwest::Method::GET,
            &format!("/core/v1/issuers/default/users/{user_id}"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    browser.goto(&portal).await;
    assert!(browser.has("sign-in").await, "signed out");
    browser.close().await;
}

#[tokio::test]
async fn an_account_cannot_be_deleted_where_the_issuer_does_not_allow_it() {
    let app = TestApp::spawn().await;
    app.create_user("default", EMAIL, PASSWORD).await;
    let user = Browser::new().http;
    let page = portal_sign_in(&app, &user, PASSWORD).await;
    assert!(!page.contains("id=\"delete\""), "no delete form is offered");
    let answer = user
        .post(format!("{}/default/account/delete", app.base_url))
        .form(&[
            ("csrf", hidden_input(&page, "csrf").unwrap().as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let body = answer.text().await.unwrap();
    assert!(
        body.contains("data-error=\"deletion_not_allowed\""),
        "{body}"
    );
    let page = page_text(&user, format!("{}/default/account", app.base_url)).await;
    assert!(is_signed_in(&page), "nothing happened");
}
