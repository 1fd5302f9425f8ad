//! A connection's bounded send buffer. Events and control frames wait here, in order, until the
//! transport writes them. When the client falls behind, `agent_thinking` deltas of one stream
//! merge into one frame; anything else that does not fit closes the outbox as a slow consumer
//! (the client reconnects and resumes by offset, losing nothing).

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::frame::Frame;

/// Why an outbox stopped taking frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The client did not keep up with its streams.
    SlowConsumer,
    /// The connection is going away.
    Shutdown,
}

pub struct Outbox {
    state: Mutex<State>,
    notify: Notify,
    capacity: usize,
}

struct State {
    frames: VecDeque<Frame>,
    closed: Option<Closed>,
}

impl Outbox {
    /// An outbox holding at most `capacity` frames; deltas start merging at half of it.
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                frames: VecDeque::new(),
                closed: None,
            }),
            notify: Notify::new(),
            capacity: capacity.max(2),
        }
    }

    /// Queues `frame`; returns false when the outbox is (now) closed.
    pub fn push(&self, frame: Frame) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        if state.closed.is_some() {
            return false;
        }
        let backlog = state.frames.len();
        if backlog >= self.capacity / 2
            && let Some(last) = state.frames.back_mut()
            && last.merges_with(&frame)
        {
            *last = last.merge(&frame);
            return true;
        }
        if backlog >= self.capacity {
            state.closed = Some(Closed::SlowConsumer);
            state.frames.clear();
            drop(state);
            self.notify.notify_one();
            return false;
        }
        state.frames.push_back(frame);
        drop(state);
        self.notify.notify_one();
        true
    }

    /// Queues a subscription's confirmation and replayed events, whatever the backlog: the
    /// replay is bounded by the hub's replay limit, and the client asked for it.
    pub(crate) fn push_replay(&self, first: Frame, frames: Vec<Frame>) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.closed.is_some() {
            return;
        }
        state.frames.push_back(first);
        state.frames.extend(frames);
        drop(state);
        self.notify.notify_one();
    }

    /// Stops the outbox; the transport's next `next_batch` returns `reason`.
    pub fn close(&self, reason: Closed) {
        if let Ok(mut state) = self.state.lock() {
            state.closed.get_or_insert(reason);
        }
        self.notify.notify_one();
    }

    pub fn is_closed(&self) -> bool {
        self.state
            .lock()
            .map_or(true, |state| state.closed.is_some())
    }

    /// Waits for frames and moves all that are queued into `batch` (in order); `Err` once the
    /// outbox is closed (frames still queued at a shutdown are delivered first).
    pub async fn next_batch(&self, batch: &mut Vec<Frame>) -> Result<(), Closed> {
        loop {
            let notified = self.notify.notified();
            {
                let Ok(mut state) = self.state.lock() else {
                    return Err(Closed::Shutdown);
                };
                if !state.frames.is_empty() {
                    batch.extend(state.frames.drain(..));
                    return Ok(());
                }
                if let Some(reason) = state.closed {
                    return Err(reason);
                }
            }
            notified.await;
        }
    }

    /// Frames waiting to be sent.
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |state| state.frames.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
