//! Queue entries: durable units of work (answer an inbound message, deliver a reply), processed
//! one at a time per ordering key, in the order they were committed.

use crate::vocabulary::vocabulary;
use crate::{ConversationId, MessageId, OrderingKey, QueueEntryId, TenantId, Timestamp};

vocabulary! {
    pub enum EntryKind {
        /// Run the conversation's agent on an inbound message.
        Run = "run",
        /// Send an outbound message through its channel.
        Deliver = "deliver",
    }
}

vocabulary! {
    pub enum EntryState {
        /// Waiting its turn (or its retry time).
        Pending = "pending",
        /// A send to the provider was started; a restart finds it here and sends again with the
        /// same idempotency key.
        Sending = "sending",
        /// Gave up after its attempts; kept for inspection, retry or discard.
        Dead = "dead",
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct QueueEntry {
    pub id: QueueEntryId,
    pub tenant_id: TenantId,
    pub kind: EntryKind,
    /// Entries of one key run one at a time, in `key_seq` order.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub ordering_key: OrderingKey,
    pub key_seq: i64,
    /// 0–9; higher keys are served first, never reordering within a key.
    pub priority: u8,
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub state: EntryState,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub available_at: Timestamp,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}
