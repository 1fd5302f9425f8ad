//! Retries: when a call's next attempt is due after one ends.
//!
//! Each outcome has its own budget of retries in the call's `RetryPolicy`: the delay after the
//! nth attempt that ended in an outcome is that outcome's nth delay, counting only the attempts
//! that ended the same way. A call whose last outcome has no delay left is over. The due time
//! is when the attempt ended plus the delay; the engine then moves it to the recipient's next
//! calling window (`window::next_opening`).

use switchboard_core::{CallOutcome, RetryPolicy, Timestamp};

/// When the call's next attempt is due, given the outcomes of all its attempts in order (the last
/// one just ended at `ended_at`); `None` when the call is over: the last outcome is never
/// retried (completed, do-not-call, canceled, …) or has used up its retries.
pub fn next_attempt_at(
    policy: &RetryPolicy,
    outcomes_so_far: &[CallOutcome],
    ended_at: Timestamp,
) -> Option<Timestamp> {
    let last = *outcomes_so_far.last()?;
    let nth = outcomes_so_far
        .iter()
        .filter(|outcome| **outcome == last)
        .count();
    let delay = policy.delay_after(last, nth)?;
    ended_at.checked_add(time::Duration::try_from(delay).ok()?)
}

#[cfg(test)]
mod tests {
    use switchboard_core::CallOutcome::{
        Busy, Canceled, Completed, DoNotCall, Failed, NoAnswer, Voicemail,
    };
    use time::macros::datetime;

    use super::*;

    const ENDED_AT: Timestamp = datetime!(2026-05-04 10:00 UTC);

    fn next(outcomes: &[CallOutcome]) -> Option<Timestamp> {
        next_attempt_at(&RetryPolicy::default(), outcomes, ENDED_AT)
    }

    #[test]
    fn no_answer_is_retried_three_times_then_the_call_is_over() {
        assert_eq!(next(&[NoAnswer]), Some(datetime!(2026-05-04 10:30 UTC)));
        assert_eq!(next(&[NoAnswer; 2]), Some(datetime!(2026-05-04 11:00 UTC)));
        assert_eq!(next(&[NoAnswer; 3]), Some(datetime!(2026-05-04 12:00 UTC)));
        assert_eq!(next(&[NoAnswer; 4]), None);
    }

    #[test]
    fn each_outcome_counts_its_own_attempts() {
        assert_eq!(
            next(&[Busy, NoAnswer]),
            Some(datetime!(2026-05-04 10:30 UTC))
        );
        assert_eq!(
            next(&[Busy, NoAnswer, Busy]),
            Some(datetime!(2026-05-04 11:00 UTC))
        );
        assert_eq!(
            next(&[NoAnswer, Busy, NoAnswer, Busy, NoAnswer]),
            Some(datetime!(2026-05-04 12:00 UTC))
        );
        assert_eq!(next(&[NoAnswer, NoAnswer, Busy, NoAnswer, NoAnswer]), None);
    }

    #[test]
    fn a_failed_dial_is_retried_once() {
        assert_eq!(next(&[Failed]), Some(datetime!(2026-05-04 10:05 UTC)));
        assert_eq!(next(&[Failed, Failed]), None);
        assert_eq!(next(&[Failed, NoAnswer, Failed]), None);
    }

    #[test]
    fn outcomes_that_end_a_call() {
        for outcome in [Voicemail, Completed, DoNotCall, Canceled] {
            assert_eq!(next(&[outcome]), None, "{outcome:?}");
            assert_eq!(next(&[NoAnswer, outcome]), None, "{outcome:?}");
        }
        assert_eq!(next(&[]), None);
    }

    #[test]
    fn a_policy_may_retry_voicemail() {
        let policy = RetryPolicy {
            voicemail: switchboard_core::RetryRule {
                delays_seconds: vec![86_400],
            },
            ..RetryPolicy::default()
        };
        assert_eq!(
            next_attempt_at(&policy, &[Voicemail], ENDED_AT),
            Some(datetime!(2026-05-05 10:00 UTC))
        );
        assert_eq!(
            next_attempt_at(&policy, &[Voicemail, Voicemail], ENDED_AT),
            None
        );
    }

    #[test]
    fn a_delay_beyond_the_calendar_ends_the_call() {
        let policy = RetryPolicy {
            busy: switchboard_core::RetryRule {
                delays_seconds: vec![u64::MAX],
            },
            ..RetryPolicy::default()
        };
        assert_eq!(next_attempt_at(&policy, &[Busy], ENDED_AT), None);
    }
}
