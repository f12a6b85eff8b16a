//! `private_key_jwt` client authentication (OIDC Core §9, RFC 7523 §2.2 and §3) over HTTP.
//!
//! The assertions are made with the `jsonwebtoken` crate, so the signer is independent of
//! Tessera's JWS code; the key pairs come from `tessera_crypto` (its JWKs are checked against
//! `jsonwebtoken` in that crate's tests). One test per rule: what a client (or an attacker
//! holding a captured assertion, or only the public key) sends, and what it gets.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_crypto::jws::{self, Signer};
use tessera_model::Clock as _;
use tessera_server::SystemClock;
use tessera_testkit::TestApp;
use tessera_testkit::oidc::Browser;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const REDIRECT: &str = "https://app.example.com/callback";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A client's key pair: the private half for `jsonwebtoken`, the public half as a JWK.
struct ClientKey {
    alg: Algorithm,
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

fn client_key(alg: Algorithm, kid: &str) -> ClientKey {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    let ours = match alg {
        Algorithm::ES256 => jws::Algorithm::Es256,
        Algorithm::RS256 => jws::Algorithm::Rs256,
        Algorithm::EdDSA => jws::Algorithm::EdDsa,
        other => panic!("no {other:?} keys"),
    };
    let (signer, pkcs8) = Signer::generate(ours, kid).unwrap();
    let encoding = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_der(&pkcs8),
        // jsonwebtoken's RSA keys are PKCS#1 documents.
        Algorithm::RS256 => EncodingKey::from_rsa_der(
            rsa::RsaPrivateKey::from_pkcs8_der(&pkcs8)
                .unwrap()
                .to_pkcs1_der()
                .unwrap()
                .as_bytes(),
        ),
        _ => EncodingKey::from_ed_der(&pkcs8),
    };
    ClientKey {
        alg,
        kid: kid.to_owned(),
        encoding,
        jwk: signer.public_jwk(),
    }
}

fn now() -> i64 {
    SystemClock.now().0
}

/// A fresh `jti` for every assertion.
fn jti() -> String {
    URL_SAFE_NO_PAD.encode(tessera_crypto::random_bytes::<16>())
}

/// The claims of a conforming assertion of `client` for `aud`.
fn claims(client: &str, aud: &str) -> Value {
    json!({
        "iss": client, "sub": client, "aud": aud,
        "iat": now(), "exp": now() + 120, "jti": jti(),
    })
}

fn sign(key: &ClientKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

struct Setup {
    app: TestApp,
    /// The issuer identifier of `default`.
    issuer: String,
}

impl Setup {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let issuer = app.issuer_url("default");
        Self { app, issuer }
    }

    fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.issuer)
    }

    /// Registers a `private_key_jwt` client with `keys`; returns its id.
    async fn key_client(&self, keys: &[&ClientKey]) -> String {
        let jwks: Vec<&Value> = keys.iter().map(|k| &k.jwk).collect();
        let client = self
            .app
            .register_client(
                "default",
                json!({
                    "name": "Service", "client_type": "confidential", "first_party": true,
                    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                    "redirect_uris": [REDIRECT],
                    "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": { "keys": jwks },
                }),
            )
            .await;
        assert!(
            client.secret.is_none(),
            "a private_key_jwt client has no secret"
        );
        client.id
    }

    /// POSTs `form` to an endpoint of `default` (`/oauth/token`…), with HTTP Basic if given.
    async fn post(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = self
            .app
            .client
            .post(format!("{}{path}", self.issuer))
            .form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A client-credentials request authenticated by `assertion`.
    async fn client_credentials(&self, assertion: &str) -> (u16, Value) {
        self.post(
            "/oauth/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
            ],
        )
        .await
    }
}

/// Asserts an `invalid_client` answer (RFC 7521 §4.2.1, RFC 6749 §5.2).
#[track_caller]
fn assert_invalid_client((status, body): (u16, Value)) {
    assert_eq!(
        (status, &body["error"]),
        (401, &json!("invalid_client")),
        "{body}"
    );
}

