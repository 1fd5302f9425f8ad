//! The durable side of the queue, the `queue_entries` and `queue_keys` tables: entries are
//! inserted in the transaction that creates their work ([`enqueue`], called by the store's
//! transactions), numbered gap-free per ordering key under that key's row lock (so numbers
//! follow commit order), deleted in the transaction that commits their effects
//! ([`acknowledge`]), and otherwise moved between `pending`, `sending` and `dead`.
//!
//! Each entry inserted is registered, inside its transaction, through the [`Registrar`] the
//! caller got from [`crate::Queue::enqueue`]: the dispatcher holds it, not runnable, until the
//! transaction's outcome is known.

use std::sync::Arc;

use switchboard_core::{
    ConversationId, EntryKind, EntryState, MessageId, OrderingKey, Page, QueueEntry, QueueEntryId,
    TenantId, Timestamp,
};

use switchboard_database::postgres::wait_for_earlier_writers;
use switchboard_database::{
    Database, DatabaseError, Db, PageRequest, Row, RowExt, expect_changed, millis, now, query,
};

pub(crate) const COLUMNS: &str =
    "id, tenant_id, kind, ordering_key, key_seq, priority, conversation_id, message_id,
    state, attempts, available_at, last_error, created_at";

/// Where a transaction registers the entries it inserts, in key order: the dispatcher holds
/// each (not yet runnable) before the commit, so entries of one key are registered in the
/// order of their numbers. A write that commits by itself, and learns its entry's number only
/// then, registers it twice: before, with `key_seq` [`UNNUMBERED`] (the entry holds its place
/// in its key), and after, with the number.
#[derive(Clone)]
pub struct Registrar(Arc<dyn Fn(&QueueEntry) + Send + Sync>);

impl Registrar {
    /// A registrar that hands each entry to `register`: the queue's own
    /// ([`crate::Enqueue::registrar`]), or an observer where no queue runs (tests, benches).
    pub fn new(register: impl Fn(&QueueEntry) + Send + Sync + 'static) -> Self {
        Self(Arc::new(register))
    }

    pub fn register(&self, entry: &QueueEntry) {
        (self.0)(entry);
    }
}

/// The `key_seq` of an entry registered before its number is known (see [`Registrar`]).
pub const UNNUMBERED: i64 = i64::MAX;

/// Work to queue.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub kind: EntryKind,
    pub ordering_key: OrderingKey,
    pub priority: u8,
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
}

/// How many entries are in each state, and how old the oldest waiting one is.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueCounts {
    pub pending: i64,
    pub sending: i64,
    pub dead: i64,
    /// Messages webhooks accepted and not yet stored: each will queue a run when it is.
    pub accepted: i64,
    /// Milliseconds since the oldest pending entry was queued.
    pub oldest_pending_age_ms: Option<i64>,
}

pub(crate) fn entry_from_row(row: &Row) -> Result<QueueEntry, DatabaseError> {
    let priority = row.integer("priority")?;
    let attempts = row.integer("attempts")?;
    Ok(QueueEntry {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        kind: row.parsed("kind")?,
        ordering_key: row.parsed("ordering_key")?,
        key_seq: row.integer("key_seq")?,
        priority: u8::try_from(priority.clamp(0, 9)).unwrap_or(0),
        conversation_id: row.parsed("conversation_id")?,
        message_id: row.parsed("message_id")?,
        state: row.parsed("state")?,
        attempts: u32::try_from(attempts.max(0)).unwrap_or(u32::MAX),
        available_at: row.time("available_at")?,
        last_error: row.optional_text("last_error")?,
        created_at: row.time("created_at")?,
    })
}

/// Where an entry goes in its key.
pub enum Position {
    /// The message's `seq`: for keys of one conversation, whose row lock already orders commits.
    Seq(i64),
    /// The next number of the key's own counter: for keys that span conversations.
    Next,
}

/// How the entry queued with an appended message is numbered in its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbering {
    /// By the message's `seq` ([`Position::Seq`]).
    MessageSeq,
    /// By the key's own counter ([`Position::Next`]).
    KeyCounter,
}

/// An entry to queue in the transaction that appends its message.
pub struct Queued<'r> {
    pub entry: NewEntry,
    pub numbering: Numbering,
    pub registrar: &'r Registrar,
}

impl Queued<'_> {
    /// Inserts the entry of a message appended with `seq`, inside the caller's transaction.
    pub async fn insert(
        self,
        connection: &mut Db<'_>,
        tenant_id: TenantId,
        seq: i64,
    ) -> Result<QueueEntry, DatabaseError> {
        let position = match self.numbering {
            Numbering::MessageSeq => Position::Seq(seq),
            Numbering::KeyCounter => Position::Next,
        };
        enqueue(connection, tenant_id, self.entry, position, self.registrar).await
    }
}

