//! PostgreSQL: deliveries completing at the same moment share their statement. Completing a
//! delivery records the provider's id, moves the message to `sent` with its stream event, and
//! acknowledges the entry: one statement ([`complete_alone`]), which deliveries completing
//! together share (`switchboard_database::batches`, two at once, of up to 64). If a batch fails, each
//! delivery completes alone.

use futures::future::BoxFuture;
use switchboard_core::{ConversationEvent, MessageId, MessageStatus, QueueEntryId, TenantId};
use switchboard_queue::ownership::FENCED;

use crate::StoreError;
use crate::conversation_events::{StreamEvent, event_payload, stream_event};
use switchboard_database::Database;
use switchboard_database::batches::{BatchWork, Batched, Batches, by_position, together_or_alone};
use switchboard_database::{Db, Row, query};
use switchboard_database::{RowExt, millis, now};

/// A delivery the provider accepted.
#[derive(Clone)]
pub(crate) struct Completed {
    pub tenant_id: TenantId,
    pub entry_id: QueueEntryId,
    pub message_id: MessageId,
    pub provider_message_id: Option<String>,
}

/// Deliveries' completions, in batches: as `Store::complete_delivery` completes one,
/// `NotFound` if its entry is gone, and then nothing changes.
pub(crate) type CompletionBatches = Batches<Completed>;

impl BatchWork for Completed {
    type Error = StoreError;
    type Outcome = Vec<StreamEvent>;
    const BATCHES: usize = 2;
    const MAX_BATCH: usize = 64;

    fn run(database: Database, batch: Vec<Batched<Self>>) -> BoxFuture<'static, ()> {
        Box::pin(async move { complete_batch(&database, batch).await })
    }
}

async fn complete_batch(database: &Database, batch: Vec<Batched<Completed>>) {
    together_or_alone(
        batch,
        |deliveries| {
            database.write_statement(move |connection| {
                Box::pin(async move { complete_all(connection, &deliveries).await })
            })
        },
        |delivery| {
            database.write_statement(move |connection| {
                Box::pin(async move { complete_alone(connection, delivery).await })
            })
        },
    )
    .await;
}

/// The stream event of a delivery marked `sent`.
fn sent_event(message_id: MessageId) -> ConversationEvent {
    ConversationEvent::MessageStatus {
        message_id,
        status: MessageStatus::Sent,
    }
}

/// Completes one delivery in one statement, which commits by itself. Every step after the
/// acknowledgement depends on it, so an entry already gone changes nothing.
async fn complete_alone(
    connection: &mut Db<'_>,
    delivery: Completed,
) -> Result<Vec<StreamEvent>, StoreError> {
    let Completed {
        tenant_id,
        entry_id,
        message_id,
        provider_message_id,
    } = delivery;
    let payload = event_payload(&sent_event(message_id))?;
    // `sent` and `kept` see the same snapshot of the message; exactly one of them matches it.
    let row = query(format!(
        "WITH acked AS (
             DELETE FROM queue_entries WHERE id = $1 AND state <> 'dead'{FENCED} RETURNING id),
         sent AS (
             UPDATE messages SET status = 'sent',
                 provider_message_id = COALESCE(provider_message_id, $4)
             WHERE tenant_id = $2 AND id = $3 AND status = 'pending'
               AND EXISTS (SELECT 1 FROM acked)
             RETURNING conversation_id),
         kept AS (
             UPDATE messages SET provider_message_id = COALESCE(provider_message_id, $4)
             WHERE tenant_id = $2 AND id = $3 AND status <> 'pending'
               AND EXISTS (SELECT 1 FROM acked)),
         next AS (
             UPDATE conversations SET event_offset = event_offset + 1
             WHERE tenant_id = $2 AND id = (SELECT conversation_id FROM sent)
             RETURNING id, event_offset),
         told AS (
             INSERT INTO conversation_events (conversation_id, event_offset, tenant_id, payload,
                                              created_at)
             SELECT id, event_offset, $2, $5, $6 FROM next
             RETURNING conversation_id, event_offset)
         SELECT (SELECT COUNT(*) FROM acked) AS acked, told.conversation_id, told.event_offset
         FROM (SELECT 1 AS one) AS anchor LEFT JOIN told ON TRUE"
    ))
    .bind(entry_id.to_string())
    .bind(tenant_id.to_string())
    .bind(message_id.to_string())
    .bind(provider_message_id)
    .bind(&payload)
    .bind(millis(now()))
    .fetch_one(connection)
    .await?;
    if row.integer("acked")? == 0 {
        return Err(StoreError::not_found("queue entry"));
    }
    told(&row, tenant_id, payload)
}

