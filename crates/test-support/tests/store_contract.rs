//! The store contract: what every caller of `switchboard_store::Store` relies on, checked on
//! SQLite and on PostgreSQL alike. Each test gets a fresh database and says which promise it
//! holds the store to; a failure here means a user would see wrong or leaked data.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::json;
use switchboard_core::{
    AgentKind, AuthorKind, ChannelConfig, ChannelKind, ContactId, Conversation, ConversationId,
    ConversationStatus, ConversationType, Credits, MessageDirection, MessageStatus, MessageType,
    ParticipantKind, ParticipantRole, Role, Tenant, TenantId, Timestamp, User, UserId,
};
use switchboard_store::{
    AgentUpdate, Backend, ChannelUpdate, ContactUpdate, ConversationFilter, ConversationUpdate,
    MessageOrder, NewAgent, NewApiKey, NewChannel, NewContact, NewConversation, NewLedgerEntry,
    NewMessage, NewParticipant, NewRefreshToken, NewUser, PageRequest, Rotation, SearchQuery, Store,
    StoreError, UserUpdate,
};
use switchboard_test_support::{TestDatabase, backend_tests};
use tokio::sync::Barrier;

type TestResult = anyhow::Result<()>;

backend_tests!(
    migrate_is_idempotent,
    tenants_are_listed_and_counted,
    another_tenants_ids_answer_not_found,
    references_cannot_cross_tenants,
    usernames_are_unique_and_deleted_users_lose_access,
    api_keys_are_found_by_prefix_until_revoked,
    refresh_tokens_rotate_once_and_reuse_revokes_the_family,
    contacts_round_trip_filter_and_page,
    channels_keep_their_secrets_and_agents,
    agents_round_trip,
    new_conversation_has_its_contact_as_member,
    participants_join_once_and_leave,
    conversations_list_newest_activity_first_and_pages_visit_each_once,
    conversation_filters_narrow_the_list,
    unread_count_is_messages_after_the_read_marker,
    own_message_advances_the_authors_read_marker,
    conversation_list_shows_the_last_message,
    concurrent_appends_get_gap_free_seqs,
    redelivered_provider_message_is_stored_once,
    messages_page_backward_and_forward,
    deleted_message_keeps_its_seq_and_leaves_search,
    search_is_ranked_and_scoped,
    search_accepts_any_text_but_needs_a_word,
    credits_are_recorded_once_per_idempotency_key,
    explain_plans_selects_and_refuses_the_rest,
    optimize_and_metrics_report_the_tables,
    failed_write_in_a_batch_leaves_the_others_committed,
);

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A tenant with what most tests need: an operator, a contact, a channel and a conversation
/// between them.
struct Tenancy {
    tenant: Tenant,
    operator: User,
    contact: switchboard_core::Contact,
    channel: switchboard_core::Channel,
    conversation: Conversation,
}

async fn tenancy(store: &Store, name: &str) -> anyhow::Result<Tenancy> {
    let tenant = store.create_tenant(name.to_owned()).await?;
    let operator = store.create_user(tenant.id, new_user(&format!("{name}-operator"))).await?;
    let contact = store
        .create_contact(
            tenant.id,
            NewContact {
                name: Some(format!("{name} contact")),
                phone: Some("+15551234567".into()),
                external_id: None,
            },
        )
        .await?;
    let channel = store
        .create_channel(
            tenant.id,
            NewChannel {
                name: format!("{name} channel"),
                agent_id: None,
                config: api_channel("signing-secret")?,
            },
        )
        .await?;
    let conversation = store
        .create_conversation(tenant.id, operator.id, direct(channel.id, Some(contact.id)))
        .await?;
    Ok(Tenancy {
        tenant,
        operator,
        contact,
        channel,
        conversation,
    })
}

fn new_user(username: &str) -> NewUser {
    NewUser {
        username: username.to_owned(),
        password_hash: format!("$argon2id$hash-of-{username}"),
        role: Role::Agent,
        external_id: None,
    }
}

fn api_channel(secret: &str) -> anyhow::Result<ChannelConfig> {
    Ok(ChannelConfig::parse(ChannelKind::Api, json!({ "signingSecret": secret }))?)
}

fn echo_agent(name: &str) -> NewAgent {
    NewAgent {
        name: name.to_owned(),
        kind: AgentKind::Echo,
        config: json!({ "greeting": "hello" }),
        cost_per_run: Credits(2),
    }
}

fn direct(channel_id: switchboard_core::ChannelId, contact_id: Option<ContactId>) -> NewConversation {
    NewConversation {
        channel_id,
        contact_id,
        conversation_type: ConversationType::Direct,
        business_id: None,
        agent_id: None,
    }
}

/// A text from the contact.
fn inbound(conversation_id: ConversationId, text: &str) -> NewMessage {
    NewMessage {
        conversation_id,
        direction: MessageDirection::Inbound,
        author_kind: AuthorKind::Contact,
        author_id: None,
        message_type: MessageType::Text,
        text: Some(text.to_owned()),
        content: None,
        provider_message_id: None,
        status: MessageStatus::Received,
    }
}

/// A text an operator sends.
fn reply(conversation_id: ConversationId, author: UserId, text: &str) -> NewMessage {
    NewMessage {
        direction: MessageDirection::Outbound,
        author_kind: AuthorKind::User,
        author_id: Some(author.to_string()),
        status: MessageStatus::Pending,
        ..inbound(conversation_id, text)
    }
}

fn everything() -> ConversationFilter {
    ConversationFilter::default()
}

/// Lets the millisecond clock the store stamps rows with move on, so activity orders strictly.
async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

#[track_caller]
fn assert_not_found<T: Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound { .. })),
        "expected NotFound, got {result:?}"
    );
}

#[track_caller]
fn assert_conflict<T: Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "expected Conflict, got {result:?}"
    );
}

#[track_caller]
fn assert_foreign_key<T: Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::ForeignKey { .. })),
        "expected ForeignKey, got {result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Schema and tenants

async fn migrate_is_idempotent(database: TestDatabase) -> TestResult {
    let store = Store::connect(switchboard_store::StoreOptions::new(database.url())).await?;
    assert_eq!(store.migrate().await?, vec![1], "a fresh database gets every migration");
    let tenant = store.create_tenant("kept".into()).await?;
    assert_eq!(store.migrate().await?, Vec::<i64>::new(), "a second run applies nothing");

    // Another node starting on the same database finds the schema in place and the data intact.
    let other_node = Store::connect(switchboard_store::StoreOptions::new(database.url())).await?;
    assert_eq!(other_node.migrate().await?, Vec::<i64>::new());
    assert_eq!(other_node.get_tenant(tenant.id).await?.name, "kept");
    assert_eq!(store.backend(), database.backend());
    Ok(())
}

