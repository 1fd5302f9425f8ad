//! Messages. Appending one takes the next `seq` of its conversation inside the same transaction
//! (so numbers are gap-free and never reused), moves the conversation's activity forward, and
//! refuses a second copy of a provider message id: redelivery returns the stored message.

use switchboard_core::{
    AuthorKind, ConversationEvent, ConversationId, Message, MessageDirection, MessageId,
    MessageStatus, MessageType, Page, TenantId,
};

use crate::conversation_events::{StreamEvent, append_event};
use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Row, query};
use switchboard_database::{RowExt, millis, now, parse};

pub(crate) const COLUMNS: &str =
    "id, tenant_id, conversation_id, channel_id, seq, direction, author_kind,
    author_id, type, text, content, provider_message_id, status, created_at, deleted_at";

pub struct NewMessage {
    pub conversation_id: ConversationId,
    pub direction: MessageDirection,
    pub author_kind: AuthorKind,
    pub author_id: Option<String>,
    pub message_type: MessageType,
    pub text: Option<String>,
    pub content: Option<serde_json::Value>,
    pub provider_message_id: Option<String>,
    pub status: MessageStatus,
}

/// The outcome of an append.
#[derive(Debug)]
pub struct Appended {
    pub message: Message,
    /// `false` when the provider message id was already stored and nothing changed.
    pub created: bool,
    /// The conversation stream's `message_created`, when the message is new.
    pub event: Option<StreamEvent>,
}

/// Which way a message list runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MessageOrder {
    /// Newest first: the latest page of a chat, then older pages.
    #[default]
    Backward,
    /// Oldest first: replay from the start or from a known `seq`.
    Forward,
}

/// A stored message; a deleted one keeps its place but shows no content.
pub(crate) fn message_from_row(row: &Row) -> Result<Message, StoreError> {
    let deleted_at = row.optional_time("deleted_at")?;
    let (text, content) = if deleted_at.is_some() {
        (None, None)
    } else {
        (row.optional_text("text")?, row.optional_json("content")?)
    };
    Ok(Message {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        conversation_id: row.parsed("conversation_id")?,
        channel_id: row.parsed("channel_id")?,
        seq: row.integer("seq")?,
        direction: row.parsed("direction")?,
        author_kind: row.parsed("author_kind")?,
        author_id: row.optional_text("author_id")?,
        message_type: row.parsed("type")?,
        text,
        content,
        provider_message_id: row.optional_text("provider_message_id")?,
        status: row.parsed("status")?,
        created_at: row.time("created_at")?,
        deleted_at,
    })
}

impl Store {
    pub async fn get_message(
        &self,
        tenant_id: TenantId,
        id: MessageId,
    ) -> Result<Message, StoreError> {
        let row = query(format!(
            "SELECT {COLUMNS} FROM messages WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::not_found("message"))?;
        message_from_row(&row)
    }

    /// A page of a conversation's messages by `seq`; the cursor is the last `seq` returned.
    pub async fn list_messages(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        order: MessageOrder,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        self.require_conversation(tenant_id, conversation_id)
            .await?;
        let position = page.position_as::<i64>()?;
        let (condition, direction, start) = match order {
            MessageOrder::Backward => ("seq < $3", "DESC", position.unwrap_or(i64::MAX)),
            MessageOrder::Forward => ("seq > $3", "ASC", position.unwrap_or(0)),
        };
        let rows = query(format!(
            "SELECT {COLUMNS} FROM messages
             WHERE conversation_id = $2 AND tenant_id = $1 AND {condition}
             ORDER BY seq {direction} LIMIT $4"
        ))
        .bind(tenant_id.to_string())
        .bind(conversation_id.to_string())
        .bind(start)
        .bind(page.limit() + 1)
        .fetch_all(self.reader())
        .await?;
        let messages = rows
            .iter()
            .map(message_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(messages, |message| message.seq.to_string()))
    }

    /// Marks a message deleted: it keeps its `seq`, leaves search, and shows no content.
    pub async fn delete_message(
        &self,
        tenant_id: TenantId,
        id: MessageId,
    ) -> Result<(Message, StreamEvent), StoreError> {
        let at = millis(now());
        let event = self
            .write(move |connection| {
                Box::pin(async move {
                    let conversation_id: String = query(
                        "UPDATE messages SET deleted_at = $3
                         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
                         RETURNING conversation_id",
                    )
                    .bind(tenant_id.to_string())
                    .bind(id.to_string())
                    .bind(at)
                    .fetch_optional_scalar(&mut *connection)
                    .await?
                    .ok_or(StoreError::not_found("message"))?;
                    let conversation_id: ConversationId =
                        parse("conversation_id", &conversation_id)?;
                    let event = ConversationEvent::MessageDeleted { message_id: id };
                    append_event(connection, tenant_id, conversation_id, &event).await
                })
            })
            .await?;
        Ok((self.get_message(tenant_id, id).await?, event))
    }
}
