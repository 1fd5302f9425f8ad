//! Agent runs: one execution of an agent answering one or more inbound messages, and the events
//! it emits (the public contract streamed to operators and stored in the run log).

use crate::vocabulary::vocabulary;
use crate::{AgentId, ConversationId, MessageId, RunId, TenantId, Timestamp};

vocabulary! {
    pub enum RunStatus {
        Running = "running",
        Completed = "completed",
        Failed = "failed",
        /// The tenant's credits ran out; the message waits for a grant.
        Blocked = "blocked",
        /// A newer message interrupted it (double-texting policy `interrupt`); nothing it did
        /// was kept, and a new run answers every pending message.
        Interrupted = "interrupted",
    }
}

/// Tokens an agent used, when its provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// What an agent does while it runs, in order. Serialized with a `type` field
/// (`agent_started`, `agent_thinking`, …).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum AgentEvent {
    AgentStarted {
        run_id: RunId,
        conversation_id: ConversationId,
        message_ids: Vec<MessageId>,
    },
    AgentThinking {
        delta: String,
    },
    ToolExecuting {
        call_id: String,
        tool: String,
        arguments: serde_json::Value,
    },
    ToolCompleted {
        call_id: String,
        tool: String,
        result: serde_json::Value,
        is_error: bool,
        duration_ms: u64,
    },
    AgentCompleted {
        /// Absent when the agent chose silence (an empty answer): no reply is stored or sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_message_id: Option<MessageId>,
        text: String,
        usage: Usage,
        duration_ms: u64,
    },
    AgentFailed {
        code: String,
        message: String,
        retryable: bool,
    },
    /// The tenant's balance is below the agent's cost; processing resumes after a grant.
    CreditsExhausted {
        balance: i64,
        cost: i64,
    },
}

impl AgentEvent {
    /// The event's `type` as serialized.
    pub fn kind(&self) -> &'static str {
        match self {
            AgentEvent::AgentStarted { .. } => "agent_started",
            AgentEvent::AgentThinking { .. } => "agent_thinking",
            AgentEvent::ToolExecuting { .. } => "tool_executing",
            AgentEvent::ToolCompleted { .. } => "tool_completed",
            AgentEvent::AgentCompleted { .. } => "agent_completed",
            AgentEvent::AgentFailed { .. } => "agent_failed",
            AgentEvent::CreditsExhausted { .. } => "credits_exhausted",
        }
    }
}

/// An event as recorded in a run's log: its place in the run and when it happened.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    /// 1, 2, 3, … within the run.
    pub seq: i64,
    #[serde(flatten)]
    pub event: AgentEvent,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub id: RunId,
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    pub agent_id: Option<AgentId>,
    /// The inbound messages this run answers.
    pub message_ids: Vec<MessageId>,
    /// The earlier messages the agent was given as history, oldest first.
    pub context_message_ids: Vec<MessageId>,
    pub status: RunStatus,
    pub reply_message_id: Option<MessageId>,
    pub usage: Option<Usage>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<Timestamp>,
    /// The run's events in order (filled when one run is fetched).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<RunEvent>,
}
