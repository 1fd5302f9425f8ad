//! PostgreSQL: a message appended in one round trip — the conversation's counters, the message,
//! its `message_created` event and, when asked, its queue entry, as one statement of
//! data-modifying `WITH` clauses. Taken one by one they are four round trips, each waking a
//! backend and the caller's thread once more. A turn's statement (`pipeline::turn::postgres_alone`) carries the
//! same clauses.
//!
//! The statement learns the message's `seq` as it runs, and what depends on the `seq` is
//! written from it there: the event's payload is stored as the message's JSON cut around its
//! `seq` ([`PayloadAroundSeq`]), and the entry is numbered by the `seq` or by its key's counter.

use std::sync::LazyLock;

use switchboard_core::{Message, QueueEntry, QueueEntryId};

use super::bind_message;
use crate::StoreError;
use crate::conversation_events::{PayloadAroundSeq, StreamEvent, stream_event};
use switchboard_database::{Db, Query, Row, query};
use switchboard_database::{RowExt, millis};
use switchboard_queue::entries::{Numbering, Queued, UNNUMBERED, pending_entry};

/// The append's clauses, `counters` to `queued`, with `gate` added to the condition of the
/// conversation's update (every other clause follows from that update's row). Parameters:
/// `$1`–`$13` the message ([`bind_message`]), then the rest in the order [`Append::bind`]
/// binds them, up to `$21`.
pub(crate) fn clauses(gate: &str) -> String {
    format!(
        "counters AS (
             UPDATE conversations
             SET last_seq = last_seq + 1, event_offset = event_offset + 1, last_message_id = $1,
                 last_activity_at = $13, updated_at = $13
             WHERE tenant_id = $2 AND id = $3 {gate}
             RETURNING last_seq, event_offset),
         inserted AS (
             INSERT INTO messages (id, tenant_id, conversation_id, channel_id, seq, direction,
                 author_kind, author_id, type, text, content, provider_message_id, status, created_at)
             SELECT $1, $2, $3, $4, last_seq, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM counters),
         told AS (
             INSERT INTO conversation_events (conversation_id, event_offset, tenant_id, payload,
                                              created_at)
             SELECT $3, event_offset, $2, $14 || last_seq || $15, $13 FROM counters),
         key_counter AS (
             INSERT INTO queue_keys (ordering_key, last_seq)
             SELECT $17, 1 FROM counters WHERE $21 = 1
             ON CONFLICT (ordering_key) DO UPDATE SET last_seq = queue_keys.last_seq + 1
             RETURNING last_seq),
         queued AS (
             INSERT INTO queue_entries (id, tenant_id, kind, ordering_key, key_seq, priority,
                 conversation_id, message_id, state, attempts, available_at, created_at, updated_at)
             SELECT $16, $2, $18, $17, COALESCE((SELECT last_seq FROM key_counter), last_seq),
                    $19, $20, $1, 'pending', 0, $13, $13, $13
             FROM counters WHERE $16 IS NOT NULL
             RETURNING key_seq)"
    )
}

static APPEND: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {} SELECT last_seq, event_offset, (SELECT key_seq FROM queued) AS key_seq
         FROM counters",
        clauses("")
    )
});

