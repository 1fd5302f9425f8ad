//! Bodies for conversations, participants, messages and search.

use serde::{Deserialize, Serialize};
use switchboard_core::{
    AgentId, ChannelId, ContactId, ConversationStatus, ConversationType, Message, MessageType,
    ParticipantRole, UserId,
};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateConversation {
    pub channel_id: ChannelId,
    /// Required unless `type` is `group`.
    pub contact_id: Option<ContactId>,
    /// `direct` (default), `group` or `business`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub conversation_type: Option<ConversationType>,
    /// Required for `business` conversations.
    pub business_id: Option<String>,
    /// Overrides the channel's agent.
    pub agent_id: Option<AgentId>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateConversation {
    pub status: Option<ConversationStatus>,
    /// `null` falls back to the channel's agent.
    #[serde(default, deserialize_with = "crate::nullable")]
    #[schema(value_type = Option<AgentId>)]
    pub agent_id: Option<Option<AgentId>>,
    pub business_id: Option<String>,
}

/// Exactly one of `userId`, `contactId`, `agentId`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddParticipant {
    pub user_id: Option<UserId>,
    pub contact_id: Option<ContactId>,
    pub agent_id: Option<AgentId>,
    /// Defaults by kind: users `operator`, contacts `member`, agents `bot`.
    pub role: Option<ParticipantRole>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostMessage {
    pub text: Option<String>,
    /// Defaults to `text`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub message_type: Option<MessageType>,
    /// Structured content for non-text messages.
    #[schema(value_type = Option<Object>)]
    pub content: Option<serde_json::Value>,
    /// Makes the post safe to repeat: posting again with the same key in the conversation
    /// posts nothing and answers `200` with the first message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarkRead {
    /// Read up to this `seq` (default: the newest message). Markers never move back.
    pub seq: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHitView {
    pub message: Message,
    /// Relevance; higher is better. Comparable within one result list only.
    pub rank: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandOff {
    /// The user who takes the conversation; they join it as its operator.
    pub assignee_id: Option<UserId>,
}
