//! Turns: a turn's reply, its delivery entry, its run and the acknowledgement of what it
//! answered commit together, and its debit is taken once per run, however often its commit is
//! tried.

use std::sync::{Arc, Mutex};

use switchboard_core::{
    AuthorKind, Credits, MessageDirection, MessageId, MessageStatus, MessageType, QueueEntry,
    QueueEntryId, RunId, RunStatus,
};
use switchboard_queue::Registrar;
use switchboard_store::{NewMessage, PageRequest, RunRecord, Store, StoreError, Turn, TurnEffects};
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{Tenancy, TestResult, assert_not_found, grant, open, tenancy};
use crate::inbox::whatsapp;

backend_tests!(
    a_turn_is_debited_once_however_often_its_commit_is_tried,
    turns_committed_at_once_are_each_answered_and_debited_once
);

/// A registrar that keeps every entry queued, as last registered: an entry registered before its
/// number was known (`UNNUMBERED`) comes again with its number.
pub(crate) fn keeping() -> (Registrar, Arc<Mutex<Vec<QueueEntry>>>) {
    let queued = Arc::new(Mutex::new(Vec::<QueueEntry>::new()));
    let kept = queued.clone();
    let registrar = Registrar::new(move |entry: &QueueEntry| {
        if let Ok(mut kept) = kept.lock() {
            kept.retain(|earlier| earlier.id != entry.id);
            kept.push(entry.clone());
        }
    });
    (registrar, queued)
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
    let (registrar, queued) = keeping();
    store.store_accepted(10, registrar).await?;
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
        delivery_key: run.ordering_key.outbound(),
        delivery_key_is_conversation: true,
        priority: 0,
    }
}

