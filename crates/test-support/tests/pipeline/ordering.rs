//! Ordering: per conversation, inbound messages are processed one at a time in arrival order
//! and replies leave in that order, while conversations run in parallel.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use switchboard_core::{ChannelId, MessageType};
use switchboard_engine::Ordering;
use switchboard_store::{DatabaseOptions, IngestMessage, Keyring, MasterKey, Store};
use switchboard_test_support::{MASTER_KEY, TestDatabase, backend_tests};

use switchboard_test_support::pipeline::{PATIENCE, Pipeline, start, whatsapp_text};

backend_tests!(
    replies_leave_in_each_conversations_order,
    recovery_after_restart_keeps_order,
    messages_accepted_before_a_restart_are_answered_after_it
);

const CONTACTS: usize = 4;
const PER_CONTACT: usize = 15;

async fn replies_leave_in_each_conversations_order(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 1000, |_| {}).await?;
    // Each contact's messages go one after another (a provider delivers a chat in order);
    // the contacts send at the same time.
    let mut senders = Vec::new();
    for contact in 0..CONTACTS {
        let app_url = pipeline
            .app
            .url(&format!("/webhooks/whatsapp/{}", pipeline.whatsapp));
        let client = pipeline.app.client.clone();
        senders.push(tokio::spawn(async move {
            for n in 0..PER_CONTACT {
                let body = whatsapp_text(
                    &format!("97250000000{contact}"),
                    &format!("wamid.{contact}.{n}"),
                    &format!("{contact}:{n}"),
                );
                let bytes = serde_json::to_vec(&body)?;
                let signature = switchboard_test_support::whatsapp_signature(
                    switchboard_test_support::pipeline::APP_SECRET,
                    &bytes,
                );
                let status = client
                    .post(&app_url)
                    .header("x-hub-signature-256", signature)
                    .body(bytes)
                    .send()
                    .await?
                    .status();
                anyhow::ensure!(status == 200, "webhook answered {status}");
            }
            anyhow::Ok(())
        }));
    }
    for sender in senders {
        sender.await??;
    }
    pipeline.settle().await?;
    let sent = pipeline
        .provider
        .wait_for(CONTACTS * PER_CONTACT, PATIENCE)
        .await?;
    assert_in_order(sent.iter().map(|request| &request.body["text"]["body"]));
    for conversation in pipeline.conversations().await? {
        let messages = pipeline
            .messages(conversation["id"].as_str().unwrap_or_default())
            .await?;
        let seqs: Vec<_> = messages
            .iter()
            .map(|message| message["seq"].as_i64().unwrap_or(0))
            .collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as i64).collect::<Vec<_>>(),
            "gap-free seq"
        );
        // The replies, in seq order, answer the inbound messages in seq order.
        let texts = |direction: &str| -> Vec<Value> {
            messages
                .iter()
                .filter(|message| message["direction"] == direction)
                .map(|message| message["text"].clone())
                .collect()
        };
        assert_eq!(texts("outbound"), texts("inbound"));
    }
    pipeline.app.stop().await
}

async fn recovery_after_restart_keeps_order(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 1000, |config| {
        config.queue.max_attempts = 1_000_000
    })
    .await?;
    // The provider is down: replies queue up behind their first failing send.
    pipeline.provider.fail_next(10_000, 503, None);
    for n in 0..5 {
        let body = whatsapp_text(
            "972500000099",
            &format!("wamid.restart.{n}"),
            &format!("9:{n}"),
        );
        assert_eq!(pipeline.whatsapp_webhook(&body, None).await?.status, 200);
    }
    pipeline.provider.wait_for(1, PATIENCE).await?;
    let provider = pipeline.provider;
    let app = pipeline.app.restart().await?;
    provider.recover();
    tokio::time::timeout(PATIENCE, app.run_until_idle()).await?;
    let delivered: Vec<_> = provider
        .requests()
        .into_iter()
        .filter(|request| request.status == 200)
        .map(|request| request.body["text"]["body"].clone())
        .collect();
    let expected: Vec<Value> = (0..5).map(|n| Value::String(format!("9:{n}"))).collect();
    assert_eq!(delivered, expected);
    app.stop().await
}

/// Messages a webhook had accepted when the process stopped, before the inbox's loop stored
/// them, are stored and answered, in order, by the next start.
async fn messages_accepted_before_a_restart_are_answered_after_it(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 1000, |_| {}).await?;
    let provider = pipeline.provider;
    let channel_id: ChannelId = pipeline.whatsapp.parse()?;
    let database = pipeline.app.stop_keeping_database().await?;
    accept_while_stopped(&database, channel_id, &[("972500000077", 0..3)]).await?;

    let app = restart(database).await?;
    tokio::time::timeout(PATIENCE, app.run_until_idle()).await?;
    let delivered: Vec<_> = provider
        .requests()
        .into_iter()
        .map(|request| request.body["text"]["body"].clone())
        .collect();
    assert_eq!(
        delivered,
        ["972500000077:0", "972500000077:1", "972500000077:2"]
    );
    app.stop().await
}

