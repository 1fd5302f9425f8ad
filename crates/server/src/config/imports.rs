//! `[imports]`: bulk CSV imports.

use serde::{Deserialize, Serialize};
use switchboard_engine::ImportConfig;

use super::{ConfigError, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportsSection {
    /// The largest file accepted, in bytes of CSV after gzip (default 100 MB); larger uploads
    /// get 413 and nothing is kept.
    pub max_bytes: u64,
    /// Rows applied per transaction, each with the import's checkpoint.
    pub batch_rows: usize,
    /// Imports run at once on each node; more wait their turn.
    pub concurrency: usize,
}

impl Default for ImportsSection {
    fn default() -> Self {
        let imports = ImportConfig::default();
        Self {
            max_bytes: imports.max_bytes,
            batch_rows: imports.batch_rows,
            concurrency: imports.concurrency,
        }
    }
}

impl ImportsSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        require(
            self.max_bytes >= 1,
            "imports.max_bytes",
            "must be at least 1",
        )?;
        require(
            (1..=100_000).contains(&self.batch_rows),
            "imports.batch_rows",
            "must be between 1 and 100000",
        )?;
        require(
            self.concurrency >= 1,
            "imports.concurrency",
            "must be at least 1",
        )
    }

    pub fn import_config(&self) -> ImportConfig {
        ImportConfig {
            max_bytes: self.max_bytes,
            batch_rows: self.batch_rows,
            concurrency: self.concurrency,
        }
    }
}
