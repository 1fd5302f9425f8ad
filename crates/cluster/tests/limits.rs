//! Shared rate limits hold across nodes: two links sending on one key together stay within the
//! key's rate, counted on the limiter's own clock.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly at the first broken expectation"
)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use switchboard_channels::SharedRate;
use switchboard_cluster::{Reservation, SharedLimiter};

/// Reserves slots as fast as it can until one falls past `window` after `start` (on the
/// limiter's clock); returns those within it.
async fn reserve_until(
    limiter: SharedLimiter,
    key: String,
    per_second: u32,
    start: Duration,
    window: Duration,
) -> Vec<Reservation> {
    let mut kept = Vec::new();
    loop {
        let reservation = limiter.reserve(&key, per_second).await.unwrap();
        if reservation.at >= start + window {
            return kept;
        }
        kept.push(reservation);
    }
}

#[tokio::test]
async fn two_nodes_together_stay_within_the_rate_and_its_burst() {
    let prefix = support::fresh_prefix();
    let a = SharedLimiter::new(&support::link(&prefix, "a").await);
    let b = SharedLimiter::new(&support::link(&prefix, "b").await);
    let per_second = 20;
    let window = Duration::from_secs(3);

    let first = a.reserve("whatsapp:1", per_second).await.unwrap();
    assert_eq!(first.wait, Duration::ZERO, "an idle key sends at once");
    let start = first.at;
    let (from_a, from_b) = tokio::join!(
        reserve_until(a.clone(), "whatsapp:1".into(), per_second, start, window),
        reserve_until(b.clone(), "whatsapp:1".into(), per_second, start, window),
    );
    assert!(
        !from_a.is_empty() && !from_b.is_empty(),
        "both nodes got slots"
    );
    let admitted = 1 + from_a.len() + from_b.len();
    assert!(
        (40..=20 * 3 + 20).contains(&admitted),
        "{admitted} sends admitted in 3 s at 20/s"
    );
    // Another key is not held back by this one.
    let other = b.reserve("whatsapp:2", per_second).await.unwrap();
    assert_eq!(other.wait, Duration::ZERO);
}

#[tokio::test]
async fn the_limiter_is_a_shared_rate_for_the_sender() {
    let prefix = support::fresh_prefix();
    let limiter: Arc<dyn SharedRate> =
        Arc::new(SharedLimiter::new(&support::link(&prefix, "a").await));
    assert_eq!(
        limiter.acquire("twilio:+1", 1).await.unwrap(),
        Duration::ZERO
    );
    let wait = limiter.acquire("twilio:+1", 1).await.unwrap();
    assert!(
        wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
        "the second send of a 1/s key waits about a second, not {wait:?}"
    );
}

#[tokio::test]
async fn two_nodes_admit_one_quota_between_them_and_refusals_take_nothing() {
    use switchboard_core::Quota;

    let prefix = support::fresh_prefix();
    let a = SharedLimiter::new(&support::link(&prefix, "a").await);
    let b = SharedLimiter::new(&support::link(&prefix, "b").await);
    // Ten requests at once, then one every six seconds: none refills during the test.
    let quota = Quota::new(10, Duration::from_secs(60));
    let mut admitted = 0;
    for turn in 0..20 {
        let node = if turn % 2 == 0 { &a } else { &b };
        let admission = node.admit("caller:1", &quota, true).await.unwrap();
        if admission.allowed {
            admitted += 1;
            assert_eq!(admission.remaining, 10 - admitted);
        } else {
            assert_eq!(admission.remaining, 0);
            assert!(admission.retry_after > Duration::from_secs(5));
            assert!(admission.retry_after <= Duration::from_secs(6));
        }
    }
    assert_eq!(
        admitted, 10,
        "the two nodes admitted one burst between them"
    );
    // Asking without consuming, on either node, agrees and takes nothing.
    assert!(!a.admit("caller:1", &quota, false).await.unwrap().allowed);
    let fresh = b.admit("caller:2", &quota, false).await.unwrap();
    assert!(fresh.allowed);
    assert_eq!(fresh.remaining, 10);
    assert_eq!(
        b.admit("caller:2", &quota, true).await.unwrap().remaining,
        9
    );
}
