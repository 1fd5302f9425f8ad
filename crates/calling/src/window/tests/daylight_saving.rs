//! Calling windows across the 2026 daylight-saving changes: New York and London in the north,
//! Sydney in the south. Skipped hours open nothing, repeated hours open twice, and a window lasts
//! the time that really passes.

use switchboard_core::Weekday::Sun;
use time::macros::datetime;

use super::{WEEKDAYS, window, windows, zone};
use crate::window::{is_open, next_opening};

#[test]
fn a_window_whose_start_is_skipped_opens_when_the_clocks_land_inside_it() {
    let new_york = zone("America/New_York");
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    let schedule = windows(vec![window(&[Sun], "02:30", "04:00")]);
    assert_eq!(
        next_opening(&schedule, &new_york, datetime!(2026-03-08 05:00 UTC)),
        Some(datetime!(2026-03-08 07:00 UTC))
    );
    assert!(!is_open(
        &schedule,
        &new_york,
        datetime!(2026-03-08 06:59:59 UTC)
    ));
    assert!(is_open(
        &schedule,
        &new_york,
        datetime!(2026-03-08 07:59:59 UTC)
    ));
    assert!(!is_open(
        &schedule,
        &new_york,
        datetime!(2026-03-08 08:00 UTC)
    ));

    // A window wholly inside the gap does not open that day, only the next Sunday.
    let skipped = windows(vec![window(&[Sun], "02:00", "02:45")]);
    assert_eq!(
        next_opening(&skipped, &new_york, datetime!(2026-03-08 05:00 UTC)),
        Some(datetime!(2026-03-15 06:00 UTC))
    );
}

#[test]
fn a_repeated_hour_is_inside_a_window_both_times() {
    let new_york = zone("America/New_York");
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00 UTC).
    let schedule = windows(vec![window(&[Sun], "01:00", "01:30")]);
    assert!(is_open(
        &schedule,
        &new_york,
        datetime!(2026-11-01 05:10 UTC)
    ));
    assert!(!is_open(
        &schedule,
        &new_york,
        datetime!(2026-11-01 05:40 UTC)
    ));
    assert!(is_open(
        &schedule,
        &new_york,
        datetime!(2026-11-01 06:10 UTC)
    ));
    assert!(!is_open(
        &schedule,
        &new_york,
        datetime!(2026-11-01 06:30 UTC)
    ));
    assert_eq!(
        next_opening(&schedule, &new_york, datetime!(2026-11-01 05:40 UTC)),
        Some(datetime!(2026-11-01 06:00 UTC))
    );
    // A window starting inside the repeated hour opens twice.
    let late = windows(vec![window(&[Sun], "01:15", "01:30")]);
    assert_eq!(
        next_opening(&late, &new_york, datetime!(2026-11-01 05:30 UTC)),
        Some(datetime!(2026-11-01 06:15 UTC))
    );
}

#[test]
fn a_window_spans_the_time_that_really_passes() {
    let new_york = zone("America/New_York");
    // 00:00 to 03:00 on the day the clocks fall back is four hours.
    let schedule = windows(vec![window(&[Sun], "00:00", "03:00")]);
    assert!(is_open(
        &schedule,
        &new_york,
        datetime!(2026-11-01 04:00 UTC)
    ));
    assert!(is_open(
        &schedule,
        &new_york,
        datetime!(2026-11-01 07:59:59 UTC)
    ));
    assert!(!is_open(
        &schedule,
        &new_york,
        datetime!(2026-11-01 08:00 UTC)
    ));
    // And two on the day they spring forward.
    assert!(is_open(
        &schedule,
        &new_york,
        datetime!(2026-03-08 06:59:59 UTC)
    ));
    assert!(!is_open(
        &schedule,
        &new_york,
        datetime!(2026-03-08 07:00 UTC)
    ));
}

#[test]
fn london_across_the_march_and_october_changes() {
    let london = zone("Europe/London");
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST.
    let skipped = windows(vec![window(&[Sun], "01:00", "01:30")]);
    assert_eq!(
        next_opening(&skipped, &london, datetime!(2026-03-29 00:00 UTC)),
        Some(datetime!(2026-04-05 00:00 UTC))
    );
    let straddling = windows(vec![window(&[Sun], "01:30", "02:30")]);
    assert_eq!(
        next_opening(&straddling, &london, datetime!(2026-03-29 00:00 UTC)),
        Some(datetime!(2026-03-29 01:00 UTC))
    );
    // 2026-10-25: 02:00 BST falls back to 01:00 GMT, so 01:00 to 02:00 lasts two hours.
    let repeated = windows(vec![window(&[Sun], "01:00", "02:00")]);
    assert!(!is_open(
        &repeated,
        &london,
        datetime!(2026-10-24 23:59:59 UTC)
    ));
    assert!(is_open(&repeated, &london, datetime!(2026-10-25 00:00 UTC)));
    assert!(is_open(
        &repeated,
        &london,
        datetime!(2026-10-25 01:59:59 UTC)
    ));
    assert!(!is_open(
        &repeated,
        &london,
        datetime!(2026-10-25 02:00 UTC)
    ));
}

#[test]
fn sydney_changes_in_the_southern_spring_and_autumn() {
    let sydney = zone("Australia/Sydney");
    // Monday 09:00 in January (UTC+11) is still Sunday in UTC.
    let office = windows(vec![window(WEEKDAYS, "09:00", "17:00")]);
    assert!(is_open(&office, &sydney, datetime!(2026-01-04 22:00 UTC)));
    assert!(!is_open(&office, &sydney, datetime!(2026-01-04 21:59 UTC)));
    // In July (UTC+10) it is an hour later in UTC.
    assert_eq!(
        next_opening(&office, &sydney, datetime!(2026-07-05 12:00 UTC)),
        Some(datetime!(2026-07-05 23:00 UTC))
    );
    // 2026-10-04: 02:00 AEST jumps to 03:00 AEDT; 02:00 to 03:00 does not happen that day.
    let skipped = windows(vec![window(&[Sun], "02:00", "03:00")]);
    assert_eq!(
        next_opening(&skipped, &sydney, datetime!(2026-10-03 14:00 UTC)),
        Some(datetime!(2026-10-10 15:00 UTC))
    );
    // 2026-04-05: 03:00 AEDT falls back to 02:00 AEST; 02:00 to 03:00 happens twice.
    assert!(is_open(&skipped, &sydney, datetime!(2026-04-04 15:30 UTC)));
    assert!(is_open(&skipped, &sydney, datetime!(2026-04-04 16:30 UTC)));
}
