//! One stream's live state on this node: its epoch, the next offset, recent history (memory and
//! run streams), events that arrived ahead of a gap (durable streams), and its subscribers.
//!
//! A memory stream is numbered here unless a cross-node broker numbered its events: then the
//! stream follows the broker's epoch and offsets, and forgets its history when either shows
//! that this node missed something (another epoch, a skipped offset), so a resume across the
//! loss answers `recovered: false` instead of skipping events.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::frame::{Envelope, Frame};
use crate::outbox::{Closed, Outbox};
use crate::stream::{DURABLE_EPOCH, StreamKey, StreamName, new_epoch};

/// Decides which events a subscriber may see (by conversation).
pub type Filter = Arc<dyn Fn(&Frame) -> bool + Send + Sync>;

pub(crate) struct StreamState {
    pub epoch: Arc<str>,
    pub display: Arc<str>,
    /// The next offset to deliver (durable) or to assign (memory); `None` until known.
    pub next: Option<u64>,
    /// Recent events, oldest first, for resume without the store.
    pub history: VecDeque<(Instant, Frame)>,
    pub keeps_history: bool,
    /// Tenant and broadcast streams: numbered by the hub or by the broker, never by the store.
    pub memory: bool,
    /// Durable events that arrived before an earlier offset was delivered.
    pub pending: BTreeMap<u64, Envelope>,
    pub gap_fill_scheduled: bool,
    pub slots: Vec<Slot>,
    pub touched: Instant,
    /// When the stream's last event was published (runs): it is then dropped after a short
    /// grace instead of the history TTL.
    pub ended: Option<Instant>,
}

pub(crate) struct Slot {
    pub id: u64,
    pub outbox: Arc<Outbox>,
    pub filter: Option<Filter>,
    pub mode: Mode,
}

pub(crate) enum Mode {
    /// Reading missed events from the store; live events wait here meanwhile.
    Replaying(Vec<Frame>),
    /// Receiving events after `last`.
    Live { last: u64 },
}

impl StreamState {
    pub fn new(key: &StreamKey) -> Self {
        let memory = !key.name.is_durable();
        let (epoch, next, keeps_history) = match key.name {
            StreamName::Conversation(_) => (DURABLE_EPOCH.into(), None, false),
            StreamName::Run(_) => (DURABLE_EPOCH.into(), None, true),
            StreamName::Tenant | StreamName::Broadcast(_) => (new_epoch(), Some(1), true),
        };
        Self {
            epoch,
            display: key.name.to_string().into(),
            next,
            history: VecDeque::new(),
            keeps_history,
            memory,
            pending: BTreeMap::new(),
            gap_fill_scheduled: false,
            slots: Vec::new(),
            touched: Instant::now(),
            ended: None,
        }
    }

    /// The last offset delivered (0 before any).
    pub fn head(&self) -> u64 {
        self.next.map_or(0, |next| next.saturating_sub(1))
    }

    /// Takes an event; returns true when it arrived ahead of a gap the store must fill.
    pub fn accept(&mut self, envelope: Envelope, limits: &Limits) -> bool {
        self.touched = Instant::now();
        if self.memory
            && let Some(epoch) = envelope.epoch.clone()
        {
            self.accept_numbered(epoch, &envelope, limits);
            return false;
        }
        let Some(offset) = envelope.offset else {
            let offset = self.next.unwrap_or(1);
            self.emit(offset, &envelope, limits);
            return false;
        };
        let next = match self.next {
            Some(next) => next,
            // A run stream starts where its publisher is; a conversation stream waits until a
            // subscriber has read the store's head.
            None if self.keeps_history => offset,
            None => {
                self.pending.insert(offset, envelope);
                return false;
            }
        };
        if offset < next {
            return false;
        }
        if offset > next {
            self.pending.insert(offset, envelope);
            return !self.gap_fill_scheduled;
        }
        self.emit(offset, &envelope, limits);
        self.drain_pending(limits);
        false
    }

