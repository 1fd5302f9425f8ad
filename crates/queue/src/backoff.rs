//! Exponential backoff with jitter: attempt n waits about `base × 2^(n-1)`, capped, scaled by a
//! random factor in [0.5, 1.0] so retries of many keys do not arrive in lockstep.

use std::time::Duration;

use rand::Rng;

pub(crate) fn delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let full = base.saturating_mul(1 << exponent).min(cap);
    full.mul_f64(rand::rng().random_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_and_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for attempt in 1..=4 {
            let full = base * (1 << (attempt - 1));
            let waited = delay(attempt, base, cap);
            assert!(
                waited >= full / 2 && waited <= full,
                "attempt {attempt}: {waited:?}"
            );
        }
        assert!(delay(30, base, cap) <= cap);
    }
}
