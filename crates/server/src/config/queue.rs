//! `[queue]`: the durable queue of agent runs and deliveries.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_engine::{Ordering, QueueConfig};

use super::{ConfigError, duration, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSection {
    /// Most queued entries (runs and deliveries); beyond it webhooks get 429 with `Retry-After`.
    pub capacity: usize,
    /// Workers that process queued entries grow between these with the ready work. A worker
    /// is a task, not a thread: one waiting on a model holds no thread and no connection, so
    /// the maximum bounds concurrent agent runs and should be well above them.
    pub min_workers: usize,
    pub max_workers: usize,
    /// Attempts before an entry becomes a dead letter.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt (with jitter) up to five minutes.
    #[serde(with = "duration")]
    pub retry_base: Duration,
    /// `conversation` (strict order per conversation) or `channel` (strict order per business
    /// number across its conversations).
    pub ordering: Ordering,
}

impl Default for QueueSection {
    fn default() -> Self {
        let queue = QueueConfig::default();
        Self {
            capacity: queue.capacity,
            min_workers: queue.min_workers,
            max_workers: queue.max_workers,
            max_attempts: queue.max_attempts,
            retry_base: queue.backoff_base,
            ordering: Ordering::default(),
        }
    }
}

impl QueueSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        require(self.capacity >= 1, "queue.capacity", "must be at least 1")?;
        require(
            1 <= self.min_workers && self.min_workers <= self.max_workers,
            "queue.max_workers",
            "need 1 <= min_workers <= max_workers",
        )?;
        require(
            self.max_attempts >= 1,
            "queue.max_attempts",
            "must be at least 1",
        )
    }

    pub fn queue_config(&self) -> QueueConfig {
        QueueConfig {
            capacity: self.capacity,
            min_workers: self.min_workers,
            max_workers: self.max_workers,
            max_attempts: self.max_attempts,
            backoff_base: self.retry_base,
            ..QueueConfig::default()
        }
    }
}