async fn tenants_are_listed_and_counted(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let mut created = HashSet::new();
    for index in 0..5 {
        created.insert(store.create_tenant(format!("tenant {index}")).await?.id);
    }
    assert_eq!(store.count_tenants().await?, 5);
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let listed = store.list_tenants(&page).await?;
        seen.extend(listed.data.iter().map(|tenant| tenant.id));
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "every tenant once: {seen:?}");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), created);
    assert_not_found(store.get_tenant(TenantId::new()).await);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tenant isolation

async fn another_tenants_ids_answer_not_found(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let owner = tenancy(&store, "owner").await?;
    let intruder = tenancy(&store, "intruder").await?;
    let (tenant, other) = (owner.tenant.id, intruder.tenant.id);
    let conversation = owner.conversation.id;

    let key = store
        .create_api_key(
            tenant,
            NewApiKey {
                user_id: owner.operator.id,
                name: "server".into(),
                role: Role::Agent,
                prefix: "sb_owner".into(),
                key_hash: "hash".into(),
            },
        )
        .await?;
    let agent = store.create_agent(tenant, echo_agent("owner bot")).await?;
    let message = store.append_message(tenant, inbound(conversation, "private words")).await?.message;
    let participant = store
        .add_participant(tenant, conversation, NewParticipant::User(owner.operator.id, ParticipantRole::Operator))
        .await?;

    assert_not_found(store.get_user(other, owner.operator.id).await);
    assert_not_found(store.update_user(other, owner.operator.id, UserUpdate { role: Some(Role::Admin), ..Default::default() }).await);
    assert_not_found(store.delete_user(other, owner.operator.id).await);
    assert_not_found(store.revoke_api_key(other, key.id).await);
    assert_not_found(store.get_contact(other, owner.contact.id).await);
    assert_not_found(store.update_contact(other, owner.contact.id, ContactUpdate { name: Some("x".into()), ..Default::default() }).await);
    assert_not_found(store.delete_contact(other, owner.contact.id).await);
    assert_not_found(store.get_channel(other, owner.channel.id).await);
    assert_not_found(store.update_channel(other, owner.channel.id, ChannelUpdate { name: Some("x".into()), ..Default::default() }).await);
    assert_not_found(store.delete_channel(other, owner.channel.id).await);
    assert_not_found(store.get_agent(other, agent.id).await);
    assert_not_found(store.update_agent(other, agent.id, AgentUpdate { name: Some("x".into()), ..Default::default() }).await);
    assert_not_found(store.delete_agent(other, agent.id).await);
    assert_not_found(store.get_conversation(other, intruder.operator.id, conversation).await);
    assert_not_found(
        store
            .update_conversation(other, intruder.operator.id, conversation, ConversationUpdate { status: Some(ConversationStatus::Resolved), ..Default::default() })
            .await,
    );
    assert_not_found(store.list_messages(other, conversation, MessageOrder::Backward, &PageRequest::default()).await);
    assert_not_found(store.append_message(other, inbound(conversation, "injected")).await);
    assert_not_found(store.get_message(other, message.id).await);
    assert_not_found(store.delete_message(other, message.id).await);
    assert_not_found(store.list_participants(other, conversation).await);
    assert_not_found(store.add_participant(other, conversation, NewParticipant::User(intruder.operator.id, ParticipantRole::Observer)).await);
    assert_not_found(store.remove_participant(other, conversation, participant.id).await);
    assert_not_found(store.mark_read(other, conversation, intruder.operator.id, None).await);

    // Lists show the intruder only their own rows.
    let page = PageRequest::default();
    assert_eq!(store.list_users(other, &page).await?.data, vec![intruder.operator.clone()]);
    assert!(store.list_api_keys(other, &page).await?.data.is_empty());
    assert_eq!(store.list_contacts(other, None, None, &page).await?.data, vec![intruder.contact.clone()]);
    assert_eq!(store.list_channels(other, &page).await?.data, vec![intruder.channel.clone()]);
    assert!(store.list_agents(other, &page).await?.data.is_empty());
    let listed = store.list_conversations(other, intruder.operator.id, &everything(), &page).await?;
    assert_eq!(listed.data.iter().map(|c| c.id).collect::<Vec<_>>(), vec![intruder.conversation.id]);

    // None of the refused calls changed anything of the owner's.
    let credentials = store.find_credentials(&owner.operator.username).await?.context("owner can still log in")?;
    assert_eq!(credentials.user.role, Role::Agent);
    assert!(store.find_api_key("sb_owner").await?.is_some(), "owner's API key still works");
    assert_eq!(store.get_contact(tenant, owner.contact.id).await?.name, owner.contact.name);
    assert_eq!(store.get_channel(tenant, owner.channel.id).await?.name, owner.channel.name);
    assert_eq!(store.get_agent(tenant, agent.id).await?.name, "owner bot");
    let seen = store.get_conversation(tenant, owner.operator.id, conversation).await?;
    assert_eq!((seen.status, seen.last_seq), (ConversationStatus::Open, 1));
    assert_eq!(store.get_message(tenant, message.id).await?.text.as_deref(), Some("private words"));
    assert_eq!(store.list_participants(tenant, conversation).await?.len(), 2);
    Ok(())
}

