//! The other channels end to end: the API channel (signed, replay-protected, replies to the
//! app's callback), Twilio SMS (URL-signed form, TwiML answer, status callbacks) and Telegram
//! (secret token, retry_after honoured).

use serde_json::json;
use switchboard_channels::{api_channel, twilio};
use switchboard_test_support::{TestApp, TestDatabase, backend_tests};

use switchboard_test_support::pipeline::{PATIENCE, Pipeline, created, start};

backend_tests!(
    api_channel_round_trip,
    an_api_channel_without_a_secret_gets_one_shown_once,
    channel_changes_apply_to_the_next_message,
    twilio_round_trip,
    telegram_round_trip
);

/// An API channel answered by the pipeline's agent, calling back the fake provider.
async fn api_channel(pipeline: &Pipeline, signing_secret: &str) -> anyhow::Result<String> {
    created(
        pipeline
            .app
            .post(
                "/api/v1/channels",
                &pipeline.admin,
                json!({"kind": "api", "name": "Web chat", "agentId": pipeline.agent,
                    "config": {"signingSecret": signing_secret, "callbackUrl": pipeline.provider.callback_url()}}),
            )
            .await?,
    )
}

async fn api_channel_round_trip(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let app = &pipeline.app;
    let channel = api_channel(&pipeline, "app-signing-secret").await?;
    let url = app.url(&format!("/webhooks/api/{channel}"));
    let body = serde_json::to_vec(
        &json!({"messageId": "m-1", "from": {"id": "user-7", "name": "Grace"}, "text": "ping", "priority": 3}),
    )?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let post = |signature: String, body: Vec<u8>| {
        app.client
            .post(&url)
            .header("x-switchboard-signature", signature)
            .body(body)
            .send()
    };

    let stale = post(
        api_channel::sign("app-signing-secret", &body, now - 3600),
        body.clone(),
    )
    .await?;
    assert_eq!(stale.status(), 403, "a replayed signature is refused");
    let wrong = post(
        api_channel::sign("not-the-secret", &body, now),
        body.clone(),
    )
    .await?;
    assert_eq!(wrong.status(), 403);
    let accepted = TestApp::reply(
        post(
            api_channel::sign("app-signing-secret", &body, now),
            body.clone(),
        )
        .await?,
    )
    .await?;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.body["accepted"], 1);
    pipeline.settle().await?;

    let callbacks = pipeline.provider.wait_for(1, PATIENCE).await?;
    assert_eq!(callbacks[0].body["text"], "ping");
    assert_eq!(callbacks[0].body["to"], "user-7");
    let signature = callbacks[0]
        .header("x-switchboard-signature")
        .unwrap_or_default();
    let t: i64 = signature
        .split(',')
        .find_map(|part| part.strip_prefix("t="))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    assert_eq!(
        api_channel::sign("app-signing-secret", &callbacks[0].raw_body, t),
        signature,
        "callbacks are signed"
    );
    pipeline.app.stop().await
}

