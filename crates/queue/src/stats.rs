//! Counters and a one-minute history of them, for rates per second.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the queue is doing now, and how fast.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    /// Entries waiting or running (in memory, this node).
    pub depth: usize,
    pub ready: usize,
    pub in_flight: usize,
    pub parked: usize,
    pub capacity: usize,
    pub workers: usize,
    pub enqueued_total: u64,
    pub completed_total: u64,
    pub retried_total: u64,
    pub dead_total: u64,
    /// Sends repeated after a restart found them in flight.
    pub resent_total: u64,
    /// Per second, over the last ten seconds.
    pub enqueued_per_second: f64,
    pub completed_per_second: f64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub enqueued: AtomicU64,
    pub completed: AtomicU64,
    pub retried: AtomicU64,
    pub dead: AtomicU64,
    pub resent: AtomicU64,
    history: Mutex<VecDeque<(Instant, u64, u64)>>,
}

const WINDOW: Duration = Duration::from_secs(10);

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    /// Records a sample of the totals (called about once a second).
    pub(crate) fn sample(&self, now: Instant) {
        let sample = (
            now,
            self.enqueued.load(Ordering::Relaxed),
            self.completed.load(Ordering::Relaxed),
        );
        if let Ok(mut history) = self.history.lock() {
            history.push_back(sample);
            while history
                .front()
                .is_some_and(|(at, _, _)| now.duration_since(*at) > WINDOW)
            {
                history.pop_front();
            }
        }
    }

    pub(crate) fn fill(&self, stats: &mut QueueStats, now: Instant) {
        stats.enqueued_total = self.enqueued.load(Ordering::Relaxed);
        stats.completed_total = self.completed.load(Ordering::Relaxed);
        stats.retried_total = self.retried.load(Ordering::Relaxed);
        stats.dead_total = self.dead.load(Ordering::Relaxed);
        stats.resent_total = self.resent.load(Ordering::Relaxed);
        if let Ok(history) = self.history.lock()
            && let Some((at, enqueued, completed)) = history.front()
        {
            let seconds = now.duration_since(*at).as_secs_f64();
            if seconds > 0.0 {
                stats.enqueued_per_second = (stats.enqueued_total - enqueued) as f64 / seconds;
                stats.completed_per_second = (stats.completed_total - completed) as f64 / seconds;
            }
        }
    }
}
