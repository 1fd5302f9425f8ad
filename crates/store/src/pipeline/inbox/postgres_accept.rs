//! PostgreSQL: webhooks accepted at the same moment share their statements.
//!
//! Accepting a webhook takes two statements, each committing by itself: the inbox insert, then
//! the probe for a redelivery already stored, which must see what committed while the insert
//! waited (see `crate::pipeline::inbox::add_to_inbox`), so cannot be part of it. Webhooks arriving at
//! the same moment are accepted in batches (`switchboard_database::batches`, four at once, of up to 256)
//! with the same two statements however many there are.
//!
//! No transaction holds the two together: a crash between them leaves a redelivery in the
//! inbox, which storing it finds already stored and skips (`postgres_store::store_batch`). Webhooks
//! with delivery receipts are accepted in a transaction (see [`accept_all`]).
//!
//! Each caller still hears only its own webhook's outcome, and only once it is durable. If a
//! batch fails, each of its webhooks is tried again alone, so one webhook's failure is never
//! another's (a message the failed batch did add is then counted a redelivery: it is in the
//! inbox all the same); if the database is unavailable, every caller hears so at once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::BoxFuture;
use switchboard_core::{ChannelId, TenantId};

use crate::StoreError;
use crate::pipeline::inbox::message::{IngestMessage, IngestStatus, Ingested, apply_statuses};
use switchboard_database::Database;
use switchboard_database::batches::{BatchWork, Batched, Batches, together_or_alone};
use switchboard_database::{Db, query};
use switchboard_database::{RowExt, millis, now};

/// One webhook body to accept.
#[derive(Clone)]
pub(crate) struct Webhook {
    pub tenant_id: TenantId,
    pub channel_id: ChannelId,
    pub messages: Vec<IngestMessage>,
    pub statuses: Vec<IngestStatus>,
}

/// Webhooks accepted at the same moment, in batches.
pub(crate) type AcceptBatches = Batches<Webhook>;

impl BatchWork for Webhook {
    type Error = StoreError;
    type Outcome = Ingested;
    const BATCHES: usize = 4;
    const MAX_BATCH: usize = 256;

    fn run(database: Database, batch: Vec<Batched<Self>>) -> BoxFuture<'static, ()> {
        Box::pin(async move { accept_batch(&database, batch).await })
    }
}

/// Accepts `batch` together; if that fails, each of its webhooks alone.
async fn accept_batch(database: &Database, batch: Vec<Batched<Webhook>>) {
    together_or_alone(
        batch,
        |webhooks| {
            let accepted = accept_all(database, webhooks);
            async { Ok(accepted.await?.into_iter().map(Ok).collect()) }
        },
        |webhook| accept_alone(database, webhook),
    )
    .await;
}

/// Accepts one webhook alone.
async fn accept_alone(database: &Database, webhook: Webhook) -> Result<Ingested, StoreError> {
    accept_all(database, Arc::new(vec![webhook]))
        .await
        .map(|mut outcomes| outcomes.pop().unwrap_or_default())
}

/// Accepts `webhooks` together: each statement committing by itself, but for receipts, which
/// move a status and store its stream event in two statements that must commit together, so
/// webhooks carrying any are accepted in a transaction.
async fn accept_all(
    database: &Database,
    webhooks: Arc<Vec<Webhook>>,
) -> Result<Vec<Ingested>, StoreError> {
    if webhooks.iter().any(|webhook| !webhook.statuses.is_empty()) {
        database
            .write_first(move |connection| {
                Box::pin(async move { accept_together(connection, &webhooks).await })
            })
            .await
    } else {
        database
            .write_first_each_committed(move |connection| {
                Box::pin(async move { accept_together(connection, &webhooks).await })
            })
            .await
    }
}

