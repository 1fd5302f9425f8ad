//! PostgreSQL: a batch of the inbox stored in a fixed number of statements, however many
//! messages it holds. One by one (`crate::pipeline::inbox::message::store_message`), each message costs a
//! statement to look up its provider id, contact and conversation, one to append it, and three
//! more when its contact is new; in the inbox loop, which stores batch after batch, those
//! round trips add up to the time a message waits to be stored.
//!
//! Here one statement looks up the whole batch, one creates every new contact, one opens every
//! new conversation, and one appends every message (`pipeline::append::postgres::append_all`). Redeliveries
//! are skipped, as one by one.

use std::collections::{HashMap, HashSet};

use switchboard_core::{
    ChannelId, ContactId, ConversationId, ConversationStatus, ConversationType, ParticipantKind,
    ParticipantRole, TenantId,
};

use crate::StoreError;
use crate::pipeline::append::postgres::append_all;
use crate::pipeline::append::unnumbered;
use crate::pipeline::inbox::Accepted;
use crate::pipeline::inbox::message::{Ingested, inbound_message};
use switchboard_database::{Db, query};
use switchboard_database::{RowExt, millis, now};
use switchboard_queue::entries::Registrar;

/// Stores `taken` (in id order) inside the caller's transaction: creates the contacts and
/// opens the conversations that are new, appends each message and queues its run.
pub(crate) async fn store_batch(
    connection: &mut Db<'_>,
    taken: Vec<Accepted>,
    registrar: &Registrar,
) -> Result<Ingested, StoreError> {
    let found = look_up(connection, &taken).await?;
    let mut stored = Ingested::default();
    let mut fresh = Vec::with_capacity(taken.len());
    for (accepted, found) in taken.into_iter().zip(found) {
        if found.duplicate {
            stored.duplicates += 1;
        } else {
            fresh.push((accepted, found));
        }
    }
    let contacts = create_contacts(connection, &fresh).await?;
    let mut opening = Opening::default();
    let mut messages = Vec::with_capacity(fresh.len());
    let mut entries = Vec::with_capacity(fresh.len());
    for (accepted, found) in fresh {
        let Accepted {
            tenant_id,
            channel_id,
            message: inbound,
            ..
        } = accepted;
        let contact_id = match found.contact_id {
            Some(id) => id,
            None => contacts
                .get(&(tenant_id, inbound.contact_external_id.clone()))
                .copied()
                .ok_or(StoreError::not_found("contact"))?,
        };
        let conversation_id = match found.conversation_id {
            Some(id) => id,
            None => opening.conversation(tenant_id, channel_id, contact_id),
        };
        let (id, new, queued) = inbound_message(inbound, conversation_id, contact_id, registrar);
        entries.push(Some(queued));
        messages.push(unnumbered(tenant_id, channel_id, id, new));
    }
    opening.open(connection).await?;
    stored.accepted = messages.len();
    stored.events = append_all(connection, &mut messages, entries).await?;
    Ok(stored)
}

/// What the batch's lookup learns of one message (see `crate::ingest`'s one by one).
struct Found {
    duplicate: bool,
    contact_id: Option<ContactId>,
    conversation_id: Option<ConversationId>,
}

/// Every row looks up by its own keys (`LATERAL … LIMIT 1`), so a plan never joins the
/// batch to a whole table.
const LOOK_UP: &str = "
    SELECT (SELECT id FROM messages
            WHERE channel_id = batch.channel_id
              AND provider_message_id = batch.provider_message_id) AS duplicate,
           contact.id AS contact_id,
           (SELECT id FROM conversations
            WHERE tenant_id = batch.tenant_id AND channel_id = batch.channel_id
              AND contact_id = contact.id AND status <> $2
            ORDER BY last_activity_at DESC LIMIT 1) AS conversation_id
    FROM json_to_recordset($1::json) AS batch (
        position BIGINT, tenant_id TEXT, channel_id TEXT, contact_external_id TEXT,
        provider_message_id TEXT)
    LEFT JOIN LATERAL (
        SELECT id FROM contacts
        WHERE tenant_id = batch.tenant_id AND external_id = batch.contact_external_id
        LIMIT 1) AS contact ON TRUE
    ORDER BY batch.position";

async fn look_up(connection: &mut Db<'_>, taken: &[Accepted]) -> Result<Vec<Found>, StoreError> {
    let batch: Vec<_> = taken
        .iter()
        .enumerate()
        .map(|(position, accepted)| {
            serde_json::json!({
                "position": position,
                "tenant_id": accepted.tenant_id.to_string(),
                "channel_id": accepted.channel_id.to_string(),
                "contact_external_id": accepted.message.contact_external_id,
                "provider_message_id": accepted.message.provider_message_id,
            })
        })
        .collect();
    query(LOOK_UP)
        .bind(serde_json::Value::Array(batch).to_string())
        .bind(ConversationStatus::Resolved.as_str())
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| {
            Ok(Found {
                duplicate: row.optional_text("duplicate")?.is_some(),
                contact_id: row.optional_parsed("contact_id")?,
                conversation_id: row.optional_parsed("conversation_id")?,
            })
        })
        .collect()
}

