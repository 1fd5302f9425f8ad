//! The hub: publishes go out through the broker and come back here to be numbered, kept in
//! history and written to each subscriber's outbox; subscriptions replay what a client missed
//! (from memory or from the store) and then go live with neither gap nor duplicate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::broker::{Broker, InProcessBroker, LocalDelivery};
use crate::frame::Envelope;
use crate::history::{History, HistoryError, HistoryPage, NoHistory};
use crate::outbox::Outbox;
use crate::resume::{from_memory, from_store};
use crate::state::{Filter, Limits, Mode, Slot, StreamState};
use crate::stream::{DURABLE_EPOCH, Position, StreamKey};

#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Events kept per memory stream (tenant, broadcast) and per live run, for resume.
    pub history_size: usize,
    /// How long kept events, and idle memory streams, live.
    pub history_ttl: Duration,
    /// Frames a connection may have waiting before it is cut off as a slow consumer.
    pub outbox_capacity: usize,
    /// The most missed events one resume replays; further behind, it reports `recovered: false`.
    pub replay_limit: usize,
    /// How long a durable event may wait for an earlier one before the store is asked for it.
    pub gap_wait: Duration,
    /// How long an ended run's events stay in memory (its run log is stored by then).
    pub ended_grace: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            history_size: 1000,
            history_ttl: Duration::from_secs(300),
            outbox_capacity: 1024,
            replay_limit: 10_000,
            gap_wait: Duration::from_millis(100),
            ended_grace: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The subscriber's outbox is closed (slow consumer, or the connection is closing).
    #[error("the connection is closed")]
    Closed,
}

/// The result of a subscription: where the stream stands and whether the resume succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    pub epoch: String,
    /// The last offset the client holds once the replay is delivered.
    pub offset: u64,
    /// False when the requested position could not be resumed (unknown epoch, history gone,
    /// or too far behind): the client should reload over REST.
    pub recovered: bool,
}

/// One client's end: an id and the outbox the hub writes to.
pub struct Subscriber {
    pub id: u64,
    pub outbox: Arc<Outbox>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubStats {
    pub streams: usize,
    pub subscriptions: usize,
}

/// The realtime hub (cheap to clone).
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

pub(crate) struct HubInner {
    streams: Mutex<HashMap<StreamKey, StreamState>>,
    limits: Limits,
    config: HubConfig,
    broker: Arc<dyn Broker>,
    history: Arc<dyn History>,
    next_subscriber: AtomicU64,
}

impl Hub {
    /// A hub on one node, replaying durable streams from `history`.
    pub fn new(config: HubConfig, history: Arc<dyn History>) -> Self {
        Self::with_broker(config, history, Arc::new(InProcessBroker::default()))
    }

    pub fn with_broker(
        config: HubConfig,
        history: Arc<dyn History>,
        broker: Arc<dyn Broker>,
    ) -> Self {
        let limits = Limits {
            history_size: config.history_size,
            history_ttl: config.history_ttl,
            replay_buffer: config.outbox_capacity,
            ended_grace: config.ended_grace,
        };
        let inner = Arc::new(HubInner {
            streams: Mutex::new(HashMap::new()),
            limits,
            config,
            broker: broker.clone(),
            history,
            next_subscriber: AtomicU64::new(1),
        });
        broker.attach(LocalDelivery(Arc::downgrade(&inner)));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(sweep(Arc::downgrade(&inner)));
        }
        Self { inner }
    }

    /// Publishes an event to every subscriber of its stream, on every node.
    pub fn publish(&self, envelope: Envelope) {
        self.inner.broker.publish(envelope);
    }

    /// A new subscriber with an outbox of the configured capacity.
    pub fn subscriber(&self) -> Subscriber {
        Subscriber {
            id: self.inner.next_subscriber.fetch_add(1, Ordering::Relaxed),
            outbox: Arc::new(Outbox::new(self.inner.config.outbox_capacity)),
        }
    }

