#![doc = include_str!("../README.md")]

mod agents;
mod analytics;
mod api_keys;
mod audit;
mod auth;
mod calls;
mod channels;
mod cluster;
mod completions;
mod contacts;
mod conversations;
mod credits;
mod database;
mod error;
mod handoff;
mod imports;
mod limits;
mod messages;
mod pipeline;
mod streams;
mod tenants;
mod users;

pub use agents::{AgentChanges, AgentInput};
pub use analytics::{AnalyticsQuery, Point, Series, Summary, Totals};
pub use api_keys::{ApiKeyInput, IssuedApiKey};
pub use audit::AuditQuery;
pub use auth::{AuthConfig, Bootstrap, Session, TokenPair};
pub use calls::{CallRequest, CallsConfig, CampaignRequest};
pub use channels::{ChannelChanges, ChannelInput, CreatedChannel};
pub use cluster::{NodeConfig, NodeReport, RedisState, Role, node_database_settings};
pub use completions::{Completion, CompletionRequest, PromptMessage, PromptRole};
pub use contacts::ContactInput;
pub use conversations::{ConversationInput, ParticipantInput};
pub use credits::GrantInput;
pub use error::{EngineError, retry_seconds};
pub use imports::{FileError, ImportConfig, ImportRequest, fuzzing};
pub use limits::{Buckets, LimitKey, Limits, LimitsConfig, MemoryBuckets};
pub use messages::{MessageInput, Posted};
pub use pipeline::{
    IngestReport, Ordering, PipelineConfig, QueueReport, VerifyError, Webhook, WebhookError,
};
pub use switchboard_agent::RuntimeConfig as AgentRuntimeConfig;
pub use switchboard_channels::RateLimits;
pub use switchboard_channels::twilio::EMPTY_TWIML;
pub use switchboard_cluster::{LinkConfig, RedisLink};
pub use switchboard_queue::{QueueConfig, QueueStats};
pub use switchboard_realtime::{Hub, HubConfig};
pub use users::{UserChanges, UserInput};

// Inputs and results that cross the engine unchanged.
pub use switchboard_store::{
    AnalyticsFilter, AuditFilter, Backend, CallAnalyticsFilter, CallTotals, ConversationFilter,
    ConversationUpdate, DatabaseMetrics, DatabaseOptions, DatabaseSize, IndexSuggestion, Keyring,
    MasterKey, MessageOrder, NewParticipant, PageRequest, PoolStats, Resealed, SearchHit,
    SecretsError, Store, StoreError, TableStats, redact_url,
};

use switchboard_core::{Caller, Permission};

/// Every operation of the gateway, over one store. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    auth: std::sync::Arc<AuthConfig>,
    pipeline: std::sync::Arc<pipeline::Pipeline>,
    limits: std::sync::Arc<Limits>,
}

impl Engine {
    /// An engine over `store`. The message pipeline runs once `start_pipeline` is called.
    pub fn new(
        store: Store,
        auth: AuthConfig,
        pipeline: PipelineConfig,
    ) -> Result<Self, EngineError> {
        Self::new_node(store, auth, pipeline, None)
    }

    /// An engine that is one node of several when `node` is given (`cluster`): its realtime
    /// events, wake-ups and send rates go through Redis, and its queue runs the keys of the
    /// partitions it holds.
    pub fn new_node(
        store: Store,
        auth: AuthConfig,
        pipeline: PipelineConfig,
        node: Option<NodeConfig>,
    ) -> Result<Self, EngineError> {
        // Several nodes count inbound requests in one set of buckets, in Redis.
        let shared: Option<std::sync::Arc<dyn Buckets>> = node.as_ref().map(|node| {
            std::sync::Arc::new(switchboard_cluster::SharedLimiter::new(&node.link))
                as std::sync::Arc<dyn Buckets>
        });
        let limits = std::sync::Arc::new(Limits::new(auth.limits.clone(), shared));
        Ok(Self {
            limits,
            pipeline: std::sync::Arc::new(pipeline::Pipeline::new(pipeline, store.clone(), node)?),
            store,
            auth: std::sync::Arc::new(auth),
        })
    }

    /// The inbound rate limits, for the adapters to admit requests through.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the store answers (for readiness probes).
    pub async fn ready(&self) -> Result<(), EngineError> {
        Ok(self.store.ping().await?)
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.store.pool_stats()
    }

    /// Statements the store has run on its read pool so far: what an operation reads is the
    /// difference across it (for tests and measurements).
    pub fn reads_run(&self) -> u64 {
        self.store.reads_run()
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Stops the pipeline's workers after their current entries, then closes the store once
    /// in-flight writes commit.
    pub async fn shutdown(&self) {
        self.stop_pipeline().await;
        self.store.close().await;
    }
}

/// Refuses a caller whose role lacks `permission`.
pub(crate) fn require(caller: &Caller, permission: Permission) -> Result<(), EngineError> {
    if caller.may(permission) {
        Ok(())
    } else {
        Err(EngineError::Forbidden(format!(
            "the {} role may not do this",
            caller.role
        )))
    }
}
