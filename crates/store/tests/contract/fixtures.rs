//! What most contract tests start from: a tenant with an operator, a contact, a channel and a
//! conversation; builders for common inputs; and assertions on the store's error kinds.

use std::fmt::Debug;
use std::time::Duration;

use serde_json::json;
use switchboard_core::{
    AgentKind, AuthorKind, Channel, ChannelConfig, ChannelId, ChannelKind, Contact, ContactId,
    Conversation, ConversationId, ConversationType, Credits, Message, MessageDirection,
    MessageStatus, MessageType, Role, Tenant, TenantId, Timestamp, User, UserId,
};
use switchboard_store::{
    Appended, ConversationFilter, DatabaseOptions, MessageOrder, NewAgent, NewChannel, NewContact,
    NewConversation, NewLedgerEntry, NewMessage, NewRefreshToken, NewUser, PageRequest, Store,
    StoreError,
};
use switchboard_test_database::TestDatabase;

/// What a contract test returns: `?` on any store call that must succeed.
pub type TestResult = anyhow::Result<()>;

/// The store on a test's database, migrated.
pub async fn open(database: &TestDatabase) -> Store {
    let backend = database.backend().as_str();
    Store::open(DatabaseOptions::new(database.url()))
        .await
        .unwrap_or_else(|error| panic!("cannot open the {backend} test store: {error:?}"))
}

/// A tenant with what most tests need: an operator, a contact, a channel and a conversation
/// between them.
pub struct Tenancy {
    pub tenant: Tenant,
    pub operator: User,
    pub contact: Contact,
    pub channel: Channel,
    pub conversation: Conversation,
}

pub async fn tenancy(store: &Store, name: &str) -> anyhow::Result<Tenancy> {
    let tenant = store.create_tenant(name.to_owned()).await?;
    let operator = store
        .create_user(tenant.id, new_user(&format!("{name}-operator")))
        .await?;
    let contact = store
        .create_contact(
            tenant.id,
            NewContact {
                name: Some(format!("{name} contact")),
                phone: Some("+15551234567".into()),
                external_id: None,
                ..NewContact::default()
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

/// Grants the tenant `amount` credits under the ledger key `key`.
pub async fn grant(store: &Store, tenant_id: TenantId, amount: i64, key: &str) -> TestResult {
    let grant = NewLedgerEntry {
        amount: Credits(amount),
        reason: "grant".into(),
        idempotency_key: key.into(),
    };
    store.record_credits(tenant_id, grant).await?;
    Ok(())
}

pub fn new_user(username: &str) -> NewUser {
    NewUser {
        username: username.to_owned(),
        password_hash: format!("$argon2id$hash-of-{username}"),
        role: Role::Agent,
        external_id: None,
        name: None,
        email: None,
    }
}

pub fn api_channel(secret: &str) -> anyhow::Result<ChannelConfig> {
    Ok(ChannelConfig::parse(
        ChannelKind::Api,
        json!({ "signingSecret": secret }),
    )?)
}

pub fn echo_agent(name: &str) -> NewAgent {
    NewAgent {
        name: name.to_owned(),
        kind: AgentKind::Echo,
        config: json!({ "greeting": "hello" }),
        cost_per_run: Credits(2),
    }
}

pub fn direct(channel_id: ChannelId, contact_id: Option<ContactId>) -> NewConversation {
    NewConversation {
        channel_id,
        contact_id,
        conversation_type: ConversationType::Direct,
        business_id: None,
        agent_id: None,
    }
}

/// A text from the contact.
pub fn inbound(conversation_id: ConversationId, text: &str) -> NewMessage {
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
pub fn reply(conversation_id: ConversationId, author: UserId, text: &str) -> NewMessage {
    NewMessage {
        direction: MessageDirection::Outbound,
        author_kind: AuthorKind::User,
        author_id: Some(author.to_string()),
        status: MessageStatus::Pending,
        ..inbound(conversation_id, text)
    }
}

pub fn refresh_token(
    user_id: UserId,
    family: &str,
    token: &str,
    lifetime_seconds: i64,
) -> NewRefreshToken {
    NewRefreshToken {
        user_id,
        family_id: family.to_owned(),
        token_hash: token.to_owned(),
        expires_at: Timestamp::now_utc() + time::Duration::seconds(lifetime_seconds),
    }
}

/// Every message of a conversation, oldest first.
pub async fn all_messages(
    store: &Store,
    tenant: TenantId,
    conversation: ConversationId,
) -> anyhow::Result<Vec<Message>> {
    let page = PageRequest::first(PageRequest::MAX_LIMIT);
    let listed = store.list_messages(tenant, conversation, MessageOrder::Forward, &page);
    Ok(listed.await?.data)
}

pub fn everything() -> ConversationFilter {
    ConversationFilter::default()
}

/// Lets the millisecond clock the store stamps rows with move on, so activity orders strictly.
pub async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

#[track_caller]
pub fn assert_not_found<T: Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound { .. })),
        "expected NotFound, got {result:?}"
    );
}

#[track_caller]
pub fn assert_conflict<T: Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "expected Conflict, got {result:?}"
    );
}

#[track_caller]
pub fn assert_foreign_key<T: Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::ForeignKey { .. })),
        "expected ForeignKey, got {result:?}"
    );
}

/// Appends `writers` inbound messages to one conversation at once (released together by a
/// barrier), and returns each append's outcome.
pub async fn append_concurrently(
    store: &Store,
    tenant: TenantId,
    conversation: ConversationId,
    writers: usize,
) -> anyhow::Result<Vec<Appended>> {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(writers));
    let mut tasks = Vec::new();
    for index in 0..writers {
        let (store, start) = (store.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            store
                .append_message(
                    tenant,
                    inbound(conversation, &format!("concurrent {index}")),
                )
                .await
        }));
    }
    let mut appended = Vec::new();
    for task in tasks {
        appended.push(task.await??);
    }
    Ok(appended)
}
