//! Time: the buckets of a series in a client's time zone, and the stored buckets that cover
//! them.
//!
//! Roll-ups are stored in four UTC tiers (minutes, hours, quarter days, days). A series'
//! bucket — a local hour, day, week or month, DST included — is cut into the fewest stored
//! buckets that cover it exactly ([`cover`]): minutes up to the first whole hour, hours up to the
//! first whole quarter day, and so on up, then back down. A day in New York (05:00 to 05:00 UTC)
//! is 9 stored buckets, not 24. A zone whose offset is not whole hours (+05:30) still gets exact
//! answers, from minutes at its boundaries. Analytics resolve to the minute: ranges are cut at
//! whole minutes.

pub use jiff::tz::TimeZone;
use jiff::{RoundMode, Timestamp, ToSpan, Unit, Zoned, ZonedRound};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const QUARTER_DAY: i64 = 6 * HOUR;
const DAY: i64 = 24 * HOUR;

/// The most buckets one series may have.
pub const MAX_BUCKETS: usize = 1_500;

/// A stored roll-up's granularity: UTC-aligned minutes, hours, quarter days (00:00, 06:00,
/// 12:00, 18:00) or days; each divides the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Minute,
    Hour,
    QuarterDay,
    Day,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Minute, Tier::Hour, Tier::QuarterDay, Tier::Day];

    pub fn millis(self) -> i64 {
        match self {
            Tier::Minute => MINUTE,
            Tier::Hour => HOUR,
            Tier::QuarterDay => QUARTER_DAY,
            Tier::Day => DAY,
        }
    }

    /// As stored.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Minute => "minute",
            Tier::Hour => "hour",
            Tier::QuarterDay => "quarter_day",
            Tier::Day => "day",
        }
    }

    /// The start of the bucket of this tier that holds `millis`.
    pub fn bucket_of(self, millis: i64) -> i64 {
        millis.div_euclid(self.millis()) * self.millis()
    }
}

/// A series' step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

impl std::str::FromStr for Interval {
    type Err = CalendarError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "minute" => Interval::Minute,
            "hour" => Interval::Hour,
            "day" => Interval::Day,
            "week" => Interval::Week,
            "month" => Interval::Month,
            _ => return Err(CalendarError::Interval(text.to_owned())),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("unknown time zone {0:?}: use an IANA name such as Europe/Berlin")]
    TimeZone(String),
    #[error("unknown interval {0:?}: minute, hour, day, week or month")]
    Interval(String),
    #[error(
        "the series would have more than {MAX_BUCKETS} buckets: widen the interval or narrow the range"
    )]
    TooManyBuckets,
    #[error("a time out of range: {0}")]
    OutOfRange(#[from] jiff::Error),
}

/// Looks up an IANA time zone.
pub fn time_zone(name: &str) -> Result<TimeZone, CalendarError> {
    TimeZone::get(name).map_err(|_| CalendarError::TimeZone(name.to_owned()))
}

/// `millis` as RFC 3339 local time in `zone`, with its offset (`2026-03-08T00:00:00-05:00`).
pub fn local_time(millis: i64, zone: &TimeZone) -> Result<String, CalendarError> {
    Ok(Timestamp::from_millisecond(millis)?
        .to_zoned(zone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string())
}

/// One bucket of a series: it starts at `start` (its calendar start, in Unix milliseconds) and
/// counts what happened in `[from, to)`, the bucket cut to the asked range and to whole minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub start: i64,
    pub from: i64,
    pub to: i64,
}

/// `millis` cut down to its minute.
pub fn whole_minute(millis: i64) -> i64 {
    Tier::Minute.bucket_of(millis)
}

/// The buckets of `interval` in `zone` that meet `[from, to)`, in order.
pub fn buckets(
    from: i64,
    to: i64,
    interval: Interval,
    zone: &TimeZone,
) -> Result<Vec<Bucket>, CalendarError> {
    let (from, to) = (whole_minute(from), whole_minute(to));
    let mut buckets = Vec::new();
    if from >= to {
        return Ok(buckets);
    }
    let mut start = floor(
        Timestamp::from_millisecond(from)?.to_zoned(zone.clone()),
        interval,
    )?;
    loop {
        let start_millis = start.timestamp().as_millisecond();
        if start_millis >= to {
            return Ok(buckets);
        }
        if buckets.len() == MAX_BUCKETS {
            return Err(CalendarError::TooManyBuckets);
        }
        let next = step(&start, interval)?;
        let next_millis = next.timestamp().as_millisecond();
        buckets.push(Bucket {
            start: start_millis,
            from: whole_minute(start_millis.max(from)),
            to: whole_minute(next_millis.min(to)),
        });
        start = next;
    }
}

fn floor(time: Zoned, interval: Interval) -> Result<Zoned, CalendarError> {
    let truncate = |unit| time.round(ZonedRound::new().smallest(unit).mode(RoundMode::Trunc));
    Ok(match interval {
        Interval::Minute => truncate(Unit::Minute)?,
        Interval::Hour => truncate(Unit::Hour)?,
        Interval::Day => time.start_of_day()?,
        Interval::Week => {
            let back = i64::from(time.weekday().to_monday_zero_offset());
            time.checked_sub(back.days())?.start_of_day()?
        }
        Interval::Month => time.first_of_month()?.start_of_day()?,
    })
}

fn step(start: &Zoned, interval: Interval) -> Result<Zoned, CalendarError> {
    Ok(match interval {
        Interval::Minute => start.checked_add(1.minute())?,
        Interval::Hour => start.checked_add(1.hour())?,
        Interval::Day => start.checked_add(1.day())?.start_of_day()?,
        Interval::Week => start.checked_add(1.week())?.start_of_day()?,
        Interval::Month => start.checked_add(1.month())?.start_of_day()?,
    })
}

