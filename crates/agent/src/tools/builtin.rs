//! The built-in tools: `get_time` answers on its own; the others act on the conversation and
//! are run by the gateway through [`ToolHost`](super::ToolHost).

use serde_json::{Value, json};

use super::{HostTool, ToolSpec};

/// A built-in tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    GetTime,
    Host(HostTool),
}

impl Builtin {
    pub(crate) const ALL: [Builtin; 6] = [
        Builtin::GetTime,
        Builtin::Host(HostTool::GetContact),
        Builtin::Host(HostTool::SearchMessages),
        Builtin::Host(HostTool::SetConversationStatus),
        Builtin::Host(HostTool::HandoffToHuman),
        Builtin::Host(HostTool::ScheduleFollowUp),
    ];

    pub(crate) fn named(name: &str) -> Option<Builtin> {
        Self::ALL.into_iter().find(|tool| tool.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Builtin::GetTime => "get_time",
            Builtin::Host(HostTool::GetContact) => "get_contact",
            Builtin::Host(HostTool::SearchMessages) => "search_messages",
            Builtin::Host(HostTool::SetConversationStatus) => "set_conversation_status",
            Builtin::Host(HostTool::HandoffToHuman) => "handoff_to_human",
            Builtin::Host(HostTool::ScheduleFollowUp) => "schedule_follow_up",
        }
    }

    pub(crate) fn spec(self) -> ToolSpec {
        let (description, parameters) = match self {
            Builtin::GetTime => (
                "The current date and time (UTC).",
                json!({"type": "object", "properties": {}}),
            ),
            Builtin::Host(HostTool::GetContact) => (
                "The profile of the contact in this conversation: name, phone, external id.",
                json!({"type": "object", "properties": {}}),
            ),
            Builtin::Host(HostTool::SearchMessages) => (
                "Searches this conversation's messages for words.",
                json!({"type": "object", "required": ["query"], "properties": {
                    "query": {"type": "string"},
                    "limit": {"type": "integer"}
                }}),
            ),
            Builtin::Host(HostTool::SetConversationStatus) => (
                "Sets the conversation's status when this reply is sent.",
                json!({"type": "object", "required": ["status"], "properties": {
                    "status": {"type": "string", "enum": ["open", "pending", "resolved"]}
                }}),
            ),
            Builtin::Host(HostTool::HandoffToHuman) => (
                "Hands the conversation to a human operator: the agent stays silent until released.",
                json!({"type": "object", "properties": {"reason": {"type": "string"}}}),
            ),
            Builtin::Host(HostTool::ScheduleFollowUp) => (
                "Schedules a follow-up on this conversation after a delay in minutes.",
                json!({"type": "object", "required": ["delayMinutes"], "properties": {
                    "delayMinutes": {"type": "integer"},
                    "note": {"type": "string"}
                }}),
            ),
        };
        ToolSpec {
            name: self.name().to_owned(),
            description: description.to_owned(),
            input_schema: parameters,
        }
    }
}

/// `get_time`'s answer.
pub(crate) fn current_time() -> Value {
    let now = time::OffsetDateTime::now_utc();
    let text = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({"now": text, "unix": now.unix_timestamp()})
}
