//! Streams: order, resume with exactly the missed events, restarts, epochs, slow consumers.

use serde_json::{Value, json};
use switchboard_test_support::fakes::ModelAnswer;
use switchboard_test_support::{TestApp, TestDatabase, WsClient, backend_tests};
use tokio_util::sync::CancellationToken;

use crate::sse::EventReader;
use crate::{converse, kinds, offsets, ws_url};
use switchboard_test_support::pipeline::{Pipeline, event_types, start};

backend_tests!(
    run_events_arrive_in_order_and_a_resume_gets_exactly_what_was_missed,
    a_run_with_a_tool_streams_all_five_agent_events_in_order,
    a_model_whose_first_turn_is_a_tool_call_is_thinking_before_it,
    conversation_streams_resume_across_a_restart_and_lost_epochs_are_reported,
    a_slow_consumer_is_cut_off_and_resumes_without_loss,
);

async fn connect(app: &TestApp) -> anyhow::Result<WsClient> {
    let mut client = WsClient::connect(&ws_url(app), Some(&app.admin_token)).await?;
    client.until("authenticated").await?;
    Ok(client)
}

async fn run_events_arrive_in_order_and_a_resume_gets_exactly_what_was_missed(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let mut watcher = connect(&pipeline.app).await?;
    let tenant = watcher.subscribe("tenant", None).await?;
    assert_eq!(tenant["recovered"], true);

    converse(&pipeline, "wamid.rt-1", "hello there").await?;
    // inbound message, three run events, the reply, its `sent` status.
    let seen = watcher.events(6).await?;
    assert_eq!(
        offsets(&seen),
        (1..=6).collect::<Vec<_>>(),
        "tenant offsets have no gap"
    );
    let run_stream = seen
        .iter()
        .find_map(|frame| {
            frame["event"]["stream"]
                .as_str()
                .filter(|s| s.starts_with("run:"))
        })
        .unwrap_or_default()
        .to_owned();
    let run_events: Vec<Value> = seen
        .iter()
        .filter(|frame| frame["event"]["stream"] == run_stream.as_str())
        .map(|frame| json!({"event": frame["event"]["event"].clone()}))
        .collect();
    assert_eq!(
        kinds(&run_events),
        ["agent_started", "agent_thinking", "agent_completed"]
    );
    let conversation_stream = seen[0]["event"]["stream"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(conversation_stream.starts_with("conversation:"));

    // A client that had seen only the run's first event gets the other two, no more.
    let mut late = connect(&pipeline.app).await?;
    let since = json!({"epoch": "durable", "offset": 1});
    let subscribed = late.subscribe(&run_stream, Some(since)).await?;
    assert_eq!(subscribed["recovered"], true);
    assert_eq!(subscribed["offset"], 3);
    let missed = late.events(2).await?;
    assert_eq!(offsets(&missed), [2, 3]);
    assert_eq!(kinds(&missed), ["agent_thinking", "agent_completed"]);
    assert_eq!(missed[1]["event"]["text"], "hello there");

    // The conversation's stream from the start: inbound, reply, sent.
    let since = json!({"epoch": "durable", "offset": 0});
    let subscribed = late.subscribe(&conversation_stream, Some(since)).await?;
    assert_eq!(subscribed["offset"], 3);
    let history = late.events(3).await?;
    assert_eq!(offsets(&history), [1, 2, 3]);
    assert_eq!(
        kinds(&history),
        ["message_created", "message_created", "message_status"]
    );
    assert_eq!(history[1]["event"]["message"]["direction"], "outbound");
    assert_eq!(history[2]["event"]["status"], "sent");

    // Live from here on: the next exchange arrives once, in order.
    converse(&pipeline, "wamid.rt-2", "and again").await?;
    let live = late.events(3).await?;
    assert_eq!(offsets(&live), [4, 5, 6]);
    late.send(json!({"type": "ping", "id": 7})).await?;
    let (extra, pong) = late.until("pong").await?;
    assert_eq!(pong["id"], 7);
    assert!(extra.is_empty(), "nothing beyond the exchange: {extra:?}");
    Ok(())
}

async fn a_run_with_a_tool_streams_all_five_agent_events_in_order(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let admin = &pipeline.admin;
    let script = json!({"rules": [{"match": {"keywords": ["time"]},
        "tools": [{"name": "get_time", "arguments": {}}], "reply": "Checked the clock."}]});
    let agent = pipeline
        .app
        .post(
            "/api/v1/agents",
            admin,
            json!({"name": "Clock", "kind": "scripted", "config": script}),
        )
        .await?;
    assert_eq!(agent.status, 201, "{}", agent.text);
    let channel = format!("/api/v1/channels/{}", pipeline.whatsapp);
    let patched = pipeline
        .app
        .patch(&channel, admin, json!({"agentId": agent.str("id")}))
        .await?;
    assert_eq!(patched.status, 200, "{}", patched.text);

    let mut watcher = connect(&pipeline.app).await?;
    watcher.subscribe("tenant", None).await?;
    converse(&pipeline, "wamid.clock", "what time is it?").await?;
    let (_, run) = next_run(&mut watcher).await?;
    // A scripted flow works before its tools and writes its reply after them.
    assert_eq!(
        run,
        [
            "agent_started",
            "agent_thinking",
            "tool_executing",
            "tool_completed",
            "agent_thinking",
            "agent_completed"
        ]
    );
    Ok(())
}

/// The golden path holds when the model's first turn is a tool call with no text: the run log,
/// the WebSocket run stream and SSE all read `agent_thinking` before the first tool.
async fn a_model_whose_first_turn_is_a_tool_call_is_thinking_before_it(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let model = pipeline
        .use_model(json!({"tools": ["get_time"]}), 1)
        .await?;
    model.answer([
        ModelAnswer::ToolCalls(vec![("get_time".into(), "{}".into())]),
        ModelAnswer::Text("It is time.".into()),
    ]);
    let mut watcher = connect(&pipeline.app).await?;
    watcher.subscribe("tenant", None).await?;
    converse(&pipeline, "wamid.tool-first", "what time is it?").await?;
    // Text deltas may come as several `agent_thinking` events: compare runs of one kind.
    let golden = [
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_thinking",
        "agent_completed",
    ];
    let collapsed = |mut kinds: Vec<String>| {
        kinds.dedup();
        kinds
    };
    let (run_stream, live) = next_run(&mut watcher).await?;
    assert_eq!(collapsed(live), golden, "over WebSocket");

    let conversation = pipeline.conversation().await?;
    let runs = pipeline.runs(&conversation).await?;
    assert_eq!(collapsed(event_types(&runs[0])), golden, "in the run log");

    let run_id = run_stream.trim_start_matches("run:");
    let path = format!("/api/v1/runs/{run_id}/events");
    let mut events = EventReader::open(&pipeline.app, &path, "durable:0").await?;
    let (_, subscribed) = events.next().await?;
    assert_eq!(subscribed["type"], "subscribed");
    let mut over_sse = Vec::new();
    while over_sse.last().map(String::as_str) != Some("agent_completed") {
        let (_, frame) = events.next().await?;
        over_sse.push(
            frame["event"]["type"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(collapsed(over_sse), golden, "over SSE");
    Ok(())
}

/// Reads the tenant stream until a run completes: the run's stream name and its event types,
/// checking that the run's offsets follow on.
async fn next_run(watcher: &mut WsClient) -> anyhow::Result<(String, Vec<String>)> {
    let mut stream = String::new();
    let mut run = Vec::new();
    while run.last().map(String::as_str) != Some("agent_completed") {
        let frame = watcher.events(1).await?.remove(0);
        let Some(name) = frame["event"]["stream"]
            .as_str()
            .filter(|name| name.starts_with("run:"))
        else {
            continue;
        };
        stream = name.to_owned();
        let offset = frame["event"]["offset"].as_u64().unwrap_or_default();
        assert_eq!(offset, run.len() as u64 + 1, "run offsets follow on");
        run.push(
            frame["event"]["event"]["type"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    Ok((stream, run))
}

async fn conversation_streams_resume_across_a_restart_and_lost_epochs_are_reported(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    converse(&pipeline, "wamid.before", "before the restart").await?;
    let conversations = pipeline.conversations().await?;
    let conversation = format!(
        "conversation:{}",
        conversations[0]["id"].as_str().unwrap_or_default()
    );
    let mut client = connect(&pipeline.app).await?;
    let subscribed = client
        .subscribe(
            &conversation,
            Some(json!({"epoch": "durable", "offset": 0})),
        )
        .await?;
    assert_eq!(subscribed["offset"], 3);
    let seen = client.events(3).await?;
    let last = seen[2]["offset"].clone();
    drop(client);

    let Pipeline {
        app,
        provider,
        admin,
        agent,
        whatsapp,
    } = pipeline;
    let app = app.restart().await?;
    let pipeline = Pipeline {
        app,
        provider,
        admin,
        agent,
        whatsapp,
    };
    converse(&pipeline, "wamid.after", "after the restart").await?;

    let mut client = connect(&pipeline.app).await?;
    let subscribed = client
        .subscribe(
            &conversation,
            Some(json!({"epoch": "durable", "offset": last})),
        )
        .await?;
    assert_eq!(subscribed["recovered"], true);
    let missed = client.events(3).await?;
    assert_eq!(offsets(&missed), [4, 5, 6]);
    assert_eq!(missed[0]["event"]["message"]["text"], "after the restart");

    // A position from an epoch the server does not know cannot be resumed.
    let mut lost = connect(&pipeline.app).await?;
    let subscribed = lost
        .subscribe(
            &conversation,
            Some(json!({"epoch": "not-an-epoch", "offset": 2})),
        )
        .await?;
    assert_eq!(subscribed["recovered"], false);
    assert_eq!(subscribed["offset"], 6);
    lost.send(json!({"type": "ping"})).await?;
    let (extra, _) = lost.until("pong").await?;
    assert!(extra.is_empty(), "no replay without recovery: {extra:?}");
    Ok(())
}

async fn a_slow_consumer_is_cut_off_and_resumes_without_loss(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(database, CancellationToken::new(), |config| {
        config.realtime.client_buffer = 16;
    })
    .await?;
    let mut slow = connect(&app).await?;
    let subscribed = slow.subscribe("broadcast:firehose", None).await?;
    let epoch = subscribed["epoch"].clone();

    // Far more than the socket buffers hold, while the slow client reads nothing.
    let total = 600;
    let mut publisher = connect(&app).await?;
    let padding = "x".repeat(32 * 1024);
    for n in 1..=total {
        publisher
            .send(json!({"type": "publish", "stream": "broadcast:firehose", "data": {"n": n, "padding": padding}}))
            .await?;
    }
    publisher.send(json!({"type": "ping"})).await?;
    publisher.until("pong").await?;

    let mut received = Vec::new();
    let closed = loop {
        match slow.next_or_close().await? {
            Ok(frame) if frame["type"] == "event" => {
                received.push(frame["event"]["data"]["n"].as_u64().unwrap_or_default());
                assert_eq!(frame["offset"].as_u64(), received.last().copied());
            }
            Ok(_) => {}
            Err(closed) => break closed,
        }
    };
    assert_eq!(closed.code, 4429, "{closed:?}");
    let got = received.len() as u64;
    assert!(got < total, "the client was cut off before the end");
    assert_eq!(
        received,
        (1..=got).collect::<Vec<_>>(),
        "what arrived has no gap"
    );

    let mut resumed = connect(&app).await?;
    let subscribed = resumed
        .subscribe(
            "broadcast:firehose",
            Some(json!({"epoch": epoch, "offset": got})),
        )
        .await?;
    assert_eq!(subscribed["recovered"], true);
    let rest = resumed.events(usize::try_from(total - got)?).await?;
    let numbers: Vec<u64> = rest
        .iter()
        .map(|frame| frame["event"]["data"]["n"].as_u64().unwrap_or_default())
        .collect();
    assert_eq!(numbers, (got + 1..=total).collect::<Vec<_>>());
    Ok(())
}