/// A stretch of stored buckets of one tier: those starting in `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    pub tier: Tier,
    pub from: i64,
    pub to: i64,
}

/// The fewest stored buckets that cover `[from, to)` (whole minutes) exactly: minutes up to the
/// first whole hour, hours up to the first whole quarter day, quarter days up to the first whole
/// day, days, then quarter days, hours and minutes to the end.
pub fn cover(from: i64, to: i64) -> Vec<Stretch> {
    let mut stretches = Vec::new();
    let mut at = whole_minute(from);
    let to = whole_minute(to);
    let mut push = |tier, from: i64, until: i64| {
        if until > from {
            stretches.push(Stretch {
                tier,
                from,
                to: until,
            });
        }
    };
    // Up: each tier until the next one's first boundary (while it falls inside the range)…
    let mut level = 0;
    while level + 1 < Tier::ALL.len() {
        let boundary = ceil(at, Tier::ALL[level + 1].millis());
        if boundary > to {
            break;
        }
        push(Tier::ALL[level], at, boundary);
        at = boundary;
        level += 1;
    }
    // …then down from the largest tier reached, each as far as its whole buckets go.
    for tier in Tier::ALL[..=level].iter().rev() {
        let until = tier.bucket_of(to).max(at);
        push(*tier, at, until);
        at = until;
    }
    stretches
}

fn ceil(millis: i64, step: i64) -> i64 {
    -(-millis).div_euclid(step) * step
}

/// `stretches` with neighbours of one tier joined, ordered by tier and start: what to read.
pub fn joined(mut stretches: Vec<Stretch>) -> Vec<Stretch> {
    stretches.sort_by_key(|stretch| (stretch.tier, stretch.from));
    let mut joined: Vec<Stretch> = Vec::with_capacity(stretches.len());
    for stretch in stretches {
        match joined.last_mut() {
            Some(last) if last.tier == stretch.tier && last.to == stretch.from => {
                last.to = stretch.to;
            }
            _ => joined.push(stretch),
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>()
            .expect("a timestamp")
            .as_millisecond()
    }

    #[test]
    fn a_day_across_the_spring_change_has_23_hours() {
        let zone = time_zone("America/New_York").expect("zone");
        let days = buckets(
            at("2026-03-07T05:00:00Z"),
            at("2026-03-10T04:00:00Z"),
            Interval::Day,
            &zone,
        )
        .expect("days");
        let lengths: Vec<i64> = days.iter().map(|day| (day.to - day.from) / HOUR).collect();
        assert_eq!(lengths, [24, 23, 24]);
        assert_eq!(days[1].start, at("2026-03-08T05:00:00Z"));
        assert_eq!(days[2].start, at("2026-03-09T04:00:00Z"));
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let zone = time_zone("Europe/Berlin").expect("zone");
        let weeks = buckets(
            at("2026-10-20T12:00:00Z"),
            at("2026-11-03T00:00:00Z"),
            Interval::Week,
            &zone,
        )
        .expect("weeks");
        assert_eq!(weeks[0].start, at("2026-10-18T22:00:00Z"));
        // The autumn change (25 October) makes the first week 169 hours long.
        assert_eq!((weeks[1].start - weeks[0].start) / HOUR, 169);
        assert_eq!((weeks[1].to - weeks[1].from) / HOUR, 168);
        let months = buckets(
            at("2026-01-15T00:00:00Z"),
            at("2026-03-02T00:00:00Z"),
            Interval::Month,
            &zone,
        )
        .expect("months");
        let starts: Vec<i64> = months.iter().map(|month| month.start).collect();
        assert_eq!(
            starts,
            [
                at("2025-12-31T23:00:00Z"),
                at("2026-01-31T23:00:00Z"),
                at("2026-02-28T23:00:00Z")
            ]
        );
    }

    #[test]
    fn half_hour_zones_are_covered_with_minutes() {
        let zone = time_zone("Asia/Kolkata").expect("zone");
        let days = buckets(
            at("2026-05-01T00:00:00Z"),
            at("2026-05-03T00:00:00Z"),
            Interval::Day,
            &zone,
        )
        .expect("days");
        assert_eq!(days[1].from, at("2026-04-30T18:30:00Z") + DAY);
        let pieces = cover(days[1].from, days[1].to);
        assert_eq!(
            pieces.iter().map(|piece| piece.tier).collect::<Vec<_>>(),
            [Tier::Minute, Tier::Hour, Tier::QuarterDay, Tier::Minute]
        );
    }

    #[test]
    fn bad_names_and_huge_series_are_refused() {
        assert!(matches!(
            time_zone("Mars/Olympus"),
            Err(CalendarError::TimeZone(_))
        ));
        assert!("fortnight".parse::<Interval>().is_err());
        let zone = time_zone("UTC").expect("zone");
        assert!(matches!(
            buckets(0, 2 * DAY, Interval::Minute, &zone),
            Err(CalendarError::TooManyBuckets)
        ));
    }

    proptest! {
        #[test]
        fn a_cover_tiles_the_range_exactly(from in 0i64..(400 * DAY), length in 0i64..(90 * DAY)) {
            let (from, to) = (whole_minute(from), whole_minute(from + length));
            let pieces = cover(from, to);
            let mut at = from;
            for piece in &pieces {
                prop_assert_eq!(piece.from, at);
                prop_assert!(piece.to > piece.from);
                prop_assert_eq!(piece.from % piece.tier.millis(), 0);
                prop_assert_eq!(piece.to % piece.tier.millis(), 0);
                at = piece.to;
            }
            prop_assert_eq!(at, to);
            prop_assert!(pieces.len() < 2 * Tier::ALL.len());
        }
    }
}
