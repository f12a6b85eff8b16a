//! Made-up issuers, clients and users in bulk, for benchmarks and development (`tessera dev
//! seed`). Not a way to import real data.
//!
//! Every record is made by the code that makes it for the Core API (`new_issuer`,
//! `new_client`, `CheckedUser`, and `Core::first_keys` for the keys) and stored through
//! [`SeedRepo`](tessera_store::SeedRepo), which writes the rows exactly as the repositories' `create` do, only many per
//! statement and without events: a seeded record is data for a benchmark, not a change anyone
//! made, so there is nothing to audit and nothing for a webhook to report. Every normal path
//! reads them: a seeded client gets tokens, a seeded user signs in, the Core API lists both.
//!
//! What is seeded, for a plan of N issuers, C clients and M users per issuer:
//!
//! - issuers `seed-00001` … `seed-N` (five digits at least), default settings. A run refuses
//!   to start if any of its slugs is taken: seed a fresh database (or one seeded with fewer);
//! - per issuer, C confidential, first-party clients (`client_secret_basic`, grants
//!   `authorization_code`, `refresh_token` and `client_credentials`, redirect URI
//!   [`SEED_REDIRECT_URI`]), each with a random secret stored as its hash, as always; the
//!   secrets exist in clear only in the [`SeedReport`];
//! - per issuer, M users `user0000001@seed-00001.example.com` …, verified, with the password
//!   of the plan.
//!
//! Two shortcuts make ten thousand issuers take seconds and a million users minutes. **They
//! make a seeded database unfit for anything but benchmarks and development:**
//!
//! - **One password hash for every user.** The plan's password is hashed once (Argon2id, the
//!   normal hasher) and that PHC string, salt included, is stored for every user: hashing each
//!   would cost ~18 ms of CPU, five hours for a million users. Sign-in verifies it like any
//!   other hash, so its cost is measured truthfully.
//! - **Keys made up front, RSA key material shared.** An issuer normally makes its keys on
//!   first use (`keys`): a current and a next key of each chain, ES256 and RS256. An RSA key
//!   takes 0.1–1 s to make, so ten thousand issuers would spend half an hour warming up. The
//!   seeder therefore stores those four keys itself, sealed with the master key like every key
//!   and each with its own id (`kid`): fresh ES256 keys per issuer, but RS256 keys whose key
//!   material comes from a pool of [`RSA_POOL_SIZE`] keys made per run. **Seeded issuers share
//!   RSA private keys**: a token one of them signs with RS256 verifies with another's key of
//!   the same material (under a different `kid`). Never serve real users from a seeded
//!   database.

use tessera_crypto::SecretToken;
use tessera_model::{ClientId, ClientType, IssuerSlug, KeyAlgorithm, PasswordPolicy};
use tessera_store::{IssuerContents, IssuerScope, SeedBatch};
use tokio::task::JoinSet;

use crate::clients::{NewClient, new_client};
use crate::issuers::{NewIssuer, SettingsPatch, new_issuer};
use crate::keys::KeyMaterial;
use crate::users::{CheckedUser, NewUser};
use crate::{Core, CoreError};

/// The redirect URI of every seeded client: where a benchmark's sign-in ends (nothing needs to
/// listen there; the code is read from the redirect).
pub const SEED_REDIRECT_URI: &str = "http://127.0.0.1/callback";

/// How many RSA keys a run makes and shares among its issuers' RS256 chains.
pub const RSA_POOL_SIZE: usize = 8;

/// How many user addresses of each issuer the report lists, spread evenly (first and last
/// included).
pub const SAMPLED_EMAILS: usize = 100;

/// Rows written per transaction: large enough that a million users are twenty commits, small
/// enough that a batch's records stay a few tens of megabytes.
const ROWS_PER_BATCH: usize = 50_000;

/// What to seed.
#[derive(Clone)]
pub struct SeedPlan {
    /// How many issuers.
    pub issuers: usize,
    /// Clients per issuer.
    pub clients_per_issuer: usize,
    /// Users per issuer.
    pub users_per_issuer: usize,
    /// Every user's password (the password policy applies).
    pub password: String,
}

impl std::fmt::Debug for SeedPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedPlan")
            .field("issuers", &self.issuers)
            .field("clients_per_issuer", &self.clients_per_issuer)
            .field("users_per_issuer", &self.users_per_issuer)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// One seeded issuer, as a benchmark needs it.