/// Webhooks that arrive while messages accepted earlier still wait in the inbox are answered
/// after them, although SQLite's webhooks could store theirs at once: each contact's
/// messages waiting from before a restart, then one more from each as soon as it is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_wait_behind_what_the_inbox_holds() -> anyhow::Result<()> {
    const WAITING: u32 = 20;
    let Pipeline {
        app,
        provider,
        admin,
        agent,
        whatsapp,
    } = start(TestDatabase::sqlite().await, 1000, |_| {}).await?;
    let channel_id: ChannelId = whatsapp.parse()?;
    let database = app.stop_keeping_database().await?;
    let contacts: Vec<String> = (0..30).map(|n| format!("97250000{n:04}")).collect();
    let waiting: Vec<_> = contacts
        .iter()
        .map(|contact| (contact.as_str(), 0..WAITING))
        .collect();
    accept_while_stopped(&database, channel_id, &waiting).await?;

    let pipeline = Pipeline {
        app: restart(database).await?,
        provider,
        admin,
        agent,
        whatsapp,
    };
    let sender = &pipeline;
    let later = contacts.iter().map(|contact| {
        let text = format!("{contact}:{WAITING}");
        let body = whatsapp_text(contact, &format!("wamid.later.{contact}"), &text);
        async move { sender.whatsapp_webhook(&body, None).await }
    });
    for reply in futures::future::join_all(later).await {
        let reply = reply?;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    tokio::time::timeout(PATIENCE, pipeline.app.run_until_idle()).await?;
    let delivered: Vec<_> = pipeline
        .provider
        .requests()
        .into_iter()
        .map(|request| request.body["text"]["body"].clone())
        .collect();
    assert_eq!(delivered.len(), contacts.len() * (WAITING as usize + 1));
    assert_in_order(delivered.iter());
    pipeline.app.stop().await
}

/// As webhooks would have while no pipeline ran: accepts into the inbox, for each contact,
/// messages `"<contact>:<n>"` over `n` of its range, under the servers' master key, which
/// sealed the channel's secrets.
async fn accept_while_stopped(
    database: &TestDatabase,
    channel_id: ChannelId,
    contacts: &[(&str, std::ops::Range<u32>)],
) -> anyhow::Result<()> {
    let keyring = Keyring::new(MasterKey::parse(MASTER_KEY)?, Vec::new());
    let store = Store::connect_with_keyring(DatabaseOptions::new(database.url()), keyring).await?;
    let channel = store
        .find_channel(channel_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the channel is gone"))?;
    for (contact, range) in contacts {
        let messages = range
            .clone()
            .map(|n| IngestMessage {
                contact_external_id: format!("whatsapp:{contact}"),
                contact_name: None,
                contact_phone: Some((*contact).into()),
                provider_message_id: format!("wamid.stopped.{contact}.{n}"),
                message_type: MessageType::Text,
                text: Some(format!("{contact}:{n}")),
                content: None,
                priority: 0,
                channel_ordering_key: None,
            })
            .collect();
        store
            .accept(channel.tenant_id, channel.id, messages, Vec::new())
            .await?;
    }
    store.close().await;
    Ok(())
}

/// Starts the app again on `database`, its queue retrying fast.
async fn restart(database: TestDatabase) -> anyhow::Result<switchboard_test_support::TestApp> {
    switchboard_test_support::TestApp::spawn_with(
        database,
        tokio_util::sync::CancellationToken::new(),
        |config| config.queue.retry_base = Duration::from_millis(5),
    )
    .await
}

/// Texts `"<contact>:<n>"` must come in increasing `n` for each contact.
fn assert_in_order<'a>(texts: impl Iterator<Item = &'a Value>) {
    let mut last: HashMap<String, i64> = HashMap::new();
    for text in texts {
        let text = text.as_str().unwrap_or_default();
        let (contact, n) = text.split_once(':').unwrap_or_default();
        let n: i64 = n.parse().unwrap_or(-1);
        let previous = last.insert(contact.to_owned(), n).unwrap_or(-1);
        assert_eq!(n, previous + 1, "contact {contact}: {n} after {previous}");
    }
}

/// With `queue_ordering = "channel"`, one business number is one strict FIFO across all its
/// conversations: replies leave in the order the messages arrived, whoever sent them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_ordering_is_one_fifo_per_business_number() -> anyhow::Result<()> {
    let pipeline = start(TestDatabase::sqlite().await, 1000, |config| {
        config.queue.ordering = Ordering::Channel
    })
    .await?;
    let mut arrived = Vec::new();
    for n in 0..12 {
        let contact = n % 3;
        let text = format!("{contact}:{}", n / 3);
        let body = whatsapp_text(
            &format!("97250000010{contact}"),
            &format!("wamid.channel.{n}"),
            &text,
        );
        assert_eq!(pipeline.whatsapp_webhook(&body, None).await?.status, 200);
        arrived.push(Value::String(text));
    }
    pipeline.settle().await?;
    let sent = pipeline.provider.wait_for(12, PATIENCE).await?;
    let order: Vec<_> = sent
        .iter()
        .map(|request| request.body["text"]["body"].clone())
        .collect();
    assert_eq!(order, arrived, "one FIFO across conversations");
    assert_eq!(pipeline.conversations().await?.len(), 3);
    // The three conversations' replies have equal `seq`s; on the number's one outbound key
    // they must still each get a place of their own, first time, without retries.
    let stats = pipeline.app.engine.queue_node_stats();
    assert_eq!(stats.map(|stats| stats.retried_total), Some(0));
    pipeline.app.stop().await
}
