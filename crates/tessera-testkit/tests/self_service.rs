//! Sign-up, email verification and password reset in a real browser, with the mail going
//! through a real SMTP listener started by the test: the links the user clicks are the ones
//! in the messages the listener received.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use std::time::Duration;

use serde_json::json;
use tessera_store_sql::testing::hold_writes;
use tessera_testkit::TestApp;
use tessera_testkit::chromium::Chromium;
use tessera_testkit::oidc::{Browser, hidden_input, page_text};
use tessera_testkit::receiver::Receiver;
use tessera_testkit::smtp::{ReceivedMail, SmtpReceiver};

const STRONG: &str = "velvet thunder marzipan orchestra";
const ANOTHER: &str = "quiet glacier harmonica lantern";

/// A server whose mail goes to `smtp`, and a relying party's redirect URI.
async fn scene(smtp: &SmtpReceiver) -> (TestApp, Receiver, String) {
    let url = smtp.url();
    let app = TestApp::spawn_with(move |config| {
        config.mail.smtp_url = Some(url.into());
    })
    .await;
    let callback = Receiver::start().await;
    let client = app
        .register_client(
            "default",
            json!({
                "name": "Notes", "client_type": "public",
                "grant_types": ["authorization_code"],
                "redirect_uris": [callback.url("/callback")],
            }),
        )
        .await;
    let authorize = format!(
        "{}/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20email\
         &state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        app.issuer_url("default"),
        client.id,
        url::form_urlencoded::byte_serialize(callback.url("/callback").as_bytes())
            .collect::<String>(),
    );
    (app, callback, authorize)
}

/// The next mail, which must come within ten seconds.
async fn mail(smtp: &SmtpReceiver) -> ReceivedMail {
    smtp.next_mail(Duration::from_secs(10))
        .await
        .expect("a mail arrives")
}

