//! `/api/v1/analytics`: the period totals (with the period before) and series clients read.
//! Times are RFC 3339; durations are seconds (`…Seconds`) or milliseconds (`…Ms`).

use serde::{Deserialize, Serialize};
use switchboard_core::{AgentId, ChannelId};
use utoipa::{IntoParams, ToSchema};

/// Which period and which conversations a summary counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// Start of the period, RFC 3339 (default: `to` minus 7 days). Cut to the minute.
    pub from: Option<String>,
    /// End of the period, exclusive (default: now). Cut to the minute.
    pub to: Option<String>,
    pub channel_id: Option<ChannelId>,
    pub agent_id: Option<AgentId>,
    pub campaign_id: Option<String>,
}

/// A summary's parameters, plus the metric and its buckets.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// A field of the summary: a count (`messagesInbound`, …), `handoffRate`, or a
    /// percentile metric (`firstResponseSeconds`, `agentLatencyMs`, …).
    pub metric: String,
    /// minute, hour (default), day, week or month.
    pub interval: Option<String>,
    /// IANA time zone the buckets follow (default UTC), DST included.
    pub timezone: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub channel_id: Option<ChannelId>,
    pub agent_id: Option<AgentId>,
    pub campaign_id: Option<String>,
}

/// Percentiles of a duration (nearest rank, within 1 %), its mean and how many were measured;
/// the numbers are null when none was.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PercentilesView {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub mean: Option<f64>,
    pub count: u64,
}

/// One channel's share of a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelTotals {
    pub channel_id: String,
    pub conversations_opened: i64,
    pub messages_inbound: i64,
    pub messages_outbound: i64,
}

/// What happened in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeriodTotals {
    pub from: String,
    pub to: String,
    pub conversations_opened: i64,
    pub conversations_resolved: i64,
    pub messages_inbound: i64,
    pub messages_outbound: i64,
    pub runs_completed: i64,
    pub runs_failed: i64,
    /// Runs that handed their conversation to a human.
    pub runs_handed_off: i64,
    /// Conversations that went to `pending` (a human's turn), by an agent or an operator.
    pub handoffs: i64,
    /// `handoffs / conversationsOpened`; null without conversations.
    pub handoff_rate: Option<f64>,
    pub tool_calls: i64,
    pub credits_spent: i64,
    /// From a contact's first message to the first answer (agent or operator).
    pub first_response_seconds: PercentilesView,
    /// From a conversation's opening to its resolution.
    pub resolution_seconds: PercentilesView,
    /// An agent run's duration.
    pub agent_latency_ms: PercentilesView,
    /// From a message's storing to the start of the run that answers it.
    pub queue_wait_ms: PercentilesView,
    /// From a webhook's arrival to its acknowledgement.
    pub webhook_ack_ms: PercentilesView,
    pub channels: Vec<ChannelTotals>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSummary {
    pub current: PeriodTotals,
    /// The period of the same length just before.
    pub previous: PeriodTotals,
}

/// A point's value: a count, a rate, or percentiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SeriesValue {
    Count(i64),
    Rate(Option<f64>),
    Percentiles(PercentilesView),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesPoint {
    /// The bucket's start in the series' time zone, as RFC 3339 with its offset.
    pub start: String,
    pub value: SeriesValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsSeries {
    pub metric: String,
    pub interval: String,
    pub timezone: String,
    pub data: Vec<SeriesPoint>,
}

/// Calls that ended in a period: attempts by outcome, the answer rate, how long answered calls
/// lasted, and what they cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallAnalytics {
    /// Attempts that ended in the period.
    pub attempts: i64,
    /// Those attempts by outcome (`completed`, `no-answer`, `busy`, `failed`, `voicemail`, …).
    pub outcomes: std::collections::BTreeMap<String, i64>,
    /// Answered by a person, of the attempts that ended.
    pub answer_rate: Option<f64>,
    /// Seconds of the answered attempts.
    pub duration_seconds: PercentilesView,
    pub credits_spent: i64,
}
