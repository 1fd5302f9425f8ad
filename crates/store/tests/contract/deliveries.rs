//! Deliveries: a reply's delivery is recorded once — its entry acknowledged, the provider's id
//! kept, `pending` becoming `sent` on the conversation's stream — and never moves a status the
//! provider's receipts (or a rejection) already moved on.

use switchboard_core::{EntryState, MessageId, MessageStatus, QueueEntry, QueueEntryId};
use switchboard_store::Store;
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{Tenancy, TestResult, assert_not_found, open, tenancy};
use crate::turns::{answer, keeping, only, queued_run, queued_runs};

backend_tests!(
    a_delivery_is_recorded_once_and_never_moves_a_status_back,
    starting_a_delivery_reads_what_to_send_and_marks_its_entry_sending,
    deliveries_completed_at_once_are_each_recorded_once_in_stream_order,
    deliveries_started_at_once_each_read_their_own_and_mark_their_entry,
);

/// Answers `run` with a pending reply: the reply's id and its delivery entry.
async fn reply(
    store: &Store,
    acme: &Tenancy,
    run: &QueueEntry,
) -> anyhow::Result<(MessageId, QueueEntry)> {
    let (registrar, queued) = keeping();
    let reply_id = MessageId::new();
    store
        .commit_turn(acme.tenant.id, answer(acme, run, reply_id, 0), registrar)
        .await?;
    Ok((reply_id, only(&queued)?))
}

/// The state of entry `id`, while it is unfinished.
async fn entry_state(store: &Store, id: QueueEntryId) -> anyhow::Result<Option<EntryState>> {
    let entries = switchboard_queue::entries::load_unfinished(store.database()).await?;
    Ok(entries
        .into_iter()
        .find(|entry| entry.id == id)
        .map(|entry| entry.state))
}

async fn a_delivery_is_recorded_once_and_never_moves_a_status_back(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let mut runs = Vec::new();
    for n in 1..=2 {
        runs.push(queued_run(&store, &acme, &format!("wamid.in.{n}")).await?);
    }

    let (first, delivery) = reply(&store, &acme, &runs[0]).await?;
    let events = store
        .complete_delivery(tenant, delivery.id, first, Some("wamid.out.1".into()))
        .await?;
    assert_eq!(events.len(), 1, "`sent` goes on the conversation's stream");
    assert!(
        events[0].payload.contains("\"sent\""),
        "{}",
        events[0].payload
    );
    assert_eq!(events[0].conversation_id, delivery.conversation_id);
    let sent = store.get_message(tenant, first).await?;
    assert_eq!(sent.status, MessageStatus::Sent);
    assert_eq!(sent.provider_message_id.as_deref(), Some("wamid.out.1"));
    assert_not_found(
        store
            .complete_delivery(tenant, delivery.id, first, Some("wamid.out.again".into()))
            .await,
    );
    assert_eq!(
        store
            .get_message(tenant, first)
            .await?
            .provider_message_id
            .as_deref(),
        Some("wamid.out.1"),
        "a delivery recorded already changes nothing"
    );

    let (second, delivery) = reply(&store, &acme, &runs[1]).await?;
    store
        .set_message_status(tenant, vec![second], MessageStatus::Failed)
        .await?;
    let events = store
        .complete_delivery(tenant, delivery.id, second, Some("wamid.out.2".into()))
        .await?;
    assert!(events.is_empty(), "no `sent` for a status moved on");
    let kept = store.get_message(tenant, second).await?;
    assert_eq!(kept.status, MessageStatus::Failed);
    assert_eq!(kept.provider_message_id.as_deref(), Some("wamid.out.2"));
    assert_not_found(
        store
            .complete_delivery(tenant, delivery.id, second, None)
            .await,
    );
    Ok(())
}

async fn starting_a_delivery_reads_what_to_send_and_marks_its_entry_sending(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let run = queued_run(&store, &acme, "wamid.in.1").await?;
    let (reply_id, delivery) = reply(&store, &acme, &run).await?;

    assert_not_found(
        store
            .start_delivery(tenant, delivery.id, MessageId::new())
            .await,
    );
    assert_eq!(
        entry_state(&store, delivery.id).await?,
        Some(EntryState::Pending),
        "an unknown message marks nothing"
    );

    let outgoing = store.start_delivery(tenant, delivery.id, reply_id).await?;
    assert_eq!(outgoing.message_id, reply_id);
    assert_eq!(outgoing.conversation_id, run.conversation_id);
    assert_eq!(outgoing.channel_id, acme.channel.id);
    assert_eq!(outgoing.text.as_deref(), Some("an answer"));
    let recipient = outgoing
        .recipient
        .ok_or_else(|| anyhow::anyhow!("no recipient"))?;
    assert_eq!(
        recipient.external_id.as_deref(),
        Some("whatsapp:972500000009")
    );
    assert_eq!(
        entry_state(&store, delivery.id).await?,
        Some(EntryState::Sending),
        "a restart would count its send as a possible resend"
    );

    assert_not_found(
        store
            .start_delivery(tenant, QueueEntryId::new(), reply_id)
            .await,
    );
    Ok(())
}

