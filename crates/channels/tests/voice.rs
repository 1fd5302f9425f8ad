//! Voice against `FakeVoice`: the dial each call sends (form, basic auth, `Idempotency-Key`),
//! how refusals map to `SendError`, asking about a call, and the fake's signed status callbacks
//! (caught by a `FakeProvider`) read back by `receive_status` in every delivery mode.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;
use switchboard_channels::voice::{self, Dial, StatusCallback};
use switchboard_channels::{OutboundMessage, RateLimits, SendError, Sender, Webhook};
use switchboard_core::{
    AttemptStatus, Channel, ChannelConfig, ChannelId, ChannelKind, TenantId, Timestamp, VoiceConfig,
};
use switchboard_fakes::{Behaviour, CapturedRequest, Delivery, FakeProvider, FakeVoice};
use time::OffsetDateTime;

const TOKEN: &str = "voice-token";
const WAIT: Duration = Duration::from_secs(10);
const CALLBACK_PATH: &str = "/voice/status?attempt=at-1";

fn sender() -> Sender {
    Sender::new(RateLimits::default(), Duration::from_secs(10)).expect("client builds")
}

fn channel(kind: ChannelKind, config: serde_json::Value) -> Channel {
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

fn voice_channel(fake: &FakeVoice, auth_token: &str) -> Channel {
    channel(
        ChannelKind::Voice,
        json!({"accountSid": "AC0001", "authToken": auth_token, "fromNumber": "+15550100000",
               "apiBaseUrl": fake.base_url(), "answerUrl": "https://voice.example/answer"}),
    )
}

fn config(channel: &Channel) -> &VoiceConfig {
    match &channel.config {
        ChannelConfig::Voice(config) => config,
        other => panic!("not a voice channel: {other:?}"),
    }
}

fn dial<'a>(key: &'a str, to: &'a str, status_callback: &'a str) -> Dial<'a> {
    Dial {
        idempotency_key: key,
        to,
        answer_url: "https://voice.example/answer?callId=c-1",
        status_callback,
        machine_detection: true,
        timeout_seconds: 25,
    }
}

/// A fake voice provider on a fast clock and a sink for its callbacks.
async fn fakes() -> anyhow::Result<(FakeVoice, FakeProvider, String)> {
    let voice = FakeVoice::start(TOKEN).await?;
    voice.set_second(Duration::from_millis(2));
    let sink = FakeProvider::spawn().await?;
    let callback = format!("{}{CALLBACK_PATH}", sink.base_url());
    Ok((voice, sink, callback))
}

/// A callback the sink caught, verified and read as Switchboard reads it.
fn read(config: &VoiceConfig, sink: &FakeProvider, request: &CapturedRequest) -> StatusCallback {
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    assert_eq!(
        request.path, "/voice/status",
        "posted to the dial's StatusCallback"
    );
    let webhook = Webhook {
        headers: &headers,
        path_and_query: CALLBACK_PATH,
        public_base_url: Some(&sink.base_url()),
        body: &request.raw_body,
        received_at: OffsetDateTime::now_utc(),
    };
    voice::receive_status(config, &webhook).expect("signed over the full URL by the auth token")
}

/// Each call's callbacks in the order they arrived, by call id.
fn by_call(callbacks: Vec<StatusCallback>) -> BTreeMap<String, Vec<StatusCallback>> {
    let mut calls: BTreeMap<String, Vec<StatusCallback>> = BTreeMap::new();
    for callback in callbacks {
        calls
            .entry(callback.provider_call_id.clone())
            .or_default()
            .push(callback);
    }
    calls
}

fn statuses(callbacks: &[StatusCallback]) -> Vec<AttemptStatus> {
    callbacks.iter().map(|callback| callback.status).collect()
}

