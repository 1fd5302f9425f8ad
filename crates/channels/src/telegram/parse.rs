//! Reading a Telegram update. `message` and `edited_message` become inbound messages; an edit
//! gets its own id (`{chat_id}:{message_id}:edit:{edit_date}`) so it is stored as a new message
//! rather than dropped as a duplicate. Every other update kind (callback queries, channel
//! posts, member changes, …) parses to an empty batch: acknowledged, nothing stored. Telegram
//! re-sends an update until it is acknowledged and holds later ones back meanwhile, so a message
//! that cannot be stored (no chat) is skipped rather than refused.

use serde_json::Value;
use switchboard_core::MessageType;

use crate::inbound::unix_timestamp;
use crate::{InboundBatch, InboundContact, InboundMessage, ParseError};

/// Content fields in the order they are recognised, with the stored type of each. `animation`
/// precedes `document` because Telegram sends both for a GIF.
const CONTENT_FIELDS: &[(&str, MessageType)] = &[
    ("photo", MessageType::Image),
    ("animation", MessageType::Video),
    ("video", MessageType::Video),
    ("video_note", MessageType::Video),
    ("voice", MessageType::Audio),
    ("audio", MessageType::Audio),
    ("document", MessageType::Document),
    ("sticker", MessageType::Sticker),
    ("venue", MessageType::Location),
    ("location", MessageType::Location),
    ("contact", MessageType::Contacts),
];

