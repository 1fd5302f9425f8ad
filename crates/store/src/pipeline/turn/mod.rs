//! Agent runs and the transaction that finishes a turn: its reply, the reply's delivery entry,
//! its run log, its tools' effects and the acknowledgement of what it answered commit together,
//! or not at all; its debit commits with them, or just before on PostgreSQL (`debits`). A
//! delivery's completion is in `pipeline::delivery`. On SQLite every statement here runs on the single
//! writer, and on PostgreSQL each is a round trip, so a turn is kept to a few.

pub(crate) mod debits;
pub(crate) mod effects;
mod postgres_alone;
mod postgres_batch;
pub(crate) mod postgres_reads;
mod reads;

pub use effects::{FollowUp, NewFollowUp, TurnEffects};
pub(crate) use postgres_batch::TurnBatches;
pub(crate) use postgres_reads::{HistoryReads, SubjectReads};

use std::sync::LazyLock;
use switchboard_queue::ownership::FENCED;

use switchboard_core::{
    AgentEvent, AgentId, ChannelId, ConversationEvent, ConversationId, Credits, MessageId,
    MessageStatus, OrderingKey, Page, QueueEntryId, Run, RunEvent, RunId, RunStatus, TenantId,
    Timestamp, Usage,
};

use crate::conversation_events::{StreamEvent, append_event};
use crate::messages::NewMessage;
use crate::pipeline::append::append_at_end;
use crate::pipeline::delivery::delivery_entry;
use crate::pipeline::turn::debits::{debit, debit_entry, debit_once};
use crate::{PageRequest, Store, StoreError};
use postgres_batch::AloneTurn;
use switchboard_database::{Db, Query, Row, query};
use switchboard_database::{RowExt, millis, now, parse};
use switchboard_queue::entries::{Queued, Registrar, acknowledge};

/// A run's columns, as it is read and as [`bind_run`] binds it.
pub(crate) const RUN_COLUMNS: &str =
    "id, tenant_id, conversation_id, agent_id, message_ids, context_message_ids, status, reply_message_id, usage,
    error, events, started_at, finished_at";

/// A finished run and what it recorded.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub id: RunId,
    pub conversation_id: ConversationId,
    pub agent_id: Option<AgentId>,
    pub message_ids: Vec<MessageId>,
    /// The history the agent was given, oldest first.
    pub context_message_ids: Vec<MessageId>,
    pub status: RunStatus,
    pub usage: Option<Usage>,
    pub error: Option<String>,
    pub started_at: Timestamp,
    /// The run's events in the order they happened, with their times.
    pub events: Vec<(AgentEvent, Timestamp)>,
}

/// Everything a successful turn commits at once.
pub struct Turn {
    pub run: RunRecord,
    /// The inbound entry this turn answers: acknowledged (deleted) in the same transaction.
    pub entry_id: QueueEntryId,
    /// Further entries the same run answered (a coalesced burst), acknowledged with it.
    pub followers: Vec<QueueEntryId>,
    /// What the run's tools changed, applied with the reply.
    pub effects: crate::TurnEffects,
    /// The conversation's channel, where the reply goes out.
    pub channel_id: ChannelId,
    /// The reply and its id, appended to the conversation as a pending outbound message.
    pub reply: Option<(MessageId, NewMessage)>,
    /// Credits to debit, once: the ledger's idempotency key is `run:<first message id>`.
    pub cost: Credits,
    /// The ordering key the reply's delivery is queued under.
    pub delivery_key: OrderingKey,
    /// Whether that key is the conversation's own (then the reply's `seq` places the entry);
    /// otherwise the key spans conversations and its counter places it.
    pub delivery_key_is_conversation: bool,
    pub priority: u8,
}

pub(crate) fn run_from_row(row: &Row) -> Result<Run, StoreError> {
    Ok(Run {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        conversation_id: row.parsed("conversation_id")?,
        agent_id: row.optional_parsed("agent_id")?,
        message_ids: row.json("message_ids")?,
        context_message_ids: row.json("context_message_ids")?,
        status: row.parsed("status")?,
        reply_message_id: row.optional_parsed("reply_message_id")?,
        usage: row.optional_json("usage")?,
        error: row.optional_text("error")?,
        started_at: row.time("started_at")?,
        finished_at: row.optional_time("finished_at")?,
        events: row.json("events")?,
    })
}