async fn references_cannot_cross_tenants(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let owner = tenancy(&store, "owner").await?;
    let intruder = tenancy(&store, "intruder").await?;
    let other = intruder.tenant.id;
    let owners_agent = store.create_agent(owner.tenant.id, echo_agent("owner bot")).await?;

    // The composite (tenant_id, id) foreign keys refuse links to another tenant's rows.
    assert_foreign_key(store.create_conversation(other, intruder.operator.id, direct(owner.channel.id, None)).await);
    assert_foreign_key(
        store
            .create_conversation(other, intruder.operator.id, direct(intruder.channel.id, Some(owner.contact.id)))
            .await,
    );
    let with_owners_agent = NewConversation {
        agent_id: Some(owners_agent.id),
        ..direct(intruder.channel.id, None)
    };
    assert_foreign_key(store.create_conversation(other, intruder.operator.id, with_owners_agent).await);
    let channel = NewChannel {
        name: "hijack".into(),
        agent_id: Some(owners_agent.id),
        config: api_channel("s")?,
    };
    assert_foreign_key(store.create_channel(other, channel).await);
    let attach = ChannelUpdate {
        agent_id: Some(Some(owners_agent.id)),
        ..Default::default()
    };
    assert_foreign_key(store.update_channel(other, intruder.channel.id, attach).await);
    let conversation = intruder.conversation.id;
    assert_foreign_key(
        store
            .add_participant(other, conversation, NewParticipant::User(owner.operator.id, ParticipantRole::Operator))
            .await,
    );
    assert_foreign_key(store.mark_read(other, conversation, owner.operator.id, None).await);
    assert_foreign_key(store.append_message(other, reply(conversation, owner.operator.id, "as someone else")).await);

    // A refused append leaves no trace: no message, no seq consumed.
    let listed = store.get_conversation(other, intruder.operator.id, conversation).await?;
    assert_eq!(listed.last_seq, 0);
    assert_eq!(store.list_conversations(other, intruder.operator.id, &everything(), &PageRequest::default()).await?.data.len(), 1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Users, keys and tokens

async fn usernames_are_unique_and_deleted_users_lose_access(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let first = store.create_tenant("first".into()).await?;
    let second = store.create_tenant("second".into()).await?;
    let alice = store.create_user(first.id, new_user("alice")).await?;
    // Login names are unique across the installation, not per tenant.
    assert_conflict(store.create_user(second.id, new_user("alice")).await);

    let credentials = store.find_credentials("alice").await?.context("alice can log in")?;
    assert_eq!(credentials.user, alice);
    assert_eq!(credentials.password_hash, "$argon2id$hash-of-alice");
    assert!(store.find_credentials("nobody").await?.is_none());

    let update = UserUpdate {
        role: Some(Role::Admin),
        password_hash: Some("$argon2id$new".into()),
        external_id: None,
    };
    let updated = store.update_user(first.id, alice.id, update).await?;
    assert_eq!(updated.role, Role::Admin);
    let credentials = store.find_credentials("alice").await?.context("alice can log in")?;
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
    store.insert_refresh_token(refresh_token(alice.id, &family, "token-1", 3600)).await?;
    let bob = store.create_user(first.id, new_user("bob")).await?;

    store.delete_user(first.id, alice.id).await?;
    assert!(store.find_credentials("alice").await?.is_none(), "a deleted user cannot log in");
    assert!(store.find_user(alice.id).await?.is_none());
    assert_not_found(store.get_user(first.id, alice.id).await);
    assert!(store.find_api_key("sb_alice").await?.is_none(), "their API keys are revoked");
    let rotation = store
        .rotate_refresh_token("token-1".into(), |user_id, family| refresh_token(user_id, &family, "token-2", 3600))
        .await?;
    assert_ne!(rotation, Rotation::Rotated { user_id: alice.id }, "their sessions are revoked");
    assert_eq!(store.list_users(first.id, &PageRequest::default()).await?.data, vec![bob]);
    assert_not_found(store.delete_user(first.id, alice.id).await);
    assert_not_found(store.update_user(first.id, alice.id, UserUpdate::default()).await);
    Ok(())
}

fn refresh_token(user_id: UserId, family: &str, token: &str, lifetime_seconds: i64) -> NewRefreshToken {
    NewRefreshToken {
        user_id,
        family_id: family.to_owned(),
        token_hash: token.to_owned(),
        expires_at: Timestamp::now_utc() + time::Duration::seconds(lifetime_seconds),
    }
}

async fn api_keys_are_found_by_prefix_until_revoked(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let tenant = store.create_tenant("acme".into()).await?;
    let user = store.create_user(tenant.id, new_user("owner")).await?;
    let new_key = |prefix: &str| NewApiKey {
        user_id: user.id,
        name: format!("key {prefix}"),
        role: Role::Viewer,
        prefix: prefix.to_owned(),
        key_hash: format!("sha256-of-{prefix}"),
    };
    let key = store.create_api_key(tenant.id, new_key("sb_live_1")).await?;
    let other = store.create_api_key(tenant.id, new_key("sb_live_2")).await?;
    assert_conflict(store.create_api_key(tenant.id, new_key("sb_live_1")).await);

    let (found, hash) = store.find_api_key("sb_live_1").await?.context("key is found by prefix")?;
    assert_eq!(found, key);
    assert_eq!(hash, "sha256-of-sb_live_1");
    assert!(found.last_used_at.is_none());
    store.touch_api_key(key.id).await?;
    let (found, _) = store.find_api_key("sb_live_1").await?.context("key is found by prefix")?;
    assert!(found.last_used_at.is_some(), "use is recorded");
    assert_eq!(store.list_api_keys(tenant.id, &PageRequest::default()).await?.data.len(), 2);

    store.revoke_api_key(tenant.id, key.id).await?;
    assert!(store.find_api_key("sb_live_1").await?.is_none(), "a revoked key no longer authenticates");
    assert!(store.find_api_key("sb_live_2").await?.is_some(), "other keys are untouched");
    let listed = store.list_api_keys(tenant.id, &PageRequest::default()).await?.data;
    assert_eq!(listed.iter().map(|key| key.id).collect::<Vec<_>>(), vec![other.id]);
    assert_not_found(store.revoke_api_key(tenant.id, key.id).await);
    Ok(())
}

async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let tenant = store.create_tenant("acme".into()).await?;
    let user = store.create_user(tenant.id, new_user("owner")).await?;
    let family = "family-1";
    store.insert_refresh_token(refresh_token(user.id, family, "first", 3600)).await?;

    let next = |name: &'static str| move |user_id: UserId, family: String| refresh_token(user_id, &family, name, 3600);
    assert_eq!(store.rotate_refresh_token("first".into(), next("second")).await?, Rotation::Rotated { user_id: user.id });
    // The spent token shows up again: it was copied, so the whole family dies.
    assert_eq!(store.rotate_refresh_token("first".into(), next("third")).await?, Rotation::Reused);
    assert_ne!(
        store.rotate_refresh_token("second".into(), next("fourth")).await?,
        Rotation::Rotated { user_id: user.id },
        "the successor of a reused token is revoked too"
    );
    assert_eq!(store.rotate_refresh_token("unknown".into(), next("x")).await?, Rotation::Invalid);
    store.insert_refresh_token(refresh_token(user.id, "family-2", "stale", -1)).await?;
    assert_eq!(store.rotate_refresh_token("stale".into(), next("y")).await?, Rotation::Invalid);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Contacts, channels, agents

async fn contacts_round_trip_filter_and_page(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let other = store.create_tenant("other".into()).await?;
    let tenant = acme.tenant.id;
    let new_contact = |name: &str, phone: &str, external_id: &str| NewContact {
        name: Some(name.to_owned()),
        phone: Some(phone.to_owned()),
        external_id: Some(external_id.to_owned()),
    };
    let ada = store.create_contact(tenant, new_contact("Ada", "+441234567", "crm-1")).await?;
    store.create_contact(tenant, new_contact("Bea", "+441234568", "crm-2")).await?;
    assert_eq!(store.get_contact(tenant, ada.id).await?, ada);
    assert_conflict(store.create_contact(tenant, new_contact("Copy", "+1", "crm-1")).await);
    // External ids are unique per tenant only.
    store.create_contact(other.id, new_contact("Ada elsewhere", "+441234567", "crm-1")).await?;

    let page = PageRequest::default();
    let by_phone = store.list_contacts(tenant, Some("+441234567"), None, &page).await?.data;
    assert_eq!(by_phone, vec![ada.clone()]);
    let by_external = store.list_contacts(tenant, None, Some("crm-2"), &page).await?.data;
    assert_eq!(by_external.iter().map(|c| c.name.as_deref()).collect::<Vec<_>>(), vec![Some("Bea")]);

    let mut seen = Vec::new();
    let mut page = PageRequest::first(1);
    loop {
        let listed = store.list_contacts(tenant, None, None, &page).await?;
        seen.extend(listed.data.into_iter().map(|contact| contact.id));
        let Some(cursor) = listed.next_cursor else { break };
        page.cursor = Some(cursor);
    }
    assert_eq!(seen.len(), 3, "the fixture's contact, Ada and Bea, once each");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 3);

    let renamed = store
        .update_contact(tenant, ada.id, ContactUpdate { name: Some("Ada L.".into()), ..Default::default() })
        .await?;
    assert_eq!(renamed.name.as_deref(), Some("Ada L."));
    assert_eq!(renamed.phone, ada.phone, "fields left out of an update are kept");
    assert_eq!(renamed.external_id, ada.external_id);

    store.delete_contact(tenant, ada.id).await?;
    assert_not_found(store.get_contact(tenant, ada.id).await);
    assert_not_found(store.delete_contact(tenant, ada.id).await);
    // A contact a conversation refers to stays.
    assert_foreign_key(store.delete_contact(tenant, acme.contact.id).await);
    assert!(store.get_contact(tenant, acme.contact.id).await.is_ok());
    Ok(())
}

async fn channels_keep_their_secrets_and_agents(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let agent = store.create_agent(tenant, echo_agent("greeter")).await?;
    let config = ChannelConfig::parse(
        ChannelKind::Whatsapp,
        json!({
            "phoneNumberId": "10001", "appSecret": "app-s3cret",
            "verifyToken": "verify-s3cret", "accessToken": "access-s3cret"
        }),
    )?;
    let new = NewChannel {
        name: "WhatsApp".into(),
        agent_id: Some(agent.id),
        config: config.clone(),
    };
    let channel = store.create_channel(tenant, new).await?;
    let stored = store.get_channel(tenant, channel.id).await?;
    assert_eq!(stored, channel);
    assert_eq!(stored.config, config, "secrets come back as given, for the gateway's own use");
    assert_eq!(stored.kind(), ChannelKind::Whatsapp);

    let rotated = config.merged(json!({ "accessToken": "rotated-token" }))?;
    let update = ChannelUpdate {
        config: Some(rotated.clone()),
        agent_id: Some(None),
        ..Default::default()
    };
    let updated = store.update_channel(tenant, channel.id, update).await?;
    assert_eq!(updated.config, rotated);
    assert_eq!(updated.agent_id, None, "Some(None) detaches the agent");
    assert_eq!(updated.name, "WhatsApp");
    let reattach = ChannelUpdate {
        agent_id: Some(Some(agent.id)),
        ..Default::default()
    };
    let reattached = store.update_channel(tenant, channel.id, reattach).await?;
    assert_eq!(reattached.agent_id, Some(agent.id));
    let renamed = store
        .update_channel(tenant, channel.id, ChannelUpdate { name: Some("WA".into()), ..Default::default() })
        .await?;
    assert_eq!((renamed.agent_id, renamed.config), (Some(agent.id), rotated), "None leaves fields alone");

    assert_eq!(store.list_channels(tenant, &PageRequest::default()).await?.data.len(), 2);
    assert_foreign_key(store.delete_channel(tenant, acme.channel.id).await);
    store.delete_channel(tenant, channel.id).await?;
    assert_not_found(store.get_channel(tenant, channel.id).await);
    Ok(())
}

async fn agents_round_trip(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let agent = store.create_agent(tenant, echo_agent("echo")).await?;
    assert_eq!(store.get_agent(tenant, agent.id).await?, agent);

    let cheaper = AgentUpdate {
        cost_per_run: Some(Credits(1)),
        ..Default::default()
    };
    let updated = store.update_agent(tenant, agent.id, cheaper).await?;
    assert_eq!((updated.cost_per_run, &updated.config), (Credits(1), &agent.config));
    let replaced = AgentUpdate {
        config: Some(json!({ "model": "small" })),
        ..Default::default()
    };
    let updated = store.update_agent(tenant, agent.id, replaced).await?;
    assert_eq!(updated.config, json!({ "model": "small" }), "config is replaced whole");
    assert_eq!(updated.cost_per_run, Credits(1));
    assert_eq!(store.list_agents(tenant, &PageRequest::default()).await?.data, vec![updated]);

    let attach = ChannelUpdate {
        agent_id: Some(Some(agent.id)),
        ..Default::default()
    };
    store.update_channel(tenant, acme.channel.id, attach).await?;
    assert_foreign_key(store.delete_agent(tenant, agent.id).await);
    let detach = ChannelUpdate {
        agent_id: Some(None),
        ..Default::default()
    };
    store.update_channel(tenant, acme.channel.id, detach).await?;
    store.delete_agent(tenant, agent.id).await?;
    assert_not_found(store.get_agent(tenant, agent.id).await);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Conversations and participants

async fn new_conversation_has_its_contact_as_member(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let conversation = &acme.conversation;
    assert_eq!(conversation.status, ConversationStatus::Open);
    assert_eq!((conversation.last_seq, conversation.unread_count), (0, 0));
    assert!(conversation.last_message.is_none());
    assert_eq!(conversation.contact_id, Some(acme.contact.id));

    let participants = store.list_participants(acme.tenant.id, conversation.id).await?;
    assert_eq!(participants.len(), 1);
    assert_eq!(participants[0].kind, ParticipantKind::Contact);
    assert_eq!(participants[0].contact_id, Some(acme.contact.id));
    assert_eq!(participants[0].role, ParticipantRole::Member);

    // A conversation without a contact (an internal thread) starts empty.
    let internal = store
        .create_conversation(acme.tenant.id, acme.operator.id, direct(acme.channel.id, None))
        .await?;
    assert!(store.list_participants(acme.tenant.id, internal.id).await?.is_empty());
    Ok(())
}

async fn participants_join_once_and_leave(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    let agent = store.create_agent(tenant, echo_agent("bot")).await?;
    let operator = NewParticipant::User(acme.operator.id, ParticipantRole::Operator);
    let joined = store.add_participant(tenant, conversation, operator).await?;
    assert_eq!((joined.kind, joined.role, joined.user_id), (ParticipantKind::User, ParticipantRole::Operator, Some(acme.operator.id)));
    assert_conflict(store.add_participant(tenant, conversation, operator).await);
    assert_conflict(store.add_participant(tenant, conversation, NewParticipant::Contact(acme.contact.id, ParticipantRole::Member)).await);
    store.add_participant(tenant, conversation, NewParticipant::Agent(agent.id, ParticipantRole::Bot)).await?;
    assert_eq!(store.list_participants(tenant, conversation).await?.len(), 3);

    store.remove_participant(tenant, conversation, joined.id).await?;
    let remaining = store.list_participants(tenant, conversation).await?;
    assert!(remaining.iter().all(|participant| participant.id != joined.id));
    assert_eq!(remaining.len(), 2);
    assert_not_found(store.remove_participant(tenant, conversation, joined.id).await);
    // Having left, they may join again.
    store.add_participant(tenant, conversation, operator).await?;
    Ok(())
}

async fn conversations_list_newest_activity_first_and_pages_visit_each_once(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, viewer) = (acme.tenant.id, acme.operator.id);
    // Created back to back, many share a millisecond: the id must break ties consistently.
    let mut created = vec![acme.conversation.id];
    for _ in 0..22 {
        created.push(store.create_conversation(tenant, viewer, direct(acme.channel.id, None)).await?.id);
    }

    // Activity reorders the list: the last conversation written to comes first.
    let touched = [created[3], created[17], created[0]];
    for conversation in touched {
        next_millisecond().await;
        store.append_message(tenant, inbound(conversation, "ping")).await?;
    }
    let whole = store.list_conversations(tenant, viewer, &everything(), &PageRequest::first(200)).await?;
    assert!(whole.next_cursor.is_none());
    let order: Vec<ConversationId> = whole.data.iter().map(|c| c.id).collect();
    assert_eq!(&order[..3], &[created[0], created[17], created[3]]);
    assert!(
        whole.data.windows(2).all(|pair| (pair[0].last_activity_at, pair[0].id) > (pair[1].last_activity_at, pair[1].id)),
        "strictly newest activity first, then id"
    );

    for limit in [1, 4, 5, 22] {
        let mut visited = Vec::new();
        let mut page = PageRequest::first(limit);
        loop {
            let listed = store.list_conversations(tenant, viewer, &everything(), &page).await?;
            assert!(listed.data.len() <= limit as usize);
            visited.extend(listed.data.iter().map(|c| c.id));
            let Some(cursor) = listed.next_cursor else { break };
            page.cursor = Some(cursor);
        }
        assert_eq!(visited, order, "pages of {limit} visit every conversation once, in order");
    }
    let forged = PageRequest {
        limit: Some(5),
        cursor: Some("not-a-cursor!".into()),
    };
    assert!(matches!(
        store.list_conversations(tenant, viewer, &everything(), &forged).await,
        Err(StoreError::InvalidCursor)
    ));
    Ok(())
}

async fn conversation_filters_narrow_the_list(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, viewer) = (acme.tenant.id, acme.operator.id);
    let second_channel = store
        .create_channel(tenant, NewChannel { name: "web".into(), agent_id: None, config: api_channel("other")? })
        .await?;
    let on_second = store.create_conversation(tenant, viewer, direct(second_channel.id, None)).await?;
    let group = NewConversation {
        conversation_type: ConversationType::Group,
        ..direct(acme.channel.id, None)
    };
    let group = store.create_conversation(tenant, viewer, group).await?;
    let business = |business_id: &str| NewConversation {
        conversation_type: ConversationType::Business,
        business_id: Some(business_id.to_owned()),
        ..direct(acme.channel.id, None)
    };
    let bakery = store.create_conversation(tenant, viewer, business("bakery")).await?;
    let florist = store.create_conversation(tenant, viewer, business("florist")).await?;

    let ids = |filter: ConversationFilter| {
        let store = store.clone();
        async move {
            let page = store.list_conversations(tenant, viewer, &filter, &PageRequest::first(200)).await?;
            let mut ids: Vec<ConversationId> = page.data.iter().map(|c| c.id).collect();
            ids.sort();
            anyhow::Ok(ids)
        }
    };
    let sorted = |mut ids: Vec<ConversationId>| {
        ids.sort();
        ids
    };

    assert_eq!(ids(everything()).await?.len(), 5);
    let by_channel = ConversationFilter { channel_id: Some(second_channel.id), ..everything() };
    assert_eq!(ids(by_channel).await?, vec![on_second.id]);
    let by_type = ConversationFilter { conversation_type: Some(ConversationType::Group), ..everything() };
    assert_eq!(ids(by_type).await?, vec![group.id]);
    let businesses = ConversationFilter { conversation_type: Some(ConversationType::Business), ..everything() };
    assert_eq!(ids(businesses).await?, sorted(vec![bakery.id, florist.id]));
    let by_business = ConversationFilter { business_id: Some("florist".into()), ..everything() };
    assert_eq!(ids(by_business).await?, vec![florist.id]);
    let by_contact = ConversationFilter { contact_id: Some(acme.contact.id), ..everything() };
    assert_eq!(ids(by_contact).await?, vec![acme.conversation.id]);

    next_millisecond().await;
    let since = Timestamp::now_utc();
    next_millisecond().await;
    let resolve = ConversationUpdate { status: Some(ConversationStatus::Resolved), ..Default::default() };
    store.update_conversation(tenant, viewer, group.id, resolve).await?;
    store.append_message(tenant, inbound(bakery.id, "are you open?")).await?;

    let resolved = ConversationFilter { status: Some(ConversationStatus::Resolved), ..everything() };
    assert_eq!(ids(resolved).await?, vec![group.id]);
    let open = ConversationFilter { status: Some(ConversationStatus::Open), ..everything() };
    assert_eq!(ids(open).await?.len(), 4);
    let recent = ConversationFilter { updated_since: Some(since), ..everything() };
    assert_eq!(ids(recent).await?, sorted(vec![group.id, bakery.id]), "only what changed since");
    let combined = ConversationFilter {
        updated_since: Some(since),
        status: Some(ConversationStatus::Open),
        ..everything()
    };
    assert_eq!(ids(combined).await?, vec![bakery.id], "every filter set must match");
    Ok(())
}