/// Parses an update into its `update_id` (Telegram's delivery sequence) and what it carries.
pub fn parse(body: &[u8]) -> Result<(i64, InboundBatch), ParseError> {
    let update: Value = serde_json::from_slice(body)
        .map_err(|error| ParseError::not_json("not a JSON document", error))?;
    let update_id = update
        .get("update_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| ParseError::new("`update_id` must be an integer"))?;
    let mut batch = InboundBatch::default();
    let message = if let Some(message) = update.get("message") {
        inbound_message(message, false)
    } else if let Some(message) = update.get("edited_message") {
        inbound_message(message, true)
    } else {
        None
    };
    batch.messages.extend(message);
    Ok((update_id, batch))
}

fn inbound_message(message: &Value, edited: bool) -> Option<InboundMessage> {
    let chat = message.get("chat")?;
    let chat_id = chat.get("id").and_then(Value::as_i64)?;
    let message_id = message.get("message_id").and_then(Value::as_i64)?;
    let (provider_message_id, sent_at) = if edited {
        let edit_date = message.get("edit_date");
        let seconds = edit_date.and_then(Value::as_i64)?;
        (
            format!("{chat_id}:{message_id}:edit:{seconds}"),
            unix_timestamp(edit_date),
        )
    } else {
        (
            format!("{chat_id}:{message_id}"),
            unix_timestamp(message.get("date")),
        )
    };
    let (message_type, content) = match message.get("text") {
        Some(_) => (MessageType::Text, None),
        None => match CONTENT_FIELDS
            .iter()
            .find_map(|(field, kind)| Some((*kind, message.get(*field)?)))
        {
            Some((kind, content)) => (kind, Some(content.clone())),
            None => (MessageType::Unsupported, Some(message.clone())),
        },
    };
    let text = ["text", "caption"]
        .iter()
        .find_map(|field| message.get(*field).and_then(Value::as_str))
        .filter(|text| !text.is_empty())
        .map(str::to_owned);
    Some(InboundMessage {
        provider_message_id,
        contact: InboundContact {
            external_id: chat_id.to_string(),
            name: display_name(chat).or_else(|| message.get("from").and_then(display_name)),
            phone: None,
        },
        business_key: None,
        message_type,
        text,
        content,
        sent_at,
        priority: 0,
    })
}

/// "First Last", else the username, else a group's title.
fn display_name(who: &Value) -> Option<String> {
    let part = |field: &str| {
        who.get(field)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    };
    match (part("first_name"), part("last_name")) {
        (Some(first), Some(last)) => Some(format!("{first} {last}")),
        (Some(name), None) | (None, Some(name)) => Some(name.to_owned()),
        (None, None) => part("username")
            .or_else(|| part("title"))
            .map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn parse_json(update: Value) -> (i64, InboundBatch) {
        parse(&serde_json::to_vec(&update).expect("json")).expect("parses")
    }

    #[test]
    fn a_private_text_message_becomes_a_message_from_the_chat() {
        let (update_id, batch) = parse_json(json!({
            "update_id": 10000,
            "message": {
                "message_id": 1365, "date": 1441645532,
                "chat": {"id": 1111111, "type": "private", "first_name": "Ada", "last_name": "Lovelace", "username": "ada"},
                "from": {"id": 1111111, "is_bot": false, "first_name": "Ada", "last_name": "Lovelace", "username": "ada"},
                "text": "/start hello"
            }
        }));
        assert_eq!(update_id, 10000);
        let message = &batch.messages[0];
        assert_eq!(message.provider_message_id, "1111111:1365");
        assert_eq!(message.message_type, MessageType::Text);
        assert_eq!(message.text.as_deref(), Some("/start hello"));
        assert_eq!(message.contact.external_id, "1111111");
        assert_eq!(message.contact.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(message.contact.phone, None);
        assert_eq!(message.content, None);
        assert_eq!(
            message.sent_at.map(|at| at.unix_timestamp()),
            Some(1441645532)
        );
    }

    #[test]
    fn an_edit_is_a_new_message_with_its_own_id() {
        let (_, batch) = parse_json(json!({
            "update_id": 10001,
            "edited_message": {
                "message_id": 1365, "date": 1441645532, "edit_date": 1441646000,
                "chat": {"id": -100222, "type": "group", "title": "Support"},
                "from": {"id": 5, "first_name": "Grace"},
                "text": "fixed typo"
            }
        }));
        let message = &batch.messages[0];
        assert_eq!(message.provider_message_id, "-100222:1365:edit:1441646000");
        assert_eq!(message.text.as_deref(), Some("fixed typo"));
        assert_eq!(message.contact.external_id, "-100222");
        assert_eq!(message.contact.name.as_deref(), Some("Support"));
        assert_eq!(
            message.sent_at.map(|at| at.unix_timestamp()),
            Some(1441646000)
        );
    }

    #[test]
    fn media_keeps_its_object_and_caption() {
        let (_, batch) = parse_json(json!({
            "update_id": 3,
            "message": {
                "message_id": 7, "date": 1, "chat": {"id": 42, "username": "grace"},
                "photo": [{"file_id": "small", "width": 90}, {"file_id": "large", "width": 1280}],
                "caption": "receipt"
            }
        }));
        let message = &batch.messages[0];
        assert_eq!(message.message_type, MessageType::Image);
        assert_eq!(message.text.as_deref(), Some("receipt"));
        assert_eq!(message.contact.name.as_deref(), Some("grace"));
        assert_eq!(
            message.content.as_ref().expect("photo")[1]["file_id"],
            "large"
        );

        let (_, batch) = parse_json(json!({
            "update_id": 4,
            "message": {"message_id": 8, "date": 1, "chat": {"id": 42}, "dice": {"emoji": "🎲", "value": 3}}
        }));
        let message = &batch.messages[0];
        assert_eq!(message.message_type, MessageType::Unsupported);
        assert_eq!(
            message.content.as_ref().expect("whole message")["dice"]["value"],
            3
        );
    }

    #[test]
    fn other_updates_are_acknowledged_with_nothing_to_store() {
        let (update_id, batch) = parse_json(json!({
            "update_id": 5,
            "callback_query": {"id": "1", "from": {"id": 1}, "data": "x"}
        }));
        assert_eq!(update_id, 5);
        assert_eq!(batch, InboundBatch::default());
        // A message without a chat cannot be attributed; it is skipped, not refused.
        let (_, batch) = parse_json(json!({"update_id": 6, "message": {"message_id": 1}}));
        assert_eq!(batch, InboundBatch::default());
    }

    #[test]
    fn bodies_without_an_update_id_are_refused() {
        assert!(parse(b"{}").is_err());
        assert!(parse(br#"{"update_id":"7"}"#).is_err());
        assert!(parse(b"update_id=7").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn parse_never_panics_on_odd_message_fields(
            chat_id in any::<i64>(),
            message_id in any::<i64>(),
            date in any::<i64>(),
            text in proptest::option::of("\\PC{0,16}"),
            edited in any::<bool>(),
        ) {
            let message = json!({"message_id": message_id, "date": date, "edit_date": date,
                "chat": {"id": chat_id}, "text": text});
            let key = if edited { "edited_message" } else { "message" };
            let _ = parse(&serde_json::to_vec(&json!({"update_id": 1, key: message})).expect("json"));
        }
    }
}
