//! The scenarios: what one iteration of a virtual user (or one arrival) does. Each worker owns
//! its connections (one per node, `cluster`) and sample buffer; `slot` pins simulated contacts
//! to workers, so each contact's messages go out one at a time, in order.

mod analytics;
mod dice;
mod graphql;
mod health;
pub(crate) mod import;
mod mcp;
mod rest;
mod scheduling;
mod webhook;
mod ws;

use std::sync::Arc;
use std::time::Instant;

pub use analytics::AnalyticsWorker;
pub use graphql::{GraphqlLoad, GraphqlWorker};
pub use health::HealthWorker;
pub use import::{BulkImportWorker, ROWS_PER_FILE};
pub use mcp::{McpLoad, McpWorker};
pub use rest::{RestLoad, RestWorker};
pub use scheduling::{SchedulingWorker, VoiceTraffic};
pub use webhook::{WebhookTraffic, WebhookWorker};
pub use ws::{WsTraffic, WsWorker};

use crate::cluster::Cluster;
use crate::metrics::{Metric, SampleSink};
use crate::target::Fixture;

/// The conversation list GraphQL and REST load for the same work (`graphql-list`, `rest-list`
/// and the `graphql` mix's list): the conversations with the newest activity, this many…
pub const LISTED_CONVERSATIONS: u32 = 10;
/// …each with its unread count, its last message's preview and this many of its newest
/// messages.
pub const MESSAGES_PER_CONVERSATION: u32 = 5;

/// Hits a search asks for, in every protocol's mix.
pub const SEARCH_HITS: u32 = 20;

/// `--scenario`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// `GET /health`.
    Health,
    /// Signed WhatsApp webhooks from N contacts over M numbers; acknowledgement latency.
    Webhook,
    /// Webhook traffic, plus every reply received at the fake provider: end-to-end latency
    /// and per-conversation loss, duplicates and order.
    E2e,
    /// REST mix: create conversation, post message, list messages, search, list conversations.
    Rest,
    /// GraphQL mix: conversations with their messages, search, send a message.
    Graphql,
    /// WebSocket: each user publishes to the run's broadcast stream and waits for its own
    /// event to come back through the fan-out to every user.
    Ws,
    /// Everything at once: 20% health, 40% webhooks (checked end to end), 30% REST, 10%
    /// analytics.
    Full,
    /// GraphQL `me` only (against `rest-me`).
    GraphqlMe,
    /// `GET /api/v1/users/{caller}` only: REST's `me` (against `graphql-me`).
    RestMe,
    /// GraphQL: 10 conversations with their 5 newest messages each, in one query (against
    /// `rest-list`).
    GraphqlList,
    /// REST: the list of 10 conversations, then the 5 newest messages of each, as one operation
    /// (against `graphql-list`).
    RestList,
    /// MCP `tools/call` of `echo`, stateless (2026-07-28); credentials only when given, so it
    /// also loads another MCP server.
    Mcp,
    /// MCP tool calls, stateless: `list_conversations`, `search_messages` and `echo`.
    McpMix,
    /// A dashboard's analytics reads: period summaries and series (counts and percentiles) in
    /// several time zones.
    Analytics,
    /// CSV imports: each iteration uploads 1,000 contacts and follows the import to its end.
    BulkImport,
    /// Calls placed (`POST /api/v1/calls`), half due now and dialled through the harness's
    /// fake Twilio Voice, half an hour ahead: the scheduling API and the dialer behind it.
    Scheduling,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Health => "health",
            Scenario::Webhook => "webhook",
            Scenario::E2e => "e2e",
            Scenario::Rest => "rest",
            Scenario::Graphql => "graphql",
            Scenario::Ws => "ws",
            Scenario::Full => "full",
            Scenario::GraphqlMe => "graphql-me",
            Scenario::RestMe => "rest-me",
            Scenario::GraphqlList => "graphql-list",
            Scenario::RestList => "rest-list",
            Scenario::Mcp => "mcp",
            Scenario::McpMix => "mcp-mix",
            Scenario::Analytics => "analytics",
            Scenario::BulkImport => "bulk-import",
            Scenario::Scheduling => "scheduling",
        }
    }

    /// The metrics unprefixed thresholds and the progress line are about.
    pub fn primary(self) -> Vec<Metric> {
        match self {
            Scenario::Health => vec![Metric::Health],
            Scenario::Webhook => vec![Metric::WebhookAck],
            Scenario::E2e => vec![Metric::EndToEnd],
            Scenario::Rest | Scenario::RestMe | Scenario::RestList => vec![Metric::Rest],
            Scenario::Graphql | Scenario::GraphqlMe | Scenario::GraphqlList => {
                vec![Metric::Graphql]
            }
            Scenario::Ws => vec![Metric::Ws],
            Scenario::Mcp | Scenario::McpMix => vec![Metric::Mcp],
            Scenario::Analytics => vec![Metric::Analytics],
            Scenario::Full => vec![
                Metric::Health,
                Metric::WebhookAck,
                Metric::Rest,
                Metric::Analytics,
            ],
            Scenario::BulkImport => vec![Metric::BulkImport],
            Scenario::Scheduling => vec![Metric::Scheduling],
        }
    }

    pub fn sends_webhooks(self) -> bool {
        matches!(self, Scenario::Webhook | Scenario::E2e | Scenario::Full)
    }

    /// Whether replies are checked for loss, duplicates and order.
    pub fn checks_replies(self) -> bool {
        matches!(self, Scenario::E2e | Scenario::Full)
    }

    /// Whether its calls are dialled through the harness's fake Twilio Voice.
    pub fn places_calls(self) -> bool {
        self == Scenario::Scheduling
    }

    /// Whether it reads and writes the seeded conversations of the app channel.
    pub fn needs_conversations(self) -> bool {
        matches!(
            self,
            Scenario::Rest
                | Scenario::Full
                | Scenario::Analytics
                | Scenario::Graphql
                | Scenario::GraphqlList
                | Scenario::RestList
                | Scenario::McpMix
        )
    }

    /// Whether it needs to know the caller's user id (REST has no `me`).
    pub fn needs_caller_id(self) -> bool {
        self == Scenario::RestMe
    }

    /// Whether load needs a seeded tenant at all.
    pub fn needs_fixture(self) -> bool {
        self != Scenario::Health
    }

    /// Whether it cannot run without credentials. `mcp` seeds and authenticates when it has
    /// them, and otherwise calls without any (another MCP server that takes none).
    pub fn needs_credentials(self) -> bool {
        self.needs_fixture() && self != Scenario::Mcp
    }
}