/// A client with a key of `alg` gets tokens by client credentials and by the authorization
/// code (with a refresh), and introspects and revokes with assertions whose `aud` is the
/// issuer or the endpoint.
async fn a_client_authenticates_with_its_key(alg: Algorithm) {
    let s = Setup::new().await;
    let key = client_key(alg, &format!("{alg:?}-1"));
    let id = s.key_client(&[&key]).await;

    // Client credentials, with the token endpoint as audience (OIDC Core §9 SHOULD).
    let (status, body) = s
        .client_credentials(&sign(&key, &claims(&id, &s.token_endpoint())))
        .await;
    assert_eq!(status, 200, "{body}");
    let access_token = body["access_token"].as_str().unwrap().to_owned();

    // The authorization code, with the issuer identifier as audience.
    s.app.create_user("default", EMAIL, PASSWORD).await;
    let mut url = reqwest::Url::parse(&format!("{}/oauth/authorize", s.issuer)).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid offline_access"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let landing = Browser::new()
        .authorize(url.as_str(), s.app.core().public_url(), EMAIL, PASSWORD)
        .await;
    let code = landing.param("code").unwrap();
    let assertion = sign(&key, &claims(&id, &s.issuer));
    let (status, body) = s
        .post(
            "/oauth/token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", &id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = s
        .post(
            "/oauth/token",
            None,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &sign(&key, &claims(&id, &s.issuer))),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Introspection and revocation accept their own URL as audience (and the issuer).
    let introspect = format!("{}/oauth/introspect", s.issuer);
    let (status, body) = s
        .post(
            "/oauth/introspect",
            None,
            &[
                ("token", &access_token),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &sign(&key, &claims(&id, &introspect))),
            ],
        )
        .await;
    assert_eq!((status, &body["active"]), (200, &json!(true)), "{body}");
    let revoke = format!("{}/oauth/revoke", s.issuer);
    let (status, _) = s
        .post(
            "/oauth/revoke",
            None,
            &[
                ("token", &refresh),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &sign(&key, &claims(&id, &revoke))),
            ],
        )
        .await;
    assert_eq!(status, 200);
    // An assertion made for the token endpoint is not one for introspection.
    assert_invalid_client(
        s.post(
            "/oauth/introspect",
            None,
            &[
                ("token", &access_token),
                ("client_assertion_type", JWT_BEARER),
                (
                    "client_assertion",
                    &sign(&key, &claims(&id, &s.token_endpoint())),
                ),
            ],
        )
        .await,
    );
}

#[tokio::test]
async fn an_es256_client_gets_tokens_with_signed_assertions() {
    a_client_authenticates_with_its_key(Algorithm::ES256).await;
}

#[tokio::test]
async fn an_rs256_client_gets_tokens_with_signed_assertions() {
    a_client_authenticates_with_its_key(Algorithm::RS256).await;
}

#[tokio::test]
async fn an_eddsa_client_gets_tokens_with_signed_assertions() {
    a_client_authenticates_with_its_key(Algorithm::EdDSA).await;
}

#[tokio::test]
async fn an_assertion_for_another_audience_is_refused() {
    // RFC 7523 §3 item 3.
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    let other_issuer = s.app.issuer_url("system");
    for aud in [
        json!(format!("{other_issuer}/oauth/token")),
        json!(other_issuer),
        json!("https://elsewhere.example/token"),
        json!([]),
    ] {
        let mut c = claims(&id, "");
        c["aud"] = aud;
        assert_invalid_client(s.client_credentials(&sign(&key, &c)).await);
    }
    let mut listed = claims(&id, "");
    listed["aud"] = json!(["https://elsewhere.example", s.issuer]);
    assert_eq!(s.client_credentials(&sign(&key, &listed)).await.0, 200);
}

