//! What an agent's tools change beyond the reply, committed in the same transaction as the
//! turn (so an interrupted or failed run leaves no trace): the conversation's status (a handoff
//! sets it `pending`) and follow-ups it scheduled. Also the follow-ups, read back.

use switchboard_core::{
    ConversationEvent, ConversationId, ConversationStatus, RunId, TenantId, Timestamp,
};

use crate::conversation_events::{StreamEvent, append_event};
use switchboard_database::{Db, query};

use crate::{Store, StoreError};
use switchboard_database::{RowExt, millis, now};

/// A follow-up an agent scheduled on its conversation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowUp {
    pub id: String,
    pub conversation_id: ConversationId,
    pub run_id: RunId,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: Timestamp,
    pub note: Option<String>,
}

/// A follow-up to record with a turn.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFollowUp {
    pub due_at: Timestamp,
    pub note: Option<String>,
}

/// The side effects of a turn's tools.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnEffects {
    /// The status the conversation takes.
    pub status: Option<ConversationStatus>,
    pub follow_ups: Vec<NewFollowUp>,
}

/// Applies `effects` inside the turn's transaction; returns the conversation stream's event
/// for a status change.
pub(crate) async fn apply(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    run_id: RunId,
    effects: &TurnEffects,
) -> Result<Option<StreamEvent>, StoreError> {
    let mut event = None;
    if let Some(status) = effects.status {
        let agent_id: Option<String> = query(
            "UPDATE conversations SET status = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2
             RETURNING agent_id",
        )
        .bind(tenant_id.to_string())
        .bind(conversation_id.to_string())
        .bind(status.as_str())
        .bind(millis(now()))
        .fetch_scalar(&mut *connection)
        .await?;
        let updated = ConversationEvent::ConversationUpdated {
            status,
            agent_id: agent_id.and_then(|id| id.parse().ok()),
        };
        event = Some(append_event(connection, tenant_id, conversation_id, &updated).await?);
    }
    for follow_up in &effects.follow_ups {
        query(
            "INSERT INTO follow_ups (id, tenant_id, conversation_id, run_id, due_at, note, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(tenant_id.to_string())
        .bind(conversation_id.to_string())
        .bind(run_id.to_string())
        .bind(millis(follow_up.due_at))
        .bind(follow_up.note.clone())
        .bind(millis(now()))
        .execute(&mut *connection)
        .await?;
    }
    Ok(event)
}

impl Store {
    /// The follow-ups scheduled on a conversation, soonest first.
    pub async fn list_follow_ups(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
    ) -> Result<Vec<FollowUp>, StoreError> {
        let rows = query(
            "SELECT id, conversation_id, run_id, due_at, note FROM follow_ups
             WHERE tenant_id = $1 AND conversation_id = $2 ORDER BY due_at, id",
        )
        .bind(tenant_id.to_string())
        .bind(conversation_id.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FollowUp {
                    id: row.text("id")?,
                    conversation_id: row.parsed("conversation_id")?,
                    run_id: row.parsed("run_id")?,
                    due_at: row.time("due_at")?,
                    note: row.optional_text("note")?,
                })
            })
            .collect()
    }
}
