//! Helpers for driving the OAuth/OIDC flows over HTTP: fixtures made through the Core API, and
//! a [`Browser`] that keeps cookies and does not follow redirects, so a test sees every hop
//! of `/authorize` → sign-in → consent → redirect URI.

use reqwest::Method;
use serde_json::{Value, json};

use crate::TestApp;

/// A client registered through the Core API.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    /// Its `client_id`.
    pub id: String,
    /// Its secret (confidential clients).
    pub secret: Option<String>,
}

/// A user agent with a cookie jar that stops at every redirect.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The underlying client.
    pub http: reqwest::Client,
}

/// Where a browser ended up after an authorization step.
#[derive(Debug)]
pub enum Landing {
    /// Redirected to the client: the `Location`.
    Redirect(String),
    /// A page (status and HTML).
    Page(u16, String),
}

impl Landing {
    /// The redirect's location.
    ///
    /// # Panics
    /// When this is a page.
    pub fn location(&self) -> &str {
        match self {
            Landing::Redirect(location) => location,
            Landing::Page(status, html) => panic!("expected a redirect, got {status}: {html}"),
        }
    }

    /// The value of a query parameter of the redirect.
    ///
    /// # Panics
    /// When this is a page or the location is not a URL.
    pub fn param(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(self.location()).expect("an absolute redirect");
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// The body of a `GET` of `url` with `client` (its cookies), whatever the status.
pub async fn page_text(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    client
        .get(url)
        .send()
        .await
        .expect("the page request")
        .text()
        .await
        .expect("the page's text")
}

/// The value of a hidden input in a page.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&"),
    )
}

/// The `action` of the first form in a page.
pub fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + "action=\"".len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&"),
    )
}

impl Browser {
    /// A fresh browser with no cookies.
    ///
    /// # Panics
    /// When the HTTP client cannot be built.
    pub fn new() -> Self {
        Self::with_headers(reqwest::header::HeaderMap::new())
    }

    /// A fresh browser whose every request passes a reverse proxy that appends
    /// `X-Forwarded-For: {client}`, as a proxy in front of Tessera would.
    ///
    /// # Panics
    /// When `client` is not a header value or the HTTP client cannot be built.
    pub fn behind_proxy(client: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            client.parse().expect("a forwarded address"),
        );
        Self::with_headers(headers)
    }

    fn with_headers(headers: reqwest::header::HeaderMap) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("an HTTP client");
        Self { http }
    }

    async fn land(response: reqwest::Response, base: &str) -> Landing {
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let location = response.headers()["location"]
                .to_str()
                .expect("an ASCII location")
                .to_owned();
            let absolute = if location.starts_with('/') {
                format!("{base}{location}")
            } else {
                location
            };
            return Landing::Redirect(absolute);
        }
        Landing::Page(status, response.text().await.expect("a page"))
    }

    /// `GET url`, not following a redirect.
    ///
    /// # Panics
    /// When the request fails.
    pub async fn get(&self, url: &str) -> Landing {
        let base = origin(url);
        let response = self.http.get(url).send().await.expect("a response");
        Self::land(response, &base).await
    }

    /// Follows redirects within `origin` (Tessera's own hops), stopping at the first page or
    /// at a redirect elsewhere (the client's redirect URI).
    ///
    /// # Panics
    /// When a request fails.
    pub async fn follow(&self, url: &str, tessera: &str) -> Landing {
        let mut landing = self.get(url).await;
        for _ in 0..10 {
            match &landing {
                Landing::Redirect(next) if next.starts_with(tessera) => {
                    landing = self.get(&next.clone()).await;
                }
                _ => break,
            }
        }
        landing
    }

    /// Submits the first form of `page` with the given fields plus its CSRF token.
    ///
    /// # Panics
    /// When the page has no form or the request fails.
    pub async fn submit(&self, page: &str, base: &str, fields: &[(&str, &str)]) -> Landing {
        let action = form_action(page).expect("a form");
        let csrf = hidden_input(page, "csrf").expect("a CSRF token");
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        let url = format!("{base}{action}");
        let response = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .expect("a response");
        Self::land(response, base).await
    }

    /// Runs an authorization request to its end as a user who signs in (if asked) and
    /// consents (if asked): returns where the browser was sent back to the client.
    ///
    /// # Panics
    /// When a page is not the expected one.
    pub async fn authorize(
        &self,
        authorize_url: &str,
        base: &str,
        username: &str,
        password: &str,
    ) -> Landing {
        let mut landing = self.follow(authorize_url, base).await;
        for _ in 0..3 {
            let Landing::Page(200, html) = &landing else {
                return landing;
            };
            landing = if html.contains("name=\"password\"") {
                self.submit(
                    html,
                    base,
                    &[("username", username), ("password", password)],
                )
                .await
            } else if html.contains("value=\"allow\"") {
                self.submit(html, base, &[("decision", "allow")]).await
            } else {
                return landing;
            };
            landing = match landing {
                Landing::Redirect(next) if next.starts_with(base) => self.follow(&next, base).await,
                other => other,
            };
        }
        landing
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

fn origin(url: &str) -> String {
    let parsed = reqwest::Url::parse(url).expect("an absolute URL");
    parsed.origin().ascii_serialization()
}

impl TestApp {
    /// The issuer URL of `slug` (its `iss`): under the public URL, which is
    /// `http://localhost:{port}`.
    pub fn issuer_url(&self, slug: &str) -> String {
        format!("{}/{slug}", self.core.public_url())
    }

    /// Registers a client at `issuer` through the Core API with the given body.
    ///
    /// # Panics
    /// When the Core API refuses it.
    pub async fn register_client(&self, issuer: &str, body: Value) -> RegisteredClient {
        let token = self.core_api_token(&[]).await;
        let response = self
            .core_request(
                Method::POST,
                &format!("/core/v1/issuers/{issuer}/clients"),
                &token,
            )
            .json(&body)
            .send()
            .await
            .expect("a response");
        let status = response.status();
        let created: Value = response.json().await.expect("JSON");
        assert_eq!(status, 201, "client registration: {created}");
        RegisteredClient {
            id: created["client_id"].as_str().expect("client_id").to_owned(),
            secret: created["client_secret"].as_str().map(str::to_owned),
        }
    }

    /// Creates a user with an email address and password at `issuer`; returns its id.
    ///
    /// # Panics
    /// When the Core API refuses it.
    pub async fn create_user(&self, issuer: &str, email: &str, password: &str) -> String {
        let token = self.core_api_token(&[]).await;
        let response = self
            .core_request(Method::POST, &format!("/core/v1/issuers/{issuer}/users"), &token)
            .json(&json!({ "email": email, "password": password, "email_verified": true, "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace" }))
            .send()
            .await
            .expect("a response");
        let status = response.status();
        let created: Value = response.json().await.expect("JSON");
        assert_eq!(status, 201, "user creation: {created}");
        created["id"].as_str().expect("id").to_owned()
    }
}
