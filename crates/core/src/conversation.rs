//! A conversation: the thread between a contact and the tenant on one channel (or a group), with
//! its participants and their read markers. Messages in it are numbered by a gap-free `seq`.

use crate::vocabulary::vocabulary;
use crate::{
    AgentId, AuthorKind, ChannelId, ContactId, ConversationId, MessageDirection, MessageId,
    ParticipantId, TenantId, Timestamp, UserId,
};

vocabulary! {
    pub enum ConversationType {
        /// One contact and the tenant.
        Direct = "direct",
        /// Several contacts.
        Group = "group",
        /// A contact and one business (`businessId`) of a tenant that runs several.
        Business = "business",
        /// A voice call: its report's transcript turns are its messages.
        Call = "call",
    }
}

vocabulary! {
    pub enum ConversationStatus {
        Open = "open",
        /// Waiting for a human.
        Pending = "pending",
        Resolved = "resolved",
    }
}

vocabulary! {
    /// Whose a conversation is, as a list filter sees it.
    pub enum Assignment {
        /// The viewing user takes part as its operator.
        Me = "me",
        /// No one takes part as its operator.
        Nobody = "nobody",
    }
}

vocabulary! {
    pub enum ParticipantKind {
        Contact = "contact",
        User = "user",
        Agent = "agent",
    }
}

vocabulary! {
    pub enum ParticipantRole {
        /// A contact or end user taking part.
        Member = "member",
        /// A human answering for the tenant.
        Operator = "operator",
        /// An AI agent answering for the tenant.
        Bot = "bot",
        /// Reads without taking part.
        Observer = "observer",
    }
}

/// The last message of a conversation, as shown in a conversation list.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessagePreview {
    pub id: MessageId,
    pub seq: i64,
    pub direction: MessageDirection,
    pub author_kind: AuthorKind,
    /// The start of the text (at most [`MessagePreview::MAX_CHARS`] characters).
    pub text: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl MessagePreview {
    pub const MAX_CHARS: usize = 140;
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: ConversationId,
    pub tenant_id: TenantId,
    pub channel_id: ChannelId,
    pub contact_id: Option<ContactId>,
    #[serde(rename = "type")]
    pub conversation_type: ConversationType,
    /// Which business of the tenant this conversation belongs to, for `business` conversations.
    pub business_id: Option<String>,
    pub status: ConversationStatus,
    /// The agent that answers; `None` falls back to the channel's agent.
    pub agent_id: Option<AgentId>,
    /// The `seq` of the newest message (0 while empty).
    pub last_seq: i64,
    pub last_message_id: Option<MessageId>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_activity_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    /// Messages after the caller's read marker.
    pub unread_count: i64,
    pub last_message: Option<MessagePreview>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub id: ParticipantId,
    pub conversation_id: ConversationId,
    pub kind: ParticipantKind,
    /// Set when `kind` is `user`.
    pub user_id: Option<UserId>,
    /// Set when `kind` is `contact`.
    pub contact_id: Option<ContactId>,
    /// Set when `kind` is `agent`.
    pub agent_id: Option<AgentId>,
    pub role: ParticipantRole,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub joined_at: Timestamp,
    /// The `seq` of the last message this participant has read (0: none).
    pub last_read_seq: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_read_at: Option<Timestamp>,
}
