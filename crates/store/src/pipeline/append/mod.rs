//! Appending a message: it takes the next `seq` of its conversation inside the caller's
//! transaction (so numbers are gap-free and never reused), moves the conversation's activity
//! forward, stores its stream event, and queues the entry that goes with it, if any; a second
//! copy of a provider message id returns the stored message. Every pipeline write that adds a
//! message goes through here: [`append`] (by id, finding the conversation's channel) and
//! [`append_at_end`] (the conversation known). On PostgreSQL the whole append is one statement
//! (`postgres`); elsewhere it goes in steps.

pub(crate) mod postgres;

use switchboard_core::{
    AuthorKind, ChannelId, ConversationEvent, Message, MessageId, ParticipantRole, TenantId, UserId,
};
use switchboard_database::{Db, Query, RowExt, millis, now, query};
use switchboard_queue::entries::Queued;

use crate::conversation_events::{StreamEvent, insert_event};
use crate::messages::{Appended, COLUMNS, NewMessage, message_from_row};
use crate::participants::advance_read_marker;
use crate::{Store, StoreError};

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
        postgres::append(connection, &mut message, queued).await?
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