#[derive(Debug)]
pub struct SeededIssuer {
    /// Its slug.
    pub slug: IssuerSlug,
    /// Its clients, with their secrets: the only place the secrets exist in clear.
    pub clients: Vec<SeededClient>,
    /// How many users it has.
    pub users: usize,
    /// Some of their addresses (at most [`SAMPLED_EMAILS`], spread evenly).
    pub sample_emails: Vec<String>,
}

/// A seeded client and its secret.
#[derive(Debug)]
pub struct SeededClient {
    /// Its `client_id`.
    pub client_id: ClientId,
    /// Its secret, shown once.
    pub client_secret: SecretToken,
}

/// What a run seeded.
#[derive(Debug, Default)]
pub struct SeedReport {
    /// The issuers, in slug order.
    pub issuers: Vec<SeededIssuer>,
    /// How many clients, users and keys were written in all.
    pub clients: usize,
    /// Users in all.
    pub users: usize,
    /// Signing keys in all.
    pub keys: usize,
}

/// How far a run has come, after each transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedProgress {
    /// Issuers written so far.
    pub issuers: usize,
    /// Users written so far.
    pub users: usize,
}

/// The slug of the `number`th (from 1) of `of` seeded issuers: `seed-00001`, wider when `of`
/// needs more digits.
pub fn seed_slug(number: usize, of: usize) -> String {
    let width = of.to_string().len().max(5);
    format!("seed-{number:0width$}")
}

/// The address of the `number`th (from 1) user of the issuer `slug`.
pub fn seed_email(slug: &str, number: usize) -> String {
    format!("user{number:07}@{slug}.example.com")
}

/// The numbers (from 1) of the users whose addresses the report lists.
fn sampled(users: usize) -> Vec<usize> {
    if users <= SAMPLED_EMAILS {
        return (1..=users).collect();
    }
    (0..SAMPLED_EMAILS)
        .map(|k| 1 + k * (users - 1) / (SAMPLED_EMAILS - 1))
        .collect()
}

/// What every seeded client is registered with.
fn seed_client(slug: &str, number: usize) -> NewClient {
    NewClient {
        redirect_uris: vec![SEED_REDIRECT_URI.to_owned()],
        grant_types: ["authorization_code", "refresh_token", "client_credentials"]
            .map(str::to_owned)
            .to_vec(),
        first_party: true,
        ..NewClient::new(format!("{slug} client {number}"), ClientType::Confidential)
    }
}

/// Records gathered for the next transaction.
#[derive(Default)]
struct Pending {
    batch: SeedBatch,
    rows: usize,
    users: usize,
}

impl Core {
    /// Seeds what `plan` says, [`ROWS_PER_BATCH`] rows per transaction, calling `progress`
    /// after each. See the module documentation for what is made and what is shared.
    pub async fn seed(
        &self,
        plan: &SeedPlan,
        progress: &mut (dyn FnMut(SeedProgress) + Send),
    ) -> Result<SeedReport, CoreError> {
        self.seed_in_batches(plan, ROWS_PER_BATCH, progress).await
    }

