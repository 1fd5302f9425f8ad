//! Ordering keys: the queue runs the entries of one key one at a time, in the order they were
//! committed, and different keys in parallel. A key is one of three kinds, and is stored and
//! shown as its text: `conversation:<id>` (a conversation's runs, the default ordering),
//! `channel:<channel id>:<business number>` (every conversation of one business number, with
//! `ordering = "channel"`), and `outbound:<key>` (the replies the runs of `<key>` wrote, sent in
//! that order). This type is the one place that text is written or read.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::{ChannelId, ConversationId, ValidationError};

const CONVERSATION: &str = "conversation:";
const CHANNEL: &str = "channel:";
const OUTBOUND: &str = "outbound:";

/// An ordering key. Cheap to clone; compares, hashes and borrows as its text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderingKey(Arc<str>);

impl OrderingKey {
    /// A conversation's own runs.
    pub fn conversation(conversation_id: ConversationId) -> Self {
        Self(format!("{CONVERSATION}{conversation_id}").into())
    }

    /// Every conversation of one business number (WhatsApp's `phone_number_id`, Twilio's
    /// number, …) of a channel.
    pub fn business_number(channel_id: ChannelId, number: &str) -> Self {
        Self(format!("{CHANNEL}{channel_id}:{number}").into())
    }

    /// The key the replies written by this key's runs are sent on, in the same order.
    pub fn outbound(&self) -> Self {
        Self(format!("{OUTBOUND}{}", self.0).into())
    }

    /// Whether this is a conversation's own key (not one spanning conversations, nor replies).
    pub fn is_conversation(&self) -> bool {
        self.0.starts_with(CONVERSATION)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OrderingKey {
    type Err = ValidationError;

    /// Reads a key's text, as stored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut rest = text;
        while let Some(inner) = rest.strip_prefix(OUTBOUND) {
            rest = inner;
        }
        let valid = if let Some(id) = rest.strip_prefix(CONVERSATION) {
            id.parse::<ConversationId>().is_ok()
        } else if let Some(scope) = rest.strip_prefix(CHANNEL) {
            scope
                .split_once(':')
                .is_some_and(|(channel, _)| channel.parse::<ChannelId>().is_ok())
        } else {
            false
        };
        if valid {
            Ok(Self(text.into()))
        } else {
            Err(ValidationError::new(
                "orderingKey",
                format!(
                    "`{text}` is not conversation:<id>, channel:<id>:<number> or outbound:<key>"
                ),
            ))
        }
    }
}

impl Borrow<str> for OrderingKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrderingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl serde::Serialize for OrderingKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for OrderingKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_back_from_its_text() {
        let conversation = OrderingKey::conversation(ConversationId::new());
        let number = OrderingKey::business_number(ChannelId::new(), "15550001111");
        for key in [
            conversation.clone(),
            number.clone(),
            conversation.outbound(),
            number.outbound(),
        ] {
            assert_eq!(key.as_str().parse::<OrderingKey>(), Ok(key));
        }
        assert!(conversation.is_conversation());
        assert!(!conversation.outbound().is_conversation());
        assert!(!number.is_conversation());
        for bad in [
            "",
            "conversation:x",
            "channel:nope:1",
            "outbound:",
            "queue:1",
        ] {
            assert!(bad.parse::<OrderingKey>().is_err(), "{bad}");
        }
    }
}
