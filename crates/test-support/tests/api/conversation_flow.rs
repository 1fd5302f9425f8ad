//! The flow an operator or app follows: channel → contact → conversation → messages → list →
//! search → read marker → unread count, with a token and with an API key.

use serde_json::json;
use switchboard_test_support::{Credential, TestDatabase, backend_tests};

use crate::world::{created, fixture, start, user};

backend_tests!(
    messages_list_search_and_unread_counts_with_token_and_api_key,
    secrets_are_never_returned,
    a_repeated_idempotency_key_posts_once
);

async fn messages_list_search_and_unread_counts_with_token_and_api_key(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let conversation = format!("/api/v1/conversations/{}", world.conversation);

    let texts = [
        "Where is my parcel?",
        "It left the depot this morning",
        "Thanks, the parcel arrived",
    ];
    for (index, text) in texts.iter().enumerate() {
        let reply = app
            .post(
                &format!("{conversation}/messages"),
                &admin,
                json!({"text": text}),
            )
            .await?;
        assert_eq!(reply.status, 201, "{}", reply.text);
        assert_eq!(reply.body["seq"], index + 1);
        assert_eq!(reply.body["direction"], "outbound");
    }

    // Newest first by default, two per page, cursor to the rest.
    let first = app
        .get(&format!("{conversation}/messages?limit=2"), &admin)
        .await?;
    assert_eq!(first.status, 200, "{}", first.text);
    let seqs: Vec<_> = first.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["seq"].clone())
        .collect();
    assert_eq!(seqs, [json!(3), json!(2)]);
    let cursor = first.str("nextCursor");
    let rest = app
        .get(
            &format!("{conversation}/messages?limit=2&cursor={cursor}"),
            &admin,
        )
        .await?;
    assert_eq!(rest.body["data"][0]["seq"], 1);
    assert!(rest.body["nextCursor"].is_null());
    let forward = app
        .get(&format!("{conversation}/messages?order=asc"), &admin)
        .await?;
    assert_eq!(forward.body["data"][0]["text"], texts[0]);

    let search = app.get("/api/v1/search/messages?q=parcel", &admin).await?;
    assert_eq!(search.status, 200, "{}", search.text);
    let found: Vec<_> = search.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|hit| hit["message"]["seq"].clone())
        .collect();
    assert_eq!(found.len(), 2, "{}", search.text);
    assert!(found.contains(&json!(1)) && found.contains(&json!(3)));

    // The author has read their own messages; a second operator has read nothing.
    let list = app.get("/api/v1/conversations", &admin).await?;
    assert_eq!(list.body["data"][0]["unreadCount"], 0);
    assert_eq!(list.body["data"][0]["lastMessage"]["text"], texts[2]);
    let (_, operator) = user(&app, &admin, "operator-1", "agent", None).await?;
    let list = app.get("/api/v1/conversations", &operator).await?;
    assert_eq!(list.body["data"][0]["unreadCount"], 3);

    let read = app
        .post(
            &format!("{conversation}/read"),
            &operator,
            json!({"seq": 2}),
        )
        .await?;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["lastReadSeq"], 2);
    assert_eq!(
        app.get(&conversation, &operator).await?.body["unreadCount"],
        1
    );

    // An API key acts for the operator who created it: same read marker, same unread count.
    let key = app
        .post(
            "/api/v1/api-keys",
            &operator,
            json!({"name": "operator's script"}),
        )
        .await?;
    assert_eq!(key.status, 201, "{}", key.text);
    let api_key = Credential::ApiKey(key.str("key"));
    assert_eq!(
        app.get(&conversation, &api_key).await?.body["unreadCount"],
        1
    );
    let reply = app
        .post(
            &format!("{conversation}/messages"),
            &api_key,
            json!({"text": "Glad it arrived"}),
        )
        .await?;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(
        app.get(&conversation, &api_key).await?.body["unreadCount"],
        0
    );
    let mark_all = app
        .call(
            reqwest::Method::POST,
            &format!("{conversation}/read"),
            &api_key,
            None,
        )
        .await?;
    assert_eq!(mark_all.body["lastReadSeq"], 4);
    let search = app
        .get(
            &format!(
                "/api/v1/search/messages?q=arrived&conversationId={}",
                world.conversation
            ),
            &api_key,
        )
        .await?;
    assert_eq!(
        search.body["data"].as_array().map(Vec::len),
        Some(2),
        "{}",
        search.text
    );

    // Soft delete keeps the seq and hides the content everywhere.
    let deleted_id = first.body["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let deleted = app
        .delete(&format!("/api/v1/messages/{deleted_id}"), &admin)
        .await?;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert!(deleted.body["text"].is_null() && deleted.body["deletedAt"].is_string());
    let search = app.get("/api/v1/search/messages?q=parcel", &admin).await?;
    assert_eq!(
        search.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        search.text
    );

    // Filters.
    let resolved = app
        .patch(&conversation, &admin, json!({"status": "resolved"}))
        .await?;
    assert_eq!(resolved.body["status"], "resolved");
    let open = app.get("/api/v1/conversations?status=open", &admin).await?;
    assert_eq!(open.body["data"].as_array().map(Vec::len), Some(0));
    let by_channel = app
        .get(
            &format!(
                "/api/v1/conversations?status=resolved&channelId={}",
                world.channel
            ),
            &admin,
        )
        .await?;
    assert_eq!(by_channel.body["data"].as_array().map(Vec::len), Some(1));
    let future = app
        .get(
            "/api/v1/conversations?updatedSince=2999-01-01T00:00:00Z",
            &admin,
        )
        .await?;
    assert_eq!(future.body["data"].as_array().map(Vec::len), Some(0));

    // A business conversation needs its businessId, and is found by it.
    let business = created(
        app.post(
            "/api/v1/conversations",
            &admin,
            json!({"channelId": world.channel, "contactId": world.contact, "type": "business", "businessId": "store-7"}),
        )
        .await?,
    )?;
    let by_business = app
        .get(
            "/api/v1/conversations?type=business&businessId=store-7",
            &admin,
        )
        .await?;
    assert_eq!(by_business.body["data"][0]["id"], business.as_str());
    let participants = app
        .get(&format!("{conversation}/participants"), &admin)
        .await?;
    assert_eq!(
        participants.body["data"].as_array().map(Vec::len),
        Some(3),
        "{}",
        participants.text
    );
    app.stop().await
}

