//! The inbox: webhooks' messages are accepted once (a provider id waiting or stored already is a
//! duplicate), then stored oldest first, each with its run queued, and leave the inbox.

use std::sync::{Arc, Mutex};

use switchboard_core::{MessageType, OrderingKey};
use switchboard_queue::Registrar;
use switchboard_store::{IngestMessage, PageRequest, Store};
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{Tenancy, TestResult, all_messages, everything, open, tenancy};

backend_tests!(
    accepted_messages_are_stored_oldest_first_and_leave_the_inbox,
    a_redelivery_is_a_duplicate_while_waiting_and_once_stored,
    webhooks_accepted_at_once_each_hear_their_own_outcome,
    webhooks_accepted_at_once_each_hear_the_store_is_unavailable,
    one_batch_over_many_contacts_numbers_each_conversation_and_key_in_order,
);

/// SQLite's single writer stores a webhook's messages in the webhook's own write: each once (a
/// provider id repeated in the body or stored already is a duplicate), numbered in order, each
/// run queued, the inbox untouched. A redelivery through the inbox finds them stored.
#[tokio::test]
async fn sqlite_stores_a_webhooks_messages_at_once() -> TestResult {
    let database = TestDatabase::sqlite().await;
    let store = open(&database).await;
    assert!(store.stores_webhooks_at_once());
    let acme = tenancy(&store, "acme").await?;
    let (tenant, channel) = (acme.tenant.id, acme.channel.id);
    let body = vec![
        whatsapp("972500000003", "wamid.now.1", "one"),
        whatsapp("972500000003", "wamid.now.1", "one"),
        whatsapp("972500000003", "wamid.now.2", "two"),
    ];
    let (registrar, queued) = noting();
    let stored = store
        .store_webhook(tenant, channel, body.clone(), Vec::new(), registrar.clone())
        .await?;
    assert_eq!((stored.accepted, stored.duplicates), (2, 1));
    assert_eq!(
        stored.events.len(),
        2,
        "one stream event per message stored"
    );
    assert_eq!(
        store.count_accepted(None).await?,
        0,
        "the inbox is untouched"
    );

    let conversation = stored.events[0].conversation_id;
    let messages = all_messages(&store, tenant, conversation).await?;
    assert_eq!(
        numbered(&messages),
        [(1, "one".to_owned()), (2, "two".to_owned())]
    );
    let ids: Vec<String> = messages
        .iter()
        .map(|message| message.id.to_string())
        .collect();
    assert_eq!(
        *queued.lock().map_err(|_| anyhow::anyhow!("poisoned"))?,
        ids,
        "a run queued per message, in order"
    );

    let again = store
        .store_webhook(tenant, channel, body.clone(), Vec::new(), registrar)
        .await?;
    assert_eq!((again.accepted, again.duplicates), (0, 3));
    let redelivered = store.accept(tenant, channel, body, Vec::new()).await?;
    assert_eq!((redelivered.accepted, redelivered.duplicates), (0, 3));
    assert_eq!(texts(&store, &acme).await?, ["one", "two"]);
    Ok(())
}

#[tokio::test]
async fn postgres_webhooks_go_through_the_shared_inbox() -> TestResult {
    let database = TestDatabase::postgres().await;
    let store = open(&database).await;
    assert!(!store.stores_webhooks_at_once());
    Ok(())
}

pub(crate) fn whatsapp(contact: &str, provider_id: &str, text: &str) -> IngestMessage {
    IngestMessage {
        contact_external_id: format!("whatsapp:{contact}"),
        contact_name: Some(format!("contact {contact}")),
        contact_phone: Some(contact.to_owned()),
        provider_message_id: provider_id.to_owned(),
        message_type: MessageType::Text,
        text: Some(text.to_owned()),
        content: None,
        priority: 0,
        channel_ordering_key: None,
    }
}

/// A registrar that notes the message id of each run queued.
fn noting() -> (Registrar, Arc<Mutex<Vec<String>>>) {
    let queued = Arc::new(Mutex::new(Vec::new()));
    let noted = queued.clone();
    let registrar = Registrar::new(move |entry: &switchboard_core::QueueEntry| {
        if let Ok(mut noted) = noted.lock() {
            noted.push(entry.message_id.to_string());
        }
    });
    (registrar, queued)
}

/// Each message's `seq` and text, in the order given.
fn numbered(messages: &[switchboard_core::Message]) -> Vec<(i64, String)> {
    messages
        .iter()
        .map(|message| (message.seq, message.text.clone().unwrap_or_default()))
        .collect()
}

/// Every message text of the tenant, sorted.
async fn texts(store: &Store, acme: &Tenancy) -> anyhow::Result<Vec<String>> {
    let tenant = acme.tenant.id;
    let mut texts = Vec::new();
    let page = PageRequest::first(PageRequest::MAX_LIMIT);
    for conversation in store
        .list_conversations(tenant, acme.operator.id, &everything(), &page)
        .await?
        .data
    {
        for message in all_messages(store, tenant, conversation.id).await? {
            texts.push(message.text.unwrap_or_default());
        }
    }
    texts.sort();
    Ok(texts)
}

