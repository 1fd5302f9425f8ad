//! The queue's handler: runs each leased entry through the use case its kind names.

use futures::future::BoxFuture;
use switchboard_core::{EntryKind, QueueEntry};
use switchboard_queue::{Handler, Outcome};

use crate::Engine;

pub(crate) struct Worker {
    pub engine: Engine,
}

impl Handler for Worker {
    fn handle(&self, entry: QueueEntry, resend: bool) -> BoxFuture<'static, Outcome> {
        let engine = self.engine.clone();
        Box::pin(async move {
            match entry.kind {
                EntryKind::Run => engine.run_turn(entry).await,
                EntryKind::Deliver => engine.deliver(entry, resend).await,
            }
        })
    }
}