async fn unread_count_is_messages_after_the_read_marker(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation, operator) = (acme.tenant.id, acme.conversation.id, acme.operator.id);
    let colleague = store.create_user(tenant, new_user("colleague")).await?.id;
    for index in 1..=5 {
        store.append_message(tenant, inbound(conversation, &format!("message {index}"))).await?;
    }
    let unread = |viewer: UserId| {
        let store = store.clone();
        async move {
            let one = store.get_conversation(tenant, viewer, conversation).await?.unread_count;
            let listed = store.list_conversations(tenant, viewer, &everything(), &PageRequest::default()).await?;
            let in_list = listed.data.iter().find(|c| c.id == conversation).map(|c| c.unread_count);
            assert_eq!(Some(one), in_list, "the list and the single view agree");
            anyhow::Ok(one)
        }
    };
    assert_eq!(unread(operator).await?, 5, "nothing read yet");

    // Reading joins a non-participant as an observer.
    let marker = store.mark_read(tenant, conversation, operator, Some(3)).await?;
    assert_eq!((marker.role, marker.last_read_seq, marker.user_id), (ParticipantRole::Observer, 3, Some(operator)));
    assert!(marker.last_read_at.is_some());
    assert_eq!(unread(operator).await?, 2);
    let participants = store.list_participants(tenant, conversation).await?;
    assert!(participants.iter().any(|p| p.user_id == Some(operator) && p.role == ParticipantRole::Observer));

    let backwards = store.mark_read(tenant, conversation, operator, Some(1)).await?;
    assert_eq!(backwards.last_read_seq, 3, "a read marker never moves back");
    assert_eq!(backwards.id, marker.id, "the same participant, not a second one");
    assert_eq!(unread(operator).await?, 2);

    let beyond = store.mark_read(tenant, conversation, operator, Some(99)).await?;
    assert_eq!(beyond.last_read_seq, 5, "a marker cannot pass the newest message");
    store.append_message(tenant, inbound(conversation, "six")).await?;
    store.append_message(tenant, inbound(conversation, "seven")).await?;
    assert_eq!(unread(operator).await?, 2);
    assert_eq!(unread(colleague).await?, 7, "each user has their own marker");
    assert_eq!(store.mark_read(tenant, conversation, operator, None).await?.last_read_seq, 7, "None reads everything");
    assert_eq!(unread(operator).await?, 0);
    assert_eq!(store.list_participants(tenant, conversation).await?.len(), 2);
    Ok(())
}

