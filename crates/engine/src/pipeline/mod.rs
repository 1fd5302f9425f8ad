//! The message pipeline: webhooks in (`ingest`), agent turns (`run_turn`), replies out
//! (`deliver`), run by the queue's workers (`worker`), with its operator views (`operations`).

mod deliver;
mod follow_ups;
mod inbox;
mod ingest;
mod operations;
mod queued_write;
mod recent;
mod retention;
mod run_turn;
mod turn_context;
mod turn_tools;
mod worker;

pub(crate) use turn_tools::TurnTools;

pub use operations::QueueReport;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use ingest::IngestReport;
use switchboard_channels::{RateLimits, Sender};
pub use switchboard_channels::{VerifyError, Webhook, WebhookError};
use switchboard_queue::{Queue, QueueConfig};
use switchboard_realtime::{Hub, HubConfig};
use switchboard_store::Store;
use tokio_util::sync::CancellationToken;

use crate::{Engine, EngineError};

/// Which entries must run one at a time, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    /// Per conversation (the default): conversations run in parallel.
    #[default]
    Conversation,
    /// Per business number (WhatsApp `phone_number_id`, Twilio `To`): strict FIFO across all
    /// conversations of a number.
    Channel,
}

/// How the pipeline behaves.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub queue: QueueConfig,
    pub ordering: Ordering,
    pub rate_limits: RateLimits,
    /// How long one provider call may take.
    pub send_timeout: Duration,
    /// How many earlier messages an agent sees.
    pub context_messages: u32,
    /// How far an API-channel signature's timestamp may be from now.
    pub signature_tolerance: Duration,
    /// Realtime streams: history kept for resume, per-connection buffers.
    pub realtime: HubConfig,
    /// How often due follow-ups are looked for.
    pub follow_up_interval: Duration,
    /// How long conversation stream events are kept for resume (`None`: for ever).
    pub event_retention: Option<Duration>,
    /// Timeouts, retries and circuit breakers of the agent runtime.
    pub agent: switchboard_agent::RuntimeConfig,
    /// Threads of a runtime of the pipeline's own; `0` runs it on the runtime that starts it.
    pub threads: usize,
    /// Nice value of those threads (see `switchboard_database::priority`).
    pub nice: i32,
    /// Bulk imports: size limit, batch size, how many at once.
    pub imports: crate::ImportConfig,
    /// Outbound calls: callback address, price per minute, caps and the dialer's pace.
    pub calls: crate::CallsConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            queue: QueueConfig::default(),
            ordering: Ordering::Conversation,
            rate_limits: RateLimits::default(),
            send_timeout: Duration::from_secs(10),
            context_messages: 20,
            signature_tolerance: Duration::from_secs(300),
            realtime: HubConfig::default(),
            follow_up_interval: Duration::from_secs(1),
            event_retention: Some(Duration::from_secs(7 * 24 * 3600)),
            agent: switchboard_agent::RuntimeConfig::default(),
            threads: 0,
            nice: 0,
            imports: crate::ImportConfig::default(),
            calls: crate::CallsConfig::default(),
        }
    }
}

pub(crate) struct Pipeline {
    pub config: PipelineConfig,
    pub hub: Hub,
    pub sender: Sender,
    /// Runs agents: one HTTP client, breakers and MCP discovery cache for every run.
    pub runtime: switchboard_agent::Runtime,
    /// Set by `start_pipeline`; engines used by one-off commands never start it.
    pub queue: OnceLock<Queue>,
    /// Channels and agents read lately, so most messages need not read them.
    pub recent: recent::RecentRecords,
    /// Messages accepted by webhooks and not yet stored.
    pub inbox: inbox::Inbox,
    /// Webhook acknowledgement latencies not yet in the analytics roll-ups.
    pub acknowledgements: crate::analytics::acknowledgements::Acknowledgements,
    /// The imports this node runs.
    pub imports: crate::imports::Imports,
    /// The dialer's wake-up and its pace per caller number.
    pub calls: crate::calls::Calls,
    /// The pipeline's own runtime, while it runs on one.
    pub background: std::sync::Mutex<Option<Background>>,
    /// This node's place in a cluster, when it is one of several (`crate::cluster`).
    pub node: Option<crate::cluster::NodeConfig>,
}

/// A runtime of the pipeline's own. Dropping a runtime waits for its threads, which must not
/// happen on a runtime's thread (where the last handle on the engine may go); this lets them
/// finish in the background instead.
pub(crate) struct Background(Option<tokio::runtime::Runtime>);

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            // What still runs there (the inbox's loop, say) only waits for `shutdown`; its
            // work is durable wherever it stops.
            runtime.shutdown_background();
        }
    }
}

impl Pipeline {
    pub(crate) fn new(
        config: PipelineConfig,
        store: Store,
        node: Option<crate::cluster::NodeConfig>,
    ) -> Result<Self, EngineError> {
        let mut sender = Sender::new(config.rate_limits.clone(), config.send_timeout)
            .map_err(|error| EngineError::Internal(Box::new(error)))?;
        let history = Arc::new(crate::streams::StoreHistory { store });
        let runtime = switchboard_agent::Runtime::new(config.agent.clone())
            .map_err(|error| EngineError::Internal(Box::new(error)))?;
        // Several nodes: events reach every node's clients, send rates hold across nodes.
        let mut calls = crate::calls::Calls::default();
        let hub = match &node {
            Some(node) => {
                let shared_rate: Arc<dyn switchboard_channels::SharedRate> =
                    Arc::new(switchboard_cluster::SharedLimiter::new(&node.link));
                sender = sender.with_shared_rate(Arc::clone(&shared_rate));
                calls.pacing.share(shared_rate);
                let broker = Arc::new(switchboard_cluster::RedisBroker::new(&node.link));
                Hub::with_broker(config.realtime.clone(), history, broker)
            }
            None => Hub::new(config.realtime.clone(), history),
        };
        Ok(Self {
            hub,
            config,
            sender,
            runtime,
            queue: OnceLock::new(),
            recent: recent::RecentRecords::default(),
            inbox: inbox::Inbox::default(),
            acknowledgements: Default::default(),
            imports: crate::imports::Imports::default(),
            calls,
            background: std::sync::Mutex::new(None),
            node,
        })
    }
}

