//! The runtime shared by every run of a node: one HTTP client, the circuit breakers of the
//! model endpoints, the MCP discovery cache, and the limits that bound a run. `Runtime::run`
//! picks the provider by the agent's kind.

use std::time::Duration;

use switchboard_core::{Agent, AgentKind};

use crate::breaker::Breakers;
use crate::tools::ToolHost;
use crate::tools::mcp::McpClient;
use crate::{AgentError, AgentOutput, AgentSettings, Context, Emit};

/// Limits and resilience settings of the runtime.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// How long one model or bot request may take, unless an agent sets `timeoutMs`.
    pub request_timeout: Duration,
    /// Retries of a model request that failed with 429, 5xx, a timeout or a lost connection.
    pub max_retries: u32,
    /// The first retry's delay; each later one doubles, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Consecutive failures that open an endpoint's circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit fails fast before letting a probe through.
    pub breaker_cooldown: Duration,
    /// Model turns a run may take when the model keeps calling tools.
    pub max_steps: u32,
    /// How long one tool call may take.
    pub tool_timeout: Duration,
    /// How long a remote MCP server's tool list is trusted.
    pub mcp_discovery_ttl: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(60),
            max_retries: 2,
            retry_base: Duration::from_millis(500),
            retry_cap: Duration::from_secs(20),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            max_steps: 6,
            tool_timeout: Duration::from_secs(15),
            mcp_discovery_ttl: Duration::from_secs(300),
        }
    }
}

/// Runs agents. Cheap to share; one per node.
pub struct Runtime {
    pub(crate) http: reqwest::Client,
    pub(crate) breakers: Breakers,
    pub(crate) mcp: McpClient,
    pub(crate) config: RuntimeConfig,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Self, AgentError> {
        // Requests carry their own deadlines; the client only bounds connecting.
        let http = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(|error| {
                AgentError::fatal("http_client", "cannot build the HTTP client").because(error)
            })?;
        Ok(Self {
            breakers: Breakers::new(config.breaker_threshold, config.breaker_cooldown),
            mcp: McpClient::new(http.clone(), config.mcp_discovery_ttl),
            http,
            config,
        })
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Runs `agent` on `context`, reporting progress through `emit` (thinking deltas, tool
    /// calls); the caller emits `agent_started` before and `agent_completed`/`agent_failed`
    /// after. Dropping the future cancels the run.
    pub async fn run(
        &self,
        agent: &Agent,
        context: &Context,
        host: &dyn ToolHost,
        emit: Emit<'_>,
    ) -> Result<AgentOutput, AgentError> {
        let settings = AgentSettings::from_config(&agent.config)?;
        match agent.kind {
            AgentKind::Echo => Ok(crate::echo::run(context, emit)),
            AgentKind::Scripted => {
                crate::scripted::run(self, &agent.config, context, host, emit).await
            }
            AgentKind::Openai => {
                crate::openai::run(self, &agent.config, &settings, context, host, emit).await
            }
            AgentKind::Http => crate::http_bot::run(self, &agent.config, context, emit).await,
        }
    }

    /// How long to wait before retry number `attempt` (1-based): the provider's
    /// `Retry-After` when it gave one, else exponential backoff; never beyond `retry_cap`.
    pub(crate) fn retry_delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .config
            .retry_base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        retry_after.unwrap_or(backoff).min(self.config.retry_cap)
    }
}

/// A per-agent override of the request timeout (`timeoutMs`).
pub(crate) fn request_timeout(runtime: &Runtime, config: &serde_json::Value) -> Duration {
    config
        .get("timeoutMs")
        .and_then(serde_json::Value::as_u64)
        .map_or(runtime.config.request_timeout, Duration::from_millis)
}

/// Whether a response's `Content-Type` starts with `prefix`.
pub(crate) fn content_type_is(response: &reqwest::Response, prefix: &str) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(prefix))
}

/// `Retry-After` in seconds, when a response carries one.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}
