//! The fold loop: every [`EVERY`] it folds the facts the pipeline's transactions recorded, and
//! the webhook latencies measured, into the roll-ups in one transaction (a backlog in
//! back-to-back batches), so analytics trail the pipeline by about two seconds. Failures are
//! logged and retried; facts wait in the database meanwhile.

use std::time::Duration;

use switchboard_store::WhenBusy;
use tokio_util::sync::CancellationToken;

use crate::{Engine, EngineError};

/// Facts folded per transaction. On SQLite a fold holds the one writer, and webhooks now wait
/// for it (they store their messages in the database's writes): 2,000 facts at a time held
/// them long enough to put a webhook's p99 acknowledgement at 19–74 ms at 500 messages a
/// second; 250 at a time, 6–8 ms, for the same processor time. (Measured on SQLite; on
/// PostgreSQL, where folds hold no writer, the smaller batches were not measured.)
const BATCH: u32 = 250;

/// How long the loop rests once the facts are folded. A fold rewrites the sketches of every row
/// it touches in all four tiers, whatever the number of facts: at 10 messages a second a fold
/// every half second was a third of a message's instructions, and each fold now carries four
/// times as many.
const EVERY: Duration = Duration::from_secs(2);

impl Engine {
    /// Folds every fact committed so far (waiting for another node's fold if one is running);
    /// returns how many it folded.
    pub async fn fold_analytics(&self) -> Result<usize, EngineError> {
        self.fold_facts(WhenBusy::Wait).await
    }

    /// Folds the facts waiting, the measurements taken since the last fold with the first batch.
    async fn fold_facts(&self, busy: WhenBusy) -> Result<usize, EngineError> {
        let mut measured = self.pipeline.acknowledgements.take();
        let mut folded = 0;
        loop {
            // Kept until the fold commits, to be added by the next one if it fails.
            let batch = match self
                .store
                .fold_analytics(BATCH, busy, measured.clone())
                .await
            {
                Ok(batch) => batch,
                Err(error) => {
                    self.pipeline.acknowledgements.restore(measured);
                    return Err(error.into());
                }
            };
            measured.clear();
            folded += batch;
            if batch < BATCH as usize {
                return Ok(folded);
            }
        }
    }
}

/// Folds until `shutdown`; where another node is folding, leaves the work to it.
pub(crate) async fn run(engine: Engine, shutdown: CancellationToken) {
    loop {
        if let Err(error) = engine.fold_facts(WhenBusy::Skip).await {
            tracing::warn!(%error, "folding analytics facts failed; retrying");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}
