//! An agent as a voice pipeline's LLM: `POST /v1/agents/{id}/chat/completions` answers as the
//! OpenAI API does, streamed or not, with the agent's own tools, authenticated by an API key as
//! a bearer token or `X-API-Key`, debited once per run; a call id ties the run to the call's
//! conversation; without one the run's events are on the tenant stream and only its debit is
//! kept. Refusals (key, agent, tenant, credits) have their status, streamed or not.

use serde_json::{Value, json};
use switchboard_test_support::fakes::{Behaviour, FakeModel, FakeVoice, ModelAnswer};
use switchboard_test_support::pipeline::{PATIENCE, created, start};
use switchboard_test_support::{Credential, TestApp, TestDatabase, WsClient, backend_tests};

backend_tests!(
    an_agent_answers_as_a_chat_completion_streamed_or_not,
    a_call_id_ties_the_run_to_the_call_and_credits_bound_it,
    without_a_call_the_run_is_on_the_tenant_stream_and_only_debited,
    refusals_have_their_status_streamed_or_not
);

async fn completion(
    app: &TestApp,
    agent: &str,
    auth: (&str, &str),
    body: Value,
) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .client
        .post(app.url(&format!("/v1/agents/{agent}/chat/completions")))
        .header(auth.0, auth.1)
        .json(&body)
        .send()
        .await?)
}

/// The `data:` payloads of a Server-Sent Events body.
fn data_lines(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|line| {
            line.strip_prefix("data: ")
                .or_else(|| line.strip_prefix("data:"))
        })
        .map(|data| data.trim().to_owned())
        .collect()
}

async fn an_agent_answers_as_a_chat_completion_streamed_or_not(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |_| {}).await?;
    let app = &pipeline.app;
    let model = FakeModel::spawn().await?;
    let agent = created(
        app.post(
            "/api/v1/agents",
            &pipeline.admin,
            json!({"name": "voice brain", "kind": "openai", "costPerRun": 2, "config": {
                "baseUrl": model.base_url(), "model": "fake-gpt", "tools": ["get_time"]}}),
        )
        .await?,
    )?;
    let key = app
        .post(
            "/api/v1/api-keys",
            &pipeline.admin,
            json!({"name": "voice pipeline"}),
        )
        .await?
        .str("key");
    let bearer = format!("Bearer {key}");

    model.answer([
        ModelAnswer::ToolCalls(vec![("get_time".into(), "{}".into())]),
        ModelAnswer::Text("It is noon.".into()),
    ]);
    let body = json!({"model": "gpt-voice", "messages": [
        {"role": "system", "content": "You are a phone agent."},
        {"role": "assistant", "content": "Hello, how can I help?"},
        {"role": "user", "content": [{"type": "text", "text": "What time is it?"}]}]});
    let answered = completion(app, &agent, ("authorization", &bearer), body.clone()).await?;
    assert_eq!(answered.status(), 200);
    let answered: Value = answered.json().await?;
    assert_eq!(answered["object"], "chat.completion");
    assert_eq!(answered["model"], "gpt-voice");
    assert_eq!(answered["choices"][0]["message"]["content"], "It is noon.");
    assert_eq!(answered["choices"][0]["finish_reason"], "stop");
    let requests = model.wait_for(2, PATIENCE).await?;
    let asked = &requests[0]["messages"];
    let said: Vec<&str> = asked
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|line| line["content"].as_str())
        .collect();
    assert!(said.contains(&"What time is it?"), "{asked}");
    assert!(said.contains(&"Hello, how can I help?"), "{asked}");
    assert!(
        !said.contains(&"You are a phone agent."),
        "the agent's prompt governs: {asked}"
    );
    assert_eq!(
        requests[1]["messages"]
            .as_array()
            .map(|lines| lines.iter().any(|line| line["role"] == "tool")),
        Some(true),
        "the tool ran"
    );
    assert_eq!(pipeline.balance().await?, 98, "one run, debited once");

    model.answer([ModelAnswer::Text("Streamed answer, in pieces.".into())]);
    let mut streamed = body;
    streamed["stream"] = json!(true);
    let response = completion(app, &agent, ("x-api-key", &key), streamed).await?;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"))
    );
    let lines = data_lines(&response.text().await?);
    assert_eq!(lines.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = lines[..lines.len() - 1]
        .iter()
        .map(|line| serde_json::from_str(line))
        .collect::<Result<_, _>>()?;
    let text: String = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Streamed answer, in pieces.");
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk["object"] == "chat.completion.chunk")
    );
    assert_eq!(
        chunks
            .last()
            .map(|chunk| chunk["choices"][0]["finish_reason"].clone()),
        Some(json!("stop"))
    );
    assert_eq!(pipeline.balance().await?, 96);

    let unsigned = app
        .client
        .post(app.url(&format!("/v1/agents/{agent}/chat/completions")))
        .json(&json!({"messages": []}))
        .send()
        .await?;
    assert_eq!(unsigned.status(), 401);
    let wrong = completion(
        app,
        &agent,
        ("authorization", "Bearer sb_nope_nope"),
        json!({"messages": []}),
    )
    .await?;
    assert_eq!(wrong.status(), 401);
    let unknown = uuid::Uuid::now_v7().to_string();
    let missing = completion(
        app,
        &unknown,
        ("authorization", &bearer),
        json!({"messages": []}),
    )
    .await?;
    assert_eq!(missing.status(), 404);
    Ok(())
}

