//! The built-in tools of one run, over the engine's store. Reads (`get_contact`,
//! `search_messages`) answer at once; changes (`set_conversation_status`, `handoff_to_human`,
//! `schedule_follow_up`) are collected and committed with the run's reply, so a run that fails
//! or is interrupted changes nothing.

use std::sync::Mutex;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use switchboard_agent::tools::{HostTool, ToolError, ToolHost};
use switchboard_core::{Contact, Conversation, ConversationStatus};
use switchboard_store::{NewFollowUp, PageRequest, SearchQuery, StoreError, TurnEffects};

use crate::Engine;

/// The longest delay a follow-up may be scheduled with (30 days).
const MAX_FOLLOW_UP_MINUTES: i64 = 30 * 24 * 60;

pub(crate) struct TurnTools<'a> {
    pub engine: &'a Engine,
    pub conversation: &'a Conversation,
    pub contact: Option<Contact>,
    pub effects: Mutex<TurnEffects>,
}

impl TurnTools<'_> {
    /// What the run's tools changed, to commit with its reply.
    pub(crate) fn into_effects(self) -> TurnEffects {
        self.effects.into_inner().unwrap_or_default()
    }

    fn change(&self, change: impl FnOnce(&mut TurnEffects)) {
        if let Ok(mut effects) = self.effects.lock() {
            change(&mut effects);
        }
    }

    async fn run(&self, tool: HostTool, arguments: Value) -> Result<Value, ToolError> {
        match tool {
            HostTool::GetContact => Ok(match &self.contact {
                Some(contact) => json!({
                    "name": contact.name, "phone": contact.phone, "externalId": contact.external_id
                }),
                None => json!({"contact": null}),
            }),
            HostTool::SearchMessages => self.search(&arguments).await,
            HostTool::SetConversationStatus => {
                let status = arguments
                    .get("status")
                    .and_then(Value::as_str)
                    .and_then(|status| status.parse::<ConversationStatus>().ok())
                    .ok_or_else(|| {
                        ToolError::InvalidArguments("status: open, pending or resolved".into())
                    })?;
                self.change(|effects| effects.status = Some(status));
                Ok(json!({"status": status, "applies": "with the reply"}))
            }
            HostTool::HandoffToHuman => {
                self.change(|effects| effects.status = Some(ConversationStatus::Pending));
                Ok(json!({"handedOff": true, "note": "a human takes over after this reply"}))
            }
            HostTool::ScheduleFollowUp => {
                let minutes = arguments
                    .get("delayMinutes")
                    .and_then(Value::as_i64)
                    .filter(|minutes| (1..=MAX_FOLLOW_UP_MINUTES).contains(minutes))
                    .ok_or_else(|| {
                        ToolError::InvalidArguments(format!(
                            "delayMinutes: between 1 and {MAX_FOLLOW_UP_MINUTES}"
                        ))
                    })?;
                let due_at = time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
                let note = arguments
                    .get("note")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.change(|effects| effects.follow_ups.push(NewFollowUp { due_at, note }));
                let due = due_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                Ok(json!({"dueAt": due}))
            }
        }
    }

    async fn search(&self, arguments: &Value) -> Result<Value, ToolError> {
        let text = arguments
            .get("query")
            .and_then(Value::as_str)
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| ToolError::InvalidArguments("query: the words to look for".into()))?;
        let limit = arguments
            .get("limit")
            .and_then(Value::as_u64)
            .map_or(5, |limit| limit.clamp(1, 20));
        let query = SearchQuery {
            text: text.to_owned(),
            conversation_id: Some(self.conversation.id),
        };
        let page = PageRequest {
            limit: u32::try_from(limit).ok(),
            cursor: None,
        };
        let hits = self
            .engine
            .store
            .search_messages(self.conversation.tenant_id, &query, &page)
            .await
            .map_err(|error| match error {
                StoreError::InvalidSearch(reason) => {
                    ToolError::InvalidArguments(format!("query: {reason}"))
                }
                other => ToolError::Unavailable {
                    message: "search failed".into(),
                    source: Box::new(other),
                },
            })?;
        Ok(json!({"messages": hits.data.iter().map(|hit| json!({
            "seq": hit.message.seq,
            "direction": hit.message.direction,
            "text": hit.message.text,
        })).collect::<Vec<_>>()}))
    }
}

impl ToolHost for TurnTools<'_> {
    fn call(&self, tool: HostTool, arguments: Value) -> BoxFuture<'_, Result<Value, ToolError>> {
        Box::pin(self.run(tool, arguments))
    }
}