async fn accepted_messages_are_stored_oldest_first_and_leave_the_inbox(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, channel) = (acme.tenant.id, acme.channel.id);
    for n in 1..=5 {
        let body = vec![whatsapp(
            "972500000001",
            &format!("wamid.{n}"),
            &format!("m{n}"),
        )];
        let accepted = store.accept(tenant, channel, body, Vec::new()).await?;
        assert_eq!((accepted.accepted, accepted.duplicates), (1, 0));
    }
    assert_eq!(store.count_accepted(None).await?, 5);
    assert!(
        texts(&store, &acme).await?.is_empty(),
        "accepted, not stored yet"
    );

    let (registrar, queued) = noting();
    let first = store.store_accepted(3, registrar.clone()).await?;
    assert_eq!(first.accepted, 3);
    assert_eq!(first.events.len(), 3, "one stream event per message stored");
    assert_eq!(store.count_accepted(None).await?, 2);
    let rest = store.store_accepted(3, registrar.clone()).await?;
    assert_eq!(rest.accepted, 2);
    assert_eq!(store.count_accepted(None).await?, 0);
    assert_eq!(store.store_accepted(3, registrar).await?.accepted, 0);

    let conversation = first.events[0].conversation_id;
    let stored = all_messages(&store, tenant, conversation).await?;
    assert_eq!(
        numbered(&stored),
        (1..=5).map(|n| (n, format!("m{n}"))).collect::<Vec<_>>(),
        "one conversation, numbered in acceptance order"
    );
    let queued = queued.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let ids: Vec<String> = stored
        .iter()
        .map(|message| message.id.to_string())
        .collect();
    assert_eq!(*queued, ids, "a run queued per message, in order");
    Ok(())
}

async fn a_redelivery_is_a_duplicate_while_waiting_and_once_stored(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, channel) = (acme.tenant.id, acme.channel.id);
    let body = || vec![whatsapp("972500000002", "wamid.once", "only once")];

    assert_eq!(
        store
            .accept(tenant, channel, body(), Vec::new())
            .await?
            .accepted,
        1
    );
    let waiting = store.accept(tenant, channel, body(), Vec::new()).await?;
    assert_eq!((waiting.accepted, waiting.duplicates), (0, 1));
    // The same id twice in one body is accepted once.
    let twice = vec![
        whatsapp("972500000002", "wamid.twice", "a"),
        whatsapp("972500000002", "wamid.twice", "a"),
    ];
    let twice = store.accept(tenant, channel, twice, Vec::new()).await?;
    assert_eq!((twice.accepted, twice.duplicates), (1, 1));

    let (registrar, _) = noting();
    assert_eq!(
        store.store_accepted(10, registrar.clone()).await?.accepted,
        2
    );
    let stored = store.accept(tenant, channel, body(), Vec::new()).await?;
    assert_eq!((stored.accepted, stored.duplicates), (0, 1));
    assert_eq!(store.count_accepted(None).await?, 0);
    assert_eq!(texts(&store, &acme).await?, ["a", "only once"]);
    Ok(())
}

async fn webhooks_accepted_at_once_each_hear_their_own_outcome(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, channel) = (acme.tenant.id, acme.channel.id);
    let page = PageRequest::first(PageRequest::MAX_LIMIT);
    let filter = everything();
    let conversations = || store.list_conversations(tenant, acme.operator.id, &filter, &page);
    let before = conversations().await?.data.len();
    // A hundred bodies at once, two messages each; the last fifty redeliver the first fifty.
    let body = |n: usize| {
        let contact = format!("97250{:07}", n % 50);
        let first = format!("wamid.{}.first", n % 50);
        let second = format!("wamid.{}.second", n % 50);
        vec![
            whatsapp(&contact, &first, &format!("{} first", n % 50)),
            whatsapp(&contact, &second, &format!("{} second", n % 50)),
        ]
    };
    let outcomes = futures::future::join_all(
        (0..100).map(|n| store.accept(tenant, channel, body(n), Vec::new())),
    )
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    for n in 0..50 {
        let (first, again) = (&outcomes[n], &outcomes[n + 50]);
        assert_eq!(
            (
                first.accepted + again.accepted,
                first.duplicates + again.duplicates
            ),
            (2, 2),
            "body {n} and its redelivery accept each message once between them"
        );
    }
    assert_eq!(store.count_accepted(None).await?, 100);

    let (registrar, _) = noting();
    let mut stored = 0;
    loop {
        let batch = store.store_accepted(64, registrar.clone()).await?;
        if batch.accepted + batch.duplicates == 0 {
            break;
        }
        stored += batch.accepted;
    }
    assert_eq!(stored, 100);
    let conversations = conversations().await?.data;
    assert_eq!(
        conversations.len() - before,
        50,
        "one conversation per contact"
    );
    for conversation in conversations {
        let texts: Vec<String> = all_messages(&store, tenant, conversation.id)
            .await?
            .into_iter()
            .map(|message| message.text.unwrap_or_default())
            .collect();
        if texts.is_empty() {
            continue;
        }
        let n = texts
            .first()
            .and_then(|text| text.split(' ').next())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            texts,
            [format!("{n} first"), format!("{n} second")],
            "a body's messages keep their order"
        );
    }
    Ok(())
}

