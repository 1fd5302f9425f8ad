//! Several nodes over one PostgreSQL database. Ordering keys fall into [`PARTITIONS`]
//! partitions by a hash of the key (a conversation's runs and its replies share one), and a
//! node runs a key only while it holds its partition's lease (`cluster_leases`):
//!
//! - **Claimed without blocking** (`FOR UPDATE SKIP LOCKED`), each node up to its share of the
//!   partitions (all divided by the nodes alive that run work); a node over its share gives
//!   back partitions with nothing in flight, so a node that joins gets work within seconds.
//! - **Renewed in one statement** per node every third of the lease's time to live (no row
//!   every node writes); a node that stops renewing loses its partitions once the time passes,
//!   and the others claim them. The node's own clock also stops it from starting work once
//!   its last renewal is older than the lease (less a margin).
//! - **Fenced.** Claiming a partition stamps its unfinished entries with the holder's token (a
//!   fresh id per process), and every statement that finishes, starts or retries an entry
//!   requires the stamp to be absent or its own ([`FENCED`]). A node paused past its lease and
//!   resumed cannot commit a run or record a send of an entry another node has claimed since.
//! - **Work written elsewhere** (any node stores webhooks, operators write from any node)
//!   reaches the holder through a wake-up naming the key ([`crate::Queue::work_arrived`]),
//!   which reads the key's unfinished entries and adopts those it lacks in their order; and,
//!   should a wake-up be lost, through a poll every [`ClusterConfig::poll_interval`] of the keys
//!   with recent entries in the partitions held, with a full look every tenth poll.

pub(crate) mod leases;
mod membership;

use std::sync::Arc;
use std::time::Duration;

use md5::{Digest, Md5};
use switchboard_core::OrderingKey;

pub(crate) use membership::Membership;

/// Partitions the ordering keys fall into (as in the migration that made `cluster_leases`).
pub const PARTITIONS: u32 = 64;

/// The PostgreSQL setting holding a node's fencing token on each of its connections.
pub const HOLDER_SETTING: &str = "switchboard.holder";

/// What every statement that finishes, starts or retries a leased entry adds on PostgreSQL
/// (see the module documentation): the entry is not stamped for another node.
pub const FENCED: &str =
    " AND (owner IS NULL OR owner = current_setting('switchboard.holder', true))";

/// The partition of `key`: the first byte of the MD5 of the key without its `outbound:`
/// prefixes, modulo [`PARTITIONS`] — the generated column `queue_entries.partition` computes
/// the same.
pub fn partition_of(key: &OrderingKey) -> u32 {
    let mut base = key.as_str();
    while let Some(inner) = base.strip_prefix("outbound:") {
        base = inner;
    }
    let digest = Md5::digest(base.as_bytes());
    u32::from(digest[0]) % PARTITIONS
}

/// Wakes the nodes holding keys this node queued work on (through Redis, say).
pub type Wake = Arc<dyn Fn(&[OrderingKey]) + Send + Sync>;

/// How a node takes part in a cluster.
#[derive(Clone)]
pub struct ClusterConfig {
    /// This process's fencing token: unique per start.
    pub node_id: String,
    /// A name for people (the host name, say).
    pub name: String,
    /// Whether this node runs work (claims partitions); `false` for a node that only serves
    /// the API and accepts webhooks.
    pub runs_work: bool,
    /// How long a lease lasts without renewal: a dead node's keys move after about this long.
    pub lease_ttl: Duration,
    /// How often the partitions held are searched for work no wake-up announced.
    pub poll_interval: Duration,
    pub wake: Wake,
}

impl ClusterConfig {
    /// A new member with the defaults: 3 s leases, a poll every second.
    pub fn new(node_id: String, name: String, runs_work: bool, wake: Wake) -> Self {
        Self {
            node_id,
            name,
            runs_work,
            lease_ttl: Duration::from_secs(3),
            poll_interval: Duration::from_secs(1),
            wake,
        }
    }
}

/// What a node holds, for `/ready` and metrics.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Holdings {
    pub node_id: String,
    /// The partitions whose keys this node runs.
    pub partitions: Vec<u32>,
    /// Ordering keys with work on this node now.
    pub keys: usize,
    /// When the leases were last renewed, in milliseconds ago (`None` before the first).
    pub renewed_ms_ago: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::ConversationId;

    #[test]
    fn a_conversations_runs_and_replies_share_a_partition() {
        let key = OrderingKey::conversation(ConversationId::new());
        assert_eq!(partition_of(&key), partition_of(&key.outbound()));
        assert!(partition_of(&key) < PARTITIONS);
    }
}