/// Accepts webhooks, in order: each message is added to the inbox
/// unless its provider id is already waiting there or stored (see `crate::pipeline::inbox`), and each
/// webhook's receipts are applied. Two statements add every message, however many.
async fn accept_together(
    connection: &mut Db<'_>,
    webhooks: &[Webhook],
) -> Result<Vec<Ingested>, StoreError> {
    let mut outcomes: Vec<Ingested> = webhooks.iter().map(|_| Ingested::default()).collect();
    let rows: Vec<serde_json::Value> = webhooks
        .iter()
        .flat_map(|webhook| {
            webhook
                .messages
                .iter()
                .map(move |message| (webhook, message))
        })
        .enumerate()
        .map(|(position, (webhook, message))| {
            serde_json::json!({
                "position": position,
                "tenant_id": webhook.tenant_id.to_string(),
                "channel_id": webhook.channel_id.to_string(),
                "provider_message_id": message.provider_message_id,
                "contact_external_id": message.contact_external_id,
                "contact_name": message.contact_name,
                "contact_phone": message.contact_phone,
                "type": message.message_type.as_str(),
                "text": message.text,
                "content": message.content.as_ref().map(serde_json::Value::to_string),
                "priority": message.priority,
                "channel_ordering_key": message.channel_ordering_key,
            })
        })
        .collect();
    if !rows.is_empty() {
        // Rows go in in the batch's order (so do their ids); a provider id already waiting,
        // or twice in the batch, adds no row the second time.
        let added = query(
            "INSERT INTO inbox (tenant_id, channel_id, provider_message_id, contact_external_id,
                                contact_name, contact_phone, type, text, content, priority,
                                channel_ordering_key, received_at)
             SELECT tenant_id, channel_id, provider_message_id, contact_external_id,
                    contact_name, contact_phone, type, text, content, priority,
                    channel_ordering_key, $2
             FROM json_to_recordset($1::json) AS batch (
                 position BIGINT, tenant_id TEXT, channel_id TEXT, provider_message_id TEXT,
                 contact_external_id TEXT, contact_name TEXT, contact_phone TEXT, type TEXT,
                 text TEXT, content TEXT, priority BIGINT, channel_ordering_key TEXT)
             ORDER BY position
             ON CONFLICT (channel_id, provider_message_id) DO NOTHING
             RETURNING id, channel_id, provider_message_id",
        )
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(millis(now()))
        .fetch_all(&mut *connection)
        .await?;
        let mut added_ids = HashMap::with_capacity(added.len());
        for row in &added {
            let key = (row.text("channel_id")?, row.text("provider_message_id")?);
            added_ids.insert(key, row.integer("id")?);
        }
        // Read after the insert, as for one webhook: see `crate::pipeline::inbox::add_to_inbox`.
        let stored: HashSet<i64> = if added_ids.is_empty() {
            HashSet::new()
        } else {
            let ids = serde_json::to_string(&added_ids.values().collect::<Vec<_>>())
                .map_err(|error| StoreError::Database(Box::new(error)))?;
            // Every row probes `messages` by its unique key: a scalar subquery is never made
            // a join, which a plan built while the tables were small could do by scanning.
            query(
                "DELETE FROM inbox
                 WHERE id = ANY(ARRAY(SELECT value::BIGINT FROM json_array_elements_text($1::json)))
                   AND (SELECT TRUE FROM messages m
                        WHERE m.channel_id = inbox.channel_id
                          AND m.provider_message_id = inbox.provider_message_id)
                 RETURNING id",
            )
            .bind(ids)
            .fetch_scalars(&mut *connection)
            .await?
            .into_iter()
            .collect()
        };
        for (webhook, outcome) in webhooks.iter().zip(&mut outcomes) {
            for message in &webhook.messages {
                // The first of a provider id in the batch is the one its row was added for.
                let key = (
                    webhook.channel_id.to_string(),
                    message.provider_message_id.clone(),
                );
                match added_ids.remove(&key) {
                    Some(id) if !stored.contains(&id) => outcome.accepted += 1,
                    _ => outcome.duplicates += 1,
                }
            }
        }
    }
    for (webhook, outcome) in webhooks.iter().zip(&mut outcomes) {
        apply_statuses(
            connection,
            webhook.tenant_id,
            webhook.channel_id,
            &webhook.statuses,
            outcome,
        )
        .await?;
    }
    Ok(outcomes)
}
