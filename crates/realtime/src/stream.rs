//! Stream names and positions. A stream is named within one tenant: `conversation:<id>`,
//! `run:<id>`, `tenant`, or `broadcast:<name>`; each event on it has an offset one above the
//! previous one, valid within the stream's epoch.

use std::fmt;
use std::sync::Arc;

use switchboard_core::{ConversationId, RunId, TenantId};

/// The longest broadcast name accepted.
const MAX_BROADCAST_NAME: usize = 100;

/// A stream's name, as clients write it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StreamName {
    /// Messages and status changes of one conversation (durable).
    Conversation(ConversationId),
    /// The agent events of one run (durable once the run is recorded).
    Run(RunId),
    /// Everything of the tenant the subscriber may see (bounded history).
    Tenant,
    /// App-defined publish/subscribe (bounded history).
    Broadcast(Arc<str>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown stream {0:?}: expected conversation:<id>, run:<id> (ids as the API writes them), \
     tenant or broadcast:<name> (name of up to 100 letters, digits, '-', '_', '.', ':')"
)]
pub struct BadStreamName(pub String);

impl StreamName {
    pub fn parse(text: &str) -> Result<Self, BadStreamName> {
        let bad = || BadStreamName(text.chars().take(200).collect());
        if text == "tenant" {
            return Ok(StreamName::Tenant);
        }
        let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
        let name = match kind {
            "conversation" => rest
                .parse()
                .map(StreamName::Conversation)
                .map_err(|_| bad())?,
            "run" => rest.parse().map(StreamName::Run).map_err(|_| bad())?,
            "broadcast" if is_broadcast_name(rest) => StreamName::Broadcast(rest.into()),
            _ => return Err(bad()),
        };
        // One spelling per stream: an id written another way (upper case, without hyphens)
        // would name the same stream as a second subscription and differ from the events'
        // `stream` field.
        if let StreamName::Conversation(_) | StreamName::Run(_) = name
            && name.to_string() != text
        {
            return Err(bad());
        }
        Ok(name)
    }

    /// Whether the stream's events are kept by the store, so a resume survives a restart.
    pub fn is_durable(&self) -> bool {
        matches!(self, StreamName::Conversation(_) | StreamName::Run(_))
    }
}

fn is_broadcast_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_BROADCAST_NAME
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte))
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamName::Conversation(id) => write!(f, "conversation:{id}"),
            StreamName::Run(id) => write!(f, "run:{id}"),
            StreamName::Tenant => f.write_str("tenant"),
            StreamName::Broadcast(name) => write!(f, "broadcast:{name}"),
        }
    }
}

/// A stream as the hub knows it: its name within a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub tenant_id: TenantId,
    pub name: StreamName,
}

/// Where a client is in a stream: the last offset it saw within an epoch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub epoch: String,
    pub offset: u64,
}

/// The epoch of durable streams: their offsets come from the store and never restart.
pub const DURABLE_EPOCH: &str = "durable";

/// A fresh epoch for a stream whose history starts now (memory streams, after a restart or
/// after their history was dropped).
pub(crate) fn new_epoch() -> Arc<str> {
    format!("{:016x}", rand::random::<u64>()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_garbage() {
        let id = ConversationId::new();
        for text in [
            format!("conversation:{id}"),
            format!("run:{}", RunId::new()),
            "tenant".to_owned(),
            "broadcast:lobby.room-1".to_owned(),
        ] {
            let name = StreamName::parse(&text).expect("valid name");
            assert_eq!(name.to_string(), text);
        }
        for text in [
            "conversation:nope",
            "tenant:x",
            "broadcast:",
            "broadcast:has space",
            "room:1",
            "",
            "run:0190F0F0-0000-7000-800D-000000000001",
            "run:0190f0f000007000800d000000000001",
            "conversation:{0190f0f0-0000-7000-800d-000000000001}",
        ] {
            assert!(StreamName::parse(text).is_err(), "{text} was accepted");
        }
        assert!(StreamName::parse(&format!("broadcast:{}", "a".repeat(101))).is_err());
    }
}
