//! What a run measures: every request or delivery becomes a [`Sample`] (which metric, which node
//! it went to, when it finished, how long it took from its *scheduled* start, and how it failed),
//! workers buffer samples in a [`Recorder`] and hand them in batches to one [`Aggregator`] task,
//! which keeps one HDR histogram per metric plus a per-second timeline, and counts per node.
//!
//! Latency histograms hold successful samples only: a fast `429` must not make a run look
//! quicker. Failures are counted by [`ErrorKind`].

mod aggregator;
mod summary;

use std::time::{Duration, Instant};

pub(crate) use aggregator::histogram;
pub use aggregator::{Aggregator, AggregatorHandle, Measured, ProgressStyle};
pub use summary::{LatencySummary, MetricReport, NodeCount, SecondSummary};
use tokio::sync::mpsc::UnboundedSender;

use crate::cluster::NodeIndex;

/// A measured quantity. Names are stable: they appear in thresholds, JSON and baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// `GET /health` round trips.
    Health,
    /// Signed webhook POST → `200` acknowledgement.
    WebhookAck,
    /// Webhook sent → the reply arrived at the fake provider.
    EndToEnd,
    /// Every REST operation of the run (each is also recorded under its own).
    Rest,
    RestCreateConversation,
    RestPostMessage,
    RestListMessages,
    RestSearch,
    RestListConversations,
    /// WebSocket publish → the publisher's own copy delivered through the fan-out.
    Ws,
    /// Every GraphQL operation of the run (each is also recorded under its own).
    Graphql,
    /// `me`: the caller's user.
    GraphqlMe,
    /// The conversation list with each conversation's newest messages, in one query.
    GraphqlList,
    GraphqlSearch,
    GraphqlSendMessage,
    /// `GET /api/v1/users/{caller}`: REST's form of GraphQL's `me`.
    RestMe,
    /// The conversation list, then the messages of each listed conversation: REST's form of
    /// [`Metric::GraphqlList`], timed as one operation.
    RestList,
    /// Every MCP tool call of the run (each is also recorded under its own).
    Mcp,
    /// `tools/call` of `echo`.
    McpEcho,
    /// `tools/call` of `list_conversations`.
    McpListConversations,
    /// `tools/call` of `search_messages`.
    McpSearch,
    /// Every analytics read of the run (each is also recorded under its own).
    Analytics,
    /// `GET /api/v1/analytics/summary`: a period beside the one before.
    AnalyticsSummary,
    /// `GET /api/v1/analytics/series`: one metric per bucket in a time zone.
    AnalyticsSeries,
    /// A CSV file of contacts uploaded and imported: upload to the import's completion.
    BulkImport,
    /// `POST /api/v1/calls`: a call placed.
    Scheduling,
    /// A call placed due now → its dial arrived at the fake Twilio Voice.
    Dial,
}

