//! PostgreSQL: agent turns finishing at the same moment share their statements. The commonest
//! turn (one entry answered with a reply, no tool effects) takes two: its debit
//! (`debits::debit_once`) and the turn itself (`postgres_alone`). Turns finishing together
//! commit in batches (`switchboard_database::batches`, two at once, of up to 64): every debit in one
//! statement, then every turn in one more, however many there are. A tenant's
//! balance row is then locked once per batch rather than once per turn, and each statement
//! starts its plan, crosses the network and (the turns') waits for the log's flush once.
//!
//! The debits commit first without waiting for their flush, as one alone does; the turns'
//! commit, later in the same log, waits for its own, which covers them. A debit the batch does
//! not take (its tenant's balance does not cover the batch's debits together, or the
//! statement failed) is tried alone; if the turns' statement fails, each turn is committed
//! alone. So one turn's failure is never another's, and each caller hears its own outcome.

use std::collections::HashMap;
use std::sync::LazyLock;
use switchboard_queue::ownership::FENCED;

use futures::future::BoxFuture;
use switchboard_core::{Message, MessageId, TenantId};

use super::postgres_alone as turn;
use crate::StoreError;
use crate::conversation_events::StreamEvent;
use crate::messages::NewMessage;
use crate::pipeline::append::postgres::{APPEND_BATCH, Append, RECORD_COLUMNS};
use crate::pipeline::append::unnumbered;
use crate::pipeline::turn::debits::{Debit, debit_all, debit_entry, debit_once};
use crate::pipeline::turn::{RUN_COLUMNS, RUN_RECORD_COLUMNS, RunRow, Turn};
use switchboard_database::Database;
use switchboard_database::batches::{BatchWork, Batched, Batches, by_position, unavailable_to_all};
use switchboard_database::{Db, Row, query};
use switchboard_queue::entries::Registrar;

/// A turn that answers one entry with a reply and changes nothing else.
pub(crate) struct AloneTurn {
    pub tenant_id: TenantId,
    pub turn: Turn,
    pub reply_id: MessageId,
    pub reply: NewMessage,
    pub registrar: Registrar,
}

/// Turns finishing at the same moment, committed in batches: as `Store::commit_turn` commits
/// one, `NotFound` if its entry is gone, `InsufficientCredits` if the balance does not cover its
/// cost, and then nothing of it is written. The outcome is the reply's stream event.
pub(crate) type TurnBatches = Batches<AloneTurn>;

impl BatchWork for AloneTurn {
    type Error = StoreError;
    type Outcome = StreamEvent;
    const BATCHES: usize = 2;
    const MAX_BATCH: usize = 64;

    fn run(database: Database, batch: Vec<Batched<Self>>) -> BoxFuture<'static, ()> {
        Box::pin(async move { commit_batch(&database, batch).await })
    }
}

async fn commit_batch(database: &Database, batch: Vec<Batched<AloneTurn>>) {
    let (turns, answers): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|waiting| (waiting.work, waiting.answer))
        .unzip();
    let outcomes = match database.postgres_pool() {
        Some(pool) => match pool.acquire().await {
            Ok(mut lease) => {
                let outcomes =
                    commit_together(&mut Db::PostgresConnection(lease.connection()), turns).await;
                let lost = outcomes
                    .iter()
                    .any(|outcome| outcome.as_ref().is_err_and(StoreError::is_unavailable));
                // A connection that failed goes no further than this batch.
                let _ = lease.settle(if lost {
                    Err(StoreError::Unavailable("connection lost".into()))
                } else {
                    Ok(())
                });
                outcomes
            }
            Err(error) => {
                let unavailable = unavailable_to_all(&StoreError::from(error));
                turns.iter().map(|_| Err(unavailable())).collect()
            }
        },
        None => turns
            .iter()
            .map(|_| Err(StoreError::Unavailable("not a PostgreSQL store".into())))
            .collect(),
    };
    for (answer, outcome) in answers.into_iter().zip(outcomes) {
        // The caller may have gone; its turn is committed all the same.
        let _ = answer.send(outcome);
    }
}

/// Commits `turns` on `connection`, each of its statements committing by itself: the debits,
/// then the turns. Returns each turn's outcome, in order.
async fn commit_together(
    connection: &mut Db<'_>,
    turns: Vec<AloneTurn>,
) -> Vec<Result<StreamEvent, StoreError>> {
    let mut outcomes: Vec<Option<Result<StreamEvent, StoreError>>> =
        turns.iter().map(|_| None).collect();
    let (mut replies, turns): (Vec<Message>, Vec<(TenantId, Turn, Registrar)>) = turns
        .into_iter()
        .map(|alone| {
            let message = unnumbered(
                alone.tenant_id,
                alone.turn.channel_id,
                alone.reply_id,
                alone.reply,
            );
            (message, (alone.tenant_id, alone.turn, alone.registrar))
        })
        .unzip();

    if let Err(error) = debit_together(connection, &turns, &mut outcomes).await {
        return fail_all(&error, outcomes);
    }

    let mut appends = Vec::with_capacity(turns.len());
    for (position, reply) in replies.iter_mut().enumerate() {
        if outcomes[position].is_some() {
            continue;
        }
        let (_, turn, registrar) = &turns[position];
        let delivery = turn.delivery(reply.id, registrar);
        match Append::new(reply, Some(delivery)) {
            Ok(append) => {
                append.hold_place();
                appends.push((position, append));
            }
            Err(error) => outcomes[position] = Some(Err(error)),
        }
    }
    if appends.is_empty() {
        return finished(outcomes);
    }
    match turn_all(connection, &turns, &appends).await {
        Ok(mut rows) => {
            for (position, append) in appends {
                outcomes[position] = Some(match rows.remove(&position) {
                    Some(row) => append.finish(&row),
                    None => Err(StoreError::not_found("queue entry")),
                });
            }
        }
        Err(error) if error.is_unavailable() => return fail_all(&error, outcomes),
        Err(error) => {
            tracing::debug!(%error, turns = appends.len(), "a batch of turns failed; committing each alone");
            for (position, append) in appends {
                let (tenant_id, turn, _) = &turns[position];
                let outcome =
                    turn::commit(connection, *tenant_id, turn.entry_id, &turn.run, append).await;
                outcomes[position] = Some(outcome);
            }
        }
    }
    finished(outcomes)
}

