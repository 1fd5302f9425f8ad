//! Turns: a turn's reply, its delivery entry, its run and the acknowledgement of what it
//! answered commit together, and its debit is taken once per run, however often its commit is
//! tried.

use std::sync::{Arc, Mutex};

use switchboard_core::{
    AuthorKind, Credits, MessageDirection, MessageId, MessageStatus, MessageType, QueueEntry,
    QueueEntryId, RunId, RunStatus,
};
use switchboard_store::{
    EnqueueHook, NewLedgerEntry, NewMessage, PageRequest, RunRecord, Store, Turn, TurnEffects,
};
use switchboard_test_support::{TestDatabase, backend_tests};

use crate::fixtures::{Tenancy, TestResult, assert_not_found, tenancy};
use crate::inbox::whatsapp;

backend_tests!(a_turn_is_debited_once_however_often_its_commit_is_tried);

/// A hook that keeps every entry queued, as last registered: an entry registered before its
/// number was known (`UNNUMBERED`) comes again with its number.
pub(crate) fn keeping() -> (EnqueueHook, Arc<Mutex<Vec<QueueEntry>>>) {
    let queued = Arc::new(Mutex::new(Vec::<QueueEntry>::new()));
    let kept = queued.clone();
    let hook: EnqueueHook = Arc::new(move |entry| {
        if let Ok(mut kept) = kept.lock() {
            kept.retain(|earlier| earlier.id != entry.id);
            kept.push(entry.clone());
        }
    });
    (hook, queued)
}

pub(crate) fn only(queued: &Mutex<Vec<QueueEntry>>) -> anyhow::Result<QueueEntry> {
    let queued = queued.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    match queued.as_slice() {
        [entry] => Ok(entry.clone()),
        other => anyhow::bail!("expected one entry queued, got {}", other.len()),
    }
}

/// Accepts and stores an inbound WhatsApp message: its queued run.
pub(crate) async fn queued_run(
    store: &Store,
    acme: &Tenancy,
    provider_id: &str,
) -> anyhow::Result<QueueEntry> {
    let body = vec![whatsapp("972500000009", provider_id, "a question")];
    store
        .accept(acme.tenant.id, acme.channel.id, body, Vec::new())
        .await?;
    let (hook, queued) = keeping();
    store.store_accepted(10, hook).await?;
    only(&queued)
}

/// A completed turn answering `run` with a pending reply, `reply_id`, at `cost`.
pub(crate) fn answer(acme: &Tenancy, run: &QueueEntry, reply_id: MessageId, cost: i64) -> Turn {
    Turn {
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
        cost: Credits(cost),
        delivery_key: format!("outbound:{}", run.ordering_key),
        delivery_key_is_conversation: true,
        priority: 0,
    }
}

async fn a_turn_is_debited_once_however_often_its_commit_is_tried(
    database: TestDatabase,
) -> TestResult {
    let store = database.store().await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    let grant = NewLedgerEntry {
        amount: Credits(10),
        reason: "grant".into(),
        idempotency_key: "grant-1".into(),
    };
    store.record_credits(tenant, grant).await?;
    let run = queued_run(&store, &acme, "wamid.in.1").await?;
    let reply_id = MessageId::new();

    // The commit fails after the debit would be taken: it answers an entry that is gone too.
    let mut failing = answer(&acme, &run, reply_id, 3);
    failing.followers.push(QueueEntryId::new());
    let (hook, _) = keeping();
    assert_not_found(store.commit_turn(tenant, failing, hook).await);
    assert_not_found(store.get_message(tenant, reply_id).await);

    let (hook, queued) = keeping();
    store
        .commit_turn(tenant, answer(&acme, &run, reply_id, 3), hook)
        .await?;
    let delivery = only(&queued)?;
    assert_eq!(
        (delivery.message_id, delivery.key_seq),
        (reply_id, 2),
        "the reply's delivery is queued, numbered by the reply's seq"
    );
    assert_eq!(store.get_message(tenant, reply_id).await?.seq, 2);

    let (hook, _) = keeping();
    let stray = MessageId::new();
    assert_not_found(
        store
            .commit_turn(tenant, answer(&acme, &run, stray, 3), hook)
            .await,
    );
    assert_not_found(store.get_message(tenant, stray).await);
    let unfinished = store.load_unfinished_entries().await?;
    assert_eq!(
        unfinished.iter().map(|entry| entry.id).collect::<Vec<_>>(),
        vec![delivery.id],
        "a turn whose entry is gone queues nothing"
    );
    assert_eq!(
        store.credit_balance(tenant).await?,
        Credits(7),
        "one debit for the run, whichever commit took it"
    );
    let debits: Vec<_> = store
        .list_ledger(tenant, &PageRequest::default())
        .await?
        .data
        .into_iter()
        .filter(|entry| entry.amount.0 < 0)
        .collect();
    assert_eq!(debits.len(), 1, "{debits:?}");
    assert_eq!(debits[0].idempotency_key, format!("run:{}", run.message_id));
    assert_eq!(debits[0].balance_after, Credits(7));
    Ok(())
}