#[tokio::test]
async fn an_assertion_whose_iss_or_sub_is_not_the_client_is_refused() {
    // RFC 7523 §3 items 1-2: both are the client_id.
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    let other = s.key_client(&[&client_key(Algorithm::ES256, "k2")]).await;
    let mut wrong_iss = claims(&id, &s.issuer);
    wrong_iss["iss"] = json!(other);
    assert_invalid_client(s.client_credentials(&sign(&key, &wrong_iss)).await);
    let mut no_iss = claims(&id, &s.issuer);
    no_iss.as_object_mut().unwrap().remove("iss");
    assert_invalid_client(s.client_credentials(&sign(&key, &no_iss)).await);
    // A sub naming the other client: looked up as that client, whose keys do not verify it.
    let mut wrong_sub = claims(&id, &s.issuer);
    wrong_sub["sub"] = json!(other);
    assert_invalid_client(s.client_credentials(&sign(&key, &wrong_sub)).await);
    // A body client_id that names another client than the assertion (RFC 7521 §4.2).
    let assertion = sign(&key, &claims(&id, &s.issuer));
    assert_invalid_client(
        s.post(
            "/oauth/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &other),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
        )
        .await,
    );
}

#[tokio::test]
async fn an_expired_assertion_is_refused() {
    // RFC 7523 §3 item 4, beyond the 60-second skew.
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    let mut c = claims(&id, &s.issuer);
    c["iat"] = json!(now() - 300);
    c["exp"] = json!(now() - 61);
    let (status, body) = s.client_credentials(&sign(&key, &c)).await;
    assert_invalid_client((status, body.clone()));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let mut no_exp = claims(&id, &s.issuer);
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_invalid_client(s.client_credentials(&sign(&key, &no_exp)).await);
}

#[tokio::test]
async fn an_assertion_valid_for_too_long_is_refused() {
    // Bounded to an hour, so that used jti values are kept for a bounded time.
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    let mut c = claims(&id, &s.issuer);
    c["exp"] = json!(now() + 2 * 3600);
    assert_invalid_client(s.client_credentials(&sign(&key, &c)).await);
    let mut from_iat = claims(&id, &s.issuer);
    from_iat["iat"] = json!(now() - 3500);
    from_iat["exp"] = json!(now() + 200);
    assert_invalid_client(s.client_credentials(&sign(&key, &from_iat)).await);
}

#[tokio::test]
async fn an_assertion_without_jti_is_refused() {
    // OIDC Core §9: jti is REQUIRED.
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    let mut c = claims(&id, &s.issuer);
    c.as_object_mut().unwrap().remove("jti");
    assert_invalid_client(s.client_credentials(&sign(&key, &c)).await);
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    // RFC 7523 §3 item 7: the jti is used once, even concurrently.
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    let assertion = sign(&key, &claims(&id, &s.issuer));
    assert_eq!(s.client_credentials(&assertion).await.0, 200);
    assert_invalid_client(s.client_credentials(&assertion).await);
    // A new assertion reusing the jti is a replay too.
    let mut again = claims(&id, &s.issuer);
    again["jti"] = json!(
        serde_json::from_slice::<Value>(
            &URL_SAFE_NO_PAD
                .decode(assertion.split('.').nth(1).unwrap())
                .unwrap()
        )
        .unwrap()["jti"]
    );
    assert_invalid_client(s.client_credentials(&sign(&key, &again)).await);

    let fresh = sign(&key, &claims(&id, &s.issuer));
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, url, fresh) = (s.app.client.clone(), s.token_endpoint(), fresh.clone());
        racers.spawn(async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", fresh.as_str()),
            ];
            let response = http.post(url).form(&form).send().await.unwrap();
            response.status().as_u16()
        });
    }
    let mut statuses = racers.join_all().await;
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401, 401, 401, 401, 401, 401, 401]);
}

#[tokio::test]
async fn an_assertion_signed_by_another_key_is_refused() {
    // The signature must verify with a key the client registered, whatever the kid says.
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    let impostor = client_key(Algorithm::ES256, "k1");
    assert_invalid_client(
        s.client_credentials(&sign(&impostor, &claims(&id, &s.issuer)))
            .await,
    );
    // A key of another algorithm under the registered kid (RFC 8725 §3.1).
    let other_alg = client_key(Algorithm::EdDSA, "k1");
    assert_invalid_client(
        s.client_credentials(&sign(&other_alg, &claims(&id, &s.issuer)))
            .await,
    );
}