/// Takes the debits of `turns` that cost something, together; those the batch does not take,
/// one by one. A turn whose debit is refused gets its outcome in `outcomes`. Fails only when
/// the database is unavailable.
async fn debit_together(
    connection: &mut Db<'_>,
    turns: &[(TenantId, Turn, Registrar)],
    outcomes: &mut [Option<Result<StreamEvent, StoreError>>],
) -> Result<(), StoreError> {
    let (charged, debits): (Vec<usize>, Vec<Debit>) = turns
        .iter()
        .enumerate()
        .filter(|(_, (_, turn, _))| turn.cost.0 > 0)
        .map(|(position, (tenant_id, turn, _))| {
            let (key, reason) = debit_entry(&turn.run);
            let debit = Debit {
                tenant_id: *tenant_id,
                cost: turn.cost,
                key,
                reason,
            };
            (position, debit)
        })
        .unzip();
    if debits.is_empty() {
        return Ok(());
    }
    let taken = match debit_all(connection, &debits).await {
        Ok(taken) => taken,
        Err(error) if error.is_unavailable() => return Err(error),
        Err(error) => {
            tracing::debug!(%error, debits = debits.len(), "a batch of debits failed; taking each alone");
            vec![false; debits.len()]
        }
    };
    for ((position, debit), taken) in charged.into_iter().zip(debits).zip(taken) {
        if taken {
            continue;
        }
        let alone = debit_once(
            connection,
            debit.tenant_id,
            debit.cost,
            debit.key,
            debit.reason,
        )
        .await;
        match alone {
            Ok(()) => {}
            Err(error) if error.is_unavailable() => return Err(error),
            Err(error) => outcomes[position] = Some(Err(error)),
        }
    }
    Ok(())
}

/// Every turn of a batch committed as `postgres_alone` commits one, in one statement: the
/// entries acknowledged, then for each entry acknowledged its run, its messages `processed`
/// and its reply appended with its delivery entry ([`APPEND_BATCH`]); of two turns answering
/// one entry, the first. Parameters: `$1` the turns (`position`, `entry_id` and the run's
/// columns), `$2` their replies ([`Append::record`], at the same positions).
static TURN_ALL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH turns AS (
             SELECT * FROM json_to_recordset($1::json) AS turns (
                 position BIGINT, entry_id TEXT, {RUN_RECORD_COLUMNS})),
         acked AS (
             DELETE FROM queue_entries
             WHERE id = ANY(ARRAY(SELECT entry_id FROM turns)) AND state <> 'dead'{FENCED}
             RETURNING id),
         live AS (
             SELECT DISTINCT ON (entry_id) * FROM turns
             WHERE entry_id IN (SELECT id FROM acked)
             ORDER BY entry_id, position),
         run AS (
             INSERT INTO runs ({RUN_COLUMNS}) SELECT {RUN_COLUMNS} FROM live),
         answered AS (
             SELECT tenant_id, json_array_elements_text(message_ids::json) AS id FROM live),
         processed AS (
             UPDATE messages SET status = 'processed'
             FROM answered
             WHERE messages.id = ANY(ARRAY(SELECT id FROM answered))
               AND messages.id = answered.id AND messages.tenant_id = answered.tenant_id),
         batch AS (
             SELECT * FROM json_to_recordset($2::json) AS batch ({RECORD_COLUMNS})
             WHERE position IN (SELECT position FROM live)),
         {APPEND_BATCH}"
    )
});

/// Runs [`TURN_ALL`] for the turns with `appends`; returns the row of each turn committed, by
/// its position in the batch. A turn without one found its entry gone, and wrote nothing.
async fn turn_all(
    connection: &mut Db<'_>,
    turns: &[(TenantId, Turn, Registrar)],
    appends: &[(usize, Append<'_, '_>)],
) -> Result<HashMap<usize, Row>, StoreError> {
    let (runs, replies): (Vec<_>, Vec<_>) = appends
        .iter()
        .map(|(position, append)| {
            let (tenant_id, turn, _) = &turns[*position];
            let mut run = RunRow::new(*tenant_id, &turn.run, Some(append.message_id())).record();
            run["position"] = (*position).into();
            run["entry_id"] = turn.entry_id.to_string().into();
            (run, append.record(*position))
        })
        .unzip();
    let rows = query(TURN_ALL.as_str())
        .bind(serde_json::Value::Array(runs).to_string())
        .bind(serde_json::Value::Array(replies).to_string())
        .fetch_all(connection)
        .await?;
    Ok(by_position(rows)?)
}

fn fail_all(
    error: &StoreError,
    outcomes: Vec<Option<Result<StreamEvent, StoreError>>>,
) -> Vec<Result<StreamEvent, StoreError>> {
    let unavailable = unavailable_to_all(error);
    outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or_else(|| Err(unavailable())))
        .collect()
}

fn finished(
    outcomes: Vec<Option<Result<StreamEvent, StoreError>>>,
) -> Vec<Result<StreamEvent, StoreError>> {
    outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or_else(|| Err(StoreError::not_found("queue entry"))))
        .collect()
}
