//! What `Runtime::run` costs per run, with no gateway around it: an `openai` agent against a
//! zero-latency fake model on loopback (request building, HTTP, SSE parsing, event emission),
//! and `scripted` and `echo` agents (no network), `--runs` sequential runs each; percentiles of
//! one run.
//!
//! `cargo bench -p switchboard-agent --bench runtime -- [--runs 2000]`

use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_agent::tools::NoHost;
use switchboard_agent::{Context, Runtime, RuntimeConfig};
use switchboard_core::{
    Agent, AgentId, AgentKind, AuthorKind, ChannelId, ConversationId, Credits, Message,
    MessageDirection, MessageId, MessageStatus, MessageType, RunId, TenantId,
};
use switchboard_fakes::FakeModel;

fn argument(name: &str, default: u64) -> u64 {
    let arguments: Vec<String> = std::env::args().collect();
    arguments
        .iter()
        .position(|argument| argument == name)
        .and_then(|at| arguments.get(at + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runs = argument("--runs", 2000);
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
    Ok(())
}
