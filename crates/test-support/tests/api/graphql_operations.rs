//! GraphQL beyond the inbox: keys, channels, agents, contacts, participants, runs with their
//! events, the queue and its dead letters, each checked against what REST says of the same
//! records.

use serde_json::{Value, json};
use switchboard_test_support::pipeline::{start, whatsapp_text};
use switchboard_test_support::{Credential, TestApp, TestDatabase, backend_tests};

use crate::graphql::graphql;

backend_tests!(
    setup_resources_are_created_and_listed,
    runs_queue_and_dead_letters_read_and_change_as_over_rest
);

/// Runs `query` as `credential`; the `data`, after checking there are no errors.
async fn data(
    app: &TestApp,
    credential: &Credential,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let reply = graphql(app, credential, query, variables).await?;
    anyhow::ensure!(reply["errors"].is_null(), "{reply}");
    Ok(reply["data"].clone())
}

/// The `field` of every node of a connection.
fn nodes<'v>(connection: &'v Value, field: &str) -> Vec<&'v Value> {
    connection["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|edge| &edge["node"][field]).collect())
        .unwrap_or_default()
}

async fn setup_resources_are_created_and_listed(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let (app, admin) = (&pipeline.app, &pipeline.admin);

    let agent = data(
        app,
        admin,
        r#"mutation { createAgent(name: "Scripted", kind: "echo", costPerRun: 2) { id name kind costPerRun } }"#,
        json!({}),
    )
    .await?;
    let agent = &agent["createAgent"];
    assert_eq!(agent["kind"], "echo");
    assert_eq!(agent["costPerRun"], 2);
    let channel = data(
        app,
        admin,
        r#"mutation($agent: ID!) { createChannel(kind: "api", name: "Widget", agentId: $agent, config: {signingSecret: "widget-secret"}) { channel { id kind agentId configuredSecrets } signingSecret } }"#,
        json!({"agent": agent["id"]}),
    )
    .await?;
    let channel = &channel["createChannel"]["channel"];
    assert_eq!(channel["agentId"], agent["id"]);
    assert_eq!(channel["configuredSecrets"], json!(["signingSecret"]));
    let contact = data(
        app,
        admin,
        r#"mutation { createContact(name: "Lin", phone: "+15550104242", externalId: "crm-42") { id phone externalId } }"#,
        json!({}),
    )
    .await?;
    let contact = &contact["createContact"];
    let key = data(
        app,
        admin,
        r#"mutation { createApiKey(name: "reports", role: "viewer") { apiKey { id name role prefix } key } }"#,
        json!({}),
    )
    .await?;
    let secret = key["createApiKey"]["key"].as_str().unwrap_or_default();
    assert!(!secret.is_empty(), "the key is shown once: {key}");

    // Listed as REST lists them; the key works and its role holds.
    let listed = data(
        app,
        admin,
        r#"{ agents { edges { node { id } } } channels { edges { node { id } } }
             contacts(externalId: "crm-42") { edges { node { id phone } } }
             apiKeys { edges { node { name role } } } }"#,
        json!({}),
    )
    .await?;
    assert!(nodes(&listed["agents"], "id").contains(&&agent["id"]));
    assert!(nodes(&listed["channels"], "id").contains(&&channel["id"]));
    assert_eq!(nodes(&listed["contacts"], "id"), [&contact["id"]]);
    assert!(nodes(&listed["apiKeys"], "name").contains(&&json!("reports")));
    let over_rest = app.get("/api/v1/agents", admin).await?;
    assert_eq!(
        over_rest.body["data"].as_array().map(Vec::len),
        listed["agents"]["edges"].as_array().map(Vec::len),
        "{}",
        over_rest.text
    );
    let viewer = Credential::ApiKey(secret.to_owned());
    let me = data(app, &viewer, "{ me { username } }", json!({})).await?;
    assert_eq!(me["me"]["username"], "admin");
    let create = r#"mutation { createContact(name: "No") { id } }"#;
    let refused = graphql(app, &viewer, create, json!({})).await?;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "forbidden",
        "{refused}"
    );

    // Participants come and go.
    let conversation = data(
        app,
        admin,
        "mutation($channel: ID!, $contact: ID!) { createConversation(channelId: $channel, contactId: $contact) { id } }",
        json!({"channel": channel["id"], "contact": contact["id"]}),
    )
    .await?;
    let conversation = &conversation["createConversation"]["id"];
    let added = data(
        app,
        admin,
        r#"mutation($id: ID!, $agent: ID!) { addParticipant(conversationId: $id, agentId: $agent, role: "bot") { id role } }"#,
        json!({"id": conversation, "agent": agent["id"]}),
    )
    .await?;
    let participant = &added["addParticipant"]["id"];
    let read = "query($id: ID!) { conversation(id: $id) { participants { id } } }";
    let before = data(app, admin, read, json!({"id": conversation})).await?;
    let ids = |read: &Value| read["conversation"]["participants"].clone();
    assert!(
        ids(&before)
            .as_array()
            .is_some_and(|all| all.iter().any(|one| &one["id"] == participant)),
        "{before}"
    );
    data(
        app,
        admin,
        "mutation($id: ID!, $participant: ID!) { removeParticipant(conversationId: $id, participantId: $participant) }",
        json!({"id": conversation, "participant": participant}),
    )
    .await?;
    let after = data(app, admin, read, json!({"id": conversation})).await?;
    assert!(
        ids(&after)
            .as_array()
            .is_some_and(|all| all.iter().all(|one| &one["id"] != participant)),
        "{after}"
    );
    Ok(())
}

