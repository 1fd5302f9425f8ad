//! What leaves through a channel. Messages written by people (operators over REST) leave like an
//! agent's reply: the message and its delivery entry are stored in one transaction, the entry
//! queued on the conversation's outbound key at the message's `seq`, so operator messages and
//! agent replies leave in conversation order. A delivery starts by reading what to send and
//! marking its entry `sending`, and completes by recording the provider's id, `sent`, and the
//! entry's acknowledgement together.

mod postgres_complete;
mod postgres_start;

pub(crate) use postgres_complete::CompletionBatches;
pub(crate) use postgres_start::StartBatches;

use std::sync::LazyLock;

use switchboard_core::{
    ChannelId, ConversationEvent, ConversationId, EntryKind, MessageId, MessageStatus, OrderingKey,
    QueueEntry, QueueEntryId, TenantId,
};

use crate::conversation_events::{StreamEvent, append_event};
use crate::messages::{Appended, COLUMNS, NewMessage, message_from_row};
use crate::pipeline::append::append;
use crate::{Store, StoreError};
use switchboard_database::{Db, Row, query};
use switchboard_database::{RowExt, parse};
use switchboard_queue::entries::{NewEntry, Numbering, Queued, Registrar, acknowledge};

/// What sending an outbound message takes, read in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub channel_id: ChannelId,
    pub text: Option<String>,
    /// Whom it goes to; `None` when the conversation has no contact.
    pub recipient: Option<Recipient>,
}

/// The contact an outbound message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub external_id: Option<String>,
    pub phone: Option<String>,
}

/// What [`Outgoing`] is read from: the message, its conversation and the contact.
pub(crate) const OUTGOING_COLUMNS: &str = "m.text, m.conversation_id, c.channel_id, c.contact_id,
    contact.id AS contact_found, contact.external_id, contact.phone";
pub(crate) const OUTGOING_FROM: &str = "FROM messages m
    JOIN conversations c ON c.id = m.conversation_id
    LEFT JOIN contacts contact ON contact.id = c.contact_id";

/// An outbound message with its conversation's channel and contact: `$1` the tenant, `$2` the
/// message. Built once, as PostgreSQL's (`postgres_start`): they run for every delivery.
static OUTGOING: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {OUTGOING_COLUMNS} {OUTGOING_FROM} WHERE m.tenant_id = $1 AND m.id = $2")
});

pub(crate) fn outgoing_from_row(row: &Row, message_id: MessageId) -> Result<Outgoing, StoreError> {
    let recipient = match (
        row.optional_text("contact_id")?,
        row.optional_text("contact_found")?,
    ) {
        (None, _) => None,
        (Some(_), None) => return Err(StoreError::NotFound { entity: "contact" }),
        (Some(_), Some(_)) => Some(Recipient {
            external_id: row.optional_text("external_id")?,
            phone: row.optional_text("phone")?,
        }),
    };
    Ok(Outgoing {
        message_id,
        conversation_id: row.parsed("conversation_id")?,
        channel_id: row.parsed("channel_id")?,
        text: row.optional_text("text")?,
        recipient,
    })
}

/// Where an outbound message's delivery is queued.
pub struct Delivery {
    /// A key of the conversation's own (its `seq` places the entry).
    pub ordering_key: OrderingKey,
    pub priority: u8,
    pub registrar: Registrar,
}

/// The delivery entry of the outbound message `message_id`, queued on `ordering_key`: a
/// conversation's own key (`key_is_conversation`) numbers it by the message's `seq`; a key that
/// spans conversations (a business number's) by the key's own counter, since two
/// conversations' `seq`s may be equal.
pub(crate) fn delivery_entry<'h>(
    ordering_key: OrderingKey,
    key_is_conversation: bool,
    priority: u8,
    conversation_id: ConversationId,
    message_id: MessageId,
    registrar: &'h Registrar,
) -> Queued<'h> {
    Queued {
        entry: NewEntry {
            kind: EntryKind::Deliver,
            ordering_key,
            priority,
            conversation_id,
            message_id,
        },
        numbering: if key_is_conversation {
            Numbering::MessageSeq
        } else {
            Numbering::KeyCounter
        },
        registrar,
    }
}

/// An outbound message with its conversation's channel and contact, read in the caller's
/// write.
async fn outgoing(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    message_id: MessageId,
) -> Result<Outgoing, StoreError> {
    let row = query(OUTGOING.as_str())
        .bind(tenant_id.to_string())
        .bind(message_id.to_string())
        .fetch_optional(connection)
        .await?
        .ok_or(StoreError::NotFound { entity: "message" })?;
    outgoing_from_row(&row, message_id)
}

