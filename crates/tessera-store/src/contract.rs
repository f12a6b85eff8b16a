//! The contract every storage backend must pass (STYLE.md habit 7).
//!
//! A backend's test file instantiates it with a factory that returns a fresh, migrated,
//! empty store:
//!
//! ```ignore
//! tessera_store::contract_suite!(my_backend::fresh_store);
//! ```
//!
//! Each case is a plain async function taking the store, so a failure names the rule that
//! broke. The cases cover CRUD, uniqueness, tenant isolation between issuers whose contents
//! collide, atomicity of a change and its event, and concurrent single-use consumption.

// These are test assertions: a panic is how a case reports a broken rule.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use serde_json::json;
use tessera_model::{
    AccessTokenFormat, Actor, Branding, BrandingParts, Client, ClientId, ClientTokenSettings,
    ClientType, Email, EmailDomains, FamilyId, GENESIS_HASH, Grant, GrantId, Interaction,
    InteractionId, Issuer, IssuerId, IssuerSettings, IssuerSlug, KeyAlgorithm, KeyId, KeyState,
    LockoutPolicy, NewEvent, OpaqueAccessToken, PasswordPolicy, RefreshToken, Session, SessionId,
    SigningKey, SignupPolicy, Ticket, TicketId, TicketKind, TokenFamily, UnixTime, User, UserId,
    Webhook, WebhookId,
};

use crate::chain::chain_hash;
use crate::{
    Begin, EventListFilter, EventTypeFilter, IssuerScope, PageRequest, Rotation, Store, StoreError,
    StoredResponse, UserListFilter,
};

/// A store made for one test, with whatever must live as long as it (a temporary folder, a
/// database to drop).
pub struct TestStore {
    /// The store under test.
    pub store: Arc<dyn Store>,
    /// Kept alive with the store.
    pub keep_alive: Box<dyn Send + Sync>,
}

/// Generates one `#[tokio::test]` per contract case, each with its own store from `$factory`
/// (an async fn returning [`TestStore`]).
#[macro_export]
macro_rules! contract_suite {
    ($factory:path) => {
        $crate::contract_suite!(@cases $factory;
            issuers_are_created_found_listed_updated_and_deleted,
            issuer_settings_round_trip,
            issuer_slugs_are_unique,
            clients_round_trip_every_field,
            users_round_trip_and_are_unique_by_email_and_username_per_issuer,
            users_are_listed_by_email_or_username_prefix_page_by_page,
            deleting_a_user_checks_the_expected_revision,
            tenants_with_colliding_contents_are_isolated,
            deleting_an_issuer_removes_everything_it_owns,
            a_change_and_its_event_are_written_together_or_not_at_all,
            stale_revisions_are_refused,
            listings_paginate_without_gaps_or_repeats,
            keys_are_stored_and_change_state,
            versions_of_issuers_clients_and_keys_are_read_in_bulk,
            periodic_jobs_read_only_the_issuers_that_set_their_period,
            concurrent_makers_of_one_key_chain_store_it_once,
            seeded_records_are_read_by_the_normal_repositories,
            seeding_a_taken_slug_or_email_writes_nothing,
            a_ticket_is_consumed_once_and_not_after_it_expires,
            concurrent_consumers_of_one_ticket_have_exactly_one_winner,
            a_code_is_spent_exactly_when_its_family_is_stored,
            concurrent_redeemers_of_one_code_store_one_family,
            concurrent_creators_of_one_ticket_have_exactly_one_winner,
            the_master_key_check_is_written_once,
            migrations_are_current_and_idempotent,
            an_idempotency_key_replays_its_finished_response,
            an_idempotency_key_refuses_another_request,
            an_unfinished_idempotency_key_is_in_progress_until_abandoned,
            an_expired_idempotency_key_counts_as_absent,
            concurrent_requests_with_one_idempotency_key_have_exactly_one_start,
            idempotency_keys_of_two_callers_do_not_collide,
            event_chains_are_contiguous_and_linked_per_issuer,
            concurrent_appends_to_one_issuer_leave_a_gap_free_chain,
            events_are_listed_by_type_subject_actor_and_time,
            webhooks_are_created_found_listed_updated_and_deleted,
            webhooks_of_one_issuer_are_invisible_to_another,
            interactions_round_trip_and_update_at_their_revision,
            an_interaction_is_consumed_once_and_not_after_it_expires,
            concurrent_finishers_of_one_interaction_have_exactly_one_winner,
            sessions_round_trip_and_end_once,
            session_clients_are_recorded_once_in_the_order_first_seen,
            grants_are_one_per_user_and_client_and_their_withdrawal_revokes_families,
            a_reused_refresh_token_revokes_its_family,
            concurrent_rotations_of_one_refresh_token_have_exactly_one_winner,
            dead_refresh_tokens_and_families_do_not_rotate,
            opaque_access_tokens_are_stored_found_and_revoked,
            flow_records_of_one_issuer_are_invisible_to_another,
            deleting_a_user_or_a_client_removes_their_flow_records,
            a_ticket_is_found_consumed_or_not,
            the_longest_client_lifetime_override_is_found_per_issuer,
            deliveries_round_trip_and_are_scoped_by_issuer,
            concurrent_claimers_of_due_deliveries_get_disjoint_sets,
            a_delivery_is_claimed_only_when_due_and_unleased,
            an_expired_lease_is_claimable_again,
            a_delivered_or_dead_delivery_is_never_claimed_again,
            a_worker_that_never_held_the_lease_changes_nothing,
            deleting_a_client_or_issuer_removes_its_deliveries,
            an_event_is_fanned_out_to_the_webhooks_that_receive_it_in_its_transaction,
            a_dead_webhook_delivery_marks_its_webhook_failing_until_one_succeeds,
            deleting_a_webhook_removes_its_deliveries,
            events_keep_their_request_context_under_the_chain_hash,
            pruning_removes_old_events_and_anchors_the_chain,
            a_job_lease_has_one_holder_until_it_expires,
            concurrent_askers_for_one_job_lease_have_exactly_one_winner,
            expired_records_are_swept_in_batches_and_live_ones_stay,
            sign_in_failures_are_counted_per_subject_and_issuer,
            concurrent_sign_ins_that_saw_one_count_reserve_one_try,
            announced_changes_reach_every_listener
        );
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let test_store = $factory().await;
                $crate::contract::$case(test_store.store.clone()).await;
            }
        )*
    };
}

const T0: UnixTime = UnixTime(1_750_000_000);

#[path = "contract_deliveries.rs"]
mod deliveries;
pub use deliveries::*;

#[path = "contract_jobs.rs"]
mod jobs;
pub use jobs::*;

#[path = "contract_seed.rs"]
mod seed;
pub use seed::*;

#[path = "contract_sign_in.rs"]
mod sign_in;
pub use sign_in::*;