#[tokio::test]
async fn a_dial_sends_twilios_form_with_basic_auth_and_the_idempotency_key() -> anyhow::Result<()> {
    let (voice, _sink, callback) = fakes().await?;
    let channel = voice_channel(&voice, TOKEN);
    let dialed = sender()
        .dial(&channel, &dial("attempt-1", "+15550100001", &callback))
        .await?;
    assert_eq!(dialed.status, AttemptStatus::Queued);
    assert!(
        dialed.provider_call_id.starts_with("CA") && dialed.provider_call_id.len() == 34,
        "{}",
        dialed.provider_call_id
    );

    let dials = voice.wait_for_dials(1, WAIT).await?;
    let made = &dials[0];
    assert_eq!(made.sid, dialed.provider_call_id);
    assert_eq!(made.idempotency_key.as_deref(), Some("attempt-1"));
    let form: Vec<(&str, &str)> = made
        .form
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(
        form,
        [
            ("To", "+15550100001"),
            ("From", "+15550100000"),
            ("Url", "https://voice.example/answer?callId=c-1"),
            ("StatusCallback", callback.as_str()),
            ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
            ("Timeout", "25"),
            ("MachineDetection", "Enable"),
        ]
    );

    let mut plain = dial("attempt-2", "+15550100002", &callback);
    plain.machine_detection = false;
    sender().dial(&channel, &plain).await?;
    let dials = voice.wait_for_dials(2, WAIT).await?;
    assert!(
        dials[1]
            .form
            .iter()
            .all(|(name, _)| name != "MachineDetection"),
        "no detection unless asked"
    );

    // Basic auth is the account and its token: another token is refused for good.
    let wrong = voice_channel(&voice, "another-token");
    let refused = sender()
        .dial(&wrong, &dial("attempt-3", "+15550100003", &callback))
        .await;
    assert!(
        matches!(&refused, Err(SendError::Rejected { message, .. }) if message.contains("401")),
        "{refused:?}"
    );
    assert_eq!(voice.dials().len(), 2, "a refused dial places no call");
    Ok(())
}

#[tokio::test]
async fn a_repeated_key_gets_the_same_call_and_places_none() -> anyhow::Result<()> {
    let (voice, _sink, callback) = fakes().await?;
    let channel = voice_channel(&voice, TOKEN);
    let first = sender()
        .dial(&channel, &dial("attempt-1", "+15550100001", &callback))
        .await?;
    let again = sender()
        .dial(&channel, &dial("attempt-1", "+15550100001", &callback))
        .await?;
    assert_eq!(again.provider_call_id, first.provider_call_id);
    assert_eq!(voice.dials_to("+15550100001"), 1);

    let other = sender()
        .dial(&channel, &dial("attempt-2", "+15550100001", &callback))
        .await?;
    assert_ne!(other.provider_call_id, first.provider_call_id);
    assert_eq!(voice.dials_to("+15550100001"), 2, "a new key is a new call");
    Ok(())
}

#[tokio::test]
async fn provider_failures_are_retryable_or_final_by_status() -> anyhow::Result<()> {
    let (voice, _sink, callback) = fakes().await?;
    let channel = voice_channel(&voice, TOKEN);
    let to_dial = dial("attempt-1", "+15550100001", &callback);

    voice.fail_next(1, 503);
    let failed = sender().dial(&channel, &to_dial).await;
    assert!(
        matches!(failed, Err(SendError::Retryable { .. })),
        "{failed:?}"
    );
    assert!(voice.dials().is_empty());
    sender().dial(&channel, &to_dial).await?;
    assert_eq!(voice.dials().len(), 1, "the retry placed the call");

    voice.fail_next(1, 400);
    let refused = sender()
        .dial(&channel, &dial("attempt-2", "+15550100002", &callback))
        .await;
    assert!(
        matches!(refused, Err(SendError::Rejected { .. })),
        "{refused:?}"
    );

    let unknown = sender()
        .fetch_call(&channel, "CA00000000000000000000000000000000")
        .await;
    assert!(
        matches!(unknown, Err(SendError::Rejected { .. })),
        "{unknown:?}"
    );
    Ok(())
}

