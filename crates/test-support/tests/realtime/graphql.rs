//! GraphQL subscriptions over WebSocket on `/graphql`, in both protocols: the same streams as
//! `/ws` with the same offsets, resume with `since`, isolation, and each close code.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_test_support::pipeline::{created, start};
use switchboard_test_support::{
    Credential, TestApp, TestDatabase, WsClient, WsClosed, backend_tests,
};
use tokio_util::sync::CancellationToken;

use crate::{converse, kinds, offsets};

backend_tests!(
    subscriptions_follow_the_streams_and_resume_with_since,
    the_legacy_protocol_follows_the_streams_too,
    refused_messages_close_with_the_protocols_codes,
    a_query_on_the_socket_reads_what_a_list_asks_of_its_items,
);

const ITEM: &str = "kind stream epoch offset recovered event";

fn graphql_url(app: &TestApp) -> String {
    app.url("/graphql").replacen("http://", "ws://", 1)
}

/// A `graphql-transport-ws` connection, acknowledged with the admin's token.
async fn connect(app: &TestApp, protocol: &str) -> anyhow::Result<WsClient> {
    let mut client = WsClient::connect_with(&graphql_url(app), None, Some(protocol)).await?;
    client
        .send(json!({"type": "connection_init", "payload": {"token": app.admin_token}}))
        .await?;
    client.until("connection_ack").await?;
    Ok(client)
}

async fn subscribe(
    client: &mut WsClient,
    kind: &str,
    id: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<()> {
    client
        .send(json!({"type": kind, "id": id, "payload": {"query": query, "variables": variables}}))
        .await
}

/// The next `count` items of the operation `id` (results of others are skipped).
async fn items(
    client: &mut WsClient,
    id: &str,
    field: &str,
    count: usize,
) -> anyhow::Result<Vec<Value>> {
    let mut items = Vec::new();
    while items.len() < count {
        let message = client.next().await?;
        match message["type"].as_str() {
            Some("next" | "data") if message["id"] == id => {
                anyhow::ensure!(message["payload"]["errors"].is_null(), "{message}");
                items.push(message["payload"]["data"][field].clone());
            }
            Some("next" | "data" | "ping" | "ka") => {}
            _ => anyhow::bail!("expected an item of {id}, got {message}"),
        }
    }
    Ok(items)
}

/// A query on the socket runs without loaders of its own: each conversation's contact, channel
/// and participants are read one at a time there, and answer as over HTTP.
async fn a_query_on_the_socket_reads_what_a_list_asks_of_its_items(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let app = &pipeline.app;
    converse(&pipeline, "wamid.gql-list", "hello list").await?;
    let mut client = connect(app, "graphql-transport-ws").await?;
    let list = "{ conversations { edges { node {
        contact { name } channel { name } participants { kind } lastMessage { text } } } } }";
    subscribe(&mut client, "subscribe", "list", list, json!({})).await?;
    let answer = items(&mut client, "list", "conversations", 1).await?;
    let node = &answer[0]["edges"][0]["node"];
    assert_eq!(node["contact"]["name"], "Contact 972500000001", "{node}");
    assert_eq!(node["channel"]["name"], "WhatsApp", "{node}");
    assert_eq!(node["participants"][0]["kind"], "contact", "{node}");
    assert_eq!(node["lastMessage"]["text"], "hello list", "{node}");
    Ok(())
}

