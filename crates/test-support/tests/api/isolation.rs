//! Tenant isolation: another tenant's ids answer 404 to every resource, and cannot be linked.

use reqwest::Method;
use serde_json::json;
use switchboard_test_support::{TestDatabase, backend_tests};

use crate::world::{created, error_code, fixture, start, user};

backend_tests!(another_tenants_ids_answer_not_found);

async fn another_tenants_ids_answer_not_found(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let platform = app.admin();
    let tenant_b = created(
        app.post("/api/v1/tenants", &platform, json!({"name": "Tenant B"}))
            .await?,
    )?;
    let (_, admin_b) = user(&app, &platform, "admin-b", "admin", Some(&tenant_b)).await?;
    let tenant_a = created(
        app.post("/api/v1/tenants", &platform, json!({"name": "Tenant A"}))
            .await?,
    )?;
    let (_, admin_a) = user(&app, &platform, "admin-a", "admin", Some(&tenant_a)).await?;

    let theirs = fixture(&app, &admin_b).await?;
    let message = app
        .post(
            &format!("/api/v1/conversations/{}/messages", theirs.conversation),
            &admin_b,
            json!({"text": "private"}),
        )
        .await?;
    let message_id = message.str("id");
    let (user_b, _) = user(&app, &admin_b, "agent-b", "agent", None).await?;
    let key_b = app
        .post("/api/v1/api-keys", &admin_b, json!({"name": "b"}))
        .await?
        .str("id");
    let participant_b = app
        .get(
            &format!("/api/v1/conversations/{}/participants", theirs.conversation),
            &admin_b,
        )
        .await?
        .body["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let conversation = format!("/api/v1/conversations/{}", theirs.conversation);

    let attempts: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/api/v1/tenants/{tenant_b}"), None),
        (Method::GET, format!("/api/v1/users/{user_b}"), None),
        (
            Method::PATCH,
            format!("/api/v1/users/{user_b}"),
            Some(json!({"role": "viewer"})),
        ),
        (Method::DELETE, format!("/api/v1/users/{user_b}"), None),
        (Method::DELETE, format!("/api/v1/api-keys/{key_b}"), None),
        (
            Method::GET,
            format!("/api/v1/channels/{}", theirs.channel),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/channels/{}", theirs.channel),
            Some(json!({"name": "mine"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/channels/{}", theirs.channel),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/agents/{}", theirs.agent),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/agents/{}", theirs.agent),
            Some(json!({"name": "mine"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/agents/{}", theirs.agent),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/contacts/{}", theirs.contact),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/contacts/{}", theirs.contact),
            Some(json!({"name": "mine"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/contacts/{}", theirs.contact),
            None,
        ),
        (Method::GET, conversation.clone(), None),
        (
            Method::PATCH,
            conversation.clone(),
            Some(json!({"status": "resolved"})),
        ),
        (Method::GET, format!("{conversation}/messages"), None),
        (
            Method::POST,
            format!("{conversation}/messages"),
            Some(json!({"text": "hello"})),
        ),
        (
            Method::POST,
            format!("{conversation}/read"),
            Some(json!({})),
        ),
        (Method::GET, format!("{conversation}/participants"), None),
        (
            Method::DELETE,
            format!("{conversation}/participants/{participant_b}"),
            None,
        ),
        (Method::GET, format!("/api/v1/messages/{message_id}"), None),
        (
            Method::DELETE,
            format!("/api/v1/messages/{message_id}"),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let reply = app.call(method.clone(), &path, &admin_a, body).await?;
        assert_eq!(
            reply.status, 404,
            "{method} {path} answered {}: {}",
            reply.status, reply.text
        );
        assert_eq!(error_code(&reply), "not_found");
    }

    // Their ids cannot be linked into our records either.
    let ours = fixture(&app, &admin_a).await?;
    let linked = app
        .post(
            "/api/v1/conversations",
            &admin_a,
            json!({"channelId": theirs.channel, "contactId": ours.contact}),
        )
        .await?;
    assert_eq!(linked.status, 422, "{}", linked.text);
    let linked = app
        .patch(
            &format!("/api/v1/channels/{}", ours.channel),
            &admin_a,
            json!({"agentId": theirs.agent}),
        )
        .await?;
    assert_eq!(linked.status, 422, "{}", linked.text);

    // Their data never shows up in our lists or search.
    let search = app
        .get("/api/v1/search/messages?q=private", &admin_a)
        .await?;
    assert_eq!(search.body["data"], json!([]));
    let conversations = app.get("/api/v1/conversations", &admin_a).await?;
    assert_eq!(conversations.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        conversations.body["data"][0]["id"],
        ours.conversation.as_str()
    );

    // Nothing of theirs changed.
    let still = app
        .get(&format!("/api/v1/messages/{message_id}"), &admin_b)
        .await?;
    assert_eq!(still.body["text"], "private");
    app.stop().await
}