#[tokio::test]
async fn an_unsigned_assertion_is_refused() {
    // RFC 8725 §3.1, RFC 7518 §3.6: alg none is never accepted.
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    let claims = URL_SAFE_NO_PAD.encode(claims(&id, &s.issuer).to_string());
    for header in [json!({"alg": "none"}), json!({"alg": "none", "kid": "k1"})] {
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        assert_invalid_client(s.client_credentials(&format!("{header}.{claims}.")).await);
    }
}

#[tokio::test]
async fn an_hmac_keyed_with_the_public_key_is_refused() {
    // RFC 8725 §2.1: the algorithm confusion, with every form of the public key an attacker
    // can get.
    let s = Setup::new().await;
    let key = client_key(Algorithm::RS256, "k1");
    let id = s.key_client(&[&key]).await;
    let n = URL_SAFE_NO_PAD
        .decode(key.jwk["n"].as_str().unwrap())
        .unwrap();
    for secret in [key.jwk.to_string().into_bytes(), n] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".to_owned());
        let forged = jsonwebtoken::encode(
            &header,
            &claims(&id, &s.issuer),
            &EncodingKey::from_secret(&secret),
        )
        .unwrap();
        assert_invalid_client(s.client_credentials(&forged).await);
    }
}

#[tokio::test]
async fn an_assertion_naming_an_unknown_kid_is_refused() {
    // A kid selects the key (RFC 7515 §4.1.4): one the client did not register names none,
    // even if the signature would verify with a registered key. Without a kid, the keys of
    // the algorithm are tried.
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k2".to_owned());
    let unknown = jsonwebtoken::encode(&header, &claims(&id, &s.issuer), &key.encoding).unwrap();
    assert_invalid_client(s.client_credentials(&unknown).await);
    let no_kid = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims(&id, &s.issuer),
        &key.encoding,
    )
    .unwrap();
    assert_eq!(s.client_credentials(&no_kid).await.0, 200);
}

#[tokio::test]
async fn an_assertion_for_a_client_secret_client_is_refused() {
    // The client authenticates with the method it registered (RFC 6749 §2.3).
    let s = Setup::new().await;
    let client = s
        .app
        .register_client(
            "default",
            json!({
                "name": "Secret", "client_type": "confidential",
                "grant_types": ["client_credentials"],
            }),
        )
        .await;
    let key = client_key(Algorithm::ES256, "k1");
    assert_invalid_client(
        s.client_credentials(&sign(&key, &claims(&client.id, &s.issuer)))
            .await,
    );
}

#[tokio::test]
async fn a_secret_presented_for_a_private_key_jwt_client_is_refused() {
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    for secret in ["", "guess", "null"] {
        let (status, body) = s
            .post(
                "/oauth/token",
                Some((&id, secret)),
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_eq!(body["error"], "invalid_client", "{secret:?}");
        assert_eq!(status, 401);
        assert_invalid_client(
            s.post(
                "/oauth/token",
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &id),
                    ("client_secret", secret),
                ],
            )
            .await,
        );
    }
    // Nor does the client authenticate by naming itself (`none`).
    assert_invalid_client(
        s.post(
            "/oauth/token",
            None,
            &[("grant_type", "client_credentials"), ("client_id", &id)],
        )
        .await,
    );
}

#[tokio::test]
async fn an_assertion_together_with_basic_is_invalid_request() {
    // RFC 6749 §2.3: one authentication method per request.
    let s = Setup::new().await;
    let key = client_key(Algorithm::ES256, "k1");
    let id = s.key_client(&[&key]).await;
    let assertion = sign(&key, &claims(&id, &s.issuer));
    let (status, body) = s
        .post(
            "/oauth/token",
            Some((&id, "secret")),
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_request")),
        "{body}"
    );
    // The assertion was not used up by the refused request.
    assert_eq!(s.client_credentials(&assertion).await.0, 200);
}