    /// Subscribes to `key`: writes `subscribed`, then the events after `since` (if they can be
    /// recovered), then live events, to the subscriber's outbox. `filter` hides events of
    /// conversations the subscriber may not see. Subscribing again replaces the subscription.
    pub async fn subscribe(
        &self,
        subscriber: &Subscriber,
        key: StreamKey,
        since: Option<Position>,
        filter: Option<Filter>,
    ) -> Result<Subscribed, HubError> {
        let head_at_start = {
            let mut streams = self.inner.lock();
            let state = streams
                .entry(key.clone())
                .or_insert_with(|| StreamState::new(&key));
            state.slots.retain(|slot| slot.id != subscriber.id);
            let mut slot = Slot {
                id: subscriber.id,
                outbox: subscriber.outbox.clone(),
                filter,
                mode: Mode::Replaying(Vec::new()),
            };
            if let Some(subscribed) = from_memory(state, &key, since.as_ref(), &mut slot) {
                state.slots.push(slot);
                return Ok(subscribed);
            }
            state.slots.push(slot);
            state.head()
        };

        let after = since
            .as_ref()
            .filter(|position| position.epoch == DURABLE_EPOCH)
            .map(|position| position.offset);
        let page = match self
            .inner
            .history
            .read(&key, after, self.inner.config.replay_limit)
            .await
        {
            Ok(page) => page,
            Err(error) => {
                self.unsubscribe(subscriber.id, &key);
                return Err(error.into());
            }
        };

        let mut streams = self.inner.lock();
        let state = streams
            .entry(key.clone())
            .or_insert_with(|| StreamState::new(&key));
        if state.next.is_none() {
            state.next = Some(page.head + 1);
            state.drain_pending(&self.inner.limits);
        }
        let limit = self.inner.config.replay_limit;
        let Some(slot) = state.slots.iter_mut().find(|slot| slot.id == subscriber.id) else {
            return Err(HubError::Closed);
        };
        let subscribed = from_store(
            state.epoch.clone(),
            &state.display,
            slot,
            since.as_ref(),
            page,
            head_at_start,
            limit,
        );
        if slot.outbox.is_closed() {
            return Err(HubError::Closed);
        }
        Ok(subscribed)
    }

    /// Ends one subscription; returns whether there was one.
    pub fn unsubscribe(&self, subscriber_id: u64, key: &StreamKey) -> bool {
        let mut streams = self.inner.lock();
        let Some(state) = streams.get_mut(key) else {
            return false;
        };
        let before = state.slots.len();
        state.slots.retain(|slot| slot.id != subscriber_id);
        let removed = state.slots.len() < before;
        if state.slots.is_empty() && !state.keeps_history {
            streams.remove(key);
        }
        removed
    }

    pub fn stats(&self) -> HubStats {
        let streams = self.inner.lock();
        HubStats {
            streams: streams.len(),
            subscriptions: streams.values().map(|state| state.slots.len()).sum(),
        }
    }
}

impl HubInner {
    fn lock(&self) -> MutexGuard<'_, HashMap<StreamKey, StreamState>> {
        // A panic while holding the lock leaves consistent maps behind (each step is complete).
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes an envelope from the broker: numbers, keeps and fans it out on this node.
    pub(crate) fn deliver(self: &Arc<Self>, envelope: Envelope) {
        let mut streams = self.lock();
        let key = envelope.key.clone();
        let state = match streams.get_mut(&key) {
            Some(state) => state,
            None if !key.name.is_durable() || matches!(key.name, crate::StreamName::Run(_)) => {
                streams
                    .entry(key.clone())
                    .or_insert_with(|| StreamState::new(&key))
            }
            // Nobody on this node follows this conversation.
            None => return,
        };
        if state.accept(envelope, &self.limits) {
            state.gap_fill_scheduled = true;
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(fill_gap(Arc::downgrade(self), key));
            }
        }
    }
}

/// Asks the store for durable events that were published out of order and have not arrived.
async fn fill_gap(hub: std::sync::Weak<HubInner>, key: StreamKey) {
    let Some(wait) = hub.upgrade().map(|hub| hub.config.gap_wait) else {
        return;
    };
    tokio::time::sleep(wait).await;
    let Some(hub) = hub.upgrade() else { return };
    let range = {
        let streams = hub.lock();
        streams.get(&key).and_then(|state| {
            let next = state.next?;
            let first_held = *state.pending.keys().next()?;
            (first_held > next).then_some((next, first_held))
        })
    };
    let page = match range {
        Some((next, first_held)) => {
            let missing = usize::try_from(first_held - next).unwrap_or(usize::MAX);
            hub.history.read(&key, Some(next - 1), missing).await
        }
        None => Ok(HistoryPage::default()),
    };
    let mut streams = hub.lock();
    let Some(state) = streams.get_mut(&key) else {
        return;
    };
    state.gap_fill_scheduled = false;
    match page {
        Ok(page) => {
            for stored in page.events {
                state.accept(
                    Envelope {
                        key: key.clone(),
                        offset: Some(stored.offset),
                        epoch: None,
                        event: stored.event,
                        meta: stored.meta,
                    },
                    &hub.limits,
                );
            }
        }
        Err(error) => {
            tracing::warn!(%error, stream = %state.display, "filling a stream gap failed")
        }
    }
    state.skip_gap(&hub.limits);
}

/// Drops idle streams and expired history now and then.
async fn sweep(hub: std::sync::Weak<HubInner>) {
    let period = match hub.upgrade() {
        Some(hub) => (hub.config.history_ttl / 4)
            .min(hub.config.ended_grace)
            .clamp(Duration::from_secs(1), Duration::from_secs(60)),
        None => return,
    };
    loop {
        tokio::time::sleep(period).await;
        let Some(hub) = hub.upgrade() else { return };
        let now = Instant::now();
        let mut streams = hub.lock();
        streams.retain(|_, state| {
            state.trim_history(now, &hub.limits);
            !state.is_idle(now, &hub.limits)
        });
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new(HubConfig::default(), Arc::new(NoHistory))
    }
}