async fn own_message_advances_the_authors_read_marker(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation, operator) = (acme.tenant.id, acme.conversation.id, acme.operator.id);
    store.append_message(tenant, inbound(conversation, "hello?")).await?;
    store.append_message(tenant, inbound(conversation, "anyone there?")).await?;
    assert_eq!(store.get_conversation(tenant, operator, conversation).await?.unread_count, 2);

    let sent = store.append_message(tenant, reply(conversation, operator, "yes, how can I help?")).await?;
    assert_eq!(sent.message.seq, 3);
    assert_eq!(store.get_conversation(tenant, operator, conversation).await?.unread_count, 0, "replying reads the thread");
    store.append_message(tenant, inbound(conversation, "my order")).await?;
    assert_eq!(store.get_conversation(tenant, operator, conversation).await?.unread_count, 1);
    Ok(())
}

async fn conversation_list_shows_the_last_message(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation, operator) = (acme.tenant.id, acme.conversation.id, acme.operator.id);
    store.append_message(tenant, inbound(conversation, "first")).await?;
    let long_text: String = "é".repeat(100) + &"x".repeat(100);
    let last = store.append_message(tenant, reply(conversation, operator, &long_text)).await?.message;

    let listed = store.list_conversations(tenant, operator, &everything(), &PageRequest::default()).await?;
    let preview = listed.data[0].last_message.clone().context("a conversation with messages has a preview")?;
    assert_eq!((preview.id, preview.seq), (last.id, 2));
    assert_eq!((preview.direction, preview.author_kind), (MessageDirection::Outbound, AuthorKind::User));
    let expected: String = long_text.chars().take(140).collect();
    assert_eq!(preview.text.as_deref(), Some(expected.as_str()), "the first 140 characters");
    assert_eq!(listed.data[0].last_message_id, Some(last.id));
    assert_eq!(listed.data[0].last_activity_at, last.created_at);

    store.delete_message(tenant, last.id).await?;
    let after = store.get_conversation(tenant, operator, conversation).await?;
    let preview = after.last_message.context("the deleted message keeps its place")?;
    assert_eq!(preview.seq, 2);
    assert_eq!(preview.text, None, "a deleted message's text is not previewed");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Messages

