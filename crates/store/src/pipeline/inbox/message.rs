//! Inbound messages and receipts, as the inbox ([`crate::pipeline::inbox`]) stores them: for each message,
//! find or create the contact, find or open the conversation, append the message (a provider id
//! already stored is a duplicate: nothing changes), and queue the run; and delivery receipts
//! move statuses forward.

use switchboard_core::{
    AuthorKind, ChannelId, ContactId, ConversationEvent, ConversationId, ConversationType,
    EntryKind, MessageDirection, MessageId, MessageStatus, MessageType, OrderingKey, TenantId,
};

use crate::StoreError;
use crate::conversation_events::{StreamEvent, append_event};
use crate::conversations::{NewConversation, insert_conversation};
use crate::messages::NewMessage;
use crate::pipeline::append::append_at_end;
use switchboard_database::{Db, query};
use switchboard_database::{RowExt, millis, now};
use switchboard_queue::entries::{NewEntry, Numbering, Queued, Registrar};

/// One inbound message, in the store's terms.
#[derive(Debug, Clone)]
pub struct IngestMessage {
    /// The contact's provider id, namespaced by channel kind (`whatsapp:972…`).
    pub contact_external_id: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub provider_message_id: String,
    pub message_type: MessageType,
    pub text: Option<String>,
    pub content: Option<serde_json::Value>,
    pub priority: u8,
    /// The ordering key for this message's run when the channel orders by business number;
    /// `None` orders by conversation.
    pub channel_ordering_key: Option<OrderingKey>,
}

/// A delivery receipt for an outbound message.
#[derive(Debug, Clone)]
pub struct IngestStatus {
    pub provider_message_id: String,
    pub status: MessageStatus,
    pub error: Option<serde_json::Value>,
}

/// What accepting a webhook body, or storing a batch of the inbox, changed.
#[derive(Debug, Default)]
pub struct Ingested {
    /// New messages: added to the inbox (`Store::accept`), or stored with their run queued
    /// (`Store::store_accepted`).
    pub accepted: usize,
    /// Messages whose provider id was already waiting in the inbox or stored.
    pub duplicates: usize,
    /// Receipts that moved a message's status forward.
    pub statuses_applied: usize,
    /// What the conversations' streams tell of these changes, in commit order per conversation.
    pub events: Vec<StreamEvent>,
}

/// Stores one inbound message: finds or creates its contact, finds or opens its conversation,
/// appends it and queues its run. A provider id already stored makes it a duplicate.
pub(crate) async fn store_message(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    channel_id: ChannelId,
    inbound: IngestMessage,
    registrar: &Registrar,
    ingested: &mut Ingested,
) -> Result<(), StoreError> {
    let found = lookup(connection, tenant_id, channel_id, &inbound).await?;
    if found.duplicate {
        ingested.duplicates += 1;
        return Ok(());
    }
    let contact_id = match found.contact_id {
        Some(id) => id,
        None => create_contact(connection, tenant_id, &inbound).await?,
    };
    let conversation_id = match found.conversation_id {
        Some(id) => id,
        None => open_conversation(connection, tenant_id, channel_id, contact_id).await?,
    };
    let (id, new, queued) = inbound_message(inbound, conversation_id, contact_id, registrar);
    let (_, event) =
        append_at_end(connection, tenant_id, channel_id, id, new, Some(queued)).await?;
    ingested.events.push(event);
    ingested.accepted += 1;
    Ok(())
}

/// `inbound` as a message of `contact_id` to append to `conversation_id`, with its new id and
/// its run to queue: by the conversation, or by the channel's key when it has one.
pub(crate) fn inbound_message(
    inbound: IngestMessage,
    conversation_id: ConversationId,
    contact_id: ContactId,
    registrar: &Registrar,
) -> (MessageId, NewMessage, Queued<'_>) {
    let id = MessageId::new();
    let (ordering_key, numbering) = match inbound.channel_ordering_key {
        Some(key) => (key, Numbering::KeyCounter),
        None => (
            OrderingKey::conversation(conversation_id),
            Numbering::MessageSeq,
        ),
    };
    let queued = Queued {
        entry: NewEntry {
            kind: EntryKind::Run,
            ordering_key,
            priority: inbound.priority,
            conversation_id,
            message_id: id,
        },
        numbering,
        registrar,
    };
    let new = NewMessage {
        conversation_id,
        direction: MessageDirection::Inbound,
        author_kind: AuthorKind::Contact,
        author_id: Some(contact_id.to_string()),
        message_type: inbound.message_type,
        text: inbound.text,
        content: inbound.content,
        provider_message_id: Some(inbound.provider_message_id),
        status: MessageStatus::Received,
    };
    (id, new, queued)
}

/// Applies a body's delivery receipts, noting those that moved a status forward.
pub(crate) async fn apply_statuses(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    channel_id: ChannelId,
    statuses: &[IngestStatus],
    ingested: &mut Ingested,
) -> Result<(), StoreError> {
    for receipt in statuses {
        if let Some(event) = apply_status(connection, tenant_id, channel_id, receipt).await? {
            ingested.statuses_applied += 1;
            ingested.events.push(event);
        }
    }
    Ok(())
}

