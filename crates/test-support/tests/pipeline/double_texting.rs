//! Double texting: messages that arrive while the conversation's run is in flight (the model is
//! held so the burst lands mid-run), under each policy. `enqueue` answers each in order;
//! `coalesce` answers the burst in the next run; `interrupt` cancels the run in flight — it
//! commits nothing — and one run answers everything. Every answered entry is acknowledged by
//! the run that answered it, and replies leave in order.

use serde_json::{Value, json};
use switchboard_test_support::fakes::FakeModel;
use switchboard_test_support::{TestDatabase, backend_tests};

use switchboard_test_support::pipeline::{PATIENCE, Pipeline, events_of, start};

backend_tests!(
    enqueue_answers_each_message_in_order,
    coalesce_answers_a_burst_in_one_run,
    coalesce_answers_a_burst_longer_than_the_history_it_reads,
    coalesce_waits_for_a_burst_to_end_before_answering,
    interrupt_cancels_the_run_in_flight_and_answers_everything_once
);

const CONTACT: &str = "972500000401";

/// An `openai` agent with `policy`, 1 credit a run, and a model that holds its answers.
async fn held_model(pipeline: &Pipeline, policy: &str) -> anyhow::Result<FakeModel> {
    let model = pipeline
        .use_model(json!({"doubleTexting": policy, "debounceMs": 0}), 1)
        .await?;
    model.hold();
    Ok(model)
}

async fn send_burst(pipeline: &Pipeline, texts: &[&str]) -> anyhow::Result<()> {
    for text in texts {
        pipeline
            .send(CONTACT, &format!("wamid.burst.{text}"), text)
            .await?;
    }
    // A burst is one when its messages are queued together, not merely acknowledged.
    pipeline.app.wait_stored().await;
    Ok(())
}

/// `(status, number of messages answered)` of each run, oldest first.
async fn run_shapes(pipeline: &Pipeline) -> anyhow::Result<Vec<(String, usize)>> {
    let conversation = pipeline.conversation().await?;
    Ok(pipeline
        .runs(&conversation)
        .await?
        .iter()
        .map(|run| {
            (
                run["status"].as_str().unwrap_or_default().to_owned(),
                run["messageIds"].as_array().map_or(0, Vec::len),
            )
        })
        .collect())
}

async fn inbound_statuses(pipeline: &Pipeline) -> anyhow::Result<Vec<Value>> {
    let conversation = pipeline.conversation().await?;
    Ok(pipeline
        .messages(&conversation)
        .await?
        .iter()
        .filter(|message| message["direction"] == "inbound")
        .map(|message| message["status"].clone())
        .collect())
}

async fn enqueue_answers_each_message_in_order(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |_| {}).await?;
    let model = held_model(&pipeline, "enqueue").await?;
    send_burst(&pipeline, &["a"]).await?;
    model.wait_for(1, PATIENCE).await?;
    send_burst(&pipeline, &["b", "c", "d"]).await?;
    model.release();
    pipeline.settle().await?;
    assert_eq!(
        pipeline.sent_texts(),
        ["echo: a", "echo: b", "echo: c", "echo: d"]
    );
    let completed = ("completed".to_owned(), 1);
    assert_eq!(run_shapes(&pipeline).await?, vec![completed; 4]);
    assert_eq!(pipeline.balance().await?, 100 - 4);
    assert_eq!(
        inbound_statuses(&pipeline).await?,
        vec![json!("processed"); 4]
    );
    pipeline.app.stop().await
}

async fn coalesce_answers_a_burst_in_one_run(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |_| {}).await?;
    let model = held_model(&pipeline, "coalesce").await?;
    send_burst(&pipeline, &["a"]).await?;
    model.wait_for(1, PATIENCE).await?;
    send_burst(&pipeline, &["b", "c", "d"]).await?;
    model.release();
    pipeline.settle().await?;
    assert_eq!(pipeline.sent_texts(), ["echo: a", "echo: b + c + d"]);
    assert_eq!(
        run_shapes(&pipeline).await?,
        [("completed".to_owned(), 1), ("completed".to_owned(), 3)]
    );
    assert_eq!(model.requests().len(), 2);
    assert_eq!(pipeline.balance().await?, 100 - 2, "one debit per run");
    assert_eq!(
        inbound_statuses(&pipeline).await?,
        vec![json!("processed"); 4]
    );
    let queue = pipeline
        .app
        .get("/api/v1/queue/stats", &pipeline.admin)
        .await?;
    assert_eq!(
        queue.body["stored"]["pending"], 0,
        "every answered entry acknowledged"
    );
    pipeline.app.stop().await
}

