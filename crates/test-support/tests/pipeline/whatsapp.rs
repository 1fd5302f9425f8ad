//! WhatsApp webhook → stored message → echo run → reply at the provider → receipts.

use serde_json::json;
use switchboard_realtime::{DURABLE_EPOCH, Position, StreamKey, StreamName};
use switchboard_test_support::{Credential, TestDatabase, backend_tests};

use switchboard_test_support::pipeline::{PATIENCE, start, whatsapp_text};

backend_tests!(
    a_message_is_answered_once_and_redelivery_changes_nothing,
    signatures_are_checked_before_anything_is_stored,
    every_fixture_message_type_is_stored,
    receipts_only_move_status_forward,
    each_run_sees_the_conversation_so_far,
    an_agent_that_reads_no_history_is_given_none
);

async fn a_message_is_answered_once_and_redelivery_changes_nothing(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let body = whatsapp_text("972987654321", "wamid.first", "Where is my parcel?");
    let reply = pipeline.whatsapp_webhook(&body, None).await?;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["accepted"], 1);
    pipeline.settle().await?;

    let sent = pipeline.provider.wait_for(1, PATIENCE).await?;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].path,
        format!(
            "/{}/messages",
            switchboard_test_support::pipeline::PHONE_NUMBER_ID
        )
    );
    assert_eq!(sent[0].body["to"], "972987654321");
    assert_eq!(sent[0].body["text"]["body"], "Where is my parcel?");
    assert_eq!(sent[0].header("authorization"), Some("Bearer graph-token"));
    assert!(sent[0].header("idempotency-key").is_some());

    let conversations = pipeline.conversations().await?;
    assert_eq!(conversations.len(), 1);
    let conversation = conversations[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let messages = pipeline.messages(&conversation).await?;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["direction"], "inbound");
    assert_eq!(messages[0]["status"], "processed");
    assert_eq!(messages[0]["providerMessageId"], "wamid.first");
    assert_eq!(messages[1]["direction"], "outbound");
    assert_eq!(messages[1]["status"], "sent");
    assert!(messages[1]["providerMessageId"].is_string());
    assert_eq!(pipeline.balance().await?, 9);

    // The run log and the live stream carry the agent events in order.
    let runs = pipeline
        .app
        .get(
            &format!("/api/v1/runs?conversationId={conversation}"),
            &pipeline.admin,
        )
        .await?;
    let run_id = runs.body["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let run = pipeline
        .app
        .get(&format!("/api/v1/runs/{run_id}"), &pipeline.admin)
        .await?;
    assert_eq!(run.body["status"], "completed");
    let kinds: Vec<_> = run.body["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|event| event["type"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!("agent_started"),
            json!("agent_thinking"),
            json!("agent_completed")
        ]
    );
    assert_eq!(run.body["events"][2]["replyMessageId"], messages[1]["id"]);
    // What the run's stream published live is kept for resume: the same events, in order.
    let hub = pipeline.app.engine.hub();
    let subscriber = hub.subscriber();
    let key = StreamKey {
        tenant_id: run.str("tenantId").parse()?,
        name: StreamName::Run(run_id.parse()?),
    };
    let since = Position {
        epoch: DURABLE_EPOCH.into(),
        offset: 0,
    };
    hub.subscribe(&subscriber, key, Some(since), None).await?;
    let mut frames = Vec::new();
    subscriber
        .outbox
        .next_batch(&mut frames)
        .await
        .map_err(|closed| anyhow::anyhow!("{closed:?}"))?;
    let live: Vec<_> = frames
        .iter()
        .filter(|frame| frame.is_event())
        .map(|frame| serde_json::from_slice::<serde_json::Value>(&frame.bytes))
        .map(|frame| frame.map(|frame| frame["event"]["type"].clone()))
        .collect::<Result<_, _>>()?;
    assert_eq!(live, kinds);

    // Redelivery: same 200, nothing new anywhere.
    let again = pipeline.whatsapp_webhook(&body, None).await?;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["accepted"], 0);
    assert_eq!(again.body["duplicates"], 1);
    pipeline.settle().await?;
    assert_eq!(pipeline.messages(&conversation).await?.len(), 2);
    assert_eq!(pipeline.provider.requests().len(), 1);
    assert_eq!(pipeline.balance().await?, 9);
    let runs = pipeline.app.get("/api/v1/runs", &pipeline.admin).await?;
    assert_eq!(runs.body["data"].as_array().map(Vec::len), Some(1));
    pipeline.app.stop().await
}

