//! The guarantee that no call is dialled outside a window, over random zones (daylight saving in
//! both hemispheres, half-hour and 45-minute offsets, a half-hour shift), random instants in
//! 2026–2027 (many within a day and a half of a change of offset) and random schedules:
//!
//! - `is_open` agrees with an independent reading of the clock: the zone's offset added to the
//!   Unix time, weekday and time of day found by plain arithmetic;
//! - `next_opening` gives an open instant no earlier than asked, and nothing before it is open.

use jiff::tz::TimeZone;
use proptest::prelude::*;
use switchboard_calling::{is_open, next_opening};
use switchboard_core::{CallingWindow, CampaignSchedule, Timestamp, Weekday};

const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Santiago",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Casablanca",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
];

/// Monday first, as day numbers count from a Thursday (1970-01-01) plus three.
const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

const FIRST_SECOND: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const LAST_SECOND: i64 = 1_830_297_600; // 2028-01-01T00:00:00Z
const NANOSECONDS: i128 = 1_000_000_000;
const MINUTE: time::Duration = time::Duration::MINUTE;
const DAY: i64 = 86_400;

/// Whether `at` is open, read without jiff's civil calendar: offset plus Unix seconds.
fn reference_is_open(schedule: &CampaignSchedule, zone: &TimeZone, at: Timestamp) -> bool {
    if schedule.start_at.is_some_and(|start| at < start)
        || schedule.end_at.is_some_and(|end| at >= end)
    {
        return false;
    }
    if schedule.windows.is_empty() {
        return true;
    }
    let nanos = at.unix_timestamp_nanos();
    let second = i64::try_from(nanos.div_euclid(NANOSECONDS)).expect("seconds fit");
    let offset = zone
        .to_offset(jiff::Timestamp::from_second(second).expect("in range"))
        .seconds();
    let local = second + i64::from(offset);
    let weekday =
        WEEKDAYS[usize::try_from((local.div_euclid(DAY) + 3).rem_euclid(7)).expect("0..7")];
    let since_midnight =
        i128::from(local.rem_euclid(DAY)) * NANOSECONDS + nanos.rem_euclid(NANOSECONDS);
    schedule.windows.iter().any(|window| {
        let start = i128::from(window.start.minutes()) * 60 * NANOSECONDS;
        let end = i128::from(window.end.minutes()) * 60 * NANOSECONDS;
        window.days.contains(&weekday) && start <= since_midnight && since_midnight < end
    })
}

fn clock(minutes: u16) -> switchboard_core::ClockTime {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
        .parse()
        .expect("a time of day")
}

prop_compose! {
    /// A valid window: some days, and a start before its end. Starts crowd the hours where
    /// clocks change (00:00–04:00, and 22:00–24:00 for Chile), and many windows are short enough
    /// to open twice in a repeated hour.
    fn a_window()(
        day_bits in 1u8..128,
        start in prop_oneof![
            0u16..1440,
            (0u16..16).prop_map(|quarter| quarter * 15),
            (88u16..96).prop_map(|quarter| quarter * 15),
        ],
        length in prop_oneof![any::<u16>(), 1u16..90],
        to_midnight in prop::bool::weighted(0.15),
    ) -> CallingWindow {
        let end = if to_midnight { 1440 } else { start + 1 + length % (1440 - start) };
        CallingWindow {
            days: (0..7).filter(|day| day_bits & (1 << day) != 0).map(|day| WEEKDAYS[day]).collect(),
            start: clock(start),
            end: clock(end),
        }
    }
}

prop_compose! {
    /// A zone and an instant in 2026–2027, half of them within 36 hours of a change of offset
    /// (and half of those within two hours).
    fn a_zone_and_instant()(
        zone_index in 0..ZONES.len(),
        near_change in any::<bool>(),
        second in FIRST_SECOND..LAST_SECOND,
        change_pick in any::<prop::sample::Index>(),
        shift in prop_oneof![-129_600i64..129_600, -7_200i64..7_200],
        subsecond in prop_oneof![Just(0i64), 0i64..1_000_000_000],
    ) -> (TimeZone, Timestamp) {
        let zone = TimeZone::get(ZONES[zone_index]).expect("a bundled zone");
        let first = jiff::Timestamp::from_second(FIRST_SECOND).expect("in range");
        let changes: Vec<i64> = zone
            .following(first)
            .map(|change| change.timestamp().as_second())
            .take_while(|change| *change < LAST_SECOND)
            .collect();
        let second = if near_change && !changes.is_empty() {
            changes[change_pick.index(changes.len())] + shift
        } else {
            second
        };
        let nanos = i128::from(second) * NANOSECONDS + i128::from(subsecond);
        (zone, Timestamp::from_unix_timestamp_nanos(nanos).expect("in range"))
    }
}

prop_compose! {
    fn a_case()(
        (zone, at) in a_zone_and_instant(),
        windows in prop::collection::vec(a_window(), 0..4),
        start_after in prop::option::weighted(0.3, -3 * DAY..10 * DAY),
        length in prop::option::weighted(0.3, 3_600i64..20 * DAY),
    ) -> (TimeZone, CampaignSchedule, Timestamp) {
        let start_at = start_after.map(|seconds| at + time::Duration::seconds(seconds));
        let end_at = length.map(|seconds| start_at.unwrap_or(at) + time::Duration::seconds(seconds));
        let schedule = CampaignSchedule { start_at, end_at, windows, ..CampaignSchedule::always() };
        (zone, schedule, at)
    }
}

