//! Brute-force protection and enumeration safety of the sign-in page, over real HTTP: growing
//! delays then a lock that says when to come back, the password not even checked while
//! locked, a success that clears the count, unknown identifiers treated exactly like known
//! ones, an address locked across accounts, and `user.locked` events.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tessera_testkit::TestApp;
use tessera_testkit::oidc::{Browser, Landing};

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// An app whose default issuer locks after `max_failures` (lock: ten minutes) and an address
/// after `address_max_failures`, with a user and a first-party client.
async fn app_with_lockout(max_failures: i64, address_max_failures: i64) -> (TestApp, String) {
    lockout_at(TestApp::spawn().await, max_failures, address_max_failures).await
}

/// `app` with the lockout thresholds, the user and the client of [`app_with_lockout`].
async fn lockout_at(
    app: TestApp,
    max_failures: i64,
    address_max_failures: i64,
) -> (TestApp, String) {
    let token = app.core_api_token(&[]).await;
    let patched = app
        .core_request(Method::PATCH, "/core/v1/issuers/default", &token)
        .json(&json!({"settings": {"lockout": {
            "max_failures": max_failures, "lock_seconds": 600,
            "address_max_failures": address_max_failures,
        }}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    app.create_user("default", EMAIL, PASSWORD).await;
    let client = app
        .register_client(
            "default",
            json!({
                "name": "Web", "client_type": "confidential", "first_party": true,
                "grant_types": ["authorization_code"], "redirect_uris": [REDIRECT],
            }),
        )
        .await;
    (app, client.id)
}

/// A browser on the sign-in page of a fresh authorization request.
async fn sign_in_page(app: &TestApp, client_id: &str) -> (Browser, String) {
    sign_in_page_in(app, client_id, Browser::new()).await
}

/// [`sign_in_page`] in `browser`.
async fn sign_in_page_in(app: &TestApp, client_id: &str, browser: Browser) -> (Browser, String) {
    let mut url =
        reqwest::Url::parse(&format!("{}/oauth/authorize", app.issuer_url("default"))).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "s"),
    ]);
    let Landing::Page(200, html) = browser.follow(url.as_str(), app.core().public_url()).await
    else {
        panic!("expected the sign-in page");
    };
    (browser, html)
}

/// Submits the sign-in form of `page`; returns the refusal (`data-refusal`) and the page, or
/// `None` and the redirect when the sign-in succeeded.
async fn try_sign_in(
    app: &TestApp,
    browser: &Browser,
    page: &str,
    username: &str,
    password: &str,
) -> (Option<String>, String) {
    let landing = browser
        .submit(
            page,
            app.core().public_url(),
            &[("username", username), ("password", password)],
        )
        .await;
    match landing {
        Landing::Page(200, html) => {
            let marker = "data-refusal=\"";
            let start = html.find(marker).expect("a refusal") + marker.len();
            let end = html[start..].find('"').unwrap() + start;
            (Some(html[start..end].to_owned()), html)
        }
        Landing::Page(status, html) => panic!("unexpected {status}: {html}"),
        Landing::Redirect(location) => (None, location),
    }
}