/// What one statement learns about an inbound message: is it a redelivery, is its contact
/// known, and is there a conversation to add it to.
struct Lookup {
    duplicate: bool,
    contact_id: Option<ContactId>,
    conversation_id: Option<ConversationId>,
}

/// What an inbound message finds before it is stored: `$1` the tenant, `$2` the channel, `$3`
/// the contact's provider id, `$4` the message's. The contact's open conversation is its newest
/// on the channel. The `+` keeps SQLite from reading the tenant's conversations in activity
/// order to find it (`conversations_activity` gives that order without a sort): it finds the
/// contact's few (`conversations_open`) and sorts them.
const LOOKUP: &str = "SELECT
        (SELECT id FROM messages WHERE channel_id = $2 AND provider_message_id = $4) AS duplicate,
        contact.id AS contact_id,
        (SELECT id FROM conversations
         WHERE tenant_id = $1 AND channel_id = $2 AND contact_id = contact.id AND status <> 'resolved'
         ORDER BY +last_activity_at DESC LIMIT 1) AS conversation_id
     FROM (SELECT 1 AS one) AS anchor
     LEFT JOIN contacts contact ON contact.tenant_id = $1 AND contact.external_id = $3";

async fn lookup(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    channel_id: ChannelId,
    inbound: &IngestMessage,
) -> Result<Lookup, StoreError> {
    let row = query(LOOKUP)
        .bind(tenant_id.to_string())
        .bind(channel_id.to_string())
        .bind(&inbound.contact_external_id)
        .bind(&inbound.provider_message_id)
        .fetch_one(&mut *connection)
        .await?;
    Ok(Lookup {
        duplicate: row.optional_text("duplicate")?.is_some(),
        contact_id: row.optional_parsed("contact_id")?,
        conversation_id: row.optional_parsed("conversation_id")?,
    })
}

async fn create_contact(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    inbound: &IngestMessage,
) -> Result<ContactId, StoreError> {
    let id = ContactId::new();
    let at = millis(now());
    query(
        "INSERT INTO contacts (id, tenant_id, name, phone, external_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(id.to_string())
    .bind(tenant_id.to_string())
    .bind(inbound.contact_name.clone())
    .bind(inbound.contact_phone.clone())
    .bind(&inbound.contact_external_id)
    .bind(at)
    .execute(connection)
    .await?;
    Ok(id)
}

/// Opens a direct conversation with the contact as its member.
async fn open_conversation(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    channel_id: ChannelId,
    contact_id: ContactId,
) -> Result<ConversationId, StoreError> {
    let id = ConversationId::new();
    let new = NewConversation {
        channel_id,
        contact_id: Some(contact_id),
        conversation_type: ConversationType::Direct,
        business_id: None,
        agent_id: None,
    };
    insert_conversation(connection, tenant_id, id, new).await?;
    Ok(id)
}

/// Moves an outbound message's status forward only: pending → sent → delivered → read, or to
/// failed from anything before read. Returns the stream event when it moved.
pub(crate) async fn apply_status(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    channel_id: ChannelId,
    receipt: &IngestStatus,
) -> Result<Option<StreamEvent>, StoreError> {
    let allowed_from: &[&str] = match receipt.status {
        MessageStatus::Sent => &["pending"],
        MessageStatus::Delivered => &["pending", "sent"],
        MessageStatus::Read => &["pending", "sent", "delivered"],
        MessageStatus::Failed => &["pending", "sent", "delivered"],
        _ => return Ok(None),
    };
    let content = receipt
        .error
        .as_ref()
        .map(|error| serde_json::json!({ "error": error }).to_string());
    let moved = query(
        "UPDATE messages SET status = $4, content = COALESCE($5, content)
         WHERE tenant_id = $1 AND channel_id = $2 AND provider_message_id = $3
           AND direction = 'outbound' AND status IN ($6, $7, $8)
         RETURNING id, conversation_id",
    )
    .bind(tenant_id.to_string())
    .bind(channel_id.to_string())
    .bind(&receipt.provider_message_id)
    .bind(receipt.status.as_str())
    .bind(content)
    .bind(allowed_from[0])
    .bind(allowed_from.get(1).copied().unwrap_or(allowed_from[0]))
    .bind(allowed_from.get(2).copied().unwrap_or(allowed_from[0]))
    .fetch_optional(&mut *connection)
    .await?;
    let Some(moved) = moved else {
        return Ok(None);
    };
    let event = ConversationEvent::MessageStatus {
        message_id: moved.parsed("id")?,
        status: receipt.status,
    };
    let conversation_id = moved.parsed("conversation_id")?;
    append_event(connection, tenant_id, conversation_id, &event)
        .await
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::LOOKUP;
    use crate::admin::sqlite_plan;

    /// On SQLite the lookup reads the contact's own conversations, not the tenant's one by one.
    #[tokio::test]
    async fn the_open_conversation_is_found_among_the_contacts_own() -> anyhow::Result<()> {
        let plan = sqlite_plan(LOOKUP).await?;
        assert!(
            plan.contains("SEARCH conversations USING INDEX conversations_open"),
            "{plan}"
        );
        assert!(!plan.contains("conversations_activity"), "{plan}");
        Ok(())
    }
}