    /// Takes a memory-stream event numbered by the broker: adopts its epoch and delivers it at
    /// its offset (or the next one, when it has none).
    fn accept_numbered(&mut self, epoch: Arc<str>, envelope: &Envelope, limits: &Limits) {
        if epoch != self.epoch {
            self.epoch = epoch;
            self.history.clear();
            self.next = None;
            for slot in &mut self.slots {
                if let Mode::Live { last } = &mut slot.mode {
                    *last = 0;
                }
            }
        }
        let offset = envelope.offset.or(self.next).unwrap_or(1);
        match self.next {
            Some(next) if offset < next => return,
            Some(next) if offset > next => {
                tracing::debug!(stream = %self.display, from = next, to = offset, "events of the stream missed on this node");
                self.history.clear();
            }
            _ => {}
        }
        self.emit(offset, envelope, limits);
    }

    /// Delivers held events that now follow on.
    pub fn drain_pending(&mut self, limits: &Limits) {
        let Some(mut next) = self.next else { return };
        while let Some(entry) = self.pending.first_entry() {
            let offset = *entry.key();
            if offset < next {
                entry.remove();
                continue;
            }
            if offset > next {
                break;
            }
            let envelope = entry.remove();
            self.emit(offset, &envelope, limits);
            next += 1;
        }
    }

    /// Gives up on a gap the store could not fill: delivery resumes at the first held event.
    pub fn skip_gap(&mut self, limits: &Limits) {
        if let Some((&first, _)) = self.pending.first_key_value() {
            tracing::warn!(stream = %self.display, from = ?self.next, to = first, "events missing from the stream; skipping");
            self.next = Some(first);
            self.drain_pending(limits);
        }
    }

    fn emit(&mut self, offset: u64, envelope: &Envelope, limits: &Limits) {
        self.next = Some(offset + 1);
        if envelope.meta.last {
            self.ended = Some(Instant::now());
        }
        let frame = Frame::event(
            self.display.clone(),
            self.epoch.clone(),
            offset,
            &envelope.event,
            envelope.meta.clone(),
        );
        if self.keeps_history {
            let now = Instant::now();
            self.history.push_back((now, frame.clone()));
            self.trim_history(now, limits);
        }
        self.slots
            .retain_mut(|slot| slot.offer(&frame, limits.replay_buffer));
    }

    pub fn trim_history(&mut self, now: Instant, limits: &Limits) {
        while self.history.len() > limits.history_size
            || self
                .history
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > limits.history_ttl)
        {
            self.history.pop_front();
        }
    }

    /// History after `offset`, if it reaches back that far.
    pub fn history_after(&self, offset: u64) -> Option<Vec<Frame>> {
        let head = self.head();
        if offset > head {
            return None;
        }
        if offset == head {
            return Some(Vec::new());
        }
        let oldest = self.history.front()?.1.offset;
        if oldest > offset + 1 {
            return None;
        }
        Some(
            self.history
                .iter()
                .filter(|(_, frame)| frame.offset > offset)
                .map(|(_, frame)| frame.clone())
                .collect(),
        )
    }

    /// Whether nothing on this node needs the state any more: no subscriber, and its history
    /// expired (or, for an ended stream, the store has had it for a while).
    pub fn is_idle(&self, now: Instant, limits: &Limits) -> bool {
        if !self.slots.is_empty() {
            return false;
        }
        if !self.keeps_history {
            return true;
        }
        match self.ended {
            Some(ended) => now.duration_since(ended) > limits.ended_grace,
            None => now.duration_since(self.touched) > limits.history_ttl,
        }
    }
}

impl Slot {
    /// Offers a live event; returns false when the subscriber is gone.
    fn offer(&mut self, frame: &Frame, replay_buffer: usize) -> bool {
        if self.outbox.is_closed() {
            return false;
        }
        if let Some(filter) = &self.filter
            && !filter(frame)
        {
            return true;
        }
        match &mut self.mode {
            Mode::Replaying(waiting) => {
                if waiting.len() >= replay_buffer {
                    self.outbox.close(Closed::SlowConsumer);
                    return false;
                }
                waiting.push(frame.clone());
                true
            }
            Mode::Live { last } => {
                if frame.offset <= *last {
                    return true;
                }
                *last = frame.offset;
                self.outbox.push(frame.clone())
            }
        }
    }

    pub fn sees(&self, frame: &Frame) -> bool {
        self.filter.as_ref().is_none_or(|filter| filter(frame))
    }
}

/// Bounds that apply to every stream.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub history_size: usize,
    pub history_ttl: Duration,
    pub replay_buffer: usize,
    pub ended_grace: Duration,
}