/// The first whole minute at or after `at`.
fn ceil_minute(at: Timestamp) -> Timestamp {
    let nanos = at.unix_timestamp_nanos();
    let minute = 60 * NANOSECONDS;
    let rounded = nanos.div_euclid(minute) * minute;
    let ceiled = if rounded == nanos {
        rounded
    } else {
        rounded + minute
    };
    Timestamp::from_unix_timestamp_nanos(ceiled).expect("in range")
}

/// Every whole minute of `[from, until)` when that is under three days, else every seventh.
fn minutes_between(from: Timestamp, until: Timestamp) -> impl Iterator<Item = Timestamp> {
    let step = if until - from <= time::Duration::days(3) {
        MINUTE
    } else {
        MINUTE * 7
    };
    std::iter::successors(Some(ceil_minute(from)), move |minute| Some(*minute + step))
        .take_while(move |minute| *minute < until)
}

fn assert_closed(
    schedule: &CampaignSchedule,
    zone: &TimeZone,
    at: Timestamp,
) -> Result<(), TestCaseError> {
    prop_assert!(!is_open(schedule, zone, at), "open at {at}");
    prop_assert!(
        !reference_is_open(schedule, zone, at),
        "the clock says open at {at}"
    );
    Ok(())
}

prop_compose! {
    /// A short window on the local day of one of the zone's changes of offset, starting within
    /// two hours of the clock reading just after the change (inside a repeated hour, or just
    /// past a skipped one), and an instant from three hours before the change to one after.
    fn a_case_near_a_change()(
        zone_index in 0..ZONES.len(),
        change_pick in any::<prop::sample::Index>(),
        start_shift in -120i32..120,
        length in 1i32..120,
        other_days in 0u8..128,
        shift in -10_800i64..3_600,
    ) -> (TimeZone, CampaignSchedule, Timestamp) {
        let zone = TimeZone::get(ZONES[zone_index]).expect("a bundled zone");
        let first = jiff::Timestamp::from_second(FIRST_SECOND).expect("in range");
        let changes: Vec<jiff::Timestamp> = zone
            .following(first)
            .map(|change| change.timestamp())
            .take_while(|change| change.as_second() < LAST_SECOND)
            .collect();
        let change = changes
            .get(change_pick.index(changes.len().max(1)))
            .copied()
            .unwrap_or(first);
        let local = zone.to_datetime(change);
        let after_change = i32::from(local.hour()) * 60 + i32::from(local.minute());
        let start = (after_change + start_shift).clamp(0, 1439);
        let end = (start + length).min(1440);
        let weekday = usize::from(local.weekday().to_monday_zero_offset().unsigned_abs());
        let days = (0..7)
            .filter(|day| *day == weekday || other_days & (1 << day) != 0)
            .map(|day| WEEKDAYS[day])
            .collect();
        let window = CallingWindow {
            days,
            start: clock(u16::try_from(start).expect("a minute of the day")),
            end: clock(u16::try_from(end).expect("a minute of the day")),
        };
        let at = Timestamp::from_unix_timestamp(change.as_second() + shift).expect("in range");
        let schedule = CampaignSchedule { windows: vec![window], ..CampaignSchedule::always() };
        (zone, schedule, at)
    }
}

/// `next_opening` is open, no earlier than `at`, and nothing between them is open.
fn check_next_opening(
    zone: &TimeZone,
    schedule: &CampaignSchedule,
    at: Timestamp,
) -> Result<(), TestCaseError> {
    match next_opening(schedule, zone, at) {
        Some(opening) => {
            prop_assert!(opening >= at);
            prop_assert!(is_open(schedule, zone, opening));
            prop_assert!(reference_is_open(schedule, zone, opening));
            if opening > at {
                assert_closed(schedule, zone, at)?;
                assert_closed(schedule, zone, opening - time::Duration::NANOSECOND)?;
                // Windows and offsets here are whole minutes: only the range opens elsewhere.
                prop_assert!(
                    opening == ceil_minute(opening) || Some(opening) == schedule.start_at,
                    "opened at {opening}"
                );
            }
            for minute in minutes_between(at, opening) {
                assert_closed(schedule, zone, minute)?;
            }
        }
        None => {
            // Every generated window holds time, so only the end of the range stops it.
            let end = schedule.end_at;
            prop_assert!(end.is_some(), "no opening in an endless schedule");
            let until = end.unwrap_or(at).min(at + time::Duration::days(16));
            for minute in minutes_between(at, until) {
                assert_closed(schedule, zone, minute)?;
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn is_open_agrees_with_the_clock((zone, schedule, at) in a_case(), minutes in -1440i32..1440) {
        for instant in [at, at + MINUTE * minutes, ceil_minute(at), at - time::Duration::NANOSECOND] {
            prop_assert_eq!(
                is_open(&schedule, &zone, instant),
                reference_is_open(&schedule, &zone, instant),
                "at {} in {:?}", instant, zone.iana_name()
            );
        }
    }

    #[test]
    fn nothing_before_the_next_opening_is_open((zone, schedule, at) in a_case()) {
        check_next_opening(&zone, &schedule, at)?;
    }

    #[test]
    fn nothing_before_the_next_opening_is_open_around_a_change(
        (zone, schedule, at) in a_case_near_a_change(),
    ) {
        check_next_opening(&zone, &schedule, at)?;
    }
}
