//! The node's link to Redis: one command connection (`ConnectionManager`, reconnecting by
//! itself) and one pub/sub subscription kept alive by its own task (see `subscription`), with
//! an end-to-end heartbeat proving that what this node publishes comes back to it.
//!
//! Every second the link publishes a heartbeat on its own channel through the command
//! connection; the subscription notes each one that returns. The link is healthy while a
//! heartbeat sent in the last 3 s has come back. A subscription that stays silent that long
//! (a half-open connection) is dropped and made again. After every subscription, the first one
//! included, the `resubscribed` counter goes up: messages may have been missed meanwhile. A
//! command connection gone silent is not repaired by the `ConnectionManager` (a timeout does
//! not make it reconnect), so the heartbeat replaces it when a publish times out.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use switchboard_realtime::LocalDelivery;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::error::ClusterError;
use crate::keys::Keys;
use crate::outage::Outage;
use crate::subscription;
use crate::wake::{self, WakeUp};

/// How often a heartbeat is published.
pub(crate) const HEARTBEAT_PERIOD: Duration = Duration::from_secs(1);
/// How old the newest returned heartbeat may be while the link counts as healthy; a
/// subscription silent for longer is made again.
pub(crate) const HEARTBEAT_DEADLINE: Duration = Duration::from_secs(3);
/// The longest a connection attempt or a command may take.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Where Redis is and who this node is.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// The first part of every key and channel (e.g. `switchboard`); nodes of one deployment
    /// share it.
    pub prefix: String,
    /// This node's name, unique within the deployment: it names the heartbeat channel and the
    /// sender of wake-ups.
    pub node_id: String,
}

/// How the link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkHealth {
    /// Whether the pub/sub subscription is in place.
    pub subscribed: bool,
    /// How long ago the newest heartbeat that came back was sent (`None` before the first).
    pub last_heartbeat_age: Option<Duration>,
    /// A heartbeat made the round trip within the last 3 s.
    pub healthy: bool,
}

/// The node's link to Redis. Cheap to clone; the link's tasks stop at [`RedisLink::shutdown`]
/// or when the last clone is dropped.
#[derive(Clone)]
pub struct RedisLink {
    inner: Arc<LinkInner>,
}

struct LinkInner {
    shared: Arc<Shared>,
    _stop: DropGuard,
}

/// What the link's tasks and its users share.
pub(crate) struct Shared {
    pub keys: Keys,
    pub node_id: Arc<str>,
    client: redis::Client,
    commands: RwLock<ConnectionManager>,
    pub shutdown: CancellationToken,
    /// When the link was made: heartbeats carry their send time as milliseconds since then.
    pub started: Instant,
    /// Tells this link's heartbeats from an earlier process's with the same node id.
    pub instance: String,
    pub state: Mutex<LinkState>,
    pub resubscribed: watch::Sender<u64>,
    pub wake_ups: broadcast::Sender<WakeUp>,
    pub wake_tx: mpsc::Sender<String>,
    pub wake_outage: Outage,
    /// The hubs on this node that take the envelopes received.
    pub deliveries: RwLock<Vec<LocalDelivery>>,
}

#[derive(Debug, Default)]
pub(crate) struct LinkState {
    pub subscribed: bool,
    /// The send time of the newest heartbeat that came back.
    pub heartbeat_sent: Option<Instant>,
}

/// Wake-ups waiting to be published before new ones are dropped.
const WAKE_QUEUE: usize = 1024;
/// Wake-ups each receiver may fall behind by before it loses the oldest.
const WAKE_UPS_KEPT: usize = 1024;

impl RedisLink {
    /// Connects to Redis and subscribes; fails when Redis cannot be reached now. Later losses
    /// are repaired by the link's tasks, forever, until shutdown. Needs a Tokio runtime.
    pub async fn connect(config: LinkConfig) -> Result<RedisLink, ClusterError> {
        let client = redis::Client::open(config.url.as_str()).map_err(ClusterError::Url)?;
        let commands = connect_commands(&client)
            .await
            .map_err(|error| match error {
                ClusterError::Command(source) => ClusterError::Connect(source),
                other => other,
            })?;
        let keys = Keys::new(&config.prefix, &config.node_id);
        let first = subscription::subscribe(&client, &keys)
            .await
            .map_err(|error| match error {
                ClusterError::Command(source) => ClusterError::Connect(source),
                other => other,
            })?;

        let shutdown = CancellationToken::new();
        let (wake_tx, wake_rx) = mpsc::channel(WAKE_QUEUE);
        let shared = Arc::new(Shared {
            keys,
            node_id: config.node_id.into(),
            client: client.clone(),
            commands: RwLock::new(commands),
            shutdown: shutdown.clone(),
            started: Instant::now(),
            instance: format!("{:016x}", rand::random::<u64>()),
            state: Mutex::new(LinkState::default()),
            resubscribed: watch::Sender::new(0),
            wake_ups: broadcast::Sender::new(WAKE_UPS_KEPT),
            wake_tx,
            wake_outage: Outage::new("wake"),
            deliveries: RwLock::new(Vec::new()),
        });
        tokio::spawn(subscription::run(shared.clone(), client, first));
        tokio::spawn(subscription::heartbeat(shared.clone()));
        tokio::spawn(wake::publish_queued(shared.clone(), wake_rx));
        Ok(RedisLink {
            inner: Arc::new(LinkInner {
                shared,
                _stop: shutdown.drop_guard(),
            }),
        })
    }

    /// Stops the link's tasks (subscription, heartbeat, publishers) of every clone.
    pub fn shutdown(&self) {
        self.inner.shared.shutdown.cancel();
    }

    pub fn node_id(&self) -> &str {
        &self.inner.shared.node_id
    }

    pub fn health(&self) -> LinkHealth {
        self.inner.shared.health()
    }

    /// Goes up after every subscription, the first included: whatever was published while
    /// the link was not subscribed is lost, and the caller should read the database now.
    pub fn resubscribed(&self) -> watch::Receiver<u64> {
        self.inner.shared.resubscribed.subscribe()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }
}

impl Shared {
    pub fn lock_state(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn health(&self) -> LinkHealth {
        let state = self.lock_state();
        let last_heartbeat_age = state.heartbeat_sent.map(|sent| sent.elapsed());
        LinkHealth {
            subscribed: state.subscribed,
            last_heartbeat_age,
            healthy: state.subscribed
                && last_heartbeat_age.is_some_and(|age| age <= HEARTBEAT_DEADLINE),
        }
    }

    /// A handle to the command connection (handles share one multiplexed connection).
    pub fn commands(&self) -> ConnectionManager {
        self.commands
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the command connection with a new one, when one can be made now.
    pub async fn renew_commands(&self) {
        match connect_commands(&self.client).await {
            Ok(commands) => {
                *self
                    .commands
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = commands;
                tracing::info!("the Redis command connection was made again");
            }
            Err(error) => {
                tracing::debug!(%error, "making the Redis command connection again failed")
            }
        }
    }
}

async fn connect_commands(client: &redis::Client) -> Result<ConnectionManager, ClusterError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(COMMAND_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(1));
    within(client.get_connection_manager_with_config(config)).await
}

/// Runs a Redis future with [`COMMAND_TIMEOUT`].
pub(crate) async fn within<T>(
    future: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, ClusterError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, future).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ClusterError::Timeout(COMMAND_TIMEOUT)),
    }
}
