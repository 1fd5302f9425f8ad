//! Bodies for tenants, users, API keys, channels, agents, contacts and credits.

use serde::{Deserialize, Serialize};
use switchboard_core::{
    Agent, AgentId, AgentKind, ApiKey, Channel, ChannelId, ChannelKind, Credits, LedgerEntry, Role,
    TenantId,
};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTenant {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    /// Platform admins may create users in another tenant.
    pub tenant_id: Option<TenantId>,
    /// The user's id in your own system, unique within the tenant.
    pub external_id: Option<String>,
    /// How the user is called, for people.
    pub name: Option<String>,
    /// Unique within the tenant, compared without regard to case.
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    pub role: Option<Role>,
    pub password: Option<String>,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
    /// Defaults to your own role; may not exceed it.
    pub role: Option<Role>,
}

/// A new API key. `key` is shown only in this response; store it now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// Send as `X-API-Key`.
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateChannel {
    pub kind: ChannelKind,
    pub name: String,
    /// The agent that answers this channel's conversations.
    pub agent_id: Option<AgentId>,
    /// `whatsapp`: phoneNumberId, appSecret, verifyToken, accessToken, apiBaseUrl?;
    /// `twilio`: accountSid, authToken, fromNumber, apiBaseUrl?;
    /// `telegram`: botToken, secretToken, apiBaseUrl?; `api`: signingSecret, callbackUrl?.
    /// Secrets are write-only. An `api` channel without a `signingSecret` gets a generated one,
    /// returned once in the creation response.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateChannel {
    pub name: Option<String>,
    /// `null` detaches the agent.
    #[serde(default, deserialize_with = "crate::nullable")]
    #[schema(value_type = Option<AgentId>)]
    pub agent_id: Option<Option<AgentId>>,
    /// Fields to change; omitted fields, secrets included, keep their values.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
}

/// A channel just created: the channel, and the signing secret generated for it when an `api`
/// channel was created without one (shown this once, like an API key).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedChannel {
    #[serde(flatten)]
    pub channel: ChannelView,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}

/// A channel as clients see it: configuration without secrets.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    pub id: ChannelId,
    pub tenant_id: TenantId,
    pub kind: ChannelKind,
    pub name: String,
    pub agent_id: Option<AgentId>,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// Names of the secret fields that are set (their values are never returned).
    pub configured_secrets: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
}

impl From<Channel> for ChannelView {
    fn from(channel: Channel) -> Self {
        let (config, configured_secrets) = channel.config.public_json();
        Self {
            id: channel.id,
            tenant_id: channel.tenant_id,
            kind: channel.kind(),
            name: channel.name,
            agent_id: channel.agent_id,
            config,
            configured_secrets,
            created_at: rfc3339(channel.created_at),
            updated_at: rfc3339(channel.updated_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAgent {
    pub name: String,
    pub kind: AgentKind,
    /// Kind-specific settings; `openai`: baseUrl, apiKey, model, systemPrompt, tools.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    /// Credits each run costs (default 1).
    pub cost_per_run: Option<Credits>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAgent {
    pub name: Option<String>,
    /// Keys to change; omitted keys, secrets included, keep their values.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
    pub cost_per_run: Option<Credits>,
}

/// An agent as clients see it: configuration without secrets.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    pub id: AgentId,
    pub tenant_id: TenantId,
    pub name: String,
    pub kind: AgentKind,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub configured_secrets: Vec<String>,
    pub cost_per_run: Credits,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: String,
}

impl From<Agent> for AgentView {
    fn from(agent: Agent) -> Self {
        let (config, configured_secrets) = agent.public_config();
        Self {
            id: agent.id,
            tenant_id: agent.tenant_id,
            name: agent.name,
            kind: agent.kind,
            config,
            configured_secrets,
            cost_per_run: agent.cost_per_run,
            created_at: rfc3339(agent.created_at),
            updated_at: rfc3339(agent.updated_at),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateContact {
    pub name: Option<String>,
    /// E.164, e.g. `+15551234567`.
    pub phone: Option<String>,
    /// The contact's id in your own system, unique within the tenant.
    pub external_id: Option<String>,
    pub email: Option<String>,
    /// An IANA time zone, e.g. `America/New_York` (any case; stored canonical).
    pub timezone: Option<String>,
    /// Free-form texts (template variables for calls); given on update, replaces them all.
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    pub attributes: Option<std::collections::BTreeMap<String, String>>,
}

/// Fields to change; omitted fields keep their values.
pub type UpdateContact = CreateContact;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    pub balance: Credits,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantCredits {
    /// Positive whole credits.
    pub amount: Credits,
    pub reason: String,
    /// Replaying a grant with the same key grants once.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantResult {
    pub entry: LedgerEntry,
    pub balance: Credits,
    /// `false` when this idempotency key had already been granted.
    pub created: bool,
}

fn rfc3339(time: time::OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