/// Creates the contacts the batch found no one for, once each, and returns every one's id by
/// tenant and provider id. A contact created meanwhile by another node is taken as it is.
async fn create_contacts(
    connection: &mut Db<'_>,
    fresh: &[(Accepted, Found)],
) -> Result<HashMap<(TenantId, String), ContactId>, StoreError> {
    let mut seen = HashSet::new();
    let batch: Vec<_> = fresh
        .iter()
        .filter(|(_, found)| found.contact_id.is_none())
        .map(|(accepted, _)| accepted)
        .filter(|accepted| {
            seen.insert((
                accepted.tenant_id,
                accepted.message.contact_external_id.as_str(),
            ))
        })
        .map(|accepted| {
            serde_json::json!({
                "id": ContactId::new().to_string(),
                "tenant_id": accepted.tenant_id.to_string(),
                "name": accepted.message.contact_name,
                "phone": accepted.message.contact_phone,
                "external_id": accepted.message.contact_external_id,
            })
        })
        .collect();
    if batch.is_empty() {
        return Ok(HashMap::new());
    }
    query(
        "INSERT INTO contacts (id, tenant_id, name, phone, external_id, created_at, updated_at)
         SELECT id, tenant_id, name, phone, external_id, $2, $2
         FROM json_to_recordset($1::json) AS batch (
             id TEXT, tenant_id TEXT, name TEXT, phone TEXT, external_id TEXT)
         ON CONFLICT (tenant_id, external_id) DO UPDATE SET external_id = EXCLUDED.external_id
         RETURNING id, tenant_id, external_id",
    )
    .bind(serde_json::Value::Array(batch).to_string())
    .bind(millis(now()))
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(|row| {
        Ok((
            (row.parsed("tenant_id")?, row.text("external_id")?),
            row.parsed("id")?,
        ))
    })
    .collect()
}

/// The direct conversations the batch opens, with their contacts as members: once each, by
/// tenant, channel and contact.
#[derive(Default)]
struct Opening {
    conversations: HashMap<(TenantId, ChannelId, ContactId), ConversationId>,
}

impl Opening {
    fn conversation(
        &mut self,
        tenant_id: TenantId,
        channel_id: ChannelId,
        contact_id: ContactId,
    ) -> ConversationId {
        *self
            .conversations
            .entry((tenant_id, channel_id, contact_id))
            .or_default() // a new id
    }

    async fn open(self, connection: &mut Db<'_>) -> Result<(), StoreError> {
        if self.conversations.is_empty() {
            return Ok(());
        }
        let batch: Vec<_> = self
            .conversations
            .into_iter()
            .map(|((tenant_id, channel_id, contact_id), id)| {
                serde_json::json!({
                    "id": id.to_string(),
                    "tenant_id": tenant_id.to_string(),
                    "channel_id": channel_id.to_string(),
                    "contact_id": contact_id.to_string(),
                    "participant_id": uuid::Uuid::now_v7().to_string(),
                })
            })
            .collect();
        query(
            "WITH batch AS (
                 SELECT * FROM json_to_recordset($1::json) AS batch (
                     id TEXT, tenant_id TEXT, channel_id TEXT, contact_id TEXT,
                     participant_id TEXT)),
             opened AS (
                 INSERT INTO conversations (id, tenant_id, channel_id, contact_id, type,
                     business_id, status, agent_id, last_seq, last_activity_at, created_at,
                     updated_at)
                 SELECT id, tenant_id, channel_id, contact_id, $3, NULL, $4, NULL, 0, $2, $2, $2
                 FROM batch
                 RETURNING id)
             INSERT INTO participants (id, tenant_id, conversation_id, kind, contact_id, role,
                                       joined_at)
             SELECT batch.participant_id, batch.tenant_id, batch.id, $5, batch.contact_id, $6, $2
             FROM batch JOIN opened ON opened.id = batch.id",
        )
        .bind(serde_json::Value::Array(batch).to_string())
        .bind(millis(now()))
        .bind(ConversationType::Direct.as_str())
        .bind(ConversationStatus::Open.as_str())
        .bind(ParticipantKind::Contact.as_str())
        .bind(ParticipantRole::Member.as_str())
        .execute(connection)
        .await?;
        Ok(())
    }
}
