//! Analytics reads, as a dashboard makes them: by weight, the last 7 days' summary (30), the
//! last 30 days' for the seeded channel (20), messages per hour over 7 days (25), and agent
//! latency percentiles per day over 30 days in New York's time (25). Each read is its own metric
//! and counts towards `analytics`.

use std::time::Instant;

use super::dice::Dice;
use crate::cluster::ClusterConnection;
use crate::metrics::{ErrorKind, Metric, Recorder};
use crate::target::{Auth, Fixture};

/// The reads, by cumulative weight.
const READS: [(u64, Read); 4] = [
    (30, Read::Week),
    (50, Read::ChannelMonth),
    (75, Read::HourlyMessages),
    (100, Read::DailyLatency),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Week,
    ChannelMonth,
    HourlyMessages,
    DailyLatency,
}

pub struct AnalyticsWorker {
    connection: ClusterConnection,
    recorder: Recorder,
    auth: Auth,
    channel_id: String,
    dice: Dice,
}

impl AnalyticsWorker {
    pub fn new(
        fixture: &Fixture,
        connection: ClusterConnection,
        recorder: Recorder,
        index: usize,
    ) -> Self {
        Self {
            connection,
            recorder,
            auth: fixture.auth.clone(),
            channel_id: fixture.rest.channel_id.clone(),
            dice: Dice::new(index),
        }
    }

    pub async fn iterate(&mut self, scheduled: Instant) {
        let read = self.dice.weighted(&READS).unwrap_or(Read::Week);
        let (metric, path) = match read {
            Read::Week => (
                Metric::AnalyticsSummary,
                "/api/v1/analytics/summary".to_owned(),
            ),
            Read::ChannelMonth => (
                Metric::AnalyticsSummary,
                format!(
                    "/api/v1/analytics/summary?from={}&channelId={}",
                    days_ago(30),
                    self.channel_id
                ),
            ),
            Read::HourlyMessages => (
                Metric::AnalyticsSeries,
                "/api/v1/analytics/series?metric=messagesInbound&interval=hour".to_owned(),
            ),
            Read::DailyLatency => (
                Metric::AnalyticsSeries,
                format!(
                    "/api/v1/analytics/series?metric=agentLatencyMs&interval=day\
                     &timezone=America/New_York&from={}",
                    days_ago(30)
                ),
            ),
        };
        let headers = self.auth.headers();
        let (node, connection) = self.connection.next_in_turn();
        let result = connection.get(&path, &headers).await;
        let finished = Instant::now();
        let error = match result {
            Ok(response) if response.status == 200 => None,
            Ok(response) => Some(ErrorKind::Status(response.status)),
            Err(error) => Some(error.kind()),
        };
        self.recorder
            .record(metric, node, scheduled, finished, error);
    }

    pub fn flush(&mut self) {
        self.recorder.flush();
    }
}

/// The time `days` days ago, as RFC 3339.
fn days_ago(days: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
