//! `[pipeline]`: the runtime that runs queued work, apart from the one answering requests.

use serde::{Deserialize, Serialize};

use super::{ConfigError, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineSection {
    /// Threads of the pipeline's own runtime (workers, agent turns, replies, storing accepted
    /// messages); by default one per core. Requests have a runtime of their own.
    pub threads: usize,
    /// Nice value of the pipeline's threads and of the SQLite database's writer (Linux; `0`
    /// leaves them at the process's). When the machine is saturated, acknowledging webhooks
    /// and answering requests then run first, and the pipeline takes the time left over.
    pub nice: i32,
}

impl Default for PipelineSection {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, usize::from),
            nice: 10,
        }
    }
}

impl PipelineSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        require(self.threads >= 1, "pipeline.threads", "must be at least 1")?;
        require(
            (0..=19).contains(&self.nice),
            "pipeline.nice",
            "must be between 0 and 19",
        )
    }
}