async fn concurrent_appends_get_gap_free_seqs(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    let writers = 50;
    let start = Arc::new(Barrier::new(writers));
    let mut tasks = Vec::new();
    for index in 0..writers {
        let (store, start) = (store.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            store.append_message(tenant, inbound(conversation, &format!("concurrent {index}"))).await
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        let appended = task.await??;
        assert!(appended.created);
        seqs.push(appended.message.seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=50).collect::<Vec<i64>>(), "each append got its own seq, no gaps");

    let stored = store.list_messages(tenant, conversation, MessageOrder::Forward, &PageRequest::first(200)).await?;
    assert_eq!(stored.data.iter().map(|m| m.seq).collect::<Vec<_>>(), seqs);
    let texts: HashSet<String> = stored.data.iter().filter_map(|m| m.text.clone()).collect();
    assert_eq!(texts.len(), 50, "every message was stored");
    let conversation = store.get_conversation(tenant, acme.operator.id, conversation).await?;
    assert_eq!(conversation.last_seq, 50);
    assert_eq!(conversation.last_message.map(|preview| preview.seq), Some(50));
    Ok(())
}

async fn redelivered_provider_message_is_stored_once(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    let delivered = |provider_id: &str, text: &str| NewMessage {
        provider_message_id: Some(provider_id.to_owned()),
        ..inbound(conversation, text)
    };
    let first = store.append_message(tenant, delivered("wamid.1", "hello")).await?;
    assert!(first.created);
    let again = store.append_message(tenant, delivered("wamid.1", "hello (retry)")).await?;
    assert!(!again.created, "a redelivery is recognised");
    assert_eq!(again.message, first.message, "and answered with the stored message");

    let next = store.append_message(tenant, delivered("wamid.2", "second")).await?;
    assert_eq!(next.message.seq, 2, "the redelivery did not use up a seq");
    let listed = store.list_messages(tenant, conversation, MessageOrder::Forward, &PageRequest::default()).await?;
    assert_eq!(listed.data.iter().map(|m| m.text.as_deref()).collect::<Vec<_>>(), vec![Some("hello"), Some("second")]);

    // Provider ids are unique per channel: another channel may reuse one.
    let web = store
        .create_channel(tenant, NewChannel { name: "web".into(), agent_id: None, config: api_channel("x")? })
        .await?;
    let elsewhere = store.create_conversation(tenant, acme.operator.id, direct(web.id, None)).await?;
    let reused = NewMessage {
        provider_message_id: Some("wamid.1".into()),
        ..inbound(elsewhere.id, "other channel")
    };
    let appended = store.append_message(tenant, reused).await?;
    assert!(appended.created);
    assert_eq!(appended.message.channel_id, web.id);
    Ok(())
}

async fn messages_page_backward_and_forward(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    for index in 1..=12 {
        store.append_message(tenant, inbound(conversation, &format!("line {index}"))).await?;
    }
    let walk = |order: MessageOrder| {
        let store = store.clone();
        async move {
            let mut pages = Vec::new();
            let mut page = PageRequest::first(5);
            loop {
                let listed = store.list_messages(tenant, conversation, order, &page).await?;
                pages.push(listed.data.iter().map(|m| m.seq).collect::<Vec<_>>());
                let Some(cursor) = listed.next_cursor else { break };
                page.cursor = Some(cursor);
            }
            anyhow::Ok(pages)
        }
    };
    assert_eq!(
        walk(MessageOrder::Backward).await?,
        vec![vec![12, 11, 10, 9, 8], vec![7, 6, 5, 4, 3], vec![2, 1]],
        "newest first, then older pages"
    );
    assert_eq!(
        walk(MessageOrder::Forward).await?,
        vec![vec![1, 2, 3, 4, 5], vec![6, 7, 8, 9, 10], vec![11, 12]]
    );
    let latest = store.list_messages(tenant, conversation, MessageOrder::Backward, &PageRequest::first(1)).await?;
    assert_eq!(latest.data[0].text.as_deref(), Some("line 12"));
    let forged = PageRequest {
        limit: None,
        cursor: Some("%%%".into()),
    };
    assert!(matches!(
        store.list_messages(tenant, conversation, MessageOrder::Forward, &forged).await,
        Err(StoreError::InvalidCursor)
    ));
    Ok(())
}

async fn deleted_message_keeps_its_seq_and_leaves_search(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    store.append_message(tenant, inbound(conversation, "keep this")).await?;
    let secret = NewMessage {
        content: Some(json!({ "card": "4111" })),
        ..inbound(conversation, "my card number is xylophone")
    };
    let doomed = store.append_message(tenant, secret).await?.message;
    store.append_message(tenant, inbound(conversation, "keep this too")).await?;
    let query = SearchQuery {
        text: "xylophone".into(),
        conversation_id: None,
    };
    assert_eq!(store.search_messages(tenant, &query, &PageRequest::default()).await?.data.len(), 1);

    let deleted = store.delete_message(tenant, doomed.id).await?;
    assert_eq!(deleted.seq, 2);
    assert!(deleted.deleted_at.is_some());
    assert_eq!((deleted.text, deleted.content), (None, None), "a deleted message shows no content");
    let listed = store.list_messages(tenant, conversation, MessageOrder::Forward, &PageRequest::default()).await?;
    let shown: Vec<(i64, Option<&str>)> = listed.data.iter().map(|m| (m.seq, m.text.as_deref())).collect();
    assert_eq!(shown, vec![(1, Some("keep this")), (2, None), (3, Some("keep this too"))]);
    assert!(store.search_messages(tenant, &query, &PageRequest::default()).await?.data.is_empty(), "gone from search");
    let keep = SearchQuery {
        text: "keep".into(),
        conversation_id: None,
    };
    assert_eq!(store.search_messages(tenant, &keep, &PageRequest::default()).await?.data.len(), 2);

    let next = store.append_message(tenant, inbound(conversation, "after")).await?;
    assert_eq!(next.message.seq, 4, "a deleted message's seq is never reused");
    assert_not_found(store.delete_message(tenant, doomed.id).await);
    Ok(())
}

async fn search_is_ranked_and_scoped(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let rival = tenancy(&store, "rival").await?;
    let tenant = acme.tenant.id;
    let first = acme.conversation.id;
    let second = store.create_conversation(tenant, acme.operator.id, direct(acme.channel.id, None)).await?.id;
    let texts = [
        (first, "the parcel arrived damaged"),
        (first, "parcel parcel parcel, where is my parcel refund"),
        (first, "thanks for the quick answer"),
        (second, "is my parcel on its way"),
    ];
    let mut stored = Vec::new();
    for (conversation, text) in texts {
        stored.push(store.append_message(tenant, inbound(conversation, text)).await?.message);
    }
    store.append_message(rival.tenant.id, inbound(rival.conversation.id, "rival parcel parcel parcel parcel")).await?;

    let search = |text: &str, conversation_id: Option<ConversationId>, limit: u32| {
        let store = store.clone();
        let query = SearchQuery { text: text.to_owned(), conversation_id };
        async move { anyhow::Ok(store.search_messages(tenant, &query, &PageRequest::first(limit)).await?) }
    };
    let hits = search("parcel", None, 20).await?.data;
    assert_eq!(hits.len(), 3, "only this tenant's messages: {hits:?}");
    assert!(hits.iter().all(|hit| hit.message.tenant_id == tenant));
    assert_eq!(hits[0].message.id, stored[1].id, "the message most about parcels ranks first");
    assert!(hits.windows(2).all(|pair| pair[0].rank >= pair[1].rank), "best first");

    let in_second = search("parcel", Some(second), 20).await?.data;
    assert_eq!(in_second.iter().map(|hit| hit.message.id).collect::<Vec<_>>(), vec![stored[3].id]);
    let all_words = search("parcel refund", None, 20).await?.data;
    assert_eq!(all_words.iter().map(|hit| hit.message.id).collect::<Vec<_>>(), vec![stored[1].id], "every word must appear");
    let phrase = search("\"arrived damaged\"", None, 20).await?.data;
    assert_eq!(phrase.iter().map(|hit| hit.message.id).collect::<Vec<_>>(), vec![stored[0].id]);
    let out_of_order = search("\"damaged arrived\"", None, 20).await?.data;
    assert!(out_of_order.is_empty(), "a phrase matches in order only");
    assert_eq!(search("PARCEL", None, 20).await?.data.len(), 3, "case does not matter");

    let first_page = search("parcel", None, 2).await?;
    let cursor = first_page.next_cursor.clone().context("a third hit remains")?;
    let query = SearchQuery { text: "parcel".into(), conversation_id: None };
    let second_page = store
        .search_messages(tenant, &query, &PageRequest { limit: Some(2), cursor: Some(cursor) })
        .await?;
    let mut paged: Vec<_> = first_page.data.iter().chain(&second_page.data).map(|hit| hit.message.id).collect();
    assert_eq!(second_page.next_cursor, None);
    paged.sort();
    paged.dedup();
    assert_eq!(paged.len(), 3, "pages cover every hit once");
    Ok(())
}

async fn search_accepts_any_text_but_needs_a_word(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    store.append_message(tenant, inbound(acme.conversation.id, "order 42 is late, NEAR the depot")).await?;
    let search = |text: &str| {
        let store = store.clone();
        let query = SearchQuery { text: text.to_owned(), conversation_id: None };
        async move { store.search_messages(tenant, &query, &PageRequest::default()).await }
    };
    // What users type, including what the engines would read as syntax, is searched as words.
    for text in [
        "order-42*", "late OR never", "NEAR(order late)", "order AND", "-late", "late:*", "\"unclosed phrase",
        "(order", "'; DROP TABLE messages; --", "order & | ! <->", "ümlaut café", "order^2 {late}",
    ] {
        let result = search(text).await;
        assert!(result.is_ok(), "`{text}` must not be a syntax error: {result:?}");
    }
    let hits = search("order-42*").await?.data;
    assert_eq!(hits.len(), 1, "punctuation separates words: order, 42");
    let near = search("NEAR(depot)").await?.data;
    assert_eq!(near.len(), 1, "NEAR is a word here, not an operator");
    for empty in ["", "   ", "*** ()", "\"\""] {
        let result = search(empty).await;
        assert!(matches!(result, Err(StoreError::InvalidSearch(_))), "`{empty}` has no words: {result:?}");
    }
    assert_eq!(store.list_messages(tenant, acme.conversation.id, MessageOrder::Forward, &PageRequest::default()).await?.data.len(), 1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Credits

async fn credits_are_recorded_once_per_idempotency_key(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let tenant = store.create_tenant("acme".into()).await?.id;
    let entry = |amount: i64, key: &str| NewLedgerEntry {
        amount: Credits(amount),
        reason: format!("entry {key}"),
        idempotency_key: key.to_owned(),
    };
    let (grant, created) = store.record_credits(tenant, entry(100, "grant-1")).await?;
    assert!(created);
    assert_eq!(grant.balance_after, Credits(100));
    let (debit, _) = store.record_credits(tenant, entry(-30, "run-1")).await?;
    assert_eq!(debit.balance_after, Credits(70));

    let (replayed, created) = store.record_credits(tenant, entry(500, "grant-1")).await?;
    assert!(!created, "the same key is recorded once");
    assert_eq!(replayed, grant, "and answered with the original entry");
    assert_eq!(store.credit_balance(tenant).await?, Credits(70), "the replay moved nothing");

    let (second_grant, _) = store.record_credits(tenant, entry(5, "grant-2")).await?;
    // Keys are scoped to the tenant.
    let other = store.create_tenant("other".into()).await?.id;
    assert!(store.record_credits(other, entry(1, "grant-1")).await?.1);

    let ledger = store.list_ledger(tenant, &PageRequest::default()).await?.data;
    assert_eq!(
        ledger.iter().map(|entry| entry.id).collect::<Vec<_>>(),
        vec![second_grant.id, debit.id, grant.id],
        "newest first"
    );
    let sum: i64 = ledger.iter().map(|entry| entry.amount.0).sum();
    assert_eq!(store.credit_balance(tenant).await?, Credits(sum), "the balance is the sum of the ledger");
    assert_eq!(store.get_tenant(tenant).await?.credit_balance, Credits(75));

    let mut paged = Vec::new();
    let mut page = PageRequest::first(1);
    loop {
        let listed = store.list_ledger(tenant, &page).await?;
        paged.extend(listed.data.into_iter().map(|entry| entry.id));
        let Some(cursor) = listed.next_cursor else { break };
        page.cursor = Some(cursor);
    }
    assert_eq!(paged, ledger.iter().map(|entry| entry.id).collect::<Vec<_>>());
    assert_not_found(store.record_credits(TenantId::new(), entry(1, "ghost")).await);
    assert_not_found(store.credit_balance(TenantId::new()).await);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Administration

async fn explain_plans_selects_and_refuses_the_rest(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    store.append_message(acme.tenant.id, inbound(acme.conversation.id, "still here")).await?;

    let plan = store
        .explain("SELECT id FROM messages WHERE conversation_id = 'x' ORDER BY seq DESC LIMIT 50")
        .await?;
    assert!(!plan.is_empty(), "a plan has at least one line");
    assert!(plan.join("\n").to_lowercase().contains("messages"), "the plan names the table: {plan:?}");

    for statement in ["DELETE FROM messages", "SELECT 1; DELETE FROM messages", "UPDATE tenants SET name = 'x'", ""] {
        let result = store.explain(statement).await;
        assert!(matches!(result, Err(StoreError::NotReadOnly(_))), "`{statement}`: {result:?}");
    }
    let result = store.explain("SELECT * FROM no_such_table").await;
    assert!(matches!(result, Err(StoreError::InvalidQuery(_))), "{result:?}");

    let listed = store.list_messages(acme.tenant.id, acme.conversation.id, MessageOrder::Forward, &PageRequest::default()).await?;
    assert_eq!(listed.data.len(), 1, "nothing was executed");
    assert_eq!(store.get_tenant(acme.tenant.id).await?.name, "acme");
    Ok(())
}

async fn optimize_and_metrics_report_the_tables(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    for index in 0..7 {
        store.append_message(acme.tenant.id, inbound(acme.conversation.id, &format!("metric {index}"))).await?;
    }
    let ran = store.optimize().await?;
    assert!(ran.contains(&"ANALYZE"), "{ran:?}");
    // Optimizing twice is harmless.
    store.optimize().await?;

    let metrics = store.database_metrics().await?;
    assert_eq!(metrics.backend, database.backend().as_str());
    let names: HashSet<&str> = metrics.tables.iter().map(|table| table.name.as_str()).collect();
    for table in [
        "tenants", "users", "api_keys", "refresh_tokens", "contacts", "agents", "channels",
        "conversations", "participants", "messages", "credit_ledger",
    ] {
        assert!(names.contains(table), "{table} is reported: {names:?}");
    }
    let rows = |name: &str| metrics.tables.iter().find(|table| table.name == name).map(|table| table.rows);
    // SQLite counts; PostgreSQL reports the estimate the ANALYZE above just refreshed.
    assert_eq!(rows("messages"), Some(7));
    assert_eq!(rows("tenants"), Some(1));
    assert_eq!(rows("credit_ledger"), Some(0));
    assert!(metrics.pool.max >= 1);
    if database.backend() == Backend::Postgres {
        assert!(metrics.tables.iter().all(|table| table.bytes.is_some()), "PostgreSQL reports sizes");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Group commit

async fn failed_write_in_a_batch_leaves_the_others_committed(database: TestDatabase) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    store.create_user(tenant, new_user("taken")).await?;

    // Everyone starts at once so the writes share commits: good and bad side by side.
    let writers = 60;
    let start = Arc::new(Barrier::new(writers));
    let mut tasks = Vec::new();
    for index in 0..writers {
        let (store, start) = (store.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            match index % 4 {
                0 => Outcome::User(store.create_user(tenant, new_user(&format!("user-{index}"))).await.map(|user| user.id)),
                1 => Outcome::Duplicate(store.create_user(tenant, new_user("taken")).await.map(|user| user.id)),
                2 => Outcome::Message(store.append_message(tenant, inbound(conversation, &format!("batch {index}"))).await.map(|appended| appended.message.seq)),
                _ => Outcome::Orphan(store.append_message(tenant, inbound(ConversationId::new(), "nowhere")).await.map(|appended| appended.message.seq)),
            }
        }));
    }
    let mut users = Vec::new();
    let mut seqs = Vec::new();
    for task in tasks {
        match task.await? {
            Outcome::User(result) => users.push(result?),
            Outcome::Duplicate(result) => assert_conflict(result),
            Outcome::Message(result) => seqs.push(result?),
            Outcome::Orphan(result) => assert_not_found(result),
        }
    }
    assert_eq!(users.len(), 15);
    for user in &users {
        store.get_user(tenant, *user).await.with_context(|| format!("user {user} committed"))?;
    }
    let listed = store.list_users(tenant, &PageRequest::first(200)).await?.data;
    assert_eq!(listed.len(), 1 + 1 + 15, "operator, taken, and every good write; no duplicate");
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=15).collect::<Vec<i64>>(), "failed writes consumed no seq");
    let messages = store.list_messages(tenant, conversation, MessageOrder::Forward, &PageRequest::first(200)).await?;
    assert_eq!(messages.data.len(), 15);
    Ok(())
}

/// What each concurrent writer in the batch test did.
enum Outcome {
    User(Result<UserId, StoreError>),
    Duplicate(Result<UserId, StoreError>),
    Message(Result<i64, StoreError>),
    Orphan(Result<i64, StoreError>),
}