/// What every worker of a run shares.
pub struct ScenarioContext {
    pub scenario: Scenario,
    /// The nodes the workers spread their operations over.
    pub cluster: Cluster,
    pub fixture: Option<Fixture>,
    pub traffic: Option<Arc<WebhookTraffic>>,
    pub ws: Option<WsTraffic>,
    /// The voice channels and the ledger of `scheduling`, with the run's number.
    pub voice: Option<(Arc<VoiceTraffic>, u32)>,
}

impl ScenarioContext {
    /// Simulated contacts (webhook scenarios), else 0.
    pub fn contacts(&self) -> usize {
        self.traffic
            .as_ref()
            .map_or(0, |traffic| traffic.contacts())
    }

    pub fn worker(&self, sink: &SampleSink, index: usize) -> ScenarioWorker {
        let connect = || self.cluster.connect(index);
        let health = || HealthWorker::new(connect(), sink.recorder());
        let webhook = || {
            self.traffic
                .as_ref()
                .map(|traffic| WebhookWorker::new(traffic.clone(), connect(), sink.recorder()))
        };
        let rest = |load| {
            self.fixture
                .as_ref()
                .map(|fixture| RestWorker::new(fixture, load, connect(), sink.recorder(), index))
        };
        let rest_worker = |load| match rest(load) {
            Some(worker) => ScenarioWorker::Rest(Box::new(worker)),
            None => ScenarioWorker::Health(health()),
        };
        let graphql_worker = |load| match &self.fixture {
            Some(fixture) => ScenarioWorker::Graphql(Box::new(GraphqlWorker::new(
                fixture,
                load,
                connect(),
                sink.recorder(),
                index,
            ))),
            None => ScenarioWorker::Health(health()),
        };
        let analytics = || {
            self.fixture
                .as_ref()
                .map(|fixture| AnalyticsWorker::new(fixture, connect(), sink.recorder(), index))
        };
        let mcp_worker = |load| {
            ScenarioWorker::Mcp(Box::new(McpWorker::new(
                self.fixture.as_ref().map(|fixture| fixture.auth.clone()),
                load,
                connect(),
                sink.recorder(),
                index,
            )))
        };
        match self.scenario {
            Scenario::Webhook | Scenario::E2e => match webhook() {
                Some(worker) => ScenarioWorker::Webhook(worker),
                None => ScenarioWorker::Health(health()),
            },
            Scenario::Rest => rest_worker(RestLoad::Mix),
            Scenario::RestMe => rest_worker(RestLoad::Me),
            Scenario::RestList => rest_worker(RestLoad::List),
            Scenario::Graphql => graphql_worker(GraphqlLoad::Mix),
            Scenario::GraphqlMe => graphql_worker(GraphqlLoad::Me),
            Scenario::GraphqlList => graphql_worker(GraphqlLoad::List),
            Scenario::Mcp => mcp_worker(McpLoad::Echo),
            Scenario::McpMix => match &self.fixture {
                Some(_) => mcp_worker(McpLoad::Mix),
                None => ScenarioWorker::Health(health()),
            },
            Scenario::Analytics => match analytics() {
                Some(worker) => ScenarioWorker::Analytics(Box::new(worker)),
                None => ScenarioWorker::Health(health()),
            },
            Scenario::Full => ScenarioWorker::Full(Box::new(FullWorker {
                health: health(),
                webhook: webhook(),
                rest: rest(RestLoad::Mix),
                analytics: analytics(),
                iteration: index,
            })),
            Scenario::Ws => match &self.ws {
                Some(traffic) => ScenarioWorker::Ws(Box::new(WsWorker::new(
                    traffic.clone(),
                    index,
                    sink.recorder(),
                ))),
                None => ScenarioWorker::Health(health()),
            },
            Scenario::BulkImport => match &self.fixture {
                Some(fixture) => ScenarioWorker::BulkImport(Box::new(BulkImportWorker::new(
                    fixture.auth.clone(),
                    connect(),
                    sink.recorder(),
                    index,
                ))),
                None => ScenarioWorker::Health(health()),
            },
            Scenario::Scheduling => match (&self.fixture, &self.voice) {
                (Some(fixture), Some((traffic, run))) => {
                    ScenarioWorker::Scheduling(Box::new(SchedulingWorker::new(
                        fixture.auth.clone(),
                        Arc::clone(traffic),
                        *run,
                        connect(),
                        sink.recorder(),
                        index,
                    )))
                }
                _ => ScenarioWorker::Health(health()),
            },
            Scenario::Health => ScenarioWorker::Health(health()),
        }
    }
}