impl Store {
    /// An outbound message with its conversation's channel and contact, and its delivery entry
    /// `entry_id` marked `sending` so a restart knows its send may be a resend; the entry is
    /// marked only if the message exists. On PostgreSQL one statement, which commits by itself
    /// (a round trip fewer per reply), shared with the deliveries starting at the same moment.
    /// On SQLite one write: its read finds the pages in the writer's cache, which commits keep,
    /// where a reader's would start cold after each of them.
    pub async fn start_delivery(
        &self,
        tenant_id: TenantId,
        entry_id: QueueEntryId,
        message_id: MessageId,
    ) -> Result<Outgoing, StoreError> {
        if self.backend() != crate::Backend::Postgres {
            return self
                .write(move |connection| {
                    Box::pin(async move {
                        let outgoing = outgoing(connection, tenant_id, message_id).await?;
                        switchboard_queue::entries::mark_sending(connection, entry_id).await?;
                        Ok(outgoing)
                    })
                })
                .await;
        }
        let start = postgres_start::Starting {
            tenant_id,
            entry_id,
            message_id,
        };
        self.inner.starts.submit(&self.inner.database, start).await
    }

    /// Records that the provider accepted a delivery and acknowledges its entry. On PostgreSQL
    /// one statement, shared with the deliveries completing at the same moment
    /// (`postgres_complete`).
    pub async fn complete_delivery(
        &self,
        tenant_id: TenantId,
        entry_id: QueueEntryId,
        message_id: MessageId,
        provider_message_id: Option<String>,
    ) -> Result<Vec<StreamEvent>, StoreError> {
        if self.backend() == crate::Backend::Postgres {
            let delivery = postgres_complete::Completed {
                tenant_id,
                entry_id,
                message_id,
                provider_message_id,
            };
            return self
                .inner
                .deliveries
                .submit(&self.inner.database, delivery)
                .await;
        }
        self.write(move |connection| {
            Box::pin(async move {
                acknowledge(connection, entry_id).await?;
                // A receipt may have moved the status on already; only `pending` becomes `sent`.
                let sent: Option<String> = query(
                    "UPDATE messages SET status = 'sent',
                         provider_message_id = COALESCE(provider_message_id, $3)
                     WHERE tenant_id = $1 AND id = $2 AND status = 'pending'
                     RETURNING conversation_id",
                )
                .bind(tenant_id.to_string())
                .bind(message_id.to_string())
                .bind(provider_message_id.clone())
                .fetch_optional_scalar(&mut *connection)
                .await?;
                let Some(conversation_id) = sent else {
                    query(
                        "UPDATE messages SET provider_message_id = COALESCE(provider_message_id, $3)
                         WHERE tenant_id = $1 AND id = $2",
                    )
                    .bind(tenant_id.to_string())
                    .bind(message_id.to_string())
                    .bind(provider_message_id)
                    .execute(connection)
                    .await?;
                    return Ok(Vec::new());
                };
                let event = ConversationEvent::MessageStatus {
                    message_id,
                    status: MessageStatus::Sent,
                };
                let conversation_id = parse("conversation_id", &conversation_id)?;
                Ok(vec![
                    append_event(connection, tenant_id, conversation_id, &event).await?,
                ])
            })
        })
        .await
    }

    /// Appends an outbound message and, with `delivery`, queues its send in the same
    /// transaction. With an `idempotency_key` already used in the conversation, nothing is
    /// written and the message it sent is returned (`created: false`).
    pub async fn append_outbound(
        &self,
        tenant_id: TenantId,
        new: NewMessage,
        delivery: Option<Delivery>,
        idempotency_key: Option<String>,
    ) -> Result<(Appended, Option<QueueEntry>), StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                if let Some(key) = &idempotency_key
                    && let Some(sent) =
                        find_by_idempotency_key(connection, tenant_id, new.conversation_id, key)
                            .await?
                {
                    let appended = Appended {
                        message: sent,
                        created: false,
                        event: None,
                    };
                    return Ok((appended, None));
                }
                let appended = append(connection, tenant_id, MessageId::new(), new).await?;
                let message = &appended.message;
                if let Some(key) = idempotency_key {
                    query("UPDATE messages SET idempotency_key = $1 WHERE id = $2")
                        .bind(key)
                        .bind(message.id.to_string())
                        .execute(&mut *connection)
                        .await?;
                }
                let entry = match delivery {
                    Some(delivery) => Some(
                        delivery_entry(
                            delivery.ordering_key,
                            true,
                            delivery.priority,
                            message.conversation_id,
                            message.id,
                            &delivery.registrar,
                        )
                        .insert(connection, tenant_id, message.seq)
                        .await?,
                    ),
                    None => None,
                };
                Ok((appended, entry))
            })
        })
        .await
    }
}

/// The message `key` already sent in the conversation, if any. On PostgreSQL the conversation's
/// row is locked first, so a concurrent send with the same key waits for this one and then
/// finds its message (SQLite has one writer); the unique index is the backstop.
async fn find_by_idempotency_key(
    connection: &mut switchboard_database::Db<'_>,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    key: &str,
) -> Result<Option<switchboard_core::Message>, StoreError> {
    if connection.is_postgres() {
        query("SELECT 1 FROM conversations WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant_id.to_string())
            .bind(conversation_id.to_string())
            .execute(&mut *connection)
            .await?;
    }
    let sent = query(format!(
        "SELECT {COLUMNS} FROM messages
         WHERE tenant_id = $1 AND conversation_id = $2 AND idempotency_key = $3"
    ))
    .bind(tenant_id.to_string())
    .bind(conversation_id.to_string())
    .bind(key)
    .fetch_optional(&mut *connection)
    .await?;
    sent.as_ref().map(message_from_row).transpose()
}
