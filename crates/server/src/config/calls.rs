//! `[calls]`: outbound voice calls — price per minute, caps, ringing and the reconciler's
//! patience. Status callbacks go to `http.public_base_url` (else the listen address).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_engine::CallsConfig;

use super::{ConfigError, duration, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallsSection {
    /// Credits per started minute of a connected call (default 1).
    pub credits_per_minute: i64,
    /// Calls on the line at once per tenant, across campaigns (default 100).
    pub max_concurrent_per_tenant: i64,
    /// How long a dial rings before the provider gives up (default 30s).
    #[serde(with = "duration")]
    pub ring_timeout: Duration,
    /// Ask the provider to tell machines from people (default true).
    pub machine_detection: bool,
    /// How long an open call may go unheard of before the provider is asked about it
    /// (default 60s).
    #[serde(with = "duration")]
    pub quiet_after: Duration,
}

impl Default for CallsSection {
    fn default() -> Self {
        let calls = CallsConfig::default();
        Self {
            credits_per_minute: calls.credits_per_minute,
            max_concurrent_per_tenant: calls.max_concurrent_per_tenant,
            ring_timeout: calls.ring_timeout,
            machine_detection: calls.machine_detection,
            quiet_after: calls.quiet_after,
        }
    }
}

impl CallsSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        require(
            self.credits_per_minute >= 0,
            "calls.credits_per_minute",
            "must not be negative",
        )?;
        require(
            self.max_concurrent_per_tenant >= 1,
            "calls.max_concurrent_per_tenant",
            "must be at least 1",
        )?;
        require(
            (5..=600).contains(&self.ring_timeout.as_secs()),
            "calls.ring_timeout",
            "must be between 5s and 10m",
        )?;
        require(
            self.quiet_after >= Duration::from_secs(1),
            "calls.quiet_after",
            "must be at least 1s",
        )
    }

    /// The engine's settings; callbacks reach `public_base_url`, else `listen`.
    pub fn calls_config(&self, public_base_url: Option<&str>, listen: SocketAddr) -> CallsConfig {
        CallsConfig {
            public_base_url: public_base_url
                .map_or_else(|| format!("http://{listen}"), str::to_owned),
            credits_per_minute: self.credits_per_minute,
            max_concurrent_per_tenant: self.max_concurrent_per_tenant,
            ring_timeout: self.ring_timeout,
            machine_detection: self.machine_detection,
            quiet_after: self.quiet_after,
            ..CallsConfig::default()
        }
    }
}
