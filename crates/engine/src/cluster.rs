//! A node of several, over one PostgreSQL database and one Redis. The database stays the
//! truth: the queue runs the keys of the partitions this node holds (`switchboard_queue::
//! ownership`); Redis carries what would otherwise wait for a poll. What one node does that
//! another must act on goes out as a wake-up on one of these topics:
//!
//! | topic | body | the receiver |
//! |---|---|---|
//! | `work` | ordering keys, one per line | adopts the keys' new entries, if it runs them (a newer message also interrupts a run in flight that asked for it) |
//! | `inbox` | empty | stores what webhooks accepted (sent by nodes that do not store) |
//! | `resume` | a tenant id | wakes the tenant's keys parked for credits |
//! | `channel`, `agent` | an id | forgets the record it kept for a second |
//!
//! Losing any of them costs latency only: the queue polls its partitions every second, the
//! inbox loop every second, and records kept expire after a second. After Redis comes back
//! (a new subscription), the node polls at once.

use std::sync::Arc;

use switchboard_cluster::{LinkHealth, RedisLink, WakeUp};
use switchboard_core::{AgentId, ChannelId, OrderingKey, TenantId};
use switchboard_queue::{ClusterConfig, Holdings, Queue};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::Engine;

const WORK: &str = "work";
const INBOX: &str = "inbox";
const RESUME: &str = "resume";
const CHANNEL: &str = "channel";
const AGENT: &str = "agent";

/// What a node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    #[default]
    All,
    /// HTTP only: the API, webhooks, WebSocket and SSE; the work goes to other nodes.
    Api,
    /// The work only: queue, turns, deliveries, the loops beside them.
    Worker,
}

impl Role {
    /// Whether the node runs the queue's work and the loops beside it.
    pub fn runs_work(self) -> bool {
        self != Role::Api
    }

    /// Whether the node serves the API.
    pub fn serves_api(self) -> bool {
        self != Role::Worker
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Api => "api",
            Role::Worker => "worker",
        }
    }
}

/// A node's place in a cluster.
#[derive(Clone)]
pub struct NodeConfig {
    /// Unique per process start: the node's fencing token too.
    pub node_id: String,
    /// A name for people.
    pub name: String,
    pub role: Role,
    pub link: RedisLink,
}

/// What a node reports of itself (`GET /ready`).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeReport {
    pub node_id: String,
    pub name: String,
    pub role: Role,
    pub redis: RedisState,
    /// The partitions and keys it holds (`None` before the pipeline starts).
    pub holdings: Option<Holdings>,
}

/// The node's link to Redis, as its end-to-end heartbeat finds it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedisState {
    /// A heartbeat this node published came back through its subscription lately.
    pub healthy: bool,
    pub subscribed: bool,
    /// Milliseconds since the last heartbeat came back (`None` before the first).
    pub last_heartbeat_ms: Option<u64>,
}

