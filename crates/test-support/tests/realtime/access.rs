//! Who may connect and what they see: credentials, close codes, tenants, and members who see
//! only their own conversations.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_test_support::{Credential, TestApp, TestDatabase, WsClient, backend_tests};
use tokio_util::sync::CancellationToken;

use crate::{app_with_channel, ws_url};
use switchboard_test_support::pipeline::created;

backend_tests!(
    credentials_are_required_and_bad_frames_close_the_connection,
    thirty_members_each_see_only_their_own_conversations,
);

async fn credentials_are_required_and_bad_frames_close_the_connection(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(database, CancellationToken::new(), |config| {
        config.realtime.websocket_auth_timeout = Duration::from_secs(1);
    })
    .await?;
    let url = ws_url(&app);

    let mut silent = WsClient::connect(&url, None).await?;
    let closed = silent.next_or_close().await?.err();
    assert_eq!(
        closed.map(|closed| closed.code),
        Some(4401),
        "no auth frame in time"
    );

    let mut forged = WsClient::connect(&url, Some("not-a-token")).await?;
    assert_eq!(
        forged
            .next_or_close()
            .await?
            .err()
            .map(|closed| closed.code),
        Some(4401)
    );

    // Credentials in a first frame (browsers), then a frame that is not protocol.
    let mut browser = WsClient::connect(&url, None).await?;
    browser
        .send(json!({"type": "auth", "token": app.admin_token}))
        .await?;
    browser.until("authenticated").await?;
    browser
        .send(json!({"type": "subscribe", "stream": "nonsense"}))
        .await?;
    let error = browser.next().await?;
    assert_eq!(
        (error["type"].as_str(), error["code"].as_str()),
        (Some("error"), Some("bad_request"))
    );
    browser
        .send(json!({"type": "launch", "what": "rockets"}))
        .await?;
    // The client is told why before the connection closes.
    let explained = browser.next().await?;
    assert_eq!(
        (explained["type"].as_str(), explained["code"].as_str()),
        (Some("error"), Some("bad_frame"))
    );
    let closed = browser.next_or_close().await?.err();
    assert_eq!(closed.map(|closed| closed.code), Some(4400));

    let mut watcher = WsClient::connect(&url, Some(&app.admin_token)).await?;
    watcher.until("authenticated").await?;
    watcher.subscribe("broadcast:health", None).await?;
    let health = app.get("/ws/health", &app.admin()).await?;
    assert_eq!(health.status, 200);
    assert!(
        health.body["connections"].as_u64() >= Some(1),
        "{}",
        health.text
    );
    assert!(
        health.body["subscriptions"].as_u64() >= Some(1),
        "{}",
        health.text
    );
    Ok(())
}

struct Member {
    token: String,
    conversation: String,
}

async fn thirty_members_each_see_only_their_own_conversations(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let (app, channel) = app_with_channel(database).await?;
    let admin = app.admin();
    let mut members = Vec::new();
    for index in 0..30 {
        let username = format!("member-{index}");
        let password = "member-password-1";
        let user = created(
            app.post(
                "/api/v1/users",
                &admin,
                json!({"username": username, "password": password, "role": "member"}),
            )
            .await?,
        )?;
        let contact = created(
            app.post(
                "/api/v1/contacts",
                &admin,
                json!({"name": format!("contact {index}")}),
            )
            .await?,
        )?;
        let conversation = created(
            app.post(
                "/api/v1/conversations",
                &admin,
                json!({"channelId": channel, "contactId": contact}),
            )
            .await?,
        )?;
        let participants = format!("/api/v1/conversations/{conversation}/participants");
        created(
            app.post(&participants, &admin, json!({"userId": user}))
                .await?,
        )?;
        members.push(Member {
            token: app.login(&username, password).await?,
            conversation,
        });
    }

    let mut clients = Vec::new();
    for (index, member) in members.iter().enumerate() {
        let mut client = WsClient::connect(&ws_url(&app), Some(&member.token)).await?;
        client.until("authenticated").await?;
        let other = &members[(index + 1) % members.len()].conversation;
        client
            .send(json!({"type": "subscribe", "stream": format!("conversation:{other}")}))
            .await?;
        let refused = client.next().await?;
        assert_eq!(
            refused["code"], "not_found",
            "another member's conversation is hidden"
        );
        client.subscribe("tenant", None).await?;
        client
            .subscribe(&format!("conversation:{}", member.conversation), None)
            .await?;
        clients.push(client);
    }

    for member in &members {
        let path = format!("/api/v1/conversations/{}/messages", member.conversation);
        let reply = app
            .post(&path, &admin, json!({"text": "hello member"}))
            .await?;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }

    // Each sees its own message twice (its conversation's stream and the tenant's), perhaps its
    // delivery's status in between (streams interleave), and nothing of the 29 others before the
    // pong.
    let tasks: Vec<_> = clients
        .into_iter()
        .zip(members.iter().map(|member| member.conversation.clone()))
        .map(|(mut client, own)| {
            tokio::spawn(async move {
                let own_stream = format!("conversation:{own}");
                let mut messages_seen = 0;
                while messages_seen < 2 {
                    let event = &client.events(1).await?[0];
                    let (source, inner) = origin(event);
                    anyhow::ensure!(
                        source == own_stream.as_str(),
                        "saw another's event: {event}"
                    );
                    if !inner["message"].is_null() {
                        anyhow::ensure!(
                            inner["message"]["conversationId"] == own.as_str(),
                            "{event}"
                        );
                        messages_seen += 1;
                    }
                }
                client.send(json!({"type": "ping"})).await?;
                let (extra, _) = client.until("pong").await?;
                for event in &extra {
                    anyhow::ensure!(
                        origin(event).0 == own_stream.as_str(),
                        "saw another's event: {event}"
                    );
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }

    // Over REST too, a member reaches only their own conversations.
    let first = Credential::Bearer(members[0].token.clone());
    let own = format!("/api/v1/conversations/{}/messages", members[0].conversation);
    let other = format!("/api/v1/conversations/{}/messages", members[1].conversation);
    assert_eq!(app.get(&own, &first).await?.status, 200);
    assert_eq!(app.get(&other, &first).await?.status, 404);
    let listed = app.get("/api/v1/conversations", &first).await?;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1));
    let hello = json!({"text": "hello from a member"});
    assert_eq!(app.post(&own, &first, hello.clone()).await?.status, 201);
    assert_eq!(app.post(&other, &first, hello).await?.status, 404);
    // Members talk; staff manage: status, participants and contacts are not theirs to change.
    let status = json!({"status": "resolved"});
    let own_conversation = format!("/api/v1/conversations/{}", members[0].conversation);
    assert_eq!(
        app.patch(&own_conversation, &first, status).await?.status,
        403
    );
    assert_eq!(app.get("/api/v1/contacts", &first).await?.status, 403);
    Ok(())
}

/// The conversation stream an event frame came from and its payload, whether it arrived on that
/// stream or relayed through the tenant's.
fn origin(frame: &Value) -> (&Value, &Value) {
    if frame["stream"] == "tenant" {
        (&frame["event"]["stream"], &frame["event"]["event"])
    } else {
        (&frame["stream"], &frame["event"])
    }
}
