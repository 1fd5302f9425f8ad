//! Outcomes: how the provider's last word on an attempt becomes the call's outcome, and what a
//! connected call is billed.
//!
//! An attempt the provider calls `completed` was answered; answering machine detection says by
//! whom. A machine or a fax is `voicemail`; a person, an undetermined answer (`unknown`) or no
//! detection at all is `completed`.

use switchboard_core::{AttemptStatus, CallOutcome};

/// What the provider's `AnsweredBy` says when a machine or a fax took the call.
const MACHINE_ANSWERS: &[&str] = &[
    "machine_start",
    "machine_end_beep",
    "machine_end_silence",
    "machine_end_other",
    "fax",
];

/// The outcome of an attempt that reached a final status; `None` while it is still going.
/// `answered_by` is the provider's answering machine detection result, if any.
pub fn outcome_of(status: AttemptStatus, answered_by: Option<&str>) -> Option<CallOutcome> {
    match status {
        AttemptStatus::Completed => {
            let by_machine = answered_by.is_some_and(|answer| {
                MACHINE_ANSWERS
                    .iter()
                    .any(|machine| answer.trim().eq_ignore_ascii_case(machine))
            });
            Some(if by_machine {
                CallOutcome::Voicemail
            } else {
                CallOutcome::Completed
            })
        }
        AttemptStatus::Busy => Some(CallOutcome::Busy),
        AttemptStatus::NoAnswer => Some(CallOutcome::NoAnswer),
        AttemptStatus::Failed => Some(CallOutcome::Failed),
        AttemptStatus::Canceled => Some(CallOutcome::Canceled),
        AttemptStatus::Dialing
        | AttemptStatus::Queued
        | AttemptStatus::Initiated
        | AttemptStatus::Ringing
        | AttemptStatus::InProgress => None,
    }
}

/// The minutes a call of `duration_seconds` is billed: every started minute (61 seconds are
/// two); nothing for zero or a negative duration.
pub fn billable_minutes(duration_seconds: i64) -> i64 {
    if duration_seconds <= 0 {
        return 0;
    }
    duration_seconds / 60 + i64::from(duration_seconds % 60 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_or_a_fax_is_voicemail() {
        for machine in MACHINE_ANSWERS.iter().copied().chain(["MACHINE_START"]) {
            assert_eq!(
                outcome_of(AttemptStatus::Completed, Some(machine)),
                Some(CallOutcome::Voicemail),
                "{machine}"
            );
        }
    }

    #[test]
    fn a_person_or_an_unknown_answer_is_completed() {
        for answered_by in [None, Some("human"), Some("unknown"), Some("")] {
            assert_eq!(
                outcome_of(AttemptStatus::Completed, answered_by),
                Some(CallOutcome::Completed),
                "{answered_by:?}"
            );
        }
    }

    #[test]
    fn unanswered_final_statuses_keep_their_name() {
        for (status, outcome) in [
            (AttemptStatus::Busy, CallOutcome::Busy),
            (AttemptStatus::NoAnswer, CallOutcome::NoAnswer),
            (AttemptStatus::Failed, CallOutcome::Failed),
            (AttemptStatus::Canceled, CallOutcome::Canceled),
        ] {
            // Detection only speaks to answered calls.
            assert_eq!(outcome_of(status, Some("machine_start")), Some(outcome));
            assert_eq!(outcome_of(status, None), Some(outcome));
        }
    }

    #[test]
    fn an_attempt_still_going_has_no_outcome() {
        for status in [
            AttemptStatus::Dialing,
            AttemptStatus::Queued,
            AttemptStatus::Initiated,
            AttemptStatus::Ringing,
            AttemptStatus::InProgress,
        ] {
            assert!(!status.is_final());
            assert_eq!(outcome_of(status, Some("human")), None, "{status:?}");
        }
    }

    #[test]
    fn every_started_minute_is_billed() {
        for (seconds, minutes) in [
            (-5, 0),
            (0, 0),
            (1, 1),
            (59, 1),
            (60, 1),
            (61, 2),
            (120, 2),
            (121, 3),
            (i64::MAX, i64::MAX / 60 + 1),
        ] {
            assert_eq!(billable_minutes(seconds), minutes, "{seconds} seconds");
        }
    }
}
