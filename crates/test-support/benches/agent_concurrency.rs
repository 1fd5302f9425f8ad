//! Agent runs at concurrency, through a whole gateway (SQLite, real sockets): `--conversations`
//! conversations each send one WhatsApp message at once, answered by an `openai` agent whose
//! model takes `--latency-ms`; time until every reply reached the provider, throughput, peak
//! runs in flight and resident memory, with the queue's default worker maximum and with
//! `--capped-workers`. What one run costs without a gateway is `switchboard-agent`'s `runtime`
//! bench.
//!
//! `cargo bench -p switchboard-test-support --bench agent_concurrency -- [--conversations 2000]
//! [--latency-ms 2000] [--capped-workers 256]`

use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_loadtest::memory::resident_bytes;
use switchboard_server::SqliteSynchronous;
use switchboard_test_support::fakes::{FakeModel, FakeProvider};
use switchboard_test_support::{TestApp, TestDatabase, whatsapp_signature};
use tokio_util::sync::CancellationToken;

const APP_SECRET: &str = "bench-app-secret";
const PHONE_NUMBER_ID: &str = "1000000001";

fn argument(name: &str, default: u64) -> u64 {
    let arguments: Vec<String> = std::env::args().collect();
    arguments
        .iter()
        .position(|argument| argument == name)
        .and_then(|at| arguments.get(at + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn resident_mib() -> f64 {
    resident_bytes(std::process::id()).map_or(0.0, |bytes| bytes as f64 / (1024.0 * 1024.0))
}

async fn concurrency(
    conversations: u64,
    latency: Duration,
    max_workers: Option<usize>,
) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let provider = FakeProvider::spawn().await?;
    let model = FakeModel::spawn().await?;
    model.set_latency(latency);
    let app = TestApp::spawn_with(
        TestDatabase::sqlite().await,
        CancellationToken::new(),
        |config| {
            config.channels.whatsapp_sends_per_second = 100_000;
            config.database.sqlite_synchronous = SqliteSynchronous::Normal;
            if let Some(max_workers) = max_workers {
                config.queue.max_workers = max_workers;
            }
        },
    )
    .await?;
    let admin = app.admin();
    let agent = app
        .post(
            "/api/v1/agents",
            &admin,
            json!({"name": "m", "kind": "openai",
            "config": {"baseUrl": model.base_url(), "model": "fake-gpt"}}),
        )
        .await?
        .str("id");
    let channel = app
        .post("/api/v1/channels", &admin, json!({"kind": "whatsapp", "name": "w", "agentId": agent,
            "config": {"phoneNumberId": PHONE_NUMBER_ID, "appSecret": APP_SECRET, "verifyToken": "v",
                "accessToken": "a", "apiBaseUrl": provider.base_url()}}))
        .await?
        .str("id");
    app.post(
        "/api/v1/credits/grants",
        &admin,
        json!({"amount": conversations * 2, "reason": "bench", "idempotencyKey": "bench"}),
    )
    .await?;
    let url = app.url(&format!("/webhooks/whatsapp/{channel}"));
    let baseline = resident_mib();
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    let per_sender = conversations.div_ceil(32);
    for sender in 0..32 {
        let client = app.client.clone();
        let url = url.clone();
        senders.spawn(async move {
            for n in (sender * per_sender)..((sender + 1) * per_sender).min(conversations) {
                let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
                    "value": {"messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "1", "phone_number_id": PHONE_NUMBER_ID},
                        "contacts": [{"profile": {"name": "c"}, "wa_id": format!("{}", 972_500_000_000u64 + n)}],
                        "messages": [{"from": format!("{}", 972_500_000_000u64 + n), "id": format!("wamid.bench.{n}"),
                            "timestamp": "1", "type": "text", "text": {"body": "hello"}}]}}]}]});
                let bytes = serde_json::to_vec(&body)?;
                let status = client
                    .post(&url)
                    .header("x-hub-signature-256", whatsapp_signature(APP_SECRET, &bytes))
                    .body(bytes)
                    .send()
                    .await?
                    .status();
                anyhow::ensure!(status == 200, "webhook answered {status}");
            }
            anyhow::Ok(())
        });
    }
    while let Some(sent) = senders.join_next().await {
        sent??;
    }
    let ingested = started.elapsed();
    let mut peak = resident_mib();
    let mut peak_in_flight = 0;
    loop {
        let stats = app.engine.queue_node_stats();
        peak_in_flight = peak_in_flight.max(stats.map_or(0, |stats| stats.in_flight));
        peak = peak.max(resident_mib());
        if provider.requests().len() as u64 >= conversations {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let workers = max_workers.map_or_else(
        || "default (4096)".to_owned(),
        |workers| workers.to_string(),
    );
    println!(
        "| {workers} | {conversations} | {} ms | {:.1} s | {:.0} runs/s | {peak_in_flight} | {:.0} MiB | {:.0} MiB |",
        latency.as_millis(),
        elapsed.as_secs_f64(),
        conversations as f64 / elapsed.as_secs_f64(),
        baseline,
        peak,
    );
    eprintln!(
        "(ingest of the {conversations} webhooks took {:.1} s)",
        ingested.as_secs_f64()
    );
    app.stop().await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let conversations = argument("--conversations", 2000);
    let latency = Duration::from_millis(argument("--latency-ms", 2000));
    let capped = argument("--capped-workers", 256) as usize;
    println!(
        "## {conversations} concurrent runs, model latency {} ms\n",
        latency.as_millis()
    );
    println!(
        "| queue max workers | runs | model latency | all replies sent | throughput | peak runs in flight | RSS before | RSS peak |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    concurrency(conversations, latency, None).await?;
    concurrency(conversations, latency, Some(capped)).await?;
    Ok(())
}
