//! Scripted agents and human handoff: rules answer with templates (the contact's name, regex
//! groups, an MCP tool's result); a rule that hands off sets the conversation `pending`, after
//! which the agent stays silent while operators' messages go out through the channel, until the
//! conversation is released.

use anyhow::Context as _;
use serde_json::json;
use switchboard_test_support::fakes::FakeMcp;
use switchboard_test_support::{Credential, TestDatabase, backend_tests};

use switchboard_test_support::pipeline::{events_of, start};

backend_tests!(a_scripted_flow_hands_off_to_a_human_and_back);

const CONTACT: &str = "972500000501";

async fn a_scripted_flow_hands_off_to_a_human_and_back(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 100, |_| {}).await?;
    let mcp = FakeMcp::spawn().await?;
    pipeline
        .use_agent(
            "scripted",
            json!({
                "rules": [
                    {"match": {"text": "hi"}, "reply": "Hello {{contact.name}}!"},
                    {"match": {"regex": "order #?(\\d+)"},
                     "tools": [{"name": "lookup_order", "arguments": {"orderId": "{{match.1}}"}}],
                     "reply": "Order {{match.1}} is {{tool.lookup_order.status}}."},
                    {"match": {"keywords": ["human", "person"]}, "handoff": true,
                     "reply": "Connecting you with a person."}
                ],
                "fallback": "Sorry, I did not get that.",
                "mcpServers": [{"name": "shop", "url": mcp.url()}]
            }),
            1,
        )
        .await?;
    for (n, text) in ["hi", "where is order #42?", "mumble", "a human please"]
        .iter()
        .enumerate()
    {
        pipeline
            .send(CONTACT, &format!("wamid.flow.{n}"), text)
            .await?;
    }
    pipeline.settle().await?;
    assert_eq!(
        pipeline.sent_texts(),
        [
            "Hello Contact 972500000501!",
            "Order 42 is shipped.",
            "Sorry, I did not get that.",
            "Connecting you with a person."
        ]
    );
    let conversation = pipeline.conversation().await?;
    let path = format!("/api/v1/conversations/{conversation}");
    assert_eq!(
        pipeline.app.get(&path, &pipeline.admin).await?.body["status"],
        "pending"
    );
    let runs = pipeline.runs(&conversation).await?;
    let handoff = events_of(&runs[3], "tool_completed");
    assert_eq!(handoff.len(), 1);
    assert_eq!(handoff[0]["tool"], "handoff_to_human");

    // With a human in charge the agent is silent, but messages are still stored and answered
    // entries acknowledged; an operator's message goes out through the channel.
    pipeline.send(CONTACT, "wamid.flow.4", "hello?").await?;
    pipeline.settle().await?;
    let operator = pipeline
        .app
        .post(
            &format!("{path}/messages"),
            &pipeline.admin,
            json!({"text": "Dana here, how can I help?"}),
        )
        .await?;
    assert_eq!(operator.status, 201, "{}", operator.text);
    pipeline.settle().await?;
    assert_eq!(pipeline.sent_texts().len(), 5);
    assert_eq!(pipeline.sent_texts()[4], "Dana here, how can I help?");
    let messages = pipeline.messages(&conversation).await?;
    let silent = messages
        .iter()
        .find(|message| message["text"] == "hello?")
        .map(|message| message["status"].clone());
    assert_eq!(silent, Some(json!("processed")));
    let sent = messages
        .iter()
        .find(|message| message["text"] == "Dana here, how can I help?")
        .map(|message| message["status"].clone());
    assert_eq!(sent, Some(json!("sent")));
    assert_eq!(
        pipeline.balance().await?,
        100 - 4,
        "no run, no debit, while handed off"
    );

    // Released, the agent answers again; an operator can also take it over explicitly.
    let released = pipeline
        .app
        .post(&format!("{path}/release"), &pipeline.admin, json!({}))
        .await?;
    assert_eq!(released.body["status"], "open", "{}", released.text);
    pipeline.send(CONTACT, "wamid.flow.5", "hi").await?;
    pipeline.settle().await?;
    assert_eq!(
        pipeline.sent_texts().last().map(String::as_str),
        Some("Hello Contact 972500000501!")
    );
    let taken = pipeline
        .app
        .post(&format!("{path}/handoff"), &pipeline.admin, json!({}))
        .await?;
    assert_eq!(taken.body["status"], "pending", "{}", taken.text);
    pipeline.send(CONTACT, "wamid.flow.6", "hi").await?;
    pipeline.settle().await?;
    assert_eq!(pipeline.sent_texts().len(), 6, "silent again");

    // Reading a conversation joins a user as an observer; handing it to them makes them its
    // operator.
    let operator = pipeline
        .app
        .post(
            "/api/v1/users",
            &pipeline.admin,
            json!({"username": "ada", "password": "correct-horse-battery", "role": "agent"}),
        )
        .await?;
    assert_eq!(operator.status, 201, "{}", operator.text);
    let operator_id = operator.body["id"]
        .as_str()
        .context("a user id")?
        .to_owned();
    let ada = Credential::Bearer(pipeline.app.login("ada", "correct-horse-battery").await?);
    let read = pipeline
        .app
        .post(&format!("{path}/read"), &ada, json!({}))
        .await?;
    assert!(read.status < 300, "{}", read.text);
    let role_of_operator = || async {
        let participants = pipeline
            .app
            .get(&format!("{path}/participants"), &pipeline.admin)
            .await?;
        anyhow::Ok(
            participants.body["data"]
                .as_array()
                .and_then(|all| all.iter().find(|one| one["userId"] == operator_id.as_str()))
                .map(|one| one["role"].clone()),
        )
    };
    assert_eq!(role_of_operator().await?, Some(json!("observer")));
    let assigned = pipeline
        .app
        .post(
            &format!("{path}/handoff"),
            &pipeline.admin,
            json!({"assigneeId": operator_id}),
        )
        .await?;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    assert_eq!(role_of_operator().await?, Some(json!("operator")));
    pipeline.app.stop().await
}