/// `{"kind":"api","name":…}` alone is a working channel: its signing secret is generated,
/// returned once in the creation response, never again, and signs the app's webhooks.
async fn an_api_channel_without_a_secret_gets_one_shown_once(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let (app, admin) = (&pipeline.app, &pipeline.admin);
    let reply = app
        .post(
            "/api/v1/channels",
            admin,
            json!({"kind": "api", "name": "web"}),
        )
        .await?;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let secret = reply.str("signingSecret");
    assert!(secret.len() >= 40, "a strong secret: {secret:?}");
    assert_eq!(reply.body["configuredSecrets"], json!(["signingSecret"]));
    assert!(reply.body["config"].get("signingSecret").is_none());
    let channel = reply.str("id");
    let read = app
        .get(&format!("/api/v1/channels/{channel}"), admin)
        .await?;
    assert_eq!(read.status, 200);
    assert!(!read.text.contains(&secret), "shown once: {}", read.text);

    let another = app
        .post(
            "/api/v1/channels",
            admin,
            json!({"kind": "api", "name": "app"}),
        )
        .await?;
    assert_ne!(another.str("signingSecret"), secret, "each channel its own");
    let given = app
        .post(
            "/api/v1/channels",
            admin,
            json!({"kind": "api", "name": "own", "config": {"signingSecret": "chosen-secret"}}),
        )
        .await?;
    assert_eq!(given.status, 201, "{}", given.text);
    assert!(given.body.get("signingSecret").is_none(), "{}", given.text);

    let body = serde_json::to_vec(&json!({"messageId": "m-1", "from": {"id": "u"}, "text": "hi"}))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let url = app.url(&format!("/webhooks/api/{channel}"));
    for (signing, expected) in [("not-the-secret", 403), (secret.as_str(), 200)] {
        let response = app
            .client
            .post(&url)
            .header(
                "x-switchboard-signature",
                api_channel::sign(signing, &body, now),
            )
            .body(body.clone())
            .send()
            .await?;
        assert_eq!(response.status(), expected);
    }
    pipeline.app.stop().await
}

/// The pipeline keeps channels it read for a moment; a change made through the API must still
/// reach the very next webhook and the very next reply.
async fn channel_changes_apply_to_the_next_message(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let (app, admin) = (&pipeline.app, &pipeline.admin);
    let channel = api_channel(&pipeline, "first-secret").await?;
    let url = &app.url(&format!("/webhooks/api/{channel}"));
    let webhook = |secret: &'static str, id: &'static str| {
        let body =
            serde_json::to_vec(&json!({"messageId": id, "from": {"id": "user-7"}, "text": id}));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        async move {
            let body = body?;
            let response = app
                .client
                .post(url)
                .header(
                    "x-switchboard-signature",
                    api_channel::sign(secret, &body, now),
                )
                .body(body)
                .send()
                .await?;
            anyhow::Ok(response.status())
        }
    };

    assert_eq!(webhook("first-secret", "m-1").await?, 200);
    pipeline.settle().await?;
    assert_eq!(pipeline.provider.wait_for(1, PATIENCE).await?.len(), 1);

    let rotated = app
        .patch(
            &format!("/api/v1/channels/{channel}"),
            admin,
            json!({"config": {"signingSecret": "second-secret",
                "callbackUrl": format!("{}/rotated", pipeline.provider.callback_url())}}),
        )
        .await?;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(
        webhook("first-secret", "m-2").await?,
        403,
        "the old secret stops working at once"
    );
    assert_eq!(webhook("second-secret", "m-3").await?, 200);
    pipeline.settle().await?;
    let callbacks = pipeline.provider.wait_for(2, PATIENCE).await?;
    assert_eq!(callbacks[1].body["text"], "m-3");
    assert_eq!(
        callbacks[1].path, "/callback/rotated",
        "the reply goes to the new callback"
    );
    pipeline.app.stop().await
}

