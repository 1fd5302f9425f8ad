//! `Sender` against `FakeProvider`: the request each provider receives, how its answers map to
//! `SentMessage`/`SendError`, idempotency keys, and rate limits.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_channels::{
    IDEMPOTENCY_KEY, OutboundMessage, RateLimits, SendError, Sender, SentMessage, api_channel,
};
use switchboard_core::{Channel, ChannelConfig, ChannelId, ChannelKind, TenantId, Timestamp};
use switchboard_fakes::FakeProvider;

const WAIT: Duration = Duration::from_secs(10);

fn sender() -> Sender {
    Sender::new(RateLimits::default(), Duration::from_secs(10)).expect("client builds")
}

fn channel(kind: ChannelKind, config: Value) -> Channel {
    let now = Timestamp::now_utc();
    Channel {
        id: ChannelId::new(),
        tenant_id: TenantId::new(),
        name: format!("{kind} test"),
        agent_id: None,
        config: ChannelConfig::parse(kind, config).expect("valid channel config"),
        created_at: now,
        updated_at: now,
    }
}

fn whatsapp(fake: &FakeProvider) -> Channel {
    channel(
        ChannelKind::Whatsapp,
        json!({"phoneNumberId": "1122334455", "appSecret": "app-secret", "verifyToken": "verify",
               "accessToken": "EAAG-token", "apiBaseUrl": fake.base_url()}),
    )
}

fn twilio(fake: &FakeProvider) -> Channel {
    channel(
        ChannelKind::Twilio,
        json!({"accountSid": "AC0123", "authToken": "twilio-token", "fromNumber": "+15005550006",
               "apiBaseUrl": fake.base_url()}),
    )
}

fn telegram(fake: &FakeProvider) -> Channel {
    channel(
        ChannelKind::Telegram,
        json!({"botToken": "123456:ABC-bot-token", "secretToken": "hook-secret",
               "apiBaseUrl": fake.base_url()}),
    )
}

fn api(fake: &FakeProvider) -> Channel {
    channel(
        ChannelKind::Api,
        json!({"signingSecret": "signing-secret", "callbackUrl": fake.callback_url()}),
    )
}

fn reply(id: &str, to: &str) -> OutboundMessage {
    OutboundMessage {
        message_id: id.to_owned(),
        conversation_id: "conversation-1".to_owned(),
        to: to.to_owned(),
        text: "Hello from Switchboard".to_owned(),
    }
}

/// Where each kind sends and who it sends to.
fn cases(fake: &FakeProvider) -> Vec<(Channel, &'static str)> {
    vec![
        (whatsapp(fake), "+972987654321"),
        (twilio(fake), "+14155550100"),
        (telegram(fake), "1111111"),
        (api(fake), "user-7"),
    ]
}

#[tokio::test]
async fn whatsapp_posts_a_text_message_to_the_graph_api() -> anyhow::Result<()> {
    let fake = FakeProvider::spawn().await?;
    let sent = sender()
        .send(&whatsapp(&fake), &reply("msg-1", "+972987654321"))
        .await?;
    assert_eq!(sent.provider_message_id.as_deref(), Some("wamid.fake1"));
    let request = &fake.wait_for(1, WAIT).await?[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/1122334455/messages");
    assert_eq!(request.header("authorization"), Some("Bearer EAAG-token"));
    assert_eq!(request.header(IDEMPOTENCY_KEY), Some("msg-1"));
    assert_eq!(
        request.body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "972987654321", "type": "text", "text": {"body": "Hello from Switchboard"}})
    );
    Ok(())
}

#[tokio::test]
async fn twilio_posts_a_form_with_basic_auth() -> anyhow::Result<()> {
    let fake = FakeProvider::spawn().await?;
    let sent = sender()
        .send(&twilio(&fake), &reply("msg-2", "+14155550100"))
        .await?;
    let sid = sent.provider_message_id.expect("sid");
    assert!(sid.starts_with("SM"), "{sid}");
    let request = &fake.wait_for(1, WAIT).await?[0];
    assert_eq!(request.path, "/2010-04-01/Accounts/AC0123/Messages.json");
    // base64("AC0123:twilio-token")
    assert_eq!(
        request.header("authorization"),
        Some("Basic QUMwMTIzOnR3aWxpby10b2tlbg==")
    );
    assert_eq!(request.header(IDEMPOTENCY_KEY), Some("msg-2"));
    assert_eq!(
        request.body,
        json!({"To": "+14155550100", "From": "+15005550006", "Body": "Hello from Switchboard"})
    );
    Ok(())
}

#[tokio::test]
async fn telegram_posts_send_message_and_ids_the_reply_by_chat() -> anyhow::Result<()> {
    let fake = FakeProvider::spawn().await?;
    let sent = sender()
        .send(&telegram(&fake), &reply("msg-3", "1111111"))
        .await?;
    assert_eq!(sent.provider_message_id.as_deref(), Some("1111111:1"));
    let request = &fake.wait_for(1, WAIT).await?[0];
    assert_eq!(request.path, "/bot123456:ABC-bot-token/sendMessage");
    assert_eq!(request.header(IDEMPOTENCY_KEY), Some("msg-3"));
    assert_eq!(
        request.body,
        json!({"chat_id": 1111111, "text": "Hello from Switchboard"})
    );
    Ok(())
}