impl Store {
    /// Commits a turn and returns what the conversation's stream tells of it. Fails with
    /// `NotFound` if an entry it answers is gone (its work was done or discarded) and
    /// `InsufficientCredits` if the balance no longer covers the cost; either way none of its
    /// reply, run, effects and acknowledgements is written.
    ///
    /// The debit is taken once per ledger key (`run:<first message id>`). On SQLite it commits
    /// with the turn. On PostgreSQL it commits just before the turn's transaction, without
    /// waiting for its flush (`debits::debit_once` says why that loses nothing): every turn of a
    /// tenant debits the same balance row, and a row changed in a transaction stays locked
    /// until that transaction's commit is on disk, so the tenant's turns would otherwise commit
    /// one fsync at a time. A debit taken before a transaction that then fails stays taken; the
    /// turn's next commit takes nothing more.
    pub async fn commit_turn(
        &self,
        tenant_id: TenantId,
        mut turn: Turn,
        registrar: Registrar,
    ) -> Result<Vec<StreamEvent>, StoreError> {
        let debit_with_turn = self.backend() == crate::Backend::Sqlite;
        // On PostgreSQL the common turn (one entry, a reply, no tool effects) commits with the
        // turns finishing at the same moment, debit and all (`postgres_batch`).
        let alone =
            !debit_with_turn && turn.followers.is_empty() && turn.effects == TurnEffects::default();
        if alone && let Some((reply_id, reply)) = turn.reply.take() {
            let alone = AloneTurn {
                tenant_id,
                turn,
                reply_id,
                reply,
                registrar,
            };
            let event = self.inner.turns.submit(&self.inner.database, alone).await?;
            return Ok(vec![event]);
        }
        if !debit_with_turn && turn.cost.0 > 0 {
            let (cost, (key, reason)) = (turn.cost, debit_entry(&turn.run));
            self.write_statement(move |connection| {
                Box::pin(debit_once(connection, tenant_id, cost, key, reason))
            })
            .await?;
        }
        self.write(move |connection| {
            Box::pin(async move {
                let answered: Vec<QueueEntryId> = std::iter::once(turn.entry_id)
                    .chain(turn.followers.iter().copied())
                    .collect();
                let reply_id = turn.reply.as_ref().map(|(id, _)| *id);
                settle(connection, tenant_id, &answered, &turn.run, reply_id).await?;
                let mut events: Vec<StreamEvent> = crate::pipeline::turn::effects::apply(
                    connection,
                    tenant_id,
                    turn.run.conversation_id,
                    turn.run.id,
                    &turn.effects,
                )
                .await?
                .into_iter()
                .collect();
                if let Some((id, reply)) = turn.reply.take() {
                    let delivery = turn.delivery(id, &registrar);
                    let (_, event) = append_at_end(
                        connection,
                        tenant_id,
                        turn.channel_id,
                        id,
                        reply,
                        Some(delivery),
                    )
                    .await?;
                    events.push(event);
                }
                if debit_with_turn && turn.cost.0 > 0 {
                    debit(connection, tenant_id, turn.cost, &turn.run).await?;
                }
                Ok(events)
            })
        })
        .await
    }

    /// Records a run that did not produce a reply (failed, or blocked on credits), and marks its
    /// messages with `message_status` if given.
    pub async fn record_run(
        &self,
        tenant_id: TenantId,
        run: RunRecord,
        message_status: Option<MessageStatus>,
    ) -> Result<Vec<StreamEvent>, StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                let events = match message_status {
                    Some(status) => {
                        set_status(connection, tenant_id, &run.message_ids, status).await?
                    }
                    None => Vec::new(),
                };
                insert_run(connection, tenant_id, &run, None).await?;
                Ok(events)
            })
        })
        .await
    }

    /// Marks messages with a status (a delivery the provider rejected: `failed`).
    pub async fn set_message_status(
        &self,
        tenant_id: TenantId,
        message_ids: Vec<MessageId>,
        status: MessageStatus,
    ) -> Result<Vec<StreamEvent>, StoreError> {
        self.write(move |connection| {
            Box::pin(async move { set_status(connection, tenant_id, &message_ids, status).await })
        })
        .await
    }

    /// One run with its event log.
    pub async fn get_run(&self, tenant_id: TenantId, id: RunId) -> Result<Run, StoreError> {
        let row = query(format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::not_found("run"))?;
        run_from_row(&row)
    }

    /// Runs of a tenant, oldest first, optionally of one conversation, without their event logs.
    pub async fn list_runs(
        &self,
        tenant_id: TenantId,
        conversation_id: Option<ConversationId>,
        page: &PageRequest,
    ) -> Result<Page<Run>, StoreError> {
        let after = page.position()?.unwrap_or_default();
        // A statement for each case, so that a conversation's runs are found by its index,
        // not by reading the tenant's in order: SQLite plans `($2 IS NULL OR …)` once for
        // either.
        let statement = match conversation_id {
            Some(conversation_id) => query(RUNS_OF_CONVERSATION.as_str())
                .bind(tenant_id.to_string())
                .bind(conversation_id.to_string()),
            None => query(RUNS_OF_TENANT.as_str()).bind(tenant_id.to_string()),
        };
        let rows = statement
            .bind(after)
            .bind(page.limit() + 1)
            .fetch_all(self.reader())
            .await?;
        let runs = rows
            .iter()
            .map(|row| {
                run_from_row(row).map(|run| Run {
                    events: Vec::new(),
                    ..run
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(runs, |run| run.id.to_string()))
    }
}

/// A tenant's runs after the id `$2`, oldest first, `$3` at most.
static RUNS_OF_TENANT: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {RUN_COLUMNS} FROM runs WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3")
});