/// The turn reads the conversation's latest 20 messages and finds its pending ones there; a
/// burst of 25 reaches further back, and every message is still answered, in order.
async fn coalesce_answers_a_burst_longer_than_the_history_it_reads(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |_| {}).await?;
    let model = held_model(&pipeline, "coalesce").await?;
    send_burst(&pipeline, &["a"]).await?;
    model.wait_for(1, PATIENCE).await?;
    let burst: Vec<String> = (1..=25).map(|n| format!("m{n}")).collect();
    let burst: Vec<&str> = burst.iter().map(String::as_str).collect();
    send_burst(&pipeline, &burst).await?;
    model.release();
    pipeline.settle().await?;
    assert_eq!(
        pipeline.sent_texts(),
        ["echo: a".to_owned(), format!("echo: {}", burst.join(" + "))]
    );
    assert_eq!(
        run_shapes(&pipeline).await?,
        [("completed".to_owned(), 1), ("completed".to_owned(), 25)]
    );
    pipeline.app.stop().await
}

/// With a debounce window the first run waits until the conversation has been quiet that long,
/// so a burst sent right after its first message is answered by that run, once. (The burst only
/// has to arrive within the window, 1.5 s, of the message before it.)
async fn coalesce_waits_for_a_burst_to_end_before_answering(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |_| {}).await?;
    let model = pipeline
        .use_model(json!({"doubleTexting": "coalesce", "debounceMs": 1500}), 1)
        .await?;
    send_burst(&pipeline, &["a", "b", "c"]).await?;
    pipeline.settle().await?;
    assert_eq!(pipeline.sent_texts(), ["echo: a + b + c"]);
    assert_eq!(run_shapes(&pipeline).await?, [("completed".to_owned(), 3)]);
    assert_eq!(model.requests().len(), 1);
    assert_eq!(pipeline.balance().await?, 100 - 1);
    pipeline.app.stop().await
}

async fn interrupt_cancels_the_run_in_flight_and_answers_everything_once(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |_| {}).await?;
    let model = held_model(&pipeline, "interrupt").await?;
    send_burst(&pipeline, &["a"]).await?;
    model.wait_for(1, PATIENCE).await?;
    // Each arrival interrupts the held run; the rerun asks the model again with everything.
    send_burst(&pipeline, &["b"]).await?;
    model.wait_for(2, PATIENCE).await?;
    send_burst(&pipeline, &["c", "d"]).await?;
    model.wait_for(3, PATIENCE).await?;
    model.release();
    pipeline.settle().await?;

    assert_eq!(pipeline.sent_texts(), ["echo: a + b + c + d"]);
    let shapes = run_shapes(&pipeline).await?;
    let (completed, interrupted): (Vec<_>, Vec<_>) =
        shapes.iter().partition(|(status, _)| status == "completed");
    assert_eq!(completed, [&("completed".to_owned(), 4)]);
    assert!(
        (2..=3).contains(&interrupted.len())
            && interrupted
                .iter()
                .all(|(status, _)| status == "interrupted"),
        "{shapes:?}"
    );
    let conversation = pipeline.conversation().await?;
    for run in pipeline.runs(&conversation).await? {
        if run["status"] == "interrupted" {
            let failed = events_of(&run, "agent_failed");
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0]["code"], "interrupted");
            assert!(
                run["replyMessageId"].is_null(),
                "an interrupted run replies nothing"
            );
        }
    }
    assert_eq!(
        pipeline.balance().await?,
        100 - 1,
        "only the completed run is paid for"
    );
    assert_eq!(
        inbound_statuses(&pipeline).await?,
        vec![json!("processed"); 4]
    );
    pipeline.app.stop().await
}
