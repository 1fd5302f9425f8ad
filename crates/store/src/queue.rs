//! The durable side of the queue: entries are inserted in the transaction that creates their
//! work, numbered gap-free per ordering key under that key's row lock (so numbers follow commit
//! order), deleted in the transaction that commits their effects, and otherwise moved between
//! `pending`, `sending` and `dead`. The in-memory dispatch lives in `switchboard-queue`.

use std::sync::Arc;

use switchboard_core::{
    ConversationId, EntryKind, EntryState, MessageId, OrderingKey, Page, QueueEntry, QueueEntryId,
    TenantId, Timestamp,
};

use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Db, Row, query};
use switchboard_database::{RowExt, expect_changed, millis, now};

const COLUMNS: &str =
    "id, tenant_id, kind, ordering_key, key_seq, priority, conversation_id, message_id,
    state, attempts, available_at, last_error, created_at";

/// Called inside the enqueuing transaction, in key order, for every entry it inserts: the
/// dispatcher registers the entry (not yet runnable) before the commit, so entries of one key
/// are registered in the order of their numbers. A write that commits by itself, and learns
/// its entry's number only then, calls it twice: before, with `key_seq` [`UNNUMBERED`] (the
/// entry holds its place in its key), and after, with the number.
pub type EnqueueHook = Arc<dyn Fn(&QueueEntry) + Send + Sync>;

/// The `key_seq` of an entry registered before its number is known (see [`EnqueueHook`]).
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

pub(crate) fn entry_from_row(row: &Row) -> Result<QueueEntry, StoreError> {
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
pub(crate) enum Position {
    /// The message's `seq`: for keys of one conversation, whose row lock already orders commits.
    Seq(i64),
    /// The next number of the key's own counter: for keys that span conversations.
    Next,
}

/// How the entry queued with an appended message is numbered in its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Numbering {
    /// By the message's `seq` ([`Position::Seq`]).
    MessageSeq,
    /// By the key's own counter ([`Position::Next`]).
    KeyCounter,
}

/// An entry to queue in the transaction that appends its message.
pub(crate) struct Queued<'h> {
    pub entry: NewEntry,
    pub numbering: Numbering,
    pub hook: &'h EnqueueHook,
}

impl Queued<'_> {
    /// Inserts the entry of a message appended with `seq`, inside the caller's transaction.
    pub(crate) async fn insert(
        self,
        connection: &mut Db<'_>,
        tenant_id: TenantId,
        seq: i64,
    ) -> Result<QueueEntry, StoreError> {
        let position = match self.numbering {
            Numbering::MessageSeq => Position::Seq(seq),
            Numbering::KeyCounter => Position::Next,
        };
        enqueue(connection, tenant_id, self.entry, position, self.hook).await
    }
}

