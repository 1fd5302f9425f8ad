//! The audit log's vocabulary: who ([`Caller`](crate::Caller)) changed what ([`AuditAction`] on
//! an [`AuditResource`]), when, and from where ([`Origin`]). Details name what changed; they
//! never hold a secret's value.

use crate::vocabulary::vocabulary;
use crate::{ApiKeyId, AuditEventId, Role, TenantId, Timestamp, UserId};

vocabulary! {
    /// What kind of record a change was made to.
    pub enum AuditResource {
        Tenant = "tenant",
        User = "user",
        ApiKey = "api_key",
        Channel = "channel",
        Agent = "agent",
        Credits = "credits",
        DeadLetter = "dead_letter",
        Campaign = "campaign",
    }
}

vocabulary! {
    /// A change worth recording, named `<resource>.<verb>`.
    pub enum AuditAction {
        TenantCreated = "tenant.created",
        UserCreated = "user.created",
        UserUpdated = "user.updated",
        UserDeleted = "user.deleted",
        ApiKeyCreated = "api_key.created",
        ApiKeyRevoked = "api_key.revoked",
        ChannelCreated = "channel.created",
        ChannelUpdated = "channel.updated",
        ChannelDeleted = "channel.deleted",
        AgentCreated = "agent.created",
        AgentUpdated = "agent.updated",
        AgentDeleted = "agent.deleted",
        CreditsGranted = "credits.granted",
        DeadLetterRetried = "dead_letter.retried",
        DeadLetterDiscarded = "dead_letter.discarded",
        CampaignCreated = "campaign.created",
        /// Started, paused, resumed or cancelled: `details.status` says which status it moved to.
        CampaignControlled = "campaign.controlled",
    }
}

impl AuditAction {
    /// The kind of record the action changes.
    pub fn resource(self) -> AuditResource {
        match self {
            Self::TenantCreated => AuditResource::Tenant,
            Self::UserCreated | Self::UserUpdated | Self::UserDeleted => AuditResource::User,
            Self::ApiKeyCreated | Self::ApiKeyRevoked => AuditResource::ApiKey,
            Self::ChannelCreated | Self::ChannelUpdated | Self::ChannelDeleted => {
                AuditResource::Channel
            }
            Self::AgentCreated | Self::AgentUpdated | Self::AgentDeleted => AuditResource::Agent,
            Self::CreditsGranted => AuditResource::Credits,
            Self::DeadLetterRetried | Self::DeadLetterDiscarded => AuditResource::DeadLetter,
            Self::CampaignCreated | Self::CampaignControlled => AuditResource::Campaign,
        }
    }
}

/// Where a request came from, as far as the gateway can tell: the client's address (the peer,
/// or the configured forwarding header), its `User-Agent` and the request's `X-Request-Id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: AuditEventId,
    /// The tenant the change was made in.
    pub tenant_id: TenantId,
    /// The user who made it (the user an API key acts for, when a key made it).
    pub actor_user_id: UserId,
    /// The API key the change was made with, if it was.
    pub actor_api_key_id: Option<ApiKeyId>,
    /// The role the actor acted with.
    pub actor_role: Role,
    pub action: AuditAction,
    pub resource: AuditResource,
    /// The record changed, when the change names one.
    pub resource_id: Option<String>,
    /// What changed: field names, amounts, statuses; never a secret's value.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    pub origin: Origin,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}
