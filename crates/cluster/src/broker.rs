//! [`RedisBroker`]: the realtime `Broker` across nodes. Every envelope goes through Redis
//! (`{prefix}:events`) and comes back to every node's hub through the link's subscription,
//! this node's included, so each node delivers each event once.
//!
//! Durable envelopes (conversation and run streams) already carry their offset and are
//! published as they are. Memory streams (tenant, broadcast) are numbered in Redis by one Lua
//! script that increments the stream's counter, reads its epoch (setting the publisher's
//! candidate when there is none, or when the counter starts over), refreshes both keys' TTL
//! and publishes the envelope with its offset and epoch, all at once: every node gives the
//! event the same `(epoch, offset)`, and the order on the channel is the order of the offsets.
//! When Redis loses the counters (restart, or a day without events) a new epoch starts, and a
//! client resuming from the old one is told `recovered: false`.
//!
//! `publish` never waits: envelopes queue (bounded) for a task that publishes up to 64 per
//! round trip. An envelope that cannot be published (queue full, Redis down or refusing) is
//! delivered on this node only, so its clients still see it, and counted; a memory-stream event
//! then takes a local epoch of the outage, since its offset cannot be agreed with other nodes.
//! A command that fails after Redis ran it may thus reach this node twice.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use redis::Script;
use switchboard_realtime::{Broker, Envelope, LocalDelivery};
use tokio::sync::mpsc;

use crate::link::{RedisLink, Shared, within};
use crate::outage::Outage;

/// Envelopes waiting for Redis before new ones are delivered locally instead.
const QUEUE: usize = 4096;
/// Envelopes published in one round trip at most.
const BATCH: usize = 64;
/// How long a memory stream's counter and epoch outlive its last event.
const STREAM_TTL_SECONDS: u64 = 24 * 60 * 60;

/// KEYS: the stream's offset and epoch keys. ARGV: a candidate epoch, the TTL in seconds, the
/// events channel, and the envelope's JSON without offset or epoch (an object with at least one
/// field, to which the script adds both in front).
const NUMBER_AND_PUBLISH: &str = r#"
local offset = redis.call('INCR', KEYS[1])
local epoch = redis.call('GET', KEYS[2])
if offset == 1 or not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch, 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
local message = '{"offset":' .. string.format('%d', offset) .. ',"epoch":' .. cjson.encode(epoch)
  .. ',' .. string.sub(ARGV[4], 2)
redis.call('PUBLISH', ARGV[3], message)
return offset
"#;

/// The realtime broker over Redis (see the module documentation). Build it with a running
/// Tokio runtime; give it to `Hub::with_broker`.
pub struct RedisBroker {
    tx: mpsc::Sender<Envelope>,
    fallback: Arc<Fallback>,
    link: RedisLink,
}

/// Delivery on this node when Redis cannot take an envelope.
struct Fallback {
    local: OnceLock<LocalDelivery>,
    /// The epoch memory streams take on this node during an outage (new for each outage).
    epoch: Mutex<Option<Arc<str>>>,
    outage: Outage,
}

impl RedisBroker {
    pub fn new(link: &RedisLink) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let fallback = Arc::new(Fallback {
            local: OnceLock::new(),
            epoch: Mutex::new(None),
            outage: Outage::new("event"),
        });
        tokio::spawn(publish_queued(link.shared().clone(), fallback.clone(), rx));
        Self {
            tx,
            fallback,
            link: link.clone(),
        }
    }
}

impl Broker for RedisBroker {
    fn attach(&self, local: LocalDelivery) {
        let _ = self.fallback.local.set(local.clone());
        self.link
            .shared()
            .deliveries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(local);
    }

    fn publish(&self, envelope: Envelope) {
        if let Err(error) = self.tx.try_send(envelope) {
            let envelope = match error {
                mpsc::error::TrySendError::Full(envelope)
                | mpsc::error::TrySendError::Closed(envelope) => envelope,
            };
            self.fallback.outage.failed(1, &NotPublished::QueueFull);
            self.fallback.deliver(envelope);
        }
    }
}

/// Why envelopes were not handed to Redis, besides a failed command.
#[derive(Debug, thiserror::Error)]
enum NotPublished {
    #[error("the queue of envelopes for Redis is full")]
    QueueFull,
    #[error("Redis gave {answers} answers to {sent} envelopes")]
    Unanswered { sent: usize, answers: usize },
}

impl Fallback {
    fn deliver(&self, mut envelope: Envelope) {
        let Some(local) = self.local.get() else {
            return;
        };
        if envelope.offset.is_none() {
            let epoch = self
                .epoch
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert_with(new_epoch)
                .clone();
            envelope.epoch = Some(epoch);
        }
        local.deliver(envelope);
    }

    fn recovered(&self) {
        self.outage.succeeded();
        self.epoch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

fn new_epoch() -> Arc<str> {
    format!("{:016x}", rand::random::<u64>()).into()
}

/// Publishes queued envelopes, several per round trip, until shutdown or the broker is gone.
async fn publish_queued(
    shared: Arc<Shared>,
    fallback: Arc<Fallback>,
    mut rx: mpsc::Receiver<Envelope>,
) {
    let script = Script::new(NUMBER_AND_PUBLISH);
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
        if batch.iter().any(|envelope| envelope.offset.is_none()) {
            // Loading is cheap when the script is there, and saves handling NOSCRIPT after a
            // Redis restart.
            pipe.load_script(&script).ignore();
        }
        for envelope in &batch {
            let wire = envelope.to_wire();
            if envelope.offset.is_some() {
                pipe.cmd("PUBLISH").arg(&shared.keys.events).arg(wire);
            } else {
                let mut invocation = script.key(shared.keys.offset(&envelope.key));
                invocation
                    .key(shared.keys.epoch(&envelope.key))
                    .arg(&*new_epoch())
                    .arg(STREAM_TTL_SECONDS)
                    .arg(&shared.keys.events)
                    .arg(wire);
                pipe.invoke_script(&invocation);
            }
        }
        pipe.ignore_errors();
        let results = within(
            pipe.query_async::<Vec<redis::RedisResult<redis::Value>>>(&mut shared.commands()),
        )
        .await;
        match results {
            Ok(results) if results.len() == batch.len() => {
                let mut failed = 0;
                for (envelope, result) in batch.drain(..).zip(results) {
                    if let Err(error) = result {
                        failed += 1;
                        fallback.outage.failed(1, &error);
                        fallback.deliver(envelope);
                    }
                }
                if failed == 0 {
                    fallback.recovered();
                }
            }
            Ok(results) => {
                let error = NotPublished::Unanswered {
                    sent: batch.len(),
                    answers: results.len(),
                };
                fallback.outage.failed(batch.len() as u64, &error);
                for envelope in batch.drain(..) {
                    fallback.deliver(envelope);
                }
            }
            Err(error) => {
                fallback.outage.failed(batch.len() as u64, &error);
                for envelope in batch.drain(..) {
                    fallback.deliver(envelope);
                }
            }
        }
    }
}
