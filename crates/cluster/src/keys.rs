//! The name of every Redis key and channel this node uses, all under one prefix, so that
//! several deployments (or tests) share a Redis without meeting.
//!
//! | name | what |
//! |---|---|
//! | `{prefix}:events` | channel: realtime envelopes, every node |
//! | `{prefix}:wake` | channel: wake-ups, every node |
//! | `{prefix}:heartbeat:{node}` | channel: the node's own heartbeats |
//! | `{prefix}:offset:{tenant}:{stream}` | integer: a memory stream's last offset |
//! | `{prefix}:epoch:{tenant}:{stream}` | string: a memory stream's epoch |
//! | `{prefix}:rate:{key}` | integer: a shared rate limit's next free slot (microseconds) |

use switchboard_realtime::StreamKey;

#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
    pub events: String,
    pub wake: String,
    pub heartbeat: String,
}

impl Keys {
    pub fn new(prefix: &str, node_id: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            events: format!("{prefix}:events"),
            wake: format!("{prefix}:wake"),
            heartbeat: format!("{prefix}:heartbeat:{node_id}"),
        }
    }

    pub fn offset(&self, stream: &StreamKey) -> String {
        format!(
            "{}:offset:{}:{}",
            self.prefix, stream.tenant_id, stream.name
        )
    }

    pub fn epoch(&self, stream: &StreamKey) -> String {
        format!("{}:epoch:{}:{}", self.prefix, stream.tenant_id, stream.name)
    }

    pub fn rate(&self, key: &str) -> String {
        format!("{}:rate:{key}", self.prefix)
    }
}
