//! Every tool's answer, tool failures as `isError` results, conversations as resources, and
//! another tenant's conversations out of reach.

use serde_json::json;
use switchboard_test_support::pipeline::{self, whatsapp_text};
use switchboard_test_support::{TestDatabase, backend_tests};

use super::{call_tool, in_session, initialize, rpc_error, stateless, structured};
use crate::world::{created, fixture, start, user};

backend_tests!(
    conversation_tools_read_and_change_conversations,
    operation_tools_answer,
    tool_failures_are_results_and_bad_calls_are_errors,
    conversations_are_resources,
    another_tenants_conversation_is_not_found
);

async fn conversation_tools_read_and_change_conversations(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let path = format!("/api/v1/conversations/{}/messages", world.conversation);
    for text in ["hello there", "how can we help"] {
        created(app.post(&path, &admin, json!({"text": text})).await?)?;
    }

    let listed = structured(&app, &admin, "list_conversations", json!({"limit": 10})).await?;
    assert_eq!(
        listed["conversations"][0]["id"],
        world.conversation.as_str(),
        "{listed}"
    );
    assert!(listed["nextCursor"].is_null());
    let resolved = structured(
        &app,
        &admin,
        "list_conversations",
        json!({"status": "resolved"}),
    )
    .await?;
    assert_eq!(resolved["conversations"], json!([]));

    let id = json!({"conversationId": world.conversation});
    let read = structured(&app, &admin, "get_conversation", id.clone()).await?;
    assert_eq!(read["conversation"]["status"], "open");
    let texts: Vec<_> = read["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|message| message["text"].clone())
        .collect();
    assert_eq!(
        texts,
        [json!("hello there"), json!("how can we help")],
        "oldest first"
    );
    assert_eq!(read["hasEarlierMessages"], false);

    let found = structured(&app, &admin, "search_messages", json!({"q": "help"})).await?;
    assert_eq!(
        found["hits"][0]["message"]["text"], "how can we help",
        "{found}"
    );

    let send = json!({"conversationId": world.conversation, "text": "from the assistant", "idempotencyKey": "draft-1"});
    let sent = structured(&app, &admin, "send_message", send.clone()).await?;
    assert_eq!(sent["created"], true);
    assert_eq!(sent["message"]["seq"], 3);
    let again = structured(&app, &admin, "send_message", send).await?;
    assert_eq!(again["created"], false, "the key sends once");
    assert_eq!(again["message"]["id"], sent["message"]["id"]);
    let other_text = json!({"conversationId": world.conversation, "text": "something else", "idempotencyKey": "draft-1"});
    let conflict = call_tool(&app, &admin, "send_message", other_text).await?;
    assert_eq!(conflict["isError"], true, "{conflict}");
    let unkeyed = structured(
        &app,
        &admin,
        "send_message",
        json!({"conversationId": world.conversation, "text": "again"}),
    )
    .await?;
    assert_eq!(unkeyed["message"]["seq"], 4);

    let status = json!({"conversationId": world.conversation, "status": "resolved"});
    let changed = structured(&app, &admin, "set_conversation_status", status).await?;
    assert_eq!(changed["conversation"]["status"], "resolved");
    let handed = structured(&app, &admin, "hand_off", id.clone()).await?;
    assert_eq!(handed["conversation"]["status"], "pending");
    let released = structured(&app, &admin, "release", id).await?;
    assert_eq!(released["conversation"]["status"], "open");
    app.stop().await
}

async fn operation_tools_answer(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = pipeline::start(database, 100, |config| config.queue.max_attempts = 1).await?;
    let (app, admin) = (&pipeline.app, &pipeline.admin);
    pipeline.provider.fail_next(1, 400, None);
    pipeline
        .whatsapp_webhook(&whatsapp_text("972500000070", "wamid.mcp.1", "ping"), None)
        .await?;
    pipeline.settle().await?;
    let conversation = pipeline.conversations().await?[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let runs = app
        .get(
            &format!("/api/v1/runs?conversationId={conversation}"),
            admin,
        )
        .await?;
    let run_id = runs.body["data"][0]["id"].clone();

    let run = structured(app, admin, "get_run", json!({"runId": run_id})).await?;
    assert_eq!(run["run"]["status"], "completed", "{run}");
    let events: Vec<_> = run["run"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|event| event["type"].clone())
        .collect();
    assert_eq!(events.first(), Some(&json!("agent_started")));
    assert_eq!(events.last(), Some(&json!("agent_completed")));

    let dead = structured(app, admin, "list_dead_letters", json!({})).await?;
    assert_eq!(dead["deadLetters"][0]["state"], "dead", "{dead}");
    let dead_letter = dead["deadLetters"][0]["id"].clone();
    let stats = structured(app, admin, "get_queue_stats", json!({})).await?;
    assert_eq!(stats["stored"]["dead"], 1, "{stats}");
    let retried = structured(
        app,
        admin,
        "retry_dead_letter",
        json!({"deadLetterId": dead_letter}),
    )
    .await?;
    assert_eq!(
        retried["deadLetter"]["conversationId"],
        conversation.as_str()
    );
    assert_ne!(retried["deadLetter"]["state"], "dead", "{retried}");
    pipeline.settle().await?;
    assert_eq!(
        pipeline.sent_texts(),
        ["ping"],
        "the retried reply went out"
    );

    let credits = structured(app, admin, "get_credits", json!({})).await?;
    assert_eq!(credits["balance"], 99, "one run's cost: {credits}");
    let echoed = structured(app, admin, "echo", json!({"text": "über ✓"})).await?;
    assert_eq!(echoed["text"], "über ✓");
    let time = structured(app, admin, "get_time", json!({})).await?;
    let unix = time["unix"].as_i64().unwrap_or_default();
    assert!(unix > 1_700_000_000, "{time}");
    assert!(
        time["iso8601"]
            .as_str()
            .is_some_and(|iso| iso.ends_with('Z')),
        "{time}"
    );
    let me = structured(app, admin, "get_user_info", json!({})).await?;
    assert_eq!(me["username"], "admin");
    assert_eq!(me["role"], "platform-admin");
    assert!(
        me["tenantId"].is_string() && me["userId"].is_string(),
        "{me}"
    );
    pipeline.app.stop().await
}

async fn tool_failures_are_results_and_bad_calls_are_errors(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;

    let missing = json!({"conversationId": "01a2496c-980e-7533-8a02-db0b0a08b9c0"});
    let failed = call_tool(&app, &admin, "get_conversation", missing).await?;
    assert_eq!(failed["isError"], true, "{failed}");
    assert!(failed.get("structuredContent").is_none(), "{failed}");
    let text = failed["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("not_found:"), "{text}");

    let (_, viewer) = user(&app, &admin, "watcher", "viewer", None).await?;
    let send = json!({"conversationId": world.conversation, "text": "hi"});
    let forbidden = call_tool(&app, &viewer, "send_message", send).await?;
    assert_eq!(forbidden["isError"], true, "{forbidden}");
    assert!(
        forbidden["content"][0]["text"]
            .as_str()
            .is_some_and(|text| text.starts_with("forbidden:"))
    );
    let too_long = json!({"conversationId": world.conversation, "text": "x".repeat(40_000)});
    let invalid = call_tool(&app, &admin, "send_message", too_long).await?;
    assert_eq!(
        invalid["isError"], true,
        "an engine validation is the tool's failure"
    );

    for (name, arguments) in [
        ("no_such_tool", json!({})),
        ("get_conversation", json!({})),
        ("get_conversation", json!({"conversationId": "not-an-id"})),
        ("echo", json!({"text": "hi", "extra": true})),
        ("list_conversations", json!({"status": "archived"})),
    ] {
        let params = json!({"name": name, "arguments": arguments});
        let reply = stateless(&app, &admin, "tools/call", params).await?;
        assert_eq!(rpc_error(&reply, 400), -32602, "{name} {arguments}");
    }
    app.stop().await
}

async fn conversations_are_resources(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let path = format!("/api/v1/conversations/{}/messages", world.conversation);
    created(
        app.post(&path, &admin, json!({"text": "a line of the transcript"}))
            .await?,
    )?;
    let uri = format!("conversation://{}", world.conversation);

    let listed = stateless(&app, &admin, "resources/list", json!({})).await?;
    assert_eq!(
        listed.body["result"]["resources"][0]["uri"],
        uri.as_str(),
        "{}",
        listed.text
    );
    assert_eq!(listed.body["result"]["cacheScope"], "private");
    let templates = stateless(&app, &admin, "resources/templates/list", json!({})).await?;
    assert_eq!(
        templates.body["result"]["resourceTemplates"][0]["uriTemplate"],
        "conversation://{conversationId}"
    );
    let read = stateless(&app, &admin, "resources/read", json!({"uri": uri})).await?;
    let contents = &read.body["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "text/plain", "{}", read.text);
    let transcript = contents["text"].as_str().unwrap_or_default();
    assert!(
        transcript.contains("#1 ") && transcript.contains("a line of the transcript"),
        "{transcript}"
    );

    let nowhere = stateless(
        &app,
        &admin,
        "resources/read",
        json!({"uri": "file:///etc/passwd"}),
    )
    .await?;
    assert_eq!(rpc_error(&nowhere, 400), -32602);
    app.stop().await
}

async fn another_tenants_conversation_is_not_found(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let platform = app.admin();
    let tenant_b = created(
        app.post("/api/v1/tenants", &platform, json!({"name": "B"}))
            .await?,
    )?;
    let (_, admin_b) = user(&app, &platform, "admin-b", "admin", Some(&tenant_b)).await?;
    let theirs = fixture(&app, &admin_b).await?;
    let tenant_a = created(
        app.post("/api/v1/tenants", &platform, json!({"name": "A"}))
            .await?,
    )?;
    let (_, admin_a) = user(&app, &platform, "admin-a", "admin", Some(&tenant_a)).await?;

    let id = json!({"conversationId": theirs.conversation});
    for tool in ["get_conversation", "release"] {
        let result = call_tool(&app, &admin_a, tool, id.clone()).await?;
        assert_eq!(result["isError"], true, "{tool}: {result}");
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        assert!(text.starts_with("not_found:"), "{tool}: {text}");
    }
    let send = json!({"conversationId": theirs.conversation, "text": "intruding"});
    assert_eq!(
        call_tool(&app, &admin_a, "send_message", send).await?["isError"],
        true
    );
    let mine = structured(&app, &admin_a, "list_conversations", json!({})).await?;
    assert_eq!(mine["conversations"], json!([]));

    let uri = format!("conversation://{}", theirs.conversation);
    let read = stateless(&app, &admin_a, "resources/read", json!({"uri": uri})).await?;
    assert_eq!(rpc_error(&read, 400), -32602);
    let opened = initialize(&app, &admin_a, "2025-11-25").await?;
    let session = opened
        .headers
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let in_legacy = in_session(
        &app,
        &admin_a,
        (&session, "2025-11-25"),
        "resources/read",
        json!({"uri": uri}),
    )
    .await?;
    assert_eq!(
        rpc_error(&in_legacy, 200),
        -32002,
        "2025-11-25's resource not found"
    );
    app.stop().await
}
