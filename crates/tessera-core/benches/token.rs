//! The token endpoint's work without HTTP: what one client-credentials token costs in
//! `tessera-core` (client from the per-node cache, SHA-256 secret check, claims, ES256
//! signature), its parts, and the verification of an access token.
//!
//! `cargo bench -p tessera-core --bench token`. The endpoint as a whole, over HTTP and against
//! oidc-provider, is measured by `scripts/bench-oauth.sh`; the difference between the two is
//! what the HTTP layer costs.

#![allow(missing_docs, clippy::unwrap_used)] // a benchmark binary

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tessera_core::Core;
use tessera_core::clients::NewClient;
use tessera_crypto::{MasterKey, SecretHash};
use tessera_model::{Actor, ClientType, FixedClock, UnixTime};
use tessera_oauth::{ClientAuth, TokenRequest};

fn token(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (core, issuer, auth, _db) = runtime.block_on(async {
        let db = tessera_store_sql::testing::fresh_store().await;
        let core = Core::new(
            db.store.clone(),
            Arc::new(FixedClock::at(UnixTime(1_750_000_000))),
            MasterKey::generate(),
            "http://localhost:8080",
        );
        let issuer = core.ensure_builtin_issuers().await.unwrap().default;
        let registered = core
            .create_client(
                &issuer,
                NewClient {
                    grant_types: vec!["client_credentials".to_owned()],
                    ..NewClient::new("Service", ClientType::Confidential)
                },
                Actor::System,
            )
            .await
            .unwrap();
        let auth = ClientAuth::Basic {
            client_id: registered.client.id.to_string(),
            client_secret: registered.client_secret.unwrap().expose().to_owned(),
        };
        (core, issuer, auth, db)
    });
    let request = || TokenRequest::ClientCredentials { scope: None };
    // Warm the caches: the first request loads the client and the keys.
    let issued = runtime
        .block_on(core.token(&issuer, &auth, request()))
        .unwrap();

    c.bench_function(
        "client_credentials token (core, cached client and keys)",
        |b| {
            b.to_async(&runtime)
                .iter(|| async { black_box(core.token(&issuer, &auth, request()).await.unwrap()) });
        },
    );
    c.bench_function("verify access token (JWT)", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                core.verify_access_token(&issuer, &issued.access_token)
                    .await
                    .unwrap(),
            )
        });
    });
    let keys = runtime.block_on(core.issuer_keys(&issuer)).unwrap();
    let claims = json!({
        "iss": "http://localhost:8080/default", "sub": "cli_0", "aud": "http://localhost:8080/default",
        "client_id": "cli_0", "iat": 1_750_000_000, "exp": 1_750_003_600, "jti": "AAAAAAAAAAAAAAAAAAAAAA",
    });
    c.bench_function("ES256 sign (claims to compact JWS)", |b| {
        b.iter(|| black_box(keys.signer().sign("at+jwt", &claims).unwrap()));
    });
    c.bench_function("client secret check (SHA-256, constant-time)", |b| {
        let hash = SecretHash::of("a-client-secret-of-43-characters-aaaaaaaaa");
        b.iter(|| black_box(hash.verify(black_box("a-client-secret-of-43-characters-aaaaaaaab"))));
    });
}

criterion_group!(benches, token);
criterion_main!(benches);
