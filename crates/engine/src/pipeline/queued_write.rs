//! Every store write that queues work goes the same three steps: the write registers its
//! entries with the queue inside its transaction (held, not runnable); once it has committed,
//! the stream events it made are published; only then are its entries made runnable in key
//! order (a failed write forgets them). So a stream shows a message before anything a run
//! answering it publishes. [`Engine::commit_queued`] is those steps, once.

use std::future::Future;

use switchboard_queue::{Queue, Registrar};
use switchboard_store::StreamEvent;

use crate::Engine;

impl Engine {
    /// Runs `write` with the registrar of its entries on `queue`; after it returns, publishes
    /// the conversation events `events` finds in its result, then makes the entries runnable
    /// (or forgets them if it failed).
    pub(crate) async fn commit_queued<T, E, W>(
        &self,
        queue: &Queue,
        write: impl FnOnce(Registrar) -> W,
        events: impl FnOnce(&T) -> &[StreamEvent],
    ) -> Result<T, E>
    where
        W: Future<Output = Result<T, E>>,
    {
        let enqueue = queue.enqueue();
        let result = write(enqueue.registrar()).await;
        if let Ok(done) = &result {
            self.publish_conversation_events(events(done));
        }
        enqueue.finish(result.is_ok());
        result
    }
}