impl Metric {
    pub const ALL: [Metric; 27] = [
        Metric::Health,
        Metric::WebhookAck,
        Metric::EndToEnd,
        Metric::Rest,
        Metric::RestCreateConversation,
        Metric::RestPostMessage,
        Metric::RestListMessages,
        Metric::RestSearch,
        Metric::RestListConversations,
        Metric::Ws,
        Metric::Graphql,
        Metric::GraphqlMe,
        Metric::GraphqlList,
        Metric::GraphqlSearch,
        Metric::GraphqlSendMessage,
        Metric::RestMe,
        Metric::RestList,
        Metric::Mcp,
        Metric::McpEcho,
        Metric::McpListConversations,
        Metric::McpSearch,
        Metric::Analytics,
        Metric::AnalyticsSummary,
        Metric::AnalyticsSeries,
        Metric::BulkImport,
        Metric::Scheduling,
        Metric::Dial,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Health => "health",
            Metric::WebhookAck => "webhook_ack",
            Metric::EndToEnd => "e2e",
            Metric::Rest => "rest",
            Metric::RestCreateConversation => "rest.create_conversation",
            Metric::RestPostMessage => "rest.post_message",
            Metric::RestListMessages => "rest.list_messages",
            Metric::RestSearch => "rest.search",
            Metric::RestListConversations => "rest.list_conversations",
            Metric::Ws => "ws",
            Metric::Graphql => "graphql",
            Metric::GraphqlMe => "graphql.me",
            Metric::GraphqlList => "graphql.list",
            Metric::GraphqlSearch => "graphql.search",
            Metric::GraphqlSendMessage => "graphql.send_message",
            Metric::RestMe => "rest.me",
            Metric::RestList => "rest.list",
            Metric::Mcp => "mcp",
            Metric::McpEcho => "mcp.echo",
            Metric::McpListConversations => "mcp.list_conversations",
            Metric::McpSearch => "mcp.search_messages",
            Metric::Analytics => "analytics",
            Metric::AnalyticsSummary => "analytics.summary",
            Metric::AnalyticsSeries => "analytics.series",
            Metric::BulkImport => "bulk_import",
            Metric::Scheduling => "scheduling",
            Metric::Dial => "dial",
        }
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|metric| metric.name() == name)
    }

    /// The aggregate this metric also counts towards.
    pub(crate) fn parent(self) -> Option<Metric> {
        match self {
            Metric::RestCreateConversation
            | Metric::RestPostMessage
            | Metric::RestListMessages
            | Metric::RestSearch
            | Metric::RestListConversations
            | Metric::RestMe
            | Metric::RestList => Some(Metric::Rest),
            Metric::GraphqlMe
            | Metric::GraphqlList
            | Metric::GraphqlSearch
            | Metric::GraphqlSendMessage => Some(Metric::Graphql),
            Metric::McpEcho | Metric::McpListConversations | Metric::McpSearch => Some(Metric::Mcp),
            Metric::AnalyticsSummary | Metric::AnalyticsSeries => Some(Metric::Analytics),
            _ => None,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Why a request or delivery did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The server answered with this non-success status (429 and 503 are load shedding).
    Status(u16),
    /// No answer within the request timeout.
    Timeout,
    /// The TCP (or TLS) connection could not be opened.
    Connect,
    /// The connection broke mid-request.
    Transport,
    /// A success status with a body that is not what the contract says.
    InvalidBody,
    /// A GraphQL answer whose `errors` list is not empty, whatever its HTTP status.
    Graphql,
    /// A JSON-RPC `error` in an MCP answer.
    JsonRpc,
    /// An MCP tool result with `isError: true`: the tool ran and failed.
    ToolError,
    /// An acknowledged message whose reply never arrived (end-to-end only).
    Lost,
}

impl ErrorKind {
    pub fn name(self) -> String {
        match self {
            ErrorKind::Status(status) => format!("status_{status}"),
            ErrorKind::Timeout => "timeout".into(),
            ErrorKind::Connect => "connect".into(),
            ErrorKind::Transport => "transport".into(),
            ErrorKind::InvalidBody => "invalid_body".into(),
            ErrorKind::Graphql => "graphql_errors".into(),
            ErrorKind::JsonRpc => "jsonrpc_errors".into(),
            ErrorKind::ToolError => "tool_errors".into(),
            ErrorKind::Lost => "lost".into(),
        }
    }
}

/// One finished request or delivery.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub metric: Metric,
    /// The node the request went to; `None` for what no node answers (a reply at the fake
    /// provider).
    pub node: Option<NodeIndex>,
    /// When it finished, in milliseconds since the run started.
    pub at_millis: u64,
    /// From the scheduled start (not the actual send) to completion.
    pub latency_micros: u64,
    pub error: Option<ErrorKind>,
}

/// Where samples go: the current run's aggregator, and the instant its clock starts at.
#[derive(Clone)]
pub struct SampleSink {
    tx: UnboundedSender<Vec<Sample>>,
    started: Instant,
}

impl SampleSink {
    pub(crate) fn new(tx: UnboundedSender<Vec<Sample>>, started: Instant) -> Self {
        Self { tx, started }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    fn sample(
        &self,
        metric: Metric,
        node: Option<NodeIndex>,
        scheduled: Instant,
        finished: Instant,
        error: Option<ErrorKind>,
    ) -> Sample {
        Sample {
            metric,
            node,
            at_millis: millis(finished.saturating_duration_since(self.started)),
            latency_micros: micros(finished.saturating_duration_since(scheduled)),
            error,
        }
    }

    /// Sends one sample now (for rare events such as replies at the fake provider).
    pub fn send(
        &self,
        metric: Metric,
        scheduled: Instant,
        finished: Instant,
        error: Option<ErrorKind>,
    ) {
        // A closed aggregator means the run is over; late samples are not part of it.
        let _ = self
            .tx
            .send(vec![self.sample(metric, None, scheduled, finished, error)]);
    }

    pub fn recorder(&self) -> Recorder {
        Recorder {
            sink: self.clone(),
            buffer: Vec::with_capacity(Recorder::BATCH),
            last_flush: Instant::now(),
        }
    }
}

/// A worker's buffer of samples, flushed in batches (and when dropped).
pub struct Recorder {
    sink: SampleSink,
    buffer: Vec<Sample>,
    last_flush: Instant,
}

impl Recorder {
    const BATCH: usize = 256;
    const MAX_DELAY: Duration = Duration::from_millis(100);

    /// One finished operation of `metric`, sent to `node`.
    pub fn record(
        &mut self,
        metric: Metric,
        node: NodeIndex,
        scheduled: Instant,
        finished: Instant,
        error: Option<ErrorKind>,
    ) {
        self.buffer.push(
            self.sink
                .sample(metric, Some(node), scheduled, finished, error),
        );
        if self.buffer.len() >= Self::BATCH
            || finished.saturating_duration_since(self.last_flush) >= Self::MAX_DELAY
        {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        self.last_flush = Instant::now();
        if self.buffer.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.buffer, Vec::with_capacity(Self::BATCH));
        let _ = self.sink.tx.send(batch);
    }

    pub fn started(&self) -> Instant {
        self.sink.started
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}
