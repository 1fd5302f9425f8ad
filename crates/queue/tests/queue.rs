//! The queue's worker pool against a real store: it grows with ready work up to its maximum
//! and shrinks back to its minimum when idle; keys run in parallel, one entry each at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use switchboard_core::{ChannelConfig, ChannelKind, MessageType, QueueEntry};
use switchboard_queue::{Handler, Outcome, Queue, QueueConfig};
use switchboard_store::{DatabaseOptions, IngestMessage, NewChannel, Store};
use switchboard_test_database::TestDatabase;
use tokio::sync::Barrier;
use tokio_util::sync::CancellationToken;

/// Holds every entry until `parallel` of them run at once.
struct Rendezvous {
    barrier: Barrier,
    running: AtomicUsize,
    most_at_once: AtomicUsize,
}

struct Meet(Arc<Rendezvous>);

impl Handler for Meet {
    fn handle(&self, _entry: QueueEntry, _resend: bool) -> BoxFuture<'static, Outcome> {
        let this = self.0.clone();
        Box::pin(async move {
            let now = this.running.fetch_add(1, Ordering::SeqCst) + 1;
            this.most_at_once.fetch_max(now, Ordering::SeqCst);
            this.barrier.wait().await;
            this.running.fetch_sub(1, Ordering::SeqCst);
            Outcome::Done
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_grow_with_ready_keys_and_shrink_when_idle() -> anyhow::Result<()> {
    let database = TestDatabase::sqlite().await;
    let store = Store::open(DatabaseOptions::new(database.url())).await?;
    let tenant = store.create_tenant("t".into()).await?;
    let config = ChannelConfig::parse(
        ChannelKind::Whatsapp,
        serde_json::json!({"phoneNumberId": "1", "appSecret": "s", "verifyToken": "v", "accessToken": "a"}),
    )?;
    let channel = store
        .create_channel(
            tenant.id,
            NewChannel {
                name: "c".into(),
                agent_id: None,
                config,
            },
        )
        .await?;

    let parallel = 4;
    let rendezvous = Arc::new(Rendezvous {
        barrier: Barrier::new(parallel),
        running: AtomicUsize::new(0),
        most_at_once: AtomicUsize::new(0),
    });
    let config = QueueConfig {
        min_workers: 1,
        max_workers: parallel,
        idle_timeout: Duration::from_millis(50),
        ..QueueConfig::default()
    };
    let shutdown = CancellationToken::new();
    let queue = Queue::start(
        store.database().clone(),
        config,
        Arc::new(Meet(rendezvous.clone())),
        shutdown.clone(),
    )
    .await?;
    assert_eq!(queue.stats().workers, 1);

    // Two entries on each of four keys: four must run at once (the barrier waits for them),
    // never two of one key.
    let messages = (0..parallel * 2)
        .map(|n| IngestMessage {
            contact_external_id: format!("whatsapp:{}", n % parallel),
            contact_name: None,
            contact_phone: None,
            provider_message_id: format!("wamid.{n}"),
            message_type: MessageType::Text,
            text: Some(format!("message {n}")),
            content: None,
            priority: 0,
            channel_ordering_key: None,
        })
        .collect();
    let accepted = store
        .accept(tenant.id, channel.id, messages, Vec::new())
        .await?;
    assert_eq!(accepted.accepted, parallel * 2);
    let enqueue = queue.enqueue();
    let stored = store.store_accepted(64, enqueue.registrar()).await;
    enqueue.finish(stored.is_ok());
    assert_eq!(stored?.accepted, parallel * 2);

    tokio::time::timeout(Duration::from_secs(20), queue.wait_idle()).await?;
    assert_eq!(
        rendezvous.most_at_once.load(Ordering::SeqCst),
        parallel,
        "keys ran in parallel, one entry each"
    );
    assert_eq!(queue.stats().completed_total, (parallel * 2) as u64);

    // Idle workers above the minimum retire.
    let mut workers = queue.stats().workers;
    for _ in 0..200 {
        if workers == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        workers = queue.stats().workers;
    }
    assert_eq!(workers, 1, "the pool shrinks back to its minimum");
    queue.shutdown().await;
    Ok(())
}