async fn events(app: &TestApp, query: &str) -> Vec<Value> {
    let token = app.core_api_token(&[]).await;
    let response = app
        .core_request(
            Method::GET,
            &format!("/core/v1/issuers/default/events?{query}"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Runs the same sequence for one identifier: fail, too soon, fail (after the 1 s wait), fail
/// (after the 2 s wait; each wait is up to a second longer, as times are whole seconds) →
/// locked; then the right password is refused too. Returns the refusals and the last
/// page.
async fn fail_until_locked(
    app: &TestApp,
    client_id: &str,
    username: &str,
) -> (Vec<Option<String>>, String) {
    let (browser, page) = sign_in_page(app, client_id).await;
    let mut refusals = Vec::new();
    let (refusal, _) = try_sign_in(app, &browser, &page, username, "wrong one").await;
    refusals.push(refusal);
    // Within a second of the first failure: refused without a check, whatever the password.
    let (refusal, _) = try_sign_in(app, &browser, &page, username, PASSWORD).await;
    refusals.push(refusal);
    tessera_testkit::wait_out_sign_in_delay(1).await;
    let (refusal, _) = try_sign_in(app, &browser, &page, username, "wrong two").await;
    refusals.push(refusal);
    tessera_testkit::wait_out_sign_in_delay(2).await;
    let (refusal, _) = try_sign_in(app, &browser, &page, username, "wrong three").await;
    refusals.push(refusal);
    let (refusal, last) = try_sign_in(app, &browser, &page, username, PASSWORD).await;
    refusals.push(refusal);
    (refusals, last)
}

#[tokio::test]
async fn failures_delay_then_lock_an_account_and_the_page_says_when_to_come_back() {
    let (app, client_id) = app_with_lockout(3, 1000).await;
    let (refusals, locked_page) = fail_until_locked(&app, &client_id, EMAIL).await;
    let expected: Vec<Option<String>> = [
        "credentials",
        "too_many_attempts",
        "credentials",
        "credentials",
        "too_many_attempts",
    ]
    .iter()
    .map(|r| Some((*r).to_owned()))
    .collect();
    assert_eq!(refusals, expected);
    assert!(
        locked_page.contains("try again in 10 minutes"),
        "the lock says when: {locked_page}"
    );

    // The lock was written once, naming the user, with the time it ends.
    let locks = events(&app, "type=user.locked").await;
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert!(locks[0]["subject"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(locks[0]["data"]["locked"], "account");
    assert_eq!(locks[0]["data"]["failures"], 3);
    // Refusals during the lock check no password and leave no failure event.
    assert_eq!(events(&app, "type=user.login.failed").await.len(), 3);

    // Another identifier is not affected.
    app.create_user("default", "grace@example.com", PASSWORD)
        .await;
    let (browser, page) = sign_in_page(&app, &client_id).await;
    let (refusal, location) =
        try_sign_in(&app, &browser, &page, "grace@example.com", PASSWORD).await;
    assert_eq!(refusal, None, "{location}");
}

#[tokio::test]
async fn an_unknown_identifier_is_delayed_and_locked_exactly_like_a_known_one() {
    let (app, client_id) = app_with_lockout(3, 1000).await;
    let (known, _) = fail_until_locked(&app, &client_id, EMAIL).await;
    let (unknown, _) = fail_until_locked(&app, &client_id, "nobody@example.com").await;
    assert_eq!(known, unknown);
    // The same identifier in another case or with spaces is the same count.
    let (browser, page) = sign_in_page(&app, &client_id).await;
    let (refusal, _) = try_sign_in(&app, &browser, &page, "  Nobody@Example.COM ", "x").await;
    assert_eq!(refusal.as_deref(), Some("too_many_attempts"));
}

#[tokio::test]
async fn a_successful_sign_in_clears_the_count() {
    let (app, client_id) = app_with_lockout(3, 1000).await;
    let (browser, page) = sign_in_page(&app, &client_id).await;
    for _ in 0..2 {
        let (refusal, _) = try_sign_in(&app, &browser, &page, EMAIL, "wrong").await;
        assert_eq!(refusal.as_deref(), Some("credentials"));
        tessera_testkit::wait_out_sign_in_delay(2).await;
    }
    let (refusal, _) = try_sign_in(&app, &browser, &page, EMAIL, PASSWORD).await;
    assert_eq!(
        refusal, None,
        "two failures of three, then the right password"
    );
    // Counting starts again: a failure now is the first, not the lock.
    let (browser, page) = sign_in_page(&app, &client_id).await;
    let (refusal, _) = try_sign_in(&app, &browser, &page, EMAIL, "wrong").await;
    assert_eq!(refusal.as_deref(), Some("credentials"));
    tessera_testkit::wait_out_sign_in_delay(1).await;
    let (refusal, _) = try_sign_in(&app, &browser, &page, EMAIL, PASSWORD).await;
    assert_eq!(refusal, None);
    assert!(events(&app, "type=user.locked").await.is_empty());
}

#[tokio::test]
async fn an_address_that_fails_across_many_accounts_is_locked() {
    let (app, client_id) = app_with_lockout(5, 10).await;
    let (browser, page) = sign_in_page(&app, &client_id).await;
    // Credential stuffing: one try each at ten identifiers, from one address (loopback).
    for i in 0..10 {
        let (refusal, _) = try_sign_in(
            &app,
            &browser,
            &page,
            &format!("user{i}@example.com"),
            "guess",
        )
        .await;
        assert_eq!(refusal.as_deref(), Some("credentials"), "try {i}");
    }
    // The address is locked now, even for an account it never tried with the right password.
    let (refusal, _) = try_sign_in(&app, &browser, &page, EMAIL, PASSWORD).await;
    assert_eq!(refusal.as_deref(), Some("too_many_attempts"));
    let locks = events(&app, "type=user.locked").await;
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0]["data"]["locked"], "address");
}

/// A blocked user who types the right password gets the same neutral refusal as a wrong
/// password (nothing says the account exists, or is blocked); the event says why, for the
/// administrators. Unblocked, the same password signs in.
#[tokio::test]
async fn a_blocked_user_is_refused_with_the_neutral_message() {
    let (app, client_id) = app_with_lockout(5, 100).await;
    let token = app.core_api_token(&[]).await;
    let found: Value = app
        .core_request(
            Method::GET,
            &format!("/core/v1/issuers/default/users?email={EMAIL}"),
            &token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user = found["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/core/v1/issuers/default/users/{user}");
    let blocked = app
        .core_request(Method::POST, &format!("{path}/block"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 200);

    let (browser, page) = sign_in_page(&app, &client_id).await;
    let (refusal, blocked_page) = try_sign_in(&app, &browser, &page, EMAIL, PASSWORD).await;
    assert_eq!(refusal.as_deref(), Some("credentials"));
    let (browser, page) = sign_in_page(&app, &client_id).await;
    let (_, unknown_page) =
        try_sign_in(&app, &browser, &page, "nobody@example.com", PASSWORD).await;
    let message = |html: &str| {
        let start = html.find("id=\"refusal\"").unwrap();
        html[start..][..html[start..].find("</").unwrap()].to_owned()
    };
    assert_eq!(message(&blocked_page), message(&unknown_page));
    let failures = events(&app, "type=user.login.failed").await;
    assert!(
        failures.iter().any(|e| e["data"]["reason"] == "blocked"),
        "{failures:?}"
    );

    let unblocked = app
        .core_request(Method::POST, &format!("{path}/unblock"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(unblocked.status(), 200);
    tessera_testkit::wait_out_sign_in_delay(1).await;
    let (browser, page) = sign_in_page(&app, &client_id).await;
    let (refusal, _) = try_sign_in(&app, &browser, &page, EMAIL, PASSWORD).await;
    assert_eq!(refusal, None);
}

/// An identifier or password longer than any account's is refused with its limit before
/// anything is looked up, hashed or counted, the same for a known account as for none.
#[tokio::test]
async fn over_long_fields_are_refused_with_their_limit_and_not_counted() {
    let (app, client_id) = app_with_lockout(3, 10).await;
    let (browser, page) = sign_in_page(&app, &client_id).await;
    // The form itself takes a password as long as any account's (a browser cuts a longer
    // value without a word).
    assert!(
        page.contains(r#"autocomplete="current-password" maxlength="4096""#),
        "{page}"
    );
    let long_name = format!("{}@example.com", "a".repeat(310));
    let long_password = "p".repeat(4097);
    for (username, password, limit) in [
        (long_name.as_str(), PASSWORD, "320"),
        (EMAIL, long_password.as_str(), "4096"),
        ("nobody@example.com", long_password.as_str(), "4096"),
    ] {
        let (refusal, html) = try_sign_in(&app, &browser, &page, username, password).await;
        assert_eq!(refusal.as_deref(), Some("too_long"), "{username}");
        assert!(
            html.contains(&format!("at most {limit} characters")),
            "{html}"
        );
    }
    assert!(events(&app, "type=user.login.failed").await.is_empty());
    // Nothing was counted: the right password signs in at once.
    let (refusal, _) = try_sign_in(&app, &browser, &page, EMAIL, PASSWORD).await;
    assert_eq!(refusal, None);
}

/// Behind a trusted reverse proxy, the address counted is the client's the proxy forwarded:
/// stuffing from one client locks that client, not the proxy every other client comes through.
/// A forwarded address from a peer that is not trusted counts for nothing.
#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_locked_not_the_proxy() {
    let proxied = TestApp::spawn_with(|config| {
        config.http.trusted_proxies = vec!["127.0.0.1/32".to_owned()];
    })
    .await;
    let (app, client_id) = lockout_at(proxied, 5, 10).await;
    let (stuffer, page) =
        sign_in_page_in(&app, &client_id, Browser::behind_proxy("203.0.113.7")).await;
    for i in 0..10 {
        let (refusal, _) = try_sign_in(
            &app,
            &stuffer,
            &page,
            &format!("user{i}@example.com"),
            "guess",
        )
        .await;
        assert_eq!(refusal.as_deref(), Some("credentials"), "try {i}");
    }
    let (refusal, _) = try_sign_in(&app, &stuffer, &page, EMAIL, PASSWORD).await;
    assert_eq!(refusal.as_deref(), Some("too_many_attempts"));
    let locks = events(&app, "type=user.locked").await;
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0]["data"]["locked"], "address");

    // Another client through the same proxy is not locked.
    let (other, page) =
        sign_in_page_in(&app, &client_id, Browser::behind_proxy("198.51.100.20")).await;
    let (refusal, _) = try_sign_in(&app, &other, &page, EMAIL, PASSWORD).await;
    assert_eq!(refusal, None, "a client the stuffer shares a proxy with");

    // Without trusted proxies, the header is the client's own word: the peer is counted.
    let (app, client_id) = app_with_lockout(5, 10).await;
    for i in 0..10 {
        let client = format!("203.0.113.{i}");
        let (browser, page) =
            sign_in_page_in(&app, &client_id, Browser::behind_proxy(&client)).await;
        let (refusal, _) = try_sign_in(
            &app,
            &browser,
            &page,
            &format!("user{i}@example.com"),
            "guess",
        )
        .await;
        assert_eq!(refusal.as_deref(), Some("credentials"), "try {i}");
    }
    let (browser, page) =
        sign_in_page_in(&app, &client_id, Browser::behind_proxy("192.0.2.99")).await;
    let (refusal, _) = try_sign_in(&app, &browser, &page, EMAIL, PASSWORD).await;
    assert_eq!(
        refusal.as_deref(),
        Some("too_many_attempts"),
        "a made-up X-Forwarded-For must not escape the address lock"
    );
}

/// A wrong password for a real account and any password for an identifier nobody has get the
/// same status and the same page (but for the per-request CSRF token), and take about as long:
/// both verify one Argon2id hash. The bound is loose on purpose (a factor of two between
/// medians); skipping the hash for unknown accounts would be a factor of a hundred.
#[tokio::test]
async fn known_and_unknown_accounts_get_the_same_answer_in_about_the_same_time() {
    const ROUNDS: usize = 7;
    let (app, client_id) = app_with_lockout(100, 100_000).await;
    let known: Vec<String> = (0..ROUNDS)
        .map(|i| format!("known{i}@example.com"))
        .collect();
    for email in &known {
        app.create_user("default", email, PASSWORD).await;
    }
    let mut times = [Vec::new(), Vec::new()];
    let mut pages = [Vec::new(), Vec::new()];
    for (i, known) in known.iter().enumerate() {
        let unknown = format!("unknown{i}@example.com");
        for (which, username) in [(0, known.as_str()), (1, unknown.as_str())] {
            let (browser, page) = sign_in_page(&app, &client_id).await;
            let started = Instant::now();
            let (refusal, html) = try_sign_in(&app, &browser, &page, username, "wrong").await;
            times[which].push(started.elapsed());
            assert_eq!(refusal.as_deref(), Some("credentials"));
            // The page differs only by the identifier echoed back, the interaction's id and
            // the form's CSRF token.
            let csrf = tessera_testkit::oidc::hidden_input(&html, "csrf").unwrap();
            let action = tessera_testkit::oidc::form_action(&html).unwrap();
            let interaction = action.split('/').find(|p| p.starts_with("int_")).unwrap();
            pages[which].push(
                html.replace(username, "USER")
                    .replace(interaction, "INTERACTION")
                    .replace(&csrf, "CSRF")
                    .replace(&csrf.replace('/', "&#x2f;"), "CSRF"),
            );
        }
    }
    assert_eq!(pages[0][0], pages[1][0], "the same page for both");
    let median = |list: &mut Vec<Duration>| {
        list.sort();
        list[list.len() / 2]
    };
    let (known, unknown) = (median(&mut times[0]), median(&mut times[1]));
    let ratio = known.as_secs_f64() / unknown.as_secs_f64();
    assert!(
        (0.5..=2.0).contains(&ratio),
        "known {known:?} vs unknown {unknown:?}: a timing gap that tells them apart"
    );
}
