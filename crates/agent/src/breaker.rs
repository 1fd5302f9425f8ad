//! Circuit breakers, one per endpoint: after `threshold` consecutive failures the endpoint is
//! open and calls fail fast; after `cooldown` one probe is let through (half-open) — its success
//! closes the circuit, its failure opens it again. Time is passed in, so the state machine is
//! tested without clocks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Circuit {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    /// A half-open probe is in flight: others still fail fast.
    probing: bool,
}

pub(crate) struct Breakers {
    circuits: Mutex<HashMap<String, Circuit>>,
    threshold: u32,
    cooldown: Duration,
}

/// The circuit is open: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Open(pub Duration);

impl Breakers {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            circuits: Mutex::new(HashMap::new()),
            threshold: threshold.max(1),
            cooldown,
        }
    }

    /// Whether a call to `endpoint` may go ahead at `now`.
    pub(crate) fn admit(&self, endpoint: &str, now: Instant) -> Result<(), Open> {
        let mut circuits = self.lock();
        let Some(circuit) = circuits.get_mut(endpoint) else {
            return Ok(());
        };
        match circuit.open_until {
            None => Ok(()),
            Some(until) if now < until => Err(Open(until - now)),
            Some(_) if circuit.probing => Err(Open(Duration::ZERO)),
            Some(_) => {
                circuit.probing = true;
                Ok(())
            }
        }
    }

    /// Records a call's outcome: a success closes the circuit, a failure counts towards opening.
    pub(crate) fn record(&self, endpoint: &str, succeeded: bool, now: Instant) {
        let mut circuits = self.lock();
        if succeeded {
            circuits.remove(endpoint);
            return;
        }
        let circuit = circuits.entry(endpoint.to_owned()).or_default();
        circuit.consecutive_failures += 1;
        if circuit.probing || circuit.consecutive_failures >= self.threshold {
            circuit.open_until = Some(now + self.cooldown);
            circuit.probing = false;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Circuit>> {
        self.circuits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_half_opens_after_the_cooldown() {
        let breakers = Breakers::new(3, Duration::from_secs(30));
        let start = Instant::now();
        let endpoint = "http://model";
        for _ in 0..2 {
            assert_eq!(breakers.admit(endpoint, start), Ok(()));
            breakers.record(endpoint, false, start);
        }
        assert_eq!(breakers.admit(endpoint, start), Ok(()), "2 failures < 3");
        breakers.record(endpoint, false, start);
        assert_eq!(
            breakers.admit(endpoint, start + Duration::from_secs(10)),
            Err(Open(Duration::from_secs(20)))
        );
        assert!(
            breakers.admit("http://other", start).is_ok(),
            "per endpoint"
        );

        let later = start + Duration::from_secs(31);
        assert_eq!(breakers.admit(endpoint, later), Ok(()), "the probe");
        assert!(
            breakers.admit(endpoint, later).is_err(),
            "one probe at a time"
        );
        breakers.record(endpoint, false, later);
        assert!(
            breakers.admit(endpoint, later).is_err(),
            "a failed probe reopens"
        );

        let much_later = later + Duration::from_secs(31);
        assert_eq!(breakers.admit(endpoint, much_later), Ok(()));
        breakers.record(endpoint, true, much_later);
        assert_eq!(breakers.admit(endpoint, much_later), Ok(()));
        breakers.record(endpoint, false, much_later);
        assert_eq!(
            breakers.admit(endpoint, much_later),
            Ok(()),
            "a success resets the count"
        );
    }
}