/// The Core API's `jwks` rules: each refusal is a 400 naming the field.
#[tokio::test]
async fn the_core_api_refuses_unusable_jwks() {
    let s = Setup::new().await;
    let token = s.app.core_api_token(&[]).await;
    let ec = client_key(Algorithm::ES256, "k1").jwk;
    let mut private = ec.clone();
    private["d"] = json!("AAAA");
    let mut p384 = ec.clone();
    p384["crv"] = json!("P-384");
    let mut unknown_kty = ec.clone();
    unknown_kty["kty"] = json!("oct");
    let many: Vec<Value> = (0..11)
        .map(|i| {
            let mut jwk = ec.clone();
            jwk["kid"] = json!(format!("k{i}"));
            jwk
        })
        .collect();
    let mut huge = ec.clone();
    huge["x5c"] = json!(["A".repeat(20_000)]);
    let cases = [
        (json!({ "keys": [private] }), "private"),
        (json!({ "keys": [p384] }), "P-256"),
        (json!({ "keys": [unknown_kty] }), "symmetric"),
        (json!({ "keys": [ec, ec] }), "same kid"),
        (json!({ "keys": many }), "at most 10"),
        (json!({ "keys": [huge] }), "bytes long"),
        (json!({ "keys": [] }), "at least one"),
        (json!([ec]), "`keys` array"),
    ];
    for (jwks, expected) in cases {
        let response = s
            .app
            .core_request(Method::POST, "/core/v1/issuers/default/clients", &token)
            .json(&json!({
                "name": "Service", "client_type": "confidential",
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks,
            }))
            .send()
            .await
            .unwrap();
        let body = tessera_testkit::expect_problem(response, 400, "invalid_field").await;
        assert_eq!(body["field"], "jwks", "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains(expected),
            "{body}"
        );
    }
    // private_key_jwt without keys, and keys without private_key_jwt.
    for body in [
        json!({"name": "S", "client_type": "confidential", "grant_types": ["client_credentials"],
               "token_endpoint_auth_method": "private_key_jwt"}),
        json!({"name": "S", "client_type": "confidential", "grant_types": ["client_credentials"],
               "jwks": {"keys": [client_key(Algorithm::EdDSA, "e").jwk]}}),
    ] {
        let response = s
            .app
            .core_request(Method::POST, "/core/v1/issuers/default/clients", &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = tessera_testkit::expect_problem(response, 400, "invalid_field").await;
        assert_eq!(problem["field"], "jwks", "{problem}");
    }
}

/// RFC 7591 §2 key rotation through PATCH: the new set replaces the old one at once.
#[tokio::test]
async fn replacing_the_keys_through_the_core_api_takes_effect_at_once() {
    let s = Setup::new().await;
    let token = s.app.core_api_token(&[]).await;
    let old = client_key(Algorithm::ES256, "old");
    let id = s.key_client(&[&old]).await;
    let path = format!("/core/v1/issuers/default/clients/{id}");
    let shown: Value = s
        .app
        .core_request(Method::GET, &path, &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["jwks"], json!({ "keys": [old.jwk] }));
    assert!(shown.get("client_secret").is_none());
    assert_eq!(
        s.client_credentials(&sign(&old, &claims(&id, &s.issuer)))
            .await
            .0,
        200,
        "the cache now holds the client"
    );

    let new = client_key(Algorithm::RS256, "new");
    let response = s
        .app
        .core_request(Method::PATCH, &path, &token)
        .json(&json!({ "jwks": { "keys": [new.jwk] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["jwks"]["keys"][0]["kid"], "new");
    assert_invalid_client(
        s.client_credentials(&sign(&old, &claims(&id, &s.issuer)))
            .await,
    );
    assert_eq!(
        s.client_credentials(&sign(&new, &claims(&id, &s.issuer)))
            .await
            .0,
        200
    );
    // A bad set in a PATCH changes nothing.
    let response = s
        .app
        .core_request(Method::PATCH, &path, &token)
        .json(&json!({ "jwks": { "keys": [] } }))
        .send()
        .await
        .unwrap();
    let problem = tessera_testkit::expect_problem(response, 400, "invalid_field").await;
    assert_eq!(problem["field"], "jwks");
    assert_eq!(
        s.client_credentials(&sign(&new, &claims(&id, &s.issuer)))
            .await
            .0,
        200
    );
    // The secret cannot be rotated for a client whose credential is its keys.
    let response = s
        .app
        .core_request(Method::POST, &format!("{path}/rotate-secret"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
