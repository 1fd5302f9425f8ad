//! Calling windows in real zones: local weekdays and times, the range, degenerate windows.
//! The daylight-saving changes of 2026 are in `daylight_saving`.

use switchboard_core::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
use time::macros::datetime;

use super::*;

mod daylight_saving;

const WEEKDAYS: &[Weekday] = &[Mon, Tue, Wed, Thu, Fri];

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).expect("a zone of the bundled database")
}

fn window(days: &[Weekday], start: &str, end: &str) -> CallingWindow {
    CallingWindow {
        days: days.to_vec(),
        start: start.parse().expect("HH:MM"),
        end: end.parse().expect("HH:MM"),
    }
}

fn windows(windows: Vec<CallingWindow>) -> CampaignSchedule {
    CampaignSchedule {
        windows,
        ..CampaignSchedule::always()
    }
}

#[test]
fn new_york_office_hours_follow_local_time() {
    let schedule = windows(vec![window(WEEKDAYS, "09:00", "17:00")]);
    let new_york = zone("America/New_York");
    // Monday 2026-03-09 is daylight time (UTC-4).
    assert!(!is_open(
        &schedule,
        &new_york,
        datetime!(2026-03-09 12:59:59 UTC)
    ));
    assert!(is_open(
        &schedule,
        &new_york,
        datetime!(2026-03-09 13:00 UTC)
    ));
    assert!(is_open(
        &schedule,
        &new_york,
        datetime!(2026-03-09 20:59:59 UTC)
    ));
    assert!(!is_open(
        &schedule,
        &new_york,
        datetime!(2026-03-09 21:00 UTC)
    ));
    assert_eq!(
        next_opening(&schedule, &new_york, datetime!(2026-03-09 04:00 UTC)),
        Some(datetime!(2026-03-09 13:00 UTC))
    );
    // An open instant is its own next opening.
    let open = datetime!(2026-03-09 15:27:31.5 UTC);
    assert_eq!(next_opening(&schedule, &new_york, open), Some(open));
}

#[test]
fn kolkata_keeps_its_half_hour_offset_and_its_weekdays() {
    let kolkata = zone("Asia/Kolkata");
    let schedule = windows(vec![window(WEEKDAYS, "10:00", "19:00")]);
    assert!(!is_open(
        &schedule,
        &kolkata,
        datetime!(2026-03-09 04:29:59 UTC)
    ));
    assert!(is_open(
        &schedule,
        &kolkata,
        datetime!(2026-03-09 04:30 UTC)
    ));
    // Friday's window does not hold on Saturday.
    assert!(!is_open(
        &schedule,
        &kolkata,
        datetime!(2026-03-14 06:00 UTC)
    ));
    assert_eq!(
        next_opening(&schedule, &kolkata, datetime!(2026-03-13 13:30 UTC)),
        Some(datetime!(2026-03-16 04:30 UTC))
    );
}

#[test]
fn the_range_bounds_what_windows_allow() {
    let utc = TimeZone::UTC;
    let schedule = CampaignSchedule {
        start_at: Some(datetime!(2026-06-10 12:00 UTC)),
        end_at: Some(datetime!(2026-06-12 10:00 UTC)),
        ..windows(vec![window(
            &[Mon, Tue, Wed, Thu, Fri, Sat, Sun],
            "09:00",
            "17:00",
        )])
    };
    assert!(!is_open(&schedule, &utc, datetime!(2026-06-09 12:00 UTC)));
    assert!(is_open(&schedule, &utc, datetime!(2026-06-10 12:00 UTC)));
    assert!(is_open(&schedule, &utc, datetime!(2026-06-12 09:59:59 UTC)));
    // The end is excluded.
    assert!(!is_open(&schedule, &utc, datetime!(2026-06-12 10:00 UTC)));
    // A future start is where the search begins.
    assert_eq!(
        next_opening(&schedule, &utc, datetime!(2026-06-01 00:00 UTC)),
        Some(datetime!(2026-06-10 12:00 UTC))
    );
    assert_eq!(
        next_opening(&schedule, &utc, datetime!(2026-06-10 17:00 UTC)),
        Some(datetime!(2026-06-11 09:00 UTC))
    );
    // After the last window before the end there is nothing.
    assert_eq!(
        next_opening(&schedule, &utc, datetime!(2026-06-12 10:00 UTC)),
        None
    );
    let narrow = CampaignSchedule {
        end_at: Some(datetime!(2026-06-12 09:00 UTC)),
        ..schedule
    };
    assert_eq!(
        next_opening(&narrow, &utc, datetime!(2026-06-11 17:00 UTC)),
        None
    );
}

#[test]
fn without_windows_the_range_alone_decides() {
    let zone = zone("Pacific/Chatham");
    let always = CampaignSchedule::always();
    let at = datetime!(2026-04-05 02:45 UTC);
    assert!(is_open(&always, &zone, at));
    assert_eq!(next_opening(&always, &zone, at), Some(at));
    let ended = CampaignSchedule {
        end_at: Some(at),
        ..CampaignSchedule::always()
    };
    assert!(!is_open(&ended, &zone, at));
    assert_eq!(next_opening(&ended, &zone, at), None);
}

#[test]
fn a_window_to_midnight_ends_with_the_day() {
    let utc = TimeZone::UTC;
    let schedule = windows(vec![window(&[Fri], "22:00", "24:00")]);
    assert!(is_open(
        &schedule,
        &utc,
        datetime!(2026-03-13 23:59:59.999 UTC)
    ));
    assert!(!is_open(&schedule, &utc, datetime!(2026-03-14 00:00 UTC)));
    assert_eq!(
        next_opening(&schedule, &utc, datetime!(2026-03-14 00:00 UTC)),
        Some(datetime!(2026-03-20 22:00 UTC))
    );
}

#[test]
fn windows_that_hold_no_time_never_open() {
    let utc = TimeZone::UTC;
    for schedule in [
        windows(vec![window(&[], "09:00", "17:00")]),
        windows(vec![window(&[Mon], "17:00", "09:00")]),
        windows(vec![window(&[Sat], "24:00", "24:00")]),
    ] {
        assert!(!is_open(&schedule, &utc, datetime!(2026-03-14 12:00 UTC)));
        assert_eq!(
            next_opening(&schedule, &utc, datetime!(2026-03-14 12:00 UTC)),
            None
        );
    }
}
