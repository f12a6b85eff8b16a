//! Contract cases of bulk insertion (`tessera dev seed`): seeded records are read back by the
//! ordinary repositories exactly as if they had been created one by one (every field, the
//! normalized email, the tenant scope), batches larger than one statement's bound parameters
//! are written whole, no event is written for them, and a batch with a taken slug or email is
//! refused whole.

use crate::{IssuerContents, SeedBatch};

use super::*;

/// `count` users of `issuer` with addresses `{prefix}{i}@Example.com` (mixed case, so the
/// normalized form differs from the address) and usernames `{prefix}{i}`.
fn seeded_users(issuer: IssuerId, prefix: &str, count: usize) -> Vec<User> {
    (0..count)
        .map(|i| {
            let username = format!("{prefix}{i:05}");
            user(
                issuer,
                &format!("{prefix}{i:05}@Example.com"),
                Some(&username),
            )
        })
        .collect()
}

fn seeded_key(issuer: IssuerId, algorithm: KeyAlgorithm, state: KeyState) -> SigningKey {
    SigningKey {
        algorithm,
        state,
        ..signing_key(issuer)
    }
}

/// New issuers with clients, users and keys, and thousands of users for an issuer stored
/// before, all in one batch: every record is found by the normal repositories, field for
/// field, only in its own issuer; no event is written.
pub async fn seeded_records_are_read_by_the_normal_repositories(store: Arc<dyn Store>) {
    let (existing, existing_scope) = create_issuer(&*store, "existing").await;
    let issuers: Vec<Issuer> = (1..=3).map(|i| issuer(&format!("seed-{i:05}"))).collect();
    let mut contents: Vec<IssuerContents> = issuers
        .iter()
        .map(|issuer| IssuerContents {
            scope: IssuerScope::of(issuer),
            clients: vec![client(issuer.id, "one"), client(issuer.id, "two")],
            // The same addresses in every issuer: unique per issuer, not overall.
            users: seeded_users(issuer.id, "Ada", 3),
            keys: vec![
                seeded_key(issuer.id, KeyAlgorithm::Es256, KeyState::Current),
                seeded_key(issuer.id, KeyAlgorithm::Es256, KeyState::Next),
                seeded_key(issuer.id, KeyAlgorithm::Rs256, KeyState::Current),
                seeded_key(issuer.id, KeyAlgorithm::Rs256, KeyState::Next),
            ],
        })
        .collect();
    // 16 columns a user: more than two statements' worth at 32,766 bound values each.
    let bulk = seeded_users(existing.id, "bulk", 4500);
    contents.push(IssuerContents {
        users: bulk.clone(),
        ..IssuerContents::empty(existing_scope)
    });
    store
        .seed()
        .insert(&SeedBatch {
            issuers: issuers.clone(),
            contents: contents.clone(),
        })
        .await
        .unwrap();
    // Settling (PostgreSQL: `VACUUM (ANALYZE)`) changes how rows are read, never what.
    store.seed().settle().await.unwrap();

    for (issuer, seeded) in issuers.iter().zip(&contents) {
        let scope = seeded.scope;
        assert_eq!(
            store.issuers().find_by_slug(&issuer.slug).await.unwrap(),
            Some(issuer.clone())
        );
        assert_eq!(
            store.issuers().find(issuer.id).await.unwrap(),
            Some(issuer.clone())
        );
        for client in &seeded.clients {
            assert_eq!(
                store.clients().find(scope, client.id).await.unwrap(),
                Some(client.clone())
            );
        }
        for user in &seeded.users {
            let email = user.email.as_ref().unwrap();
            assert_ne!(email.as_str(), email.normalized());
            assert_eq!(
                store
                    .users()
                    .find_by_email(scope, email.normalized())
                    .await
                    .unwrap(),
                Some(user.clone()),
                "found by the normalized address"
            );
            assert_eq!(
                store
                    .users()
                    .find_by_username(scope, user.username.as_deref().unwrap())
                    .await
                    .unwrap(),
                Some(user.clone())
            );
            assert_eq!(
                store.users().find(scope, user.id).await.unwrap(),
                Some(user.clone())
            );
        }
        assert_eq!(store.keys().list_active(scope).await.unwrap(), seeded.keys);
        assert_eq!(
            store.events().count(scope).await.unwrap(),
            0,
            "seeding writes no event"
        );
    }

    // Tenant isolation: another issuer's records are not found through this scope.
    let (first, second) = (&contents[0], &contents[1]);
    assert_eq!(
        store
            .clients()
            .find(second.scope, first.clients[0].id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .users()
            .find(second.scope, first.users[0].id)
            .await
            .unwrap(),
        None
    );

    // Every bulk user was written, in order, and reads back whole.
    let mut listed = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let found = store
            .users()
            .list(existing_scope, &UserListFilter::default(), page)
            .await
            .unwrap();
        listed.extend(found.items);
        match found.next_after {
            Some(after) => page = PageRequest::after(after, PageRequest::MAX_LIMIT),
            None => break,
        }
    }
    assert_eq!(listed, bulk);
    let last = bulk.last().unwrap();
    assert_eq!(
        store
            .users()
            .find_by_email(existing_scope, "bulk04499@example.com")
            .await
            .unwrap()
            .as_ref(),
        Some(last)
    );
    assert_eq!(
        event_types(&*store, existing_scope).await,
        ["issuer.created"],
        "the existing issuer's trail is as it was"
    );
}

/// A batch whose slug, or whose user's normalized email, is taken is refused as a whole:
/// nothing of it is written.
pub async fn seeding_a_taken_slug_or_email_writes_nothing(store: Arc<dyn Store>) {
    let (taken, taken_scope) = create_issuer(&*store, "seed-00002").await;
    let fresh = issuer("seed-00001");
    let clashing = issuer("seed-00002");
    let batch = SeedBatch {
        issuers: vec![fresh.clone(), clashing.clone()],
        contents: vec![IssuerContents {
            clients: vec![client(fresh.id, "one")],
            users: seeded_users(fresh.id, "ada", 2),
            ..IssuerContents::empty(IssuerScope::of(&fresh))
        }],
    };
    let refused = store.seed().insert(&batch).await.unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::AlreadyExists {
                entity: "issuer",
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(
        store.issuers().find_by_slug(&fresh.slug).await.unwrap(),
        None
    );
    assert_eq!(
        store.issuers().find(clashing.id).await.unwrap(),
        None,
        "the stored issuer keeps its slug"
    );
    assert_eq!(
        store.issuers().find(taken.id).await.unwrap(),
        Some(taken.clone())
    );

    // An address that differs only in case is the same address.
    let existing = user(taken.id, "ada@example.com", None);
    store
        .users()
        .create(taken_scope, &existing, &event("user.created", existing.id))
        .await
        .unwrap();
    let batch = SeedBatch {
        issuers: vec![fresh.clone()],
        contents: vec![
            IssuerContents {
                users: seeded_users(fresh.id, "ada", 2),
                ..IssuerContents::empty(IssuerScope::of(&fresh))
            },
            IssuerContents {
                users: vec![user(taken.id, "ADA@Example.com", None)],
                ..IssuerContents::empty(taken_scope)
            },
        ],
    };
    let refused = store.seed().insert(&batch).await.unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::AlreadyExists {
                entity: "user",
                field: "email"
            }
        ),
        "{refused:?}"
    );
    assert_eq!(
        store.issuers().find_by_slug(&fresh.slug).await.unwrap(),
        None
    );
    let listed = store
        .users()
        .list(
            taken_scope,
            &UserListFilter::default(),
            PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(listed.items, vec![existing]);
}
