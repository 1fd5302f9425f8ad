//! Messages written by people (operators over REST) that must leave through the channel like an
//! agent's reply: the message and its delivery entry are stored in one transaction, the entry
//! queued on the conversation's outbound key at the message's `seq`, so operator messages and
//! agent replies leave in conversation order.

use switchboard_core::{EntryKind, Message, MessageId, QueueEntry, TenantId};

use crate::db::Db;
use crate::messages::{Appended, NewMessage, append};
use crate::queue::{EnqueueHook, NewEntry, Position, enqueue};
use crate::{Store, StoreError};

/// Where an outbound message's delivery is queued.
pub struct Delivery {
    /// A key of the conversation's own (its `seq` places the entry).
    pub ordering_key: String,
    pub priority: u8,
    pub hook: EnqueueHook,
}

/// Queues the send of `message` on `ordering_key`, inside the caller's transaction: a
/// conversation's own key is placed by the message's `seq`; a key that spans conversations (a
/// business number's) by the key's own counter, since two conversations' `seq`s may be equal.
pub(crate) async fn enqueue_delivery(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    message: &Message,
    ordering_key: String,
    key_is_conversation: bool,
    priority: u8,
    hook: &EnqueueHook,
) -> Result<QueueEntry, StoreError> {
    let position = if key_is_conversation {
        Position::Seq(message.seq)
    } else {
        Position::Next
    };
    let entry = NewEntry {
        kind: EntryKind::Deliver,
        ordering_key,
        priority,
        conversation_id: message.conversation_id,
        message_id: message.id,
    };
    enqueue(connection, tenant_id, entry, position, hook).await
}

impl Store {
    /// Appends an outbound message and, with `delivery`, queues its send in the same
    /// transaction.
    pub async fn append_outbound(
        &self,
        tenant_id: TenantId,
        new: NewMessage,
        delivery: Option<Delivery>,
    ) -> Result<(Appended, Option<QueueEntry>), StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                let appended = append(connection, tenant_id, MessageId::new(), new).await?;
                let message = &appended.message;
                let entry = match delivery {
                    Some(delivery) => Some(
                        enqueue_delivery(
                            connection,
                            tenant_id,
                            message,
                            delivery.ordering_key,
                            true,
                            delivery.priority,
                            &delivery.hook,
                        )
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
