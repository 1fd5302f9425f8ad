//! Conversation stream events are kept so that clients can resume, not for ever: a loop beside
//! the workers deletes those older than the configured retention, one bounded batch per write,
//! so a large backlog never holds up ingest. Messages, runs and the ledger are not touched.

use std::time::Duration;

use switchboard_core::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::{Engine, EngineError};

/// Events deleted per write.
const BATCH: u32 = 5_000;

/// How often the loop looks for expired events.
const EVERY: Duration = Duration::from_secs(300);

impl Engine {
    /// Deletes the conversation events older than the retention as of `now`; returns how many
    /// (none when events are kept for ever).
    pub async fn prune_conversation_events(&self, now: Timestamp) -> Result<u64, EngineError> {
        let Some(retention) = self.pipeline.config.event_retention else {
            return Ok(0);
        };
        let before = now - retention;
        let mut deleted = 0;
        loop {
            let batch = self.store.prune_conversation_events(before, BATCH).await?;
            deleted += batch;
            if batch < u64::from(BATCH) {
                return Ok(deleted);
            }
        }
    }
}

/// Prunes expired events every few minutes until `shutdown`.
pub(crate) async fn run(engine: Engine, shutdown: CancellationToken) {
    if engine.pipeline.config.event_retention.is_none() {
        return;
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
        match engine
            .prune_conversation_events(time::OffsetDateTime::now_utc())
            .await
        {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "expired conversation events deleted"),
            Err(error) => tracing::warn!(%error, "deleting expired conversation events failed"),
        }
    }
}
