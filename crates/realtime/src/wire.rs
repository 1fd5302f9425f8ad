//! Envelopes between nodes: one JSON object per envelope, carrying everything a hub on another
//! node needs to deliver it (tenant, stream, offset, epoch, the event's meta and the event).
//!
//! ```text
//! {"offset":7,"epoch":"9f3c…","tenant":"<uuid>","stream":"tenant","conversation":"<uuid>",
//!  "delta":"…","last":true,"event":{…}}
//! ```
//!
//! `offset`, `epoch`, `conversation` and `delta` are left out when absent, `last` when false.
//! `event` comes last and is the event's JSON as published, copied without being parsed. A
//! cross-node broker may add `offset` and `epoch` in front of the other fields after encoding;
//! the decoder takes the fields in any order.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use switchboard_core::{ConversationId, TenantId};

use crate::frame::{Envelope, EventMeta};
use crate::stream::{BadStreamName, StreamKey, StreamName};

/// An envelope that could not be read from the wire.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("the envelope is not the JSON expected")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Stream(#[from] BadStreamName),
}

#[derive(Serialize)]
struct Header<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    epoch: Option<&'a str>,
    tenant: TenantId,
    stream: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation: Option<ConversationId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    last: bool,
}

#[derive(Deserialize)]
struct Received<'a> {
    offset: Option<u64>,
    epoch: Option<String>,
    tenant: TenantId,
    stream: String,
    conversation: Option<ConversationId>,
    delta: Option<String>,
    #[serde(default)]
    last: bool,
    #[serde(borrow)]
    event: &'a RawValue,
}

impl Envelope {
    /// The envelope as one JSON object (see the module documentation).
    pub fn to_wire(&self) -> String {
        let header = Header {
            offset: self.offset,
            epoch: self.epoch.as_deref(),
            tenant: self.key.tenant_id,
            stream: self.key.name.to_string(),
            conversation: self.meta.conversation_id,
            delta: self.meta.delta.as_deref(),
            last: self.meta.last,
        };
        // A struct of ids, numbers and strings always serializes.
        let mut text = serde_json::to_string(&header).unwrap_or_else(|_| "{}".to_owned());
        text.pop();
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str("\"event\":");
        text.push_str(&self.event);
        text.push('}');
        text
    }

    /// Reads an envelope written by [`Envelope::to_wire`].
    pub fn from_wire(bytes: &[u8]) -> Result<Envelope, WireError> {
        let received: Received<'_> = serde_json::from_slice(bytes)?;
        Ok(Envelope {
            key: StreamKey {
                tenant_id: received.tenant,
                name: StreamName::parse(&received.stream)?,
            },
            offset: received.offset,
            epoch: received.epoch.map(Arc::from),
            event: received.event.get().into(),
            meta: EventMeta {
                conversation_id: received.conversation,
                delta: received.delta.map(Arc::from),
                last: received.last,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "a test fails loudly")]

    use super::*;

    fn round_trip(envelope: &Envelope) -> Envelope {
        Envelope::from_wire(envelope.to_wire().as_bytes()).unwrap()
    }

    #[test]
    fn every_field_survives_the_wire() {
        let conversation_id = ConversationId::new();
        let envelope = Envelope {
            key: StreamKey {
                tenant_id: TenantId::new(),
                name: StreamName::Broadcast("lobby.1".into()),
            },
            offset: Some(42),
            epoch: Some("00ff".into()),
            event: r#"{"type":"agent_thinking","delta":"a \"quoted\" line\n"}"#.into(),
            meta: EventMeta {
                conversation_id: Some(conversation_id),
                delta: Some("a \"quoted\" line\n".into()),
                last: true,
            },
        };
        let read = round_trip(&envelope);
        assert_eq!(read.key, envelope.key);
        assert_eq!(read.offset, Some(42));
        assert_eq!(read.epoch.as_deref(), Some("00ff"));
        assert_eq!(&*read.event, &*envelope.event);
        assert_eq!(read.meta.conversation_id, Some(conversation_id));
        assert_eq!(read.meta.delta, envelope.meta.delta);
        assert!(read.meta.last);
    }

    #[test]
    fn absent_fields_stay_absent() {
        let envelope = Envelope {
            key: StreamKey {
                tenant_id: TenantId::new(),
                name: StreamName::Tenant,
            },
            offset: None,
            epoch: None,
            event: r#"{"n":1}"#.into(),
            meta: EventMeta::default(),
        };
        let wire = envelope.to_wire();
        assert!(!wire.contains("offset") && !wire.contains("epoch") && !wire.contains("last"));
        let read = round_trip(&envelope);
        assert_eq!(
            (read.offset, read.epoch, read.meta.last),
            (None, None, false)
        );
        assert_eq!(&*read.event, r#"{"n":1}"#);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(matches!(
            Envelope::from_wire(b"{\"tenant\":1}"),
            Err(WireError::Json(_))
        ));
        let bad_stream = format!(
            r#"{{"tenant":"{}","stream":"room:1","event":{{}}}}"#,
            TenantId::new()
        );
        assert!(matches!(
            Envelope::from_wire(bad_stream.as_bytes()),
            Err(WireError::Stream(_))
        ));
    }
}