/// The one link of a mail's text that starts with `prefix`.
fn link(mail: &ReceivedMail, prefix: &str) -> String {
    let text = mail.text_body().unwrap();
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} in {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

async fn state_of(browser: &Chromium) -> String {
    browser.attribute("outcome", "data-state").await.unwrap()
}

#[tokio::test]
async fn a_new_user_signs_up_verifies_the_address_and_signs_in() {
    let Some(browser) = Chromium::start("en-US,en;q=0.9").await else {
        return;
    };
    let smtp = SmtpReceiver::start().await;
    let (app, callback, authorize) = scene(&smtp).await;

    browser.goto(&authorize).await;
    browser.click("to-sign-up").await;
    browser.screenshot("sign-up").await;
    browser.fill("email", "lin@example.com").await;
    browser.fill("name", "Lin Wei").await;
    browser.fill("password", "password123").await;
    browser.click("sign-up").await;
    let refusal = browser.attribute("refusal", "data-refusal").await.unwrap();
    assert!(
        refusal == "password_common" || refusal == "password_weak",
        "{refusal}"
    );
    assert_eq!(
        browser.attribute("email", "value").await.as_deref(),
        Some("lin@example.com"),
        "what was typed is kept"
    );
    browser.screenshot("sign-up-refused").await;

    browser.fill("password", STRONG).await;
    browser.click("sign-up").await;
    assert_eq!(state_of(&browser).await, "check_email");
    browser.screenshot("check-email").await;
    let verification = mail(&smtp).await;
    assert_eq!(verification.envelope_to, ["lin@example.com"]);
    assert_eq!(
        verification.subject().as_deref(),
        Some("Verify your email address · Default")
    );
    assert_eq!(verification.from_name().as_deref(), Some("Default"));
    assert!(
        verification
            .text_body()
            .unwrap()
            .starts_with("Hello Lin Wei,")
    );
    let verify_url = link(
        &verification,
        &format!("{}/verify-email?token=", app.issuer_url("default")),
    );
    let token = verify_url
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(
        verification.html_body().unwrap().contains(token),
        "the HTML part carries the same link"
    );

    // Before the address is verified, the right password is refused, and a new link sent.
    browser.goto(&authorize).await;
    browser.fill("username", "lin@example.com").await;
    browser.fill("password", STRONG).await;
    browser.click("sign-in").await;
    assert_eq!(
        browser
            .attribute("refusal", "data-refusal")
            .await
            .as_deref(),
        Some("unverified")
    );
    let resent = mail(&smtp).await;
    assert_eq!(resent.subject(), verification.subject());

    // Signing up again with the address answers the same, and tells the owner instead.
    browser.click("to-sign-up").await;
    browser.fill("email", "LIN@example.com").await;
    browser.fill("password", ANOTHER).await;
    browser.click("sign-up").await;
    assert_eq!(state_of(&browser).await, "check_email");
    let notice = mail(&smtp).await;
    assert_eq!(notice.subject().as_deref(), Some("Your account at Default"));
    link(
        &notice,
        &format!("{}/password/forgot", app.issuer_url("default")),
    );

    // The link opens a page; only its button uses the link up (mail scanners fetch links).
    browser.goto(&verify_url).await;
    assert_eq!(state_of(&browser).await, "verify");
    browser.goto(&verify_url).await;
    browser.screenshot("verify-email").await;
    browser.click("confirm").await;
    assert_eq!(state_of(&browser).await, "verified");
    browser.screenshot("email-verified").await;

    // "Continue" leads back to the authorization request the user signed up in.
    browser.click("outcome-link").await;
    browser.fill("username", "lin@example.com").await;
    browser.fill("password", STRONG).await;
    browser.click("sign-in").await;
    browser.click("allow").await;
    let landed = browser.url().await;
    assert!(
        landed.as_str().starts_with(&callback.url("/callback")),
        "{landed}"
    );
    assert!(landed.query_pairs().any(|(k, _)| k == "code"), "{landed}");

    // The link works once.
    browser.goto(&verify_url).await;
    browser.click("confirm").await;
    assert_eq!(state_of(&browser).await, "link_used");
    browser.screenshot("link-used").await;
    browser.close().await;
}

#[tokio::test]
async fn a_user_who_forgot_the_password_resets_it_by_mail() {
    let Some(browser) = Chromium::start("de-DE,de;q=0.9").await else {
        return;
    };
    let smtp = SmtpReceiver::start().await;
    let (app, _callback, _) = scene(&smtp).await;
    app.create_user("default", "ada@example.com", STRONG).await;
    let forgot = format!("{}/password/forgot", app.issuer_url("default"));

    // An address without an account: the same answer, and no mail.
    browser.goto(&forgot).await;
    browser.fill("email", "nobody@example.com").await;
    browser.click("send-link").await;
    assert_eq!(state_of(&browser).await, "check_email");
    let unknown_page = browser.text("outcome-text").await;
    assert!(
        smtp.next_mail(Duration::from_secs(2)).await.is_none(),
        "no mail for an unknown address"
    );

    browser.goto(&forgot).await;
    browser.screenshot("forgot-password").await;
    browser.fill("email", "ada@example.com").await;
    browser.click("send-link").await;
    assert_eq!(state_of(&browser).await, "check_email");
    assert_eq!(browser.text("outcome-text").await, unknown_page);
    let reset = mail(&smtp).await;
    assert_eq!(
        reset.subject().as_deref(),
        Some("Passwort zurücksetzen · Default"),
        "the mail speaks the page's language"
    );
    let reset_url = link(
        &reset,
        &format!("{}/password/reset?token=", app.issuer_url("default")),
    );

    browser.goto(&reset_url).await;
    assert_eq!(browser.page_language().await, "de");
    browser.screenshot("reset-password").await;
    browser.fill("password", "kurz").await;
    // The browser would refuse a value below `minlength`; the server must too.
    browser
        .client()
        .execute(
            "document.getElementById('password').removeAttribute('minlength')",
            vec![],
        )
        .await
        .unwrap();
    browser.click("reset").await;
    assert_eq!(
        browser
            .attribute("refusal", "data-refusal")
            .await
            .as_deref(),
        Some("password_too_short")
    );
    browser.fill("password", ANOTHER).await;
    browser.click("reset").await;
    assert_eq!(state_of(&browser).await, "password_reset");
    browser.screenshot("password-reset").await;

    // The new password signs in; the old one does not; the link is spent.
    browser.click("outcome-link").await;
    browser.fill("username", "ada@example.com").await;
    browser.fill("password", ANOTHER).await;
    browser.click("sign-in").await;
    assert!(
        browser.has("sessions").await,
        "signed in with the new password"
    );
    browser.goto(&reset_url).await;
    assert_eq!(state_of(&browser).await, "link_used");
    browser.close().await;
}

/// Starts the authorization request in `browser`; returns the sign-up form's URL.
async fn signup_url(browser: &reqwest::Client, authorize: &str) -> String {
    let answer = browser.get(authorize).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let interaction = answer.headers()["location"].to_str().unwrap().to_owned();
    let origin = authorize.split("/default/").next().unwrap();
    format!("{origin}{interaction}/signup")
}

/// Sends the sign-up form; returns the answer's status, its `Location` and its page.
async fn sign_up(
    browser: &reqwest::Client,
    url: &str,
    fields: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    // The interaction's token, from its sign-in page (a closed sign-up page has no form).
    let sign_in = url.trim_end_matches("/signup");
    let form = page_text(browser, sign_in).await;
    let csrf = hidden_input(&form, "csrf").unwrap();
    let mut body = vec![("csrf", csrf.as_str())];
    body.extend_from_slice(fields);
    let answer = browser.post(url).form(&body).send().await.unwrap();
    let status = answer.status().as_u16();
    let location = answer
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, answer.text().await.unwrap())
}

