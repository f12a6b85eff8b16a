//! The algorithm of ID tokens, seen by a real relying-party library (the `openidconnect`
//! crate): a client that registered `id_token_signed_response_alg` (OIDC Dynamic Client
//! Registration 1.0 §2) gets ID tokens of that algorithm, with an `at_hash` computed for it;
//! a client that did not gets the issuer's. Discovery lists both (OIDC Discovery 1.0 §3:
//! RS256 MUST be among them).

#![allow(clippy::unwrap_used)] // test code: a panic is a failed assertion

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, TokenResponse,
};
use serde_json::{Value, json};
use tessera_testkit::TestApp;
use tessera_testkit::oidc::{Browser, RegisteredClient};

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn register(app: &TestApp, id_token_alg: Option<&str>) -> RegisteredClient {
    let mut body = json!({
        "name": "Notes", "client_type": "confidential",
        "grant_types": ["authorization_code"],
        "redirect_uris": [REDIRECT],
    });
    if let Some(alg) = id_token_alg {
        body["id_token_signed_response_alg"] = json!(alg);
    }
    app.register_client("default", body).await
}

/// Signs the user in through `registered` and returns the verified ID token's algorithm,
/// checked by `openidconnect` accepting only `allowed`.
async fn sign_in(
    app: &TestApp,
    registered: &RegisteredClient,
    allowed: CoreJwsSigningAlgorithm,
) -> CoreJwsSigningAlgorithm {
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.issuer_url("default")).unwrap(),
        &http(),
    )
    .await
    .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.clone()),
        Some(ClientSecret::new(registered.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let landing = Browser::new()
        .authorize(url.as_str(), app.core().public_url(), EMAIL, PASSWORD)
        .await;
    let code = landing.param("code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    let id_verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![allowed.clone()]);
    let claims = id_token.claims(&id_verifier, &nonce).unwrap();
    let alg = id_token.signing_alg().unwrap().clone();
    assert_eq!(alg, allowed);
    // The at_hash is computed with the ID token's own algorithm (OIDC Core §3.1.3.6).
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        &alg,
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    alg
}

#[tokio::test]
async fn a_client_that_asks_for_rs256_id_tokens_gets_them_and_others_get_the_issuers() {
    let app = TestApp::spawn().await;
    app.create_user("default", EMAIL, PASSWORD).await;
    let discovery: Value = app
        .get("/default/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );

    let rs256 = register(&app, Some("RS256")).await;
    let alg = sign_in(&app, &rs256, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256).await;
    assert_eq!(alg, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);

    let default = register(&app, None).await;
    let alg = sign_in(&app, &default, CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
    assert_eq!(alg, CoreJwsSigningAlgorithm::EcdsaP256Sha256);
}

#[tokio::test]
async fn an_id_token_algorithm_the_issuer_has_no_keys_for_is_refused_at_registration() {
    let app = TestApp::spawn().await;
    let token = app.core_api_token(&[]).await;
    for alg in ["EdDSA", "HS256", "none"] {
        let refused = app
            .core_request(
                reqwest::Method::POST,
                "/core/v1/issuers/default/clients",
                &token,
            )
            .json(&json!({
                "name": "Notes", "client_type": "confidential",
                "redirect_uris": [REDIRECT],
                "id_token_signed_response_alg": alg,
            }))
            .send()
            .await
            .unwrap();
        let body = tessera_testkit::expect_problem(refused, 400, "invalid_field").await;
        assert_eq!(body["field"], "id_token_signed_response_alg", "{alg}");
    }
}
