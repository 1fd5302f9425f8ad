//! Failures: a full queue answers 429 and loses nothing; a provider that keeps failing sends the
//! reply to the dead letters, where it can be inspected, retried or discarded; a provider that
//! refuses a message marks it failed; a send the store could not record at once is recorded
//! later, or sent again (counted) when the store stays down.

use std::time::Duration;

use serde_json::json;
use sqlx::Connection as _;
use switchboard_test_support::{Reply, TestDatabase, backend_tests};

use switchboard_test_support::pipeline::{PATIENCE, start, whatsapp_text};

backend_tests!(
    a_full_queue_answers_429_and_loses_nothing,
    dead_letters_can_be_inspected_retried_and_discarded
);

async fn a_full_queue_answers_429_and_loses_nothing(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 1000, |config| config.queue.capacity = 3).await?;
    // Replies cannot leave, so entries pile up to the capacity.
    pipeline.provider.fail_next(100_000, 503, None);
    let mut refused = Vec::new();
    for n in 0..8 {
        let body = whatsapp_text(
            "972500000050",
            &format!("wamid.full.{n}"),
            &format!("5:{n}"),
        );
        let reply = pipeline.whatsapp_webhook(&body, None).await?;
        match reply.status {
            200 => {}
            429 => {
                assert!(
                    reply.headers.get("retry-after").is_some(),
                    "429 without Retry-After"
                );
                assert_eq!(reply.body["error"]["code"], "rate_limited");
                refused.push(body);
            }
            other => anyhow::bail!("unexpected {other}: {}", reply.text),
        }
    }
    assert!(!refused.is_empty(), "capacity 3 never refused anything");

    // The provider recovers and redelivers what was refused, as WhatsApp does.
    pipeline.provider.recover();
    pipeline.settle().await?;
    for body in &refused {
        loop {
            let reply = pipeline.whatsapp_webhook(body, None).await?;
            if reply.status == 200 {
                break;
            }
            pipeline.settle().await?;
        }
    }
    pipeline.settle().await?;
    let conversation = pipeline.conversations().await?[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let messages = pipeline.messages(&conversation).await?;
    let inbound: Vec<_> = messages
        .iter()
        .filter(|message| message["direction"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), 8, "every message stored exactly once");
    let delivered = pipeline
        .provider
        .requests()
        .into_iter()
        .filter(|request| request.status == 200)
        .count();
    assert_eq!(delivered, 8);
    pipeline.app.stop().await
}

