//! `[agents]`: timeouts, retries and circuit breakers of requests to models and bots.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_engine::AgentRuntimeConfig;

use super::{ConfigError, duration, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentsSection {
    /// How long one request to a model or a customer's bot may take (agents may override it
    /// with `timeoutMs`).
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// Retries of a model request that failed with 429, 5xx, a timeout or a lost connection,
    /// within one run; the first waits `retry_base` (or the provider's `Retry-After`), doubling.
    pub max_retries: u32,
    #[serde(with = "duration")]
    pub retry_base: Duration,
    /// Consecutive failures after which a model or bot endpoint's circuit opens: runs against
    /// it fail fast (and are retried later) until a probe succeeds after the cool-down.
    pub breaker_failures: u32,
    #[serde(with = "duration")]
    pub breaker_cooldown: Duration,
}

impl Default for AgentsSection {
    fn default() -> Self {
        let runtime = AgentRuntimeConfig::default();
        Self {
            request_timeout: runtime.request_timeout,
            max_retries: runtime.max_retries,
            retry_base: runtime.retry_base,
            breaker_failures: runtime.breaker_threshold,
            breaker_cooldown: runtime.breaker_cooldown,
        }
    }
}

impl AgentsSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        require(
            !self.request_timeout.is_zero(),
            "agents.request_timeout",
            "must be positive",
        )?;
        require(
            self.breaker_failures >= 1,
            "agents.breaker_failures",
            "must be at least 1",
        )
    }

    pub fn runtime_config(&self) -> AgentRuntimeConfig {
        AgentRuntimeConfig {
            request_timeout: self.request_timeout,
            max_retries: self.max_retries,
            retry_base: self.retry_base,
            breaker_threshold: self.breaker_failures,
            breaker_cooldown: self.breaker_cooldown,
            ..AgentRuntimeConfig::default()
        }
    }
}