async fn a_call_id_ties_the_run_to_the_call_and_credits_bound_it(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let app = &pipeline.app;
    let voice = FakeVoice::start("voice-token").await?;
    voice.set_default(Behaviour::Answer { seconds: 5 });
    let channel = created(
        app.post(
            "/api/v1/channels",
            &pipeline.admin,
            json!({"kind": "voice", "name": "Outbound", "config": {
                "accountSid": "AC0001", "authToken": "voice-token", "fromNumber": "+15550100000",
                "apiBaseUrl": voice.base_url(), "answerUrl": "https://voice.example/answer"}}),
        )
        .await?,
    )?;
    let call = created(
        app.post(
            "/api/v1/calls",
            &pipeline.admin,
            json!({"channelId": channel, "to": "+15550930001"}),
        )
        .await?,
    )?;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let conversation = loop {
        let placed = app
            .get(&format!("/api/v1/calls/{call}"), &pipeline.admin)
            .await?;
        if let Some(conversation) = placed.body["conversationId"].as_str() {
            break conversation.to_owned();
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "never dialled");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let key = app
        .post(
            "/api/v1/api-keys",
            &pipeline.admin,
            json!({"name": "voice pipeline"}),
        )
        .await?
        .str("key");
    let bearer = format!("Bearer {key}");
    let body = json!({"messages": [{"role": "user", "content": "I would like to renew"}],
        "metadata": {"call_id": call}});
    let answered = completion(app, &pipeline.agent, ("authorization", &bearer), body).await?;
    assert_eq!(answered.status(), 200);
    let answered: Value = answered.json().await?;
    assert_eq!(
        answered["choices"][0]["message"]["content"],
        "I would like to renew"
    );
    let runs = app
        .get(
            &format!("/api/v1/runs?conversationId={conversation}"),
            &pipeline.admin,
        )
        .await?;
    let run = &runs.body["data"][0];
    assert_eq!(
        run["conversationId"],
        conversation.as_str(),
        "{}",
        runs.text
    );
    let detail = app
        .get(
            &format!("/api/v1/runs/{}", run["id"].as_str().unwrap_or_default()),
            &pipeline.admin,
        )
        .await?;
    let kinds: Vec<&str> = detail.body["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|event| event["type"].as_str())
        .collect();
    assert_eq!(kinds.first(), Some(&"agent_started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"agent_completed"), "{kinds:?}");

    // An agent whose run costs more than the balance is refused, and nothing is debited.
    let dear = created(
        app.post(
            "/api/v1/agents",
            &pipeline.admin,
            json!({"name": "dear", "kind": "echo", "costPerRun": 1000}),
        )
        .await?,
    )?;
    let before = pipeline.balance().await?;
    let refused = completion(
        app,
        &dear,
        ("authorization", &bearer),
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .await?;
    assert_eq!(refused.status(), 402);
    let refused: Value = refused.json().await?;
    assert_eq!(
        refused["error"]["code"], "insufficient_credits",
        "{refused}"
    );
    assert_eq!(pipeline.balance().await?, before);
    let unknown_call =
        json!({"messages": [], "metadata": {"call_id": uuid::Uuid::now_v7().to_string()}});
    let missing = completion(
        app,
        &pipeline.agent,
        ("authorization", &bearer),
        unknown_call,
    )
    .await?;
    assert_eq!(missing.status(), 404);
    Ok(())
}

async fn api_key(app: &TestApp, admin: &Credential) -> anyhow::Result<String> {
    let created = app
        .post("/api/v1/api-keys", admin, json!({"name": "voice pipeline"}))
        .await?;
    anyhow::ensure!(created.status == 201, "{}", created.text);
    Ok(created.str("key"))
}

async fn without_a_call_the_run_is_on_the_tenant_stream_and_only_debited(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let app = &pipeline.app;
    let agent = created(
        app.post(
            "/api/v1/agents",
            &pipeline.admin,
            json!({"name": "priced", "kind": "echo", "costPerRun": 3}),
        )
        .await?,
    )?;
    let bearer = format!("Bearer {}", api_key(app, &pipeline.admin).await?);
    let url = app.url("/ws").replace("http", "ws");
    let mut watcher = WsClient::connect(&url, Some(&app.admin_token)).await?;
    watcher.until("authenticated").await?;
    watcher.subscribe("tenant", None).await?;

    let body = json!({"messages": [{"role": "user", "content": "Is anyone there?"}]});
    let answered = completion(app, &agent, ("authorization", &bearer), body).await?;
    assert_eq!(answered.status(), 200);
    let answered: Value = answered.json().await?;
    assert_eq!(
        answered["choices"][0]["message"]["content"],
        "Is anyone there?"
    );
    let run = answered["id"]
        .as_str()
        .and_then(|id| id.strip_prefix("chatcmpl-"))
        .unwrap_or_default()
        .to_owned();
    let source = format!("run:{run}");
    let mut kinds = Vec::new();
    while kinds.last().map(String::as_str) != Some("agent_completed") {
        let frame = watcher.events(1).await?.remove(0);
        if frame["event"]["stream"] == source.as_str()
            && let Some(kind) = frame["event"]["event"]["type"].as_str()
        {
            kinds.push(kind.to_owned());
        }
    }
    assert_eq!(kinds.first().map(String::as_str), Some("agent_started"));

    assert_eq!(pipeline.balance().await?, 7, "the run is debited once");
    let ledger = app.get("/api/v1/credits/ledger", &pipeline.admin).await?;
    let debits: Vec<&Value> = ledger.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["idempotencyKey"] == format!("completion:{run}").as_str())
        .collect();
    assert_eq!(debits.len(), 1, "{}", ledger.text);
    assert_eq!(debits[0]["amount"], -3);
    let runs = app.get("/api/v1/runs", &pipeline.admin).await?;
    assert_eq!(
        runs.body["data"],
        json!([]),
        "no conversation, no run record"
    );
    Ok(())
}

async fn refusals_have_their_status_streamed_or_not(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let app = &pipeline.app;
    let key = api_key(app, &pipeline.admin).await?;
    let dear = created(
        app.post(
            "/api/v1/agents",
            &pipeline.admin,
            json!({"name": "dear", "kind": "echo", "costPerRun": 1000}),
        )
        .await?,
    )?;
    let tenant = created(
        app.post("/api/v1/tenants", &pipeline.admin, json!({"name": "Other"}))
            .await?,
    )?;
    let user = json!({"username": "other-admin", "password": "correct-horse-battery",
        "role": "admin", "tenantId": tenant});
    created(app.post("/api/v1/users", &pipeline.admin, user).await?)?;
    let other = Credential::Bearer(app.login("other-admin", "correct-horse-battery").await?);
    let other_key = api_key(app, &other).await?;
    let unknown = uuid::Uuid::now_v7().to_string();

    let cases = [
        (
            &pipeline.agent,
            format!("Bearer {other_key}"),
            404,
            "another tenant's agent",
        ),
        (&unknown, format!("Bearer {key}"), 404, "an unknown agent"),
        (
            &dear,
            format!("Bearer {key}"),
            402,
            "a balance that cannot pay",
        ),
        (
            &pipeline.agent,
            "Bearer sb_wrong_key".to_owned(),
            401,
            "a wrong key",
        ),
    ];
    for stream in [false, true] {
        for (agent, bearer, status, case) in &cases {
            let body = json!({"stream": stream,
                "messages": [{"role": "user", "content": "hello"}]});
            let refused = completion(app, agent, ("authorization", bearer), body).await?;
            assert_eq!(refused.status(), *status, "{case}, stream: {stream}");
            let refused: Value = refused.json().await?;
            assert!(refused["error"]["message"].is_string(), "{case}: {refused}");
        }
        let wrong = app
            .client
            .post(app.url(&format!("/v1/agents/{}/chat/completions", pipeline.agent)))
            .header("x-api-key", "sb_wrong_key")
            .json(&json!({"stream": stream, "messages": []}))
            .send()
            .await?;
        assert_eq!(wrong.status(), 401, "a wrong X-API-Key, stream: {stream}");
    }
    assert_eq!(pipeline.balance().await?, 10, "nothing refused is debited");
    Ok(())
}
