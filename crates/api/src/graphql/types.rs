//! What GraphQL clients see of each resource: the same fields as REST's JSON, in camelCase.
//! Vocabularies (roles, statuses, kinds) are their REST words; configurations, contents and run
//! events are JSON.

use async_graphql::{ID, Json, SimpleObject};
use serde::Serialize;
use switchboard_core as core;
use time::OffsetDateTime;

/// A vocabulary value as REST writes it (`"operator"`, `"open"`).
pub(crate) fn word(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn id(value: impl ToString) -> ID {
    ID(value.to_string())
}

fn json(value: &impl Serialize) -> Json<serde_json::Value> {
    Json(serde_json::to_value(value).unwrap_or(serde_json::Value::Null))
}

/// A user of the caller's tenant.
#[derive(SimpleObject)]
pub(crate) struct User {
    pub id: ID,
    pub tenant_id: ID,
    pub username: String,
    pub role: String,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub created_at: OffsetDateTime,
}

impl From<core::User> for User {
    fn from(user: core::User) -> Self {
        Self {
            id: id(user.id),
            tenant_id: id(user.tenant_id),
            username: user.username,
            role: word(&user.role),
            external_id: user.external_id,
            name: user.name,
            email: user.email,
            created_at: user.created_at,
        }
    }
}

#[derive(SimpleObject)]
pub(crate) struct Tenant {
    pub id: ID,
    pub name: String,
    pub credit_balance: i64,
    pub created_at: OffsetDateTime,
}

impl From<core::Tenant> for Tenant {
    fn from(tenant: core::Tenant) -> Self {
        Self {
            id: id(tenant.id),
            name: tenant.name,
            credit_balance: tenant.credit_balance.0,
            created_at: tenant.created_at,
        }
    }
}

/// An API key; its secret is shown once, when created, and never here.
#[derive(SimpleObject)]
pub(crate) struct ApiKey {
    pub id: ID,
    pub user_id: ID,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<core::ApiKey> for ApiKey {
    fn from(key: core::ApiKey) -> Self {
        Self {
            id: id(key.id),
            user_id: id(key.user_id),
            name: key.name,
            role: word(&key.role),
            prefix: key.prefix,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
        }
    }
}

/// A channel; its configuration as REST shows it (secrets redacted).
#[derive(SimpleObject)]
pub(crate) struct Channel {
    pub id: ID,
    pub name: String,
    pub kind: String,
    pub agent_id: Option<ID>,
    /// Without its secrets; `configuredSecrets` names those that are set.
    pub config: Json<serde_json::Value>,
    pub configured_secrets: Vec<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<core::Channel> for Channel {
    fn from(channel: core::Channel) -> Self {
        let (config, configured_secrets) = channel.config.public_json();
        let kind = word(&channel.kind());
        Self {
            id: id(channel.id),
            name: channel.name,
            kind,
            agent_id: channel.agent_id.map(id),
            config: Json(config),
            configured_secrets,
            created_at: channel.created_at,
            updated_at: channel.updated_at,
        }
    }
}

#[derive(SimpleObject)]
pub(crate) struct Agent {
    pub id: ID,
    pub name: String,
    pub kind: String,
    pub config: Json<serde_json::Value>,
    pub cost_per_run: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<core::Agent> for Agent {
    fn from(agent: core::Agent) -> Self {
        // Without its secrets, as REST returns it.
        let (config, _) = agent.public_config();
        Self {
            id: id(agent.id),
            name: agent.name,
            kind: word(&agent.kind),
            config: Json(config),
            cost_per_run: agent.cost_per_run.0,
            created_at: agent.created_at,
            updated_at: agent.updated_at,
        }
    }
}

#[derive(SimpleObject)]
pub(crate) struct Contact {
    pub id: ID,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub external_id: Option<String>,
    pub email: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Free-form texts, as a JSON object.
    pub attributes: Json<serde_json::Value>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<core::Contact> for Contact {
    fn from(contact: core::Contact) -> Self {
        Self {
            id: id(contact.id),
            name: contact.name,
            phone: contact.phone,
            external_id: contact.external_id,
            email: contact.email,
            timezone: contact.timezone,
            attributes: json(&contact.attributes),
            created_at: contact.created_at,
            updated_at: contact.updated_at,
        }
    }
}

/// The start of a conversation's last message.
#[derive(SimpleObject)]
pub(crate) struct MessagePreview {
    pub id: ID,
    pub seq: i64,
    pub direction: String,
    pub author_kind: String,
    pub text: Option<String>,
    pub created_at: OffsetDateTime,
}

impl From<core::MessagePreview> for MessagePreview {
    fn from(preview: core::MessagePreview) -> Self {
        Self {
            id: id(preview.id),
            seq: preview.seq,
            direction: word(&preview.direction),
            author_kind: word(&preview.author_kind),
            text: preview.text,
            created_at: preview.created_at,
        }
    }
}

#[derive(SimpleObject)]
pub(crate) struct Message {
    pub id: ID,
    pub conversation_id: ID,
    pub channel_id: ID,
    pub seq: i64,
    pub direction: String,
    pub author_kind: String,
    pub author_id: Option<String>,
    #[graphql(name = "type")]
    pub message_type: String,
    pub text: Option<String>,
    pub content: Option<Json<serde_json::Value>>,
    pub provider_message_id: Option<String>,
    pub status: String,
    pub created_at: OffsetDateTime,
    pub deleted_at: Option<OffsetDateTime>,
}

impl From<core::Message> for Message {
    fn from(message: core::Message) -> Self {
        Self {
            id: id(message.id),
            conversation_id: id(message.conversation_id),
            channel_id: id(message.channel_id),
            seq: message.seq,
            direction: word(&message.direction),
            author_kind: word(&message.author_kind),
            author_id: message.author_id,
            message_type: word(&message.message_type),
            text: message.text,
            content: message.content.map(Json),
            provider_message_id: message.provider_message_id,
            status: word(&message.status),
            created_at: message.created_at,
            deleted_at: message.deleted_at,
        }
    }
}

/// A message that matched a search, with its relevance (higher is better).
#[derive(SimpleObject)]
pub(crate) struct SearchHit {
    pub message: Message,
    pub rank: f64,
}

#[derive(SimpleObject)]
pub(crate) struct Participant {
    pub id: ID,
    pub kind: String,
    pub user_id: Option<ID>,
    pub contact_id: Option<ID>,
    pub agent_id: Option<ID>,
    pub role: String,
    pub joined_at: OffsetDateTime,
    pub last_read_seq: i64,
    pub last_read_at: Option<OffsetDateTime>,
}

impl From<core::Participant> for Participant {
    fn from(participant: core::Participant) -> Self {
        Self {
            id: id(participant.id),
            kind: word(&participant.kind),
            user_id: participant.user_id.map(id),
            contact_id: participant.contact_id.map(id),
            agent_id: participant.agent_id.map(id),
            role: word(&participant.role),
            joined_at: participant.joined_at,
            last_read_seq: participant.last_read_seq,
            last_read_at: participant.last_read_at,
        }
    }
}

/// An agent's run; `events` are the five agent events it streamed, as JSON.
#[derive(SimpleObject)]
pub(crate) struct Run {
    pub id: ID,
    pub conversation_id: ID,
    pub agent_id: Option<ID>,
    pub message_ids: Vec<ID>,
    pub status: String,
    pub reply_message_id: Option<ID>,
    pub error: Option<String>,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub events: Json<serde_json::Value>,
}

impl From<core::Run> for Run {
    fn from(run: core::Run) -> Self {
        Self {
            id: id(run.id),
            conversation_id: id(run.conversation_id),
            agent_id: run.agent_id.map(id),
            message_ids: run.message_ids.into_iter().map(id).collect(),
            status: word(&run.status),
            reply_message_id: run.reply_message_id.map(id),
            error: run.error,
            started_at: run.started_at,
            finished_at: run.finished_at,
            events: json(&run.events),
        }
    }
}

#[derive(SimpleObject)]
pub(crate) struct LedgerEntry {
    pub id: ID,
    pub amount: i64,
    pub balance_after: i64,
    pub reason: String,
    pub idempotency_key: String,
    pub created_at: OffsetDateTime,
}

impl From<core::LedgerEntry> for LedgerEntry {
    fn from(entry: core::LedgerEntry) -> Self {
        Self {
            id: id(entry.id),
            amount: entry.amount.0,
            balance_after: entry.balance_after.0,
            reason: entry.reason,
            idempotency_key: entry.idempotency_key,
            created_at: entry.created_at,
        }
    }
}

/// A queue entry that ran out of attempts.
#[derive(SimpleObject)]
pub(crate) struct DeadLetter {
    pub id: ID,
    pub kind: String,
    pub conversation_id: ID,
    pub message_id: ID,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
}

impl From<core::QueueEntry> for DeadLetter {
    fn from(entry: core::QueueEntry) -> Self {
        Self {
            id: id(entry.id),
            kind: word(&entry.kind),
            conversation_id: id(entry.conversation_id),
            message_id: id(entry.message_id),
            attempts: entry.attempts,
            last_error: entry.last_error,
            created_at: entry.created_at,
        }
    }
}