/// The entry as inserted: pending, available at once, never attempted.
pub fn pending_entry(
    id: QueueEntryId,
    tenant_id: TenantId,
    new: NewEntry,
    key_seq: i64,
    at: Timestamp,
) -> QueueEntry {
    QueueEntry {
        id,
        tenant_id,
        kind: new.kind,
        ordering_key: new.ordering_key,
        key_seq,
        priority: new.priority.min(9),
        conversation_id: new.conversation_id,
        message_id: new.message_id,
        state: EntryState::Pending,
        attempts: 0,
        available_at: at,
        last_error: None,
        created_at: at,
    }
}

/// Inserts an entry at the end of its key, inside the caller's transaction.
pub async fn enqueue(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    new: NewEntry,
    position: Position,
    registrar: &Registrar,
) -> Result<QueueEntry, DatabaseError> {
    let key_seq: i64 = match position {
        Position::Seq(seq) => seq,
        Position::Next => {
            query(
                "INSERT INTO queue_keys (ordering_key, last_seq) VALUES ($1, 1)
                 ON CONFLICT (ordering_key) DO UPDATE SET last_seq = queue_keys.last_seq + 1
                 RETURNING last_seq",
            )
            .bind(&new.ordering_key)
            .fetch_scalar(&mut *connection)
            .await?
        }
    };
    let entry = pending_entry(QueueEntryId::new(), tenant_id, new, key_seq, now());
    query(
        "INSERT INTO queue_entries (id, tenant_id, kind, ordering_key, key_seq, priority, conversation_id,
             message_id, state, attempts, available_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10, $10)",
    )
    .bind(entry.id.to_string())
    .bind(tenant_id.to_string())
    .bind(entry.kind.as_str())
    .bind(&entry.ordering_key)
    .bind(key_seq)
    .bind(i64::from(entry.priority))
    .bind(entry.conversation_id.to_string())
    .bind(entry.message_id.to_string())
    .bind(EntryState::Pending.as_str())
    .bind(millis(entry.created_at))
    .execute(&mut *connection)
    .await?;
    registrar.register(&entry);
    Ok(entry)
}

/// Deletes an entry whose effects the caller's transaction commits; `NotFound` if it is gone
/// (already done, discarded), which must abort those effects.
pub async fn acknowledge(connection: &mut Db<'_>, id: QueueEntryId) -> Result<(), DatabaseError> {
    let fenced = fenced(connection);
    let result = query(format!(
        "DELETE FROM queue_entries WHERE id = $1 AND state <> 'dead'{fenced}"
    ))
    .bind(id.to_string())
    .execute(connection)
    .await?;
    expect_changed(result.rows_affected(), "queue entry")
}

