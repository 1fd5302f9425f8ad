//! Firing follow-ups: when one falls due, it becomes an inbound system message on its
//! conversation (the note, for the agent to act on) with a run queued for it, and the follow-up
//! is gone — all in one transaction, so each fires exactly once even with several nodes polling.

use switchboard_core::{
    AuthorKind, ChannelId, ConversationId, EntryKind, MessageDirection, MessageId, MessageStatus,
    MessageType, OrderingKey, TenantId, Timestamp,
};

use crate::conversation_events::StreamEvent;
use crate::messages::NewMessage;
use crate::pipeline::append::append_at_end;
use crate::{Store, StoreError};
use switchboard_database::{Db, query};
use switchboard_database::{RowExt, millis};
use switchboard_queue::entries::{NewEntry, Numbering, Queued, Registrar};

/// What the agent reads when a follow-up without a note falls due.
pub const FOLLOW_UP_TEXT: &str = "Follow-up due: check in with the contact.";

/// Priority of follow-up runs (between webhooks' default and operators').
const FOLLOW_UP_PRIORITY: u8 = 4;

impl Store {
    /// Fires up to `limit` follow-ups due at `now`, oldest due first; returns the stream event
    /// of each note.
    pub async fn fire_due_follow_ups(
        &self,
        now: Timestamp,
        limit: u32,
        registrar: Registrar,
    ) -> Result<Vec<StreamEvent>, StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                let due = query(
                    "SELECT f.id, f.tenant_id, f.conversation_id, f.note, c.channel_id
                     FROM follow_ups f
                     JOIN conversations c ON c.tenant_id = f.tenant_id AND c.id = f.conversation_id
                     WHERE f.due_at <= $1 ORDER BY f.due_at, f.id LIMIT $2",
                )
                .bind(millis(now))
                .bind(i64::from(limit))
                .fetch_all(&mut *connection)
                .await?;
                let mut fired = Vec::with_capacity(due.len());
                for row in &due {
                    let id = row.text("id")?;
                    let taken = query("DELETE FROM follow_ups WHERE id = $1")
                        .bind(&id)
                        .execute(&mut *connection)
                        .await?;
                    if taken.rows_affected() == 0 {
                        continue;
                    }
                    fired.push(
                        fire(
                            connection,
                            row.parsed("tenant_id")?,
                            row.parsed("channel_id")?,
                            row.parsed("conversation_id")?,
                            row.optional_text("note")?,
                            &registrar,
                        )
                        .await?,
                    );
                }
                Ok(fired)
            })
        })
        .await
    }
}

async fn fire(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    channel_id: ChannelId,
    conversation_id: ConversationId,
    note: Option<String>,
    registrar: &Registrar,
) -> Result<StreamEvent, StoreError> {
    let new = NewMessage {
        conversation_id,
        direction: MessageDirection::Inbound,
        author_kind: AuthorKind::System,
        author_id: None,
        message_type: MessageType::Text,
        text: Some(note.unwrap_or_else(|| FOLLOW_UP_TEXT.to_owned())),
        content: Some(serde_json::json!({ "followUp": true })),
        provider_message_id: None,
        status: MessageStatus::Received,
    };
    let id = MessageId::new();
    let queued = Queued {
        entry: NewEntry {
            kind: EntryKind::Run,
            ordering_key: OrderingKey::conversation(conversation_id),
            priority: FOLLOW_UP_PRIORITY,
            conversation_id,
            message_id: id,
        },
        numbering: Numbering::MessageSeq,
        registrar,
    };
    let (_, event) =
        append_at_end(connection, tenant_id, channel_id, id, new, Some(queued)).await?;
    Ok(event)
}
