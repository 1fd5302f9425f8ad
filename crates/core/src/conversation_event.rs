//! What happens in a conversation, as its stream (`conversation:<id>`) tells it: each event is
//! stored with the change that caused it and numbered by the conversation's event offset.

use crate::{AgentId, ConversationStatus, Message, MessageId, MessageStatus};

/// Serialized with a `type` field (`message_created`, `message_status`, …).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum ConversationEvent {
    /// A message was added (inbound, agent reply, or operator).
    MessageCreated { message: Message },
    /// An outbound message moved on (sent, delivered, read, failed), or an inbound one waits
    /// for credits (`blocked_credits`).
    MessageStatus {
        message_id: MessageId,
        status: MessageStatus,
    },
    /// A message was deleted (it keeps its place, without content).
    MessageDeleted { message_id: MessageId },
    /// The conversation's status or agent changed.
    ConversationUpdated {
        status: ConversationStatus,
        agent_id: Option<AgentId>,
    },
}
