//! The `openai` agent end to end: a WhatsApp message in, a streamed model answer that calls a
//! built-in tool and two MCP tools (one failing), the model asked again with their results, the
//! reply out at the provider, the run log in order, and usage priced into the one debit.

use std::time::Duration;

use serde_json::json;
use switchboard_test_support::fakes::{FakeMcp, ModelAnswer};
use switchboard_test_support::{TestDatabase, backend_tests};

use switchboard_test_support::pipeline::{PATIENCE, event_types, events_of, start};

backend_tests!(
    a_model_calls_tools_and_its_reply_goes_out_with_one_debit,
    model_failures_retry_or_dead_letter_and_the_conversation_moves_on
);

async fn a_model_calls_tools_and_its_reply_goes_out_with_one_debit(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 1000, |_| {}).await?;
    let mcp = FakeMcp::spawn().await?;
    let model = pipeline
        .use_model(
            json!({
                "apiKey": "sk-test",
                "systemPrompt": "You are the shop's assistant.", "temperature": 0.2, "maxTokens": 300,
                "tools": ["get_time", "get_contact", "lookup_order", "explode"],
                "mcpServers": [{"name": "shop", "url": mcp.url()}],
                "pricing": {"promptPer1k": 10, "completionPer1k": 50}
            }),
            2,
        )
        .await?;
    model.answer([
        ModelAnswer::ToolCalls(vec![
            ("get_time".into(), "{}".into()),
            ("lookup_order".into(), r#"{"orderId":"42"}"#.into()),
            ("explode".into(), "{}".into()),
            ("lookup_order".into(), r#"{"order":42}"#.into()),
        ]),
        ModelAnswer::Text("Your order 42 has shipped.".into()),
    ]);
    pipeline
        .send("972500000301", "wamid.ai.1", "where is order 42?")
        .await?;
    pipeline.settle().await?;

    assert_eq!(pipeline.sent_texts(), ["Your order 42 has shipped."]);
    let requests = model.wait_for(2, PATIENCE).await?;
    assert_eq!(
        requests.len(),
        2,
        "one turn with tool calls, one with their results"
    );
    let first = &requests[0];
    assert_eq!(first["model"], "fake-gpt");
    assert_eq!(first["stream"], true);
    assert_eq!(first["max_tokens"], 300);
    let offered: Vec<_> = first["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .map(|tool| tool["function"]["name"].clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        offered,
        ["get_time", "get_contact", "lookup_order", "explode"]
    );
    let system = first["messages"][0]["content"].as_str().unwrap_or_default();
    assert!(
        system.starts_with("You are the shop's assistant."),
        "{system}"
    );
    assert!(
        system.contains("Contact 972500000301"),
        "the profile: {system}"
    );
    assert_eq!(first["messages"][1]["content"], "where is order 42?");

    // The second turn carries the assistant's calls and one result per call, errors included.
    let results: Vec<_> = requests[1]["messages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter(|message| message["role"] == "tool")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(results.len(), 4);
    let content = |index: usize| -> serde_json::Value {
        serde_json::from_str(results[index]["content"].as_str().unwrap_or_default())
            .unwrap_or_default()
    };
    assert!(content(0)["now"].is_string());
    assert_eq!(content(1), json!({"orderId": "42", "status": "shipped"}));
    assert_eq!(content(2), json!("the tool exploded"));
    assert!(
        content(3)["error"]
            .as_str()
            .unwrap_or_default()
            .contains("orderId is required"),
        "schema checked before the call: {}",
        content(3)
    );

    let conversation = pipeline.conversation().await?;
    let runs = pipeline.runs(&conversation).await?;
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let types = event_types(run);
    // The first turn is tool calls alone: the model still reports working before them.
    assert_eq!(
        types[..3],
        ["agent_started", "agent_thinking", "tool_executing"],
        "{types:?}"
    );
    assert_eq!(types.last().map(String::as_str), Some("agent_completed"));
    let completed: Vec<_> = events_of(run, "tool_completed")
        .iter()
        .map(|event| (event["tool"].clone(), event["isError"].clone()))
        .collect();
    assert_eq!(
        completed,
        [
            (json!("get_time"), json!(false)),
            (json!("lookup_order"), json!(false)),
            (json!("explode"), json!(true)),
            (json!("lookup_order"), json!(true)),
        ]
    );
    assert_eq!(events_of(run, "tool_executing").len(), 4);
    let thinking: String = events_of(run, "agent_thinking")
        .iter()
        .filter_map(|event| event["delta"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(thinking, "Your order 42 has shipped.");
    assert_eq!(
        run["usage"],
        json!({"promptTokens": 200, "completionTokens": 40})
    );
    // 2 per run + 200 prompt tokens at 10/1k (2) + 40 completion tokens at 50/1k (2).
    assert_eq!(pipeline.balance().await?, 1000 - 6);
    let mcp_methods = mcp.methods();
    assert_eq!(
        mcp_methods,
        [
            "initialize",
            "notifications/initialized",
            "tools/list",
            "tools/call",
            "tools/call"
        ],
        "discovery once, and the invalid call never reached the server"
    );
    pipeline.app.stop().await
}

async fn model_failures_retry_or_dead_letter_and_the_conversation_moves_on(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 1000, |config| {
        config.queue.max_attempts = 2;
        config.agents.max_retries = 1;
        config.agents.retry_base = Duration::from_millis(1);
        config.agents.request_timeout = Duration::from_millis(300);
    })
    .await?;
    let model = pipeline.use_model(json!({}), 1).await?;
    let contact = "972500000302";

    // A rate limit is retried within the run, after the provider's Retry-After.
    model.answer([
        ModelAnswer::Status(429, Some(0)),
        ModelAnswer::Text("recovered".into()),
    ]);
    pipeline.send(contact, "wamid.fail.1", "one").await?;
    pipeline.settle().await?;
    assert_eq!(pipeline.sent_texts(), ["recovered"]);

    // A malformed stream will not fix itself: dead at once.
    model.answer([ModelAnswer::Malformed]);
    pipeline.send(contact, "wamid.fail.2", "two").await?;
    pipeline.settle().await?;

    // A model that stalls mid-answer times out; the queue retries, then gives up.
    model.answer([ModelAnswer::Stall, ModelAnswer::Stall]);
    pipeline.send(contact, "wamid.fail.3", "three").await?;
    pipeline.settle().await?;

    // The conversation is not stuck behind its failures; the model sees the unanswered
    // messages as history.
    pipeline.send(contact, "wamid.fail.4", "four").await?;
    pipeline.settle().await?;
    assert_eq!(
        pipeline.sent_texts(),
        ["recovered", "echo: two + three + four"]
    );
    assert_eq!(model.requests().len(), 2 + 1 + 2 + 1);

    let dead = pipeline.dead_letters().await?;
    assert_eq!(dead.len(), 2, "{dead:?}");
    let conversation = pipeline.conversation().await?;
    let failures: Vec<_> = pipeline
        .runs(&conversation)
        .await?
        .iter()
        .flat_map(|run| events_of(run, "agent_failed"))
        .map(|event| (event["code"].clone(), event["retryable"].clone()))
        .collect();
    assert_eq!(
        failures,
        [
            (json!("bad_model_response"), json!(false)),
            (json!("model_timeout"), json!(true)),
            (json!("model_timeout"), json!(true)),
        ]
    );
    assert_eq!(
        pipeline.balance().await?,
        1000 - 2,
        "only answered runs are paid for"
    );
    pipeline.app.stop().await
}