impl From<LinkHealth> for RedisState {
    fn from(health: LinkHealth) -> Self {
        Self {
            healthy: health.healthy,
            subscribed: health.subscribed,
            last_heartbeat_ms: health
                .last_heartbeat_age
                .map(|age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

/// The PostgreSQL settings each connection of a node of several gets: its fencing token (read
/// by the queue's fenced statements), and a limit on how long a transaction may sit idle, so
/// that a node paused in the middle of one (SIGSTOP, a frozen VM) releases its row locks to
/// the node that takes its work over.
pub fn node_database_settings(node_id: &str) -> Vec<(String, String)> {
    vec![
        (
            switchboard_queue::ownership::HOLDER_SETTING.to_owned(),
            node_id.to_owned(),
        ),
        (
            "idle_in_transaction_session_timeout".to_owned(),
            "5s".to_owned(),
        ),
    ]
}

impl Engine {
    /// This node, when it is one of several.
    pub fn node(&self) -> Option<&NodeConfig> {
        self.pipeline.node.as_ref()
    }

    /// What this node reports of itself, when it is one of several.
    pub fn node_report(&self) -> Option<NodeReport> {
        let node = self.node()?;
        Some(NodeReport {
            node_id: node.node_id.clone(),
            name: node.name.clone(),
            role: node.role,
            redis: node.link.health().into(),
            holdings: self.pipeline.queue.get().and_then(Queue::holdings),
        })
    }

    /// The queue's part of this node: who it is and how it wakes the others.
    pub(crate) fn queue_membership(&self, node: &NodeConfig) -> ClusterConfig {
        let link = node.link.clone();
        let wake = Arc::new(move |keys: &[OrderingKey]| {
            let body: Vec<&str> = keys.iter().map(OrderingKey::as_str).collect();
            link.wake(WORK, &body.join("\n"));
        });
        ClusterConfig::new(
            node.node_id.clone(),
            node.name.clone(),
            node.role.runs_work(),
            wake,
        )
    }

    /// Whether this node's inbox loop stores what its webhooks accept (every node but one
    /// that only serves the API).
    pub(crate) fn stores_accepted(&self) -> bool {
        self.node().is_none_or(|node| node.role.runs_work())
    }

    /// Webhooks accepted messages on a node that does not store them: the others are woken.
    pub(crate) fn announce_accepted(&self) {
        if let Some(node) = self.node() {
            node.link.wake(INBOX, "");
        }
    }

    /// Credits were granted: every node wakes the tenant's parked keys.
    pub(crate) fn announce_resumed(&self, tenant: TenantId) {
        if let Some(node) = self.node() {
            node.link.wake(RESUME, &tenant.to_string());
        }
    }

    /// A channel changed: every node reads it again.
    pub(crate) fn announce_channel_changed(&self, id: ChannelId) {
        if let Some(node) = self.node() {
            node.link.wake(CHANNEL, &id.to_string());
        }
    }

    /// An agent changed: every node reads it again.
    pub(crate) fn announce_agent_changed(&self, id: AgentId) {
        if let Some(node) = self.node() {
            node.link.wake(AGENT, &id.to_string());
        }
    }

    /// Acts on the other nodes' wake-ups, and polls at once after every new subscription
    /// (wake-ups sent meanwhile were lost), until `shutdown`.
    pub(crate) fn listen_to_the_cluster(&self, node: &NodeConfig, shutdown: CancellationToken) {
        let mut wake_ups = node.link.wake_ups();
        let mut resubscribed = node.link.resubscribed();
        let engine = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    changed = resubscribed.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        engine.catch_up();
                    }
                    received = wake_ups.recv() => match received {
                        Ok(wake_up) => engine.on_wake_up(&wake_up),
                        Err(RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, "wake-ups overtaken; polling instead");
                            engine.catch_up();
                        }
                        Err(RecvError::Closed) => return,
                    },
                }
            }
        });
    }

    fn catch_up(&self) {
        if let Some(queue) = self.pipeline.queue.get() {
            queue.poll_now();
        }
        self.pipeline.inbox.nudge();
    }

    fn on_wake_up(&self, wake_up: &WakeUp) {
        match wake_up.topic.as_str() {
            WORK => {
                if let Some(queue) = self.pipeline.queue.get() {
                    queue.work_arrived(wake_up.body.lines().filter_map(|key| key.parse().ok()));
                }
            }
            INBOX => self.pipeline.inbox.nudge(),
            RESUME => {
                if let (Some(queue), Ok(tenant)) = (self.pipeline.queue.get(), wake_up.body.parse())
                {
                    queue.resume_tenant(tenant);
                }
            }
            CHANNEL => {
                if let Ok(id) = wake_up.body.parse() {
                    self.pipeline.recent.drop_channel(&id);
                }
            }
            AGENT => {
                if let Ok(id) = wake_up.body.parse() {
                    self.pipeline.recent.drop_agent(&id);
                }
            }
            other => tracing::debug!(
                topic = other,
                "a wake-up of a topic this node does not know"
            ),
        }
    }
}