#[tokio::test]
async fn only_a_voice_channel_places_calls_and_it_sends_no_text() -> anyhow::Result<()> {
    let (voice, _sink, callback) = fakes().await?;
    let twilio = channel(
        ChannelKind::Twilio,
        json!({"accountSid": "AC0001", "authToken": TOKEN, "fromNumber": "+15550100000",
               "apiBaseUrl": voice.base_url()}),
    );
    let dialed = sender()
        .dial(&twilio, &dial("attempt-1", "+15550100001", &callback))
        .await;
    assert!(
        matches!(dialed, Err(SendError::Rejected { .. })),
        "{dialed:?}"
    );
    let fetched = sender().fetch_call(&twilio, "CA1").await;
    assert!(
        matches!(fetched, Err(SendError::Rejected { .. })),
        "{fetched:?}"
    );

    let message = OutboundMessage {
        message_id: "m-1".to_owned(),
        conversation_id: "c-1".to_owned(),
        to: "+15550100001".to_owned(),
        text: "hello".to_owned(),
    };
    let sent = sender().send(&voice_channel(&voice, TOKEN), &message).await;
    assert!(matches!(sent, Err(SendError::Rejected { .. })), "{sent:?}");
    assert!(voice.dials().is_empty());
    Ok(())
}

#[tokio::test]
async fn each_behaviour_plays_its_statuses_in_signed_callbacks() -> anyhow::Result<()> {
    let (voice, sink, callback) = fakes().await?;
    let channel = voice_channel(&voice, TOKEN);
    let number = "+15550100001";
    voice.script(
        number,
        vec![
            Behaviour::Answer { seconds: 3 },
            Behaviour::Voicemail { seconds: 2 },
            Behaviour::NoAnswer,
            Behaviour::Busy,
            Behaviour::Fail,
        ],
    );
    let mut sids = Vec::new();
    for attempt in 1..=5 {
        let key = format!("attempt-{attempt}");
        let dialed = sender()
            .dial(&channel, &dial(&key, number, &callback))
            .await?;
        sids.push(dialed.provider_call_id);
    }
    // 4 + 4 + 3 + 2 + 1 callbacks.
    let caught = sink.wait_for(14, WAIT).await?;
    let calls = by_call(
        caught
            .iter()
            .map(|request| read(config(&channel), &sink, request))
            .collect(),
    );
    use AttemptStatus::*;
    let expected = [
        vec![Initiated, Ringing, InProgress, Completed],
        vec![Initiated, Ringing, InProgress, Completed],
        vec![Initiated, Ringing, NoAnswer],
        vec![Initiated, Busy],
        vec![Failed],
    ];
    for (sid, expected) in sids.iter().zip(expected) {
        let callbacks = &calls[sid];
        assert_eq!(statuses(callbacks), expected, "{sid}");
        let sequence: Vec<Option<i64>> = callbacks.iter().map(|c| c.sequence_number).collect();
        let numbered: Vec<Option<i64>> = (0..callbacks.len() as i64).map(Some).collect();
        assert_eq!(sequence, numbered, "{sid}");
    }

    let answered = &calls[&sids[0]];
    assert_eq!(answered[2].answered_by.as_deref(), Some("human"));
    assert_eq!(answered[3].duration_seconds, Some(3));
    let voicemail = &calls[&sids[1]];
    assert_eq!(voicemail[3].answered_by.as_deref(), Some("machine_start"));

    // After its script, a number meets the default (one second's answer).
    sender()
        .dial(&channel, &dial("attempt-6", number, &callback))
        .await?;
    let caught = sink.wait_for(18, WAIT).await?;
    let last = read(config(&channel), &sink, &caught[17]);
    assert_eq!((last.status, last.duration_seconds), (Completed, Some(1)));

    let fetched = sender().fetch_call(&channel, &sids[0]).await?;
    assert_eq!(fetched.provider_call_id, sids[0]);
    assert_eq!(fetched.status, Completed);
    assert_eq!(fetched.duration_seconds, Some(3));
    assert_eq!(fetched.answered_by.as_deref(), Some("human"));
    let busy = sender().fetch_call(&channel, &sids[3]).await?;
    assert_eq!(busy.status, Busy);
    assert_eq!(voice.in_progress(), 0);
    Ok(())
}

