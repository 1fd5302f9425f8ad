//! Follow-ups agents schedule (`schedule_follow_up`): a loop beside the workers fires the due
//! ones — each becomes a system note on its conversation with a run queued for it, so the agent
//! picks the conversation up again at the time it asked for.

use std::time::Duration;

use switchboard_core::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::{Engine, EngineError};

/// Follow-ups fired per transaction.
const BATCH: u32 = 100;

impl Engine {
    /// Fires the follow-ups due at `now`; returns how many fired.
    pub async fn fire_due_follow_ups(&self, now: Timestamp) -> Result<usize, EngineError> {
        let engine = self.clone();
        // As for ingest: the write completes in its own task, so the entries it registered are
        // always confirmed or cancelled.
        let write = tokio::spawn(async move {
            let queue = engine.queue()?;
            let write = |registrar| engine.store.fire_due_follow_ups(now, BATCH, registrar);
            Ok::<_, EngineError>(engine.commit_queued(queue, write, Vec::as_slice).await?)
        });
        let fired = write
            .await
            .map_err(|error| EngineError::Internal(Box::new(error)))??;
        if !fired.is_empty() {
            tracing::debug!(fired = fired.len(), "follow-ups fired");
        }
        Ok(fired.len())
    }
}

/// Fires due follow-ups every `interval` until `shutdown`.
pub(crate) async fn run(engine: Engine, interval: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        loop {
            match engine
                .fire_due_follow_ups(time::OffsetDateTime::now_utc())
                .await
            {
                // A full batch: more may be due.
                Ok(fired) if fired == BATCH as usize => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "firing follow-ups failed; trying again shortly");
                    break;
                }
            }
        }
    }
}