async fn signatures_are_checked_before_anything_is_stored(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let body = whatsapp_text("972000000001", "wamid.forged", "hello");
    let missing = pipeline
        .app
        .client
        .post(
            pipeline
                .app
                .url(&format!("/webhooks/whatsapp/{}", pipeline.whatsapp)),
        )
        .json(&body)
        .send()
        .await?;
    assert_eq!(missing.status(), 401);
    let forged = pipeline
        .whatsapp_webhook(&body, Some("sha256=00ff"))
        .await?;
    assert_eq!(forged.status, 403);
    assert_eq!(forged.body["error"]["code"], "forbidden");
    let unknown = pipeline
        .app
        .client
        .post(
            pipeline
                .app
                .url(&format!("/webhooks/whatsapp/{}", uuid::Uuid::now_v7())),
        )
        .body("{}")
        .send()
        .await?;
    assert_eq!(unknown.status(), 404);
    let wrong_kind = pipeline
        .app
        .client
        .post(
            pipeline
                .app
                .url(&format!("/webhooks/telegram/{}", pipeline.whatsapp)),
        )
        .body("{}")
        .send()
        .await?;
    assert_eq!(wrong_kind.status(), 404);
    let garbage = switchboard_test_support::whatsapp_signature(
        switchboard_test_support::pipeline::APP_SECRET,
        b"{not json",
    );
    let malformed = pipeline
        .app
        .client
        .post(
            pipeline
                .app
                .url(&format!("/webhooks/whatsapp/{}", pipeline.whatsapp)),
        )
        .header("x-hub-signature-256", garbage)
        .body("{not json")
        .send()
        .await?;
    assert_eq!(malformed.status(), 400);
    assert!(pipeline.conversations().await?.is_empty());

    let verify = |token: &'static str| {
        let url = pipeline.app.url(&format!(
            "/webhooks/whatsapp/{}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            pipeline.whatsapp
        ));
        pipeline.app.client.get(url).send()
    };
    let accepted = verify("verify-me").await?;
    assert_eq!(accepted.status(), 200);
    assert_eq!(accepted.text().await?, "1158201444");
    assert_eq!(verify("guess").await?.status(), 403);
    let _ = Credential::None;
    pipeline.app.stop().await
}

