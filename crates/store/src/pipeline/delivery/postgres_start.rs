//! PostgreSQL: deliveries starting at the same moment share their statement. Starting a
//! delivery marks its entry `sending` (from then on a restart counts its send as a possible
//! resend) and reads what the send needs: one statement ([`start_alone`]), which commits by
//! itself, once per reply sent. Deliveries starting together share one
//! (`switchboard_database::batches`, two at once, of up to 64), so each commit's flush of the log serves
//! them all. If a batch fails, each delivery starts alone.

use std::sync::LazyLock;
use switchboard_queue::ownership::FENCED;

use futures::future::BoxFuture;
use switchboard_core::{MessageId, QueueEntryId, TenantId};

use crate::StoreError;
use crate::pipeline::delivery::{OUTGOING_COLUMNS, OUTGOING_FROM, Outgoing, outgoing_from_row};
use switchboard_database::Database;
use switchboard_database::batches::{BatchWork, Batched, Batches, by_position, together_or_alone};
use switchboard_database::{Db, Row, query};
use switchboard_database::{RowExt, millis, now};

/// A delivery about to send.
#[derive(Clone)]
pub(crate) struct Starting {
    pub tenant_id: TenantId,
    pub entry_id: QueueEntryId,
    pub message_id: MessageId,
}

/// Deliveries' starts, in batches: as `Store::start_delivery` starts one, `NotFound` if its
/// message or its entry is gone, and then nothing changes.
pub(crate) type StartBatches = Batches<Starting>;

impl BatchWork for Starting {
    type Error = StoreError;
    type Outcome = Outgoing;
    const BATCHES: usize = 2;
    const MAX_BATCH: usize = 64;

    fn run(database: Database, batch: Vec<Batched<Self>>) -> BoxFuture<'static, ()> {
        Box::pin(async move { start_batch(&database, batch).await })
    }
}

async fn start_batch(database: &Database, batch: Vec<Batched<Starting>>) {
    together_or_alone(
        batch,
        |starts| {
            database.write_statement(move |connection| {
                Box::pin(async move { start_all(connection, &starts).await })
            })
        },
        |start| {
            database.write_statement(move |connection| {
                Box::pin(async move { start_alone(connection, start).await })
            })
        },
    )
    .await;
}

/// What `Store::start_delivery` reads (`delivery`'s `OUTGOING`), with the delivery entry `$3`
/// marked `sending` at `$4` if the message `$2` of tenant `$1` exists.
static START_DELIVERY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH marked AS (
             UPDATE queue_entries SET state = 'sending', updated_at = $4
             WHERE id = $3
               AND EXISTS (SELECT 1 FROM messages WHERE tenant_id = $1 AND id = $2){FENCED}
             RETURNING id)
         SELECT {OUTGOING_COLUMNS}, (SELECT COUNT(*) FROM marked) AS marked
         {OUTGOING_FROM}
         WHERE m.tenant_id = $1 AND m.id = $2"
    )
});

/// [`START_DELIVERY`] for a batch, `$1` its deliveries (JSON rows), `$2` the time: a row per
/// delivery whose message exists, `marked` 1 if its entry was. Messages and entries are found
/// by their keys (`= ANY(ARRAY(…))`): a join with the batch could be planned as a scan while
/// the tables were small.
static START_ALL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH batch AS (
             SELECT * FROM json_to_recordset($1::json) AS batch (
                 position BIGINT, tenant_id TEXT, message_id TEXT, entry_id TEXT)),
         marked AS (
             UPDATE queue_entries SET state = 'sending', updated_at = $2
             FROM batch
             WHERE queue_entries.id = ANY(ARRAY(SELECT entry_id FROM batch))
               AND queue_entries.id = batch.entry_id
               AND EXISTS (SELECT 1 FROM messages
                           WHERE tenant_id = batch.tenant_id AND id = batch.message_id){FENCED}
             RETURNING queue_entries.id)
         SELECT batch.position, {OUTGOING_COLUMNS},
                (SELECT COUNT(*) FROM marked WHERE marked.id = batch.entry_id) AS marked
         {OUTGOING_FROM}
         JOIN batch ON m.id = batch.message_id AND m.tenant_id = batch.tenant_id
         WHERE m.id = ANY(ARRAY(SELECT message_id FROM batch))"
    )
});

/// Starts one delivery in one statement.
async fn start_alone(connection: &mut Db<'_>, start: Starting) -> Result<Outgoing, StoreError> {
    let row = query(START_DELIVERY.as_str())
        .bind(start.tenant_id.to_string())
        .bind(start.message_id.to_string())
        .bind(start.entry_id.to_string())
        .bind(millis(now()))
        .fetch_optional(connection)
        .await?
        .ok_or(StoreError::NotFound { entity: "message" })?;
    started(&row, start.message_id)
}

/// Starts every delivery of a batch in one statement, as [`start_alone`] starts one. Returns
/// each delivery's outcome, in order.
async fn start_all(
    connection: &mut Db<'_>,
    starts: &[Starting],
) -> Result<Vec<Result<Outgoing, StoreError>>, StoreError> {
    let batch: Vec<serde_json::Value> = starts
        .iter()
        .enumerate()
        .map(|(position, start)| {
            serde_json::json!({
                "position": position,
                "tenant_id": start.tenant_id.to_string(),
                "message_id": start.message_id.to_string(),
                "entry_id": start.entry_id.to_string(),
            })
        })
        .collect();
    let rows = query(START_ALL.as_str())
        .bind(serde_json::Value::Array(batch).to_string())
        .bind(millis(now()))
        .fetch_all(connection)
        .await?;
    let mut found = by_position(rows)?;
    Ok(starts
        .iter()
        .enumerate()
        .map(|(position, start)| match found.remove(&position) {
            Some(row) => started(&row, start.message_id),
            None => Err(StoreError::NotFound { entity: "message" }),
        })
        .collect())
}

/// The outgoing message a start's row read, if its entry was marked.
fn started(row: &Row, message_id: MessageId) -> Result<Outgoing, StoreError> {
    if row.integer("marked")? == 0 {
        return Err(StoreError::not_found("queue entry"));
    }
    outgoing_from_row(row, message_id)
}