async fn twilio_round_trip(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |config| {
        config.channels.twilio_sends_per_second = 1000
    })
    .await?;
    let (app, admin) = (&pipeline.app, &pipeline.admin);
    let channel = created(
        app.post(
            "/api/v1/channels",
            admin,
            json!({"kind": "twilio", "name": "SMS", "agentId": pipeline.agent, "config": {
                "accountSid": "AC123", "authToken": "twilio-auth-token", "fromNumber": "+15550006666",
                "apiBaseUrl": pipeline.provider.base_url()}}),
        )
        .await?,
    )?;
    let path = format!("/webhooks/twilio/{channel}");
    let url = app.url(&path);
    let params: Vec<(String, String)> = [
        ("MessageSid", "SM0001"),
        ("From", "+15550001234"),
        ("To", "+15550006666"),
        ("Body", "hello sms"),
        ("NumMedia", "0"),
    ]
    .iter()
    .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
    .collect();
    let form = serde_urlencoded_form(&params);
    let signature = twilio::sign("twilio-auth-token", &url, &params);
    let forged = app
        .client
        .post(&url)
        .header("x-twilio-signature", "bm9wZQ==")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await?;
    assert_eq!(forged.status(), 403);
    let response = app
        .client
        .post(&url)
        .header("x-twilio-signature", &signature)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.contains("xml"))
    );
    assert!(response.text().await?.contains("<Response>"));
    pipeline.settle().await?;

    let sent = pipeline.provider.wait_for(1, PATIENCE).await?;
    assert_eq!(sent[0].path, "/2010-04-01/Accounts/AC123/Messages.json");
    assert_eq!(sent[0].body["To"], "+15550001234");
    assert_eq!(sent[0].body["From"], "+15550006666");
    assert_eq!(sent[0].body["Body"], "hello sms");

    // A delivery callback for our reply moves it forward.
    let conversation = pipeline.conversations().await?[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let reply = pipeline.messages(&conversation).await?[1].clone();
    let sid = reply["providerMessageId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let params: Vec<(String, String)> = [
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "delivered"),
        ("To", "+15550001234"),
        ("From", "+15550006666"),
    ]
    .iter()
    .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
    .collect();
    let status = app
        .client
        .post(&url)
        .header(
            "x-twilio-signature",
            twilio::sign("twilio-auth-token", &url, &params),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded_form(&params))
        .send()
        .await?;
    assert_eq!(status.status(), 200);
    let message = app
        .get(
            &format!(
                "/api/v1/messages/{}",
                reply["id"].as_str().unwrap_or_default()
            ),
            admin,
        )
        .await?;
    assert_eq!(message.body["status"], "delivered");
    pipeline.app.stop().await
}

async fn telegram_round_trip(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    let (app, admin) = (&pipeline.app, &pipeline.admin);
    let channel = created(
        app.post(
            "/api/v1/channels",
            admin,
            json!({"kind": "telegram", "name": "Bot", "agentId": pipeline.agent, "config": {
                "botToken": "123:bot-token", "secretToken": "telegram-secret", "apiBaseUrl": pipeline.provider.base_url()}}),
        )
        .await?,
    )?;
    let url = app.url(&format!("/webhooks/telegram/{channel}"));
    let update = json!({"update_id": 1001, "message": {"message_id": 77, "date": 1697043223,
        "chat": {"id": 4242, "type": "private", "first_name": "Alan"}, "from": {"id": 4242, "is_bot": false, "first_name": "Alan"},
        "text": "hi bot"}});
    let missing = app.client.post(&url).json(&update).send().await?;
    assert_eq!(missing.status(), 401);
    // The first send is throttled by Telegram: the reply waits its retry_after and goes out.
    pipeline.provider.fail_next(1, 429, Some(1));
    let accepted = app
        .client
        .post(&url)
        .header("x-telegram-bot-api-secret-token", "telegram-secret")
        .json(&update)
        .send()
        .await?;
    assert_eq!(accepted.status(), 200);
    let again = app
        .client
        .post(&url)
        .header("x-telegram-bot-api-secret-token", "telegram-secret")
        .json(&update)
        .send()
        .await?;
    assert_eq!(TestApp::reply(again).await?.body["duplicates"], 1);
    pipeline.settle().await?;
    let sent = pipeline.provider.requests();
    assert_eq!(sent.len(), 2, "one throttled attempt, one delivery");
    assert!(
        sent[1].received_at.duration_since(sent[0].received_at)
            >= std::time::Duration::from_millis(900),
        "retry_after honoured"
    );
    assert_eq!(sent[1].path, "/bot123:bot-token/sendMessage");
    assert_eq!(sent[1].body["chat_id"], json!(4242));
    assert_eq!(sent[1].body["text"], "hi bot");
    pipeline.app.stop().await
}

/// `application/x-www-form-urlencoded` encoding of `params`.
fn serde_urlencoded_form(params: &[(String, String)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (byte as char).to_string()
                }
                b' ' => "+".to_owned(),
                other => format!("%{other:02X}"),
            })
            .collect()
    };
    params
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}
