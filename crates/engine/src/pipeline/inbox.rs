//! Storing what webhooks accepted: a webhook is acknowledged once its messages are in the
//! store's inbox (`Store::accept`); this loop then stores them as messages and queues their
//! runs, a batch per write, oldest first, usually within milliseconds. One loop runs per node;
//! on PostgreSQL every node's loop takes from the same inbox, so a node that accepted a
//! message need not be the one that stores it. On SQLite webhooks mostly store their messages
//! themselves (`ingest`), and the inbox takes only what that could not.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{Engine, EngineError};

/// Accepted messages stored per write: enough to share each commit's pages among many
/// messages, few enough to keep the commit that carries them short.
const BATCH: u32 = 64;

/// How often the loop looks for messages another node accepted.
const POLL: Duration = Duration::from_secs(1);

/// How long the loop waits after a failed write before trying again.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// What this node knows of its inbox.
#[derive(Default)]
pub(crate) struct Inbox {
    /// Accepted messages not yet stored: those left in the inbox when the pipeline started,
    /// plus this node's acceptances since, less what it stored. Exact on one node; on several,
    /// reset whenever the loop finds the inbox empty.
    waiting: AtomicUsize,
    /// A webhook accepted messages.
    arrived: Notify,
    /// The loop stored a batch or caught up.
    stored: Notify,
}

impl Inbox {
    /// Counts `messages` just accepted and wakes the loop.
    pub(crate) fn accepted(&self, messages: usize) {
        if messages > 0 {
            self.waiting.fetch_add(messages, Ordering::Relaxed);
            self.arrived.notify_one();
        }
    }

    /// Wakes the loop: another node accepted messages, or wake-ups may have been lost.
    pub(crate) fn nudge(&self) {
        self.arrived.notify_one();
    }

    /// Accepted messages waiting to be stored.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Waits until every accepted message is stored.
    pub(crate) async fn wait_empty(&self) {
        loop {
            let stored = self.stored.notified();
            tokio::pin!(stored);
            stored.as_mut().enable();
            if self.waiting() == 0 {
                return;
            }
            stored.await;
        }
    }

    fn taken(&self, messages: usize) {
        // Saturating: another node may have stored some of what this one counted.
        let _ = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |waiting| {
                Some(waiting.saturating_sub(messages))
            });
        self.stored.notify_waiters();
    }

    /// The loop found the inbox empty.
    fn caught_up(&self) {
        self.waiting.store(0, Ordering::Relaxed);
        self.stored.notify_waiters();
    }
}

impl Engine {
    /// Stores one batch of accepted messages, queues their runs and publishes their stream
    /// events; returns how many inbox rows it took.
    async fn store_accepted(&self) -> Result<usize, EngineError> {
        let queue = self.queue()?;
        let write = |registrar| self.store.store_accepted(BATCH, registrar);
        let stored = self
            .commit_queued(queue, write, |stored| &stored.events)
            .await?;
        let taken = stored.accepted + stored.duplicates;
        self.pipeline.inbox.taken(taken);
        Ok(taken)
    }
}

/// Stores accepted messages as they arrive, until `shutdown`; whatever is left waits in the
/// inbox for the next start.
pub(crate) async fn run(engine: Engine, shutdown: CancellationToken) {
    let inbox = &engine.pipeline.inbox;
    // Whether the last round failed: an outage is logged once, not at every retry.
    let mut failing = false;
    loop {
        match engine.store_accepted().await {
            // A full batch: more may be waiting.
            Ok(taken) if taken == BATCH as usize => continue,
            // Everything committed when the round began was taken: what commits later wakes
            // the loop (each acceptance notifies after its commit), so no round is spent
            // finding the inbox empty, which on PostgreSQL is a transaction of its own.
            Ok(taken) if taken > 0 => {}
            Ok(_) => inbox.caught_up(),
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "storing accepted messages failed; retrying");
                }
                failing = true;
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(RETRY_AFTER) => continue,
                }
            }
        }
        if failing {
            tracing::info!("storing accepted messages again");
            failing = false;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = inbox.arrived.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
