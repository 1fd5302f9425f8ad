//! Reading a WhatsApp Cloud API webhook body: every `entry[].changes[].value` in order, its
//! `messages[]` as inbound messages and its `statuses[]` as receipts. Meta adds and omits fields
//! freely, so only `object` is required; a message without an id or a sender cannot be stored
//! idempotently and is skipped, and anything else missing just leaves the field empty.

use serde_json::Value;
use switchboard_core::{MessageStatus, MessageType};

use crate::inbound::unix_timestamp;
use crate::{InboundBatch, InboundContact, InboundMessage, ParseError, StatusUpdate};

const OBJECT: &str = "whatsapp_business_account";

/// Parses a verified webhook body into the messages and receipts it carries, in body order.
pub fn parse(body: &[u8]) -> Result<InboundBatch, ParseError> {
    let root: Value = serde_json::from_slice(body)
        .map_err(|error| ParseError::not_json("not a JSON document", error))?;
    match root.get("object").and_then(Value::as_str) {
        Some(OBJECT) => {}
        Some(other) => {
            return Err(ParseError::new(format!(
                "`object` is `{other}`, expected `{OBJECT}`"
            )));
        }
        None => return Err(ParseError::new(format!("`object` must be `{OBJECT}`"))),
    }
    let mut batch = InboundBatch::default();
    for entry in list(&root, "entry") {
        for change in list(entry, "changes") {
            let Some(value) = change.get("value") else {
                continue;
            };
            let business_key = text(value.pointer("/metadata/phone_number_id"));
            let contacts = list(value, "contacts");
            batch.messages.extend(
                list(value, "messages")
                    .iter()
                    .filter_map(|message| inbound_message(message, contacts, &business_key)),
            );
            batch
                .statuses
                .extend(list(value, "statuses").iter().filter_map(status_update));
        }
    }
    Ok(batch)
}

fn inbound_message(
    message: &Value,
    contacts: &[Value],
    business_key: &Option<String>,
) -> Option<InboundMessage> {
    let provider_message_id = text(message.get("id"))?;
    let contact = sender(message, contacts)?;
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
    let (message_type, text) = type_and_text(kind, message);
    let content = match message_type {
        MessageType::Text => None,
        MessageType::Unsupported => Some(message.clone()),
        _ => Some(
            message
                .get(kind)
                .cloned()
                .unwrap_or_else(|| message.clone()),
        ),
    };
    Some(InboundMessage {
        provider_message_id,
        contact,
        business_key: business_key.clone(),
        message_type,
        text,
        content,
        sent_at: unix_timestamp(message.get("timestamp")),
        priority: 0,
    })
}

/// The stored type and the human-readable text of a message of provider type `kind`.
fn type_and_text(kind: &str, message: &Value) -> (MessageType, Option<String>) {
    let at = |pointer: &str| non_empty(message.pointer(pointer));
    match kind {
        "text" => (MessageType::Text, at("/text/body")),
        "image" => (MessageType::Image, at("/image/caption")),
        "video" => (MessageType::Video, at("/video/caption")),
        "audio" => (MessageType::Audio, None),
        "voice" => (MessageType::Audio, None),
        "document" => (MessageType::Document, at("/document/caption")),
        "sticker" => (MessageType::Sticker, None),
        "location" => (MessageType::Location, None),
        "contacts" => (MessageType::Contacts, None),
        "reaction" => (MessageType::Reaction, at("/reaction/emoji")),
        "interactive" => (
            MessageType::Interactive,
            at("/interactive/button_reply/title").or_else(|| at("/interactive/list_reply/title")),
        ),
        "button" => (MessageType::Button, at("/button/text")),
        "system" => (MessageType::System, at("/system/body")),
        "order" => (MessageType::Unsupported, at("/order/text")),
        // An edit is a new message (its own id) whose text is the edited one.
        "edit" => (
            MessageType::Unsupported,
            at("/edit/message/text/body")
                .or_else(|| at("/edit/message/image/caption"))
                .or_else(|| at("/edit/message/video/caption"))
                .or_else(|| at("/edit/message/document/caption")),
        ),
        _ => (MessageType::Unsupported, None),
    }
}

/// Who sent `message`: the phone-based `wa_id` when Meta shares it, else the business-scoped
/// `user_id`; the profile name comes from the `contacts[]` entry with the same id.
fn sender(message: &Value, contacts: &[Value]) -> Option<InboundContact> {
    let wa_id = text(message.get("from"));
    let user_id = text(message.get("from_user_id"));
    let profile = if wa_id.is_none() && user_id.is_none() {
        // Without ids on the message, only an unambiguous single contact can be the sender.
        match contacts {
            [only] => Some(only),
            _ => None,
        }
    } else {
        contacts.iter().find(|contact| {
            let same_wa_id = wa_id.is_some() && text(contact.get("wa_id")) == wa_id;
            let same_user_id = user_id.is_some() && text(contact.get("user_id")) == user_id;
            same_wa_id || same_user_id
        })
    };
    let wa_id = wa_id.or_else(|| profile.and_then(|contact| text(contact.get("wa_id"))));
    let user_id = user_id.or_else(|| profile.and_then(|contact| text(contact.get("user_id"))));
    let phone = wa_id
        .as_deref()
        .filter(|id| id.bytes().all(|byte| byte.is_ascii_digit()))
        .map(|digits| format!("+{digits}"));
    let name = profile.and_then(|contact| {
        non_empty(contact.pointer("/profile/name"))
            .or_else(|| non_empty(contact.pointer("/profile/username")))
    });
    Some(InboundContact {
        external_id: wa_id.or(user_id)?,
        name,
        phone,
    })
}

/// A receipt for a message we sent. `played` (a voice note was listened to) counts as read;
/// other statuses Meta may add are not forward moves we track and are skipped.
fn status_update(status: &Value) -> Option<StatusUpdate> {
    let provider_message_id = text(status.get("id"))?;
    let state = match status.get("status").and_then(Value::as_str)? {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" | "played" => MessageStatus::Read,
        "failed" => MessageStatus::Failed,
        _ => return None,
    };
    Some(StatusUpdate {
        provider_message_id,
        status: state,
        error: status.get("errors").cloned(),
        at: unix_timestamp(status.get("timestamp")),
    })
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

fn non_empty(value: Option<&Value>) -> Option<String> {
    text(value).filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests;
