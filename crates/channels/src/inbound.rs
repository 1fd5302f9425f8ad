//! What a webhook body carries once verified and parsed, whatever the provider.

use switchboard_core::{MessageStatus, MessageType, Timestamp};

/// Everything one webhook body delivered: new messages and status receipts, in body order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundBatch {
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
}

/// One message a contact sent.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// The provider's id for the message (`wamid…`, `SM…`, Telegram `chat_id:message_id`, the
    /// app's `messageId`); unique per channel, the deduplication key.
    pub provider_message_id: String,
    pub contact: InboundContact,
    /// The business number or bot that received it (WhatsApp `phone_number_id`, Twilio `To`),
    /// the ordering key when a channel orders by business number.
    pub business_key: Option<String>,
    pub message_type: MessageType,
    pub text: Option<String>,
    /// Structured content for non-text types, as the provider sent it (media ids, location, …).
    pub content: Option<serde_json::Value>,
    /// When the provider says the contact sent it.
    pub sent_at: Option<Timestamp>,
    /// API channel only: a hint to process this conversation ahead of others (0 = normal).
    pub priority: i32,
}

/// Who sent a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundContact {
    /// The contact's stable id at the provider (WhatsApp `wa_id` or business-scoped `user_id`,
    /// Twilio `From`, Telegram chat id, the app's `from.id`); stored as the contact's `externalId`.
    pub external_id: String,
    pub name: Option<String>,
    /// E.164 when the provider gives a phone number.
    pub phone: Option<String>,
}

/// A delivery receipt for a message we sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub provider_message_id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: MessageStatus,
    /// The provider's error, for `failed`.
    pub error: Option<serde_json::Value>,
    pub at: Option<Timestamp>,
}

/// A provider timestamp in unix seconds, sent as a JSON number or a string of digits.
pub(crate) fn unix_timestamp(value: Option<&serde_json::Value>) -> Option<Timestamp> {
    let seconds = match value? {
        serde_json::Value::Number(number) => number.as_i64()?,
        serde_json::Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    Timestamp::from_unix_timestamp(seconds).ok()
}