/// The runs of the conversation `$2` after the id `$3`, oldest first, `$4` at most.
static RUNS_OF_CONVERSATION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE tenant_id = $1 AND conversation_id = $2 AND id > $3
         ORDER BY id LIMIT $4"
    )
});

impl Turn {
    /// Where the reply `reply_id` is queued for delivery: on the turn's delivery key.
    pub(crate) fn delivery<'h>(&self, reply_id: MessageId, registrar: &'h Registrar) -> Queued<'h> {
        delivery_entry(
            self.delivery_key.clone(),
            self.delivery_key_is_conversation,
            self.priority,
            self.run.conversation_id,
            reply_id,
            registrar,
        )
    }
}

async fn set_status(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    message_ids: &[MessageId],
    status: MessageStatus,
) -> Result<Vec<StreamEvent>, StoreError> {
    let mut events = Vec::new();
    for id in message_ids {
        let conversation_id: Option<String> = query(
            "UPDATE messages SET status = $3 WHERE tenant_id = $1 AND id = $2
             RETURNING conversation_id",
        )
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .bind(status.as_str())
        .fetch_optional_scalar(&mut *connection)
        .await?;
        if let Some(conversation_id) = conversation_id {
            let conversation_id = parse("conversation_id", &conversation_id)?;
            let event = ConversationEvent::MessageStatus {
                message_id: *id,
                status,
            };
            events.push(append_event(connection, tenant_id, conversation_id, &event).await?);
        }
    }
    Ok(events)
}