async fn subscriptions_follow_the_streams_and_resume_with_since(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let app = &pipeline.app;
    let mut client = connect(app, "graphql-transport-ws").await?;
    let tenant = format!("subscription {{ tenantEvents {{ {ITEM} }} }}");
    subscribe(&mut client, "subscribe", "tenant", &tenant, json!({})).await?;
    let subscribed = items(&mut client, "tenant", "tenantEvents", 1).await?;
    assert_eq!(subscribed[0]["kind"], "SUBSCRIBED", "{subscribed:?}");
    assert_eq!(subscribed[0]["recovered"], true);

    converse(&pipeline, "wamid.gql-1", "hello graphql").await?;
    // The inbound message, three run events, the reply, its `sent` status.
    let seen = items(&mut client, "tenant", "tenantEvents", 6).await?;
    assert_eq!(offsets(&seen), (1..=6).collect::<Vec<_>>());
    let stream_of = |prefix: &str| {
        seen.iter()
            .find_map(|item| {
                item["event"]["stream"]
                    .as_str()
                    .filter(|stream| stream.starts_with(prefix))
            })
            .unwrap_or_default()
            .to_owned()
    };
    let run_id = stream_of("run:").trim_start_matches("run:").to_owned();
    let conversation_id = stream_of("conversation:")
        .trim_start_matches("conversation:")
        .to_owned();

    // A client that saw only the run's first event gets the other two, no more.
    let run = format!(
        "subscription($id: ID!, $since: StreamPosition) {{ runEvents(runId: $id, since: $since) {{ {ITEM} }} }}"
    );
    let since = json!({"epoch": "durable", "offset": 1});
    subscribe(
        &mut client,
        "subscribe",
        "run",
        &run,
        json!({"id": run_id, "since": since}),
    )
    .await?;
    let run_items = items(&mut client, "run", "runEvents", 3).await?;
    assert_eq!(run_items[0]["kind"], "SUBSCRIBED");
    assert_eq!(run_items[0]["recovered"], true);
    assert_eq!(run_items[0]["offset"], 3);
    assert_eq!(offsets(&run_items[1..]), [2, 3]);
    assert_eq!(
        kinds(&run_items[1..]),
        ["agent_thinking", "agent_completed"]
    );
    assert_eq!(run_items[2]["event"]["text"], "hello graphql");
    assert_eq!(run_items[2]["stream"], format!("run:{run_id}"));

    // The conversation from its start, then live; the offsets are those `/ws` gives.
    let conversation = format!(
        "subscription($id: ID!, $since: StreamPosition) {{ conversationEvents(conversationId: $id, since: $since) {{ {ITEM} }} }}"
    );
    let since = json!({"epoch": "durable", "offset": 0});
    let variables = json!({"id": conversation_id, "since": since});
    subscribe(
        &mut client,
        "subscribe",
        "conversation",
        &conversation,
        variables,
    )
    .await?;
    let history = items(&mut client, "conversation", "conversationEvents", 4).await?;
    assert_eq!(history[0]["offset"], 3);
    assert_eq!(offsets(&history[1..]), [1, 2, 3]);
    assert_eq!(
        kinds(&history[1..]),
        ["message_created", "message_created", "message_status"]
    );
    let mut watcher = WsClient::connect(
        &app.url("/ws").replacen("http://", "ws://", 1),
        Some(&app.admin_token),
    )
    .await?;
    watcher.until("authenticated").await?;
    let since = json!({"epoch": "durable", "offset": 0});
    watcher
        .subscribe(&format!("conversation:{conversation_id}"), Some(since))
        .await?;
    let over_ws = watcher.events(3).await?;
    for (item, frame) in history[1..].iter().zip(&over_ws) {
        assert_eq!(item["offset"], frame["offset"]);
        assert_eq!(item["epoch"], frame["epoch"]);
        assert_eq!(item["event"], frame["event"]);
    }

    // Completed, the conversation's subscription says nothing more; the others go on, and a
    // query on the same socket is answered once.
    client
        .send(json!({"type": "complete", "id": "conversation"}))
        .await?;
    client
        .send(json!({"type": "complete", "id": "run"}))
        .await?;
    converse(&pipeline, "wamid.gql-2", "and again").await?;
    let live = items(&mut client, "tenant", "tenantEvents", 6).await?;
    assert_eq!(offsets(&live), (7..=12).collect::<Vec<_>>());
    subscribe(
        &mut client,
        "subscribe",
        "me",
        "{ me { username } }",
        json!({}),
    )
    .await?;
    let (before, answer) = client.until("next").await?;
    assert!(
        before.iter().all(|message| message["type"] == "ping"),
        "{before:?}"
    );
    assert_eq!(
        answer["id"], "me",
        "the completed operations sent nothing: {answer}"
    );
    assert_eq!(answer["payload"]["data"]["me"]["username"], "admin");
    let (_, complete) = client.until("complete").await?;
    assert_eq!(complete["id"], "me");

    // A resume from the last item held after a reconnect gets exactly what was missed.
    drop(client);
    converse(&pipeline, "wamid.gql-3", "while away").await?;
    let mut client = connect(app, "graphql-transport-ws").await?;
    let variables = json!({"id": conversation_id, "since": {"epoch": "durable", "offset": 6}});
    subscribe(&mut client, "subscribe", "back", &conversation, variables).await?;
    let missed = items(&mut client, "back", "conversationEvents", 4).await?;
    assert_eq!(missed[0]["recovered"], true);
    assert_eq!(offsets(&missed[1..]), [7, 8, 9]);
    Ok(())
}

async fn the_legacy_protocol_follows_the_streams_too(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let app = &pipeline.app;
    let mut client = WsClient::connect_with(&graphql_url(app), None, Some("graphql-ws")).await?;
    client
        .send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", app.admin_token)}}))
        .await?;
    client.until("connection_ack").await?;
    let tenant = format!("subscription {{ tenantEvents {{ {ITEM} }} }}");
    subscribe(&mut client, "start", "1", &tenant, json!({})).await?;
    let subscribed = items(&mut client, "1", "tenantEvents", 1).await?;
    assert_eq!(subscribed[0]["kind"], "SUBSCRIBED");
    converse(&pipeline, "wamid.legacy-1", "old school").await?;
    let seen = items(&mut client, "1", "tenantEvents", 6).await?;
    assert_eq!(offsets(&seen), (1..=6).collect::<Vec<_>>());
    client.send(json!({"type": "stop", "id": "1"})).await?;

    // Refused credentials: `connection_error`, then 4403.
    let mut refused = WsClient::connect_with(&graphql_url(app), None, Some("graphql-ws")).await?;
    refused
        .send(json!({"type": "connection_init", "payload": {"token": "not-a-token"}}))
        .await?;
    let (_, error) = refused.until("connection_error").await?;
    assert!(error["payload"]["message"].is_string(), "{error}");
    assert_eq!(closed(&mut refused).await?.code, 4403);
    Ok(())
}

