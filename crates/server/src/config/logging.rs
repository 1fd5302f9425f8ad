//! `[logging]`: what is logged, and how.

use serde::{Deserialize, Serialize};

use crate::telemetry::LogFormat;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingSection {
    /// A tracing filter (`info`, `switchboard=debug,sqlx=warn`); `RUST_LOG` wins when set.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LoggingSection {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::default(),
        }
    }
}
