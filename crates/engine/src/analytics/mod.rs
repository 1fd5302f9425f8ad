//! Analytics: totals over a period (with the period before it) and series in a time zone, read
//! from the store's roll-ups — each range cut into the fewest stored minute, hour, quarter-day and day
//! buckets that cover it ([`switchboard_analytics::calendar::cover`]), so a year costs a few
//! hundred rows per channel and agent, not a scan of raw messages. The fold loop that keeps the
//! roll-ups is in [`folding`]; webhook acknowledgement latencies, measured in memory, in
//! [`acknowledgements`].

pub(crate) mod acknowledgements;
pub(crate) mod folding;

use std::collections::BTreeMap;

use switchboard_analytics::calendar::{self, Bucket, Stretch, TimeZone, cover, joined};
use switchboard_analytics::{Interval, Measure, Rollup};
use switchboard_core::{Caller, Permission, Timestamp, ValidationError};
use switchboard_store::{AnalyticsFilter, Rebuilt, RollupSink};

use crate::{Engine, EngineError, require};
use switchboard_database::millis;

/// The longest range one read may span.
const MAX_RANGE_DAYS: i64 = 3_660;

/// A period and which conversations to count.
#[derive(Debug, Clone)]
pub struct AnalyticsQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    pub filter: AnalyticsFilter,
}

/// What happened in `[from, to)`, in all and per channel.
#[derive(Debug, Clone)]
pub struct Totals {
    pub from: Timestamp,
    pub to: Timestamp,
    pub all: Rollup,
    pub by_channel: BTreeMap<String, Rollup>,
}

/// A period's totals and those of the period of the same length just before it.
#[derive(Debug, Clone)]
pub struct Summary {
    pub current: Totals,
    pub previous: Totals,
}

/// What a series shows: `interval` buckets in `time_zone`, with `measures`.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub interval: Interval,
    pub time_zone: &'a TimeZone,
    pub measures: &'a [Measure],
}

/// One point of a series: the bucket's calendar start and what happened in it.
#[derive(Debug, Clone)]
pub struct Point {
    pub start: Timestamp,
    pub rollup: Rollup,
}

impl Engine {
    pub async fn analytics_summary(
        &self,
        caller: &Caller,
        query: &AnalyticsQuery,
    ) -> Result<Summary, EngineError> {
        require(caller, Permission::Read)?;
        let (from, to) = range(query)?;
        let previous = (from - (to - from), from);
        Ok(Summary {
            current: self.totals(caller, &query.filter, from, to).await?,
            previous: self
                .totals(caller, &query.filter, previous.0, previous.1)
                .await?,
        })
    }

    /// The series of `interval` buckets in `time_zone` over the query's period,
    /// each point holding `measures` (the others read as nothing).
    pub async fn analytics_series(
        &self,
        caller: &Caller,
        query: &AnalyticsQuery,
        series: Series<'_>,
    ) -> Result<Vec<Point>, EngineError> {
        let Series {
            interval,
            time_zone,
            measures,
        } = series;
        require(caller, Permission::Read)?;
        let (from, to) = range(query)?;
        let buckets =
            calendar::buckets(from, to, interval, time_zone).map_err(invalid("interval"))?;
        let pieces = buckets
            .iter()
            .flat_map(|bucket| cover(bucket.from, bucket.to))
            .collect();
        let mut points: Vec<Point> = buckets
            .iter()
            .map(|bucket| {
                Ok(Point {
                    start: timestamp(bucket.start)?,
                    rollup: Rollup::default(),
                })
            })
            .collect::<Result<_, EngineError>>()?;
        let mut sink = Points {
            buckets: &buckets,
            points: &mut points,
        };
        self.add_rollups(caller, &query.filter, pieces, measures, &mut sink)
            .await?;
        Ok(points)
    }

    /// Recomputes every roll-up from the raw rows (`switchboard analytics rebuild`).
    pub async fn rebuild_analytics(&self) -> Result<Rebuilt, EngineError> {
        Ok(self.store.rebuild_analytics().await?)
    }

    async fn totals(
        &self,
        caller: &Caller,
        filter: &AnalyticsFilter,
        from: i64,
        to: i64,
    ) -> Result<Totals, EngineError> {
        let mut by_channel = ByChannel::default();
        self.add_rollups(
            caller,
            filter,
            cover(from, to),
            &Measure::all(),
            &mut by_channel,
        )
        .await?;
        let mut all = Rollup::default();
        by_channel.0.values().for_each(|rollup| all.merge(rollup));
        Ok(Totals {
            from: timestamp(from)?,
            to: timestamp(to)?,
            all,
            by_channel: by_channel.0,
        })
    }

    async fn add_rollups(
        &self,
        caller: &Caller,
        filter: &AnalyticsFilter,
        pieces: Vec<Stretch>,
        measures: &[Measure],
        sink: &mut impl RollupSink,
    ) -> Result<(), EngineError> {
        Ok(self
            .store
            .analytics_rollups(caller.tenant_id, filter, &joined(pieces), measures, sink)
            .await?)
    }
}

/// A series' points, each taking the stored rows of the buckets its calendar bucket holds.
struct Points<'a> {
    buckets: &'a [Bucket],
    points: &'a mut [Point],
}

impl RollupSink for Points<'_> {
    fn rollup_for(&mut self, bucket: i64, _channel_id: &str) -> Option<&mut Rollup> {
        let index = bucket_holding(self.buckets, bucket)?;
        Some(&mut self.points[index].rollup)
    }
}

/// A period's totals per channel.
#[derive(Default)]
struct ByChannel(BTreeMap<String, Rollup>);

impl RollupSink for ByChannel {
    fn rollup_for(&mut self, _bucket: i64, channel_id: &str) -> Option<&mut Rollup> {
        if !self.0.contains_key(channel_id) {
            self.0.insert(channel_id.to_owned(), Rollup::default());
        }
        self.0.get_mut(channel_id)
    }
}

/// The query's period in Unix milliseconds, cut to whole minutes and checked.
fn range(query: &AnalyticsQuery) -> Result<(i64, i64), EngineError> {
    let (from, to) = (
        calendar::whole_minute(millis(query.from)),
        calendar::whole_minute(millis(query.to)),
    );
    if from >= to {
        return Err(ValidationError::new("from", "must be at least a minute before `to`").into());
    }
    if to - from > MAX_RANGE_DAYS * 86_400_000 {
        return Err(ValidationError::new(
            "from",
            format!("the range may span at most {MAX_RANGE_DAYS} days"),
        )
        .into());
    }
    Ok((from, to))
}

/// The index of the bucket whose range holds `start`, a stored bucket's start.
fn bucket_holding(buckets: &[Bucket], start: i64) -> Option<usize> {
    let index = buckets
        .partition_point(|bucket| bucket.from <= start)
        .checked_sub(1)?;
    (start < buckets[index].to).then_some(index)
}

fn timestamp(millis: i64) -> Result<Timestamp, EngineError> {
    Timestamp::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|error| EngineError::Internal(Box::new(error)))
}

fn invalid(field: &'static str) -> impl Fn(switchboard_analytics::CalendarError) -> EngineError {
    move |error| ValidationError::new(field, error.to_string()).into()
}
