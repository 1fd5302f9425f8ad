//! The `http` agent end to end: the customer's bot gets the context signed like the API
//! channel and answers as JSON or as a stream of NDJSON events that land in the run log; a bot
//! that is down is retried, one that reports a failure is a dead letter.

use serde_json::json;
use switchboard_channels::api_channel;
use switchboard_test_support::fakes::{BotMode, FakeBot};
use switchboard_test_support::{TestDatabase, backend_tests};

use switchboard_test_support::pipeline::{event_types, events_of, start};

backend_tests!(
    a_customer_bot_answers_signed_requests_as_json_or_ndjson,
    a_bot_that_answers_nothing_sends_nothing
);

const SECRET: &str = "bot-signing-secret";

async fn a_customer_bot_answers_signed_requests_as_json_or_ndjson(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |_| {}).await?;
    let json_bot = FakeBot::spawn(BotMode::Json).await?;
    let agent = pipeline
        .use_agent(
            "http",
            json!({"url": json_bot.url(), "signingSecret": SECRET}),
            1,
        )
        .await?;
    json_bot.fail_next(1, 503);
    pipeline
        .send("972500000601", "wamid.bot.1", "hello bot")
        .await?;
    pipeline.settle().await?;
    assert_eq!(pipeline.sent_texts(), ["bot: hello bot"]);
    let requests = json_bot.requests();
    assert_eq!(requests.len(), 2, "the 503 was retried");
    for request in &requests {
        let signature = request.header("x-switchboard-signature");
        let verified = api_channel::verify_signature(
            SECRET,
            signature,
            &request.raw_body,
            time::OffsetDateTime::now_utc(),
            std::time::Duration::from_secs(300),
        );
        assert_eq!(verified, Ok(()), "{signature:?}");
    }
    let body = &requests[1].body;
    assert_eq!(body["messages"][0]["text"], "hello bot");
    assert_eq!(body["contact"]["name"], "Contact 972500000601");
    assert!(body["runId"].is_string() && body["conversationId"].is_string());

    // The same agent switched to a bot that streams its events.
    let ndjson_bot = FakeBot::spawn(BotMode::Ndjson).await?;
    let reply = pipeline
        .app
        .patch(
            &format!("/api/v1/agents/{agent}"),
            &pipeline.admin,
            json!({"config": {"url": ndjson_bot.url()}}),
        )
        .await?;
    assert_eq!(reply.status, 200, "{}", reply.text);
    pipeline
        .send("972500000601", "wamid.bot.2", "stream please")
        .await?;
    pipeline.settle().await?;
    assert_eq!(
        pipeline.sent_texts(),
        ["bot: hello bot", "bot: stream please"]
    );
    let conversation = pipeline.conversation().await?;
    let runs = pipeline.runs(&conversation).await?;
    let streamed = runs.last().cloned().unwrap_or_default();
    assert_eq!(
        event_types(&streamed),
        [
            "agent_started",
            "agent_thinking",
            "tool_executing",
            "tool_completed",
            "agent_completed"
        ]
    );
    assert_eq!(
        events_of(&streamed, "tool_completed")[0]["result"],
        json!({"vip": true})
    );
    assert_eq!(
        streamed["usage"],
        json!({"promptTokens": 40, "completionTokens": 10})
    );

    // A bot that reports a failure it cannot recover from: a dead letter, not a stuck chat.
    let failing_bot = FakeBot::spawn(BotMode::NdjsonFailure).await?;
    pipeline
        .app
        .patch(
            &format!("/api/v1/agents/{agent}"),
            &pipeline.admin,
            json!({"config": {"url": failing_bot.url()}}),
        )
        .await?;
    pipeline
        .send("972500000601", "wamid.bot.3", "break")
        .await?;
    pipeline.settle().await?;
    let dead = pipeline.dead_letters().await?;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot answer")
    );
    assert_eq!(failing_bot.requests().len(), 1, "not retried");
    pipeline.app.stop().await
}

/// An empty answer is silence: the run completes and is charged, no reply is stored or sent,
/// and neither the run nor its `agent_completed` event names a reply.
async fn a_bot_that_answers_nothing_sends_nothing(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |_| {}).await?;
    let bot = FakeBot::spawn(BotMode::Silent).await?;
    pipeline
        .use_agent(
            "http",
            json!({"url": bot.url(), "signingSecret": SECRET}),
            1,
        )
        .await?;
    pipeline
        .send("972500000602", "wamid.silent.1", "anyone there?")
        .await?;
    pipeline.settle().await?;
    assert_eq!(bot.requests().len(), 1);
    assert!(
        pipeline.sent_texts().is_empty(),
        "{:?}",
        pipeline.sent_texts()
    );
    let conversation = pipeline.conversation().await?;
    let messages = pipeline.messages(&conversation).await?;
    assert_eq!(messages.len(), 1, "only the inbound message: {messages:?}");
    let runs = pipeline.runs(&conversation).await?;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["status"], "completed");
    assert!(runs[0]["replyMessageId"].is_null(), "{}", runs[0]);
    let completed = events_of(&runs[0], "agent_completed");
    assert_eq!(completed.len(), 1);
    assert!(
        completed[0].get("replyMessageId").is_none(),
        "no reply is named: {}",
        completed[0]
    );
    assert_eq!(pipeline.balance().await?, 99, "the run is charged");
    pipeline.app.stop().await
}