#[tokio::test]
async fn callbacks_arrive_reversed_twice_or_without_the_final_as_told() -> anyhow::Result<()> {
    let (voice, sink, callback) = fakes().await?;
    let channel = voice_channel(&voice, TOKEN);
    voice.set_default(Behaviour::Answer { seconds: 1 });
    use AttemptStatus::*;

    voice.set_delivery(Delivery::Reversed);
    sender()
        .dial(&channel, &dial("attempt-1", "+15550100001", &callback))
        .await?;
    let caught = sink.wait_for(4, WAIT).await?;
    let reversed: Vec<StatusCallback> = caught
        .iter()
        .map(|request| read(config(&channel), &sink, request))
        .collect();
    assert_eq!(
        statuses(&reversed),
        [Completed, InProgress, Ringing, Initiated]
    );
    assert_eq!(reversed[0].sequence_number, Some(3));

    voice.set_delivery(Delivery::Twice);
    sender()
        .dial(&channel, &dial("attempt-2", "+15550100002", &callback))
        .await?;
    let caught = sink.wait_for(12, WAIT).await?;
    let twice: Vec<StatusCallback> = caught[4..]
        .iter()
        .map(|request| read(config(&channel), &sink, request))
        .collect();
    assert_eq!(
        statuses(&twice),
        [
            Initiated, Initiated, Ringing, Ringing, InProgress, InProgress, Completed, Completed
        ]
    );

    voice.set_delivery(Delivery::DropFinal);
    let dialed = sender()
        .dial(&channel, &dial("attempt-3", "+15550100003", &callback))
        .await?;
    let caught = sink.wait_for(15, WAIT).await?;
    assert_eq!(
        statuses(&[read(config(&channel), &sink, &caught[14])]),
        [InProgress]
    );
    // The final status is never posted, but asking the provider tells it.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let fetched = sender()
            .fetch_call(&channel, &dialed.provider_call_id)
            .await?;
        if fetched.status.is_final() {
            assert_eq!(fetched.status, Completed);
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the call never ended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(sink.wait_for(16, Duration::from_millis(200)).await.is_err());
    Ok(())
}

#[tokio::test]
async fn a_callback_refused_with_a_server_error_is_posted_again() -> anyhow::Result<()> {
    let (voice, sink, callback) = fakes().await?;
    let channel = voice_channel(&voice, TOKEN);
    voice.set_default(Behaviour::Fail);
    sink.fail_next(2, 503, None);
    sender()
        .dial(&channel, &dial("attempt-1", "+15550100001", &callback))
        .await?;
    let caught = sink.wait_for(3, WAIT).await?;
    let answers: Vec<u16> = caught.iter().map(|request| request.status).collect();
    assert_eq!(answers, [503, 503, 200]);
    assert_eq!(caught[0].raw_body, caught[2].raw_body, "the same callback");
    assert_eq!(
        read(config(&channel), &sink, &caught[2]).status,
        AttemptStatus::Failed
    );
    Ok(())
}

#[tokio::test]
async fn the_fake_counts_calls_live_at_once() -> anyhow::Result<()> {
    let (voice, sink, callback) = fakes().await?;
    voice.set_second(Duration::from_millis(50));
    voice.set_default(Behaviour::Answer { seconds: 10 });
    let channel = voice_channel(&voice, TOKEN);
    for attempt in 1..=3 {
        let key = format!("attempt-{attempt}");
        let to = format!("+1555010000{attempt}");
        sender().dial(&channel, &dial(&key, &to, &callback)).await?;
    }
    assert_eq!(voice.in_progress(), 3, "each call lasts 600 ms");
    sink.wait_for(12, WAIT).await?;
    assert_eq!(voice.in_progress(), 0);
    assert_eq!(voice.max_concurrent(), 3);
    Ok(())
}
