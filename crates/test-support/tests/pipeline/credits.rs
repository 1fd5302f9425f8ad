//! Credits during processing: an empty balance blocks a conversation without losing anything;
//! a grant lets it go on, each run debited exactly once.

use serde_json::json;
use switchboard_test_support::{TestDatabase, backend_tests};

use switchboard_test_support::pipeline::{PATIENCE, start, whatsapp_text};

backend_tests!(
    messages_wait_for_credits_and_resume_on_a_grant,
    a_run_that_costs_more_than_the_balance_waits_for_a_grant
);

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

/// The balance covers the agent's cost per run, so the model is asked, but not the tokens it
/// used on top: the debit refuses at commit, nothing of the run is kept, and the message waits
/// for credits like any other; after a grant it is answered and debited once.
async fn a_run_that_costs_more_than_the_balance_waits_for_a_grant(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 3, |_| {}).await?;
    let model = pipeline
        .use_model(json!({"pricing": {"promptPer1k": 4}}), 1)
        .await?;
    model.set_usage(1000, 0);
    pipeline
        .send("972000000011", "wamid.pricey", "an expensive question")
        .await?;
    model.wait_for(1, PATIENCE).await?;
    let engine = &pipeline.app.engine;
    tokio::time::timeout(PATIENCE, async {
        while engine
            .queue_node_stats()
            .is_none_or(|stats| stats.parked == 0)
        {
            tokio::task::yield_now().await;
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("the run never waited for credits"))?;
    assert!(pipeline.provider.requests().is_empty(), "nothing is sent");
    assert_eq!(pipeline.balance().await?, 3, "nothing is debited");
    let conversation = pipeline.conversation().await?;
    assert_eq!(
        pipeline.messages(&conversation).await?.len(),
        1,
        "no reply kept"
    );

    let grant = json!({"amount": 10, "reason": "top-up", "idempotencyKey": "top-up-pricey"});
    pipeline
        .app
        .post("/api/v1/credits/grants", &pipeline.admin, grant)
        .await?;
    pipeline.settle().await?;
    assert_eq!(pipeline.provider.requests().len(), 1);
    assert_eq!(
        pipeline.balance().await?,
        3 + 10 - 5,
        "1 per run + 4 for the tokens"
    );
    let ledger = pipeline
        .app
        .get("/api/v1/credits/ledger?limit=50", &pipeline.admin)
        .await?;
    let debits: Vec<_> = ledger.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["amount"].as_i64().is_some_and(|amount| amount < 0))
        .collect();
    assert_eq!(debits.len(), 1, "{debits:?}");
    assert_eq!(debits[0]["amount"], -5);
    pipeline.app.stop().await
}