    /// [`Self::seed`], about `rows_per_batch` rows per transaction.
    async fn seed_in_batches(
        &self,
        plan: &SeedPlan,
        rows_per_batch: usize,
        progress: &mut (dyn FnMut(SeedProgress) + Send),
    ) -> Result<SeedReport, CoreError> {
        if plan.issuers == 0 {
            return Err(CoreError::InvalidField {
                field: "issuers",
                reason: "seed at least one issuer".to_owned(),
            });
        }
        let slugs: Vec<String> = (1..=plan.issuers)
            .map(|n| seed_slug(n, plan.issuers))
            .collect();
        for slug in &slugs {
            let parsed = IssuerSlug::parse(slug).map_err(|e| CoreError::Invalid(e.to_string()))?;
            if self.store.issuers().find_by_slug(&parsed).await?.is_some() {
                return Err(CoreError::Invalid(format!(
                    "an issuer `{slug}` already exists: seeding only creates new issuers (seed \
                     a fresh database)"
                )));
            }
        }
        let password_hash = if plan.users_per_issuer > 0 {
            // Seeded issuers have the default settings, so the default password policy.
            let policy = PasswordPolicy::default();
            Some(
                self.hash_new_password(&policy, plan.password.clone(), &[])
                    .await?,
            )
        } else {
            None
        };
        let rsa_pool = rsa_pool().await?;

        let now = self.clock.now();
        let mut report = SeedReport::default();
        let mut pending = Pending::default();
        let mut written = SeedProgress {
            issuers: 0,
            users: 0,
        };
        for (index, slug) in slugs.iter().enumerate() {
            let input = NewIssuer {
                slug: slug.clone(),
                display_name: format!("Seeded issuer {}", index + 1),
                settings: SettingsPatch::default(),
            };
            let issuer = new_issuer(input, now)?;
            let scope = IssuerScope::of(&issuer);
            let mut contents = IssuerContents::empty(scope);
            let mut seeded = SeededIssuer {
                slug: issuer.slug.clone(),
                clients: Vec::new(),
                users: plan.users_per_issuer,
                sample_emails: sampled(plan.users_per_issuer)
                    .into_iter()
                    .map(|n| seed_email(slug, n))
                    .collect(),
            };
            for number in 1..=plan.clients_per_issuer {
                let registered = new_client(&issuer, &seed_client(slug, number), now)?;
                let secret = registered.client_secret.ok_or_else(|| {
                    CoreError::Invalid("a seeded client has no secret".to_owned())
                })?;
                seeded.clients.push(SeededClient {
                    client_id: registered.client.id,
                    client_secret: secret,
                });
                contents.clients.push(registered.client);
            }
            // Consecutive issuers take consecutive pool keys, so an issuer's current and next
            // RS256 keys differ. ES256 keys take microseconds to make: each issuer has its own.
            let mut next_rsa = 2 * index;
            contents.keys = self.first_keys(&issuer, |algorithm| {
                if algorithm == KeyAlgorithm::Rs256 {
                    let material = rsa_pool[next_rsa % rsa_pool.len()].clone();
                    next_rsa += 1;
                    Ok(material)
                } else {
                    KeyMaterial::generate_here(algorithm)
                }
            })?;
            report.clients += contents.clients.len();
            report.keys += contents.keys.len();
            pending.rows += 1 + contents.clients.len() + contents.keys.len();
            pending.batch.issuers.push(issuer.clone());

            // An issuer's users may span several transactions; the issuer row is in the first.
            let mut number = 1;
            while number <= plan.users_per_issuer {
                let room = rows_per_batch.saturating_sub(pending.rows).max(1);
                let last = (number + room - 1).min(plan.users_per_issuer);
                for n in number..=last {
                    let input = NewUser {
                        email: seed_email(slug, n),
                        email_verified: true,
                        ..NewUser::default()
                    };
                    let (checked, _) = CheckedUser::check(&issuer, input)?;
                    contents
                        .users
                        .push(checked.into_user(&issuer, password_hash.clone(), now));
                }
                pending.rows += last + 1 - number;
                pending.users += last + 1 - number;
                number = last + 1;
                if pending.rows >= rows_per_batch {
                    let full = std::mem::replace(&mut contents, IssuerContents::empty(scope));
                    pending.batch.contents.push(full);
                    self.write_seeded(&mut pending, &mut written, progress)
                        .await?;
                }
            }
            let has_records = !(contents.clients.is_empty()
                && contents.users.is_empty()
                && contents.keys.is_empty());
            if has_records {
                pending.batch.contents.push(contents);
            }
            if pending.rows >= rows_per_batch {
                self.write_seeded(&mut pending, &mut written, progress)
                    .await?;
            }
            report.users += plan.users_per_issuer;
            report.issuers.push(seeded);
        }
        if pending.rows > 0 {
            self.write_seeded(&mut pending, &mut written, progress)
                .await?;
        }
        self.store.seed().settle().await?;
        Ok(report)
    }

    /// Writes the pending records in one transaction and reports the progress.
    async fn write_seeded(
        &self,
        pending: &mut Pending,
        written: &mut SeedProgress,
        progress: &mut (dyn FnMut(SeedProgress) + Send),
    ) -> Result<(), CoreError> {
        let done = std::mem::take(pending);
        self.store.seed().insert(&done.batch).await?;
        written.issuers += done.batch.issuers.len();
        written.users += done.users;
        progress(*written);
        Ok(())
    }
}