async fn runs_queue_and_dead_letters_read_and_change_as_over_rest(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |config| config.queue.max_attempts = 1).await?;
    let (app, admin) = (&pipeline.app, &pipeline.admin);
    // One exchange answered, one whose reply the provider refuses: a dead letter.
    pipeline
        .whatsapp_webhook(&whatsapp_text("972500000070", "wamid.g-1", "hi"), None)
        .await?;
    pipeline.settle().await?;
    pipeline.provider.fail_next(1, 400, None);
    pipeline
        .whatsapp_webhook(&whatsapp_text("972500000070", "wamid.g-2", "refused"), None)
        .await?;
    pipeline.settle().await?;

    let conversation = pipeline.conversation().await?;
    let runs = pipeline.runs(&conversation).await?;
    let run_id = runs[0]["id"].as_str().unwrap_or_default();
    let run = data(
        app,
        admin,
        "query($id: ID!) { run(id: $id) { id status events } }",
        json!({"id": run_id}),
    )
    .await?;
    let events: Vec<&str> = run["run"]["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|event| event["type"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        events,
        ["agent_started", "agent_thinking", "agent_completed"],
        "{run}"
    );

    let queue = data(
        app,
        admin,
        "{ queueStats deadLetters { edges { node { id kind attempts lastError } } } }",
        json!({}),
    )
    .await?;
    let rest = app.get("/api/v1/queue/stats", admin).await?;
    assert_eq!(
        queue["queueStats"]["stored"], rest.body["stored"],
        "{queue} {}",
        rest.text
    );
    let dead = nodes(&queue["deadLetters"], "id");
    assert_eq!(dead.len(), 1, "{queue}");
    assert_eq!(nodes(&queue["deadLetters"], "kind"), [&json!("deliver")]);
    assert!(
        nodes(&queue["deadLetters"], "lastError")[0].is_string(),
        "{queue}"
    );
    let dead_id = dead[0].clone();

    let discarded = data(
        app,
        admin,
        "mutation($id: ID!) { discardDeadLetter(id: $id) }",
        json!({"id": dead_id}),
    )
    .await?;
    assert_eq!(discarded["discardDeadLetter"], true);
    let rest = app.get("/api/v1/dead-letters", admin).await?;
    assert_eq!(rest.body["data"], json!([]), "{}", rest.text);
    let discard = "mutation($id: ID!) { discardDeadLetter(id: $id) }";
    let again = graphql(app, admin, discard, json!({"id": dead_id})).await?;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "not_found",
        "{again}"
    );
    Ok(())
}
