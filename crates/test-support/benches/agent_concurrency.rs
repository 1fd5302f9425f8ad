//! The agent runtime's cost and concurrency.
//!
//! 1. Overhead per run: `Runtime::run` of an `openai` agent against a zero-latency fake model on
//!    loopback (request building, HTTP, SSE parsing, event emission), and of `scripted` and
//!    `echo` agents (no network), `--runs` times each; percentiles of one run.
//! 2. Concurrency: a whole gateway (SQLite, real sockets) with `--conversations` conversations
//!    each sending one WhatsApp message at once, answered by an `openai` agent whose model takes
//!    `--latency-ms`; time until every reply reached the provider, throughput and resident
//!    memory, with the queue's default worker maximum and with `--capped-workers`.
//!
//! `cargo bench -p switchboard-test-support --bench agent_runtime -- [--runs 2000]
//! [--conversations 2000] [--latency-ms 2000] [--capped-workers 256]`

use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_agent::tools::NoHost;
use switchboard_agent::{Context, Runtime, RuntimeConfig};
use switchboard_core::{
    Agent, AgentId, AgentKind, AuthorKind, ChannelId, ConversationId, Credits, Message,
    MessageDirection, MessageId, MessageStatus, MessageType, RunId, TenantId,
};
use switchboard_loadtest::memory::resident_bytes;
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

fn agent(kind: AgentKind, config: serde_json::Value) -> Agent {
    let now = time::OffsetDateTime::now_utc();
    Agent {
        id: AgentId::new(),
        tenant_id: TenantId::new(),
        name: "bench".into(),
        kind,
        config,
        cost_per_run: Credits(1),
        created_at: now,
        updated_at: now,
    }
}

fn context() -> Context {
    let message = Message {
        id: MessageId::new(),
        tenant_id: TenantId::new(),
        conversation_id: ConversationId::new(),
        channel_id: ChannelId::new(),
        seq: 1,
        direction: MessageDirection::Inbound,
        author_kind: AuthorKind::Contact,
        author_id: None,
        message_type: MessageType::Text,
        text: Some("what are your opening hours?".into()),
        content: None,
        provider_message_id: None,
        status: MessageStatus::Received,
        created_at: time::OffsetDateTime::now_utc(),
        deleted_at: None,
    };
    Context {
        run_id: RunId::new(),
        conversation_id: message.conversation_id,
        contact: None,
        history: Vec::new(),
        pending: vec![message],
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

async fn overhead(runs: u64) -> anyhow::Result<()> {
    let model = FakeModel::spawn().await?;
    let runtime = Runtime::new(RuntimeConfig::default())?;
    let cases = [
        (
            "openai (loopback model)",
            agent(
                AgentKind::Openai,
                json!({"baseUrl": model.base_url(), "model": "fake-gpt", "systemPrompt": "Be brief."}),
            ),
        ),
        (
            "scripted",
            agent(
                AgentKind::Scripted,
                json!({"rules": [{"match": {"keywords": ["hours"]}, "reply": "9 to 5, {{contact.name}}"}]}),
            ),
        ),
        ("echo", agent(AgentKind::Echo, json!({}))),
    ];
    let context = context();
    println!("## Overhead per run ({runs} sequential runs each)\n");
    println!("| agent | p50 | p90 | p99 | max |\n|---|---|---|---|---|");
    for (name, agent) in cases {
        let mut times = Vec::with_capacity(runs as usize);
        for _ in 0..runs {
            let started = Instant::now();
            let events = std::sync::Mutex::new(Vec::new());
            let emit = |event| {
                if let Ok(mut events) = events.lock() {
                    events.push(event);
                }
            };
            runtime.run(&agent, &context, &NoHost, &emit).await?;
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "| {name} | {:?} | {:?} | {:?} | {:?} |",
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or_default()
        );
    }
    println!();
    Ok(())
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
            config.whatsapp_sends_per_second = 100_000;
            config.sqlite_synchronous = "normal".into();
            if let Some(max_workers) = max_workers {
                config.queue_max_workers = max_workers;
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
    let runs = argument("--runs", 2000);
    let conversations = argument("--conversations", 2000);
    let latency = Duration::from_millis(argument("--latency-ms", 2000));
    let capped = argument("--capped-workers", 256) as usize;
    overhead(runs).await?;
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
