//! Bad input gets the right status and a JSON error, never a 500, and changes nothing.

use reqwest::Method;
use serde_json::json;
use switchboard_test_support::{Credential, JWT_SECRET, TestApp, TestDatabase, backend_tests};

use crate::world::{error_code, fixture, start};

backend_tests!(
    bad_requests_get_json_errors_and_change_nothing,
    oversize_bodies_get_413
);

/// Sends a raw body with a content type.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    credential: &Credential,
    content_type: &str,
    body: Vec<u8>,
) -> anyhow::Result<switchboard_test_support::Reply> {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Credential::Bearer(token) = credential {
        request = request.bearer_auth(token);
    }
    TestApp::reply(request.send().await?).await
}

fn token(expires_in: i64, secret: &str) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({"sub": uuid::Uuid::now_v7().to_string(), "tid": uuid::Uuid::now_v7().to_string(),
        "role": "platform-admin", "iat": now - 3600, "exp": now + expires_in});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap_or_default()
}

async fn bad_requests_get_json_errors_and_change_nothing(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let messages = format!("/api/v1/conversations/{}/messages", world.conversation);
    let json_type = "application/json";

    let cases: Vec<(u16, &str, switchboard_test_support::Reply)> = vec![
        (
            400,
            "bad_request",
            raw(
                &app,
                Method::POST,
                "/api/v1/contacts",
                &admin,
                json_type,
                b"{\"name\": ".to_vec(),
            )
            .await?,
        ),
        (
            415,
            "unsupported_media_type",
            raw(
                &app,
                Method::POST,
                "/api/v1/contacts",
                &admin,
                "text/plain",
                b"{}".to_vec(),
            )
            .await?,
        ),
        (
            422,
            "validation_failed",
            app.post("/api/v1/agents", &admin, json!({"name": 7, "kind": "echo"}))
                .await?,
        ),
        (
            422,
            "validation_failed",
            app.post("/api/v1/agents", &admin, json!({"kind": "echo"}))
                .await?,
        ),
        (
            422,
            "validation_failed",
            app.post(
                "/api/v1/agents",
                &admin,
                json!({"name": "x", "kind": "telepathy"}),
            )
            .await?,
        ),
        (
            422,
            "validation_failed",
            app.post("/api/v1/contacts", &admin, json!({"phone": "12"}))
                .await?,
        ),
        (
            422,
            "validation_failed",
            app.post("/api/v1/contacts", &admin, json!({"nickname": "typo"}))
                .await?,
        ),
        (
            422,
            "validation_failed",
            app.post(&messages, &admin, json!({"text": ""})).await?,
        ),
        (
            422,
            "validation_failed",
            app.post(
                "/api/v1/channels",
                &admin,
                json!({"kind": "twilio", "name": "x", "config": {"accountSid": "AC1"}}),
            )
            .await?,
        ),
        (
            422,
            "validation_failed",
            app.post(
                "/api/v1/credits/grants",
                &admin,
                json!({"amount": -5, "reason": "x", "idempotencyKey": "k"}),
            )
            .await?,
        ),
        (
            422,
            "validation_failed",
            app.post(
                "/admin/database/analyze-query",
                &admin,
                json!({"query": "DELETE FROM messages"}),
            )
            .await?,
        ),
        (
            404,
            "not_found",
            app.get("/api/v1/no-such-thing", &admin).await?,
        ),
        (
            404,
            "not_found",
            app.get(
                &format!("/api/v1/conversations/{}", uuid::Uuid::now_v7()),
                &admin,
            )
            .await?,
        ),
        (
            400,
            "bad_request",
            app.get("/api/v1/conversations/not-a-uuid", &admin).await?,
        ),
        (
            400,
            "bad_request",
            app.get("/api/v1/conversations?limit=many", &admin).await?,
        ),
        (
            400,
            "bad_request",
            app.get(&format!("{messages}?cursor=%25%25%25"), &admin)
                .await?,
        ),
        (
            400,
            "bad_request",
            app.get("/api/v1/search/messages?q=%22%2A%2A%22", &admin)
                .await?,
        ),
        (
            405,
            "method_not_allowed",
            app.call(Method::PUT, "/api/v1/contacts", &admin, Some(json!({})))
                .await?,
        ),
        (
            401,
            "unauthorized",
            app.get("/api/v1/contacts", &Credential::None).await?,
        ),
        (
            401,
            "unauthorized",
            app.get("/api/v1/contacts", &Credential::Bearer("not.a.jwt".into()))
                .await?,
        ),
        (
            401,
            "unauthorized",
            app.get(
                "/api/v1/contacts",
                &Credential::Bearer(token(-3600, JWT_SECRET)),
            )
            .await?,
        ),
        (
            401,
            "unauthorized",
            app.get(
                "/api/v1/contacts",
                &Credential::Bearer(token(3600, "some-other-secret-of-enough-length-000")),
            )
            .await?,
        ),
        (
            401,
            "unauthorized",
            app.get("/api/v1/contacts", &Credential::ApiKey("sb_nope".into()))
                .await?,
        ),
        (
            409,
            "conflict",
            app.delete(&format!("/api/v1/channels/{}", world.channel), &admin)
                .await?,
        ),
    ];
    for (status, code, reply) in &cases {
        assert_eq!(reply.status, *status, "expected {status}: {}", reply.text);
        assert_eq!(&error_code(reply), code, "{}", reply.text);
    }
    let expired = &cases[20].2;
    assert!(expired.text.contains("expired"), "{}", expired.text);
    let validation = &cases[5].2;
    assert_eq!(validation.body["error"]["details"]["field"], "phone");

    // None of it changed anything.
    let list = app.get(&messages, &admin).await?;
    assert_eq!(list.body["data"], json!([]));
    let contacts = app.get("/api/v1/contacts", &admin).await?;
    assert_eq!(contacts.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        app.get(&format!("/api/v1/channels/{}", world.channel), &admin)
            .await?
            .status,
        200
    );
    app.stop().await
}

async fn oversize_bodies_get_413(database: TestDatabase) -> anyhow::Result<()> {
    let app = start(database).await?;
    let admin = app.admin();
    let world = fixture(&app, &admin).await?;
    let Credential::Bearer(token) = &admin else {
        anyhow::bail!("bearer expected")
    };
    let messages = format!("/api/v1/conversations/{}/messages", world.conversation);
    let two_mib = serde_json::to_vec(&json!({"text": "x".repeat(2 * 1024 * 1024)}))?;
    let (status, body) = oversize_post(&app, &messages, token, two_mib).await?;
    assert_eq!(status, 413, "{}", &body[..body.len().min(300)]);
    let body: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(body["error"]["code"], "payload_too_large");
    let read = format!("/api/v1/conversations/{}/read", world.conversation);
    let (status, body) = oversize_post(&app, &read, token, vec![b' '; 2 * 1024 * 1024]).await?;
    assert_eq!(status, 413);
    assert!(body.contains("payload_too_large"), "{body}");
    assert_eq!(app.get(&messages, &admin).await?.body["data"], json!([]));
    app.stop().await
}

/// POSTs an oversize body over a plain socket. The server answers 413 as soon as it sees the
/// length and closes, often before the client has written everything; a regular HTTP client
/// then reports the broken pipe instead of the answer, so this one keeps reading regardless.
async fn oversize_post(
    app: &TestApp,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(app.address).await?;
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        app.address,
        body.len()
    );
    let sending = tokio::spawn(async move {
        // Write errors are expected once the server has answered and closed.
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&body).await;
    });
    let mut response = Vec::new();
    let _ = reader.read_to_end(&mut response).await;
    sending.abort();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