async fn every_fixture_message_type_is_stored(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 1000, |_| {}).await?;
    let fixtures: serde_json::Map<String, serde_json::Value> = serde_json::from_str(include_str!(
        "../../../channels/fixtures/whatsapp/message.json"
    ))?;
    let mut expected = 0;
    for (case, body) in &fixtures {
        // Several cases reuse one message id; give each its own so none is a redelivery.
        let mut body = body.clone();
        for entry in body["entry"].as_array_mut().into_iter().flatten() {
            for change in entry["changes"].as_array_mut().into_iter().flatten() {
                for (index, message) in change["value"]["messages"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    message["id"] = json!(format!("wamid.{case}.{index}"));
                }
            }
        }
        let reply = pipeline.whatsapp_webhook(&body, None).await?;
        assert_eq!(reply.status, 200, "{case}: {}", reply.text);
        expected += reply.body["accepted"].as_u64().unwrap_or(0);
    }
    pipeline.settle().await?;
    assert!(expected >= 15, "only {expected} fixture messages accepted");
    let mut stored = 0;
    let mut types = std::collections::BTreeSet::new();
    for conversation in pipeline.conversations().await? {
        for message in pipeline
            .messages(conversation["id"].as_str().unwrap_or_default())
            .await?
        {
            if message["direction"] == "inbound" {
                stored += 1;
                types.insert(message["type"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    assert_eq!(stored, expected);
    for kind in [
        "text", "image", "video", "audio", "document", "sticker", "location", "reaction",
        "contacts",
    ] {
        assert!(types.contains(kind), "no {kind} message stored: {types:?}");
    }
    pipeline.app.stop().await
}

async fn receipts_only_move_status_forward(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    pipeline
        .whatsapp_webhook(&whatsapp_text("972000000002", "wamid.in", "hi"), None)
        .await?;
    pipeline.settle().await?;
    let conversation = pipeline.conversations().await?[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let outbound = pipeline.messages(&conversation).await?[1].clone();
    let provider_id = outbound["providerMessageId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let receipt = |status: &str| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "1", "phone_number_id": switchboard_test_support::pipeline::PHONE_NUMBER_ID},
                "statuses": [{"id": provider_id, "status": status, "timestamp": "1697043300",
                    "recipient_id": "972000000002"}]}}]}]})
    };
    for (status, expected) in [
        ("delivered", "delivered"),
        ("read", "read"),
        ("delivered", "read"),
        ("sent", "read"),
    ] {
        let reply = pipeline.whatsapp_webhook(&receipt(status), None).await?;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let message = pipeline
            .app
            .get(
                &format!(
                    "/api/v1/messages/{}",
                    outbound["id"].as_str().unwrap_or_default()
                ),
                &pipeline.admin,
            )
            .await?;
        assert_eq!(message.body["status"], expected, "after {status}");
    }
    pipeline.app.stop().await
}

async fn each_run_sees_the_conversation_so_far(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    // A model reads the history (an echo reads none).
    let _model = pipeline.use_model(json!({}), 1).await?;
    for (n, text) in ["my order is late", "it was due on monday", "order 4471"]
        .iter()
        .enumerate()
    {
        let body = whatsapp_text("972000000030", &format!("wamid.context.{n}"), text);
        assert_eq!(pipeline.whatsapp_webhook(&body, None).await?.status, 200);
        pipeline.settle().await?;
    }
    let conversation = pipeline.conversations().await?[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let messages = pipeline.messages(&conversation).await?;
    let ids: Vec<_> = messages
        .iter()
        .map(|message| message["id"].clone())
        .collect();
    assert_eq!(ids.len(), 6, "three messages, three replies");
    let runs = pipeline
        .app
        .get(
            &format!("/api/v1/runs?conversationId={conversation}"),
            &pipeline.admin,
        )
        .await?;
    let runs = runs.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 3);
    // The first run had no history; the third saw both earlier exchanges, in order.
    assert_eq!(runs[0]["contextMessageIds"], json!([]));
    assert_eq!(runs[1]["contextMessageIds"], json!(ids[..2]));
    assert_eq!(runs[2]["contextMessageIds"], json!(ids[..4]));
    assert_eq!(runs[2]["messageIds"], json!([ids[4]]));
    pipeline.app.stop().await
}

/// An echo (like a scripted flow) answers from the pending messages alone: its runs are given
/// no history, and it still answers each message with its own text.
async fn an_agent_that_reads_no_history_is_given_none(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    for (n, text) in ["first words", "second words"].iter().enumerate() {
        let body = whatsapp_text("972000000031", &format!("wamid.nohistory.{n}"), text);
        assert_eq!(pipeline.whatsapp_webhook(&body, None).await?.status, 200);
        pipeline.settle().await?;
    }
    assert_eq!(pipeline.sent_texts(), ["first words", "second words"]);
    let conversation = pipeline.conversation().await?;
    let runs = pipeline.runs(&conversation).await?;
    assert_eq!(runs.len(), 2);
    for run in &runs {
        assert_eq!(run["contextMessageIds"], json!([]), "{run}");
    }
    let messages = pipeline.messages(&conversation).await?;
    assert_eq!(runs[1]["messageIds"], json!([messages[2]["id"]]));
    pipeline.app.stop().await
}
