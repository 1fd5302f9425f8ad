#![doc = include_str!("../README.md")]

use std::sync::Arc;

use tokio::sync::broadcast;

/// One event on a named stream (`run:<id>`, `conversation:<id>`), serialized once.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub stream: String,
    pub event: serde_json::Value,
}

/// The in-process event hub: every published event goes to every live subscriber. Slow
/// subscribers lose the oldest events (they resume from the durable run log).
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<Published>>,
}

impl Hub {
    pub fn new(buffer: usize) -> Self {
        let (tx, _) = broadcast::channel(buffer.max(1));
        Self { tx }
    }

    pub fn publish(&self, stream: String, event: serde_json::Value) {
        // No subscriber is not an error: events are also in the durable log.
        let _ = self.tx.send(Arc::new(Published { stream, event }));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.tx.subscribe()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(4096)
    }
}