async fn dead_letters_can_be_inspected_retried_and_discarded(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 1000, |config| config.queue.max_attempts = 2).await?;
    pipeline.provider.fail_next(2, 500, None);
    pipeline
        .whatsapp_webhook(
            &whatsapp_text("972500000060", "wamid.dead.1", "first"),
            None,
        )
        .await?;
    pipeline.settle().await?;
    pipeline.provider.fail_next(1, 400, None);
    pipeline
        .whatsapp_webhook(
            &whatsapp_text("972500000061", "wamid.dead.2", "second"),
            None,
        )
        .await?;
    pipeline.settle().await?;

    let dead = pipeline
        .app
        .get("/api/v1/dead-letters", &pipeline.admin)
        .await?;
    let entries = dead.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2, "{}", dead.text);
    assert!(
        entries
            .iter()
            .all(|entry| entry["kind"] == "deliver" && entry["state"] == "dead")
    );
    assert!(
        entries[0]["lastError"]
            .as_str()
            .is_some_and(|error| !error.is_empty())
    );

    // The rejected one is marked failed on the message.
    let rejected_conversation = entries[1]["conversationId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let messages = pipeline.messages(&rejected_conversation).await?;
    assert_eq!(messages[1]["status"], "failed");

    let retried = pipeline
        .app
        .call(
            reqwest::Method::POST,
            &format!(
                "/api/v1/dead-letters/{}/retry",
                entries[0]["id"].as_str().unwrap_or_default()
            ),
            &pipeline.admin,
            None,
        )
        .await?;
    assert_eq!(retried.status, 200, "{}", retried.text);
    pipeline.settle().await?;
    let delivered: Vec<_> = pipeline
        .provider
        .requests()
        .into_iter()
        .filter(|request| request.status == 200)
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].body["text"]["body"], "first");

    let discarded = pipeline
        .app
        .delete(
            &format!(
                "/api/v1/dead-letters/{}",
                entries[1]["id"].as_str().unwrap_or_default()
            ),
            &pipeline.admin,
        )
        .await?;
    assert_eq!(discarded.status, 204);
    let dead = pipeline
        .app
        .get("/api/v1/dead-letters", &pipeline.admin)
        .await?;
    assert_eq!(dead.body["data"], json!([]));
    // Both actions are in the audit log, newest first.
    let audit = pipeline
        .app
        .get("/api/v1/audit?resource=dead_letter", &pipeline.admin)
        .await?;
    let actions: Vec<(&str, &str)> = audit.body["data"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|event| {
                    (
                        event["action"].as_str().unwrap_or_default(),
                        event["resourceId"].as_str().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        actions,
        [
            (
                "dead_letter.discarded",
                entries[1]["id"].as_str().unwrap_or_default()
            ),
            (
                "dead_letter.retried",
                entries[0]["id"].as_str().unwrap_or_default()
            ),
        ],
        "{}",
        audit.text
    );
    let stats = pipeline
        .app
        .get("/api/v1/queue/stats", &pipeline.admin)
        .await?;
    assert_eq!(stats.status, 200, "{}", stats.text);
    assert_eq!(stats.body["stored"]["dead"], 0);
    assert!(
        stats.body["node"]["deadTotal"]
            .as_u64()
            .is_some_and(|dead| dead >= 2),
        "{}",
        stats.text
    );
    let _ = PATIENCE;
    pipeline.app.stop().await
}

/// Takes SQLite's file at `path` from another connection, as another process would: the
/// store's writes wait for it, then fail.
async fn hold(path: &str) -> anyhow::Result<sqlx::SqliteConnection> {
    let mut intruder = sqlx::SqliteConnection::connect(&format!("sqlite://{path}")).await?;
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut intruder)
        .await?;
    Ok(intruder)
}

/// Gives back a file [`hold`] took.
async fn release(mut intruder: sqlx::SqliteConnection) -> anyhow::Result<()> {
    sqlx::raw_sql("COMMIT").execute(&mut intruder).await?;
    intruder.close().await?;
    Ok(())
}

/// SQLite held by another process. While the database and the inbox's file are both held,
/// webhooks get 503 with `Retry-After` and nothing half-written remains; once they are
/// released, redelivery is accepted. While only the database is held, webhooks are still
/// accepted (into the inbox), and their messages are stored and answered once it is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_briefly_unavailable_store_answers_503_and_recovers() -> anyhow::Result<()> {
    let database = TestDatabase::sqlite().await;
    let path = database.url().trim_start_matches("sqlite://").to_owned();
    let pipeline = start(database, 100, |config| {
        config.database.busy_timeout = Duration::from_millis(200)
    })
    .await?;

    let body = whatsapp_text("972500000070", "wamid.outage.1", "are you there?");
    let database_intruder = hold(&path).await?;
    let inbox_intruder = hold(&format!("{path}-inbox")).await?;
    let during = pipeline.whatsapp_webhook(&body, None).await?;
    assert_eq!(during.status, 503, "{}", during.text);
    assert!(during.headers.get("retry-after").is_some());
    assert_eq!(during.body["error"]["code"], "unavailable");
    release(inbox_intruder).await?;
    release(database_intruder).await?;
    let after = pipeline.whatsapp_webhook(&body, None).await?;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(
        after.body["accepted"], 1,
        "the refused attempt left nothing behind"
    );
    pipeline.settle().await?;
    let sent = pipeline.provider.wait_for(1, PATIENCE).await?;
    assert_eq!(sent[0].body["text"]["body"], "are you there?");

    let intruder = hold(&path).await?;
    let body = whatsapp_text("972500000070", "wamid.outage.2", "still there?");
    let during = pipeline.whatsapp_webhook(&body, None).await?;
    assert_eq!(during.status, 200, "{}", during.text);
    assert_eq!(during.body["accepted"], 1);
    // Storing fails while the database is held, and is retried; the message waits, counted.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pipeline.provider.requests().len(), 1);
    let accepted = |stats: &Reply| stats.body["stored"]["accepted"].clone();
    let waiting = pipeline
        .app
        .get("/api/v1/queue/stats", &pipeline.admin)
        .await?;
    assert_eq!(accepted(&waiting), 1, "{}", waiting.text);
    release(intruder).await?;
    pipeline.settle().await?;
    let sent = pipeline.provider.wait_for(2, PATIENCE).await?;
    assert_eq!(sent[1].body["text"]["body"], "still there?");
    let stored = pipeline
        .app
        .get("/api/v1/queue/stats", &pipeline.admin)
        .await?;
    assert_eq!(accepted(&stored), 0, "{}", stored.text);
    pipeline.app.stop().await
}

