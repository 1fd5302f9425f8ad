//! Every store write that queues work goes the same three steps: the write registers its
//! entries with the queue inside its transaction (held, not runnable), the commit makes them
//! runnable in key order (a failed write forgets them), and only then are the stream events it
//! made published. [`Engine::commit_queued`] is those steps, once.

use std::future::Future;

use switchboard_queue::Queue;
use switchboard_store::{EnqueueHook, StoreError, StreamEvent};

use crate::Engine;

impl Engine {
    /// Runs `write` with the hook that registers its entries on `queue`; after it returns,
    /// makes them runnable (or forgets them if it failed) and publishes the conversation events
    /// `events` finds in its result.
    pub(crate) async fn commit_queued<T, W>(
        &self,
        queue: &Queue,
        write: impl FnOnce(EnqueueHook) -> W,
        events: impl FnOnce(&T) -> &[StreamEvent],
    ) -> Result<T, StoreError>
    where
        W: Future<Output = Result<T, StoreError>>,
    {
        let enqueue = queue.enqueue();
        let result = write(enqueue.hook()).await;
        enqueue.finish(result.is_ok());
        if let Ok(done) = &result {
            self.publish_conversation_events(events(done));
        }
        result
    }
}
