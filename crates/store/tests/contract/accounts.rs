//! Who may get in: unique usernames, credentials for login, API keys found by prefix, refresh
//! tokens that rotate once; deleting a user or revoking a key shuts them out.

use anyhow::Context as _;
use switchboard_core::{Role, UserId};
use switchboard_store::{NewApiKey, PageRequest, Rotation, UserUpdate};
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{
    TestResult, assert_conflict, assert_not_found, new_user, open, refresh_token,
};

backend_tests!(
    usernames_are_unique_and_deleted_users_lose_access,
    api_keys_are_found_by_prefix_until_revoked,
    refresh_tokens_rotate_once_and_reuse_revokes_the_family,
);

async fn usernames_are_unique_and_deleted_users_lose_access(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let first = store.create_tenant("first".into()).await?;
    let second = store.create_tenant("second".into()).await?;
    let alice = store.create_user(first.id, new_user("alice")).await?;
    // Login names are unique across the installation, not per tenant.
    assert_conflict(store.create_user(second.id, new_user("alice")).await);

    let credentials = store
        .find_credentials("alice")
        .await?
        .context("alice can log in")?;
    assert_eq!(credentials.user, alice);
    assert_eq!(credentials.password_hash, "$argon2id$hash-of-alice");
    assert!(store.find_credentials("nobody").await?.is_none());

    let update = UserUpdate {
        role: Some(Role::Admin),
        password_hash: Some("$argon2id$new".into()),
        ..Default::default()
    };
    let updated = store.update_user(first.id, alice.id, update).await?;
    assert_eq!(updated.role, Role::Admin);
    let credentials = store
        .find_credentials("alice")
        .await?
        .context("alice can log in")?;
    assert_eq!(credentials.password_hash, "$argon2id$new");

    let key = NewApiKey {
        user_id: alice.id,
        name: "ci".into(),
        role: Role::Agent,
        prefix: "sb_alice".into(),
        key_hash: "hash".into(),
    };
    store.create_api_key(first.id, key).await?;
    let family = uuid::Uuid::now_v7().to_string();
    store
        .insert_refresh_token(refresh_token(alice.id, &family, "token-1", 3600))
        .await?;
    let bob = store.create_user(first.id, new_user("bob")).await?;

    store.delete_user(first.id, alice.id).await?;
    assert!(
        store.find_credentials("alice").await?.is_none(),
        "a deleted user cannot log in"
    );
    assert!(store.find_user(alice.id).await?.is_none());
    assert_not_found(store.get_user(first.id, alice.id).await);
    assert!(
        store.find_api_key("sb_alice").await?.is_none(),
        "their API keys are revoked"
    );
    let rotation = store
        .rotate_refresh_token("token-1".into(), |user_id, family| {
            refresh_token(user_id, &family, "token-2", 3600)
        })
        .await?;
    assert_ne!(
        rotation,
        Rotation::Rotated { user_id: alice.id },
        "their sessions are revoked"
    );
    assert_eq!(
        store
            .list_users(first.id, &PageRequest::default())
            .await?
            .data,
        vec![bob]
    );
    assert_not_found(store.delete_user(first.id, alice.id).await);
    assert_not_found(
        store
            .update_user(first.id, alice.id, UserUpdate::default())
            .await,
    );
    Ok(())
}

async fn api_keys_are_found_by_prefix_until_revoked(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let tenant = store.create_tenant("acme".into()).await?;
    let user = store.create_user(tenant.id, new_user("owner")).await?;
    let new_key = |prefix: &str| NewApiKey {
        user_id: user.id,
        name: format!("key {prefix}"),
        role: Role::Viewer,
        prefix: prefix.to_owned(),
        key_hash: format!("sha256-of-{prefix}"),
    };
    let key = store
        .create_api_key(tenant.id, new_key("sb_live_1"))
        .await?;
    let other = store
        .create_api_key(tenant.id, new_key("sb_live_2"))
        .await?;
    assert_conflict(store.create_api_key(tenant.id, new_key("sb_live_1")).await);

    let (found, hash) = store
        .find_api_key("sb_live_1")
        .await?
        .context("key is found by prefix")?;
    assert_eq!(found, key);
    assert_eq!(hash, "sha256-of-sb_live_1");
    assert!(found.last_used_at.is_none());
    store.touch_api_key(key.id).await?;
    let (found, _) = store
        .find_api_key("sb_live_1")
        .await?
        .context("key is found by prefix")?;
    assert!(found.last_used_at.is_some(), "use is recorded");
    assert_eq!(
        store
            .list_api_keys(tenant.id, &PageRequest::default())
            .await?
            .data
            .len(),
        2
    );

    store.revoke_api_key(tenant.id, key.id).await?;
    assert!(
        store.find_api_key("sb_live_1").await?.is_none(),
        "a revoked key no longer authenticates"
    );
    assert!(
        store.find_api_key("sb_live_2").await?.is_some(),
        "other keys are untouched"
    );
    let listed = store
        .list_api_keys(tenant.id, &PageRequest::default())
        .await?
        .data;
    assert_eq!(
        listed.iter().map(|key| key.id).collect::<Vec<_>>(),
        vec![other.id]
    );
    assert_not_found(store.revoke_api_key(tenant.id, key.id).await);
    Ok(())
}

async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let tenant = store.create_tenant("acme".into()).await?;
    let user = store.create_user(tenant.id, new_user("owner")).await?;
    let family = "family-1";
    store
        .insert_refresh_token(refresh_token(user.id, family, "first", 3600))
        .await?;

    let next = |name: &'static str| {
        move |user_id: UserId, family: String| refresh_token(user_id, &family, name, 3600)
    };
    assert_eq!(
        store
            .rotate_refresh_token("first".into(), next("second"))
            .await?,
        Rotation::Rotated { user_id: user.id }
    );
    // The spent token shows up again: it was copied, so the whole family dies.
    assert_eq!(
        store
            .rotate_refresh_token("first".into(), next("third"))
            .await?,
        Rotation::Reused
    );
    assert_ne!(
        store
            .rotate_refresh_token("second".into(), next("fourth"))
            .await?,
        Rotation::Rotated { user_id: user.id },
        "the successor of a reused token is revoked too"
    );
    assert_eq!(
        store
            .rotate_refresh_token("unknown".into(), next("x"))
            .await?,
        Rotation::Invalid
    );
    store
        .insert_refresh_token(refresh_token(user.id, "family-2", "stale", -1))
        .await?;
    assert_eq!(
        store
            .rotate_refresh_token("stale".into(), next("y"))
            .await?,
        Rotation::Invalid
    );
    Ok(())
}