/// The entry as inserted: pending, available at once, never attempted.
pub(crate) fn pending_entry(
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
pub(crate) async fn enqueue(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    new: NewEntry,
    position: Position,
    hook: &EnqueueHook,
) -> Result<QueueEntry, StoreError> {
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
    hook(&entry);
    Ok(entry)
}

/// Deletes an entry whose effects the caller's transaction commits; `NotFound` if it is gone
/// (already done, discarded), which must abort those effects.
pub(crate) async fn acknowledge(
    connection: &mut Db<'_>,
    id: QueueEntryId,
) -> Result<(), StoreError> {
    let result = query("DELETE FROM queue_entries WHERE id = $1 AND state <> 'dead'")
        .bind(id.to_string())
        .execute(connection)
        .await?;
    Ok(expect_changed(result.rows_affected(), "queue entry")?)
}

impl Store {
    /// Every entry that is not dead, each key's entries in order: what a restarting node must
    /// finish. On PostgreSQL, once the statements an earlier process left running have ended
    /// (`postgres::earlier_writers`).
    pub async fn load_unfinished_entries(&self) -> Result<Vec<QueueEntry>, StoreError> {
        if let Some(pool) = self.inner.database.postgres_pool() {
            switchboard_database::postgres::wait_for_earlier_writers(pool).await?;
        }
        let rows = query(format!(
            "SELECT {COLUMNS} FROM queue_entries WHERE state <> 'dead' ORDER BY ordering_key, key_seq"
        ))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Records a failed attempt and when to try again. With `resend` (its effect outside may
    /// have happened already) the entry stays `sending`, so that a restart, too, counts its
    /// next attempt as a resend.
    pub async fn schedule_retry(
        &self,
        id: QueueEntryId,
        attempts: u32,
        available_at: Timestamp,
        error: String,
        resend: bool,
    ) -> Result<(), StoreError> {
        self.update_entry(
            id,
            if resend {
                EntryState::Sending
            } else {
                EntryState::Pending
            },
            Some(attempts),
            Some(available_at),
            Some(error),
        )
        .await
    }

    /// Gives up on an entry: it stays, dead, for inspection.
    pub async fn bury_entry(
        &self,
        id: QueueEntryId,
        attempts: u32,
        error: String,
    ) -> Result<(), StoreError> {
        self.update_entry(id, EntryState::Dead, Some(attempts), None, Some(error))
            .await
    }

    /// Notes that a send is about to start, so a restart knows it may be a resend.
    pub(crate) async fn mark_sending(&self, id: QueueEntryId) -> Result<(), StoreError> {
        self.update_entry(id, EntryState::Sending, None, None, None)
            .await
    }

    async fn update_entry(
        &self,
        id: QueueEntryId,
        state: EntryState,
        attempts: Option<u32>,
        available_at: Option<Timestamp>,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let at = millis(now());
        self.write_statement(move |connection| {
            Box::pin(async move {
                let result = query(
                    "UPDATE queue_entries SET state = $2, attempts = COALESCE($3, attempts),
                         available_at = COALESCE($4, available_at), last_error = COALESCE($5, last_error),
                         updated_at = $6
                     WHERE id = $1",
                )
                .bind(id.to_string())
                .bind(state.as_str())
                .bind(attempts.map(i64::from))
                .bind(available_at.map(millis))
                .bind(error)
                .bind(at)
                .execute(connection)
                .await?;
                Ok(expect_changed(result.rows_affected(), "queue entry")?)
            })
        })
        .await
    }

    /// Dead entries of a tenant, oldest first.
    pub async fn list_dead_entries(
        &self,
        tenant_id: TenantId,
        page: &PageRequest,
    ) -> Result<Page<QueueEntry>, StoreError> {
        let after = page.position()?.unwrap_or_default();
        let rows = query(format!(
            "SELECT {COLUMNS} FROM queue_entries WHERE tenant_id = $1 AND state = 'dead' AND id > $2
             ORDER BY id LIMIT $3"
        ))
        .bind(tenant_id.to_string())
        .bind(after)
        .bind(page.limit() + 1)
        .fetch_all(self.reader())
        .await?;
        let entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(entries, |entry| entry.id.to_string()))
    }

    pub async fn get_dead_entry(
        &self,
        tenant_id: TenantId,
        id: QueueEntryId,
    ) -> Result<QueueEntry, StoreError> {
        let row = query(format!(
            "SELECT {COLUMNS} FROM queue_entries WHERE tenant_id = $1 AND id = $2 AND state = 'dead'"
        ))
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::not_found("dead letter"))?;
        entry_from_row(&row)
    }

    /// Puts a dead entry back in its key, at its original position, with fresh attempts; the
    /// dispatcher runs it after whatever its key holds now. Returns the new entry.
    pub async fn requeue_dead_entry(
        &self,
        tenant_id: TenantId,
        id: QueueEntryId,
        hook: EnqueueHook,
    ) -> Result<QueueEntry, StoreError> {
        let dead = self.get_dead_entry(tenant_id, id).await?;
        self.write(move |connection| {
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
                enqueue(
                    connection,
                    tenant_id,
                    new,
                    Position::Seq(dead.key_seq),
                    &hook,
                )
                .await
            })
        })
        .await
    }

    pub async fn discard_dead_entry(
        &self,
        tenant_id: TenantId,
        id: QueueEntryId,
    ) -> Result<(), StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "DELETE FROM queue_entries WHERE tenant_id = $1 AND id = $2 AND state = 'dead'",
                )
                .bind(tenant_id.to_string())
                .bind(id.to_string())
                .execute(connection)
                .await?;
                Ok(expect_changed(result.rows_affected(), "dead letter")?)
            })
        })
        .await
    }

    /// Entry counts by state for one tenant, or for everyone.
    pub async fn queue_counts(
        &self,
        tenant_id: Option<TenantId>,
    ) -> Result<QueueCounts, StoreError> {
        let rows = query(
            "SELECT state, COUNT(*) AS entries, MIN(created_at) AS oldest FROM queue_entries
             WHERE ($1 IS NULL OR tenant_id = $1) GROUP BY state",
        )
        .bind(tenant_id.map(|id| id.to_string()))
        .fetch_all(self.reader())
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
        counts.accepted = i64::try_from(self.count_accepted(tenant_id).await?).unwrap_or(i64::MAX);
        Ok(counts)
    }
}
