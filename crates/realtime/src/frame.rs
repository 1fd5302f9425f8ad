//! What the hub sends to clients: each event is serialized once, as the complete `event` frame,
//! and the same bytes are shared by every subscriber of its stream.

use std::sync::Arc;

use bytes::Bytes;
use switchboard_core::ConversationId;

use crate::stream::StreamKey;

/// An event as published: its stream, its offset when the publisher assigns it (durable
/// streams, or memory streams numbered by a cross-node broker), and its JSON.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub key: StreamKey,
    /// `Some` for durable streams (the store's offset, or the run event's number); `None` lets
    /// the hub number it (tenant and broadcast streams). A cross-node broker sets it, with
    /// `epoch`, on memory streams too, so every node gives the event the same position.
    pub offset: Option<u64>,
    /// The memory stream's epoch when a cross-node broker numbered the event; `None` from
    /// single-node publishers and on durable streams. A hub given an epoch other than its
    /// stream's adopts it and drops the stream's history.
    pub epoch: Option<Arc<str>>,
    /// The event's JSON object.
    pub event: Arc<str>,
    pub meta: EventMeta,
}

/// What the hub needs to know about an event without parsing it.
#[derive(Debug, Clone, Default)]
pub struct EventMeta {
    /// The conversation it belongs to, for subscribers who may see only some conversations.
    pub conversation_id: Option<ConversationId>,
    /// Set for `agent_thinking`: its text, so a slow client's deltas can be merged.
    pub delta: Option<Arc<str>>,
    /// The stream's last event (a run's `agent_completed`, `agent_failed`, …): its memory
    /// history may go soon after, the store has it.
    pub last: bool,
}

/// One server frame, ready to send.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The serialized frame (UTF-8 JSON).
    pub bytes: Bytes,
    /// The event's offset (0 for frames that are not events).
    pub offset: u64,
    pub(crate) event: Option<Arc<EventFrame>>,
}

/// The parts of an event frame kept for merging and filtering.
#[derive(Debug)]
pub(crate) struct EventFrame {
    pub stream: Arc<str>,
    pub epoch: Arc<str>,
    pub meta: EventMeta,
    /// The first offset this frame stands for, when it merges several deltas.
    pub merged_from: Option<u64>,
}

impl Frame {
    /// A control frame (`subscribed`, `pong`, `error`, …).
    pub fn control(value: &serde_json::Value) -> Self {
        Self {
            bytes: Bytes::from(value.to_string()),
            offset: 0,
            event: None,
        }
    }

    pub(crate) fn event(
        stream: Arc<str>,
        epoch: Arc<str>,
        offset: u64,
        event: &str,
        meta: EventMeta,
    ) -> Self {
        let bytes = event_bytes(&stream, &epoch, offset, None, event);
        Self {
            bytes,
            offset,
            event: Some(Arc::new(EventFrame {
                stream,
                epoch,
                meta,
                merged_from: None,
            })),
        }
    }

    pub fn is_event(&self) -> bool {
        self.event.is_some()
    }

    /// The epoch of an event frame.
    pub fn epoch(&self) -> Option<&str> {
        self.event.as_ref().map(|event| &*event.epoch)
    }

    /// The conversation the event belongs to, if any.
    pub fn conversation_id(&self) -> Option<ConversationId> {
        self.event.as_ref()?.meta.conversation_id
    }

    /// Whether this frame may be merged with `next`: both are thinking deltas of one stream.
    pub(crate) fn merges_with(&self, next: &Frame) -> bool {
        match (&self.event, &next.event) {
            (Some(this), Some(that)) => {
                this.meta.delta.is_some()
                    && that.meta.delta.is_some()
                    && this.stream == that.stream
                    && this.epoch == that.epoch
            }
            _ => false,
        }
    }

    /// One frame for this delta followed by `next`'s: the later offset, both texts, and
    /// `mergedFrom` telling the client which offsets it stands for.
    pub(crate) fn merge(&self, next: &Frame) -> Frame {
        let (Some(this), Some(that)) = (&self.event, &next.event) else {
            return next.clone();
        };
        let delta: Arc<str> = format!(
            "{}{}",
            this.meta.delta.as_deref().unwrap_or_default(),
            that.meta.delta.as_deref().unwrap_or_default()
        )
        .into();
        let merged_from = this.merged_from.unwrap_or(self.offset);
        let event = serde_json::json!({ "type": "agent_thinking", "delta": &*delta }).to_string();
        let bytes = event_bytes(
            &that.stream,
            &that.epoch,
            next.offset,
            Some(merged_from),
            &event,
        );
        Frame {
            bytes,
            offset: next.offset,
            event: Some(Arc::new(EventFrame {
                stream: that.stream.clone(),
                epoch: that.epoch.clone(),
                meta: EventMeta {
                    conversation_id: that.meta.conversation_id,
                    delta: Some(delta),
                    last: false,
                },
                merged_from: Some(merged_from),
            })),
        }
    }
}

fn event_bytes(
    stream: &str,
    epoch: &str,
    offset: u64,
    merged_from: Option<u64>,
    event: &str,
) -> Bytes {
    let stream = serde_json::Value::from(stream);
    let epoch = serde_json::Value::from(epoch);
    let merged = merged_from
        .map(|first| format!(",\"mergedFrom\":{first}"))
        .unwrap_or_default();
    Bytes::from(format!(
        "{{\"type\":\"event\",\"stream\":{stream},\"epoch\":{epoch},\"offset\":{offset}{merged},\"event\":{event}}}"
    ))
}
