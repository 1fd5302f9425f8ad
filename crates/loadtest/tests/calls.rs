//! The ledger of a `scheduling` run: every call due now dialled once, none placed ahead dialled,
//! and the queue depth counted from what was placed and what was dialled.

use std::time::Instant;

use switchboard_loadtest::voice::CallLedger;

#[test]
fn every_call_due_now_dialled_once_holds_and_the_queue_depth_follows_the_dials() {
    let ledger = CallLedger::default();
    ledger.begin(None);
    let now = Instant::now();
    ledger.placing("+10010000000001", Some(now));
    ledger.placing("+10010000000002", Some(now));
    ledger.placing("+10010000000003", None);
    assert_eq!(ledger.queued(), 2);
    ledger.dialled("+10010000000001", now);
    ledger.dialled("+10010000000002", now);
    assert_eq!(ledger.queued(), 0);
    let calls = ledger.correctness();
    assert_eq!(
        (calls.placed_now, calls.placed_ahead, calls.dialled),
        (2, 1, 2)
    );
    assert_eq!(calls.most_queued, 2);
    assert!(calls.holds(), "{calls:?}");
}

#[test]
fn a_call_undialled_dialled_twice_or_dialled_early_fails_the_run() {
    let now = Instant::now();
    let ledger = CallLedger::default();
    ledger.begin(None);
    ledger.placing("+10010000000001", Some(now));
    let calls = ledger.correctness();
    assert_eq!(calls.undialled, 1);
    assert!(!calls.holds());

    ledger.dialled("+10010000000001", now);
    ledger.dialled("+10010000000001", now);
    let calls = ledger.correctness();
    assert_eq!((calls.undialled, calls.dialled_twice), (0, 1));
    assert!(!calls.holds());

    ledger.begin(None);
    ledger.placing("+10010000000002", None);
    ledger.dialled("+10010000000002", now);
    let calls = ledger.correctness();
    assert_eq!(calls.dialled_early, 1);
    assert!(!calls.holds());
}

#[test]
fn a_refused_call_is_not_owed_a_dial_and_its_dial_is_unexpected_only() {
    let now = Instant::now();
    let ledger = CallLedger::default();
    ledger.begin(None);
    ledger.placing("+10010000000001", Some(now));
    ledger.refused("+10010000000001");
    assert_eq!(ledger.queued(), 0);
    ledger.dialled("+10010000000001", now);
    let calls = ledger.correctness();
    assert_eq!((calls.placed_now, calls.unexpected), (0, 1));
    assert!(calls.holds(), "{calls:?}");
}