/// Every entry that is not dead, each key's entries in order: what a restarting node must
/// finish. On PostgreSQL, once the statements an earlier process left running have ended
/// (`wait_for_earlier_writers`), and with the stamps of nodes that ran it with others
/// cleared: one node runs everything.
pub async fn load_unfinished(database: &Database) -> Result<Vec<QueueEntry>, DatabaseError> {
    if let Some(pool) = database.postgres_pool() {
        wait_for_earlier_writers(pool).await?;
        query("UPDATE queue_entries SET owner = NULL WHERE owner IS NOT NULL")
            .execute(database.reader())
            .await?;
    }
    let rows = query(format!(
        "SELECT {COLUMNS} FROM queue_entries WHERE state <> 'dead' ORDER BY ordering_key, key_seq"
    ))
    .fetch_all(database.reader())
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// Records a failed attempt and when to try again. With `resend` (its effect outside may have
/// happened already) the entry stays `sending`, so that a restart, too, counts its next
/// attempt as a resend.
pub async fn schedule_retry(
    database: &Database,
    id: QueueEntryId,
    attempts: u32,
    available_at: Timestamp,
    error: String,
    resend: bool,
) -> Result<(), DatabaseError> {
    let state = if resend {
        EntryState::Sending
    } else {
        EntryState::Pending
    };
    let change = Change {
        state,
        attempts: Some(attempts),
        available_at: Some(available_at),
        error: Some(error),
    };
    change.apply(database, id).await
}

/// Gives up on an entry: it stays, dead, for inspection.
pub async fn bury(
    database: &Database,
    id: QueueEntryId,
    attempts: u32,
    error: String,
) -> Result<(), DatabaseError> {
    let change = Change {
        state: EntryState::Dead,
        attempts: Some(attempts),
        available_at: None,
        error: Some(error),
    };
    change.apply(database, id).await
}

/// Notes, inside the caller's write, that a send is about to start, so a restart knows it may
/// be a resend.
pub async fn mark_sending(connection: &mut Db<'_>, id: QueueEntryId) -> Result<(), DatabaseError> {
    let change = Change {
        state: EntryState::Sending,
        attempts: None,
        available_at: None,
        error: None,
    };
    change.apply_in(connection, id).await
}

/// The condition every statement that finishes, starts or retries a leased entry adds: the
/// entry is not stamped for another node (`crate::ownership`). The node's token is a setting of
/// each of its PostgreSQL connections; SQLite serves one node and stamps nothing.
pub fn fenced(connection: &Db<'_>) -> &'static str {
    if connection.is_postgres() {
        crate::ownership::FENCED
    } else {
        ""
    }
}

/// A move of one entry to `state`, with what else changes (`None`: kept).
struct Change {
    state: EntryState,
    attempts: Option<u32>,
    available_at: Option<Timestamp>,
    error: Option<String>,
}

impl Change {
    async fn apply(self, database: &Database, id: QueueEntryId) -> Result<(), DatabaseError> {
        database
            .write_statement(move |connection| Box::pin(self.apply_in(connection, id)))
            .await
    }

    async fn apply_in(
        self,
        connection: &mut Db<'_>,
        id: QueueEntryId,
    ) -> Result<(), DatabaseError> {
        let fenced = fenced(connection);
        let result = query(format!(
            "UPDATE queue_entries SET state = $2, attempts = COALESCE($3, attempts),
                 available_at = COALESCE($4, available_at),
                 last_error = COALESCE($5, last_error), updated_at = $6
             WHERE id = $1{fenced}"
        ))
        .bind(id.to_string())
        .bind(self.state.as_str())
        .bind(self.attempts.map(i64::from))
        .bind(self.available_at.map(millis))
        .bind(self.error)
        .bind(millis(now()))
        .execute(connection)
        .await?;
        expect_changed(result.rows_affected(), "queue entry")
    }
}

/// Dead entries of a tenant, oldest first.
pub async fn list_dead(
    database: &Database,
    tenant_id: TenantId,
    page: &PageRequest,
) -> Result<Page<QueueEntry>, DatabaseError> {
    let after = page.position()?.unwrap_or_default();
    let rows = query(format!(
        "SELECT {COLUMNS} FROM queue_entries WHERE tenant_id = $1 AND state = 'dead' AND id > $2
         ORDER BY id LIMIT $3"
    ))
    .bind(tenant_id.to_string())
    .bind(after)
    .bind(page.limit() + 1)
    .fetch_all(database.reader())
    .await?;
    let entries = rows
        .iter()
        .map(entry_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(entries, |entry| entry.id.to_string()))
}

pub async fn get_dead(
    database: &Database,
    tenant_id: TenantId,
    id: QueueEntryId,
) -> Result<QueueEntry, DatabaseError> {
    let row = query(format!(
        "SELECT {COLUMNS} FROM queue_entries WHERE tenant_id = $1 AND id = $2 AND state = 'dead'"
    ))
    .bind(tenant_id.to_string())
    .bind(id.to_string())
    .fetch_optional(database.reader())
    .await?
    .ok_or(DatabaseError::not_found("dead letter"))?;
    entry_from_row(&row)
}

/// Puts a dead entry back in its key, at its original position, with fresh attempts; the
/// dispatcher runs it after whatever its key holds now. Returns the new entry.
pub async fn requeue_dead(
    database: &Database,
    tenant_id: TenantId,
    id: QueueEntryId,
    registrar: Registrar,
) -> Result<QueueEntry, DatabaseError> {
    let dead = get_dead(database, tenant_id, id).await?;
    database
        .write(move |connection| {
            Box::pin(async move {
                let result = query("DELETE FROM queue_entries WHERE id = $1 AND state = 'dead'")
                    .bind(id.to_string())
                    .execute(&mut *connection)
                    .await?;
                expect_changed(result.rows_affected(), "dead letter")?;
                let new = NewEntry {
                    kind: dead.kind,
                    ordering_key: dead.ordering_key.clone(),
                    priority: dead.priority,
                    conversation_id: dead.conversation_id,
                    message_id: dead.message_id,
                };
                let position = Position::Seq(dead.key_seq);
                enqueue(connection, tenant_id, new, position, &registrar).await
            })
        })
        .await
}

pub async fn discard_dead(
    database: &Database,
    tenant_id: TenantId,
    id: QueueEntryId,
) -> Result<(), DatabaseError> {
    database
        .write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "DELETE FROM queue_entries WHERE tenant_id = $1 AND id = $2 AND state = 'dead'",
                )
                .bind(tenant_id.to_string())
                .bind(id.to_string())
                .execute(connection)
                .await?;
                expect_changed(result.rows_affected(), "dead letter")
            })
        })
        .await
}

/// Entry counts by state for one tenant, or for everyone (`accepted` is the inbox's, which
/// the store counts: zero here).
pub async fn counts(
    database: &Database,
    tenant_id: Option<TenantId>,
) -> Result<QueueCounts, DatabaseError> {
    let rows = query(
        "SELECT state, COUNT(*) AS entries, MIN(created_at) AS oldest FROM queue_entries
         WHERE ($1 IS NULL OR tenant_id = $1) GROUP BY state",
    )
    .bind(tenant_id.map(|id| id.to_string()))
    .fetch_all(database.reader())
    .await?;
    let mut counts = QueueCounts::default();
    for row in &rows {
        let entries = row.integer("entries")?;
        match row.parsed::<EntryState>("state")? {
            EntryState::Pending => {
                counts.pending = entries;
                counts.oldest_pending_age_ms = row
                    .optional_integer("oldest")?
                    .map(|oldest| millis(now()) - oldest);
            }
            EntryState::Sending => counts.sending = entries,
            EntryState::Dead => counts.dead = entries,
        }
    }
    Ok(counts)
}