/// Completes every delivery of a batch in one statement, as [`complete_alone`] completes one;
/// of two completing one entry, the first. The messages marked `sent` in one conversation take
/// consecutive event offsets in the batch's order. Returns each delivery's outcome, in order.
async fn complete_all(
    connection: &mut Db<'_>,
    deliveries: &[Completed],
) -> Result<Vec<Result<Vec<StreamEvent>, StoreError>>, StoreError> {
    let created_at = millis(now());
    let mut payloads = Vec::with_capacity(deliveries.len());
    let mut batch = Vec::with_capacity(deliveries.len());
    for (position, delivery) in deliveries.iter().enumerate() {
        let payload = event_payload(&sent_event(delivery.message_id))?;
        batch.push(serde_json::json!({
            "position": position,
            "entry_id": delivery.entry_id.to_string(),
            "tenant_id": delivery.tenant_id.to_string(),
            "message_id": delivery.message_id.to_string(),
            "provider_message_id": delivery.provider_message_id,
            "payload": payload,
            "created_at": created_at,
        }));
        payloads.push(payload);
    }
    let rows = query(format!(
        "WITH done AS (
             SELECT * FROM json_to_recordset($1::json) AS done (
                 position BIGINT, entry_id TEXT, tenant_id TEXT, message_id TEXT,
                 provider_message_id TEXT, payload TEXT, created_at BIGINT)),
         acked AS (
             DELETE FROM queue_entries
             WHERE id = ANY(ARRAY(SELECT entry_id FROM done)) AND state <> 'dead'{FENCED}
             RETURNING id),
         live AS (
             SELECT DISTINCT ON (entry_id) * FROM done
             WHERE entry_id IN (SELECT id FROM acked)
             ORDER BY entry_id, position),
         sent AS (
             UPDATE messages SET status = 'sent',
                 provider_message_id = COALESCE(messages.provider_message_id,
                                                live.provider_message_id)
             FROM live
             WHERE messages.id = ANY(ARRAY(SELECT message_id FROM live))
               AND messages.id = live.message_id AND messages.tenant_id = live.tenant_id
               AND messages.status = 'pending'
             RETURNING live.position, messages.tenant_id, messages.conversation_id),
         kept AS (
             UPDATE messages
             SET provider_message_id = COALESCE(messages.provider_message_id,
                                                live.provider_message_id)
             FROM live
             WHERE messages.id = ANY(ARRAY(SELECT message_id FROM live))
               AND messages.id = live.message_id AND messages.tenant_id = live.tenant_id
               AND messages.status <> 'pending'),
         ranked AS (
             SELECT sent.*,
                    row_number() OVER (PARTITION BY conversation_id ORDER BY position) AS nth,
                    count(*) OVER (PARTITION BY conversation_id) AS told
             FROM sent),
         counts AS (
             SELECT DISTINCT tenant_id, conversation_id, told FROM ranked),
         next AS (
             UPDATE conversations SET event_offset = event_offset + counts.told
             FROM counts
             WHERE conversations.id = ANY(ARRAY(SELECT conversation_id FROM counts))
               AND conversations.id = counts.conversation_id
               AND conversations.tenant_id = counts.tenant_id
             RETURNING conversations.id, event_offset),
         numbered AS (
             SELECT ranked.position, ranked.tenant_id, ranked.conversation_id,
                    next.event_offset - ranked.told + ranked.nth AS event_offset
             FROM ranked JOIN next ON next.id = ranked.conversation_id),
         told AS (
             INSERT INTO conversation_events (conversation_id, event_offset, tenant_id, payload,
                                              created_at)
             SELECT numbered.conversation_id, numbered.event_offset, numbered.tenant_id,
                    live.payload, live.created_at
             FROM numbered JOIN live ON live.position = numbered.position)
         SELECT live.position, numbered.conversation_id, numbered.event_offset
         FROM live LEFT JOIN numbered ON numbered.position = live.position"
    ))
    .bind(serde_json::Value::Array(batch).to_string())
    .fetch_all(connection)
    .await?;
    let mut acked = by_position(rows)?;
    Ok(deliveries
        .iter()
        .zip(payloads)
        .enumerate()
        .map(
            |(position, (delivery, payload))| match acked.remove(&position) {
                Some(row) => told(&row, delivery.tenant_id, payload),
                None => Err(StoreError::not_found("queue entry")),
            },
        )
        .collect())
}

/// The stream event a completion's row tells of, if its message was marked `sent` (one a
/// receipt had moved on already tells nothing).
fn told(row: &Row, tenant_id: TenantId, payload: String) -> Result<Vec<StreamEvent>, StoreError> {
    let Some(conversation_id) = row.optional_parsed("conversation_id")? else {
        return Ok(Vec::new());
    };
    let offset = row.integer("event_offset")?;
    Ok(vec![stream_event(
        tenant_id,
        conversation_id,
        offset,
        payload,
    )])
}
