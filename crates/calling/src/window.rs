//! Calling windows: whether a campaign may dial a recipient at an instant, and when it next may.
//!
//! A schedule is open inside `[startAt, endAt)` and, when it has windows, while the recipient's
//! civil time (local weekday and time of day in their zone) is inside one of them. Civil time
//! decides everything, so daylight saving follows: a window whose start is skipped by a
//! spring-forward gap opens when the clocks land inside it, an hour repeated in the autumn is
//! inside a window both times, and a 01:00–03:00 window lasts the time that really passes between
//! those two readings of the clock (one, two or three hours).
//!
//! [`next_opening`] looks for the earliest open instant among the only instants where a closed
//! schedule can become open: the instant asked about (or `startAt`), each window's start on each
//! local date (both instants when the clocks repeat it), and each change of the zone's offset
//! (which is where a window whose start was skipped opens). It looks [`SEARCH_DAYS`] days ahead:
//! every weekday comes round twice in that span, so a weekly window that ever opens opens in it.

use jiff::civil::{DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, ToSpan};
use switchboard_core::{CallingWindow, CampaignSchedule, ClockTime, Timestamp, Weekday};

#[cfg(test)]
mod tests;

/// How far past `at` (or `startAt`) [`next_opening`] looks before it says there is no opening.
pub const SEARCH_DAYS: i64 = 15;

const NANOSECONDS_PER_MINUTE: i64 = 60_000_000_000;

/// Whether a recipient in `zone` may be dialled at `at`: inside `[startAt, endAt)` (a missing
/// bound is open) and, when the schedule has windows, inside one of them by the local weekday and
/// time of day in `zone`.
pub fn is_open(schedule: &CampaignSchedule, zone: &TimeZone, at: Timestamp) -> bool {
    if !within_range(schedule, at) {
        return false;
    }
    if schedule.windows.is_empty() {
        return true;
    }
    to_instant(at).is_some_and(|instant| within_windows(&schedule.windows, zone, instant))
}

/// The earliest instant at or after `at` at which [`is_open`] holds; `None` when there is none
/// before `endAt` (or within [`SEARCH_DAYS`] days, which only happens when no window holds any
/// time, as with windows naming no day).
pub fn next_opening(
    schedule: &CampaignSchedule,
    zone: &TimeZone,
    at: Timestamp,
) -> Option<Timestamp> {
    let begin = match schedule.start_at {
        Some(start) if start > at => start,
        _ => at,
    };
    if schedule.end_at.is_some_and(|end| begin >= end) {
        return None;
    }
    if schedule.windows.is_empty() {
        return Some(begin);
    }
    let begin_instant = to_instant(begin)?;
    let horizon = begin_instant
        .checked_add(SignedDuration::from_hours(24 * SEARCH_DAYS))
        .unwrap_or(jiff::Timestamp::MAX);

    let mut candidates = vec![begin_instant];
    candidates.extend(
        zone.following(begin_instant)
            .map(|transition| transition.timestamp())
            .take_while(|instant| *instant < horizon),
    );
    // A local date's windows may start before `begin` in UTC terms or after the horizon's date
    // when offsets move by up to a day, so look one date further on each side.
    let first_date = zone.to_datetime(begin_instant).date();
    for offset_days in -1..=SEARCH_DAYS + 1 {
        let Ok(date) = first_date.checked_add(offset_days.days()) else {
            continue;
        };
        let weekday = weekday_of(date.weekday());
        for window in &schedule.windows {
            if !window.days.contains(&weekday) {
                continue;
            }
            if let Some(start) = time_of_day(window.start) {
                push_instants_of(zone, date.to_datetime(start), &mut candidates);
            }
        }
    }
    candidates.retain(|candidate| *candidate >= begin_instant && *candidate < horizon);
    candidates.sort_unstable();
    candidates.dedup();
    candidates
        .into_iter()
        .filter_map(from_instant)
        .find(|candidate| is_open(schedule, zone, *candidate))
}

fn within_range(schedule: &CampaignSchedule, at: Timestamp) -> bool {
    schedule.start_at.is_none_or(|start| start <= at) && schedule.end_at.is_none_or(|end| at < end)
}

fn within_windows(windows: &[CallingWindow], zone: &TimeZone, instant: jiff::Timestamp) -> bool {
    let local = zone.to_datetime(instant);
    let weekday = weekday_of(local.weekday());
    let since_midnight = local.time().duration_since(Time::midnight()).as_nanos();
    windows.iter().any(|window| {
        window.days.contains(&weekday)
            && nanoseconds_after_midnight(window.start) <= since_midnight
            && since_midnight < nanoseconds_after_midnight(window.end)
    })
}

/// Pushes the instants at which `local` is read on the clocks in `zone`: one, or two when the
/// clocks fall back over it. A reading skipped by a gap yields instants that are not open at that
/// reading; the gap's end is among the zone's transitions instead.
fn push_instants_of(zone: &TimeZone, local: DateTime, candidates: &mut Vec<jiff::Timestamp>) {
    let ambiguous = zone.to_ambiguous_timestamp(local);
    if let Ok(earlier) = ambiguous.earlier() {
        candidates.push(earlier);
    }
    if let Ok(later) = ambiguous.later() {
        candidates.push(later);
    }
}

fn nanoseconds_after_midnight(clock: ClockTime) -> i128 {
    i128::from(clock.minutes()) * i128::from(NANOSECONDS_PER_MINUTE)
}

/// `None` for `24:00`, which only ends windows.
fn time_of_day(clock: ClockTime) -> Option<Time> {
    Time::new(
        i8::try_from(clock.hour()).ok()?,
        i8::try_from(clock.minute()).ok()?,
        0,
        0,
    )
    .ok()
}

fn weekday_of(weekday: jiff::civil::Weekday) -> Weekday {
    match weekday {
        jiff::civil::Weekday::Monday => Weekday::Mon,
        jiff::civil::Weekday::Tuesday => Weekday::Tue,
        jiff::civil::Weekday::Wednesday => Weekday::Wed,
        jiff::civil::Weekday::Thursday => Weekday::Thu,
        jiff::civil::Weekday::Friday => Weekday::Fri,
        jiff::civil::Weekday::Saturday => Weekday::Sat,
        jiff::civil::Weekday::Sunday => Weekday::Sun,
    }
}

/// `None` only for instants beyond jiff's range (about the years -9999 and 9999).
fn to_instant(at: Timestamp) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_nanosecond(at.unix_timestamp_nanos()).ok()
}

fn from_instant(instant: jiff::Timestamp) -> Option<Timestamp> {
    Timestamp::from_unix_timestamp_nanos(instant.as_nanosecond()).ok()
}
