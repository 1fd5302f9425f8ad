//! Wake-ups: short notes one node publishes so the others look at the database now instead of
//! at their next poll. They carry no meaning here (the engine names its topics, such as `work`
//! with an ordering key or `cancel` with a run id), and losing one only costs latency: every
//! node also polls the database.
//!
//! One wake-up is one JSON object on `{prefix}:wake`:
//!
//! ```text
//! {"topic":"work","from":"node-a","body":"conversation:…"}
//! ```
//!
//! Every node receives every wake-up, its own included.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::link::{RedisLink, Shared, within};

/// Wake-ups published in one round trip at most.
const BATCH: usize = 64;

/// A wake-up as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WakeUp {
    pub topic: String,
    pub body: String,
    /// The node id of the sender.
    pub from: String,
}

#[derive(Serialize)]
struct Outgoing<'a> {
    topic: &'a str,
    from: &'a str,
    body: &'a str,
}

impl WakeUp {
    pub(crate) fn decode(bytes: &[u8]) -> Result<WakeUp, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

impl RedisLink {
    /// Publishes a wake-up to every node, without waiting. A wake-up that cannot be published
    /// (Redis down, or more than 1024 waiting) is counted and dropped; the first failure of an
    /// outage is logged.
    pub fn wake(&self, topic: &str, body: &str) {
        let shared = self.shared();
        let outgoing = Outgoing {
            topic,
            from: &shared.node_id,
            body,
        };
        let Ok(message) = serde_json::to_string(&outgoing) else {
            return;
        };
        if let Err(error) = shared.wake_tx.try_send(message) {
            shared.wake_outage.failed(1, &error);
        }
    }

    /// Every wake-up published from now on, by any node. A receiver more than 1024 behind
    /// loses the oldest (`RecvError::Lagged`).
    pub fn wake_ups(&self) -> broadcast::Receiver<WakeUp> {
        self.shared().wake_ups.subscribe()
    }
}

/// Publishes queued wake-ups, several per round trip, until shutdown.
pub(crate) async fn publish_queued(shared: Arc<Shared>, mut rx: mpsc::Receiver<String>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let received = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            received = rx.recv_many(&mut batch, BATCH) => received,
        };
        if received == 0 {
            return;
        }
        let mut pipe = redis::pipe();
        for message in batch.drain(..) {
            pipe.cmd("PUBLISH")
                .arg(&shared.keys.wake)
                .arg(message)
                .ignore();
        }
        match within(pipe.query_async::<()>(&mut shared.commands())).await {
            Ok(()) => shared.wake_outage.succeeded(),
            Err(error) => shared.wake_outage.failed(received as u64, &error),
        }
    }
}
