//! Folding facts into roll-ups: one transaction reads a batch of facts (oldest first), finds
//! what each is about (its conversation's channel and agent, a run's tools and queue wait),
//! adds it to the minute, hour, quarter-day and day rows it falls in, and deletes the facts it folded.

use std::collections::{BTreeMap, HashMap};

use switchboard_analytics::{Counter, Distribution, Rollup, Tier};
use switchboard_core::{AgentEvent, Run, RunStatus};

use super::measurements::{Measured, minutes_of};
use super::rollups::add_to_tiers;
use super::{PARAMETERS_PER_STATEMENT, RollupKey};
use crate::pipeline::turn::{RUN_COLUMNS, placeholders, run_from_row};
use crate::table::IdList;
use crate::{Store, StoreError};
use switchboard_database::{Db, Row, RowExt, millis, query};

/// The advisory lock that lets one PostgreSQL session fold at a time.
const FOLD_LOCK_KEY: i64 = 0x5357_414E_4C59;

/// The tool whose call hands a conversation to a human (the agent crate's `HandoffToHuman`).
const HANDOFF_TOOL: &str = "handoff_to_human";

/// What a fact is about: the conversation's channel and agent.
#[derive(Clone, Default)]
struct Subject {
    channel_id: String,
    agent_id: String,
}

struct Fact {
    id: i64,
    tenant_id: String,
    kind: String,
    conversation_id: Option<String>,
    subject_id: String,
    at: i64,
    value: i64,
    detail: Option<String>,
}

/// When a conversation's contact first wrote and when someone first answered.
#[derive(Clone, Default, PartialEq)]
struct FirstResponse {
    tenant_id: String,
    inbound_at: Option<i64>,
    response_at: Option<i64>,
}

/// What a fold does when another PostgreSQL session is folding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenBusy {
    /// Wait for it to finish, then fold what is left.
    Wait,
    /// Fold nothing (that session is doing the work).
    Skip,
}

impl Store {
    /// Folds up to `limit` facts into the roll-ups; returns how many it folded (0: none waited,
    /// or, with [`WhenBusy::Skip`], another PostgreSQL session is folding).
    ///
    /// `measured` (made outside the database) is added in the same transaction: its rows are
    /// mostly those the facts add to, read and written once for both. Measurements are not
    /// kept for later: with any, the fold waits for another session's, whatever `busy` says.
    pub async fn fold_analytics(
        &self,
        limit: u32,
        busy: WhenBusy,
        measured: Vec<Measured>,
    ) -> Result<usize, StoreError> {
        let busy = if measured.is_empty() {
            busy
        } else {
            WhenBusy::Wait
        };
        self.write(move |connection| {
            Box::pin(async move {
                if !lock_folds(connection, busy).await? {
                    return Ok(0);
                }
                Ok(fold(connection, limit, 0, minutes_of(measured))
                    .await?
                    .len())
            })
        })
        .await
    }
}

/// Takes the fold lock for the rest of the transaction (PostgreSQL; SQLite's one writer needs
/// none); `false` if another session holds it and `busy` says not to wait.
pub(super) async fn lock_folds(
    connection: &mut Db<'_>,
    busy: WhenBusy,
) -> Result<bool, StoreError> {
    if !connection.is_postgres() {
        return Ok(true);
    }
    let lock = match busy {
        WhenBusy::Wait => "SELECT 1 FROM pg_advisory_xact_lock($1)",
        WhenBusy::Skip => "SELECT 1 WHERE pg_try_advisory_xact_lock($1)",
    };
    let locked = query(lock)
        .bind(FOLD_LOCK_KEY)
        .fetch_optional(&mut *connection)
        .await?;
    Ok(locked.is_some())
}