/// How the server closed the connection (messages before the close are skipped).
async fn closed(client: &mut WsClient) -> anyhow::Result<WsClosed> {
    loop {
        if let Err(closed) = client.next_or_close().await? {
            return Ok(closed);
        }
    }
}

async fn refused_messages_close_with_the_protocols_codes(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(database, CancellationToken::new(), |config| {
        config.realtime.websocket_auth_timeout = Duration::from_millis(300);
        config.realtime.websocket_heartbeat = Duration::from_millis(200);
    })
    .await?;
    let url = graphql_url(&app);
    let fresh = || WsClient::connect_with(&url, None, Some("graphql-transport-ws"));
    let tenant = format!("subscription {{ tenantEvents {{ {ITEM} }} }}");

    // Without a GraphQL sub-protocol there is no upgrade.
    assert!(WsClient::connect_with(&url, None, None).await.is_err());

    let mut client = fresh().await?;
    client.send(json!({"type": "no_such_message"})).await?;
    assert_eq!(
        closed(&mut client).await?.code,
        4400,
        "not a protocol message"
    );

    let mut client = fresh().await?;
    subscribe(&mut client, "subscribe", "1", &tenant, json!({})).await?;
    assert_eq!(
        closed(&mut client).await?.code,
        4401,
        "subscribe before ack"
    );

    let mut client = fresh().await?;
    client
        .send(json!({"type": "connection_init", "payload": {"token": "expired-or-forged"}}))
        .await?;
    assert_eq!(closed(&mut client).await?.code, 4403, "bad credentials");

    let mut client = fresh().await?;
    client.send(json!({"type": "connection_init"})).await?;
    assert_eq!(
        closed(&mut client).await?.code,
        4403,
        "no credentials at all"
    );

    let mut client = fresh().await?;
    assert_eq!(
        closed(&mut client).await?.code,
        4408,
        "no connection_init in time"
    );

    let mut client = connect(&app, "graphql-transport-ws").await?;
    subscribe(&mut client, "subscribe", "1", &tenant, json!({})).await?;
    subscribe(&mut client, "subscribe", "1", &tenant, json!({})).await?;
    let ending = closed(&mut client).await?;
    assert_eq!(ending.code, 4409, "duplicate id: {ending:?}");

    let mut client = connect(&app, "graphql-transport-ws").await?;
    client
        .send(json!({"type": "connection_init", "payload": {"token": app.admin_token}}))
        .await?;
    assert_eq!(closed(&mut client).await?.code, 4429, "a second init");

    // The server pings; a ping is answered with a pong.
    let mut client = connect(&app, "graphql-transport-ws").await?;
    client.until("ping").await?;
    client
        .send(json!({"type": "ping", "payload": {"n": 1}}))
        .await?;
    let (_, pong) = client.until("pong").await?;
    assert_eq!(pong["payload"]["n"], 1);

    // Another tenant's conversation is not found; a bad query is an error; the connection
    // stays for both.
    let theirs = conversation_of_another_tenant(&app).await?;
    let query = format!(
        "subscription($id: ID!) {{ conversationEvents(conversationId: $id) {{ {ITEM} }} }}"
    );
    subscribe(&mut client, "subscribe", "x", &query, json!({"id": theirs})).await?;
    let (_, error) = client.until("error").await?;
    assert_eq!(error["id"], "x");
    assert_eq!(
        error["payload"][0]["extensions"]["code"], "not_found",
        "{error}"
    );
    subscribe(
        &mut client,
        "subscribe",
        "y",
        "subscription { nope }",
        json!({}),
    )
    .await?;
    let (_, error) = client.until("error").await?;
    assert_eq!(error["id"], "y");
    subscribe(
        &mut client,
        "subscribe",
        "z",
        "{ me { username } }",
        json!({}),
    )
    .await?;
    let (_, answer) = client.until("next").await?;
    assert_eq!(answer["payload"]["data"]["me"]["username"], "admin");
    Ok(())
}

/// A conversation of a new tenant, created by that tenant's admin.
async fn conversation_of_another_tenant(app: &TestApp) -> anyhow::Result<String> {
    let platform = app.admin();
    let tenant = created(
        app.post("/api/v1/tenants", &platform, json!({"name": "Other"}))
            .await?,
    )?;
    let admin = json!({"username": "other-admin", "password": "correct-horse-battery",
                       "role": "admin", "tenantId": tenant});
    created(app.post("/api/v1/users", &platform, admin).await?)?;
    let theirs = Credential::Bearer(app.login("other-admin", "correct-horse-battery").await?);
    let channel = json!({"kind": "api", "name": "App", "config": {"signingSecret": "s3cret"}});
    let channel = created(app.post("/api/v1/channels", &theirs, channel).await?)?;
    let contact = json!({"name": "Ada", "phone": "+15551230009"});
    let contact = created(app.post("/api/v1/contacts", &theirs, contact).await?)?;
    let conversation = json!({"channelId": channel, "contactId": contact});
    created(
        app.post("/api/v1/conversations", &theirs, conversation)
            .await?,
    )
}
