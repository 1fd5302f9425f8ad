//! The inbox: a webhook is acknowledged once its messages are accepted — each appended to the
//! inbox, unless its provider id is already stored or already waiting there (a redelivery) — and
//! its delivery receipts applied. Storing the accepted messages (contact, conversation, `seq`,
//! queued run, stream event: [`store_message`]) follows in batches, oldest first, each batch
//! deleting its inbox rows in the transaction that stores them. So a webhook's commit touches
//! only the end of one table, however many conversations the traffic spreads over.

use switchboard_core::{ChannelId, TenantId};

use crate::db::{Db, Row, query};
use crate::ingest::{IngestMessage, IngestStatus, Ingested, apply_statuses, store_message};
use crate::queue::EnqueueHook;
use crate::row::{RowExt, millis, now};
use crate::{Store, StoreError};

impl Store {
    /// Accepts one webhook body on `channel_id` in one transaction, ahead of the writes already
    /// waiting: `accepted` counts the messages added to the inbox, `duplicates` the
    /// redeliveries, and `statuses_applied` and `events` tell what the receipts changed.
    pub async fn accept(
        &self,
        tenant_id: TenantId,
        channel_id: ChannelId,
        messages: Vec<IngestMessage>,
        statuses: Vec<IngestStatus>,
    ) -> Result<Ingested, StoreError> {
        // The provider waits for this commit before it hears "stored".
        self.write_first(move |connection| {
            Box::pin(async move {
                let mut accepted = Ingested::default();
                for inbound in &messages {
                    if add_to_inbox(connection, tenant_id, channel_id, inbound).await? {
                        accepted.accepted += 1;
                    } else {
                        accepted.duplicates += 1;
                    }
                }
                apply_statuses(connection, tenant_id, channel_id, &statuses, &mut accepted)
                    .await?;
                Ok(accepted)
            })
        })
        .await
    }

    /// Stores up to `limit` accepted messages, oldest first, in one transaction that also
    /// takes them out of the inbox. `accepted` counts the messages stored, `duplicates` those
    /// found stored already; together, the inbox rows taken.
    pub async fn store_accepted(
        &self,
        limit: u32,
        hook: EnqueueHook,
    ) -> Result<Ingested, StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                // Only rows visible when the statement runs are taken, so on PostgreSQL a row
                // still committing waits for the next batch instead of being skipped.
                let rows = query(
                    "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox ORDER BY id LIMIT $1)
                     RETURNING id, tenant_id, channel_id, provider_message_id,
                               contact_external_id, contact_name, contact_phone, type, text,
                               content, priority, channel_ordering_key",
                )
                .bind(i64::from(limit))
                .fetch_all(&mut *connection)
                .await?;
                let mut taken = rows
                    .iter()
                    .map(accepted_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                taken.sort_by_key(|accepted| accepted.id);
                let mut stored = Ingested::default();
                for accepted in taken {
                    store_message(
                        connection,
                        accepted.tenant_id,
                        accepted.channel_id,
                        accepted.message,
                        &hook,
                        &mut stored,
                    )
                    .await?;
                }
                Ok(stored)
            })
        })
        .await
    }

    /// How many accepted messages wait to be stored.
    pub async fn count_accepted(&self) -> Result<u64, StoreError> {
        let count: i64 = query("SELECT COUNT(*) FROM inbox")
            .fetch_scalar(self.reader())
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}

/// An inbox row.
struct Accepted {
    id: i64,
    tenant_id: TenantId,
    channel_id: ChannelId,
    message: IngestMessage,
}

fn accepted_from_row(row: &Row) -> Result<Accepted, StoreError> {
    Ok(Accepted {
        id: row.integer("id")?,
        tenant_id: row.parsed("tenant_id")?,
        channel_id: row.parsed("channel_id")?,
        message: IngestMessage {
            contact_external_id: row.text("contact_external_id")?,
            contact_name: row.optional_text("contact_name")?,
            contact_phone: row.optional_text("contact_phone")?,
            provider_message_id: row.text("provider_message_id")?,
            message_type: row.parsed("type")?,
            text: row.optional_text("text")?,
            content: row.optional_json("content")?,
            priority: u8::try_from(row.integer("priority")?).unwrap_or(u8::MAX),
            channel_ordering_key: row.optional_text("channel_ordering_key")?,
        },
    })
}

/// Adds `inbound` to the inbox; `false` when its provider id is stored or waiting already.
async fn add_to_inbox(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    channel_id: ChannelId,
    inbound: &IngestMessage,
) -> Result<bool, StoreError> {
    let added: Option<i64> = query(
        "INSERT INTO inbox (tenant_id, channel_id, provider_message_id, contact_external_id,
                            contact_name, contact_phone, type, text, content, priority,
                            channel_ordering_key, received_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
         WHERE NOT EXISTS (
             SELECT 1 FROM messages WHERE channel_id = $2 AND provider_message_id = $3)
         ON CONFLICT (channel_id, provider_message_id) DO NOTHING
         RETURNING id",
    )
    .bind(tenant_id.to_string())
    .bind(channel_id.to_string())
    .bind(&inbound.provider_message_id)
    .bind(&inbound.contact_external_id)
    .bind(inbound.contact_name.clone())
    .bind(inbound.contact_phone.clone())
    .bind(inbound.message_type.as_str())
    .bind(inbound.text.clone())
    .bind(inbound.content.as_ref().map(serde_json::Value::to_string))
    .bind(i64::from(inbound.priority))
    .bind(inbound.channel_ordering_key.clone())
    .bind(millis(now()))
    .fetch_optional_scalar(&mut *connection)
    .await?;
    let Some(id) = added else {
        return Ok(false);
    };
    // On PostgreSQL, a redelivery can race the storing of its first delivery: the insert waited
    // for that transaction to take the first row out of the inbox, but `NOT EXISTS` read from
    // before it committed the message. A second look sees it. (SQLite's single writer runs
    // the two one after the other.)
    if connection.is_postgres() {
        let stored: Option<i64> = query(
            "DELETE FROM inbox WHERE id = $1 AND EXISTS (
                 SELECT 1 FROM messages WHERE channel_id = $2 AND provider_message_id = $3)
             RETURNING id",
        )
        .bind(id)
        .bind(channel_id.to_string())
        .bind(&inbound.provider_message_id)
        .fetch_optional_scalar(connection)
        .await?;
        return Ok(stored.is_none());
    }
    Ok(true)
}