/// SQLite held by another process while a reply's send is answered. Held briefly, the send is
/// recorded once the database is free, and not repeated; held longer than the recording is
/// tried, the reply is sent again later with the same idempotency key, counted as a resend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_the_store_could_not_record_is_recorded_later_or_resent_counted()
-> anyhow::Result<()> {
    let database = TestDatabase::sqlite().await;
    let path = database.url().trim_start_matches("sqlite://").to_owned();
    let pipeline = start(database, 100, |config| {
        config.database.busy_timeout = Duration::from_millis(200)
    })
    .await?;
    // Holds the database from before the send's answer, for `outage`: the provider keeps its
    // answer until the database is held, so the answer always meets a held store.
    let outage_during_send = |sends: usize, outage: Duration| {
        let path = path.clone();
        let provider = &pipeline.provider;
        async move {
            provider.wait_for(sends, PATIENCE).await?;
            let intruder = hold(&path).await?;
            provider.resume();
            tokio::time::sleep(outage).await;
            release(intruder).await
        }
    };
    let resent = || async {
        let stats = pipeline
            .app
            .get("/api/v1/queue/stats", &pipeline.admin)
            .await?;
        anyhow::Ok(stats.body["node"]["resentTotal"].clone())
    };
    let keys = || {
        pipeline
            .provider
            .requests()
            .iter()
            .map(|request| {
                request
                    .header("idempotency-key")
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };

    // Free again while the recording is still being tried: one send.
    let body = whatsapp_text("972500000071", "wamid.unrecorded.1", "first");
    pipeline.provider.pause();
    assert_eq!(pipeline.whatsapp_webhook(&body, None).await?.status, 200);
    outage_during_send(1, Duration::from_millis(900)).await?;
    pipeline.settle().await?;
    assert_eq!(keys().len(), 1, "recorded without sending again");
    assert_eq!(resent().await?, 0);

    // Down for longer than the recording is tried: sent again with the same key, counted.
    let body = whatsapp_text("972500000071", "wamid.unrecorded.2", "second");
    pipeline.provider.pause();
    assert_eq!(pipeline.whatsapp_webhook(&body, None).await?.status, 200);
    outage_during_send(2, Duration::from_secs(3)).await?;
    pipeline.settle().await?;
    let keys = keys();
    assert_eq!(keys.len(), 3, "the second reply was sent twice");
    assert_ne!(keys[0], keys[1]);
    assert_eq!(keys[1], keys[2], "with the same idempotency key");
    assert_eq!(resent().await?, 1);
    assert_eq!(pipeline.provider.unique_sends(), 2);

    let stats = pipeline
        .app
        .get("/api/v1/queue/stats", &pipeline.admin)
        .await?;
    assert_eq!(stats.body["stored"]["dead"], 0, "{}", stats.text);
    assert_eq!(stats.body["stored"]["sending"], 0, "{}", stats.text);
    pipeline.app.stop().await
}
