//! `/api/v1/analytics`: a period's totals beside the period before, and one metric as a series
//! in the client's time zone; `Accept: text/csv` gets either as CSV.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use switchboard_analytics::calendar::{self, local_time};
use switchboard_analytics::{Counter, Distribution, Interval, Measure, Rollup, Sketch};
use switchboard_api_types::{
    AnalyticsSeries, AnalyticsSummary, CallAnalytics, ChannelTotals, ErrorBody, PercentilesView,
    PeriodTotals, SeriesParams, SeriesPoint, SeriesValue, SummaryParams,
};
use switchboard_engine::{AnalyticsFilter, AnalyticsQuery, CallAnalyticsFilter, Series, Totals};

use crate::auth::Auth;
use crate::extract::{Json, Query};
use crate::{ApiError, ApiState};

/// The default period: the last seven days.
const DEFAULT_DAYS: i64 = 7;

/// Totals of a period (default the last 7 days) and of the period of the same length before.
#[utoipa::path(get, path = "/analytics/summary", tag = "analytics", params(SummaryParams),
    responses(
        (status = 200, content((AnalyticsSummary = "application/json"), (String = "text/csv"))),
        (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_summary(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    Query(params): Query<SummaryParams>,
) -> Result<Response, ApiError> {
    let query = analytics_query(
        params.from,
        params.to,
        AnalyticsFilter {
            channel_id: params.channel_id,
            agent_id: params.agent_id,
            campaign_id: params.campaign_id,
        },
    )?;
    let summary = state.engine.analytics_summary(&caller, &query).await?;
    let summary = AnalyticsSummary {
        current: period_totals(&summary.current),
        previous: period_totals(&summary.previous),
    };
    if wants_csv(&headers) {
        return Ok(csv(summary_csv(&summary)));
    }
    Ok(Json(summary).into_response())
}

/// Calls whose attempts ended in a period (default the last 7 days): attempts by outcome,
/// answer rate, answered calls' durations (p50–p99) and credits.
#[utoipa::path(get, path = "/analytics/calls", tag = "analytics", params(SummaryParams),
    responses((status = 200, body = CallAnalytics), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_calls(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<SummaryParams>,
) -> Result<Json<CallAnalytics>, ApiError> {
    let campaign_id = params
        .campaign_id
        .as_deref()
        .map(|id| id.parse().map_err(|error| invalid("campaignId", error)))
        .transpose()?;
    let query = analytics_query(params.from, params.to, AnalyticsFilter::default())?;
    let filter = CallAnalyticsFilter {
        campaign_id,
        channel_id: params.channel_id,
    };
    let totals = state
        .engine
        .call_analytics(&caller, query.from, query.to, &filter)
        .await?;
    let outcomes: std::collections::BTreeMap<String, i64> = totals
        .outcomes
        .iter()
        .map(|(outcome, attempts)| (outcome.to_string(), *attempts))
        .collect();
    let attempts: i64 = outcomes.values().sum();
    let answered = outcomes.get("completed").copied().unwrap_or(0);
    let duration_seconds = sketch_view(&totals.answered_seconds, 1.0);
    Ok(Json(CallAnalytics {
        attempts,
        answer_rate: (attempts > 0).then(|| answered as f64 / attempts as f64),
        outcomes,
        duration_seconds,
        credits_spent: totals.credits,
    }))
}

/// One metric per bucket (`interval`) in a time zone.
#[utoipa::path(get, path = "/analytics/series", tag = "analytics", params(SeriesParams),
    responses(
        (status = 200, content((AnalyticsSeries = "application/json"), (String = "text/csv"))),
        (status = "4XX", body = ErrorBody)))]
pub(crate) async fn get_series(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    Query(params): Query<SeriesParams>,
) -> Result<Response, ApiError> {
    let metric = Metric::parse(&params.metric)?;
    let interval_name = params.interval.unwrap_or_else(|| "hour".to_owned());
    let interval: Interval = interval_name
        .parse()
        .map_err(|error| invalid("interval", error))?;
    let timezone = params.timezone.unwrap_or_else(|| "UTC".to_owned());
    let zone = calendar::time_zone(&timezone).map_err(|error| invalid("timezone", error))?;
    let query = analytics_query(
        params.from,
        params.to,
        AnalyticsFilter {
            channel_id: params.channel_id,
            agent_id: params.agent_id,
            campaign_id: params.campaign_id,
        },
    )?;
    let series = Series {
        interval,
        time_zone: &zone,
        measures: &metric.measures(),
    };
    let points = state
        .engine
        .analytics_series(&caller, &query, series)
        .await?;
    let data = points
        .iter()
        .map(|point| {
            let millis = unix_millis(point.start);
            Ok(SeriesPoint {
                start: local_time(millis, &zone).map_err(|error| invalid("from", error))?,
                value: metric.value(&point.rollup),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    let series = AnalyticsSeries {
        metric: params.metric,
        interval: interval_name,
        timezone,
        data,
    };
    if wants_csv(&headers) {
        return Ok(csv(series_csv(&series)));
    }
    Ok(Json(series).into_response())
}

/// What a series shows.
enum Metric {
    Count(Counter),
    HandoffRate,
    Percentiles(Distribution),
}

impl Metric {
    fn parse(name: &str) -> Result<Metric, ApiError> {
        if name == "handoffRate" {
            return Ok(Metric::HandoffRate);
        }
        Counter::from_field(name)
            .map(Metric::Count)
            .or_else(|| Distribution::from_field(name).map(Metric::Percentiles))
            .ok_or_else(|| {
                let known: Vec<&str> = Counter::ALL
                    .iter()
                    .map(|counter| counter.field())
                    .chain(["handoffRate"])
                    .chain(
                        Distribution::ALL
                            .iter()
                            .map(|distribution| distribution.field()),
                    )
                    .collect();
                ApiError::Validation {
                    field: Some("metric".into()),
                    message: format!("unknown metric {name:?}: one of {}", known.join(", ")),
                }
            })
    }

    /// The stored measures it is computed from.
    fn measures(&self) -> Vec<Measure> {
        match self {
            Metric::Count(counter) => vec![Measure::Count(*counter)],
            Metric::HandoffRate => vec![
                Measure::Count(Counter::Handoffs),
                Measure::Count(Counter::ConversationsOpened),
            ],
            Metric::Percentiles(distribution) => vec![Measure::Spread(*distribution)],
        }
    }

    fn value(&self, rollup: &Rollup) -> SeriesValue {
        match self {
            Metric::Count(counter) => SeriesValue::Count(rollup.count(*counter)),
            Metric::HandoffRate => SeriesValue::Rate(handoff_rate(rollup)),
            Metric::Percentiles(distribution) => {
                SeriesValue::Percentiles(percentiles(rollup, *distribution))
            }
        }
    }
}

fn analytics_query(
    from: Option<String>,
    to: Option<String>,
    filter: AnalyticsFilter,
) -> Result<AnalyticsQuery, ApiError> {
    let to = match to {
        Some(text) => parse_time("to", &text)?,
        None => time::OffsetDateTime::now_utc(),
    };
    let from = match from {
        Some(text) => parse_time("from", &text)?,
        None => to - time::Duration::days(DEFAULT_DAYS),
    };
    Ok(AnalyticsQuery { from, to, filter })
}

fn parse_time(field: &str, text: &str) -> Result<time::OffsetDateTime, ApiError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(
        |_| ApiError::Validation {
            field: Some(field.into()),
            message: format!("{text:?} is not an RFC 3339 time (2026-03-01T00:00:00Z)"),
        },
    )
}

fn invalid(field: &str, error: impl std::fmt::Display) -> ApiError {
    ApiError::Validation {
        field: Some(field.into()),
        message: error.to_string(),
    }
}

fn unix_millis(time: time::OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or_default()
}

fn period_totals(totals: &Totals) -> PeriodTotals {
    let all = &totals.all;
    let count = |counter| all.count(counter);
    PeriodTotals {
        from: rfc3339(totals.from),
        to: rfc3339(totals.to),
        conversations_opened: count(Counter::ConversationsOpened),
        conversations_resolved: count(Counter::ConversationsResolved),
        messages_inbound: count(Counter::MessagesInbound),
        messages_outbound: count(Counter::MessagesOutbound),
        runs_completed: count(Counter::RunsCompleted),
        runs_failed: count(Counter::RunsFailed),
        runs_handed_off: count(Counter::RunsHandedOff),
        handoffs: count(Counter::Handoffs),
        handoff_rate: handoff_rate(all),
        tool_calls: count(Counter::ToolCalls),
        credits_spent: count(Counter::CreditsSpent),
        first_response_seconds: percentiles(all, Distribution::FirstResponse),
        resolution_seconds: percentiles(all, Distribution::Resolution),
        agent_latency_ms: percentiles(all, Distribution::AgentLatency),
        queue_wait_ms: percentiles(all, Distribution::QueueWait),
        webhook_ack_ms: percentiles(all, Distribution::WebhookAck),
        channels: totals
            .by_channel
            .iter()
            .filter(|(channel_id, _)| !channel_id.is_empty())
            .map(|(channel_id, rollup)| ChannelTotals {
                channel_id: channel_id.clone(),
                conversations_opened: rollup.count(Counter::ConversationsOpened),
                messages_inbound: rollup.count(Counter::MessagesInbound),
                messages_outbound: rollup.count(Counter::MessagesOutbound),
            })
            .collect(),
    }
}

fn handoff_rate(rollup: &Rollup) -> Option<f64> {
    let opened = rollup.count(Counter::ConversationsOpened);
    (opened > 0).then(|| rollup.count(Counter::Handoffs) as f64 / opened as f64)
}

fn percentiles(rollup: &Rollup, distribution: Distribution) -> PercentilesView {
    sketch_view(rollup.sketch(distribution), distribution.scale())
}

/// A sketch's percentiles, its values divided by `scale` (stored units per unit shown).
fn sketch_view(sketch: &Sketch, scale: f64) -> PercentilesView {
    match sketch.percentiles(scale) {
        Some(read) => PercentilesView {
            p50: Some(read.p50),
            p90: Some(read.p90),
            p95: Some(read.p95),
            p99: Some(read.p99),
            mean: Some(read.mean),
            count: read.count,
        },
        None => PercentilesView::default(),
    }
}

fn rfc3339(time: time::OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"))
}

fn csv(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

/// `metric,current,previous`, one row per count and per percentile of each duration.
fn summary_csv(summary: &AnalyticsSummary) -> String {
    let current = flatten(&summary.current);
    let previous = flatten(&summary.previous);
    let mut text = String::from("metric,current,previous\n");
    for ((name, now), (_, before)) in current.iter().zip(&previous) {
        text.push_str(&format!("{name},{},{}\n", cell(*now), cell(*before)));
    }
    text
}

/// A period's numbers as `(name, value)`, durations as `name.p50` and so on.
fn flatten(period: &PeriodTotals) -> Vec<(String, Option<f64>)> {
    let counts = [
        ("conversationsOpened", period.conversations_opened),
        ("conversationsResolved", period.conversations_resolved),
        ("messagesInbound", period.messages_inbound),
        ("messagesOutbound", period.messages_outbound),
        ("runsCompleted", period.runs_completed),
        ("runsFailed", period.runs_failed),
        ("runsHandedOff", period.runs_handed_off),
        ("handoffs", period.handoffs),
        ("toolCalls", period.tool_calls),
        ("creditsSpent", period.credits_spent),
    ];
    let mut rows: Vec<(String, Option<f64>)> = counts
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Some(*value as f64)))
        .collect();
    rows.push(("handoffRate".into(), period.handoff_rate));
    let durations = [
        ("firstResponseSeconds", &period.first_response_seconds),
        ("resolutionSeconds", &period.resolution_seconds),
        ("agentLatencyMs", &period.agent_latency_ms),
        ("queueWaitMs", &period.queue_wait_ms),
        ("webhookAckMs", &period.webhook_ack_ms),
    ];
    for (name, view) in durations {
        for (part, value) in percentile_cells(view) {
            rows.push((format!("{name}.{part}"), value));
        }
    }
    rows
}

fn percentile_cells(view: &PercentilesView) -> [(&'static str, Option<f64>); 6] {
    [
        ("p50", view.p50),
        ("p90", view.p90),
        ("p95", view.p95),
        ("p99", view.p99),
        ("mean", view.mean),
        ("count", Some(view.count as f64)),
    ]
}

/// `start,value`, or `start,p50,p90,p95,p99,mean,count` for durations.
fn series_csv(series: &AnalyticsSeries) -> String {
    let percentile_metric = series
        .data
        .first()
        .is_some_and(|point| matches!(point.value, SeriesValue::Percentiles(_)));
    let mut text = if percentile_metric {
        String::from("start,p50,p90,p95,p99,mean,count\n")
    } else {
        String::from("start,value\n")
    };
    for point in &series.data {
        let cells: Vec<String> = match &point.value {
            SeriesValue::Count(count) => vec![count.to_string()],
            SeriesValue::Rate(rate) => vec![cell(*rate)],
            SeriesValue::Percentiles(view) => percentile_cells(view)
                .iter()
                .map(|(_, value)| cell(*value))
                .collect(),
        };
        text.push_str(&format!("{},{}\n", point.start, cells.join(",")));
    }
    text
}

fn cell(value: Option<f64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}