/// What a pipeline step's result means to the queue: a record that no longer exists will not
/// come back (dead); any other store failure may pass (retry with backoff).
fn outcome(
    result: Result<switchboard_queue::Outcome, switchboard_store::StoreError>,
) -> switchboard_queue::Outcome {
    use switchboard_queue::Outcome;
    match result {
        Ok(outcome) => outcome,
        Err(switchboard_store::StoreError::NotFound { entity }) => Outcome::Dead {
            error: format!("{entity} no longer exists").into(),
        },
        Err(error) => Outcome::Retry {
            error: Box::new(error),
            after: None,
        },
    }
}

impl Engine {
    /// Loads unfinished work and starts the workers, on a runtime of the pipeline's own when
    /// the configuration asks for one (so a busy pipeline never queues ahead of requests on
    /// theirs); they stop when `shutdown` fires.
    pub async fn start_pipeline(&self, shutdown: CancellationToken) -> Result<(), EngineError> {
        let PipelineConfig { threads, nice, .. } = self.pipeline.config;
        if threads == 0 {
            return self.start_workers(shutdown).await;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("pipeline")
            .on_thread_start(move || switchboard_database::priority::lower_current_thread(nice))
            .enable_all()
            .build()
            .map_err(|error| EngineError::Internal(Box::new(error)))?;
        let handle = runtime.handle().clone();
        let background = Background(Some(runtime));
        let engine = self.clone();
        let started = handle
            .spawn(async move { engine.start_workers(shutdown).await })
            .await
            .map_err(|error| EngineError::Internal(Box::new(error)))
            .flatten();
        if started.is_ok() {
            *self.background_runtime() = Some(background);
        }
        started
    }

    async fn start_workers(&self, shutdown: CancellationToken) -> Result<(), EngineError> {
        let handler = Arc::new(worker::Worker {
            engine: self.clone(),
        });
        let database = self.store.database().clone();
        let config = self.pipeline.config.queue.clone();
        let queue = match &self.pipeline.node {
            Some(node) => {
                let membership = self.queue_membership(node);
                Queue::start_cluster(database, config, membership, handler, shutdown.clone())
            }
            None => Queue::start(database, config, handler, shutdown.clone()).await?,
        };
        if self.pipeline.queue.set(queue).is_err() {
            return Err(EngineError::Conflict(
                "the pipeline is already running".into(),
            ));
        }
        if let Some(node) = &self.pipeline.node {
            self.listen_to_the_cluster(node, shutdown.clone());
            if !node.role.runs_work() {
                // The queue runs nothing here; it only refuses work beyond its capacity.
                return Ok(());
            }
        }
        tokio::spawn(follow_ups::run(
            self.clone(),
            self.pipeline.config.follow_up_interval,
            shutdown.clone(),
        ));
        // Messages accepted before a restart and not stored yet count as waiting, so
        // `wait_stored` waits for them too.
        let left = self.store.count_accepted(None).await?;
        self.pipeline
            .inbox
            .accepted(usize::try_from(left).unwrap_or(usize::MAX));
        tokio::spawn(inbox::run(self.clone(), shutdown.clone()));
        tokio::spawn(retention::run(self.clone(), shutdown.clone()));
        tokio::spawn(crate::analytics::folding::run(
            self.clone(),
            shutdown.clone(),
        ));
        tokio::spawn(crate::calls::run_dialer(self.clone(), shutdown.clone()));
        self.start_imports(shutdown).await
    }

    /// Stops the workers after their current entries.
    pub async fn stop_pipeline(&self) {
        if let Some(queue) = self.pipeline.queue.get() {
            queue.shutdown().await;
        }
        let background = self.background_runtime().take();
        drop(background);
    }

    fn background_runtime(&self) -> std::sync::MutexGuard<'_, Option<Background>> {
        self.pipeline
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// This node's queue statistics, for metrics (`None` before the pipeline starts).
    pub fn queue_node_stats(&self) -> Option<switchboard_queue::QueueStats> {
        self.pipeline.queue.get().map(Queue::stats)
    }

    /// Messages this node's webhooks accepted that are not stored yet, for metrics (the store
    /// has the exact count over every node: `GET /api/v1/queue/stats`).
    pub fn inbox_waiting(&self) -> usize {
        self.pipeline.inbox.waiting()
    }

    /// The realtime hub (conversation and run streams, the tenant's, broadcasts).
    pub fn hub(&self) -> &Hub {
        &self.pipeline.hub
    }

    pub(crate) fn queue(&self) -> Result<&Queue, EngineError> {
        self.pipeline.queue.get().ok_or_else(|| {
            EngineError::Unavailable(switchboard_store::StoreError::NotFound { entity: "pipeline" })
        })
    }

    /// Waits until every message accepted so far is stored and its run queued.
    pub async fn wait_stored(&self) {
        self.pipeline.inbox.wait_empty().await;
    }

    /// Waits until every accepted message is stored and the queue holds no work (tests drive
    /// the pipeline with this, not sleeps).
    pub async fn wait_idle(&self) {
        self.wait_stored().await;
        if let Some(queue) = self.pipeline.queue.get() {
            queue.wait_idle().await;
        }
    }
}