/// Deliveries starting at the same moment (on PostgreSQL, in batches): each reads its own
/// message and marks its own entry; one naming an unknown message or entry fails alone.
async fn deliveries_started_at_once_each_read_their_own_and_mark_their_entry(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let mut replies = Vec::new();
    for run in queued_runs(&store, &acme, 0..10).await? {
        let (reply_id, delivery) = reply(&store, &acme, &run).await?;
        replies.push((reply_id, delivery.id, run.conversation_id));
    }
    let (known_reply, known_entry, _) = replies[0];
    let strays = [
        (MessageId::new(), known_entry),
        (known_reply, QueueEntryId::new()),
    ];
    let starts = replies
        .iter()
        .map(|(reply_id, entry_id, _)| (*reply_id, *entry_id))
        .chain(strays)
        .map(|(reply_id, entry_id)| {
            let store = store.clone();
            async move { store.start_delivery(tenant, entry_id, reply_id).await }
        });
    let mut outcomes = futures::future::join_all(starts).await;

    for stray in outcomes.split_off(replies.len()) {
        assert_not_found(stray);
    }
    for (outcome, (reply_id, _, conversation_id)) in outcomes.into_iter().zip(&replies) {
        let outgoing = outcome?;
        assert_eq!(outgoing.message_id, *reply_id);
        assert_eq!(outgoing.conversation_id, *conversation_id);
        assert_eq!(outgoing.text.as_deref(), Some("an answer"));
        assert!(outgoing.recipient.is_some());
    }
    for (_, entry_id, _) in &replies {
        assert_eq!(
            entry_state(&store, *entry_id).await?,
            Some(EntryState::Sending)
        );
    }
    Ok(())
}

/// Deliveries completing at the same moment (on PostgreSQL, in batches): each recorded once,
/// a second completion of one changing nothing, and two of one conversation told on its stream
/// at consecutive offsets, each event stored where it was told.
async fn deliveries_completed_at_once_are_each_recorded_once_in_stream_order(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    // Two replies in one conversation, then one in each of eight more.
    let mut replies = Vec::new();
    for run in queued_runs(&store, &acme, [0, 0, 2, 3, 4, 5, 6, 7, 8, 9]).await? {
        replies.push(reply(&store, &acme, &run).await?);
    }

    let completions = replies
        .iter()
        .chain(std::iter::once(&replies[5]))
        .enumerate()
        .map(|(n, (reply_id, delivery))| {
            let store = store.clone();
            async move {
                let provider_id = format!("wamid.out.{n}");
                store
                    .complete_delivery(tenant, delivery.id, *reply_id, Some(provider_id))
                    .await
            }
        });
    let outcomes = futures::future::join_all(completions).await;

    let mut told = Vec::new();
    let mut again = 0;
    for outcome in outcomes {
        match outcome {
            Ok(events) => {
                assert_eq!(events.len(), 1, "`sent` goes on the conversation's stream");
                told.extend(events);
            }
            Err(switchboard_store::StoreError::NotFound { .. }) => again += 1,
            Err(error) => anyhow::bail!("unexpected: {error}"),
        }
    }
    assert_eq!((told.len(), again), (10, 1), "each recorded once");
    for (reply_id, _) in &replies {
        let sent = store.get_message(tenant, *reply_id).await?;
        assert_eq!(sent.status, MessageStatus::Sent);
        assert!(sent.provider_message_id.is_some());
    }
    for event in &told {
        let stored = store
            .conversation_events(tenant, event.conversation_id, Some(event.offset - 1), 1)
            .await?;
        assert_eq!(
            stored.events.first().map(|stored| &stored.payload),
            Some(&event.payload),
            "told at offset {} and stored there",
            event.offset
        );
    }
    let shared = replies[0].1.conversation_id;
    let mut offsets: Vec<u64> = told
        .iter()
        .filter(|event| event.conversation_id == shared)
        .map(|event| event.offset)
        .collect();
    offsets.sort_unstable();
    assert_eq!(offsets.len(), 2);
    assert_eq!(
        offsets[1],
        offsets[0] + 1,
        "consecutive offsets in one conversation"
    );
    let head = store
        .conversation_events(tenant, shared, None, 0)
        .await?
        .head;
    assert_eq!(head, offsets[1], "the stream's head moved by both");
    Ok(())
}
