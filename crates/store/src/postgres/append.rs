//! PostgreSQL: a message appended in one round trip — the conversation's counters, the message,
//! its `message_created` event and, when asked, its queue entry, as one statement of
//! data-modifying `WITH` clauses inside the caller's transaction. Taken one by one they are four
//! round trips, each waking a backend and the caller's thread once more.
//!
//! The statement learns the message's `seq` as it runs, and what depends on the `seq` is
//! written from it there: the event's payload is stored as the message's JSON cut around its
//! `seq` ([`PayloadAroundSeq`]), and the entry is numbered by the `seq` or by its key's counter.

use switchboard_core::{Message, QueueEntryId};

use crate::StoreError;
use crate::conversation_events::{PayloadAroundSeq, StreamEvent, stream_event};
use crate::db::{Db, query};
use crate::messages::bind_message;
use crate::queue::{Numbering, Queued, pending_entry};
use crate::row::RowExt;

/// Appends `message` at the end of its conversation: sets its `seq`, stores its event and
/// queues `queued`'s entry, registering it with the entry's hook. See the module's header.
pub(crate) async fn append(
    connection: &mut Db<'_>,
    message: &mut Message,
    queued: Option<Queued<'_>>,
) -> Result<StreamEvent, StoreError> {
    let payload = PayloadAroundSeq::new(message)?;
    let entry_id = queued.as_ref().map(|_| QueueEntryId::new());
    let entry = queued.as_ref().map(|queued| &queued.entry);
    let row = bind_message(
        query(
            "WITH counters AS (
                 UPDATE conversations
                 SET last_seq = last_seq + 1, event_offset = event_offset + 1, last_message_id = $1,
                     last_activity_at = $13, updated_at = $13
                 WHERE tenant_id = $2 AND id = $3
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
                 RETURNING key_seq)
             SELECT last_seq, event_offset, (SELECT key_seq FROM queued) AS key_seq FROM counters",
        ),
        message,
    )
    .bind(&payload.prefix)
    .bind(&payload.suffix)
    .bind(entry_id.map(|id| id.to_string()))
    .bind(entry.map(|entry| entry.ordering_key.clone()))
    .bind(entry.map(|entry| entry.kind.as_str()))
    .bind(entry.map(|entry| i64::from(entry.priority.min(9))))
    .bind(entry.map(|entry| entry.conversation_id.to_string()))
    .bind(i64::from(
        queued.as_ref().map(|queued| queued.numbering) == Some(Numbering::KeyCounter),
    ))
    .fetch_optional(&mut *connection)
    .await?
    .ok_or(StoreError::not_found("conversation"))?;
    message.seq = row.integer("last_seq")?;
    if let (Some(queued), Some(id)) = (queued, entry_id) {
        let key_seq = row.integer("key_seq")?;
        let entry = pending_entry(
            id,
            message.tenant_id,
            queued.entry,
            key_seq,
            message.created_at,
        );
        (queued.hook)(&entry);
    }
    Ok(stream_event(
        message.tenant_id,
        message.conversation_id,
        row.integer("event_offset")?,
        payload.with_seq(message.seq),
    ))
}