async fn webhooks_accepted_at_once_each_hear_the_store_is_unavailable(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, channel) = (acme.tenant.id, acme.channel.id);
    store.close().await;
    let outcomes = futures::future::join_all((0..20).map(|n| {
        let body = vec![whatsapp(
            "972500000003",
            &format!("wamid.closed.{n}"),
            "late",
        )];
        store.accept(tenant, channel, body, Vec::new())
    }))
    .await;
    for outcome in outcomes {
        assert!(
            matches!(&outcome, Err(error) if error.is_unavailable()),
            "{outcome:?}"
        );
    }
    Ok(())
}

async fn one_batch_over_many_contacts_numbers_each_conversation_and_key_in_order(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, channel) = (acme.tenant.id, acme.channel.id);
    // Two new contacts, interleaved, each twice in one body; a third whose runs are ordered
    // by the business number, across conversations.
    let number = OrderingKey::business_number(channel, "15550001");
    let by_number = |contact: &str, id: &str, text: &str| IngestMessage {
        channel_ordering_key: Some(number.clone()),
        ..whatsapp(contact, id, text)
    };
    let body = vec![
        whatsapp("972500000011", "wamid.b1", "b1"),
        whatsapp("972500000012", "wamid.c1", "c1"),
        whatsapp("972500000011", "wamid.b2", "b2"),
        by_number("972500000013", "wamid.d1", "d1"),
        whatsapp("972500000012", "wamid.c2", "c2"),
        by_number("972500000014", "wamid.e1", "e1"),
        by_number("972500000013", "wamid.d2", "d2"),
    ];
    assert_eq!(
        store
            .accept(tenant, channel, body, Vec::new())
            .await?
            .accepted,
        7
    );

    let (registrar, queued) = noting();
    let stored = store.store_accepted(64, registrar).await?;
    assert_eq!((stored.accepted, stored.duplicates), (7, 0));

    let page = PageRequest::first(PageRequest::MAX_LIMIT);
    for contact in [
        "972500000011",
        "972500000012",
        "972500000013",
        "972500000014",
    ] {
        let external_id = format!("whatsapp:{contact}");
        let found = store
            .list_contacts(tenant, None, Some(&external_id), &page)
            .await?
            .data;
        assert_eq!(found.len(), 1, "one contact for {contact}");
    }
    let conversations = store
        .list_conversations(tenant, acme.operator.id, &everything(), &page)
        .await?
        .data;
    // Each message's text and seq, by id.
    let mut stored_messages = std::collections::HashMap::new();
    for conversation in conversations {
        let messages = all_messages(&store, tenant, conversation.id).await?;
        let seqs: Vec<i64> = messages.iter().map(|message| message.seq).collect();
        assert_eq!(seqs, (1..=messages.len() as i64).collect::<Vec<_>>());
        let offsets: Vec<u64> = stored
            .events
            .iter()
            .filter(|event| event.conversation_id == conversation.id)
            .map(|event| event.offset)
            .collect();
        assert_eq!(offsets, (1..=messages.len() as u64).collect::<Vec<_>>());
        for message in messages {
            let text = message.text.clone().unwrap_or_default();
            stored_messages.insert(message.id, (text, message.seq));
        }
    }
    let mut numbered: Vec<(String, i64)> = stored_messages.values().cloned().collect();
    numbered.sort();
    assert_eq!(
        numbered,
        [
            ("b1", 1),
            ("b2", 2),
            ("c1", 1),
            ("c2", 2),
            ("d1", 1),
            ("d2", 2),
            ("e1", 1)
        ]
        .map(|(text, seq)| (text.to_owned(), seq)),
        "one conversation per contact, each numbered in acceptance order"
    );

    // Runs queued in acceptance order; by conversation, numbered by the message's seq; by
    // business number, by the number's own counter.
    let entries = switchboard_queue::entries::load_unfinished(store.database()).await?;
    let mut by_number = Vec::new();
    for entry in &entries {
        let (text, seq) = stored_messages
            .get(&entry.message_id)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("an entry for a message not stored"))?;
        if entry.ordering_key == number {
            by_number.push((entry.key_seq, text));
        } else {
            assert_eq!(entry.key_seq, seq, "{text} is numbered by its seq");
        }
    }
    by_number.sort();
    assert_eq!(
        by_number,
        [(1, "d1"), (2, "e1"), (3, "d2")].map(|(seq, text)| (seq, text.to_owned()))
    );
    let queued = queued.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let texts: Vec<String> = queued
        .iter()
        .filter_map(|id| {
            let (text, _) = stored_messages
                .iter()
                .find(|(message_id, _)| message_id.to_string() == *id)?
                .1;
            Some(text.clone())
        })
        .collect();
    assert_eq!(texts, ["b1", "c1", "b2", "d1", "c2", "e1", "d2"]);
    Ok(())
}
