//! Request quotas and the one rule that admits a request under them: the generic cell rate
//! algorithm (GCRA), a token bucket kept as a single instant per key.
//!
//! A [`Quota`] of `requests` per `period` lets `requests` through at once (the burst) and
//! refills one every `period / requests`. A key's state is its *backlog*: how far its
//! theoretical arrival time is ahead of now (zero once it is in the past, the bucket full). A
//! request costs one interval of backlog and is admitted while the backlog stays within the
//! whole period. Every store of buckets (in memory, in Redis) answers through
//! [`Quota::decide`], so they admit alike.

use std::time::Duration;

/// How many requests a key may make: `requests` at once, refilled evenly over `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub requests: u32,
    pub period: Duration,
}

impl Quota {
    pub const fn new(requests: u32, period: Duration) -> Self {
        Self { requests, period }
    }

    /// The requests allowed at once (a zero counts as one).
    pub fn burst(&self) -> u32 {
        self.requests.max(1)
    }

    /// The time one request takes to refill, in microseconds (at least one).
    pub fn interval_micros(&self) -> u64 {
        let period = u64::try_from(self.period.as_micros()).unwrap_or(u64::MAX);
        (period / u64::from(self.burst())).max(1)
    }

    /// The largest backlog a key may reach: a whole burst's intervals, in microseconds.
    pub fn limit_micros(&self) -> u64 {
        self.interval_micros()
            .saturating_mul(u64::from(self.burst()))
    }

    /// Decides one request of this quota for a key whose backlog is `backlog_micros`. Answers the
    /// admission and, when the request is admitted and `consume` is set, the key's new backlog to
    /// store. With `consume` unset it only asks whether a request would pass (nothing is taken).
    pub fn decide(&self, backlog_micros: u64, consume: bool) -> (Admission, Option<u64>) {
        let interval = self.interval_micros();
        let limit = self.limit_micros();
        let after = backlog_micros.saturating_add(interval);
        if after <= limit {
            let stored = if consume { after } else { backlog_micros };
            let admission = Admission {
                allowed: true,
                limit: self.burst(),
                remaining: u32::try_from((limit - stored) / interval).unwrap_or(u32::MAX),
                reset: Duration::from_micros(stored),
                retry_after: Duration::ZERO,
            };
            (admission, consume.then_some(after))
        } else {
            let admission = Admission {
                allowed: false,
                limit: self.burst(),
                remaining: 0,
                reset: Duration::from_micros(backlog_micros),
                retry_after: Duration::from_micros(after - limit),
            };
            (admission, None)
        }
    }
}

/// What a bucket answered for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The quota's burst (`RateLimit-Limit`).
    pub limit: u32,
    /// Requests still allowed at once after this one (`RateLimit-Remaining`).
    pub remaining: u32,
    /// Until the bucket is full again (`RateLimit-Reset`).
    pub reset: Duration,
    /// Until a refused request would be admitted (`Retry-After`); zero when allowed.
    pub retry_after: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_A_SECOND: Quota = Quota::new(10, Duration::from_secs(1));

    #[test]
    fn a_full_bucket_admits_its_burst_then_refuses_until_one_refills() {
        let mut backlog = 0;
        for expected_remaining in (0..10).rev() {
            let (admission, stored) = TEN_A_SECOND.decide(backlog, true);
            assert!(admission.allowed);
            assert_eq!(admission.remaining, expected_remaining);
            backlog = stored.unwrap_or(backlog);
        }
        assert_eq!(backlog, 1_000_000);
        let (refused, stored) = TEN_A_SECOND.decide(backlog, true);
        assert!(!refused.allowed);
        assert_eq!(stored, None);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after, Duration::from_millis(100));
        assert_eq!(refused.reset, Duration::from_secs(1));
        // 100 ms later one request has refilled.
        let (admitted, _) = TEN_A_SECOND.decide(backlog - 100_000, true);
        assert!(admitted.allowed);
        assert_eq!(admitted.remaining, 0);
    }

    #[test]
    fn asking_without_consuming_takes_nothing() {
        let (admission, stored) = TEN_A_SECOND.decide(0, false);
        assert!(admission.allowed);
        assert_eq!(stored, None);
        assert_eq!(admission.remaining, 10);
        assert_eq!(admission.reset, Duration::ZERO);
        let (refused, _) = TEN_A_SECOND.decide(1_000_000, false);
        assert!(!refused.allowed);
    }

    #[test]
    fn a_slow_quota_refills_one_request_per_interval() {
        let ten_in_ten_minutes = Quota::new(10, Duration::from_secs(600));
        assert_eq!(ten_in_ten_minutes.interval_micros(), 60_000_000);
        let (refused, _) = ten_in_ten_minutes.decide(600_000_000, true);
        assert_eq!(refused.retry_after, Duration::from_secs(60));
    }

    #[test]
    fn degenerate_quotas_still_admit_one_request() {
        let zero = Quota::new(0, Duration::ZERO);
        assert_eq!(zero.burst(), 1);
        assert_eq!(zero.interval_micros(), 1);
        assert!(zero.decide(0, true).0.allowed);
        let huge = Quota::new(u32::MAX, Duration::MAX);
        assert_eq!(huge.limit_micros(), u64::MAX);
        assert!(huge.decide(u64::MAX, true).0.allowed);
    }
}
