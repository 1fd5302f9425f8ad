//! Deliveries: a reply's delivery is recorded once — its entry acknowledged, the provider's id
//! kept, `pending` becoming `sent` on the conversation's stream — and never moves a status the
//! provider's receipts (or a rejection) already moved on.

use std::sync::{Arc, Mutex};

use switchboard_core::{
    AuthorKind, Credits, MessageDirection, MessageId, MessageStatus, MessageType, QueueEntry,
    RunId, RunStatus,
};
use switchboard_store::{EnqueueHook, NewMessage, RunRecord, Store, Turn, TurnEffects};
use switchboard_test_support::{TestDatabase, backend_tests};

use crate::fixtures::{Tenancy, TestResult, assert_not_found, tenancy};
use crate::inbox::whatsapp;

backend_tests!(a_delivery_is_recorded_once_and_never_moves_a_status_back);

/// A hook that keeps every entry queued.
fn keeping() -> (EnqueueHook, Arc<Mutex<Vec<QueueEntry>>>) {
    let queued = Arc::new(Mutex::new(Vec::new()));
    let kept = queued.clone();
    let hook: EnqueueHook = Arc::new(move |entry| {
        if let Ok(mut kept) = kept.lock() {
            kept.push(entry.clone());
        }
    });
    (hook, queued)
}

fn only(queued: &Mutex<Vec<QueueEntry>>) -> anyhow::Result<QueueEntry> {
    let queued = queued.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    match queued.as_slice() {
        [entry] => Ok(entry.clone()),
        other => anyhow::bail!("expected one entry queued, got {}", other.len()),
    }
}

/// Answers `run` with a pending reply: the reply's id and its delivery entry.
async fn reply(
    store: &Store,
    acme: &Tenancy,
    run: &QueueEntry,
) -> anyhow::Result<(MessageId, QueueEntry)> {
    let (hook, queued) = keeping();
    let reply_id = MessageId::new();
    let turn = Turn {
        run: RunRecord {
            id: RunId::new(),
            conversation_id: run.conversation_id,
            agent_id: None,
            message_ids: vec![run.message_id],
            context_message_ids: Vec::new(),
            status: RunStatus::Completed,
            usage: None,
            error: None,
            started_at: time::OffsetDateTime::now_utc(),
            events: Vec::new(),
        },
        entry_id: run.id,
        followers: Vec::new(),
        effects: TurnEffects::default(),
        channel_id: acme.channel.id,
        reply: Some((
            reply_id,
            NewMessage {
                conversation_id: run.conversation_id,
                direction: MessageDirection::Outbound,
                author_kind: AuthorKind::Agent,
                author_id: None,
                message_type: MessageType::Text,
                text: Some("an answer".into()),
                content: None,
                provider_message_id: None,
                status: MessageStatus::Pending,
            },
        )),
        cost: Credits(0),
        delivery_key: format!("outbound:{}", run.ordering_key),
        delivery_key_is_conversation: true,
        priority: 0,
    };
    store.commit_turn(acme.tenant.id, turn, hook).await?;
    Ok((reply_id, only(&queued)?))
}

async fn a_delivery_is_recorded_once_and_never_moves_a_status_back(
    database: TestDatabase,
) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let mut runs = Vec::new();
    for n in 1..=2 {
        let body = vec![whatsapp(
            "972500000009",
            &format!("wamid.in.{n}"),
            &format!("question {n}"),
        )];
        store
            .accept(tenant, acme.channel.id, body, Vec::new())
            .await?;
        let (hook, queued) = keeping();
        store.store_accepted(10, hook).await?;
        runs.push(only(&queued)?);
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
