//! PostgreSQL: the commonest turn — one entry answered with a reply, and no tool effects —
//! committed alone (when its batch, `postgres_batch`, could not be) as one statement, which
//! commits by itself: the entry's acknowledgement, its messages `processed`, the run, and the reply
//! appended with its stream event and delivery entry (`pipeline::append::postgres`'s clauses). In a
//! transaction that is `BEGIN`, two statements and `COMMIT`: four round trips, with the
//! conversation's row locked across three of them.
//!
//! Every clause after the acknowledgement acts only if the entry was there to acknowledge, so
//! a turn whose entry is gone writes nothing. The delivery entry's number is known only once
//! the statement has committed: it holds its place in its key before (see `switchboard_queue::Registrar`).

use std::sync::LazyLock;
use switchboard_queue::ownership::FENCED;

use switchboard_core::{QueueEntryId, TenantId};

use crate::StoreError;
use crate::conversation_events::StreamEvent;
use crate::pipeline::append::postgres::{Append, clauses};
use crate::pipeline::turn::{RUN_COLUMNS, RunRecord, bind_run, json_ids, placeholders};
use switchboard_database::RowExt;
use switchboard_database::{Db, query};

/// Parameters: the reply and its delivery `$1`–`$21` (`Append::bind`), the run `$22`–`$34`
/// (`bind_run`), the entry `$35`, the answered messages `$36` (a JSON array).
static TURN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH acked AS (
             DELETE FROM queue_entries WHERE id = $35 AND state <> 'dead'{FENCED} RETURNING id),
         run AS (
             INSERT INTO runs ({RUN_COLUMNS})
             SELECT {} WHERE EXISTS (SELECT 1 FROM acked)),
         processed AS (
             UPDATE messages SET status = 'processed'
             WHERE tenant_id = $2 AND id = ANY(ARRAY(SELECT json_array_elements_text($36::json)))
               AND EXISTS (SELECT 1 FROM acked)),
         {}
         SELECT (SELECT COUNT(*) FROM acked) AS acked, counters.last_seq, counters.event_offset,
                (SELECT key_seq FROM queued) AS key_seq
         FROM (SELECT 1 AS one) AS anchor LEFT JOIN counters ON TRUE",
        placeholders(22, 13),
        clauses("AND EXISTS (SELECT 1 FROM acked)"),
    )
});

/// Commits the turn that answers `entry_id` with `run` and the reply `append`, whose delivery
/// entry already holds its place (`Append::hold_place`): `NotFound` if the entry is gone, and
/// then nothing is written.
pub(super) async fn commit(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    entry_id: QueueEntryId,
    run: &RunRecord,
    append: Append<'_, '_>,
) -> Result<StreamEvent, StoreError> {
    let row = bind_run(
        append.bind(query(TURN.as_str())),
        tenant_id,
        run,
        Some(append.message_id()),
    )
    .bind(entry_id.to_string())
    .bind(json_ids(&run.message_ids))
    .fetch_one(connection)
    .await?;
    if row.integer("acked")? == 0 {
        return Err(StoreError::not_found("queue entry"));
    }
    append.finish(&row)
}
