//! Outbound voice calls: a call to one number (alone, or as one recipient of a campaign), the
//! attempts made to reach it, and campaigns that call many contacts inside calling windows.
//! Media stays with the telephony provider; these records say who is called when, and how each
//! attempt ended.

use crate::vocabulary::vocabulary;
use crate::{
    AgentId, CallAttemptId, CallId, CampaignId, ChannelId, ContactId, ConversationId, TenantId,
    Timestamp,
};

vocabulary! {
    /// Where a call is. `queued` waits for its due time (first attempt or a retry); `dialing`
    /// to `in-progress` follow the current attempt; `ended` has a final outcome.
    pub enum CallStatus {
        Queued = "queued",
        /// The dial was recorded and sent to the provider (or is being reconciled after a crash).
        Dialing = "dialing",
        Ringing = "ringing",
        InProgress = "in-progress",
        Ended = "ended",
    }
}

vocabulary! {
    /// How a call (or one attempt) ended.
    pub enum CallOutcome {
        /// Answered by a person and finished.
        Completed = "completed",
        NoAnswer = "no-answer",
        Busy = "busy",
        Failed = "failed",
        /// Answered by a machine.
        Voicemail = "voicemail",
        /// On the tenant's do-not-call list: never dialled.
        DoNotCall = "do-not-call",
        /// Cancelled before it was reached (the call or its campaign).
        Canceled = "canceled",
        /// The tenant's balance could not pay a minute when the campaign ended.
        InsufficientCredits = "insufficient-credits",
        /// The provider never said, even when asked.
        Unknown = "unknown",
    }
}

vocabulary! {
    /// The provider's view of one attempt, in the order it moves (Twilio's `CallStatus`); the
    /// last five are final.
    pub enum AttemptStatus {
        /// Recorded, not yet acknowledged by the provider.
        Dialing = "dialing",
        Queued = "queued",
        Initiated = "initiated",
        Ringing = "ringing",
        InProgress = "in-progress",
        Completed = "completed",
        Busy = "busy",
        NoAnswer = "no-answer",
        Failed = "failed",
        Canceled = "canceled",
    }
}

impl AttemptStatus {
    /// Its place in the order statuses move: a callback may only move an attempt to a later
    /// rank. Every final status shares the last rank, so the first final word wins.
    pub const fn rank(self) -> u8 {
        match self {
            Self::Dialing => 0,
            Self::Queued => 1,
            Self::Initiated => 2,
            Self::Ringing => 3,
            Self::InProgress => 4,
            Self::Completed | Self::Busy | Self::NoAnswer | Self::Failed | Self::Canceled => 5,
        }
    }

    pub const fn is_final(self) -> bool {
        self.rank() == 5
    }
}

vocabulary! {
    pub enum CampaignStatus {
        Draft = "draft",
        Running = "running",
        Paused = "paused",
        /// Every recipient has a final outcome.
        Completed = "completed",
        Cancelled = "cancelled",
    }
}

/// One attempt to reach a call's number.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallAttempt {
    pub id: CallAttemptId,
    /// 1 for the first attempt.
    pub number: i64,
    /// The provider's id (`CA…`) once it acknowledged the dial.
    pub provider_call_id: Option<String>,
    pub status: AttemptStatus,
    pub outcome: Option<CallOutcome>,
    /// `human`, `machine_start`, … as the provider's answering machine detection said.
    pub answered_by: Option<String>,
    /// When the dial was recorded, answered and ended.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub answered_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub ended_at: Option<Timestamp>,
    pub duration_seconds: Option<i64>,
    /// Credits debited for it (per started minute of a connected call), once.
    pub credits: i64,
}

/// A call to one number, placed now or at a time, retried by outcome.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub id: CallId,
    pub tenant_id: TenantId,
    pub channel_id: ChannelId,
    pub campaign_id: Option<CampaignId>,
    pub contact_id: ContactId,
    /// The call's conversation (type `call`), opened at its first dial: its report's turns
    /// become its messages.
    pub conversation_id: Option<ConversationId>,
    pub agent_id: Option<AgentId>,
    /// The number called, E.164.
    pub to: String,
    pub status: CallStatus,
    /// The final outcome once `ended`; before that, the last attempt's.
    pub outcome: Option<CallOutcome>,
    /// When the next attempt is due (while `queued`).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub due_at: Option<Timestamp>,
    /// Template values the voice pipeline receives for this call.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub variables: serde_json::Value,
    pub attempts: Vec<CallAttempt>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

vocabulary! {
    pub enum Weekday {
        Mon = "mon",
        Tue = "tue",
        Wed = "wed",
        Thu = "thu",
        Fri = "fri",
        Sat = "sat",
        Sun = "sun",
    }
}

/// A time of day as `HH:MM`, kept as minutes after midnight; `24:00` is the end of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(u16);

impl ClockTime {
    pub const MIDNIGHT: Self = Self(0);
    pub const END_OF_DAY: Self = Self(24 * 60);

    pub const fn minutes(self) -> u16 {
        self.0
    }

    pub const fn hour(self) -> u8 {
        (self.0 / 60) as u8
    }

    pub const fn minute(self) -> u8 {
        (self.0 % 60) as u8
    }
}

impl std::str::FromStr for ClockTime {
    type Err = crate::ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || crate::ValidationError::new("time", "must be HH:MM, from 00:00 to 24:00");
        let (hours, minutes) = text.split_once(':').ok_or_else(wrong)?;
        if hours.len() != 2 || minutes.len() != 2 {
            return Err(wrong());
        }
        let hours: u16 = hours.parse().map_err(|_| wrong())?;
        let minutes: u16 = minutes.parse().map_err(|_| wrong())?;
        let total = hours * 60 + minutes;
        if minutes >= 60 || total > 24 * 60 {
            return Err(wrong());
        }
        Ok(Self(total))
    }
}

