//! The providers against local fakes, without a gateway around them: the circuit breaker of a
//! failing model endpoint, MCP discovery caching across runs, and a bot's error statuses.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use switchboard_agent::tools::NoHost;
use switchboard_agent::{AgentError, Context, Runtime, RuntimeConfig};
use switchboard_core::{
    Agent, AgentEvent, AgentId, AgentKind, AuthorKind, ChannelId, ConversationId, Credits, Message,
    MessageDirection, MessageId, MessageStatus, MessageType, RunId, TenantId,
};
use switchboard_fakes::{BotMode, FakeBot, FakeMcp, FakeModel, ModelAnswer};

fn agent_of(kind: AgentKind, config: serde_json::Value) -> Agent {
    let now = time::OffsetDateTime::now_utc();
    Agent {
        id: AgentId::new(),
        tenant_id: TenantId::new(),
        name: "test".into(),
        kind,
        config,
        cost_per_run: Credits(1),
        created_at: now,
        updated_at: now,
    }
}

fn context(text: &str) -> Context {
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
        text: Some(text.into()),
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

fn runtime(config: RuntimeConfig) -> anyhow::Result<Runtime> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(Runtime::new(config)?)
}

/// Runs `agent` once, returning the result and the events it reported.
async fn run(
    runtime: &Runtime,
    agent: &Agent,
    text: &str,
) -> (Result<String, AgentError>, Vec<AgentEvent>) {
    let events = Mutex::new(Vec::new());
    let emit = |event| {
        if let Ok(mut events) = events.lock() {
            events.push(event);
        }
    };
    let result = runtime
        .run(agent, &context(text), &NoHost, &emit)
        .await
        .map(|output| output.text);
    (result, events.into_inner().unwrap_or_default())
}

#[tokio::test]
async fn an_open_circuit_fails_fast_without_calling_the_model() -> anyhow::Result<()> {
    let model = FakeModel::spawn().await?;
    let runtime = runtime(RuntimeConfig {
        max_retries: 0,
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_secs(600),
        ..RuntimeConfig::default()
    })?;
    let agent = agent_of(
        AgentKind::Openai,
        json!({"baseUrl": model.base_url(), "model": "fake-gpt"}),
    );
    model.answer([
        ModelAnswer::Status(500, None),
        ModelAnswer::Status(503, None),
    ]);
    for _ in 0..2 {
        let error = run(&runtime, &agent, "hi").await.0.expect_err("500s");
        assert_eq!(error.code(), "model_unavailable");
        assert!(error.is_retryable());
    }
    let error = run(&runtime, &agent, "hi").await.0.expect_err("open");
    assert_eq!(error.code(), "circuit_open");
    assert!(
        error.is_retryable(),
        "the queue retries after the cool-down"
    );
    assert!(
        error
            .retry_after()
            .is_some_and(|after| after > Duration::from_secs(500))
    );
    assert_eq!(model.requests().len(), 2, "the open circuit sent nothing");
    Ok(())
}

#[tokio::test]
async fn a_refusal_is_final_and_does_not_count_against_the_endpoint() -> anyhow::Result<()> {
    let model = FakeModel::spawn().await?;
    let runtime = runtime(RuntimeConfig {
        breaker_threshold: 1,
        ..RuntimeConfig::default()
    })?;
    let agent = agent_of(
        AgentKind::Openai,
        json!({"baseUrl": model.base_url(), "model": "fake-gpt"}),
    );
    model.answer([ModelAnswer::Status(401, None)]);
    let error = run(&runtime, &agent, "hi").await.0.expect_err("401");
    assert_eq!(error.code(), "model_refused");
    assert!(!error.is_retryable());
    let (reply, events) = run(&runtime, &agent, "hi").await;
    assert_eq!(reply?, "echo: hi", "the circuit stayed closed");
    assert!(matches!(
        events.first(),
        Some(AgentEvent::AgentThinking { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn an_unreachable_model_keeps_the_transport_error_as_the_cause() -> anyhow::Result<()> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let runtime = runtime(RuntimeConfig {
        max_retries: 0,
        ..RuntimeConfig::default()
    })?;
    let agent = agent_of(
        AgentKind::Openai,
        json!({"baseUrl": format!("http://{closed}/v1"), "model": "fake-gpt"}),
    );
    let error = run(&runtime, &agent, "hi")
        .await
        .0
        .expect_err("nothing listens");
    assert_eq!(error.code(), "model_unreachable");
    assert_eq!(
        error.to_string(),
        "model_unreachable: cannot reach the model"
    );
    let cause = std::error::Error::source(&error).expect("a cause");
    assert!(
        cause.downcast_ref::<reqwest::Error>().is_some(),
        "{cause:?}"
    );
    assert!(
        error
            .message()
            .starts_with("cannot reach the model: error sending request for url"),
        "the run log spells out the cause: {}",
        error.message()
    );
    Ok(())
}

#[tokio::test]
async fn mcp_tools_are_discovered_once_and_calls_reuse_the_session() -> anyhow::Result<()> {
    let model = FakeModel::spawn().await?;
    let mcp = FakeMcp::spawn().await?;
    let runtime = runtime(RuntimeConfig::default())?;
    let agent = agent_of(
        AgentKind::Openai,
        json!({"baseUrl": model.base_url(), "model": "fake-gpt", "tools": ["lookup_order"],
            "mcpServers": [{"name": "shop", "url": mcp.url()}]}),
    );
    for n in 0..2 {
        model.answer([
            ModelAnswer::ToolCalls(vec![(
                "lookup_order".into(),
                format!(r#"{{"orderId":"{n}"}}"#),
            )]),
            ModelAnswer::Text(format!("order {n} shipped")),
        ]);
        let (reply, events) = run(&runtime, &agent, "where is my order").await;
        assert_eq!(reply?, format!("order {n} shipped"));
        let completed = events.iter().find_map(|event| match event {
            AgentEvent::ToolCompleted {
                result, is_error, ..
            } => Some((result.clone(), *is_error)),
            _ => None,
        });
        assert_eq!(
            completed,
            Some((
                json!({"orderId": n.to_string(), "status": "shipped"}),
                false
            ))
        );
    }
    assert_eq!(
        mcp.methods(),
        [
            "initialize",
            "notifications/initialized",
            "tools/list",
            "tools/call",
            "tools/call"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_bot_that_is_down_is_retryable_and_a_bad_config_is_named() -> anyhow::Result<()> {
    let bot = FakeBot::spawn(BotMode::Json).await?;
    let runtime = runtime(RuntimeConfig::default())?;
    bot.fail_next(1, 502);
    let agent = agent_of(AgentKind::Http, json!({"url": bot.url()}));
    let error = run(&runtime, &agent, "hi").await.0.expect_err("502");
    assert_eq!(error.code(), "bot_unavailable");
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::ZERO));
    assert_eq!(run(&runtime, &agent, "hi").await.0?, "bot: hi");
    assert!(
        bot.requests()[1]
            .header("x-switchboard-signature")
            .is_none(),
        "unsigned without a secret"
    );
    let unusable = agent_of(AgentKind::Http, json!({"url": "ftp://bot"}));
    assert!(matches!(
        run(&runtime, &unusable, "hi").await.0,
        Err(AgentError::InvalidConfig { field, .. }) if field == "url"
    ));
    Ok(())
}