/// Marks a turn's messages `processed`, told by its run rather than the stream. Without
/// `RETURNING`, which SQLite runs as a trigger: the update then needs no statement journal (a
/// copy of each page it changes, kept until it ends).
async fn mark_processed(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    message_ids: &[MessageId],
) -> Result<(), StoreError> {
    for id in message_ids {
        query("UPDATE messages SET status = 'processed' WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id.to_string())
            .bind(id.to_string())
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// A run's row: its columns' values ([`RUN_COLUMNS`], in order), its events numbered from 1.
#[derive(serde::Serialize)]
pub(crate) struct RunRow {
    id: String,
    tenant_id: String,
    conversation_id: String,
    agent_id: Option<String>,
    message_ids: String,
    context_message_ids: String,
    status: &'static str,
    reply_message_id: Option<String>,
    usage: Option<String>,
    error: Option<String>,
    events: String,
    started_at: i64,
    finished_at: i64,
}

impl RunRow {
    pub(crate) fn new(
        tenant_id: TenantId,
        run: &RunRecord,
        reply_message_id: Option<MessageId>,
    ) -> Self {
        let events: Vec<RunEvent> = run
            .events
            .iter()
            .zip(1..)
            .map(|((event, at), seq)| RunEvent {
                seq,
                event: event.clone(),
                created_at: *at,
            })
            .collect();
        // Serialized straight to text, without building a `Value` tree first.
        let json = |value: serde_json::Result<String>| value.unwrap_or_default();
        Self {
            id: run.id.to_string(),
            tenant_id: tenant_id.to_string(),
            conversation_id: run.conversation_id.to_string(),
            agent_id: run.agent_id.map(|id| id.to_string()),
            message_ids: json(serde_json::to_string(&run.message_ids)),
            context_message_ids: json(serde_json::to_string(&run.context_message_ids)),
            status: run.status.as_str(),
            reply_message_id: reply_message_id.map(|id| id.to_string()),
            usage: run.usage.map(|usage| json(serde_json::to_string(&usage))),
            error: run.error.clone(),
            events: json(serde_json::to_string(&events)),
            started_at: millis(run.started_at),
            finished_at: millis(now()),
        }
    }

    /// Binds the columns as the next thirteen parameters.
    pub(crate) fn bind(self, statement: Query) -> Query {
        statement
            .bind(self.id)
            .bind(self.tenant_id)
            .bind(self.conversation_id)
            .bind(self.agent_id)
            .bind(self.message_ids)
            .bind(self.context_message_ids)
            .bind(self.status)
            .bind(self.reply_message_id)
            .bind(self.usage)
            .bind(self.error)
            .bind(self.events)
            .bind(self.started_at)
            .bind(self.finished_at)
    }

    /// The columns as one row of a batch, for `json_to_recordset` with [`RUN_RECORD_COLUMNS`].
    pub(crate) fn record(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// [`RUN_COLUMNS`] with their types, as [`RunRow::record`] writes them.
pub(crate) const RUN_RECORD_COLUMNS: &str = "id TEXT, tenant_id TEXT, conversation_id TEXT,
    agent_id TEXT, message_ids TEXT, context_message_ids TEXT, status TEXT,
    reply_message_id TEXT, usage TEXT, error TEXT, events TEXT, started_at BIGINT,
    finished_at BIGINT";

/// Binds the run's columns ([`RUN_COLUMNS`], in order) as the next thirteen parameters.
pub(crate) fn bind_run(
    statement: Query,
    tenant_id: TenantId,
    run: &RunRecord,
    reply_message_id: Option<MessageId>,
) -> Query {
    RunRow::new(tenant_id, run, reply_message_id).bind(statement)
}

/// `$first`, `$first + 1`, … : `count` parameters, comma-separated.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|number| format!("${number}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts a run with its events, numbered from 1, as one JSON array.
static INSERT_RUN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO runs ({RUN_COLUMNS}) VALUES ({})",
        placeholders(1, 13)
    )
});

pub(crate) async fn insert_run(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    run: &RunRecord,
    reply_message_id: Option<MessageId>,
) -> Result<(), StoreError> {
    bind_run(query(INSERT_RUN.as_str()), tenant_id, run, reply_message_id)
        .execute(connection)
        .await?;
    Ok(())
}

/// [`settle`] on PostgreSQL: the run `$1`–`$13`, the entries answered `$14` and the messages
/// answered `$15`, each a JSON array.
static SETTLE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH run AS ({} RETURNING id),
         acked AS (
             DELETE FROM queue_entries
             WHERE id = ANY(ARRAY(SELECT json_array_elements_text($14::json)))
               AND state <> 'dead'{FENCED}
             RETURNING id),
         processed AS (
             UPDATE messages SET status = 'processed'
             WHERE tenant_id = $2 AND id = ANY(ARRAY(SELECT json_array_elements_text($15::json))))
         SELECT COUNT(*) FROM acked",
        INSERT_RUN.as_str()
    )
});

/// Ids as a JSON array of strings, for a statement to take as one parameter.
pub(crate) fn json_ids<T: ToString>(ids: &[T]) -> String {
    serde_json::Value::from(ids.iter().map(ToString::to_string).collect::<Vec<_>>()).to_string()
}

/// What every answered turn records: its entries acknowledged (`NotFound` if one is gone, which
/// must abort the turn), its messages `processed` (told by the run, not the stream), and the run.
/// On PostgreSQL one statement, one round trip.
async fn settle(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    answered: &[QueueEntryId],
    run: &RunRecord,
    reply_message_id: Option<MessageId>,
) -> Result<(), StoreError> {
    if !connection.is_postgres() {
        for entry_id in answered {
            acknowledge(connection, *entry_id).await?;
        }
        mark_processed(connection, tenant_id, &run.message_ids).await?;
        return insert_run(connection, tenant_id, run, reply_message_id).await;
    }
    let acknowledged: i64 = bind_run(query(SETTLE.as_str()), tenant_id, run, reply_message_id)
        .bind(json_ids(answered))
        .bind(json_ids(&run.message_ids))
        .fetch_scalar(connection)
        .await?;
    if usize::try_from(acknowledged).ok() != Some(answered.len()) {
        return Err(StoreError::not_found("queue entry"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RUNS_OF_CONVERSATION;
    use crate::admin::sqlite_plan;

    /// On SQLite a conversation's runs are read through its index, not among the tenant's.
    #[tokio::test]
    async fn a_conversations_runs_are_found_by_its_index() -> anyhow::Result<()> {
        let plan = sqlite_plan(&RUNS_OF_CONVERSATION).await?;
        assert!(
            plan.contains(
                "USING INDEX runs_conversation (tenant_id=? AND conversation_id=? AND id>?)"
            ),
            "{plan}"
        );
        Ok(())
    }
}