impl std::fmt::Display for ClockTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl serde::Serialize for ClockTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ClockTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Days of the week and a local time range in which a recipient may be called. A window ends
/// the day it starts (`end` after `start`; `24:00` for midnight).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallingWindow {
    pub days: Vec<Weekday>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "09:00"))]
    pub start: ClockTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "18:00"))]
    pub end: ClockTime,
}

/// When a campaign may dial: between `startAt` and `endAt`, inside any window, in each
/// recipient's own time zone (`timezone` is the campaign's default).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CampaignSchedule {
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub start_at: Option<Timestamp>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub end_at: Option<Timestamp>,
    /// IANA name; `UTC` when omitted.
    #[serde(default = "CampaignSchedule::utc")]
    pub timezone: String,
    /// None means any time between `startAt` and `endAt`.
    #[serde(default)]
    pub windows: Vec<CallingWindow>,
}

impl CampaignSchedule {
    fn utc() -> String {
        "UTC".to_owned()
    }

    /// Any time, from now until done.
    pub fn always() -> Self {
        Self {
            start_at: None,
            end_at: None,
            timezone: Self::utc(),
            windows: Vec::new(),
        }
    }

    /// Checks the zone (and makes its name canonical), the range and every window.
    pub fn validate(&mut self) -> Result<(), crate::ValidationError> {
        self.timezone = crate::Contact::canonical_timezone(&self.timezone)
            .map_err(|error| crate::ValidationError::new("schedule.timezone", error.message))?
            .to_owned();
        if let (Some(start), Some(end)) = (self.start_at, self.end_at)
            && end <= start
        {
            return Err(crate::ValidationError::new(
                "schedule.endAt",
                "must be after startAt",
            ));
        }
        for (index, window) in self.windows.iter().enumerate() {
            if window.days.is_empty() {
                return Err(crate::ValidationError::new(
                    format!("schedule.windows[{index}].days"),
                    "must name at least one day",
                ));
            }
            if window.end <= window.start {
                return Err(crate::ValidationError::new(
                    format!("schedule.windows[{index}].end"),
                    "must be after start (a window ends the day it starts)",
                ));
            }
        }
        Ok(())
    }
}

impl Default for CampaignSchedule {
    fn default() -> Self {
        Self::always()
    }
}

/// The delays before each retry after one outcome; its length is how many retries that outcome
/// gets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryRule {
    pub delays_seconds: Vec<u64>,
}

impl RetryRule {
    fn after(delays_seconds: &[u64]) -> Self {
        Self {
            delays_seconds: delays_seconds.to_vec(),
        }
    }
}

/// Retries by outcome. Never retried: completed, do-not-call, canceled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RetryPolicy {
    pub no_answer: RetryRule,
    pub busy: RetryRule,
    pub failed: RetryRule,
    pub voicemail: RetryRule,
}

impl Default for RetryPolicy {
    /// No answer and busy: after 30, 60 and 120 minutes; failed: once after 5 minutes;
    /// voicemail: never.
    fn default() -> Self {
        Self {
            no_answer: RetryRule::after(&[1800, 3600, 7200]),
            busy: RetryRule::after(&[1800, 3600, 7200]),
            failed: RetryRule::after(&[300]),
            voicemail: RetryRule::after(&[]),
        }
    }
}

impl RetryPolicy {
    /// The rule for `outcome`, if that outcome may be retried at all.
    pub fn rule(&self, outcome: CallOutcome) -> Option<&RetryRule> {
        match outcome {
            CallOutcome::NoAnswer => Some(&self.no_answer),
            CallOutcome::Busy => Some(&self.busy),
            CallOutcome::Failed => Some(&self.failed),
            CallOutcome::Voicemail => Some(&self.voicemail),
            CallOutcome::Completed
            | CallOutcome::DoNotCall
            | CallOutcome::Canceled
            | CallOutcome::InsufficientCredits
            | CallOutcome::Unknown => None,
        }
    }

    /// The delay before the next attempt after the `nth` (1-based) attempt that ended in
    /// `outcome`; `None` when the call is over.
    pub fn delay_after(&self, outcome: CallOutcome, nth: usize) -> Option<std::time::Duration> {
        let rule = self.rule(outcome)?;
        let delay = *rule.delays_seconds.get(nth.checked_sub(1)?)?;
        Some(std::time::Duration::from_secs(delay))
    }
}

/// Counts of a campaign's calls by where they are and how they ended.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CampaignStats {
    pub total: i64,
    pub queued: i64,
    pub in_progress: i64,
    pub completed: i64,
    pub no_answer: i64,
    pub busy: i64,
    pub failed: i64,
    pub voicemail: i64,
    pub do_not_call: i64,
    pub canceled: i64,
    pub insufficient_credits: i64,
    pub unknown: i64,
    /// Attempts made (dials), all calls together.
    pub attempts: i64,
    /// Answered by a person, of the calls that ended after at least one dial.
    pub answer_rate: Option<f64>,
    pub average_duration_seconds: Option<f64>,
    pub p95_duration_seconds: Option<f64>,
    pub attempts_per_contact: Option<f64>,
}

/// A campaign: many contacts called through one voice channel under one schedule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    pub id: CampaignId,
    pub tenant_id: TenantId,
    pub name: String,
    pub channel_id: ChannelId,
    pub agent_id: Option<AgentId>,
    pub status: CampaignStatus,
    pub schedule: CampaignSchedule,
    pub max_concurrent_calls: i64,
    pub calls_per_second: i64,
    pub retry: RetryPolicy,
    /// Set while dialling waits for credits (`credits_exhausted`).
    pub waiting_for_credits: bool,
    pub stats: CampaignStats,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}
