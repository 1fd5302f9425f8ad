//! `[realtime]`: event history kept for resume, client buffers, and WebSocket timing.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_api::WsSettings;
use switchboard_engine::{HubConfig, PipelineConfig};

use super::{ConfigError, duration, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealtimeSection {
    /// Events kept per memory stream (tenant, broadcast) and live run, for resume.
    pub history_size: usize,
    /// How long kept events (and idle memory streams) live.
    #[serde(with = "duration")]
    pub history_ttl: Duration,
    /// Frames a realtime client may have waiting before it is cut off as a slow consumer.
    pub client_buffer: usize,
    /// How long conversation stream events are kept for resume; `"forever"` keeps them. Older
    /// ones are deleted every few minutes (messages and runs stay).
    #[serde(with = "duration::or_forever")]
    pub conversation_event_retention: Option<Duration>,
    /// How long a WebSocket opened without credentials has to send its `auth` frame.
    #[serde(with = "duration")]
    pub websocket_auth_timeout: Duration,
    /// Time between server pings.
    #[serde(with = "duration")]
    pub websocket_heartbeat: Duration,
    /// Client silence after which a WebSocket is closed.
    #[serde(with = "duration")]
    pub websocket_idle_timeout: Duration,
}

impl Default for RealtimeSection {
    fn default() -> Self {
        let hub = HubConfig::default();
        let websocket = WsSettings::default();
        Self {
            history_size: hub.history_size,
            history_ttl: hub.history_ttl,
            client_buffer: hub.outbox_capacity,
            conversation_event_retention: PipelineConfig::default().event_retention,
            websocket_auth_timeout: websocket.auth_timeout,
            websocket_heartbeat: websocket.heartbeat,
            websocket_idle_timeout: websocket.idle_timeout,
        }
    }
}

impl RealtimeSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (field, duration) in [
            ("realtime.history_ttl", self.history_ttl),
            (
                "realtime.websocket_auth_timeout",
                self.websocket_auth_timeout,
            ),
            ("realtime.websocket_heartbeat", self.websocket_heartbeat),
            (
                "realtime.websocket_idle_timeout",
                self.websocket_idle_timeout,
            ),
        ] {
            require(!duration.is_zero(), field, "must be positive")?;
        }
        require(
            self.conversation_event_retention
                .is_none_or(|retention| !retention.is_zero()),
            "realtime.conversation_event_retention",
            "must be positive (\"forever\" keeps them for ever)",
        )?;
        require(
            self.client_buffer >= 16,
            "realtime.client_buffer",
            "must be at least 16",
        )
    }

    pub fn hub_config(&self) -> HubConfig {
        HubConfig {
            history_size: self.history_size,
            history_ttl: self.history_ttl,
            outbox_capacity: self.client_buffer,
            ..HubConfig::default()
        }
    }

    pub fn websocket_settings(&self) -> WsSettings {
        WsSettings {
            auth_timeout: self.websocket_auth_timeout,
            heartbeat: self.websocket_heartbeat,
            idle_timeout: self.websocket_idle_timeout,
            ..WsSettings::default()
        }
    }
}
