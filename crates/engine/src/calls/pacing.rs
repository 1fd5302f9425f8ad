//! Each caller number's pace: dials at most `callsPerSecond` a second (1 for single calls), each
//! at a slot `1 / callsPerSecond` after the one before, handed out at most [`PACE_AHEAD`] ahead.
//! Kept on this node, and with several nodes also across them through the shared rate (Redis).
//! A call whose attempt is being recorded holds a place in its number's pace until it takes its
//! slot or gives the place back, so recording attempts at once never runs the pace further
//! ahead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_channels::SharedRate;

/// How far ahead a number's dial slots are handed out.
pub(crate) const PACE_AHEAD: Duration = Duration::from_secs(1);

/// Dials per second per caller number: the next free slot of each number, kept on this node,
/// and with several nodes also held across them through the shared rate (Redis).
#[derive(Default)]
pub(crate) struct Pacing {
    next: Mutex<Slots>,
    shared: Option<Arc<dyn SharedRate>>,
}

/// Each number's next free slot, and its calls whose attempt is being recorded (each will take
/// a slot if it begins).
#[derive(Default)]
struct Slots {
    next: HashMap<String, Instant>,
    held: HashMap<String, u32>,
}

impl Pacing {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Holds a place in `number`'s pace at `per_second` for a call about to begin, unless the
    /// slot it would get (after those held already) is further than [`PACE_AHEAD`]: then its
    /// call waits for a later round. A held place is given back by [`Pacing::reserve`] or
    /// [`Pacing::release`].
    pub(super) fn hold(&self, number: &str, per_second: i64) -> bool {
        let now = Instant::now();
        let interval = Duration::from_secs(1) / u32::try_from(per_second.max(1)).unwrap_or(1);
        let mut slots = self.slots();
        let held = slots.held.get(number).copied().unwrap_or(0);
        let next = slots.next.get(number).copied().unwrap_or(now).max(now);
        if next + interval * held > now + PACE_AHEAD {
            return false;
        }
        *slots.held.entry(number.to_owned()).or_insert(0) += 1;
        true
    }

    /// Gives back a place held for a call that did not begin.
    pub(super) fn release(&self, number: &str) {
        let mut slots = self.slots();
        if let Some(held) = slots.held.get_mut(number) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                slots.held.remove(number);
            }
        }
    }

    /// Holds the pace across nodes through `shared` from now on.
    pub(crate) fn share(&mut self, shared: Arc<dyn SharedRate>) {
        self.shared = Some(shared);
    }

    /// Reserves the next dial slot of `number` at `per_second` for a call that began, in place
    /// of the one it held, and answers how long to wait for it: the shared rate's slot when
    /// there is one (this node's if it fails), else this node's. Slots are `1 / per_second`
    /// apart, so dials never come faster than the pace.
    pub(super) async fn reserve(&self, number: &str, per_second: i64) -> Duration {
        self.release(number);
        let local = self.reserve_here(number, per_second);
        let Some(shared) = &self.shared else {
            return local;
        };
        let key = format!("dial:{number}");
        let rate = u32::try_from(per_second.max(1)).unwrap_or(1);
        match shared.acquire(&key, rate).await {
            Ok(wait) => wait,
            Err(error) => {
                tracing::warn!(%error, "shared dial pace unavailable; pacing on this node");
                local
            }
        }
    }

    fn reserve_here(&self, number: &str, per_second: i64) -> Duration {
        let now = Instant::now();
        let interval = Duration::from_secs(1) / u32::try_from(per_second.max(1)).unwrap_or(1);
        let mut slots = self.slots();
        if slots.next.len() > 10_000 {
            slots.next.retain(|_, at| *at > now);
        }
        let slot = slots.next.entry(number.to_owned()).or_insert(now);
        *slot = (*slot).max(now);
        let wait = *slot - now;
        *slot += interval;
        wait
    }
}