async fn a_turn_is_debited_once_however_often_its_commit_is_tried(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    grant(&store, tenant, 10, "grant-1").await?;
    let run = queued_run(&store, &acme, "wamid.in.1").await?;
    let reply_id = MessageId::new();

    // The commit fails after the debit would be taken: it answers an entry that is gone too.
    let mut failing = answer(&acme, &run, reply_id, 3);
    failing.followers.push(QueueEntryId::new());
    let (registrar, _) = keeping();
    assert_not_found(store.commit_turn(tenant, failing, registrar).await);
    assert_not_found(store.get_message(tenant, reply_id).await);

    let (registrar, queued) = keeping();
    store
        .commit_turn(tenant, answer(&acme, &run, reply_id, 3), registrar)
        .await?;
    let delivery = only(&queued)?;
    assert_eq!(
        (delivery.message_id, delivery.key_seq),
        (reply_id, 2),
        "the reply's delivery is queued, numbered by the reply's seq"
    );
    assert_eq!(store.get_message(tenant, reply_id).await?.seq, 2);

    let (registrar, _) = keeping();
    let stray = MessageId::new();
    assert_not_found(
        store
            .commit_turn(tenant, answer(&acme, &run, stray, 3), registrar)
            .await,
    );
    assert_not_found(store.get_message(tenant, stray).await);
    let unfinished = switchboard_queue::entries::load_unfinished(store.database()).await?;
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

/// Turns finishing at the same moment (on PostgreSQL, committed in batches): each answered
/// once, each debited once, the balance never below zero; a turn the balance cannot cover
/// writes nothing, and neither does a second commit of a turn already answered.
async fn turns_committed_at_once_are_each_answered_and_debited_once(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let tenant = acme.tenant.id;
    grant(&store, tenant, 20, "grant-1").await?;

    // Twelve turns at 2 credits against a balance of 20, and the first run answered twice.
    let runs = queued_runs(&store, &acme, 0..12).await?;
    let turns = runs.iter().chain(std::iter::once(&runs[0]));
    let (answered, refused) = commit_at_once(&store, &acme, turns, 2).await?;
    assert_eq!(answered.len(), 10, "as many turns as the balance covers");
    assert_eq!(refused.len(), 2, "the rest are refused");
    assert_eq!(store.credit_balance(tenant).await?, Credits(0));
    assert_eq!(
        balances_after_debits(&store, &acme).await?,
        (0..10).map(|n| n * 2).collect::<Vec<_>>()
    );
    let unfinished = switchboard_queue::entries::load_unfinished(store.database()).await?;
    for entry_id in &answered {
        assert!(
            unfinished.iter().all(|entry| entry.id != *entry_id),
            "an answered run is acknowledged"
        );
    }
    for entry_id in &refused {
        assert!(
            unfinished.iter().any(|entry| entry.id == *entry_id),
            "a refused run waits"
        );
    }

    // Twelve more at 3 credits, all covered.
    grant(&store, tenant, 100, "grant-2").await?;
    let runs = queued_runs(&store, &acme, 100..112).await?;
    let (answered, refused) = commit_at_once(&store, &acme, runs.iter(), 3).await?;
    assert_eq!((answered.len(), refused.len()), (12, 0));
    assert_eq!(store.credit_balance(tenant).await?, Credits(64));
    let mut after = balances_after_debits(&store, &acme).await?;
    after.retain(|balance| *balance >= 64);
    assert_eq!(
        after,
        (0..12).map(|n| 64 + n * 3).collect::<Vec<_>>(),
        "each debit records the balance it left"
    );
    let runs = store
        .list_runs(tenant, None, &PageRequest::default())
        .await?;
    assert_eq!(runs.data.len(), 22, "one run recorded per turn answered");
    Ok(())
}

/// A run queued for each of `contacts` (numbers), in order: one message from each, in one
/// webhook; a contact's first opens its conversation.
pub(crate) async fn queued_runs(
    store: &Store,
    acme: &Tenancy,
    contacts: impl IntoIterator<Item = u32>,
) -> anyhow::Result<Vec<QueueEntry>> {
    let body = contacts
        .into_iter()
        .enumerate()
        .map(|(n, contact)| {
            let provider_id = format!("wamid.in.{contact}.{n}");
            whatsapp(&format!("97250000{contact:04}"), &provider_id, "hi")
        })
        .collect();
    store
        .accept(acme.tenant.id, acme.channel.id, body, Vec::new())
        .await?;
    let (registrar, queued) = keeping();
    store.store_accepted(100, registrar).await?;
    let runs = queued
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    Ok(runs)
}

/// Commits a turn answering each of `runs` at `cost`, all at once; checks each outcome (an
/// answered turn's reply is stored and queued, any other's is not) and returns the entries
/// answered and those refused for credits, each once.
async fn commit_at_once(
    store: &Store,
    acme: &Tenancy,
    runs: impl Iterator<Item = &QueueEntry>,
    cost: i64,
) -> anyhow::Result<(Vec<QueueEntryId>, Vec<QueueEntryId>)> {
    let tenant = acme.tenant.id;
    let commits = runs.map(|run| {
        let (entry_id, reply_id) = (run.id, MessageId::new());
        let turn = answer(acme, run, reply_id, cost);
        async move {
            let (registrar, queued) = keeping();
            let outcome = store.commit_turn(tenant, turn, registrar).await;
            (entry_id, reply_id, outcome, queued)
        }
    });
    let mut answered = Vec::new();
    let mut refused = Vec::new();
    for (entry_id, reply_id, outcome, queued) in futures::future::join_all(commits).await {
        match outcome {
            Ok(_) => {
                let delivery = only(&queued)?;
                assert_eq!((delivery.message_id, delivery.key_seq), (reply_id, 2));
                assert_eq!(store.get_message(tenant, reply_id).await?.seq, 2);
                answered.push(entry_id);
            }
            Err(StoreError::InsufficientCredits) => refused.push(entry_id),
            Err(StoreError::NotFound { .. }) => {}
            Err(error) => anyhow::bail!("unexpected: {error}"),
        }
        if !answered.contains(&entry_id) {
            assert_not_found(store.get_message(tenant, reply_id).await);
        }
    }
    for list in [&mut answered, &mut refused] {
        list.sort();
        list.dedup();
    }
    refused.retain(|entry_id| !answered.contains(entry_id));
    Ok((answered, refused))
}

/// The balance each debit of the tenant's ledger left, lowest first.
async fn balances_after_debits(store: &Store, acme: &Tenancy) -> anyhow::Result<Vec<i64>> {
    let ledger = store
        .list_ledger(acme.tenant.id, &PageRequest::default())
        .await?;
    let mut after: Vec<i64> = ledger
        .data
        .iter()
        .filter(|entry| entry.amount.0 < 0)
        .map(|entry| entry.balance_after.0)
        .collect();
    after.sort_unstable();
    Ok(after)
}
