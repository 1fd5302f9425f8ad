//! Crash safety: a real `switchboard serve` process takes concurrent signed webhooks (with
//! exact duplicates), is killed with SIGKILL mid-stream, restarts and drains. Then every
//! acknowledged message exists exactly once, each got exactly one reply, replies reached the
//! provider in each conversation's order (repeated only as resends of the same idempotency key),
//! each reply was debited once, and analytics count each of them once. Repeated at several kill
//! points, on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use common::{
    Reader, ServerLog, free_port, login, send_contact, set_up, start_server, wait_healthy,
};
use serde_json::{Value, json};
use switchboard_test_support::TestDatabase;
use switchboard_test_support::fakes::FakeProvider;

const CONTACTS: usize = 8;
const PER_CONTACT: usize = 25;
const CREDITS: i64 = 10_000;

async fn crash_and_recover(database: TestDatabase, kill_after: usize) -> anyhow::Result<()> {
    let log = ServerLog::new()?;
    kill_and_check(database, kill_after, &log)
        .await
        .with_context(|| format!("server log:\n{}", log.tail()))
}

async fn kill_and_check(
    database: TestDatabase,
    kill_after: usize,
    log: &ServerLog,
) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = time::OffsetDateTime::now_utc();
    let provider = FakeProvider::spawn().await?;
    let client = reqwest::Client::new();
    let port = free_port()?;
    let mut server = start_server(database.url(), port, log, &[])?;
    wait_healthy(&client, &server.base).await?;
    let token = login(&client, &server.base).await?;
    let channel_id = set_up(&client, &server.base, &token, &provider, CREDITS).await?;

    let targets = Arc::new(tokio::sync::RwLock::new(vec![format!(
        "{}/webhooks/whatsapp/{channel_id}",
        server.base
    )]));
    let acked = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..CONTACTS)
        .map(|contact| {
            tokio::spawn(send_contact(
                client.clone(),
                targets.clone(),
                contact,
                PER_CONTACT,
                acked.clone(),
            ))
        })
        .collect();

    // Kill once `kill_after` webhooks were acknowledged: mid-stream, with work in flight.
    while acked.load(Ordering::Relaxed) < kill_after {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.child.kill()?;
    server.child.wait()?;
    let acknowledged_before_kill = acked.load(Ordering::Relaxed);

    let restarted = start_server(database.url(), port, log, &[])?;
    server = restarted;
    wait_healthy(&client, &server.base).await?;
    for sender in senders {
        sender.await?;
    }
    let reader = Reader {
        client: client.clone(),
        base: server.base.clone(),
        token: login(&client, &server.base).await?,
    };
    reader.drain(true).await?;
    let replies_total = reader
        .check_answered_once_in_order(CONTACTS, PER_CONTACT)
        .await?;
    let resends = common::check_provider_order(&provider, PER_CONTACT, replies_total)?;
    // At most one send per conversation was in flight at the kill, and each resend is counted.
    assert!(
        resends <= CONTACTS,
        "more resends than sends in flight at the kill: {resends}"
    );
    let stats = reader.get("/api/v1/queue/stats").await?;
    let counted = stats["node"]["resentTotal"].as_u64().unwrap_or(0) as usize;
    assert!(
        resends <= counted,
        "{resends} resends reached the provider, {counted} counted"
    );
    reader.check_debited_once(CREDITS, replies_total).await?;
    assert!(acknowledged_before_kill >= kill_after);

    // Analytics: the kill fell among folds of the roll-ups; once the fold loop catches up they
    // count every message, reply and debit once, and stay so.
    let summary = format!(
        "/api/v1/analytics/summary?from={}&to={}",
        rfc3339(started - time::Duration::minutes(1)),
        rfc3339(time::OffsetDateTime::now_utc() + time::Duration::minutes(1))
    );
    let expected = json!({
        "conversationsOpened": CONTACTS,
        "messagesInbound": CONTACTS * PER_CONTACT,
        "messagesOutbound": replies_total,
        "creditsSpent": replies_total,
    });
    let counted = |current: &Value| {
        json!({
            "conversationsOpened": current["conversationsOpened"],
            "messagesInbound": current["messagesInbound"],
            "messagesOutbound": current["messagesOutbound"],
            "creditsSpent": current["creditsSpent"],
        })
    };
    let mut current = Value::Null;
    for _ in 0..200 {
        current = reader.get(&summary).await?["current"].clone();
        if counted(&current) == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(counted(&current), expected, "analytics after the crash");
    assert_eq!(
        current["agentLatencyMs"]["count"], current["runsCompleted"],
        "one latency per completed run"
    );
    // Two more rounds of the fold loop change nothing.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let later = reader.get(&summary).await?["current"].clone();
    assert_eq!(
        counted(&later),
        expected,
        "analytics counted something twice"
    );

    Ok(())
}

fn rfc3339(time: time::OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

macro_rules! kill_points {
    ($($name:ident: $backend:ident at $fraction:expr),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() -> anyhow::Result<()> {
            let total = CONTACTS * PER_CONTACT;
            crash_and_recover(TestDatabase::$backend().await, total * $fraction / 100).await
        }
    )*};
}

kill_points! {
    sqlite_killed_early: sqlite at 10,
    sqlite_killed_midway: sqlite at 50,
    sqlite_killed_late: sqlite at 90,
    postgres_killed_early: postgres at 10,
    postgres_killed_midway: postgres at 50,
    postgres_killed_late: postgres at 90,
}