/// One message to append with the statement's clauses, and what it learns.
pub(crate) struct Append<'m, 'h> {
    message: &'m mut Message,
    payload: PayloadAroundSeq,
    queued: Option<(QueueEntryId, Queued<'h>)>,
}

impl<'m, 'h> Append<'m, 'h> {
    pub(crate) fn new(
        message: &'m mut Message,
        queued: Option<Queued<'h>>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            payload: PayloadAroundSeq::new(message)?,
            message,
            queued: queued.map(|queued| (QueueEntryId::new(), queued)),
        })
    }

    pub(crate) fn message_id(&self) -> switchboard_core::MessageId {
        self.message.id
    }

    /// The entry as it will be queued, numbered `key_seq`.
    pub(crate) fn entry(&self, key_seq: i64) -> Option<QueueEntry> {
        self.queued.as_ref().map(|(id, queued)| {
            pending_entry(
                *id,
                self.message.tenant_id,
                queued.entry.clone(),
                key_seq,
                self.message.created_at,
            )
        })
    }

    /// Registers the entry to queue, if any, as [`UNNUMBERED`] with its registrar: for a statement
    /// that commits by itself, so learns the entry's number only once committed.
    pub(crate) fn hold_place(&self) {
        if let Some((_, queued)) = &self.queued
            && let Some(entry) = self.entry(UNNUMBERED)
        {
            queued.registrar.register(&entry);
        }
    }

    /// Binds `$1`–`$21`.
    pub(crate) fn bind(&self, statement: Query) -> Query {
        let entry = self.queued.as_ref().map(|(_, queued)| &queued.entry);
        let numbering = self.queued.as_ref().map(|(_, queued)| queued.numbering);
        bind_message(statement, self.message)
            .bind(&self.payload.prefix)
            .bind(&self.payload.suffix)
            .bind(self.queued.as_ref().map(|(id, _)| id.to_string()))
            .bind(entry.map(|entry| entry.ordering_key.clone()))
            .bind(entry.map(|entry| entry.kind.as_str()))
            .bind(entry.map(|entry| i64::from(entry.priority.min(9))))
            .bind(entry.map(|entry| entry.conversation_id.to_string()))
            .bind(i64::from(numbering == Some(Numbering::KeyCounter)))
    }

    /// The message and its entry as one row of a batch ([`RECORD_COLUMNS`]), at `position`.
    pub(crate) fn record(&self, position: usize) -> serde_json::Value {
        let message = &*self.message;
        let entry = self.queued.as_ref().map(|(_, queued)| &queued.entry);
        let numbering = self.queued.as_ref().map(|(_, queued)| queued.numbering);
        serde_json::json!({
            "position": position,
            "id": message.id.to_string(),
            "tenant_id": message.tenant_id.to_string(),
            "conversation_id": message.conversation_id.to_string(),
            "channel_id": message.channel_id.to_string(),
            "direction": message.direction.as_str(),
            "author_kind": message.author_kind.as_str(),
            "author_id": message.author_id,
            "type": message.message_type.as_str(),
            "text": message.text,
            "content": message.content.as_ref().map(ToString::to_string),
            "provider_message_id": message.provider_message_id,
            "status": message.status.as_str(),
            "created_at": millis(message.created_at),
            "prefix": self.payload.prefix,
            "suffix": self.payload.suffix,
            "entry_id": self.queued.as_ref().map(|(id, _)| id.to_string()),
            "ordering_key": entry.map(|entry| entry.ordering_key.clone()),
            "kind": entry.map(|entry| entry.kind.as_str()),
            "priority": entry.map(|entry| entry.priority.min(9)),
            "entry_conversation_id": entry.map(|entry| entry.conversation_id.to_string()),
            "key_counter": numbering == Some(Numbering::KeyCounter),
        })
    }

    /// Takes what the statement returned (`last_seq`, `event_offset`, `key_seq`): gives the
    /// message its `seq`, registers the entry with its registrar, and returns the stream event.
    pub(crate) fn finish(self, row: &Row) -> Result<StreamEvent, StoreError> {
        self.message.seq = row.integer("last_seq")?;
        if let Some((_, queued)) = &self.queued
            && let Some(entry) = self.entry(row.integer("key_seq")?)
        {
            queued.registrar.register(&entry);
        }
        Ok(stream_event(
            self.message.tenant_id,
            self.message.conversation_id,
            row.integer("event_offset")?,
            self.payload.with_seq(self.message.seq),
        ))
    }
}

/// Appends `message` at the end of its conversation inside the caller's transaction: sets its
/// `seq`, stores its event and queues `queued`'s entry, registering it with the entry's registrar.
pub(crate) async fn append(
    connection: &mut Db<'_>,
    message: &mut Message,
    queued: Option<Queued<'_>>,
) -> Result<StreamEvent, StoreError> {
    let append = Append::new(message, queued)?;
    let row = append
        .bind(query(APPEND.as_str()))
        .fetch_optional(&mut *connection)
        .await?
        .ok_or(StoreError::not_found("conversation"))?;
    append.finish(&row)
}

/// The columns of a batch of appends, as [`Append::record`] writes each row, for
/// `json_to_recordset`.
pub(crate) const RECORD_COLUMNS: &str = "
    position BIGINT, id TEXT, tenant_id TEXT, conversation_id TEXT, channel_id TEXT,
    direction TEXT, author_kind TEXT, author_id TEXT, type TEXT, text TEXT, content TEXT,
    provider_message_id TEXT, status TEXT, created_at BIGINT, prefix TEXT, suffix TEXT,
    entry_id TEXT, ordering_key TEXT, kind TEXT, priority BIGINT,
    entry_conversation_id TEXT, key_counter BOOLEAN";