async fn secrets_are_never_returned(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let channel = app
        .post(
            "/api/v1/channels",
            &admin,
            json!({"kind": "whatsapp", "name": "WA", "config": {
                "phoneNumberId": "1055", "appSecret": "app-secret-value", "verifyToken": "verify-value",
                "accessToken": "access-value"}}),
        )
        .await?;
    assert_eq!(channel.status, 201, "{}", channel.text);
    let id = channel.str("id");
    let patched = app
        .patch(
            &format!("/api/v1/channels/{id}"),
            &admin,
            json!({"config": {"phoneNumberId": "2066"}}),
        )
        .await?;
    let listed = app.get("/api/v1/channels", &admin).await?;
    for reply in [&channel, &patched, &listed] {
        for secret in ["app-secret-value", "verify-value", "access-value"] {
            assert!(
                !reply.text.contains(secret),
                "secret leaked: {}",
                reply.text
            );
        }
    }
    assert_eq!(patched.body["config"]["phoneNumberId"], "2066");
    assert_eq!(
        patched.body["configuredSecrets"],
        json!(["appSecret", "verifyToken", "accessToken"])
    );

    let agent = app
        .post("/api/v1/agents", &admin, json!({"name": "GPT", "kind": "openai", "config": {"model": "m", "apiKey": "sk-hidden"}}))
        .await?;
    assert_eq!(agent.status, 201, "{}", agent.text);
    assert!(!agent.text.contains("sk-hidden"), "{}", agent.text);
    assert_eq!(agent.body["configuredSecrets"], json!(["apiKey"]));
    app.stop().await
}

/// Posts sent at once with one idempotency key store one message; the others answer it.
async fn a_repeated_idempotency_key_posts_once(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let path = format!("/api/v1/conversations/{}/messages", world.conversation);
    let body = json!({"text": "once only", "idempotencyKey": "retry-safe"});
    let posts = (0..8).map(|_| app.post(&path, &admin, body.clone()));
    let replies = futures::future::try_join_all(posts).await?;
    let mut statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 200, 200, 201],
        "one post stores it"
    );
    assert!(
        replies
            .iter()
            .all(|reply| reply.body["id"] == replies[0].body["id"])
    );

    let other = json!({"text": "something else", "idempotencyKey": "retry-safe"});
    assert_eq!(app.post(&path, &admin, other).await?.status, 409);
    let listed = app.get(&format!("{path}?limit=10"), &admin).await?;
    assert_eq!(
        listed.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.text
    );
    app.stop().await
}
