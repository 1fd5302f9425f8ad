//! Reading an API channel message: `{messageId, from:{id,name?}, text, priority?}`. Unknown
//! fields are ignored so apps can send more; `priority` defaults to 0 and is clamped to 0..=9.

use serde::Deserialize;
use switchboard_core::MessageType;

use crate::{InboundBatch, InboundContact, InboundMessage, ParseError};

/// The highest priority an app may ask for.
pub const MAX_PRIORITY: i32 = 9;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    message_id: String,
    from: Sender,
    text: String,
    #[serde(default)]
    priority: Option<i64>,
}

#[derive(Deserialize)]
struct Sender {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

/// Parses a verified body into the one message it carries.
pub fn parse(body: &[u8]) -> Result<InboundBatch, ParseError> {
    let body: Body = serde_json::from_slice(body).map_err(|error| {
        ParseError::not_json(
            "expected {messageId, from:{id,name?}, text, priority?}",
            error,
        )
    })?;
    if body.message_id.trim().is_empty() {
        return Err(ParseError::new("`messageId` must not be empty"));
    }
    if body.from.id.trim().is_empty() {
        return Err(ParseError::new("`from.id` must not be empty"));
    }
    let priority = body.priority.unwrap_or(0).clamp(0, i64::from(MAX_PRIORITY));
    Ok(InboundBatch {
        messages: vec![InboundMessage {
            provider_message_id: body.message_id,
            contact: InboundContact {
                external_id: body.from.id,
                name: body.from.name.filter(|name| !name.trim().is_empty()),
                phone: None,
            },
            business_key: None,
            message_type: MessageType::Text,
            text: Some(body.text),
            content: None,
            sent_at: None,
            priority: i32::try_from(priority).unwrap_or(0),
        }],
        statuses: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_message_carries_sender_text_and_priority() {
        let batch = parse(
            br#"{"messageId":"m-1","from":{"id":"user-7","name":"Ada"},"text":"hi","priority":3,"extra":true}"#,
        )
        .expect("parses");
        let message = &batch.messages[0];
        assert_eq!(message.provider_message_id, "m-1");
        assert_eq!(message.contact.external_id, "user-7");
        assert_eq!(message.contact.name.as_deref(), Some("Ada"));
        assert_eq!(message.text.as_deref(), Some("hi"));
        assert_eq!(message.message_type, MessageType::Text);
        assert_eq!(message.priority, 3);
    }

    #[test]
    fn priority_defaults_to_zero_and_is_clamped() {
        let priority = |json: &str| parse(json.as_bytes()).expect("parses").messages[0].priority;
        assert_eq!(
            priority(r#"{"messageId":"m","from":{"id":"u"},"text":"t"}"#),
            0
        );
        assert_eq!(
            priority(r#"{"messageId":"m","from":{"id":"u"},"text":"t","priority":null}"#),
            0
        );
        assert_eq!(
            priority(r#"{"messageId":"m","from":{"id":"u"},"text":"t","priority":42}"#),
            9
        );
        assert_eq!(
            priority(r#"{"messageId":"m","from":{"id":"u"},"text":"t","priority":-5}"#),
            0
        );
    }

    #[test]
    fn incomplete_bodies_are_refused() {
        for body in [
            "",
            "{}",
            r#"{"messageId":"m","text":"t"}"#,
            r#"{"messageId":"m","from":{"id":"u"}}"#,
            r#"{"messageId":"","from":{"id":"u"},"text":"t"}"#,
            r#"{"messageId":"m","from":{"id":" "},"text":"t"}"#,
            r#"{"messageId":"m","from":{"id":"u"},"text":"t","priority":1.5}"#,
        ] {
            assert!(parse(body.as_bytes()).is_err(), "{body:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn any_priority_lands_in_range(priority in any::<i64>()) {
            let body = format!(r#"{{"messageId":"m","from":{{"id":"u"}},"text":"t","priority":{priority}}}"#);
            let batch = parse(body.as_bytes()).expect("parses");
            prop_assert!((0..=MAX_PRIORITY).contains(&batch.messages[0].priority));
        }
    }
}
