//! Latency over the last minute, for percentiles: sixty one-second slots of log-scale buckets,
//! all atomic, so recording a request takes no lock. A bucket spans an eighth of an octave, so
//! a percentile is read to within 9 %. A slot is cleared when the clock comes back to it a
//! minute later; a sample recorded while another thread clears it may be lost, which a
//! monitoring figure can afford.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SLOTS: usize = 60;
/// Buckets per doubling of the latency.
const STEPS: u32 = 8;
/// From 1 µs to 2^28 µs (about 4.5 minutes); longer requests land in the last bucket.
const BUCKETS: usize = (28 * STEPS) as usize;

pub(crate) struct Window {
    started: Instant,
    slots: Box<[Slot]>,
}

struct Slot {
    /// The second (since `started`) the counts belong to.
    second: AtomicU64,
    counts: Box<[AtomicU32]>,
}

/// The 50th, 95th and 99th percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Window {
    pub(crate) fn new() -> Self {
        let slots = (0..SLOTS)
            .map(|_| Slot {
                second: AtomicU64::new(u64::MAX),
                counts: (0..BUCKETS).map(|_| AtomicU32::new(0)).collect(),
            })
            .collect();
        Self {
            started: Instant::now(),
            slots,
        }
    }

    pub(crate) fn record(&self, latency: Duration) {
        self.record_at(Instant::now(), latency);
    }

    fn record_at(&self, now: Instant, latency: Duration) {
        let second = now.duration_since(self.started).as_secs();
        let slot = &self.slots[second as usize % SLOTS];
        let seen = slot.second.load(Ordering::Acquire);
        if seen != second
            && slot
                .second
                .compare_exchange(seen, second, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            for count in &slot.counts {
                count.store(0, Ordering::Relaxed);
            }
        }
        slot.counts[bucket(latency)].fetch_add(1, Ordering::Relaxed);
    }

    /// The percentiles of the requests of the last minute; `None` without any.
    pub(crate) fn percentiles(&self) -> Option<Percentiles> {
        self.percentiles_at(Instant::now())
    }

    fn percentiles_at(&self, now: Instant) -> Option<Percentiles> {
        let current = now.duration_since(self.started).as_secs();
        let mut counts = [0u64; BUCKETS];
        for slot in &self.slots {
            let second = slot.second.load(Ordering::Acquire);
            if second <= current && current - second < SLOTS as u64 {
                for (total, count) in counts.iter_mut().zip(slot.counts.iter()) {
                    *total += u64::from(count.load(Ordering::Relaxed));
                }
            }
        }
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let at = |quantile: f64| {
            let rank = (quantile * total as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            let index = counts
                .iter()
                .position(|count| {
                    seen += count;
                    seen >= rank
                })
                .unwrap_or(BUCKETS - 1);
            upper_bound_ms(index)
        };
        Some(Percentiles {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
        })
    }
}

/// The bucket of `latency`: `STEPS` per doubling of microseconds.
fn bucket(latency: Duration) -> usize {
    let micros = latency.as_micros().max(1) as f64;
    ((micros.log2() * f64::from(STEPS)) as usize).min(BUCKETS - 1)
}

/// The largest latency a bucket holds, in milliseconds.
fn upper_bound_ms(index: usize) -> f64 {
    let micros = 2f64.powf((index as f64 + 1.0) / f64::from(STEPS));
    micros.round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_within_a_bucket_of_the_truth() {
        let window = Window::new();
        let now = window.started + Duration::from_secs(5);
        for millis in 1..=100 {
            window.record_at(now, Duration::from_millis(millis));
        }
        let percentiles = window.percentiles_at(now).expect("some requests");
        for (got, want) in [
            (percentiles.p50, 50.0),
            (percentiles.p95, 95.0),
            (percentiles.p99, 99.0),
        ] {
            assert!(got >= want && got <= want * 1.1, "{got} for {want}");
        }
    }

    #[test]
    fn requests_older_than_a_minute_are_forgotten() {
        let window = Window::new();
        let start = window.started;
        window.record_at(start, Duration::from_secs(2));
        let later = start + Duration::from_secs(61);
        assert_eq!(window.percentiles_at(later), None);
        window.record_at(later, Duration::from_millis(3));
        let percentiles = window.percentiles_at(later).expect("one request");
        assert!(percentiles.p99 < 3.5, "{percentiles:?}");
    }
}