/// Runs `racer(i)` for every `i` in `0..n` as tasks that start together (behind a barrier, all
/// spawned before any is released), and returns their outcomes in order.
async fn race<T, F>(n: usize, racer: impl Fn(usize) -> F) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let run = racer(i);
            tokio::spawn(async move {
                barrier.wait().await;
                run.await
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(n);
    for task in tasks {
        outcomes.push(task.await.expect("racer task"));
    }
    outcomes
}

fn event(event_type: &'static str, subject: impl ToString) -> NewEvent {
    NewEvent::new(event_type, subject, Actor::System, json!({}), T0)
}

fn issuer(slug: &str) -> Issuer {
    Issuer {
        id: IssuerId::new(),
        slug: IssuerSlug::parse(slug).expect("test slug"),
        display_name: format!("Issuer {slug}"),
        settings: IssuerSettings::default(),
        created_at: T0,
        updated_at: T0,
        revision: 1,
    }
}

async fn create_issuer(store: &dyn Store, slug: &str) -> (Issuer, IssuerScope) {
    let issuer = issuer(slug);
    store
        .issuers()
        .create(&issuer, &event("issuer.created", issuer.id))
        .await
        .expect("create issuer");
    let scope = IssuerScope::of(&issuer);
    (issuer, scope)
}

fn client(issuer_id: IssuerId, name: &str) -> Client {
    Client {
        id: ClientId::new(),
        issuer_id,
        name: name.to_owned(),
        client_type: ClientType::Confidential,
        secret_hash: Some([7; 32]),
        redirect_uris: vec![
            "https://app.example.com/callback".to_owned(),
            "http://127.0.0.1/cb".to_owned(),
        ],
        post_logout_redirect_uris: vec!["https://app.example.com/".to_owned()],
        grant_types: vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
        token_endpoint_auth_method: "client_secret_basic".to_owned(),
        allowed_scopes: vec!["openid".to_owned(), "email".to_owned()],
        first_party: false,
        allowed_issuers: Some(vec![IssuerSlug::default_issuer()]),
        id_token_signed_response_alg: Some(KeyAlgorithm::Rs256),
        token_settings: ClientTokenSettings::default()
            .with_access_token_format(AccessTokenFormat::Opaque)
            .with_access_token_lifetime(Some(600))
            .and_then(|s| s.with_refresh_token_lifetime(Some(86_400)))
            .expect("test token settings"),
        jwks: None,
        backchannel_logout_uri: Some("https://app.example.com/backchannel".to_owned()),
        backchannel_logout_session_required: true,
        created_at: T0,
        updated_at: T0,
        revision: 1,
    }
}

fn user(issuer_id: IssuerId, email: &str, username: Option<&str>) -> User {
    User {
        id: UserId::new(),
        issuer_id,
        email: Some(Email::parse(email).expect("test email")),
        email_verified: false,
        username: username.map(str::to_owned),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        name: Some("Ada Lovelace".to_owned()),
        given_name: Some("Ada".to_owned()),
        family_name: Some("Lovelace".to_owned()),
        picture: Some("https://example.com/ada.png".to_owned()),
        locale: Some("en-GB".to_owned()),
        user_metadata: json!({"theme": "dark"}),
        app_metadata: json!({"plan": "pro", "seats": 3}),
        blocked: false,
        created_at: T0,
        updated_at: T0,
        revision: 1,
    }
}

fn ticket(issuer_id: IssuerId, secret_hash: [u8; 32], expires_at: UnixTime) -> Ticket {
    Ticket {
        id: TicketId::new(),
        issuer_id,
        kind: TicketKind::AuthorizationCode,
        secret_hash,
        subject: "usr_0".to_owned(),
        payload: json!({"scope": "openid"}),
        expires_at,
        consumed_at: None,
        created_at: T0,
    }
}

async fn event_types(store: &dyn Store, scope: IssuerScope) -> Vec<String> {
    store
        .events()
        .list(scope, &Default::default(), PageRequest::first(1000))
        .await
        .expect("list events")
        .items
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

/// Issuers: create, find by id and slug, list, update, delete.
pub async fn issuers_are_created_found_listed_updated_and_deleted(store: Arc<dyn Store>) {
    let (acme, acme_scope) = create_issuer(&*store, "acme").await;
    let (globex, _) = create_issuer(&*store, "globex").await;

    assert_eq!(
        store.issuers().find(acme.id).await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(
        store.issuers().find_by_slug(&acme.slug).await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(
        store
            .issuers()
            .find_by_slug(&IssuerSlug::parse("nobody").unwrap())
            .await
            .unwrap(),
        None
    );
    let listed = store.issuers().list(PageRequest::first(10)).await.unwrap();
    assert_eq!(listed.items, vec![acme.clone(), globex.clone()]);

    let mut renamed = acme.clone();
    renamed.display_name = "Acme Corporation".to_owned();
    renamed.updated_at = T0.plus_seconds(5);
    let updated = store
        .issuers()
        .update(&renamed, &event("issuer.updated", acme.id))
        .await
        .unwrap();
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.display_name, "Acme Corporation");
    assert_eq!(updated.settings, IssuerSettings::default());
    assert_eq!(
        store.issuers().find(acme.id).await.unwrap(),
        Some(updated.clone())
    );

    // Every setting is written by an update and read back as written.
    let mut tuned = updated.clone();
    tuned.settings = IssuerSettings::default()
        .with_access_token_lifetime(900)
        .unwrap()
        .with_id_token_lifetime(600)
        .unwrap()
        .with_refresh_token_lifetime(7 * 86_400)
        .unwrap()
        .with_signing_algorithm(KeyAlgorithm::EdDsa)
        .with_signup(SignupPolicy::AllowedEmailDomains(
            EmailDomains::parse(&["acme.example", "corp.acme.example"]).unwrap(),
        ));
    let tuned = store
        .issuers()
        .update(&tuned, &event("issuer.updated", acme.id))
        .await
        .unwrap();
    assert_eq!(tuned.revision, 3);
    assert_eq!(
        store.issuers().find_by_slug(&acme.slug).await.unwrap(),
        Some(tuned.clone())
    );
    assert_eq!(
        event_types(&*store, acme_scope).await,
        ["issuer.created", "issuer.updated", "issuer.updated"]
    );

    let globex_scope = IssuerScope::of(&globex);
    store
        .issuers()
        .delete(acme.id, globex_scope, &event("issuer.deleted", acme.id))
        .await
        .unwrap();
    assert_eq!(store.issuers().find(acme.id).await.unwrap(), None);
    assert!(matches!(
        store
            .issuers()
            .delete(acme.id, globex_scope, &event("issuer.deleted", acme.id))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        event_types(&*store, globex_scope).await,
        ["issuer.created", "issuer.deleted"]
    );
}

/// Every setting survives creation; other issuers keep their own.
pub async fn issuer_settings_round_trip(store: Arc<dyn Store>) {
    let (plain, _) = create_issuer(&*store, "plain").await;
    for signup in [
        SignupPolicy::Disabled,
        SignupPolicy::Open,
        SignupPolicy::AllowedEmailDomains(EmailDomains::parse(&["example.com"]).unwrap()),
    ] {
        let mut issuer = issuer(&format!("tuned-{}", signup.as_str().replace('_', "-")));
        issuer.settings = IssuerSettings::default()
            .with_access_token_lifetime(60)
            .unwrap()
            .with_id_token_lifetime(86_400)
            .unwrap()
            .with_refresh_token_lifetime(365 * 86_400)
            .unwrap()
            .with_event_retention_days(Some(90))
            .unwrap()
            .with_key_rotation_days(Some(30))
            .unwrap()
            .with_lockout(LockoutPolicy::new(3, 120, 1000).unwrap())
            .with_password_policy(PasswordPolicy::new(12, 4096, 4).unwrap())
            .with_require_email_verification(false)
            .with_allow_account_deletion(true)
            .with_branding(
                Branding::new(BrandingParts {
                    logo_url: Some("https://acme.example/logo.svg".into()),
                    primary_color: Some("#ffd400".into()),
                    background_color: None,
                    custom_css: Some("main { border: 0 }".into()),
                    terms_url: None,
                    privacy_url: Some("https://acme.example/privacy".into()),
                    texts: [(
                        "de".to_owned(),
                        [("login-submit".to_owned(), "Los \"geht's\"".to_owned())].into(),
                    )]
                    .into(),
                })
                .unwrap(),
            )
            .with_signing_algorithm(KeyAlgorithm::Rs256)
            .with_signup(signup);
        store
            .issuers()
            .create(&issuer, &event("issuer.created", issuer.id))
            .await
            .unwrap();
        assert_eq!(store.issuers().find(issuer.id).await.unwrap(), Some(issuer));
    }
    assert_eq!(
        store
            .issuers()
            .find(plain.id)
            .await
            .unwrap()
            .unwrap()
            .settings,
        IssuerSettings::default()
    );
}

/// Two issuers cannot share a slug, and the refused create leaves no trace.
pub async fn issuer_slugs_are_unique(store: Arc<dyn Store>) {
    create_issuer(&*store, "acme").await;
    let duplicate = issuer("acme");
    let err = store
        .issuers()
        .create(&duplicate, &event("issuer.created", duplicate.id))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyExists {
                entity: "issuer",
                field: "slug"
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.issuers().find(duplicate.id).await.unwrap(), None);
    assert_eq!(
        store
            .issuers()
            .list(PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

/// Every field of a client survives the round trip, including lists and `None`s.
pub async fn clients_round_trip_every_field(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let confidential = client(acme.id, "Web app");
    let mut public = client(acme.id, "Mobile app");
    public.client_type = ClientType::Public;
    public.secret_hash = None;
    public.allowed_issuers = None;
    public.first_party = true;
    public.token_endpoint_auth_method = "none".to_owned();
    public.post_logout_redirect_uris = vec![];
    public.id_token_signed_response_alg = None;
    public.token_settings = ClientTokenSettings::default();
    public.backchannel_logout_uri = None;
    public.backchannel_logout_session_required = false;

    for c in [&confidential, &public] {
        store
            .clients()
            .create(scope, c, &event("client.created", c.id))
            .await
            .unwrap();
    }
    assert_eq!(
        store.clients().find(scope, confidential.id).await.unwrap(),
        Some(confidential.clone())
    );
    assert_eq!(
        store.clients().find(scope, public.id).await.unwrap(),
        Some(public.clone())
    );
    assert_eq!(
        store
            .clients()
            .list(scope, PageRequest::first(10))
            .await
            .unwrap()
            .items,
        vec![confidential.clone(), public.clone()]
    );

    let mut changed = confidential.clone();
    changed
        .redirect_uris
        .push("https://app.example.com/other".to_owned());
    changed.secret_hash = Some([9; 32]);
    changed.id_token_signed_response_alg = Some(KeyAlgorithm::EdDsa);
    changed.token_settings = changed
        .token_settings
        .with_access_token_format(AccessTokenFormat::Jwt)
        .with_access_token_lifetime(None)
        .and_then(|s| s.with_id_token_lifetime(Some(7200)))
        .unwrap();
    changed.jwks = Some(r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}"#.to_owned());
    changed.backchannel_logout_uri = Some("http://localhost:9000/logout?x=1".to_owned());
    changed.backchannel_logout_session_required = false;
    let updated = store
        .clients()
        .update(scope, &changed, &event("client.updated", changed.id))
        .await
        .unwrap();
    // Every field is written by the update (the JWK Set text kept as given) and read back.
    assert_eq!(
        updated,
        Client {
            revision: 2,
            ..changed.clone()
        }
    );
    assert_eq!(
        store.clients().find(scope, changed.id).await.unwrap(),
        Some(updated.clone())
    );

    // A delete at a stale revision is refused and deletes nothing.
    assert!(matches!(
        store
            .clients()
            .delete(
                scope,
                public.id,
                Some(7),
                &event("client.deleted", public.id)
            )
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(
        store
            .clients()
            .find(scope, public.id)
            .await
            .unwrap()
            .is_some()
    );
    store
        .clients()
        .delete(
            scope,
            public.id,
            Some(1),
            &event("client.deleted", public.id),
        )
        .await
        .unwrap();
    assert_eq!(store.clients().find(scope, public.id).await.unwrap(), None);
    assert_eq!(
        event_types(&*store, scope).await,
        [
            "issuer.created",
            "client.created",
            "client.created",
            "client.updated",
            "client.deleted"
        ]
    );
}

/// Users round-trip; email (case-insensitively) and username are unique within an issuer.
pub async fn users_round_trip_and_are_unique_by_email_and_username_per_issuer(
    store: Arc<dyn Store>,
) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let ada = user(acme.id, "Ada@Example.com", Some("ada"));
    store
        .users()
        .create(scope, &ada, &event("user.created", ada.id))
        .await
        .unwrap();
    assert_eq!(
        store.users().find(scope, ada.id).await.unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        store
            .users()
            .find_by_email(scope, "ada@example.com")
            .await
            .unwrap(),
        Some(ada.clone())
    );
    assert_eq!(
        store.users().find_by_username(scope, "ada").await.unwrap(),
        Some(ada.clone())
    );

    let same_email = user(acme.id, "ADA@example.COM", None);
    let err = store
        .users()
        .create(scope, &same_email, &event("user.created", same_email.id))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyExists {
                entity: "user",
                field: "email"
            }
        ),
        "{err:?}"
    );
    let same_username = user(acme.id, "other@example.com", Some("ada"));
    let err = store
        .users()
        .create(
            scope,
            &same_username,
            &event("user.created", same_username.id),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::AlreadyExists {
                entity: "user",
                field: "username"
            }
        ),
        "{err:?}"
    );

    let mut blocked = ada.clone();
    blocked.blocked = true;
    blocked.email_verified = true;
    blocked.app_metadata = json!({"plan": "free"});
    blocked.username = None;
    blocked.picture = None;
    blocked.locale = Some("de".to_owned());
    let updated = store
        .users()
        .update(scope, &blocked, &event("user.blocked", ada.id))
        .await
        .unwrap();
    assert!(updated.blocked && updated.email_verified && updated.username.is_none());
    assert_eq!(
        (updated.picture, updated.locale.as_deref()),
        (None, Some("de"))
    );
    assert_eq!(
        store
            .users()
            .find(scope, ada.id)
            .await
            .unwrap()
            .unwrap()
            .locale
            .as_deref(),
        Some("de")
    );
    assert_eq!(
        store.users().find_by_username(scope, "ada").await.unwrap(),
        None
    );

    store
        .users()
        .delete(scope, ada.id, None, &event("user.deleted", ada.id))
        .await
        .unwrap();
    assert_eq!(store.users().find(scope, ada.id).await.unwrap(), None);
    // The email is free again once its owner is gone.
    store
        .users()
        .create(scope, &same_email, &event("user.created", same_email.id))
        .await
        .unwrap();
}

/// Lists `filter`'s matches in `scope` page by page (pages of 2) and returns their emails.
async fn listed_emails(
    store: &dyn Store,
    scope: IssuerScope,
    filter: &UserListFilter,
) -> Vec<String> {
    let mut emails = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let result = store.users().list(scope, filter, page).await.unwrap();
        assert!(result.items.len() <= 2);
        emails.extend(
            result
                .items
                .iter()
                .map(|u| u.email.as_ref().unwrap().as_str().to_owned()),
        );
        match result.next_after {
            Some(after) => page = PageRequest::after(after, 2),
            None => return emails,
        }
    }
}

fn prefixes(email: Option<&str>, username: Option<&str>) -> UserListFilter {
    UserListFilter {
        email_prefix: email.map(str::to_owned),
        username_prefix: username.map(str::to_owned),
    }
}

/// A listing filtered by a (normalized) email prefix or a username prefix returns exactly the
/// matches, in creation order across pages; prefixes are literal and count characters the
/// same way on every backend; another issuer's users never match.
pub async fn users_are_listed_by_email_or_username_prefix_page_by_page(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (other, other_scope) = create_issuer(&*store, "other").await;
    let people = [
        ("Ada@Example.com", Some("ada")),
        ("adam@example.com", Some("adam_smith")),
        ("ADALINE@example.org", Some("Adaline")),
        ("bob@example.com", Some("bob")),
        ("a_b@example.com", None),
        ("Émile@example.com", Some("émile")),
        ("ada.b@example.net", Some("adab")),
    ];
    for (email, username) in people {
        let u = user(acme.id, email, username);
        store
            .users()
            .create(scope, &u, &event("user.created", u.id))
            .await
            .unwrap();
    }
    let outsider = user(other.id, "ada@elsewhere.com", Some("ada-outside"));
    store
        .users()
        .create(other_scope, &outsider, &event("user.created", outsider.id))
        .await
        .unwrap();

    let all = listed_emails(&*store, scope, &UserListFilter::default()).await;
    assert_eq!(all.len(), people.len());
    assert_eq!(
        listed_emails(&*store, scope, &prefixes(Some("ada"), None)).await,
        [
            "Ada@Example.com",
            "adam@example.com",
            "ADALINE@example.org",
            "ada.b@example.net"
        ]
    );
    assert_eq!(
        listed_emails(&*store, scope, &prefixes(Some("ada@"), None)).await,
        ["Ada@Example.com"]
    );
    // `_` and `%` are not wildcards.
    assert_eq!(
        listed_emails(&*store, scope, &prefixes(Some("a_"), None)).await,
        ["a_b@example.com"]
    );
    assert!(
        listed_emails(&*store, scope, &prefixes(Some("a%"), None))
            .await
            .is_empty()
    );
    // Non-ASCII prefixes count characters on both backends.
    assert_eq!(
        listed_emails(&*store, scope, &prefixes(Some("émi"), None)).await,
        ["Émile@example.com"]
    );
    assert_eq!(
        listed_emails(&*store, scope, &prefixes(None, Some("é"))).await,
        ["Émile@example.com"]
    );
    // Usernames match case-sensitively; users without one never match.
    assert_eq!(
        listed_emails(&*store, scope, &prefixes(None, Some("ada"))).await,
        ["Ada@Example.com", "adam@example.com", "ada.b@example.net"]
    );
    assert_eq!(
        listed_emails(&*store, scope, &prefixes(None, Some("Ada"))).await,
        ["ADALINE@example.org"]
    );
    // Both conditions must hold.
    assert_eq!(
        listed_emails(&*store, scope, &prefixes(Some("ada"), Some("adam"))).await,
        ["adam@example.com"]
    );
    assert!(
        listed_emails(&*store, scope, &prefixes(Some("bob"), Some("ada")))
            .await
            .is_empty()
    );
    // The other issuer's matching user is never listed here, and vice versa.
    assert_eq!(
        listed_emails(&*store, other_scope, &prefixes(Some("ada"), None)).await,
        ["ada@elsewhere.com"]
    );
    assert!(
        listed_emails(&*store, scope, &prefixes(None, Some("ada-")))
            .await
            .is_empty()
    );
}

/// A delete with an expected revision removes the user only at that revision; a stale one is
/// `Conflict` and leaves the user and the trail untouched; a missing user is `NotFound`.
pub async fn deleting_a_user_checks_the_expected_revision(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (_, other_scope) = create_issuer(&*store, "other").await;
    let ada = user(acme.id, "ada@example.com", None);
    store
        .users()
        .create(scope, &ada, &event("user.created", ada.id))
        .await
        .unwrap();
    let mut renamed = ada.clone();
    renamed.name = Some("Ada King".to_owned());
    let current = store
        .users()
        .update(scope, &renamed, &event("user.updated", ada.id))
        .await
        .unwrap();
    assert_eq!(current.revision, 2);

    assert!(matches!(
        store
            .users()
            .delete(scope, ada.id, Some(1), &event("user.deleted", ada.id))
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(store.users().find(scope, ada.id).await.unwrap().is_some());
    assert!(matches!(
        store
            .users()
            .delete(other_scope, ada.id, Some(2), &event("user.deleted", ada.id))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        event_types(&*store, scope).await,
        ["issuer.created", "user.created", "user.updated"]
    );

    store
        .users()
        .delete(scope, ada.id, Some(2), &event("user.deleted", ada.id))
        .await
        .unwrap();
    assert_eq!(store.users().find(scope, ada.id).await.unwrap(), None);
    for expected in [None, Some(2)] {
        assert!(matches!(
            store
                .users()
                .delete(scope, ada.id, expected, &event("user.deleted", ada.id))
                .await,
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(
        event_types(&*store, scope).await,
        [
            "issuer.created",
            "user.created",
            "user.updated",
            "user.deleted"
        ]
    );
    assert_eq!(event_types(&*store, other_scope).await, ["issuer.created"]);
}

/// Two issuers with the same user email, client name and ticket secret see only their own.
pub async fn tenants_with_colliding_contents_are_isolated(store: Arc<dyn Store>) {
    let (a, scope_a) = create_issuer(&*store, "tenant-a").await;
    let (b, scope_b) = create_issuer(&*store, "tenant-b").await;

    let user_a = user(a.id, "same@example.com", Some("same"));
    let user_b = user(b.id, "same@example.com", Some("same"));
    store
        .users()
        .create(scope_a, &user_a, &event("user.created", user_a.id))
        .await
        .unwrap();
    store
        .users()
        .create(scope_b, &user_b, &event("user.created", user_b.id))
        .await
        .unwrap();
    let client_a = client(a.id, "Same name");
    let client_b = client(b.id, "Same name");
    store
        .clients()
        .create(scope_a, &client_a, &event("client.created", client_a.id))
        .await
        .unwrap();
    store
        .clients()
        .create(scope_b, &client_b, &event("client.created", client_b.id))
        .await
        .unwrap();

    // Lookups through the other tenant's scope find nothing.
    assert_eq!(store.users().find(scope_b, user_a.id).await.unwrap(), None);
    assert_eq!(
        store.clients().find(scope_b, client_a.id).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .users()
            .find_by_email(scope_a, "same@example.com")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(user_a.id)
    );
    assert_eq!(
        store
            .users()
            .find_by_username(scope_b, "same")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(user_b.id)
    );
    let listed_b = store
        .users()
        .list(scope_b, &UserListFilter::default(), PageRequest::first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(
        listed_b.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![user_b.id]
    );
    let clients_b = store
        .clients()
        .list(scope_b, PageRequest::first(100))
        .await
        .unwrap()
        .items;
    assert_eq!(
        clients_b.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![client_b.id]
    );

    // Writes through the wrong scope touch nothing.
    let mut hijack = user_a.clone();
    hijack.blocked = true;
    assert!(matches!(
        store
            .users()
            .update(scope_b, &hijack, &event("user.updated", user_a.id))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .users()
            .delete(scope_b, user_a.id, None, &event("user.deleted", user_a.id))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .clients()
            .delete(
                scope_b,
                client_a.id,
                None,
                &event("client.deleted", client_a.id)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        !store
            .users()
            .find(scope_a, user_a.id)
            .await
            .unwrap()
            .unwrap()
            .blocked
    );
    assert!(
        store
            .clients()
            .find(scope_a, client_a.id)
            .await
            .unwrap()
            .is_some()
    );

    // Keys, events and tickets are per tenant too.
    let key_a = signing_key(a.id);
    store
        .keys()
        .create(scope_a, &key_a, &event("key.created", key_a.id))
        .await
        .unwrap();
    assert!(store.keys().list_active(scope_b).await.unwrap().is_empty());
    assert!(matches!(
        store
            .keys()
            .set_state(
                scope_b,
                key_a.id,
                KeyState::Retired,
                &event("key.retired", key_a.id)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .tickets()
        .create(scope_a, &ticket(a.id, [1; 32], T0.plus_seconds(60)))
        .await
        .unwrap();
    assert!(matches!(
        store
            .tickets()
            .consume(scope_b, TicketKind::AuthorizationCode, &[1; 32], T0)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .tickets()
            .consume(scope_a, TicketKind::AuthorizationCode, &[1; 32], T0)
            .await
            .is_ok()
    );
    assert_eq!(
        event_types(&*store, scope_b).await,
        ["issuer.created", "user.created", "client.created"]
    );
}

/// Deleting an issuer removes its users, clients, keys and tickets, and leaves others alone.
pub async fn deleting_an_issuer_removes_everything_it_owns(store: Arc<dyn Store>) {
    let (doomed, doomed_scope) = create_issuer(&*store, "doomed").await;
    let (kept, kept_scope) = create_issuer(&*store, "kept").await;
    for (issuer, scope) in [(&doomed, doomed_scope), (&kept, kept_scope)] {
        let u = user(issuer.id, "x@example.com", None);
        store
            .users()
            .create(scope, &u, &event("user.created", u.id))
            .await
            .unwrap();
        let c = client(issuer.id, "app");
        store
            .clients()
            .create(scope, &c, &event("client.created", c.id))
            .await
            .unwrap();
        let k = signing_key(issuer.id);
        store
            .keys()
            .create(scope, &k, &event("key.created", k.id))
            .await
            .unwrap();
        store
            .tickets()
            .create(scope, &ticket(issuer.id, [2; 32], T0.plus_seconds(60)))
            .await
            .unwrap();
    }
    store
        .issuers()
        .delete(doomed.id, kept_scope, &event("issuer.deleted", doomed.id))
        .await
        .unwrap();
    assert!(
        store
            .users()
            .list(
                doomed_scope,
                &UserListFilter::default(),
                PageRequest::first(10)
            )
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        store
            .clients()
            .list(doomed_scope, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        store
            .keys()
            .list_active(doomed_scope)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .users()
            .list(
                kept_scope,
                &UserListFilter::default(),
                PageRequest::first(10)
            )
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store
            .clients()
            .list(kept_scope, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(store.keys().list_active(kept_scope).await.unwrap().len(), 1);
    assert!(
        store
            .tickets()
            .consume(kept_scope, TicketKind::AuthorizationCode, &[2; 32], T0)
            .await
            .is_ok()
    );
}

/// A change whose event cannot be written is rolled back, and a refused change writes no
/// event (the outbox never disagrees with the data).
pub async fn a_change_and_its_event_are_written_together_or_not_at_all(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let first = user(acme.id, "first@example.com", None);
    let first_event = event("user.created", first.id);
    store
        .users()
        .create(scope, &first, &first_event)
        .await
        .unwrap();

    // Fail the transaction midway: the change succeeds, then the event insert collides.
    let second = user(acme.id, "second@example.com", None);
    let mut colliding = event("user.created", second.id);
    colliding.id = first_event.id;
    assert!(
        store
            .users()
            .create(scope, &second, &colliding)
            .await
            .is_err()
    );
    assert_eq!(store.users().find(scope, second.id).await.unwrap(), None);

    let mut renamed = first.clone();
    renamed.name = Some("Changed".to_owned());
    assert!(
        store
            .users()
            .update(scope, &renamed, &colliding)
            .await
            .is_err()
    );
    assert_eq!(
        store
            .users()
            .find(scope, first.id)
            .await
            .unwrap()
            .unwrap()
            .name
            .as_deref(),
        Some("Ada Lovelace")
    );
    assert!(
        store
            .users()
            .delete(scope, first.id, None, &colliding)
            .await
            .is_err()
    );
    assert!(store.users().find(scope, first.id).await.unwrap().is_some());

    // A refused change leaves no event behind.
    let duplicate = user(acme.id, "first@example.com", None);
    assert!(
        store
            .users()
            .create(scope, &duplicate, &event("user.created", duplicate.id))
            .await
            .is_err()
    );
    assert_eq!(
        event_types(&*store, scope).await,
        ["issuer.created", "user.created"]
    );
    let events = store
        .events()
        .list(scope, &Default::default(), PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(events[1].id, first_event.id);
    assert_eq!(events[1].subject, first.id.to_string());
    assert_eq!(events[1].actor, Actor::System);
}

/// An update made from a stale read is refused and changes nothing.
pub async fn stale_revisions_are_refused(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let ada = user(acme.id, "ada@example.com", None);
    store
        .users()
        .create(scope, &ada, &event("user.created", ada.id))
        .await
        .unwrap();
    let mut first = ada.clone();
    first.name = Some("First".to_owned());
    store
        .users()
        .update(scope, &first, &event("user.updated", ada.id))
        .await
        .unwrap();
    let mut stale = ada.clone();
    stale.name = Some("Stale".to_owned());
    assert!(matches!(
        store
            .users()
            .update(scope, &stale, &event("user.updated", ada.id))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .users()
            .find(scope, ada.id)
            .await
            .unwrap()
            .unwrap()
            .name
            .as_deref(),
        Some("First")
    );
    let mut stale_issuer = acme.clone();
    stale_issuer.display_name = "x".to_owned();
    store
        .issuers()
        .update(&stale_issuer, &event("issuer.updated", acme.id))
        .await
        .unwrap();
    assert!(matches!(
        store
            .issuers()
            .update(&stale_issuer, &event("issuer.updated", acme.id))
            .await,
        Err(StoreError::Conflict)
    ));
    let c = client(acme.id, "app");
    store
        .clients()
        .create(scope, &c, &event("client.created", c.id))
        .await
        .unwrap();
    store
        .clients()
        .update(scope, &c, &event("client.updated", c.id))
        .await
        .unwrap();
    assert!(matches!(
        store
            .clients()
            .update(scope, &c, &event("client.updated", c.id))
            .await,
        Err(StoreError::Conflict)
    ));
}

/// Walking pages visits every item once, in creation order.
pub async fn listings_paginate_without_gaps_or_repeats(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let mut created = Vec::new();
    for n in 0..7 {
        let u = user(acme.id, &format!("user{n}@example.com"), None);
        store
            .users()
            .create(scope, &u, &event("user.created", u.id))
            .await
            .unwrap();
        created.push(u.id);
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let result = store
            .users()
            .list(scope, &UserListFilter::default(), page)
            .await
            .unwrap();
        assert!(result.items.len() <= 3);
        seen.extend(result.items.iter().map(|u| u.id));
        match result.next_after {
            Some(after) => page = PageRequest::after(after, 3),
            None => break,
        }
    }
    assert_eq!(seen, created);

    let first = store
        .events()
        .list(scope, &Default::default(), PageRequest::first(5))
        .await
        .unwrap();
    let rest = store
        .events()
        .list(
            scope,
            &Default::default(),
            PageRequest::after(first.next_after.unwrap(), 100),
        )
        .await
        .unwrap();
    assert_eq!(first.items.len() + rest.items.len(), 8);
    assert_eq!(rest.next_after, None);
}

fn signing_key(issuer_id: IssuerId) -> SigningKey {
    SigningKey {
        id: KeyId::new(),
        issuer_id,
        algorithm: KeyAlgorithm::Es256,
        state: KeyState::Next,
        public_jwk: r#"{"kty":"EC","crv":"P-256","x":"x","y":"y"}"#.to_owned(),
        private_key_sealed: vec![1, 2, 3, 4],
        created_at: T0,
        updated_at: T0,
    }
}

/// Keys are stored with their sealed private part and move through their states.
pub async fn keys_are_stored_and_change_state(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let first = signing_key(acme.id);
    let mut second = signing_key(acme.id);
    second.algorithm = KeyAlgorithm::Rs256;
    store
        .keys()
        .create(scope, &first, &event("key.created", first.id))
        .await
        .unwrap();
    store
        .keys()
        .create(scope, &second, &event("key.created", second.id))
        .await
        .unwrap();
    assert_eq!(
        store.keys().list_active(scope).await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    store
        .keys()
        .set_state(
            scope,
            first.id,
            KeyState::Current,
            &event("key.activated", first.id),
        )
        .await
        .unwrap();
    store
        .keys()
        .set_state(
            scope,
            second.id,
            KeyState::Retired,
            &event("key.retired", second.id),
        )
        .await
        .unwrap();
    let active = store.keys().list_active(scope).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].state, KeyState::Current);
    assert_eq!(active[0].private_key_sealed, vec![1, 2, 3, 4]);
    assert!(matches!(
        store
            .keys()
            .set_state(
                scope,
                KeyId::new(),
                KeyState::Current,
                &event("key.activated", "x")
            )
            .await,
        Err(StoreError::NotFound)
    ));
}

/// What a node checks its cached copies against: issuers' revisions and signing algorithms,
/// clients' issuers and revisions, and issuers' non-retired keys' ids and states, for many ids
/// at once (more than one statement's worth), with unknown and deleted ones simply absent.
pub async fn versions_of_issuers_clients_and_keys_are_read_in_bulk(store: Arc<dyn Store>) {
    let (acme, acme_scope) = create_issuer(&*store, "acme").await;
    let (globex, globex_scope) = create_issuer(&*store, "globex").await;
    let acme_client = client(acme.id, "acme app");
    let globex_client = client(globex.id, "globex app");
    for (scope, client) in [(acme_scope, &acme_client), (globex_scope, &globex_client)] {
        store
            .clients()
            .create(scope, client, &event("client.created", client.id))
            .await
            .unwrap();
    }
    let mut keys = Vec::new();
    for (scope, state) in [
        (acme_scope, KeyState::Current),
        (globex_scope, KeyState::Current),
        (acme_scope, KeyState::Next),
        (acme_scope, KeyState::Retired),
    ] {
        let mut key = signing_key(scope.issuer_id());
        key.state = state;
        store
            .keys()
            .create(scope, &key, &event("key.created", key.id))
            .await
            .unwrap();
        keys.push(key);
    }
    // A thousand unknown ids around the known ones: three statements' worth.
    let mut issuer_ids: Vec<IssuerId> = (0..1_000).map(|_| IssuerId::new()).collect();
    issuer_ids.insert(0, acme.id);
    issuer_ids.push(globex.id);
    let mut client_ids: Vec<ClientId> = (0..1_000).map(|_| ClientId::new()).collect();
    client_ids.insert(0, globex_client.id);
    client_ids.push(acme_client.id);

    let mut versions = store.issuers().versions(&issuer_ids).await.unwrap();
    versions.sort_by_key(|v| v.id);
    let mut expected = vec![
        crate::IssuerVersion {
            id: acme.id,
            revision: 1,
            signing_algorithm: KeyAlgorithm::Es256,
        },
        crate::IssuerVersion {
            id: globex.id,
            revision: 1,
            signing_algorithm: KeyAlgorithm::Es256,
        },
    ];
    expected.sort_by_key(|v| v.id);
    assert_eq!(versions, expected);

    let mut revisions = store.clients().revisions(&client_ids).await.unwrap();
    revisions.sort_by_key(|r| r.id);
    let mut expected = vec![
        crate::ClientRevision {
            issuer_id: acme.id,
            id: acme_client.id,
            revision: 1,
        },
        crate::ClientRevision {
            issuer_id: globex.id,
            id: globex_client.id,
            revision: 1,
        },
    ];
    expected.sort_by_key(|r| r.id);
    assert_eq!(revisions, expected);

    // By issuer, and within one in the order of `list_active`.
    let states = store.keys().active_states(&issuer_ids).await.unwrap();
    for (issuer, scope) in [(acme.id, acme_scope), (globex.id, globex_scope)] {
        let listed: Vec<(KeyId, KeyState)> = store
            .keys()
            .list_active(scope)
            .await
            .unwrap()
            .iter()
            .map(|k| (k.id, k.state))
            .collect();
        let read: Vec<(KeyId, KeyState)> = states
            .iter()
            .filter(|k| k.issuer_id == issuer)
            .map(|k| (k.id, k.state))
            .collect();
        assert_eq!(read, listed);
    }
    assert_eq!(states.len(), 3, "the retired key is not among them");
    let switched = states
        .windows(2)
        .filter(|pair| pair[0].issuer_id != pair[1].issuer_id)
        .count();
    assert_eq!(switched, 1, "grouped by issuer: {states:?}");

    // Every update counts; deleted records are gone.
    let mut changed = acme.clone();
    changed.settings = IssuerSettings::default().with_signing_algorithm(KeyAlgorithm::Rs256);
    store
        .issuers()
        .update(&changed, &event("issuer.updated", acme.id))
        .await
        .unwrap();
    store
        .clients()
        .update(
            acme_scope,
            &acme_client,
            &event("client.updated", acme_client.id),
        )
        .await
        .unwrap();
    store
        .issuers()
        .delete(globex.id, acme_scope, &event("issuer.deleted", globex.id))
        .await
        .unwrap();
    assert_eq!(
        store.issuers().versions(&issuer_ids).await.unwrap(),
        vec![crate::IssuerVersion {
            id: acme.id,
            revision: 2,
            signing_algorithm: KeyAlgorithm::Rs256,
        }]
    );
    assert_eq!(
        store.clients().revisions(&client_ids).await.unwrap(),
        vec![crate::ClientRevision {
            issuer_id: acme.id,
            id: acme_client.id,
            revision: 2,
        }]
    );
    assert!(
        store
            .keys()
            .active_states(&[globex.id])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.issuers().versions(&[]).await.unwrap().is_empty());
}

/// Key rotation reads the issuers whose current keys are older than their period, and event
/// retention the issuers that keep events for a limited time; no others, and page by page.
pub async fn periodic_jobs_read_only_the_issuers_that_set_their_period(store: Arc<dyn Store>) {
    const DAY: i64 = 86_400;
    let mut made = Vec::new();
    for (slug, rotation, retention, key_at) in [
        ("daily", Some(1), None, Some(T0)),
        ("daily-unused", Some(1), None, None),
        ("manual", None, Some(30), Some(T0)),
        ("every-other-day", Some(2), Some(7), Some(T0)),
    ] {
        let mut issuer = issuer(slug);
        issuer.settings = IssuerSettings::default()
            .with_key_rotation_days(rotation)
            .unwrap()
            .with_event_retention_days(retention)
            .unwrap();
        store
            .issuers()
            .create(&issuer, &event("issuer.created", issuer.id))
            .await
            .unwrap();
        if let Some(at) = key_at {
            let scope = IssuerScope::of(&issuer);
            for state in [KeyState::Current, KeyState::Next] {
                let key = SigningKey {
                    state,
                    created_at: at,
                    updated_at: at,
                    ..signing_key(issuer.id)
                };
                store
                    .keys()
                    .create(scope, &key, &event("key.created", key.id))
                    .await
                    .unwrap();
            }
        }
        made.push(issuer);
    }
    let [daily, _unused, manual, every_other_day] = &made[..] else {
        unreachable!()
    };
    let due = async |now: UnixTime, limit: u32| {
        let mut slugs = Vec::new();
        let mut page = PageRequest::first(limit);
        loop {
            let found = store
                .issuers()
                .list_due_for_key_rotation(now, page)
                .await
                .unwrap();
            slugs.extend(found.items.into_iter().map(|i| i.slug.as_str().to_owned()));
            match found.next_after {
                Some(after) => page = PageRequest::after(after, limit),
                None => return slugs,
            }
        }
    };
    assert!(due(T0.plus_seconds(DAY - 1), 10).await.is_empty());
    assert_eq!(due(T0.plus_seconds(DAY), 10).await, ["daily"]);
    let mut both = vec![daily.slug.as_str(), every_other_day.slug.as_str()];
    both.sort_by_key(|slug| made.iter().find(|i| i.slug.as_str() == *slug).unwrap().id);
    assert_eq!(
        due(T0.plus_seconds(2 * DAY), 1).await,
        both,
        "paged one by one"
    );

    // A rotation makes the next key current now: the issuer waits a whole period again.
    let scope = IssuerScope::of(daily);
    let next = store
        .keys()
        .list_active(scope)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.state == KeyState::Next)
        .unwrap();
    let rotated_at = T0.plus_seconds(2 * DAY);
    let mut rotated = event("key.state_changed", next.id);
    rotated.occurred_at = rotated_at;
    store
        .keys()
        .set_state(scope, next.id, KeyState::Current, &rotated)
        .await
        .unwrap();
    assert_eq!(
        due(rotated_at, 10).await,
        [every_other_day.slug.as_str()],
        "one current key inside the period is enough"
    );

    let mut kept = Vec::new();
    let mut page = PageRequest::first(1);
    loop {
        let found = store
            .issuers()
            .list_with_event_retention(page)
            .await
            .unwrap();
        kept.extend(found.items.into_iter().map(|i| i.id));
        match found.next_after {
            Some(after) => page = PageRequest::after(after, 1),
            None => break,
        }
    }
    let mut expected = vec![manual.id, every_other_day.id];
    expected.sort();
    assert_eq!(kept, expected);
}

/// Nodes that make an issuer's first keys at the same moment: one set is stored and the
/// others are refused, so every node publishes and signs with the same keys. A chain of
/// another algorithm starts beside it; a chain that exists does not start again.
pub async fn concurrent_makers_of_one_key_chain_store_it_once(store: Arc<dyn Store>) {
    const RACERS: usize = 8;
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let chain = |algorithm: KeyAlgorithm, states: &[KeyState]| -> Vec<(SigningKey, NewEvent)> {
        states
            .iter()
            .map(|state| {
                let mut key = signing_key(acme.id);
                key.algorithm = algorithm;
                key.state = *state;
                let created = event("key.created", key.id);
                (key, created)
            })
            .collect()
    };
    let racers = race(RACERS, |_| {
        let store = store.clone();
        let keys = chain(KeyAlgorithm::Es256, &[KeyState::Current, KeyState::Next]);
        async move {
            let stored = store.keys().create_chains(scope, &keys).await;
            (stored, keys)
        }
    })
    .await;
    let mut winners = Vec::new();
    for (stored, keys) in racers {
        if stored.unwrap() {
            winners.push(keys.into_iter().map(|(key, _)| key).collect::<Vec<_>>());
        }
    }
    assert_eq!(winners.len(), 1, "one chain is stored");
    assert_eq!(store.keys().list_active(scope).await.unwrap(), winners[0]);

    let rs256 = chain(KeyAlgorithm::Rs256, &[KeyState::Next]);
    assert!(store.keys().create_chains(scope, &rs256).await.unwrap());
    // All or none: a set naming a started chain stores nothing, not even its new chain.
    let mut again = chain(KeyAlgorithm::EdDsa, &[KeyState::Next]);
    again.extend(chain(KeyAlgorithm::Es256, &[KeyState::Next]));
    assert!(!store.keys().create_chains(scope, &again).await.unwrap());
    assert!(!store.keys().create_chains(scope, &[]).await.unwrap());
    assert_eq!(store.keys().list_active(scope).await.unwrap().len(), 3);
    let created = store
        .events()
        .list(
            scope,
            &EventListFilter {
                event_type: Some(EventTypeFilter::Exact("key.created".into())),
                ..EventListFilter::default()
            },
            PageRequest::first(50),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(
        created.len(),
        3,
        "an event per stored key, none for the refused"
    );
}

/// A ticket is redeemed once; a second redemption is `AlreadyConsumed`; an expired or unknown
/// one is `NotFound`; the kind must match.
pub async fn a_ticket_is_consumed_once_and_not_after_it_expires(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let code = ticket(acme.id, [3; 32], T0.plus_seconds(60));
    store.tickets().create(scope, &code).await.unwrap();
    assert!(matches!(
        store
            .tickets()
            .consume(scope, TicketKind::PasswordReset, &[3; 32], T0)
            .await,
        Err(StoreError::NotFound)
    ));
    let redeemed = store
        .tickets()
        .consume(
            scope,
            TicketKind::AuthorizationCode,
            &[3; 32],
            T0.plus_seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(redeemed.id, code.id);
    assert_eq!(redeemed.payload, code.payload);
    assert_eq!(redeemed.consumed_at, Some(T0.plus_seconds(1)));
    assert!(matches!(
        store
            .tickets()
            .consume(
                scope,
                TicketKind::AuthorizationCode,
                &[3; 32],
                T0.plus_seconds(2)
            )
            .await,
        Err(StoreError::AlreadyConsumed)
    ));

    let expiring = ticket(acme.id, [4; 32], T0.plus_seconds(60));
    store.tickets().create(scope, &expiring).await.unwrap();
    assert!(matches!(
        store
            .tickets()
            .consume(
                scope,
                TicketKind::AuthorizationCode,
                &[4; 32],
                T0.plus_seconds(60)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .tickets()
            .consume(scope, TicketKind::AuthorizationCode, &[5; 32], T0)
            .await,
        Err(StoreError::NotFound)
    ));
}

/// N tasks race to consume one ticket: exactly one wins, every other is `AlreadyConsumed`.
pub async fn concurrent_consumers_of_one_ticket_have_exactly_one_winner(store: Arc<dyn Store>) {
    const RACERS: usize = 24;
    let (acme, scope) = create_issuer(&*store, "acme").await;
    for round in 0..5u8 {
        let secret = [100 + round; 32];
        store
            .tickets()
            .create(scope, &ticket(acme.id, secret, T0.plus_seconds(60)))
            .await
            .unwrap();
        let racers = race(RACERS, |_| {
            let store = store.clone();
            async move {
                store
                    .tickets()
                    .consume(scope, TicketKind::AuthorizationCode, &secret, T0)
                    .await
            }
        })
        .await;
        let mut winners = 0;
        let mut already_consumed = 0;
        for racer in racers {
            match racer {
                Ok(_) => winners += 1,
                Err(StoreError::AlreadyConsumed) => already_consumed += 1,
                Err(other) => panic!("unexpected error from a racer: {other:?}"),
            }
        }
        assert_eq!(
            (winners, already_consumed),
            (1, RACERS - 1),
            "round {round}"
        );
    }
}

/// `redeem_code` spends the code and stores the family in one transaction: a redemption whose
/// family is refused leaves the code unspent, a spent or expired code stores no family.
pub async fn a_code_is_spent_exactly_when_its_family_is_stored(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, c) = user_and_client(&*store, &acme).await;
    let code = [5; 32];
    store
        .tickets()
        .create(scope, &ticket(acme.id, code, T0.plus_seconds(60)))
        .await
        .unwrap();
    let is_spent = async || {
        store
            .tickets()
            .find(scope, TicketKind::AuthorizationCode, &code)
            .await
            .unwrap()
            .unwrap()
            .consumed_at
            .is_some()
    };

    // A family the store refuses (its id is taken) rolls the spending back.
    let taken = family(acme.id, u.id, c.id);
    store
        .tokens()
        .create_family(scope, &taken, None)
        .await
        .unwrap();
    let clash = TokenFamily {
        id: taken.id,
        ..family(acme.id, u.id, c.id)
    };
    assert!(
        store
            .tokens()
            .redeem_code(scope, &code, T0, &clash, None)
            .await
            .is_err()
    );
    assert!(
        !is_spent().await,
        "the failed redemption left the code usable"
    );

    let f = family(acme.id, u.id, c.id);
    let r = refresh(&f, [6; 32], T0.plus_seconds(3600));
    store
        .tokens()
        .redeem_code(scope, &code, T0.plus_seconds(1), &f, Some(&r))
        .await
        .unwrap();
    assert!(is_spent().await);
    assert_eq!(
        store.tokens().find_family(scope, f.id).await.unwrap(),
        Some(f.clone())
    );
    assert_eq!(
        store.tokens().find_refresh(scope, &[6; 32]).await.unwrap(),
        Some(r)
    );

    let again = family(acme.id, u.id, c.id);
    assert!(matches!(
        store
            .tokens()
            .redeem_code(scope, &code, T0.plus_seconds(2), &again, None)
            .await,
        Err(StoreError::AlreadyConsumed)
    ));
    let expired = [7; 32];
    store
        .tickets()
        .create(scope, &ticket(acme.id, expired, T0.plus_seconds(60)))
        .await
        .unwrap();
    assert!(matches!(
        store
            .tokens()
            .redeem_code(scope, &expired, T0.plus_seconds(60), &again, None)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .tokens()
            .redeem_code(scope, &[8; 32], T0, &again, None)
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.tokens().find_family(scope, again.id).await.unwrap(),
        None
    );
}

/// N tasks redeem one code at once, each with its own family: exactly one redeems, the others
/// are `AlreadyConsumed`, and only the winner's family exists.
pub async fn concurrent_redeemers_of_one_code_store_one_family(store: Arc<dyn Store>) {
    const RACERS: usize = 16;
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, c) = user_and_client(&*store, &acme).await;
    let code = [9; 32];
    store
        .tickets()
        .create(scope, &ticket(acme.id, code, T0.plus_seconds(60)))
        .await
        .unwrap();
    let racers = race(RACERS, |_| {
        let store = store.clone();
        let f = family(acme.id, u.id, c.id);
        async move {
            let outcome = store.tokens().redeem_code(scope, &code, T0, &f, None).await;
            (f.id, outcome)
        }
    })
    .await;
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for racer in racers {
        match racer {
            (id, Ok(())) => winners.push(id),
            (id, Err(StoreError::AlreadyConsumed)) => losers.push(id),
            (_, Err(other)) => panic!("unexpected error from a racer: {other:?}"),
        }
    }
    assert_eq!((winners.len(), losers.len()), (1, RACERS - 1));
    assert!(
        store
            .tokens()
            .find_family(scope, winners[0])
            .await
            .unwrap()
            .is_some()
    );
    for id in losers {
        assert_eq!(store.tokens().find_family(scope, id).await.unwrap(), None);
    }
}

/// N tasks race to record one ticket (how a client assertion's `jti` is used once): exactly
/// one insert wins, every other is `AlreadyExists`; another issuer may hold the same hash.
pub async fn concurrent_creators_of_one_ticket_have_exactly_one_winner(store: Arc<dyn Store>) {
    const RACERS: usize = 24;
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let racers = race(RACERS, |_| {
        let store = store.clone();
        let mut used = ticket(acme.id, [42; 32], T0.plus_seconds(60));
        used.kind = TicketKind::ClientAssertion;
        used.consumed_at = Some(T0);
        async move { store.tickets().create(scope, &used).await }
    })
    .await;
    let mut winners = 0;
    let mut refused = 0;
    for racer in racers {
        match racer {
            Ok(()) => winners += 1,
            Err(StoreError::AlreadyExists { .. }) => refused += 1,
            Err(other) => panic!("unexpected error from a racer: {other:?}"),
        }
    }
    assert_eq!((winners, refused), (1, RACERS - 1));
    let found = store
        .tickets()
        .find(scope, TicketKind::ClientAssertion, &[42; 32])
        .await
        .unwrap()
        .expect("the winner's ticket");
    assert_eq!(found.kind, TicketKind::ClientAssertion);
    let (other, other_scope) = create_issuer(&*store, "other").await;
    let mut elsewhere = ticket(other.id, [42; 32], T0.plus_seconds(60));
    elsewhere.kind = TicketKind::ClientAssertion;
    store
        .tickets()
        .create(other_scope, &elsewhere)
        .await
        .unwrap();
}

/// The first master-key check value stored is the one every later call gets back.
pub async fn the_master_key_check_is_written_once(store: Arc<dyn Store>) {
    assert_eq!(store.master_key_check(b"first").await.unwrap(), b"first");
    assert_eq!(store.master_key_check(b"second").await.unwrap(), b"first");
}

/// A fresh store is fully migrated, and migrating again changes nothing.
pub async fn migrations_are_current_and_idempotent(store: Arc<dyn Store>) {
    let status = store.schema_status().await.unwrap();
    assert!(status.is_current(), "{status:?}");
    assert_eq!(store.migrate().await.unwrap(), status);
}

const DAY: i64 = 86_400;

fn stored_response(status: u16, body: &str) -> StoredResponse {
    StoredResponse {
        status,
        headers: vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("location".to_owned(), "/core/v1/issuers/acme".to_owned()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

/// A finished request is replayed, byte for byte, to a retry with the same hash.
pub async fn an_idempotency_key_replays_its_finished_response(store: Arc<dyn Store>) {
    let caller = ClientId::new();
    let keys = store.idempotency();
    let expires = T0.plus_seconds(DAY);
    assert_eq!(
        keys.begin(caller, "k1", &[1; 32], T0, expires)
            .await
            .unwrap(),
        Begin::Started
    );
    let response = stored_response(201, r#"{"slug":"acme"}"#);
    keys.finish(caller, "k1", &response).await.unwrap();
    assert_eq!(
        keys.begin(caller, "k1", &[1; 32], T0.plus_seconds(5), expires)
            .await
            .unwrap(),
        Begin::Replay(response.clone())
    );
    // A finished key cannot be finished again, nor released.
    assert!(matches!(
        keys.finish(caller, "k1", &stored_response(500, "")).await,
        Err(StoreError::NotFound)
    ));
    keys.abandon(caller, "k1").await.unwrap();
    assert_eq!(
        keys.begin(caller, "k1", &[1; 32], T0.plus_seconds(6), expires)
            .await
            .unwrap(),
        Begin::Replay(response)
    );
}

/// The same key with another request hash is a mismatch, finished or not.
pub async fn an_idempotency_key_refuses_another_request(store: Arc<dyn Store>) {
    let caller = ClientId::new();
    let keys = store.idempotency();
    let expires = T0.plus_seconds(DAY);
    assert_eq!(
        keys.begin(caller, "k1", &[1; 32], T0, expires)
            .await
            .unwrap(),
        Begin::Started
    );
    assert_eq!(
        keys.begin(caller, "k1", &[2; 32], T0, expires)
            .await
            .unwrap(),
        Begin::Mismatch
    );
    keys.finish(caller, "k1", &stored_response(400, "{}"))
        .await
        .unwrap();
    assert_eq!(
        keys.begin(caller, "k1", &[2; 32], T0, expires)
            .await
            .unwrap(),
        Begin::Mismatch
    );
}

/// An unfinished claim answers `InProgress` to a retry; abandoned, the key is free again.
pub async fn an_unfinished_idempotency_key_is_in_progress_until_abandoned(store: Arc<dyn Store>) {
    let caller = ClientId::new();
    let keys = store.idempotency();
    let expires = T0.plus_seconds(DAY);
    assert_eq!(
        keys.begin(caller, "k1", &[1; 32], T0, expires)
            .await
            .unwrap(),
        Begin::Started
    );
    assert_eq!(
        keys.begin(caller, "k1", &[1; 32], T0, expires)
            .await
            .unwrap(),
        Begin::InProgress
    );
    keys.abandon(caller, "k1").await.unwrap();
    assert!(matches!(
        keys.finish(caller, "k1", &stored_response(201, "{}")).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        keys.begin(caller, "k1", &[1; 32], T0, expires)
            .await
            .unwrap(),
        Begin::Started
    );
    // Abandoning a key nobody holds is not an error.
    keys.abandon(caller, "never-used").await.unwrap();
}

/// From its `expires_at` on, a key counts as absent: finished or not, any request starts.
pub async fn an_expired_idempotency_key_counts_as_absent(store: Arc<dyn Store>) {
    let caller = ClientId::new();
    let keys = store.idempotency();
    let first_expiry = T0.plus_seconds(DAY);
    assert_eq!(
        keys.begin(caller, "done", &[1; 32], T0, first_expiry)
            .await
            .unwrap(),
        Begin::Started
    );
    keys.finish(caller, "done", &stored_response(201, "{}"))
        .await
        .unwrap();
    assert_eq!(
        keys.begin(caller, "stuck", &[1; 32], T0, first_expiry)
            .await
            .unwrap(),
        Begin::Started
    );

    let just_before = T0.plus_seconds(DAY - 1);
    assert!(matches!(
        keys.begin(
            caller,
            "done",
            &[2; 32],
            just_before,
            just_before.plus_seconds(DAY)
        )
        .await
        .unwrap(),
        Begin::Mismatch
    ));
    let later = first_expiry;
    let second_expiry = later.plus_seconds(DAY);
    for key in ["done", "stuck"] {
        assert_eq!(
            keys.begin(caller, key, &[2; 32], later, second_expiry)
                .await
                .unwrap(),
            Begin::Started,
            "{key}"
        );
    }
    // The new claim is a fresh one: unfinished, under the new hash, with the new expiry.
    assert_eq!(
        keys.begin(caller, "done", &[2; 32], later, second_expiry)
            .await
            .unwrap(),
        Begin::InProgress
    );
    keys.finish(caller, "done", &stored_response(200, "again"))
        .await
        .unwrap();
    assert_eq!(
        keys.begin(
            caller,
            "done",
            &[2; 32],
            second_expiry.plus_seconds(-1),
            second_expiry
        )
        .await
        .unwrap(),
        Begin::Replay(stored_response(200, "again"))
    );
}

/// N tasks race to begin one key: exactly one starts, every other sees it in progress.
pub async fn concurrent_requests_with_one_idempotency_key_have_exactly_one_start(
    store: Arc<dyn Store>,
) {
    const RACERS: usize = 24;
    let caller = ClientId::new();
    for round in 0..5u8 {
        let key = format!("race-{round}");
        let racers = race(RACERS, |_| {
            let store = store.clone();
            let key = key.clone();
            async move {
                store
                    .idempotency()
                    .begin(caller, &key, &[round; 32], T0, T0.plus_seconds(DAY))
                    .await
            }
        })
        .await;
        let mut started = 0;
        let mut in_progress = 0;
        for racer in racers {
            match racer {
                Ok(Begin::Started) => started += 1,
                Ok(Begin::InProgress) => in_progress += 1,
                other => panic!("unexpected answer to a racer: {other:?}"),
            }
        }
        assert_eq!((started, in_progress), (1, RACERS - 1), "round {round}");
    }
}

/// The same key chosen by two callers names two independent claims.
pub async fn idempotency_keys_of_two_callers_do_not_collide(store: Arc<dyn Store>) {
    let (alice, bob) = (ClientId::new(), ClientId::new());
    let keys = store.idempotency();
    let expires = T0.plus_seconds(DAY);
    assert_eq!(
        keys.begin(alice, "shared", &[1; 32], T0, expires)
            .await
            .unwrap(),
        Begin::Started
    );
    assert_eq!(
        keys.begin(bob, "shared", &[2; 32], T0, expires)
            .await
            .unwrap(),
        Begin::Started
    );
    keys.finish(alice, "shared", &stored_response(201, "alice"))
        .await
        .unwrap();
    keys.abandon(bob, "shared").await.unwrap();
    assert_eq!(
        keys.begin(alice, "shared", &[1; 32], T0, expires)
            .await
            .unwrap(),
        Begin::Replay(stored_response(201, "alice"))
    );
    assert_eq!(
        keys.begin(bob, "shared", &[1; 32], T0, expires)
            .await
            .unwrap(),
        Begin::Started
    );
}

/// The whole chain of an issuer, read page by page in `seq` order.
async fn chain(store: &dyn Store, scope: IssuerScope) -> Vec<tessera_model::Event> {
    let mut events = Vec::new();
    loop {
        let after = events.last().map_or(0, |e: &tessera_model::Event| e.seq);
        let page = store.events().list_chain(scope, after, 7).await.unwrap();
        if page.is_empty() {
            return events;
        }
        events.extend(page);
    }
}

/// Asserts that `events` is a whole, intact chain: seq 1, 2, …, each linked to the one before
/// and hashed over its contents.
fn assert_intact(events: &[tessera_model::Event]) {
    let mut prev = GENESIS_HASH;
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.seq, i as i64 + 1, "seq of {:?}", event.id);
        assert_eq!(event.prev_hash, prev, "prev_hash of seq {}", event.seq);
        assert_eq!(
            event.hash,
            chain_hash(&event.prev_hash, &event.chain_fields()),
            "hash of seq {}",
            event.seq
        );
        prev = event.hash;
    }
}

/// Every issuer's events form a chain of its own, numbered from 1 and linked by hashes.
pub async fn event_chains_are_contiguous_and_linked_per_issuer(store: Arc<dyn Store>) {
    let (acme, acme_scope) = create_issuer(&*store, "acme").await;
    let (globex, globex_scope) = create_issuer(&*store, "globex").await;
    for i in 0..10 {
        let (issuer, scope) = if i % 3 == 0 {
            (&globex, globex_scope)
        } else {
            (&acme, acme_scope)
        };
        let user = user(issuer.id, &format!("u{i}@example.com"), None);
        store
            .users()
            .create(scope, &user, &event("user.created", user.id))
            .await
            .unwrap();
        store
            .events()
            .append(scope, &event("user.login.failed", user.id))
            .await
            .unwrap();
    }
    let acme_chain = chain(&*store, acme_scope).await;
    let globex_chain = chain(&*store, globex_scope).await;
    // issuer.created, then two events for each of its users.
    assert_eq!(acme_chain.len(), 1 + 2 * 6);
    assert_eq!(globex_chain.len(), 1 + 2 * 4);
    assert_intact(&acme_chain);
    assert_intact(&globex_chain);
    assert!(acme_chain.iter().all(|e| e.issuer_id == acme.id));
    assert_eq!(store.events().count(acme_scope).await.unwrap(), 13);
    assert_ne!(acme_chain[0].hash, globex_chain[0].hash);
    // The listing carries the same links.
    let listed = store
        .events()
        .list(
            acme_scope,
            &EventListFilter::default(),
            PageRequest::first(100),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(listed.len(), acme_chain.len());
    for event in &listed {
        assert!(acme_chain.contains(event));
    }
}

/// Sixteen writers appending to one issuer at once leave seq 1…n with no gap and no fork.
pub async fn concurrent_appends_to_one_issuer_leave_a_gap_free_chain(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            let acme = acme.clone();
            tokio::spawn(async move {
                let user = user(acme.id, &format!("racer{i}@example.com"), None);
                store
                    .users()
                    .create(scope, &user, &event("user.created", user.id))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let events = chain(&*store, scope).await;
    assert_eq!(events.len(), 17);
    assert_intact(&events);
}

/// Filters select by exact type, type prefix, subject, actor and time, and combine.
pub async fn events_are_listed_by_type_subject_actor_and_time(store: Arc<dyn Store>) {
    let (_, scope) = create_issuer(&*store, "acme").await;
    let (_, other) = create_issuer(&*store, "globex").await;
    let admin = Actor::AdminClient(ClientId::new());
    let written = [
        ("user.created", "usr_a", Actor::System, 10),
        ("user.updated", "usr_a", admin, 20),
        ("user.login.failed", "usr_b", Actor::System, 30),
        ("userx.created", "usr_b", admin, 40),
        ("client.created", "cli_c", admin, 50),
    ];
    for (event_type, subject, actor, at) in written {
        let event = NewEvent::new(event_type, subject, actor, json!({}), T0.plus_seconds(at));
        store.events().append(scope, &event).await.unwrap();
        // The same in another issuer, which no listing of `scope` may return.
        let twin = NewEvent::new(event_type, subject, actor, json!({}), event.occurred_at);
        store.events().append(other, &twin).await.unwrap();
    }
    let types = |filter: EventListFilter| {
        let store = store.clone();
        async move {
            let mut types = Vec::new();
            let mut page = PageRequest::first(2);
            loop {
                let found = store.events().list(scope, &filter, page).await.unwrap();
                types.extend(found.items.into_iter().map(|e| e.event_type));
                match found.next_after {
                    Some(after) => page = PageRequest::after(after, 2),
                    None => return types,
                }
            }
        }
    };
    let by_type = |t: EventTypeFilter| EventListFilter {
        event_type: Some(t),
        ..EventListFilter::default()
    };
    assert_eq!(
        types(by_type(EventTypeFilter::Exact("user.created".into()))).await,
        ["user.created"]
    );
    assert_eq!(
        types(by_type(EventTypeFilter::Prefix("user.".into()))).await,
        ["user.created", "user.updated", "user.login.failed"]
    );
    assert_eq!(
        types(by_type(EventTypeFilter::Prefix("user%".into()))).await,
        Vec::<String>::new()
    );
    assert_eq!(
        types(EventListFilter {
            subject: Some("usr_b".into()),
            ..EventListFilter::default()
        })
        .await,
        ["user.login.failed", "userx.created"]
    );
    assert_eq!(
        types(EventListFilter {
            actor: Some(admin),
            since: Some(T0.plus_seconds(20)),
            until: Some(T0.plus_seconds(40)),
            ..EventListFilter::default()
        })
        .await,
        ["user.updated", "userx.created"]
    );
    assert_eq!(
        types(EventListFilter::default()).await.len(),
        written.len() + 1
    );
}

fn webhook(issuer_id: IssuerId, url: &str) -> Webhook {
    Webhook {
        id: WebhookId::new(),
        issuer_id,
        url: url.to_owned(),
        event_types: vec!["user.*".to_owned(), "client.created".to_owned()],
        enabled: true,
        secret_sealed: vec![1, 2, 3, 4],
        failing: false,
        created_at: T0,
        updated_at: T0,
        revision: 1,
    }
}

/// Webhooks: create, find, list, update at the expected revision, delete; each with its event.
pub async fn webhooks_are_created_found_listed_updated_and_deleted(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let first = webhook(acme.id, "https://hooks.example.com/a");
    let mut second = webhook(acme.id, "https://hooks.example.com/b");
    second.enabled = false;
    second.failing = true;
    second.event_types = vec![];
    for w in [&first, &second] {
        store
            .webhooks()
            .create(scope, w, &event("webhook.created", w.id))
            .await
            .unwrap();
    }
    assert_eq!(
        store.webhooks().find(scope, first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .webhooks()
            .list(scope, PageRequest::first(10))
            .await
            .unwrap()
            .items,
        vec![first.clone(), second.clone()]
    );
    let page = store
        .webhooks()
        .list(scope, PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(page.items, vec![first.clone()]);
    assert_eq!(page.next_after, Some(first.id.as_uuid()));

    let mut changed = first.clone();
    changed.url = "https://hooks.example.com/c".to_owned();
    changed.secret_sealed = vec![9; 8];
    changed.enabled = false;
    changed.updated_at = UnixTime(T0.0 + 5);
    let updated = store
        .webhooks()
        .update(scope, &changed, &event("webhook.updated", changed.id))
        .await
        .unwrap();
    assert_eq!(updated.revision, 2);
    assert_eq!(
        store.webhooks().find(scope, first.id).await.unwrap(),
        Some(updated.clone())
    );
    // The revision as first read is stale now.
    assert!(matches!(
        store
            .webhooks()
            .update(scope, &changed, &event("webhook.updated", changed.id))
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        store
            .webhooks()
            .delete(
                scope,
                first.id,
                Some(1),
                &event("webhook.deleted", first.id)
            )
            .await,
        Err(StoreError::Conflict)
    ));
    store
        .webhooks()
        .delete(
            scope,
            first.id,
            Some(2),
            &event("webhook.deleted", first.id),
        )
        .await
        .unwrap();
    store
        .webhooks()
        .delete(scope, second.id, None, &event("webhook.deleted", second.id))
        .await
        .unwrap();
    assert_eq!(store.webhooks().find(scope, first.id).await.unwrap(), None);
    assert!(matches!(
        store
            .webhooks()
            .delete(scope, first.id, None, &event("webhook.deleted", first.id))
            .await,
        Err(StoreError::NotFound)
    ));
    let mut gone = first.clone();
    gone.revision = 2;
    assert!(matches!(
        store
            .webhooks()
            .update(scope, &gone, &event("webhook.updated", gone.id))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        event_types(&*store, scope).await,
        [
            "issuer.created",
            "webhook.created",
            "webhook.created",
            "webhook.updated",
            "webhook.deleted",
            "webhook.deleted"
        ]
    );
}

/// A webhook of one issuer cannot be found, listed, changed or deleted through another, and
/// goes with its issuer.
pub async fn webhooks_of_one_issuer_are_invisible_to_another(store: Arc<dyn Store>) {
    let (acme, acme_scope) = create_issuer(&*store, "acme").await;
    let (_, other_scope) = create_issuer(&*store, "other").await;
    let hook = webhook(acme.id, "https://hooks.example.com/a");
    store
        .webhooks()
        .create(acme_scope, &hook, &event("webhook.created", hook.id))
        .await
        .unwrap();
    assert_eq!(
        store.webhooks().find(other_scope, hook.id).await.unwrap(),
        None
    );
    assert!(
        store
            .webhooks()
            .list(other_scope, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(matches!(
        store
            .webhooks()
            .update(other_scope, &hook, &event("webhook.updated", hook.id))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .webhooks()
            .delete(
                other_scope,
                hook.id,
                None,
                &event("webhook.deleted", hook.id)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(event_types(&*store, other_scope).await, ["issuer.created"]);
    assert_eq!(
        store.webhooks().find(acme_scope, hook.id).await.unwrap(),
        Some(hook.clone())
    );
    store
        .issuers()
        .delete(acme.id, other_scope, &event("issuer.deleted", acme.id))
        .await
        .unwrap();
    assert_eq!(
        store.webhooks().find(acme_scope, hook.id).await.unwrap(),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Interactions, sessions, consents and token families.

/// A user and a client of `issuer`, stored.
async fn user_and_client(store: &dyn Store, issuer: &Issuer) -> (User, Client) {
    let scope = IssuerScope::of(issuer);
    let u = user(issuer.id, "flow@example.com", None);
    store
        .users()
        .create(scope, &u, &event("user.created", u.id))
        .await
        .unwrap();
    let c = client(issuer.id, "Flow app");
    store
        .clients()
        .create(scope, &c, &event("client.created", c.id))
        .await
        .unwrap();
    (u, c)
}

/// Another client of `issuer`, stored.
async fn another_client(store: &dyn Store, issuer: &Issuer, name: &str) -> Client {
    let c = client(issuer.id, name);
    store
        .clients()
        .create(IssuerScope::of(issuer), &c, &event("client.created", c.id))
        .await
        .unwrap();
    c
}

fn interaction(issuer_id: IssuerId, client_id: ClientId, expires_at: UnixTime) -> Interaction {
    Interaction {
        id: InteractionId::new(),
        issuer_id,
        client_id,
        browser_hash: [9; 32],
        request: json!({"response_type": "code", "scope": "openid email", "state": "xyz"}),
        user_id: None,
        auth_time: None,
        amr: Vec::new(),
        created_at: T0,
        expires_at,
        revision: 1,
    }
}

fn session(issuer_id: IssuerId, user_id: UserId, secret_hash: [u8; 32]) -> Session {
    Session {
        id: SessionId::new(),
        issuer_id,
        user_id,
        secret_hash,
        auth_time: T0,
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        acr: Some("urn:tessera:mfa".to_owned()),
        created_at: T0,
        expires_at: T0.plus_seconds(3600),
        ended_at: None,
    }
}

fn grant(issuer_id: IssuerId, user_id: UserId, client_id: ClientId, scopes: &[&str]) -> Grant {
    Grant {
        id: GrantId::new(),
        issuer_id,
        user_id,
        client_id,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        created_at: T0,
        updated_at: T0,
    }
}

fn family(issuer_id: IssuerId, user_id: UserId, client_id: ClientId) -> TokenFamily {
    TokenFamily {
        id: FamilyId::new(),
        issuer_id,
        client_id,
        user_id,
        session_id: None,
        scopes: vec!["openid".to_owned(), "offline_access".to_owned()],
        auth_time: T0,
        amr: vec!["pwd".to_owned()],
        acr: None,
        created_at: T0,
        expires_at: T0.plus_seconds(86_400),
        revoked_at: None,
    }
}

fn refresh(family: &TokenFamily, secret_hash: [u8; 32], expires_at: UnixTime) -> RefreshToken {
    RefreshToken {
        secret_hash,
        issuer_id: family.issuer_id,
        family_id: family.id,
        created_at: T0,
        expires_at,
        used_at: None,
    }
}

fn access(
    issuer_id: IssuerId,
    client_id: ClientId,
    family_id: Option<FamilyId>,
    secret_hash: [u8; 32],
) -> OpaqueAccessToken {
    OpaqueAccessToken {
        secret_hash,
        issuer_id,
        family_id,
        client_id,
        claims: json!({"sub": "usr_0", "scope": "openid", "exp": T0.0 + 300}),
        expires_at: T0.plus_seconds(300),
        revoked_at: None,
    }
}

/// Interactions keep every field; an update at the read revision bumps it, a stale one is
/// `Conflict`, an unknown one `NotFound`.
pub async fn interactions_round_trip_and_update_at_their_revision(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, c) = user_and_client(&*store, &acme).await;
    let pending = interaction(acme.id, c.id, T0.plus_seconds(600));
    store.interactions().create(scope, &pending).await.unwrap();
    assert_eq!(
        store.interactions().find(scope, pending.id).await.unwrap(),
        Some(pending.clone())
    );

    let authenticated = Interaction {
        user_id: Some(u.id),
        auth_time: Some(T0.plus_seconds(30)),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        request: json!({"response_type": "code", "scope": "openid", "prompt": "none"}),
        expires_at: T0.plus_seconds(900),
        ..pending.clone()
    };
    let updated = store
        .interactions()
        .update(scope, &authenticated)
        .await
        .unwrap();
    assert_eq!(
        updated,
        Interaction {
            revision: 2,
            ..authenticated.clone()
        }
    );
    assert_eq!(
        store.interactions().find(scope, pending.id).await.unwrap(),
        Some(updated.clone())
    );
    // Written from the revision-1 read: someone else changed it since.
    assert!(matches!(
        store.interactions().update(scope, &authenticated).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        store
            .interactions()
            .update(scope, &interaction(acme.id, c.id, T0))
            .await,
        Err(StoreError::NotFound)
    ));
}

/// An interaction is consumed once; a second attempt, or one after it expired, is `NotFound`
/// (and an expired one is left in place).
pub async fn an_interaction_is_consumed_once_and_not_after_it_expires(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (_, c) = user_and_client(&*store, &acme).await;
    let pending = interaction(acme.id, c.id, T0.plus_seconds(60));
    store.interactions().create(scope, &pending).await.unwrap();
    let finished = store
        .interactions()
        .consume(scope, pending.id, T0.plus_seconds(59))
        .await
        .unwrap();
    assert_eq!(finished, pending);
    assert!(matches!(
        store
            .interactions()
            .consume(scope, pending.id, T0.plus_seconds(59))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.interactions().find(scope, pending.id).await.unwrap(),
        None
    );

    let expiring = interaction(acme.id, c.id, T0.plus_seconds(60));
    store.interactions().create(scope, &expiring).await.unwrap();
    assert!(matches!(
        store
            .interactions()
            .consume(scope, expiring.id, T0.plus_seconds(60))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.interactions().find(scope, expiring.id).await.unwrap(),
        Some(expiring)
    );
}

/// N tasks race to finish one interaction: exactly one gets it, every other `NotFound`.
pub async fn concurrent_finishers_of_one_interaction_have_exactly_one_winner(
    store: Arc<dyn Store>,
) {
    const RACERS: usize = 24;
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (_, c) = user_and_client(&*store, &acme).await;
    for round in 0..5 {
        let pending = interaction(acme.id, c.id, T0.plus_seconds(60));
        store.interactions().create(scope, &pending).await.unwrap();
        let racers = race(RACERS, |_| {
            let store = store.clone();
            let id = pending.id;
            async move { store.interactions().consume(scope, id, T0).await }
        })
        .await;
        let mut winners = 0;
        let mut losers = 0;
        for racer in racers {
            match racer {
                Ok(won) => {
                    assert_eq!(won.id, pending.id);
                    winners += 1;
                }
                Err(StoreError::NotFound) => losers += 1,
                Err(other) => panic!("unexpected error from a racer: {other:?}"),
            }
        }
        assert_eq!((winners, losers), (1, RACERS - 1), "round {round}");
    }
}

/// Sessions keep every field, are found by id and by secret, listed newest first, and end
/// once: ending again is `Ok(false)` and writes no second event.
pub async fn sessions_round_trip_and_end_once(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, c) = user_and_client(&*store, &acme).await;
    let older = session(acme.id, u.id, [1; 32]);
    let newer = Session {
        created_at: T0.plus_seconds(10),
        acr: None,
        amr: vec!["pwd".to_owned()],
        ..session(acme.id, u.id, [2; 32])
    };
    for s in [&older, &newer] {
        store
            .sessions()
            .create(scope, s, &event("session.created", s.id))
            .await
            .unwrap();
    }
    assert_eq!(
        store.sessions().find(scope, older.id).await.unwrap(),
        Some(older.clone())
    );
    assert_eq!(
        store
            .sessions()
            .find_by_secret(scope, &[2; 32])
            .await
            .unwrap(),
        Some(newer.clone())
    );
    assert_eq!(
        store
            .sessions()
            .find_by_secret(scope, &[3; 32])
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.sessions().list_by_user(scope, u.id).await.unwrap(),
        vec![newer.clone(), older.clone()]
    );
    assert!(matches!(
        store
            .sessions()
            .create(
                scope,
                &session(acme.id, u.id, [1; 32]),
                &event("session.created", "dup")
            )
            .await,
        Err(StoreError::AlreadyExists { .. })
    ));

    let at = T0.plus_seconds(20);
    let logout = deliveries::logout_delivery(acme.id, c.id, at);
    assert!(
        store
            .sessions()
            .end(
                scope,
                older.id,
                at,
                &event("session.ended", older.id),
                std::slice::from_ref(&logout)
            )
            .await
            .unwrap()
    );
    // Ending it again writes neither the event nor its deliveries.
    assert!(
        !store
            .sessions()
            .end(
                scope,
                older.id,
                at.plus_seconds(1),
                &event("session.ended", older.id),
                &[deliveries::logout_delivery(acme.id, c.id, at)]
            )
            .await
            .unwrap()
    );
    assert!(matches!(
        store
            .sessions()
            .end(
                scope,
                SessionId::new(),
                at,
                &event("session.ended", "none"),
                &[deliveries::logout_delivery(acme.id, c.id, at)]
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let written = store
        .deliveries()
        .list(scope, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(written.items, vec![logout]);
    let ended = store
        .sessions()
        .find(scope, older.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.ended_at, Some(at));
    assert!(!ended.is_active(at));
    assert_eq!(
        event_types(&*store, scope).await,
        [
            "issuer.created",
            "user.created",
            "client.created",
            "session.created",
            "session.created",
            "session.ended"
        ]
    );
}

/// The clients of a session are recorded once each, listed in the order first seen; a
/// session or client that does not exist is `NotFound`.
pub async fn session_clients_are_recorded_once_in_the_order_first_seen(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, first) = user_and_client(&*store, &acme).await;
    let second = another_client(&*store, &acme, "Second").await;
    let third = another_client(&*store, &acme, "Third").await;
    let s = session(acme.id, u.id, [1; 32]);
    store
        .sessions()
        .create(scope, &s, &event("session.created", s.id))
        .await
        .unwrap();
    assert!(
        store
            .sessions()
            .list_clients(scope, s.id)
            .await
            .unwrap()
            .is_empty()
    );
    for c in [&second, &first, &second, &third, &first] {
        store
            .sessions()
            .add_client(scope, s.id, c.id)
            .await
            .unwrap();
    }
    assert_eq!(
        store.sessions().list_clients(scope, s.id).await.unwrap(),
        vec![second.id, first.id, third.id]
    );
    assert!(matches!(
        store
            .sessions()
            .add_client(scope, SessionId::new(), first.id)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .sessions()
            .add_client(scope, s.id, ClientId::new())
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Saving a consent twice for one user and client keeps one row, its id and `created_at`;
/// withdrawing it revokes the families (and their access tokens) of that pair only.
pub async fn grants_are_one_per_user_and_client_and_their_withdrawal_revokes_families(
    store: Arc<dyn Store>,
) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, c) = user_and_client(&*store, &acme).await;
    let other = another_client(&*store, &acme, "Other").await;
    let first = grant(acme.id, u.id, c.id, &["openid"]);
    let saved = store
        .grants()
        .save(scope, &first, &event("grant.saved", first.id))
        .await
        .unwrap();
    assert_eq!(saved, first);
    assert_eq!(
        store.grants().find(scope, u.id, c.id).await.unwrap(),
        Some(first.clone())
    );

    let grown = Grant {
        id: GrantId::new(),
        created_at: T0.plus_seconds(100),
        updated_at: T0.plus_seconds(100),
        ..grant(acme.id, u.id, c.id, &["email", "openid"])
    };
    let saved = store
        .grants()
        .save(scope, &grown, &event("grant.saved", first.id))
        .await
        .unwrap();
    let expected = Grant {
        id: first.id,
        created_at: T0,
        updated_at: T0.plus_seconds(100),
        scopes: vec!["email".to_owned(), "openid".to_owned()],
        ..first.clone()
    };
    assert_eq!(saved, expected);
    assert_eq!(
        store.grants().find(scope, u.id, c.id).await.unwrap(),
        Some(expected.clone())
    );
    let later = Grant {
        created_at: T0.plus_seconds(200),
        updated_at: T0.plus_seconds(200),
        ..grant(acme.id, u.id, other.id, &["openid"])
    };
    store
        .grants()
        .save(scope, &later, &event("grant.saved", later.id))
        .await
        .unwrap();
    assert_eq!(
        store.grants().list_by_user(scope, u.id).await.unwrap(),
        vec![expected.clone(), later.clone()]
    );

    let doomed = family(acme.id, u.id, c.id);
    let spared = family(acme.id, u.id, other.id);
    let (doomed_access, spared_access) = ([41; 32], [42; 32]);
    for (f, secret) in [(&doomed, doomed_access), (&spared, spared_access)] {
        store.tokens().create_family(scope, f, None).await.unwrap();
        store
            .tokens()
            .create_access(scope, &access(acme.id, f.client_id, Some(f.id), secret))
            .await
            .unwrap();
    }
    let at = T0.plus_seconds(300);
    store
        .grants()
        .delete(scope, u.id, c.id, at, &event("grant.deleted", first.id))
        .await
        .unwrap();
    assert_eq!(store.grants().find(scope, u.id, c.id).await.unwrap(), None);
    let doomed_now = store
        .tokens()
        .find_family(scope, doomed.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(doomed_now.revoked_at, Some(at));
    let spared_now = store
        .tokens()
        .find_family(scope, spared.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(spared_now.revoked_at, None);
    let revoked_at = |t: Option<OpaqueAccessToken>| t.unwrap().revoked_at;
    assert_eq!(
        revoked_at(
            store
                .tokens()
                .find_access(scope, &doomed_access)
                .await
                .unwrap()
        ),
        Some(at)
    );
    assert_eq!(
        revoked_at(
            store
                .tokens()
                .find_access(scope, &spared_access)
                .await
                .unwrap()
        ),
        None
    );
    assert!(matches!(
        store
            .grants()
            .delete(scope, u.id, c.id, at, &event("grant.deleted", first.id))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        event_types(&*store, scope).await[4..],
        ["grant.saved", "grant.saved", "grant.saved", "grant.deleted"]
    );
}

/// Rotation: the current token rotates, its successor works, and presenting a used token
/// again is `Reused` and revokes the family, after which even the successor is `NotFound`.
pub async fn a_reused_refresh_token_revokes_its_family(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, c) = user_and_client(&*store, &acme).await;
    let f = TokenFamily {
        session_id: Some(SessionId::new()),
        acr: Some("urn:tessera:mfa".to_owned()),
        ..family(acme.id, u.id, c.id)
    };
    let expires = T0.plus_seconds(3600);
    let r1 = refresh(&f, [1; 32], expires);
    store
        .tokens()
        .create_family(scope, &f, Some(&r1))
        .await
        .unwrap();
    assert_eq!(
        store.tokens().find_family(scope, f.id).await.unwrap(),
        Some(f.clone())
    );
    assert_eq!(
        store.tokens().find_refresh(scope, &[1; 32]).await.unwrap(),
        Some(r1.clone())
    );

    // The store fills in the family of the successor from the presented token.
    let orphan = FamilyId::new();
    let r2 = RefreshToken {
        family_id: orphan,
        created_at: T0.plus_seconds(10),
        ..refresh(&f, [2; 32], expires)
    };
    let t1 = T0.plus_seconds(10);
    assert_eq!(
        store
            .tokens()
            .rotate_refresh(scope, &[1; 32], &r2, t1, &reuse)
            .await
            .unwrap(),
        Rotation::Rotated(f.clone())
    );
    assert_eq!(
        store
            .tokens()
            .find_refresh(scope, &[1; 32])
            .await
            .unwrap()
            .unwrap()
            .used_at,
        Some(t1)
    );
    assert_eq!(
        store.tokens().find_refresh(scope, &[2; 32]).await.unwrap(),
        Some(RefreshToken {
            family_id: f.id,
            ..r2.clone()
        })
    );
    let t2 = T0.plus_seconds(20);
    assert_eq!(
        store
            .tokens()
            .rotate_refresh(scope, &[2; 32], &refresh(&f, [3; 32], expires), t2, &reuse)
            .await
            .unwrap(),
        Rotation::Rotated(f.clone())
    );

    // [1; 32] was used at t1: presenting it again ends the family.
    let t3 = T0.plus_seconds(30);
    assert_eq!(
        store
            .tokens()
            .rotate_refresh(scope, &[1; 32], &refresh(&f, [4; 32], expires), t3, &reuse)
            .await
            .unwrap(),
        Rotation::Reused(f.id)
    );
    assert_eq!(
        store.tokens().find_refresh(scope, &[4; 32]).await.unwrap(),
        None
    );
    let revoked = store
        .tokens()
        .find_family(scope, f.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(t3));
    // The current token of the revoked family no longer rotates, and is left unused.
    assert!(matches!(
        store
            .tokens()
            .rotate_refresh(scope, &[3; 32], &refresh(&f, [5; 32], expires), t3, &reuse)
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .tokens()
            .find_refresh(scope, &[3; 32])
            .await
            .unwrap()
            .unwrap()
            .used_at,
        None
    );
    assert_eq!(
        store.tokens().find_refresh(scope, &[5; 32]).await.unwrap(),
        None
    );
    // A later replay is still reported, and the revocation time stays the first one.
    assert_eq!(
        store
            .tokens()
            .rotate_refresh(
                scope,
                &[2; 32],
                &refresh(&f, [6; 32], expires),
                t3.plus_seconds(5),
                &reuse
            )
            .await
            .unwrap(),
        Rotation::Reused(f.id)
    );
    assert_eq!(
        store
            .tokens()
            .find_family(scope, f.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(t3)
    );
}

/// N tasks present one fresh refresh token at once: exactly one rotates, every other sees a
/// reuse, and the family ends revoked, with exactly one reuse event.
pub async fn concurrent_rotations_of_one_refresh_token_have_exactly_one_winner(
    store: Arc<dyn Store>,
) {
    const RACERS: usize = 24;
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, c) = user_and_client(&*store, &acme).await;
    for round in 0..3u8 {
        let f = family(acme.id, u.id, c.id);
        let presented = [200 + round; 32];
        store
            .tokens()
            .create_family(
                scope,
                &f,
                Some(&refresh(&f, presented, T0.plus_seconds(60))),
            )
            .await
            .unwrap();
        let racers = race(RACERS, |i| {
            let store = store.clone();
            let mut secret = [round; 32];
            secret[0] = u8::try_from(i).unwrap();
            let next = refresh(&f, secret, T0.plus_seconds(60));
            async move {
                store
                    .tokens()
                    .rotate_refresh(scope, &presented, &next, T0, &reuse)
                    .await
            }
        })
        .await;
        let mut rotated = 0;
        let mut reused = 0;
        for racer in racers {
            match racer {
                Ok(Rotation::Rotated(won)) => {
                    assert_eq!(won.id, f.id);
                    rotated += 1;
                }
                Ok(Rotation::Reused(id)) => {
                    assert_eq!(id, f.id);
                    reused += 1;
                }
                Err(other) => panic!("unexpected error from a racer: {other:?}"),
            }
        }
        assert_eq!((rotated, reused), (1, RACERS - 1), "round {round}");
        let after = store
            .tokens()
            .find_family(scope, f.id)
            .await
            .unwrap()
            .unwrap();
        assert!(after.revoked_at.is_some(), "round {round}");
        // The revocation and its event are one write, by the one presenter that revoked.
        let reuses = event_types(&*store, scope)
            .await
            .iter()
            .filter(|t| *t == "token.refresh_reuse_detected")
            .count();
        assert_eq!(reuses, usize::from(round) + 1, "round {round}");
    }
}

/// An unknown or expired refresh token, or one whose family is revoked or expired, is
/// `NotFound` and changes nothing; `revoke_family` reports whether it revoked.
pub async fn dead_refresh_tokens_and_families_do_not_rotate(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, c) = user_and_client(&*store, &acme).await;
    let now = T0.plus_seconds(100);
    let rotate = |presented: [u8; 32], f: &TokenFamily| {
        let store = store.clone();
        let next = refresh(f, [99; 32], T0.plus_seconds(1000));
        async move {
            store
                .tokens()
                .rotate_refresh(scope, &presented, &next, now, &reuse)
                .await
        }
    };

    let live = family(acme.id, u.id, c.id);
    let expired_token = refresh(&live, [1; 32], now);
    store
        .tokens()
        .create_family(scope, &live, Some(&expired_token))
        .await
        .unwrap();
    assert!(matches!(
        rotate([1; 32], &live).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        rotate([7; 32], &live).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.tokens().find_refresh(scope, &[1; 32]).await.unwrap(),
        Some(expired_token)
    );

    let lapsed = TokenFamily {
        expires_at: now,
        ..family(acme.id, u.id, c.id)
    };
    let fresh = refresh(&lapsed, [2; 32], T0.plus_seconds(1000));
    store
        .tokens()
        .create_family(scope, &lapsed, Some(&fresh))
        .await
        .unwrap();
    assert!(matches!(
        rotate([2; 32], &lapsed).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.tokens().find_refresh(scope, &[2; 32]).await.unwrap(),
        Some(fresh)
    );

    let revoked = family(acme.id, u.id, c.id);
    let current = refresh(&revoked, [3; 32], T0.plus_seconds(1000));
    store
        .tokens()
        .create_family(scope, &revoked, Some(&current))
        .await
        .unwrap();
    assert!(
        store
            .tokens()
            .revoke_family(scope, revoked.id, now, None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .tokens()
            .revoke_family(scope, revoked.id, now.plus_seconds(1), None)
            .await
            .unwrap()
    );
    assert!(matches!(
        store
            .tokens()
            .revoke_family(scope, FamilyId::new(), now, None)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        rotate([3; 32], &revoked).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.tokens().find_refresh(scope, &[3; 32]).await.unwrap(),
        Some(current)
    );
    assert_eq!(
        store.tokens().find_refresh(scope, &[99; 32]).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .tokens()
            .find_family(scope, revoked.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(now)
    );
    assert_eq!(
        store
            .tokens()
            .find_family(scope, live.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
}

/// Opaque access tokens keep every field and are revoked once; revoking their family revokes
/// them too.
pub async fn opaque_access_tokens_are_stored_found_and_revoked(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, c) = user_and_client(&*store, &acme).await;
    let machine = access(acme.id, c.id, None, [1; 32]);
    store.tokens().create_access(scope, &machine).await.unwrap();
    assert_eq!(
        store.tokens().find_access(scope, &[1; 32]).await.unwrap(),
        Some(machine.clone())
    );
    assert!(matches!(
        store.tokens().create_access(scope, &machine).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    let at = T0.plus_seconds(5);
    assert!(
        store
            .tokens()
            .revoke_access(scope, &[1; 32], at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .tokens()
            .revoke_access(scope, &[1; 32], at.plus_seconds(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .tokens()
            .revoke_access(scope, &[2; 32], at)
            .await
            .unwrap()
    );
    assert_eq!(
        store.tokens().find_access(scope, &[1; 32]).await.unwrap(),
        Some(OpaqueAccessToken {
            revoked_at: Some(at),
            ..machine
        })
    );

    let f = family(acme.id, u.id, c.id);
    store.tokens().create_family(scope, &f, None).await.unwrap();
    let issued = access(acme.id, c.id, Some(f.id), [3; 32]);
    store.tokens().create_access(scope, &issued).await.unwrap();
    assert!(
        store
            .tokens()
            .revoke_family(scope, f.id, at, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.tokens().find_access(scope, &[3; 32]).await.unwrap(),
        Some(OpaqueAccessToken {
            revoked_at: Some(at),
            ..issued
        })
    );
}

/// Two issuers whose sessions and tokens share the same hashes: neither can find, end,
/// consume, rotate or revoke the other's, and the owner's records are left as they were.
pub async fn flow_records_of_one_issuer_are_invisible_to_another(store: Arc<dyn Store>) {
    let (a, scope_a) = create_issuer(&*store, "tenant-a").await;
    let (b, scope_b) = create_issuer(&*store, "tenant-b").await;
    let (user_a, client_a) = user_and_client(&*store, &a).await;
    let (user_b, client_b) = user_and_client(&*store, &b).await;
    let h = [5; 32];

    let pending = interaction(a.id, client_a.id, T0.plus_seconds(60));
    store
        .interactions()
        .create(scope_a, &pending)
        .await
        .unwrap();
    let session_a = session(a.id, user_a.id, h);
    let session_b = session(b.id, user_b.id, h);
    for (scope, s) in [(scope_a, &session_a), (scope_b, &session_b)] {
        store
            .sessions()
            .create(scope, s, &event("session.created", s.id))
            .await
            .unwrap();
    }
    store
        .sessions()
        .add_client(scope_a, session_a.id, client_a.id)
        .await
        .unwrap();
    let grant_a = grant(a.id, user_a.id, client_a.id, &["openid"]);
    store
        .grants()
        .save(scope_a, &grant_a, &event("grant.saved", grant_a.id))
        .await
        .unwrap();
    let family_a = family(a.id, user_a.id, client_a.id);
    let refresh_a = refresh(&family_a, h, T0.plus_seconds(600));
    store
        .tokens()
        .create_family(scope_a, &family_a, Some(&refresh_a))
        .await
        .unwrap();
    let access_a = access(a.id, client_a.id, Some(family_a.id), h);
    store
        .tokens()
        .create_access(scope_a, &access_a)
        .await
        .unwrap();
    let events_b = event_types(&*store, scope_b).await;

    // Reads through B find nothing of A's (B's own session with the same hash is B's).
    assert_eq!(
        store
            .interactions()
            .find(scope_b, pending.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.sessions().find(scope_b, session_a.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.sessions().find_by_secret(scope_b, &h).await.unwrap(),
        Some(session_b.clone())
    );
    assert!(
        store
            .sessions()
            .list_by_user(scope_b, user_a.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .sessions()
            .list_clients(scope_b, session_a.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .grants()
            .find(scope_b, user_a.id, client_a.id)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .grants()
            .list_by_user(scope_b, user_a.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .tokens()
            .find_family(scope_b, family_a.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.tokens().find_refresh(scope_b, &h).await.unwrap(),
        None
    );
    assert_eq!(store.tokens().find_access(scope_b, &h).await.unwrap(), None);

    // Writes through B change nothing of A's.
    let mut hijack = pending.clone();
    hijack.user_id = Some(user_a.id);
    assert!(matches!(
        store.interactions().update(scope_b, &hijack).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.interactions().consume(scope_b, pending.id, T0).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .sessions()
            .add_client(scope_b, session_a.id, client_b.id)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .sessions()
            .add_client(scope_b, session_b.id, client_a.id)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .sessions()
            .end(
                scope_b,
                session_a.id,
                T0,
                &event("session.ended", session_a.id),
                &[]
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .grants()
            .delete(
                scope_b,
                user_a.id,
                client_a.id,
                T0,
                &event("grant.deleted", grant_a.id)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .tokens()
            .revoke_family(scope_b, family_a.id, T0, None)
            .await,
        Err(StoreError::NotFound)
    ));
    let next = refresh(&family_a, [6; 32], T0.plus_seconds(600));
    assert!(matches!(
        store
            .tokens()
            .rotate_refresh(scope_b, &h, &next, T0, &reuse)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(!store.tokens().revoke_access(scope_b, &h, T0).await.unwrap());
    assert_eq!(event_types(&*store, scope_b).await, events_b);

    assert_eq!(
        store
            .interactions()
            .find(scope_a, pending.id)
            .await
            .unwrap(),
        Some(pending)
    );
    assert_eq!(
        store.sessions().find(scope_a, session_a.id).await.unwrap(),
        Some(session_a.clone())
    );
    assert_eq!(
        store
            .sessions()
            .list_clients(scope_a, session_a.id)
            .await
            .unwrap(),
        vec![client_a.id]
    );
    assert_eq!(
        store
            .grants()
            .find(scope_a, user_a.id, client_a.id)
            .await
            .unwrap(),
        Some(grant_a)
    );
    assert_eq!(
        store
            .tokens()
            .find_family(scope_a, family_a.id)
            .await
            .unwrap(),
        Some(family_a.clone())
    );
    assert_eq!(
        store.tokens().find_refresh(scope_a, &h).await.unwrap(),
        Some(refresh_a)
    );
    assert_eq!(
        store.tokens().find_access(scope_a, &h).await.unwrap(),
        Some(access_a)
    );
    // And A's token still rotates in A.
    assert_eq!(
        store
            .tokens()
            .rotate_refresh(scope_a, &h, &next, T0, &reuse)
            .await
            .unwrap(),
        Rotation::Rotated(family_a)
    );
}

/// Deleting a client removes its interactions, consents, families (with their tokens) and
/// its place in sessions; deleting a user removes their sessions, consents, interactions and
/// families; deleting the issuer removes what is left.
pub async fn deleting_a_user_or_a_client_removes_their_flow_records(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (u, doomed) = user_and_client(&*store, &acme).await;
    let kept = another_client(&*store, &acme, "Kept").await;

    let s = session(acme.id, u.id, [1; 32]);
    store
        .sessions()
        .create(scope, &s, &event("session.created", s.id))
        .await
        .unwrap();
    let mut families = Vec::new();
    for (i, c) in [&doomed, &kept].into_iter().enumerate() {
        let n = u8::try_from(i).unwrap() * 10;
        store
            .sessions()
            .add_client(scope, s.id, c.id)
            .await
            .unwrap();
        let g = grant(acme.id, u.id, c.id, &["openid"]);
        store
            .grants()
            .save(scope, &g, &event("grant.saved", g.id))
            .await
            .unwrap();
        let f = family(acme.id, u.id, c.id);
        store
            .tokens()
            .create_family(
                scope,
                &f,
                Some(&refresh(&f, [n + 1; 32], T0.plus_seconds(60))),
            )
            .await
            .unwrap();
        store
            .tokens()
            .create_access(scope, &access(acme.id, c.id, Some(f.id), [n + 2; 32]))
            .await
            .unwrap();
        store
            .tokens()
            .create_access(scope, &access(acme.id, c.id, None, [n + 3; 32]))
            .await
            .unwrap();
        families.push(f);
    }
    let with_user = Interaction {
        user_id: Some(u.id),
        ..interaction(acme.id, doomed.id, T0.plus_seconds(60))
    };
    let of_user = Interaction {
        user_id: Some(u.id),
        ..interaction(acme.id, kept.id, T0.plus_seconds(60))
    };
    let anonymous = interaction(acme.id, kept.id, T0.plus_seconds(60));
    for i in [&with_user, &of_user, &anonymous] {
        store.interactions().create(scope, i).await.unwrap();
    }

    store
        .clients()
        .delete(scope, doomed.id, None, &event("client.deleted", doomed.id))
        .await
        .unwrap();
    assert_eq!(
        store
            .interactions()
            .find(scope, with_user.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.grants().find(scope, u.id, doomed.id).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .tokens()
            .find_family(scope, families[0].id)
            .await
            .unwrap(),
        None
    );
    for secret in [1, 2, 3] {
        assert_eq!(
            store
                .tokens()
                .find_refresh(scope, &[secret; 32])
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .tokens()
                .find_access(scope, &[secret; 32])
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        store.sessions().list_clients(scope, s.id).await.unwrap(),
        vec![kept.id]
    );
    assert!(
        store
            .grants()
            .find(scope, u.id, kept.id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .tokens()
            .find_refresh(scope, &[11; 32])
            .await
            .unwrap()
            .is_some()
    );

    store
        .users()
        .delete(scope, u.id, None, &event("user.deleted", u.id))
        .await
        .unwrap();
    assert_eq!(store.sessions().find(scope, s.id).await.unwrap(), None);
    assert!(
        store
            .sessions()
            .list_by_user(scope, u.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .sessions()
            .list_clients(scope, s.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .grants()
            .list_by_user(scope, u.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .tokens()
            .find_family(scope, families[1].id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.tokens().find_refresh(scope, &[11; 32]).await.unwrap(),
        None
    );
    assert_eq!(
        store.tokens().find_access(scope, &[12; 32]).await.unwrap(),
        None
    );
    assert_eq!(
        store.interactions().find(scope, of_user.id).await.unwrap(),
        None
    );
    // Neither the user's nor the deleted client's: a client-credentials token and an
    // interaction nobody has signed in to yet stay with their client.
    assert!(
        store
            .tokens()
            .find_access(scope, &[13; 32])
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .interactions()
            .find(scope, anonymous.id)
            .await
            .unwrap()
            .is_some()
    );

    let (_, audit) = create_issuer(&*store, "audit").await;
    store
        .issuers()
        .delete(acme.id, audit, &event("issuer.deleted", acme.id))
        .await
        .unwrap();
    assert_eq!(
        store.tokens().find_access(scope, &[13; 32]).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .interactions()
            .find(scope, anonymous.id)
            .await
            .unwrap(),
        None
    );
}

/// A ticket is found by kind and hash whether consumed or not, and only in its issuer.
pub async fn a_ticket_is_found_consumed_or_not(store: Arc<dyn Store>) {
    let (acme, scope) = create_issuer(&*store, "acme").await;
    let (_, other) = create_issuer(&*store, "other").await;
    let code = ticket(acme.id, [3; 32], T0.plus_seconds(60));
    store.tickets().create(scope, &code).await.unwrap();
    let find = |scope, kind| {
        let store = store.clone();
        async move { store.tickets().find(scope, kind, &[3; 32]).await.unwrap() }
    };
    assert_eq!(
        find(scope, TicketKind::AuthorizationCode).await,
        Some(code.clone())
    );
    assert_eq!(find(scope, TicketKind::PasswordReset).await, None);
    assert_eq!(find(other, TicketKind::AuthorizationCode).await, None);
    store
        .tickets()
        .consume(scope, TicketKind::AuthorizationCode, &[3; 32], T0)
        .await
        .unwrap();
    assert_eq!(
        find(scope, TicketKind::AuthorizationCode).await,
        Some(Ticket {
            consumed_at: Some(T0),
            ..code
        })
    );
}

/// The event the presenter whose reuse revokes a family writes.
fn reuse(family: FamilyId) -> NewEvent {
    event("token.refresh_reuse_detected", family)
}

/// The longest access- or ID-token lifetime override of an issuer's clients, for key
/// retirement; other issuers' clients do not count.
pub async fn the_longest_client_lifetime_override_is_found_per_issuer(store: Arc<dyn Store>) {
    let (acme, acme_scope) = create_issuer(&*store, "acme").await;
    let (_, globex_scope) = create_issuer(&*store, "globex").await;
    let longest = |scope| {
        let store = store.clone();
        async move {
            store
                .clients()
                .longest_lifetime_override(scope)
                .await
                .unwrap()
        }
    };
    assert_eq!(longest(acme_scope).await, None);
    let mut plain = client(acme.id, "Plain");
    plain.token_settings = ClientTokenSettings::default();
    let mut long_id = client(acme.id, "Long ID tokens");
    long_id.token_settings = ClientTokenSettings::default()
        .with_access_token_lifetime(Some(600))
        .and_then(|s| s.with_id_token_lifetime(Some(50_000)))
        .unwrap();
    let mut long_access = client(acme.id, "Long access tokens");
    long_access.token_settings = ClientTokenSettings::default()
        .with_access_token_lifetime(Some(40_000))
        .unwrap();
    for c in [&plain, &long_id, &long_access] {
        store
            .clients()
            .create(acme_scope, c, &event("client.created", c.id))
            .await
            .unwrap();
    }
    assert_eq!(longest(acme_scope).await, Some(50_000));
    assert_eq!(longest(globex_scope).await, None);
}
