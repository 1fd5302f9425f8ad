//! Messages. Appending one takes the next `seq` of its conversation inside the same transaction
//! (so numbers are gap-free and never reused), moves the conversation's activity forward, and
//! refuses a second copy of a provider message id: redelivery returns the stored message.

use switchboard_core::{
    AuthorKind, ChannelId, ConversationEvent, ConversationId, Message, MessageDirection, MessageId,
    MessageStatus, MessageType, Page, ParticipantRole, TenantId, UserId,
};

use crate::conversation_events::{StreamEvent, append_event, insert_event};
use crate::participants::advance_read_marker;
use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Db, Query, Row, query};
use switchboard_database::{RowExt, millis, now, parse};
use switchboard_queue::entries::Queued;

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
    /// Appends a message at the end of its conversation.
    pub async fn append_message(
        &self,
        tenant_id: TenantId,
        new: NewMessage,
    ) -> Result<Appended, StoreError> {
        self.write(move |connection| Box::pin(append(connection, tenant_id, MessageId::new(), new)))
            .await
    }

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

    /// Up to `limit` messages before `before_seq`, oldest first: an agent's view of history. On
    /// PostgreSQL one statement shared by the turns reading at the same moment
    /// (`postgres::turn_reads`).
    pub async fn messages_before(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        before_seq: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        if self.backend() == crate::Backend::Postgres {
            let read = crate::postgres::HistoryRead {
                tenant_id,
                conversation_id,
                before_seq,
                limit,
            };
            return self
                .inner
                .histories
                .submit(&self.inner.database, read)
                .await;
        }
        read_history(self.reader(), tenant_id, conversation_id, before_seq, limit).await
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

/// Appends `new` with the id `id` inside the caller's transaction: finds the conversation's
/// channel, returns the stored message if the provider id is a redelivery, else appends.
pub(crate) async fn append(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    id: MessageId,
    new: NewMessage,
) -> Result<Appended, StoreError> {
    let channel_id: ChannelId =
        query("SELECT channel_id FROM conversations WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id.to_string())
            .bind(new.conversation_id.to_string())
            .fetch_optional_scalar::<String>(&mut *connection)
            .await?
            .ok_or(StoreError::not_found("conversation"))?
            .parse()
            .map_err(|_| StoreError::Corrupt {
                column: "channel_id",
                reason: "not a uuid".into(),
            })?;
    if let Some(provider_id) = &new.provider_message_id
        && let Some(existing) = find_by_provider_id(connection, channel_id, provider_id).await?
    {
        return Ok(Appended {
            message: existing,
            created: false,
            event: None,
        });
    }
    let (message, event) = append_at_end(connection, tenant_id, channel_id, id, new, None).await?;
    Ok(Appended {
        message,
        created: true,
        event: Some(event),
    })
}

/// The message a provider id already names on a channel, if any.
pub(crate) async fn find_by_provider_id(
    connection: &mut Db<'_>,
    channel_id: ChannelId,
    provider_id: &str,
) -> Result<Option<Message>, StoreError> {
    let existing = query(format!(
        "SELECT {COLUMNS} FROM messages WHERE channel_id = $1 AND provider_message_id = $2"
    ))
    .bind(channel_id.to_string())
    .bind(provider_id)
    .fetch_optional(&mut *connection)
    .await?;
    existing.as_ref().map(message_from_row).transpose()
}

/// Takes the conversation's next `seq` (the conversation row stays locked until commit, so seqs
/// follow commit order), inserts the message with it and its `message_created` event, and with
/// `queued` queues its entry. The caller has ruled out duplicates.
pub(crate) async fn append_at_end(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    channel_id: ChannelId,
    id: MessageId,
    new: NewMessage,
    queued: Option<Queued<'_>>,
) -> Result<(Message, StreamEvent), StoreError> {
    let mut message = unnumbered(tenant_id, channel_id, id, new);
    let event = if connection.is_postgres() {
        crate::postgres::append(connection, &mut message, queued).await?
    } else {
        append_in_steps(connection, &mut message, queued).await?
    };

    // Whoever writes a message has read the conversation up to it, and takes part in it.
    if message.author_kind == AuthorKind::User
        && let Some(user_id) = message
            .author_id
            .as_deref()
            .and_then(|id| id.parse::<UserId>().ok())
    {
        let join_as = ParticipantRole::Operator;
        advance_read_marker(
            connection,
            tenant_id,
            message.conversation_id,
            user_id,
            message.seq,
            join_as,
        )
        .await?;
    }
    Ok((message, event))
}

/// `new` as it will be appended, created now, before its `seq` is known.
pub(crate) fn unnumbered(
    tenant_id: TenantId,
    channel_id: ChannelId,
    id: MessageId,
    new: NewMessage,
) -> Message {
    Message {
        id,
        tenant_id,
        conversation_id: new.conversation_id,
        channel_id,
        seq: 0,
        direction: new.direction,
        author_kind: new.author_kind,
        author_id: new.author_id,
        message_type: new.message_type,
        text: new.text,
        content: new.content,
        provider_message_id: new.provider_message_id,
        status: new.status,
        created_at: now(),
        deleted_at: None,
    }
}

/// Binds a message's columns as `$1`–`$13`, as the inserts of both backends take them.
pub(crate) fn bind_message(statement: Query, message: &Message) -> Query {
    statement
        .bind(message.id.to_string())
        .bind(message.tenant_id.to_string())
        .bind(message.conversation_id.to_string())
        .bind(message.channel_id.to_string())
        .bind(message.direction.as_str())
        .bind(message.author_kind.as_str())
        .bind(message.author_id.clone())
        .bind(message.message_type.as_str())
        .bind(message.text.clone())
        .bind(message.content.as_ref().map(|content| content.to_string()))
        .bind(message.provider_message_id.clone())
        .bind(message.status.as_str())
        .bind(millis(message.created_at))
}

/// [`append_at_end`] one statement at a time (SQLite, where a statement costs no round trip).
async fn append_in_steps(
    connection: &mut Db<'_>,
    message: &mut Message,
    queued: Option<Queued<'_>>,
) -> Result<StreamEvent, StoreError> {
    let counters = query(
        "UPDATE conversations
         SET last_seq = last_seq + 1, event_offset = event_offset + 1, last_message_id = $3,
             last_activity_at = $4, updated_at = $4
         WHERE tenant_id = $1 AND id = $2
         RETURNING last_seq, event_offset",
    )
    .bind(message.tenant_id.to_string())
    .bind(message.conversation_id.to_string())
    .bind(message.id.to_string())
    .bind(millis(message.created_at))
    .fetch_optional(&mut *connection)
    .await?
    .ok_or(StoreError::not_found("conversation"))?;
    message.seq = counters.integer("last_seq")?;
    bind_message(
        query(
            "INSERT INTO messages (id, tenant_id, conversation_id, channel_id, seq, direction,
                 author_kind, author_id, type, text, content, provider_message_id, status, created_at)
             VALUES ($1, $2, $3, $4, $14, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        ),
        message,
    )
    .bind(message.seq)
    .execute(&mut *connection)
    .await?;
    let event = ConversationEvent::MessageCreated {
        message: message.clone(),
    };
    let event = insert_event(
        connection,
        message.tenant_id,
        message.conversation_id,
        counters.integer("event_offset")?,
        &event,
    )
    .await?;
    if let Some(queued) = queued {
        queued
            .insert(connection, message.tenant_id, message.seq)
            .await?;
    }
    Ok(event)
}

/// [`Store::messages_before`] in a statement of its own.
pub(crate) async fn read_history(
    reader: Db<'_>,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    before_seq: i64,
    limit: u32,
) -> Result<Vec<Message>, StoreError> {
    let rows = query(format!(
        "SELECT {COLUMNS} FROM messages
         WHERE conversation_id = $2 AND tenant_id = $1 AND seq < $3 AND deleted_at IS NULL
         ORDER BY seq DESC LIMIT $4"
    ))
    .bind(tenant_id.to_string())
    .bind(conversation_id.to_string())
    .bind(before_seq)
    .bind(i64::from(limit))
    .fetch_all(reader)
    .await?;
    let mut messages = rows
        .iter()
        .map(message_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    messages.reverse();
    Ok(messages)
}