/// Appends the messages of a clause `batch` (rows of [`RECORD_COLUMNS`]) in one statement:
/// for each conversation, its counters move once by the number of its messages, which take the
/// `seq`s and event offsets in between in the batch's order; entries numbered by their key's
/// counter take consecutive numbers the same way. The conversations are found by `id = ANY(…)`:
/// a join to the batch alone plans as a scan of every conversation. Returns a row per message
/// appended (`position`, `last_seq`, `event_offset`, `key_seq`), in the batch's order.
pub(crate) const APPEND_BATCH: &str = "
    ranked AS (
        SELECT batch.*,
               row_number() OVER (PARTITION BY conversation_id ORDER BY position) AS nth,
               count(*) OVER (PARTITION BY conversation_id) AS appended,
               row_number() OVER (PARTITION BY key_counter, ordering_key ORDER BY position)
                   AS key_nth,
               count(*) OVER (PARTITION BY key_counter, ordering_key) AS key_appended
        FROM batch),
    latest AS (
        SELECT DISTINCT ON (conversation_id) tenant_id, conversation_id, id, created_at, appended
        FROM ranked ORDER BY conversation_id, position DESC),
    counters AS (
        UPDATE conversations
        SET last_seq = last_seq + latest.appended,
            event_offset = event_offset + latest.appended,
            last_message_id = latest.id,
            last_activity_at = latest.created_at, updated_at = latest.created_at
        FROM latest
        WHERE conversations.id = ANY(ARRAY(SELECT conversation_id FROM latest))
          AND conversations.tenant_id = latest.tenant_id
          AND conversations.id = latest.conversation_id
        RETURNING conversations.id, last_seq, event_offset),
    numbered AS (
        SELECT ranked.*, counters.last_seq - ranked.appended + ranked.nth AS seq,
               counters.event_offset - ranked.appended + ranked.nth AS event_offset
        FROM ranked JOIN counters ON counters.id = ranked.conversation_id),
    inserted AS (
        INSERT INTO messages (id, tenant_id, conversation_id, channel_id, seq, direction,
            author_kind, author_id, type, text, content, provider_message_id, status, created_at)
        SELECT id, tenant_id, conversation_id, channel_id, seq, direction, author_kind,
               author_id, type, text, content, provider_message_id, status, created_at
        FROM numbered),
    told AS (
        INSERT INTO conversation_events (conversation_id, event_offset, tenant_id, payload,
                                         created_at)
        SELECT conversation_id, event_offset, tenant_id, prefix || seq || suffix, created_at
        FROM numbered),
    key_counters AS (
        INSERT INTO queue_keys (ordering_key, last_seq)
        SELECT ordering_key, max(key_appended) FROM numbered
        WHERE key_counter AND entry_id IS NOT NULL GROUP BY ordering_key
        ON CONFLICT (ordering_key) DO UPDATE SET last_seq = queue_keys.last_seq + EXCLUDED.last_seq
        RETURNING ordering_key, last_seq),
    queued AS (
        INSERT INTO queue_entries (id, tenant_id, kind, ordering_key, key_seq, priority,
            conversation_id, message_id, state, attempts, available_at, created_at, updated_at)
        SELECT numbered.entry_id, numbered.tenant_id, numbered.kind, numbered.ordering_key,
               CASE WHEN numbered.key_counter
                    THEN key_counters.last_seq - numbered.key_appended + numbered.key_nth
                    ELSE numbered.seq END,
               numbered.priority, numbered.entry_conversation_id, numbered.id, 'pending', 0,
               numbered.created_at, numbered.created_at, numbered.created_at
        FROM numbered
        LEFT JOIN key_counters
            ON numbered.key_counter AND key_counters.ordering_key = numbered.ordering_key
        WHERE numbered.entry_id IS NOT NULL
        RETURNING id, key_seq)
    SELECT numbered.position, numbered.seq AS last_seq, numbered.event_offset, queued.key_seq
    FROM numbered LEFT JOIN queued ON queued.id = numbered.entry_id
    ORDER BY numbered.position";

/// Appends a batch of messages in one statement, inside the caller's transaction
/// ([`APPEND_BATCH`]). Parameter: `$1`, the batch ([`Append::record`]).
static APPEND_ALL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH batch AS (SELECT * FROM json_to_recordset($1::json) AS batch ({RECORD_COLUMNS})),
         {APPEND_BATCH}"
    )
});

/// Appends each of `messages` at the end of its conversation, in order, with its entry to
/// queue, inside the caller's transaction, in one statement however many there are: as
/// [`append`] does one. `NotFound` if a conversation is missing.
pub(crate) async fn append_all(
    connection: &mut Db<'_>,
    messages: &mut [Message],
    queued: Vec<Option<Queued<'_>>>,
) -> Result<Vec<StreamEvent>, StoreError> {
    let appends = messages
        .iter_mut()
        .zip(queued)
        .map(|(message, queued)| Append::new(message, queued))
        .collect::<Result<Vec<_>, _>>()?;
    if appends.is_empty() {
        return Ok(Vec::new());
    }
    let batch: Vec<_> = appends
        .iter()
        .enumerate()
        .map(|(position, append)| append.record(position))
        .collect();
    let rows = query(APPEND_ALL.as_str())
        .bind(serde_json::Value::Array(batch).to_string())
        .fetch_all(&mut *connection)
        .await?;
    // One row per message whose conversation was there, in the batch's order.
    if rows.len() != appends.len() {
        return Err(StoreError::not_found("conversation"));
    }
    appends
        .into_iter()
        .zip(&rows)
        .map(|(append, row)| append.finish(row))
        .collect()
}