/// [`RSA_POOL_SIZE`] new RSA key pairs, made at once on the blocking pool.
async fn rsa_pool() -> Result<Vec<KeyMaterial>, CoreError> {
    let mut making = JoinSet::new();
    for _ in 0..RSA_POOL_SIZE {
        making.spawn(KeyMaterial::generate(KeyAlgorithm::Rs256));
    }
    let mut pool = Vec::with_capacity(RSA_POOL_SIZE);
    while let Some(made) = making.join_next().await {
        match made {
            Ok(material) => pool.push(material?),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(crate::users::shutting_down(Box::new(e))),
        }
    }
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::Value;
    use tessera_crypto::jws::{Algorithm, verify};
    use tessera_model::KeyState;
    use tessera_oauth::{ClientAuth, TokenRequest};
    use tessera_store::{PageRequest, UserListFilter};

    use super::*;
    use crate::users::UserFilter;

    const PASSWORD: &str = "correct horse battery";

    fn plan(issuers: usize, clients: usize, users: usize) -> SeedPlan {
        SeedPlan {
            issuers,
            clients_per_issuer: clients,
            users_per_issuer: users,
            password: PASSWORD.to_owned(),
        }
    }

    async fn seeded_issuer(core: &Core, slug: &str) -> tessera_model::Issuer {
        let found = core.find_issuer(slug).await.unwrap();
        std::sync::Arc::unwrap_or_clone(found.expect("a seeded issuer"))
    }

    #[test]
    fn slugs_addresses_and_samples_are_numbered_from_one() {
        assert_eq!(seed_slug(1, 3), "seed-00001");
        assert_eq!(seed_slug(123_456, 200_000), "seed-123456");
        assert_eq!(seed_slug(7, 200_000), "seed-000007");
        assert_eq!(
            seed_email("seed-00001", 42),
            "user0000042@seed-00001.example.com"
        );
        assert_eq!(sampled(3), [1, 2, 3]);
        let spread = sampled(1_000_000);
        assert_eq!(spread.len(), SAMPLED_EMAILS);
        assert_eq!((spread[0], spread[SAMPLED_EMAILS - 1]), (1, 1_000_000));
        assert!(spread.windows(2).all(|w| w[0] < w[1]));
    }

    #[tokio::test]
    async fn seeded_clients_get_tokens_and_seeded_users_sign_in_with_the_seeded_password() {
        let (core, _, _db) = crate::test_core().await;
        let report = core.seed(&plan(2, 2, 3), &mut |_| {}).await.unwrap();
        assert_eq!(
            (
                report.issuers.len(),
                report.clients,
                report.users,
                report.keys
            ),
            (2, 4, 6, 8)
        );

        let seeded = &report.issuers[1];
        let issuer = seeded_issuer(&core, seeded.slug.as_str()).await;
        let client = &seeded.clients[1];
        let auth = ClientAuth::Basic {
            client_id: client.client_id.to_string(),
            client_secret: client.client_secret.expose().to_owned(),
        };
        let token = core
            .token(
                &issuer,
                &auth,
                TokenRequest::ClientCredentials { scope: None },
            )
            .await
            .unwrap();
        let keys = core.issuer_keys(&issuer).await.unwrap();
        let verified = verify(&token.access_token, keys.verifying_keys().unwrap()).unwrap();
        assert_eq!(verified.header["alg"], "ES256");

        // First use made no key: the seeded ones are the issuer's first keys.
        let stored = core.list_keys(&issuer).await.unwrap();
        let chains: Vec<_> = stored.iter().map(|k| (k.algorithm, k.state)).collect();
        assert_eq!(
            chains,
            [
                (KeyAlgorithm::Es256, KeyState::Current),
                (KeyAlgorithm::Es256, KeyState::Next),
                (KeyAlgorithm::Rs256, KeyState::Current),
                (KeyAlgorithm::Rs256, KeyState::Next),
            ]
        );
        let rs256 = core
            .signer_for(&issuer, &keys, Algorithm::Rs256)
            .await
            .unwrap()
            .expect("an RS256 chain");
        let id_token = rs256.sign("JWT", &serde_json::json!({"n": 1})).unwrap();
        assert!(verify(&id_token, keys.verifying_keys().unwrap()).is_ok());
        for key in &stored {
            let jwk: Value = serde_json::from_str(&key.public_jwk).unwrap();
            assert_eq!(jwk["kid"], key.id.to_string(), "{jwk}");
            assert_eq!(jwk["alg"], key.algorithm.as_str(), "{jwk}");
        }

        let email = &seeded.sample_emails[2];
        let user = core
            .check_password(&issuer, email, PASSWORD)
            .await
            .unwrap()
            .expect("the seeded password signs in");
        assert_eq!(user.email.as_ref().unwrap().as_str(), email);
        assert!(user.email_verified);
        assert!(
            core.check_password(&issuer, email, "not the password")
                .await
                .unwrap()
                .is_none()
        );
        let other = seeded_issuer(&core, report.issuers[0].slug.as_str()).await;
        let listed = core
            .list_users(
                &other,
                &UserFilter {
                    email_prefix: Some("USER0000003@".to_owned()),
                    ..UserFilter::default()
                },
                PageRequest::first(10),
            )
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 1);
        assert_ne!(
            listed.items[0].id, user.id,
            "each issuer has users of its own"
        );
    }

    #[tokio::test]
    async fn seeded_issuers_share_rsa_material_from_the_pool_but_not_es256_keys() {
        let (core, _, _db) = crate::test_core().await;
        let issuers = RSA_POOL_SIZE; // 2 RSA keys each: twice the pool
        let report = core.seed(&plan(issuers, 0, 0), &mut |_| {}).await.unwrap();
        let mut moduli = HashSet::new();
        let mut es256 = HashSet::new();
        for seeded in &report.issuers {
            let issuer = seeded_issuer(&core, seeded.slug.as_str()).await;
            let keys = core.issuer_keys(&issuer).await.unwrap();
            let jwks: Value = serde_json::from_str(keys.jwks()).unwrap();
            let mut own_moduli = HashSet::new();
            for jwk in jwks["keys"].as_array().unwrap() {
                match jwk["alg"].as_str().unwrap() {
                    "RS256" => {
                        own_moduli.insert(jwk["n"].clone());
                        moduli.insert(jwk["n"].clone());
                    }
                    _ => assert!(
                        es256.insert(jwk["x"].clone()),
                        "an ES256 key is never shared"
                    ),
                }
            }
            assert_eq!(
                own_moduli.len(),
                2,
                "an issuer's current and next RSA keys differ"
            );
        }
        assert_eq!(es256.len(), 2 * issuers);
        assert_eq!(
            moduli.len(),
            RSA_POOL_SIZE,
            "RSA material comes from the pool"
        );
    }

    #[tokio::test]
    async fn users_of_one_issuer_span_transactions_and_progress_counts_every_row() {
        let (core, _, db) = crate::test_core().await;
        let mut seen = Vec::new();
        let report = core
            .seed_in_batches(&plan(3, 2, 10), 7, &mut |p| seen.push(p))
            .await
            .unwrap();
        assert!(seen.len() > 3, "several transactions: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0].users <= w[1].users));
        assert_eq!(
            seen.last(),
            Some(&SeedProgress {
                issuers: 3,
                users: 30
            })
        );
        for seeded in &report.issuers {
            let issuer = seeded_issuer(&core, seeded.slug.as_str()).await;
            let scope = IssuerScope::of(&issuer);
            let users = db
                .store
                .users()
                .list(scope, &UserListFilter::default(), PageRequest::first(100))
                .await
                .unwrap();
            let emails: Vec<String> = users
                .items
                .iter()
                .map(|u| u.email.as_ref().unwrap().to_string())
                .collect();
            let expected: Vec<String> = (1..=10)
                .map(|n| seed_email(seeded.slug.as_str(), n))
                .collect();
            assert_eq!(emails, expected);
            assert_eq!(
                core.list_clients(&issuer, PageRequest::first(10))
                    .await
                    .unwrap()
                    .items
                    .len(),
                2
            );
            assert_eq!(
                db.store.events().count(scope).await.unwrap(),
                0,
                "no events"
            );
        }
    }

    #[tokio::test]
    async fn a_run_that_would_reuse_a_slug_is_refused_before_writing() {
        let (core, _, _db) = crate::test_core().await;
        core.seed(&plan(2, 1, 1), &mut |_| {}).await.unwrap();
        let refused = core.seed(&plan(3, 1, 1), &mut |_| {}).await.unwrap_err();
        assert!(
            refused.to_string().contains("`seed-00001` already exists"),
            "{refused}"
        );
        assert!(core.find_issuer("seed-00003").await.unwrap().is_none());

        let weak = SeedPlan {
            password: "short".to_owned(),
            ..plan(1, 1, 1)
        };
        let (fresh, _, _db) = crate::test_core().await;
        assert!(matches!(
            fresh.seed(&weak, &mut |_| {}).await,
            Err(CoreError::InvalidField {
                field: "password",
                ..
            })
        ));
        assert!(fresh.find_issuer("seed-00001").await.unwrap().is_none());
        assert!(matches!(
            fresh.seed(&plan(0, 1, 1), &mut |_| {}).await,
            Err(CoreError::InvalidField {
                field: "issuers",
                ..
            })
        ));
    }
}
