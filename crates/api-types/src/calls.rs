//! Outbound calls, campaigns and the do-not-call list: the bodies clients send. Calls and
//! campaigns come back as `switchboard_core::Call` and `Campaign`.

use serde::{Deserialize, Serialize};
use switchboard_core::{
    AgentId, CallStatus, CampaignId, CampaignSchedule, ChannelId, ContactId, RetryPolicy,
};
use utoipa::{IntoParams, ToSchema};

/// One call, now or at `at`, to a contact or to a number.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCall {
    /// A voice channel.
    pub channel_id: Option<ChannelId>,
    pub contact_id: Option<ContactId>,
    /// E.164, when no contact is given (a contact is found or made for it).
    pub to: Option<String>,
    /// When to call (RFC 3339); now when omitted.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<time::OffsetDateTime>,
    pub agent_id: Option<AgentId>,
    /// Template values for the voice pipeline (a JSON object).
    #[schema(value_type = Option<Object>)]
    pub variables: Option<serde_json::Value>,
    /// Retries by outcome; the defaults when omitted.
    pub retry: Option<RetryPolicy>,
}

/// A campaign: contacts called through a voice channel under a schedule.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCampaign {
    pub name: String,
    pub channel_id: Option<ChannelId>,
    pub agent_id: Option<AgentId>,
    pub contact_ids: Vec<ContactId>,
    /// Omitted: now, any time, until done.
    pub schedule: Option<CampaignSchedule>,
    /// Calls on the line at once (default 10).
    pub max_concurrent_calls: Option<i64>,
    /// Dials per second from the caller number (default 1).
    pub calls_per_second: Option<i64>,
    pub retry: Option<RetryPolicy>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallListParams {
    pub campaign_id: Option<CampaignId>,
    pub status: Option<CallStatus>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A number for the do-not-call list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DoNotCallNumber {
    /// E.164.
    pub phone: String,
}