/// One virtual user (closed model) or one connection of the arrival pool (open model).
pub enum ScenarioWorker {
    Health(HealthWorker),
    Webhook(WebhookWorker),
    Rest(Box<RestWorker>),
    Graphql(Box<GraphqlWorker>),
    Mcp(Box<McpWorker>),
    Analytics(Box<AnalyticsWorker>),
    Full(Box<FullWorker>),
    Ws(Box<WsWorker>),
    BulkImport(Box<BulkImportWorker>),
    Scheduling(Box<SchedulingWorker>),
}

impl ScenarioWorker {
    /// One iteration, scheduled at `scheduled`, for simulated contact `slot`.
    pub async fn iterate(&mut self, slot: usize, scheduled: Instant) {
        match self {
            ScenarioWorker::Health(worker) => worker.iterate(scheduled).await,
            ScenarioWorker::Webhook(worker) => worker.iterate(slot, scheduled).await,
            ScenarioWorker::Rest(worker) => worker.iterate(scheduled).await,
            ScenarioWorker::Graphql(worker) => worker.iterate(scheduled).await,
            ScenarioWorker::Mcp(worker) => worker.iterate(scheduled).await,
            ScenarioWorker::Analytics(worker) => worker.iterate(scheduled).await,
            ScenarioWorker::Full(worker) => worker.iterate(slot, scheduled).await,
            ScenarioWorker::Ws(worker) => worker.iterate(scheduled).await,
            ScenarioWorker::BulkImport(worker) => worker.iterate(scheduled).await,
            ScenarioWorker::Scheduling(worker) => worker.iterate(scheduled).await,
        }
    }

    /// Hands buffered samples to the aggregator (before a long pause, and at the end).
    pub fn flush(&mut self) {
        match self {
            ScenarioWorker::Health(worker) => worker.flush(),
            ScenarioWorker::Webhook(worker) => worker.flush(),
            ScenarioWorker::Rest(worker) => worker.flush(),
            ScenarioWorker::Graphql(worker) => worker.flush(),
            ScenarioWorker::Mcp(worker) => worker.flush(),
            ScenarioWorker::Analytics(worker) => worker.flush(),
            ScenarioWorker::Ws(worker) => worker.flush(),
            ScenarioWorker::BulkImport(worker) => worker.flush(),
            ScenarioWorker::Scheduling(worker) => worker.flush(),
            ScenarioWorker::Full(worker) => {
                worker.health.flush();
                if let Some(webhook) = &mut worker.webhook {
                    webhook.flush();
                }
                if let Some(rest) = &mut worker.rest {
                    rest.flush();
                }
                if let Some(analytics) = &mut worker.analytics {
                    analytics.flush();
                }
            }
        }
    }
}

/// The `full` mix, by iteration: 2 in 10 health, 4 webhooks, 3 REST calls, 1 analytics read.
pub struct FullWorker {
    health: HealthWorker,
    webhook: Option<WebhookWorker>,
    rest: Option<RestWorker>,
    analytics: Option<AnalyticsWorker>,
    iteration: usize,
}

impl FullWorker {
    async fn iterate(&mut self, slot: usize, scheduled: Instant) {
        self.iteration = self.iteration.wrapping_add(1);
        let step = self.iteration % 10;
        match (step, &mut self.webhook, &mut self.rest, &mut self.analytics) {
            (2..=5, Some(webhook), _, _) => webhook.iterate(slot, scheduled).await,
            (6..=8, _, Some(rest), _) => rest.iterate(scheduled).await,
            (9, _, _, Some(analytics)) => analytics.iterate(scheduled).await,
            _ => self.health.iterate(scheduled).await,
        }
    }
}
