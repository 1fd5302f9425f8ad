//! A message: one entry of a conversation, inbound from a contact or outbound from the tenant,
//! numbered by `seq` (gap-free, starting at 1, assigned in the transaction that stores it).

use crate::vocabulary::vocabulary;
use crate::{ChannelId, ConversationId, MessageId, TenantId, Timestamp};

vocabulary! {
    pub enum MessageDirection {
        Inbound = "inbound",
        Outbound = "outbound",
    }
}

vocabulary! {
    pub enum AuthorKind {
        Contact = "contact",
        User = "user",
        Agent = "agent",
        System = "system",
    }
}

vocabulary! {
    pub enum MessageType {
        Text = "text",
        Image = "image",
        Audio = "audio",
        Video = "video",
        Document = "document",
        Sticker = "sticker",
        Location = "location",
        Contacts = "contacts",
        Reaction = "reaction",
        Interactive = "interactive",
        Button = "button",
        Template = "template",
        System = "system",
        /// A provider type this version does not model; `content` holds it as received.
        Unsupported = "unsupported",
    }
}

vocabulary! {
    /// Where a message is in its life. Provider receipts only ever move it forward.
    pub enum MessageStatus {
        /// Inbound, stored.
        Received = "received",
        /// Inbound, processed by the agent.
        Processed = "processed",
        /// Inbound, waiting for credits.
        BlockedCredits = "blocked_credits",
        /// Outbound, waiting to be sent.
        Pending = "pending",
        Sent = "sent",
        Delivered = "delivered",
        Read = "read",
        Failed = "failed",
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: MessageId,
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    pub channel_id: ChannelId,
    /// Position in the conversation: 1, 2, 3, … with no gaps.
    pub seq: i64,
    pub direction: MessageDirection,
    pub author_kind: AuthorKind,
    /// The user, contact or agent id of the author, when there is one.
    pub author_id: Option<String>,
    #[serde(rename = "type")]
    pub message_type: MessageType,
    pub text: Option<String>,
    /// Structured content for non-text types (media, location, reaction, …).
    pub content: Option<serde_json::Value>,
    /// The provider's id for this message, unique per channel.
    pub provider_message_id: Option<String>,
    pub status: MessageStatus,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub deleted_at: Option<Timestamp>,
}

impl Message {
    /// The longest text a message may carry, in characters.
    pub const MAX_TEXT_CHARS: usize = 32_768;
}
