//! `[channels]`: sends to providers: how long one may take, and how many per second.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_engine::{PipelineConfig, RateLimits};

use super::{ConfigError, duration, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelsSection {
    /// How long one provider call may take.
    #[serde(with = "duration")]
    pub send_timeout: Duration,
    /// Outbound sends per second per WhatsApp number, Telegram bot, Telegram chat, Twilio
    /// number and API channel.
    pub whatsapp_sends_per_second: u32,
    pub telegram_sends_per_second: u32,
    pub telegram_chat_sends_per_second: u32,
    pub twilio_sends_per_second: u32,
    pub api_sends_per_second: u32,
}

impl Default for ChannelsSection {
    fn default() -> Self {
        let limits = RateLimits::default();
        Self {
            send_timeout: PipelineConfig::default().send_timeout,
            whatsapp_sends_per_second: limits.whatsapp_per_second,
            telegram_sends_per_second: limits.telegram_per_second,
            telegram_chat_sends_per_second: limits.telegram_per_chat_per_second,
            twilio_sends_per_second: limits.twilio_per_second,
            api_sends_per_second: limits.api_per_second,
        }
    }
}

impl ChannelsSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        require(
            !self.send_timeout.is_zero(),
            "channels.send_timeout",
            "must be positive",
        )
    }

    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            whatsapp_per_second: self.whatsapp_sends_per_second,
            telegram_per_second: self.telegram_sends_per_second,
            telegram_per_chat_per_second: self.telegram_chat_sends_per_second,
            twilio_per_second: self.twilio_sends_per_second,
            api_per_second: self.api_sends_per_second,
        }
    }
}