/// Folds up to `limit` facts with ids above `after` (0: all; only a caller that wrote every
/// fact itself may skip ahead), with `minutes` (measurements) added beside them, and returns
/// their ids, in order; a PostgreSQL caller holds the fold lock.
pub(super) async fn fold(
    connection: &mut Db<'_>,
    limit: u32,
    after: i64,
    mut minutes: BTreeMap<RollupKey, Rollup>,
) -> Result<Vec<i64>, StoreError> {
    let facts = read_facts(connection, limit, after).await?;
    if facts.is_empty() {
        add_to_tiers(connection, &minutes).await?;
        return Ok(Vec::new());
    }
    let runs = read_runs(connection, &facts).await?;
    let messages = read_messages(connection, &facts, &runs).await?;
    let subjects = read_subjects(connection, &facts, &messages).await?;
    let mut firsts = read_first_responses(connection, &facts).await?;
    let before = firsts.clone();

    for fact in &facts {
        let run = runs.get(&fact.subject_id).filter(|_| fact.kind == "run");
        let conversation_id = match fact.kind.as_str() {
            "debit" => debited_message(fact)
                .and_then(|message| messages.get(message))
                .map(|(conversation_id, _)| conversation_id.clone()),
            _ => fact.conversation_id.clone(),
        };
        let mut subject = conversation_id
            .as_ref()
            .and_then(|id| subjects.get(id))
            .cloned()
            .unwrap_or_default();
        if let Some(agent_id) = run.and_then(|run| run.agent_id) {
            subject.agent_id = agent_id.to_string();
        }
        let key = RollupKey {
            tenant_id: fact.tenant_id.clone(),
            tier: Tier::Minute.name(),
            bucket: Tier::Minute.bucket_of(fact.at),
            channel_id: subject.channel_id,
            agent_id: subject.agent_id,
            campaign_id: String::new(),
        };
        let rollup = minutes.entry(key).or_default();
        let first = conversation_id.and_then(|id| firsts.get_mut(&id));
        count(fact, run, &messages, first, rollup);
    }

    add_to_tiers(connection, &minutes).await?;
    let changed: Vec<(&String, &FirstResponse)> = firsts
        .iter()
        .filter(|(conversation_id, first)| before.get(*conversation_id) != Some(*first))
        .collect();
    write_first_responses(connection, &changed).await?;
    // By id, not by range: on PostgreSQL a fact with a lower id may commit after this read.
    for chunk in facts.chunks(PARAMETERS_PER_STATEMENT) {
        let delete = query(format!(
            "DELETE FROM analytics_facts WHERE id IN ({})",
            placeholders(1, chunk.len())
        ));
        chunk
            .iter()
            .fold(delete, |delete, fact| delete.bind(fact.id))
            .execute(&mut *connection)
            .await?;
    }
    Ok(facts.iter().map(|fact| fact.id).collect())
}

/// The rows `select` (with `{ids}` where the placeholders go) finds for `ids`, a statement per
/// [`PARAMETERS_PER_STATEMENT`] of them (none for no ids).
async fn rows_for<T: ToString>(
    connection: &mut Db<'_>,
    select: &str,
    ids: &[T],
) -> Result<Vec<Row>, StoreError> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(PARAMETERS_PER_STATEMENT) {
        let chunk = IdList::new(chunk);
        let statement = query(select.replace("{ids}", &chunk.placeholders(1)));
        rows.extend(chunk.bind(statement).fetch_all(&mut *connection).await?);
    }
    Ok(rows)
}