#[tokio::test]
async fn api_channel_posts_a_signed_callback_the_app_can_verify() -> anyhow::Result<()> {
    let fake = FakeProvider::spawn().await?;
    let sent = sender()
        .send(&api(&fake), &reply("msg-4", "user-7"))
        .await?;
    assert_eq!(sent.provider_message_id.as_deref(), Some("app-1"));
    let request = &fake.wait_for(1, WAIT).await?[0];
    assert_eq!(request.path, "/callback");
    assert_eq!(request.header(IDEMPOTENCY_KEY), Some("msg-4"));
    assert_eq!(
        request.body,
        json!({"messageId": "msg-4", "conversationId": "conversation-1", "to": "user-7",
               "text": "Hello from Switchboard"})
    );
    api_channel::verify_signature(
        "signing-secret",
        request.header(api_channel::SIGNATURE_HEADER),
        &request.raw_body,
        Timestamp::now_utc(),
        Duration::from_secs(60),
    )?;
    Ok(())
}

#[tokio::test]
async fn api_channel_without_a_callback_sends_nothing() -> anyhow::Result<()> {
    let fake = FakeProvider::spawn().await?;
    let channel = channel(ChannelKind::Api, json!({"signingSecret": "s"}));
    let sent = sender().send(&channel, &reply("msg-5", "user-7")).await?;
    assert_eq!(sent, SentMessage::default());
    assert!(fake.requests().is_empty());
    Ok(())
}

#[tokio::test]
async fn too_many_requests_is_retryable_after_the_providers_delay() -> anyhow::Result<()> {
    let fake = FakeProvider::spawn().await?;
    let sender = sender();
    for (index, (channel, to)) in cases(&fake).into_iter().enumerate() {
        fake.fail_next(1, 429, Some(7));
        let error = sender
            .send(&channel, &reply(&format!("rate-{index}"), to))
            .await
            .expect_err("429 is not a success");
        match error {
            SendError::Retryable { retry_after, .. } => assert_eq!(
                retry_after,
                Some(Duration::from_secs(7)),
                "{}",
                channel.kind()
            ),
            other => panic!("{}: {other:?}", channel.kind()),
        }
    }
    // Telegram gave its delay in the body, the others in `Retry-After`.
    let requests = fake.wait_for(4, WAIT).await?;
    assert!(
        requests
            .iter()
            .all(|request| request.header(IDEMPOTENCY_KEY).is_some())
    );
    assert_eq!(fake.unique_sends(), 0);
    Ok(())
}

#[tokio::test]
async fn server_errors_are_retryable_and_client_errors_rejected() -> anyhow::Result<()> {
    let fake = FakeProvider::spawn().await?;
    let sender = sender();
    for (index, (channel, to)) in cases(&fake).into_iter().enumerate() {
        let kind = channel.kind();
        fake.fail_next(1, 500, None);
        let error = sender
            .send(&channel, &reply(&format!("boom-{index}"), to))
            .await
            .expect_err("500");
        assert!(
            matches!(
                error,
                SendError::Retryable {
                    retry_after: None,
                    ..
                }
            ),
            "{kind}: {error:?}"
        );

        fake.fail_next(1, 400, None);
        let error = sender
            .send(&channel, &reply(&format!("bad-{index}"), to))
            .await
            .expect_err("400");
        match error {
            SendError::Rejected {
                message, details, ..
            } => {
                assert!(message.contains("fake failure 400"), "{kind}: {message}");
                assert!(details.is_some(), "{kind}: provider error body kept");
            }
            other => panic!("{kind}: {other:?}"),
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_timeout_is_retryable_and_the_retry_is_not_a_second_message() -> anyhow::Result<()> {
    let fake = FakeProvider::spawn().await?;
    let impatient = Sender::new(RateLimits::default(), Duration::from_millis(200))?;
    for (index, (channel, to)) in cases(&fake).into_iter().enumerate() {
        let kind = channel.kind();
        let message = reply(&format!("slow-{index}"), to);
        fake.delay(Duration::from_secs(30));
        let error = impatient
            .send(&channel, &message)
            .await
            .expect_err("timed out");
        assert!(
            matches!(error, SendError::Retryable { .. }),
            "{kind}: {error:?}"
        );
        fake.delay(Duration::ZERO);
        impatient.send(&channel, &message).await?;
        // The provider processed the first attempt; the same key made the retry a replay.
        assert_eq!(fake.unique_sends(), index + 1, "{kind}");
    }
    let requests = fake.wait_for(8, WAIT).await?;
    for pair in requests.chunks(2) {
        assert_eq!(
            pair[0].header(IDEMPOTENCY_KEY),
            pair[1].header(IDEMPOTENCY_KEY)
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_unreachable_provider_is_retryable() -> anyhow::Result<()> {
    let fake = FakeProvider::spawn().await?;
    let channel = whatsapp(&fake);
    drop(fake);
    let error = sender()
        .send(&channel, &reply("msg-6", "+1555"))
        .await
        .expect_err("nobody listens");
    assert!(matches!(error, SendError::Retryable { .. }), "{error:?}");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the connection error is kept as the cause: {error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn sends_from_one_number_are_spaced_by_its_rate_limit() -> anyhow::Result<()> {
    let fake = FakeProvider::spawn().await?;
    let limits = RateLimits {
        twilio_per_second: 4,
        ..RateLimits::default()
    };
    let sender = Sender::new(limits, Duration::from_secs(10))?;
    let channel = twilio(&fake);
    for index in 0..6 {
        sender
            .send(&channel, &reply(&format!("limited-{index}"), "+1555"))
            .await?;
    }
    let requests = fake.wait_for(6, WAIT).await?;
    // A burst of 4, then one every 250 ms: the 6th cannot leave before 500 ms after the 1st.
    let spread = requests[5].received_at - requests[0].received_at;
    assert!(spread >= Duration::from_millis(450), "{spread:?}");
    Ok(())
}
