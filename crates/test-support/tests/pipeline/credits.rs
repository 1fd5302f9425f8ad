//! Credits during processing: an empty balance blocks a conversation without losing anything;
//! a grant lets it go on, each run debited exactly once.

use serde_json::json;
use switchboard_test_support::{TestDatabase, backend_tests};

use crate::setup::{PATIENCE, start, whatsapp_text};

backend_tests!(messages_wait_for_credits_and_resume_on_a_grant);

async fn messages_wait_for_credits_and_resume_on_a_grant(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 0, |_| {}).await?;
    for n in 0..3 {
        let body = whatsapp_text(
            "972000000010",
            &format!("wamid.broke-{n}"),
            &format!("message {n}"),
        );
        assert_eq!(pipeline.whatsapp_webhook(&body, None).await?.status, 200);
    }
    // Nothing can finish, so wait for the block to be recorded instead of for idleness.
    let conversation = loop {
        let runs = pipeline.app.get("/api/v1/runs", &pipeline.admin).await?;
        if let Some(run) = runs.body["data"]
            .as_array()
            .and_then(|runs| runs.first())
            .cloned()
        {
            break run;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(conversation["status"], "blocked");
    let run = pipeline
        .app
        .get(
            &format!(
                "/api/v1/runs/{}",
                conversation["id"].as_str().unwrap_or_default()
            ),
            &pipeline.admin,
        )
        .await?;
    assert_eq!(run.body["events"][0]["type"], "credits_exhausted");
    let conversation_id = conversation["conversationId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let messages = pipeline.messages(&conversation_id).await?;
    assert_eq!(messages[0]["status"], "blocked_credits");
    assert!(
        pipeline.provider.requests().is_empty(),
        "nothing is sent without credits"
    );

    let grant = json!({"amount": 2, "reason": "top-up", "idempotencyKey": "top-up-1"});
    assert_eq!(
        pipeline
            .app
            .post("/api/v1/credits/grants", &pipeline.admin, grant)
            .await?
            .status,
        201
    );
    // Two credits answer two messages; the third waits again.
    let sent = pipeline.provider.wait_for(2, PATIENCE).await?;
    let texts: Vec<_> = sent
        .iter()
        .map(|request| request.body["text"]["body"].clone())
        .collect();
    assert_eq!(texts, [json!("message 0"), json!("message 1")]);
    assert_eq!(pipeline.balance().await?, 0);

    let grant = json!({"amount": 5, "reason": "top-up", "idempotencyKey": "top-up-2"});
    pipeline
        .app
        .post("/api/v1/credits/grants", &pipeline.admin, grant)
        .await?;
    pipeline.settle().await?;
    let sent = pipeline.provider.requests();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2].body["text"]["body"], "message 2");
    assert_eq!(pipeline.balance().await?, 4, "three runs, three debits");
    let ledger = pipeline
        .app
        .get("/api/v1/credits/ledger?limit=50", &pipeline.admin)
        .await?;
    let debits = ledger.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["amount"] == -1)
        .count();
    assert_eq!(debits, 3);
    pipeline.app.stop().await
}