/// Adds one fact to its minute's roll-up (and to its conversation's first response).
fn count(
    fact: &Fact,
    run: Option<&Run>,
    messages: &HashMap<String, (String, i64)>,
    first: Option<&mut FirstResponse>,
    rollup: &mut Rollup,
) {
    let duration = |value: i64| u64::try_from(value).unwrap_or_default();
    match (fact.kind.as_str(), fact.detail.as_deref()) {
        ("opened", _) => rollup.add(Counter::ConversationsOpened, 1),
        ("status", Some("resolved")) => {
            rollup.add(Counter::ConversationsResolved, 1);
            rollup.record(Distribution::Resolution, duration(fact.value));
        }
        ("status", Some("pending")) => rollup.add(Counter::Handoffs, 1),
        ("inbound", _) => {
            rollup.add(Counter::MessagesInbound, 1);
            if let Some(first) = first {
                first.inbound_at.get_or_insert(fact.at);
            }
        }
        ("outbound", author) => {
            rollup.add(Counter::MessagesOutbound, 1);
            let answers = matches!(author, Some("agent" | "user"));
            if let Some(first) = first.filter(|_| answers)
                && let (Some(inbound_at), None) = (first.inbound_at, first.response_at)
                && fact.at >= inbound_at
            {
                first.response_at = Some(fact.at);
                rollup.record(Distribution::FirstResponse, duration(fact.at - inbound_at));
            }
        }
        ("run", status) => {
            match status.and_then(|status| status.parse::<RunStatus>().ok()) {
                Some(RunStatus::Completed) => rollup.add(Counter::RunsCompleted, 1),
                Some(RunStatus::Failed) => rollup.add(Counter::RunsFailed, 1),
                _ => return,
            }
            rollup.record(Distribution::AgentLatency, duration(fact.value));
            let Some(run) = run else { return };
            let tools = run
                .events
                .iter()
                .filter_map(|run_event| match &run_event.event {
                    AgentEvent::ToolExecuting { tool, .. } => Some(tool.as_str()),
                    _ => None,
                });
            let (mut calls, mut handed_off) = (0, false);
            for tool in tools {
                calls += 1;
                handed_off |= tool == HANDOFF_TOOL;
            }
            rollup.add(Counter::ToolCalls, calls);
            if handed_off {
                rollup.add(Counter::RunsHandedOff, 1);
            }
            let queued = run
                .message_ids
                .first()
                .and_then(|message| messages.get(&message.to_string()));
            if let Some((_, created_at)) = queued {
                let wait = millis(run.started_at) - created_at;
                rollup.record(Distribution::QueueWait, duration(wait));
            }
        }
        ("debit", _) => rollup.add(Counter::CreditsSpent, fact.value),
        _ => {}
    }
}

/// The message a debit paid for: its ledger key is `run:<first message id>`.
fn debited_message(fact: &Fact) -> Option<&str> {
    fact.detail.as_deref()?.strip_prefix("run:")
}

async fn read_facts(
    connection: &mut Db<'_>,
    limit: u32,
    after: i64,
) -> Result<Vec<Fact>, StoreError> {
    let rows = query(
        "SELECT id, tenant_id, kind, conversation_id, subject_id, at, value, detail
         FROM analytics_facts WHERE id > $2 ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .bind(after)
    .fetch_all(&mut *connection)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Fact {
                id: row.integer("id")?,
                tenant_id: row.text("tenant_id")?,
                kind: row.text("kind")?,
                conversation_id: row.optional_text("conversation_id")?,
                subject_id: row.text("subject_id")?,
                at: row.integer("at")?,
                value: row.integer("value")?,
                detail: row.optional_text("detail")?,
            })
        })
        .collect()
}

/// The finished runs among the facts, by id.
async fn read_runs(
    connection: &mut Db<'_>,
    facts: &[Fact],
) -> Result<HashMap<String, Run>, StoreError> {
    let ids: Vec<&str> = facts
        .iter()
        .filter(|fact| fact.kind == "run")
        .map(|fact| fact.subject_id.as_str())
        .collect();
    let rows = rows_for(
        connection,
        &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id IN ({{ids}})"),
        &ids,
    )
    .await?;
    rows.iter()
        .map(|row| run_from_row(row).map(|run| (run.id.to_string(), run)))
        .collect()
}