/// A new browser starts the authorization request and sends its sign-up form; returns the
/// browser, the form's URL and the answer (as [`sign_up`] gives it).
async fn sign_up_in_a_new_browser(
    authorize: &str,
    fields: &[(&str, &str)],
) -> (reqwest::Client, String, (u16, Option<String>, String)) {
    let browser = Browser::new().http;
    let url = signup_url(&browser, authorize).await;
    let answer = sign_up(&browser, &url, fields).await;
    (browser, url, answer)
}

fn refusal_of(page: &str) -> Option<&str> {
    let start = page.find("data-refusal=\"")? + "data-refusal=\"".len();
    Some(&page[start..][..page[start..].find('"')?])
}

async fn patch_settings(app: &TestApp, settings: serde_json::Value) {
    let token = app.core_api_token(&[]).await;
    let answer = app
        .core_request(reqwest::Method::PATCH, "/core/v1/issuers/default", &token)
        .json(&json!({ "settings": settings }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
}

#[tokio::test]
async fn sign_up_follows_the_issuers_policy_and_says_what_is_wrong() {
    let smtp = SmtpReceiver::start().await;
    let (app, _callback, authorize) = scene(&smtp).await;
    let browser = Browser::new().http;
    let url = signup_url(&browser, &authorize).await;
    let long_name = "n".repeat(301);
    for (fields, expected) in [
        (
            vec![("email", "not-an-address"), ("password", STRONG)],
            "invalid_email",
        ),
        (
            vec![("email", "a@example.com"), ("password", "short")],
            "password_too_short",
        ),
        (
            vec![("email", "a@example.com"), ("password", "password1234")],
            "password_common",
        ),
        (
            vec![
                ("email", "a@example.com"),
                ("password", STRONG),
                ("name", long_name.as_str()),
            ],
            "name_too_long",
        ),
    ] {
        let (status, _, page) = sign_up(&browser, &url, &fields).await;
        assert_eq!(status, 200);
        assert_eq!(refusal_of(&page), Some(expected), "{fields:?}");
    }

    // Only some domains: another is refused.
    patch_settings(
        &app,
        json!({"signup": {"policy": "allowed_email_domains", "allowed_email_domains": ["example.org"]}}),
    )
    .await;
    let (_, _, page) = sign_up(
        &browser,
        &url,
        &[("email", "a@example.com"), ("password", STRONG)],
    )
    .await;
    assert_eq!(refusal_of(&page), Some("domain_not_allowed"));

    // Closed: the sign-in page offers no sign-up, and a sign-up form is refused.
    patch_settings(&app, json!({"signup": {"policy": "disabled"}})).await;
    let sign_in_page = page_text(&browser, url.trim_end_matches("/signup")).await;
    assert!(!sign_in_page.contains("id=\"to-sign-up\""));
    assert!(sign_in_page.contains("id=\"forgot\""));
    let (_, _, page) = sign_up(
        &browser,
        &url,
        &[("email", "a@example.org"), ("password", STRONG)],
    )
    .await;
    assert_eq!(refusal_of(&page), Some("closed"));
    assert!(
        smtp.next_mail(Duration::from_secs(1)).await.is_none(),
        "no refused sign-up sends mail"
    );
}

/// What a sign-up form leads to speaks the language the application asked for
/// (`ui_locales`), as the form itself does, and so does its mail: the "check your email"
/// page where addresses must be verified, the verification mail where they need not be.
#[tokio::test]
async fn the_answer_to_a_sign_up_and_its_mail_speak_the_requested_language() {
    let smtp = SmtpReceiver::start().await;
    let (app, _callback, authorize) = scene(&smtp).await;
    let authorize = format!("{authorize}&ui_locales=de");
    let (_, _, (status, _, page)) = sign_up_in_a_new_browser(
        &authorize,
        &[("email", "lena@example.com"), ("password", STRONG)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("data-state=\"check_email\""), "{page}");
    assert!(page.contains("<html lang=\"de\""), "{page}");
    assert!(page.contains("Sehen Sie in Ihr Postfach"), "{page}");
    assert_eq!(
        mail(&smtp).await.subject().as_deref(),
        Some("E-Mail-Adresse bestätigen · Default")
    );

    patch_settings(
        &app,
        json!({"signup": {"require_email_verification": false}}),
    )
    .await;
    let (_, _, (status, _, _)) = sign_up_in_a_new_browser(
        &authorize,
        &[("email", "jonas@example.com"), ("password", STRONG)],
    )
    .await;
    assert_eq!(status, 303, "signed in");
    assert_eq!(
        mail(&smtp).await.subject().as_deref(),
        Some("E-Mail-Adresse bestätigen · Default")
    );
}

#[tokio::test]
async fn without_required_verification_a_new_account_signs_in_at_once() {
    let smtp = SmtpReceiver::start().await;
    let (app, callback, authorize) = scene(&smtp).await;
    patch_settings(
        &app,
        json!({"signup": {"require_email_verification": false}}),
    )
    .await;
    let (browser, url, (status, location, _)) = sign_up_in_a_new_browser(
        &authorize,
        &[
            ("email", "kim@example.com"),
            ("password", STRONG),
            ("name", "Kim"),
        ],
    )
    .await;
    // Signed in: on to consent (a third-party client), the session cookie set.
    assert_eq!(status, 303);
    let consent = location.unwrap();
    assert!(
        consent.ends_with(
            url.split("/default")
                .nth(1)
                .unwrap()
                .trim_end_matches("/signup")
        )
    );
    let consent_page = browser
        .get(format!(
            "{}{consent}",
            url.split("/default/").next().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(consent_page.contains("id=\"allow\""), "{consent_page}");
    // The address is still to be verified: a link is mailed anyway.
    let mail = mail(&smtp).await;
    assert_eq!(
        mail.subject().as_deref(),
        Some("Verify your email address · Default")
    );
    drop(callback);

    // The address is taken now; without verification there is no hiding it.
    let (_, _, (_, _, page)) = sign_up_in_a_new_browser(
        &authorize,
        &[("email", "KIM@example.com"), ("password", ANOTHER)],
    )
    .await;
    assert_eq!(refusal_of(&page), Some("taken"));
}

/// The "forgot password" form of the default issuer, opened in a new browser.
struct ForgotForm {
    browser: reqwest::Client,
    url: String,
    csrf: String,
}

impl ForgotForm {
    async fn open(app: &TestApp) -> Self {
        let url = format!("{}/password/forgot", app.issuer_url("default"));
        let browser = Browser::new().http;
        let csrf = hidden_input(&page_text(&browser, &url).await, "csrf").unwrap();
        Self { browser, url, csrf }
    }

    /// Sends the form for `email`; the answer's status and page, which must come within 3 s.
    async fn send(&self, email: &str) -> (reqwest::StatusCode, String) {
        let answer = self
            .browser
            .post(&self.url)
            .form(&[("csrf", self.csrf.as_str()), ("email", email)])
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .expect("an answer within 3 s");
        (answer.status(), answer.text().await.unwrap())
    }
}

/// "Forgot password" over HTTP: an address with an account and one without get the same
/// status and the same page, and only the account's owner gets a mail. The answer does not
/// wait for the lookup and the writes that only a known address causes (a ticket and an
/// event), so it cannot take longer for one: with another program holding the database's
/// write lock, the known address is answered at once, and its mail goes out once the lock is
/// released. A forged form is refused and mails nothing.
#[tokio::test]
async fn forgot_password_answers_before_it_writes_whatever_the_address() {
    let smtp = SmtpReceiver::start().await;
    let (app, _callback, _) = scene(&smtp).await;
    app.create_user("default", "ada@example.com", STRONG).await;
    let forgot = ForgotForm::open(&app).await;
    let ask = |email| forgot.send(email);

    let known = ask("ada@example.com").await;
    assert_eq!(mail(&smtp).await.envelope_to, ["ada@example.com"]);
    let unknown = ask("nobody@example.com").await;
    assert_eq!(known.0, 200);
    assert_eq!(known, unknown, "one answer for every address");
    assert!(
        smtp.next_mail(Duration::from_secs(1)).await.is_none(),
        "no mail for the unknown address"
    );

    let held = hold_writes(app.database_url(), "tickets").await;
    assert_eq!(
        ask("ada@example.com").await,
        unknown,
        "answered, writes held"
    );
    assert!(
        smtp.next_mail(Duration::from_millis(500)).await.is_none(),
        "the link is not made while writes are held"
    );
    held.release().await;
    assert_eq!(mail(&smtp).await.envelope_to, ["ada@example.com"]);

    // A forged form: refused, and nothing is mailed.
    let forged = forgot
        .browser
        .post(&forgot.url)
        .form(&[("csrf", "forged"), ("email", "ada@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let page = forged.text().await.unwrap();
    assert!(
        page.contains("Open the “Forgot your password?” page again"),
        "the page says what to do: {page}"
    );
    assert!(smtp.next_mail(Duration::from_secs(1)).await.is_none());
}

/// A flood of "forgot password" forms for one address sends it only a few mails
/// (`MAILS_PER_ADDRESS` an hour), while another address still gets its own; every form is
/// answered alike.
#[tokio::test]
async fn a_flood_of_reset_requests_sends_an_address_only_a_few_mails() {
    let smtp = SmtpReceiver::start().await;
    let (app, _callback, _) = scene(&smtp).await;
    app.create_user("default", "ada@example.com", STRONG).await;
    app.create_user("default", "bob@example.com", STRONG).await;
    let forgot = ForgotForm::open(&app).await;
    let ask = |email| forgot.send(email);
    let limit = tessera_core::signup::MAILS_PER_ADDRESS;
    let first = ask("ada@example.com").await;
    assert_eq!(first.0, 200);
    assert_eq!(mail(&smtp).await.envelope_to, ["ada@example.com"]);
    for _ in 1..limit {
        assert_eq!(ask("ada@example.com").await, first);
        assert_eq!(mail(&smtp).await.envelope_to, ["ada@example.com"]);
    }
    for _ in 0..3 {
        assert_eq!(ask("ada@example.com").await, first, "answered alike");
    }
    // Bob's mail is asked for after Ada's refused ones, and comes alone.
    assert_eq!(ask("bob@example.com").await, first);
    assert_eq!(mail(&smtp).await.envelope_to, ["bob@example.com"]);
    assert!(
        smtp.next_mail(Duration::from_secs(1)).await.is_none(),
        "no more mail for Ada"
    );
}

/// Sign-up where addresses must be verified, over HTTP: a new address and one that already
/// has an account get the same status and page ("check your email") in about the same time
/// (both hash the password; the taken one against nothing), and each address's owner gets
/// the one mail meant for them. On a multi-threaded runtime, as `tessera serve` runs, and
/// each mail awaited before the next request, so that no request's leftover work (its mail)
/// falls into the next one's time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_answers_new_and_taken_addresses_alike() {
    const ROUNDS: usize = 7;
    let smtp = SmtpReceiver::start().await;
    let (app, _callback, authorize) = scene(&smtp).await;
    let browser = Browser::new().http;
    let (mut new, mut taken) = (Vec::new(), Vec::new());
    let mut pages = std::collections::BTreeSet::new();
    for round in 0..ROUNDS {
        // A taken address per round: one address gets only a few mails an hour.
        let fresh = format!("new{round}@example.com");
        let owned = format!("taken{round}@example.com");
        app.create_user("default", &owned, STRONG).await;
        for (email, times) in [(fresh.as_str(), &mut new), (owned.as_str(), &mut taken)] {
            let url = signup_url(&browser, &authorize).await;
            let sign_in = url.trim_end_matches("/signup");
            let form = page_text(&browser, sign_in).await;
            let csrf = hidden_input(&form, "csrf").unwrap();
            let started = std::time::Instant::now();
            let answer = browser
                .post(&url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", email),
                    ("password", ANOTHER),
                ])
                .send()
                .await
                .unwrap();
            let status = answer.status();
            let page = answer.text().await.unwrap();
            times.push(started.elapsed());
            assert_eq!(status, 200, "{email}: {page}");
            assert!(
                page.contains("data-state=\"check_email\""),
                "{email}: {page}"
            );
            pages.insert(page);
            let received = mail(&smtp).await;
            assert_eq!(received.envelope_to, [email]);
            if email == owned {
                assert_eq!(
                    received.subject().as_deref(),
                    Some("Your account at Default"),
                    "the owner is told, nobody is signed up twice"
                );
            }
        }
    }
    assert_eq!(pages.len(), 1, "one page for every address");
    new.sort();
    taken.sort();
    let (new, taken) = (new[ROUNDS / 2], taken[ROUNDS / 2]);
    eprintln!("sign-up medians: new {new:?}, taken {taken:?}");
    // Both are dominated by one Argon2id hash; skipping it for a taken address would make
    // that answer many times faster.
    assert!(new < taken * 3 / 2, "new {new:?}, taken {taken:?}");
    assert!(taken < new * 3 / 2, "new {new:?}, taken {taken:?}");
}
