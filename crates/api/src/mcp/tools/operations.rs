//! Tools over the gateway's operation: an agent run with its events, dead letters (list and
//! retry), queue statistics and the credit balance.

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_core::{QueueEntryId, RunId};
use switchboard_engine::PageRequest;

use super::schema::{self, input};
use super::{Context, Effects, Outcome, Tool, answer, read};

pub(super) const GET_RUN: Tool = Tool {
    name: "get_run",
    title: "Read an agent run",
    description: "Reads one agent run: its status (running, completed, failed, …), the reply \
        it produced, its error if it failed, and its events in order (agent_started, \
        agent_thinking, tool_executing, tool_completed, agent_completed or agent_failed). Use \
        it to find out why an agent answered as it did, or did not answer.",
    effects: Effects::READS,
    input_schema: || input(json!({ "runId": schema::id("The run's id.") }), &["runId"]),
    output_schema: || schema::output(json!({ "run": schema::run() }), &["run"]),
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GetRun {
    run_id: RunId,
}

pub(super) async fn get_run(context: &Context<'_>, arguments: Value) -> Outcome {
    let GetRun { run_id } = read(arguments)?;
    let run = context.engine.get_run(context.caller, run_id).await?;
    answer(json!({ "run": run }))
}

pub(super) const LIST_DEAD_LETTERS: Tool = Tool {
    name: "list_dead_letters",
    title: "List dead letters",
    description: "Lists dead letters: agent runs and deliveries that failed on every attempt, \
        each with its kind, conversation, attempts and last error. Retry one with \
        retry_dead_letter once its cause is fixed. Tenant admins only.",
    effects: Effects::READS,
    input_schema: || {
        input(
            json!({ "limit": schema::limit(), "cursor": schema::cursor() }),
            &[],
        )
    },
    output_schema: || schema::page("deadLetters", schema::queue_entry()),
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListPage {
    limit: Option<u32>,
    cursor: Option<String>,
}

pub(super) async fn list_dead_letters(context: &Context<'_>, arguments: Value) -> Outcome {
    let ListPage { limit, cursor } = read(arguments)?;
    let page = context
        .engine
        .list_dead_letters(context.caller, &PageRequest { limit, cursor })
        .await?;
    answer(json!({ "deadLetters": page.data, "nextCursor": page.next_cursor }))
}

pub(super) const RETRY_DEAD_LETTER: Tool = Tool {
    name: "retry_dead_letter",
    title: "Retry a dead letter",
    description: "Queues a dead letter again, at the end of its conversation's order, with \
        fresh attempts: a run answers its message again, or a delivery sends its reply again \
        through the channel. Tenant admins only. Returns the queued entry.",
    effects: Effects {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: true,
    },
    input_schema: || {
        input(
            json!({ "deadLetterId": schema::id("The dead letter's id, from list_dead_letters.") }),
            &["deadLetterId"],
        )
    },
    output_schema: || {
        schema::output(
            json!({ "deadLetter": schema::queue_entry() }),
            &["deadLetter"],
        )
    },
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RetryDeadLetter {
    dead_letter_id: QueueEntryId,
}

pub(super) async fn retry_dead_letter(context: &Context<'_>, arguments: Value) -> Outcome {
    let RetryDeadLetter { dead_letter_id } = read(arguments)?;
    let entry = context
        .engine
        .retry_dead_letter(context.caller, dead_letter_id)
        .await?;
    answer(json!({ "deadLetter": entry }))
}

pub(super) const GET_QUEUE_STATS: Tool = Tool {
    name: "get_queue_stats",
    title: "Queue statistics",
    description: "Counts the queued work of your tenant by state (pending, sending, dead, \
        accepted but not yet stored) and the age of the oldest pending entry; for platform \
        admins also this node's dispatcher (depth, in flight, workers). Tenant admins only.",
    effects: Effects::READS,
    input_schema: schema::no_input,
    output_schema: || {
        schema::output(
            json!({
                "stored": schema::output(
                    json!({
                        "pending": { "type": "integer" },
                        "sending": { "type": "integer" },
                        "dead": { "type": "integer" },
                        "accepted": { "type": "integer" },
                        "oldestPendingAgeMs": { "type": ["integer", "null"] }
                    }),
                    &["pending", "sending", "dead", "accepted"],
                ),
                "node": { "type": ["object", "null"] }
            }),
            &["stored"],
        )
    },
};

pub(super) async fn get_queue_stats(context: &Context<'_>, arguments: Value) -> Outcome {
    read::<NoArguments>(arguments)?;
    answer(context.engine.queue_stats(context.caller).await?)
}

/// The arguments of a tool that takes none.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoArguments {}

pub(super) const GET_CREDITS: Tool = Tool {
    name: "get_credits",
    title: "Credit balance",
    description: "Reads your tenant's credit balance. Each agent run costs credits; when they \
        run out, new messages wait (blocked_credits) until credits are granted.",
    effects: Effects::READS,
    input_schema: schema::no_input,
    output_schema: || schema::output(json!({ "balance": { "type": "integer" } }), &["balance"]),
};

pub(super) async fn get_credits(context: &Context<'_>, arguments: Value) -> Outcome {
    read::<NoArguments>(arguments)?;
    let balance = context.engine.credit_balance(context.caller).await?;
    answer(json!({ "balance": balance }))
}