/// The conversation and creation time of the messages runs answered and debits paid for.
async fn read_messages(
    connection: &mut Db<'_>,
    facts: &[Fact],
    runs: &HashMap<String, Run>,
) -> Result<HashMap<String, (String, i64)>, StoreError> {
    let mut ids: Vec<String> = facts
        .iter()
        .filter_map(|fact| debited_message(fact).map(str::to_owned))
        .collect();
    ids.extend(
        runs.values()
            .filter_map(|run| run.message_ids.first().map(ToString::to_string)),
    );
    let rows = rows_for(
        connection,
        "SELECT id, conversation_id, created_at FROM messages WHERE id IN ({ids})",
        &ids,
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.text("id")?,
                (row.text("conversation_id")?, row.integer("created_at")?),
            ))
        })
        .collect()
}

/// The channel and agent of every conversation the facts are about (the channel's agent where
/// the conversation names none).
async fn read_subjects(
    connection: &mut Db<'_>,
    facts: &[Fact],
    messages: &HashMap<String, (String, i64)>,
) -> Result<HashMap<String, Subject>, StoreError> {
    let mut ids: Vec<&str> = facts
        .iter()
        .filter_map(|fact| fact.conversation_id.as_deref())
        .chain(
            messages
                .values()
                .map(|(conversation_id, _)| conversation_id.as_str()),
        )
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = rows_for(
        connection,
        "SELECT c.id, c.channel_id, COALESCE(c.agent_id, channel.agent_id) AS agent_id
             FROM conversations c JOIN channels channel ON channel.id = c.channel_id
             WHERE c.id IN ({ids})",
        &ids,
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.text("id")?,
                Subject {
                    channel_id: row.text("channel_id")?,
                    agent_id: row.optional_text("agent_id")?.unwrap_or_default(),
                },
            ))
        })
        .collect()
}

/// What is known of the first responses of the conversations messages were added to.
async fn read_first_responses(
    connection: &mut Db<'_>,
    facts: &[Fact],
) -> Result<HashMap<String, FirstResponse>, StoreError> {
    let mut firsts: HashMap<String, FirstResponse> = HashMap::new();
    for fact in facts {
        if let ("inbound" | "outbound", Some(conversation_id)) =
            (fact.kind.as_str(), &fact.conversation_id)
        {
            firsts
                .entry(conversation_id.clone())
                .or_insert_with(|| FirstResponse {
                    tenant_id: fact.tenant_id.clone(),
                    ..FirstResponse::default()
                });
        }
    }
    let ids: Vec<&String> = firsts.keys().collect();
    let rows = rows_for(
        connection,
        "SELECT conversation_id, first_inbound_at, first_response_at
         FROM analytics_conversations WHERE conversation_id IN ({ids})",
        &ids,
    )
    .await?;
    for row in &rows {
        if let Some(first) = firsts.get_mut(&row.text("conversation_id")?) {
            first.inbound_at = row.optional_integer("first_inbound_at")?;
            first.response_at = row.optional_integer("first_response_at")?;
        }
    }
    Ok(firsts)
}

/// Conversations' first responses written per statement (four parameters each).
const FIRSTS_PER_STATEMENT: usize = 64;

async fn write_first_responses(
    connection: &mut Db<'_>,
    changed: &[(&String, &FirstResponse)],
) -> Result<(), StoreError> {
    for chunk in changed.chunks(FIRSTS_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|row| format!("({})", placeholders(4 * row + 1, 4)))
            .collect();
        let statement = query(format!(
            "INSERT INTO analytics_conversations
                 (conversation_id, tenant_id, first_inbound_at, first_response_at)
             VALUES {}
             ON CONFLICT (conversation_id) DO UPDATE SET
                 first_inbound_at = excluded.first_inbound_at,
                 first_response_at = excluded.first_response_at",
            rows.join(", ")
        ));
        chunk
            .iter()
            .fold(statement, |statement, (conversation_id, first)| {
                statement
                    .bind(conversation_id.as_str())
                    .bind(first.tenant_id.as_str())
                    .bind(first.inbound_at)
                    .bind(first.response_at)
            })
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}
