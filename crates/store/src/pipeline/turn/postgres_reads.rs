//! PostgreSQL: the two reads every agent turn starts with — its conversation with the tenant's
//! balance and the contact (`Store::conversation_for_turn`), then the recent history
//! (`Store::messages_before`) — shared by the turns reading at the same moment. Alone they
//! were the two statements of every message that nothing batched: more than half of the
//! statements a message costs, each a round trip that wakes a backend and the caller once
//! more. Reads arriving together share one statement per kind (`switchboard_database::batches`, two at once,
//! of up to 64); a batch that fails reads each alone.

use std::sync::{Arc, LazyLock};

use futures::future::BoxFuture;
use switchboard_core::{ConversationId, Message, TenantId};

use crate::StoreError;
use crate::conversations::{TURN_COLUMNS, TURN_JOINS, TurnSubject, turn_subject_from_row};
use crate::messages::{COLUMNS as MESSAGE_COLUMNS, message_from_row};
use switchboard_database::Database;
use switchboard_database::batches::{
    BatchWork, Batched, Batches, by_position, position, together_or_alone,
};
use switchboard_database::query;

/// A turn's read of its conversation.
#[derive(Clone)]
pub(crate) struct SubjectRead {
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
}

/// Turns' conversation reads, in batches: as `Store::conversation_for_turn` reads one,
/// `NotFound` if the tenant has no such conversation.
pub(crate) type SubjectReads = Batches<SubjectRead>;

impl BatchWork for SubjectRead {
    type Error = StoreError;
    type Outcome = TurnSubject;
    const BATCHES: usize = 2;
    const MAX_BATCH: usize = 64;

    fn run(database: Database, batch: Vec<Batched<Self>>) -> BoxFuture<'static, ()> {
        Box::pin(read(database, batch, read_subjects, read_subject))
    }
}

/// A turn's read of its conversation's recent history.
#[derive(Clone)]
pub(crate) struct HistoryRead {
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    pub before_seq: i64,
    pub limit: u32,
}

/// Turns' history reads, in batches: as `Store::messages_before` reads one.
pub(crate) type HistoryReads = Batches<HistoryRead>;

impl BatchWork for HistoryRead {
    type Error = StoreError;
    type Outcome = Vec<Message>;
    const BATCHES: usize = 2;
    const MAX_BATCH: usize = 64;

    fn run(database: Database, batch: Vec<Batched<Self>>) -> BoxFuture<'static, ()> {
        Box::pin(read(database, batch, read_histories, read_history))
    }
}

/// Reads a batch `together`, or each read `alone` if that fails
/// ([`together_or_alone`]).
async fn read<W, Together, Alone>(
    database: Database,
    batch: Vec<Batched<W>>,
    together: impl FnOnce(Database, Arc<Vec<W>>) -> Together,
    alone: impl Fn(Database, W) -> Alone,
) where
    W: BatchWork<Error = StoreError> + Clone,
    Together: Future<Output = Result<Vec<Result<W::Outcome, StoreError>>, StoreError>>,
    Alone: Future<Output = Result<W::Outcome, StoreError>>,
{
    together_or_alone(
        batch,
        |reads| together(database.clone(), reads),
        |one| alone(database.clone(), one),
    )
    .await;
}

/// `conversations`' turn read for a batch, `$1` its reads (JSON rows): a row per
/// read whose conversation the tenant has. Conversations are found by their keys
/// (`= ANY(ARRAY(…))`): a join with the batch alone may plan as a scan.
static SUBJECTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH batch AS (
             SELECT * FROM json_to_recordset($1::json) AS batch (
                 position BIGINT, tenant_id TEXT, conversation_id TEXT))
         SELECT batch.position, {}
         FROM batch
         JOIN conversations c ON c.id = batch.conversation_id AND c.tenant_id = batch.tenant_id
         {TURN_JOINS}
         WHERE c.id = ANY(ARRAY(SELECT conversation_id FROM batch))",
        *TURN_COLUMNS
    )
});

/// `messages_before` for a batch, `$1` its reads (JSON rows): each read's messages, newest
/// `row_limit` before its `before_seq`, in the batch's order and each read's oldest first.
static HISTORIES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH batch AS (
             SELECT * FROM json_to_recordset($1::json) AS batch (
                 position BIGINT, tenant_id TEXT, conversation_id TEXT, before_seq BIGINT,
                 row_limit BIGINT))
         SELECT batch.position, recent.*
         FROM batch CROSS JOIN LATERAL (
             SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE conversation_id = batch.conversation_id AND tenant_id = batch.tenant_id
               AND seq < batch.before_seq AND deleted_at IS NULL
             ORDER BY seq DESC LIMIT batch.row_limit) AS recent
         ORDER BY batch.position, recent.seq"
    )
});

/// One conversation read in a statement of its own.
async fn read_subject(database: Database, read: SubjectRead) -> Result<TurnSubject, StoreError> {
    super::reads::read_turn_subject(database.reader(), read.tenant_id, read.conversation_id).await
}

/// Reads every conversation of a batch in one statement. Returns each read's outcome, in order.
async fn read_subjects(
    database: Database,
    reads: Arc<Vec<SubjectRead>>,
) -> Result<Vec<Result<TurnSubject, StoreError>>, StoreError> {
    let batch = rows_of(&reads, |read| {
        serde_json::json!({
            "tenant_id": read.tenant_id.to_string(),
            "conversation_id": read.conversation_id.to_string(),
        })
    });
    let rows = query(SUBJECTS.as_str())
        .bind(batch)
        .fetch_all(database.reader())
        .await?;
    let mut found = by_position(rows)?;
    Ok((0..reads.len())
        .map(|at| match found.remove(&at) {
            Some(row) => turn_subject_from_row(&row),
            None => Err(StoreError::not_found("conversation")),
        })
        .collect())
}

/// One history read in a statement of its own.
async fn read_history(database: Database, read: HistoryRead) -> Result<Vec<Message>, StoreError> {
    super::reads::read_history(
        database.reader(),
        read.tenant_id,
        read.conversation_id,
        read.before_seq,
        read.limit,
    )
    .await
}

/// Reads every history of a batch in one statement. Returns each read's messages, in order.
async fn read_histories(
    database: Database,
    reads: Arc<Vec<HistoryRead>>,
) -> Result<Vec<Result<Vec<Message>, StoreError>>, StoreError> {
    let batch = rows_of(&reads, |read| {
        serde_json::json!({
            "tenant_id": read.tenant_id.to_string(),
            "conversation_id": read.conversation_id.to_string(),
            "before_seq": read.before_seq,
            "row_limit": read.limit,
        })
    });
    let rows = query(HISTORIES.as_str())
        .bind(batch)
        .fetch_all(database.reader())
        .await?;
    let mut histories: Vec<Vec<Message>> = vec![Vec::new(); reads.len()];
    for row in rows {
        if let Some(history) = histories.get_mut(position(&row)?) {
            history.push(message_from_row(&row)?);
        }
    }
    Ok(histories.into_iter().map(Ok).collect())
}

/// The batch's reads as the JSON rows `json_to_recordset` takes: each read's fields and its
/// `position`.
fn rows_of<T>(reads: &[T], fields: impl Fn(&T) -> serde_json::Value) -> String {
    let rows = reads
        .iter()
        .enumerate()
        .map(|(position, read)| {
            let mut row = fields(read);
            row["position"] = serde_json::json!(position);
            row
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}
