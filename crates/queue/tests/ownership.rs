//! Two queues over one PostgreSQL database, as two nodes: they share the partitions, each
//! entry runs once, each key's entries in order, whichever node queued them; a node's write on
//! an entry stamped for the other is refused (fencing); the partition the database computes is
//! the one the queue computes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use switchboard_core::{ConversationId, EntryKind, MessageId, OrderingKey, QueueEntry, TenantId};
use switchboard_database::{Database, DatabaseError, query};
use switchboard_queue::entries::{NewEntry, Position, acknowledge, enqueue};
use switchboard_queue::ownership::HOLDER_SETTING;
use switchboard_queue::{
    ClusterConfig, Handler, Outcome, PARTITIONS, Queue, QueueConfig, partition_of,
};
use switchboard_store::{DatabaseOptions, Store};
use switchboard_test_database::TestDatabase;
use tokio_util::sync::CancellationToken;

/// What ran, by key: (node, key_seq) in the order the handlers finished them.
type Ran = Arc<Mutex<BTreeMap<String, Vec<(&'static str, i64)>>>>;

/// Acknowledges each entry through its node's own connections (so the fence applies).
struct Acknowledge {
    node: &'static str,
    database: Database,
    ran: Ran,
}

impl Handler for Acknowledge {
    fn handle(&self, entry: QueueEntry, _resend: bool) -> BoxFuture<'static, Outcome> {
        let (node, database, ran) = (self.node, self.database.clone(), self.ran.clone());
        Box::pin(async move {
            let id = entry.id;
            let acknowledged = database
                .write(move |connection| Box::pin(acknowledge(connection, id)))
                .await;
            match acknowledged {
                Ok(()) => {
                    ran.lock()
                        .expect("ran")
                        .entry(entry.ordering_key.to_string())
                        .or_default()
                        .push((node, entry.key_seq));
                    Outcome::Done
                }
                Err(error) => Outcome::Dead {
                    error: Box::new(error),
                },
            }
        })
    }
}

async fn node_store(url: &str, node: &str) -> anyhow::Result<Store> {
    let options = DatabaseOptions {
        postgres_settings: vec![(HOLDER_SETTING.to_owned(), node.to_owned())],
        ..DatabaseOptions::new(url)
    };
    Ok(Store::open(options).await?)
}

async fn queue_one(
    database: &Database,
    queue: &Queue,
    key: &OrderingKey,
) -> Result<(), DatabaseError> {
    let enqueued = queue.enqueue();
    let registrar = enqueued.registrar();
    let new = NewEntry {
        kind: EntryKind::Run,
        ordering_key: key.clone(),
        priority: 0,
        conversation_id: ConversationId::new(),
        message_id: MessageId::new(),
    };
    let tenant = TenantId::new();
    let written = database
        .write(move |connection| {
            Box::pin(
                async move { enqueue(connection, tenant, new, Position::Next, &registrar).await },
            )
        })
        .await;
    enqueued.finish(written.is_ok());
    written.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_partitions_and_run_each_entry_once_in_key_order() -> anyhow::Result<()>
{
    let database = TestDatabase::postgres().await;
    let (a, b) = (
        node_store(database.url(), "node-a").await?,
        node_store(database.url(), "node-b").await?,
    );
    let ran: Ran = Arc::default();
    let shutdown = CancellationToken::new();
    let queues: [Arc<OnceLock<Queue>>; 2] = [Arc::default(), Arc::default()];
    let start = |node: &'static str, store: &Store, other: Arc<OnceLock<Queue>>| {
        // Stands in for Redis: the other node hears of the keys at once.
        let wake = Arc::new(move |keys: &[OrderingKey]| {
            if let Some(queue) = other.get() {
                queue.work_arrived(keys.to_vec());
            }
        });
        let cluster = ClusterConfig {
            poll_interval: Duration::from_millis(200),
            ..ClusterConfig::new(node.into(), node.into(), true, wake)
        };
        let handler = Acknowledge {
            node,
            database: store.database().clone(),
            ran: ran.clone(),
        };
        Queue::start_cluster(
            store.database().clone(),
            QueueConfig::default(),
            cluster,
            Arc::new(handler),
            shutdown.clone(),
        )
    };
    let queue_a = start("node-a", &a, queues[1].clone());
    let _ = queues[0].set(queue_a.clone());
    let queue_b = start("node-b", &b, queues[0].clone());
    let _ = queues[1].set(queue_b.clone());

    // Both hold half the partitions once the first has given the second its share.
    let mut shares = (0, 0);
    for _ in 0..200 {
        let held = |queue: &Queue| queue.holdings().map_or(0, |held| held.partitions.len());
        shares = (held(&queue_a), held(&queue_b));
        if shares == (32, 32) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(shares, (32, 32), "the partitions are shared");
    assert_eq!(PARTITIONS, 64);

    // Each key's entries are queued alternately through either node.
    let keys: Vec<OrderingKey> = (0..40)
        .map(|_| OrderingKey::conversation(ConversationId::new()))
        .collect();
    for round in 0..5 {
        for (index, key) in keys.iter().enumerate() {
            let (store, queue) = if (index + round) % 2 == 0 {
                (&a, &queue_a)
            } else {
                (&b, &queue_b)
            };
            queue_one(store.database(), queue, key).await?;
        }
    }
    for _ in 0..400 {
        let done: usize = ran.lock().expect("ran").values().map(Vec::len).sum();
        if done >= keys.len() * 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let ran = ran.lock().expect("ran").clone();
    let mut by_node = BTreeMap::new();
    for key in &keys {
        let runs = ran.get(key.as_str()).cloned().unwrap_or_default();
        let seqs: Vec<i64> = runs.iter().map(|(_, seq)| *seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5], "{key}: each once, in order");
        let nodes: Vec<&str> = runs.iter().map(|(node, _)| *node).collect();
        assert!(
            nodes.windows(2).all(|pair| pair[0] == pair[1]),
            "{key} ran on one node"
        );
        *by_node.entry(nodes[0]).or_insert(0) += 1;
    }
    assert_eq!(by_node.len(), 2, "both nodes ran keys: {by_node:?}");

    shutdown.cancel();
    queue_a.shutdown().await;
    queue_b.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_write_on_an_entry_stamped_for_another_node_is_refused() -> anyhow::Result<()> {
    let database = TestDatabase::postgres().await;
    let (a, b) = (
        node_store(database.url(), "node-a").await?,
        node_store(database.url(), "node-b").await?,
    );
    let key = OrderingKey::conversation(ConversationId::new());
    let new = NewEntry {
        kind: EntryKind::Deliver,
        ordering_key: key.outbound(),
        priority: 0,
        conversation_id: ConversationId::new(),
        message_id: MessageId::new(),
    };
    let registrar = switchboard_queue::Registrar::new(|_| {});
    let entry = a
        .database()
        .write(move |connection| {
            Box::pin(async move {
                enqueue(connection, TenantId::new(), new, Position::Next, &registrar).await
            })
        })
        .await?;
    let partition: i64 = query("SELECT partition FROM queue_entries WHERE id = $1")
        .bind(entry.id.to_string())
        .fetch_scalar(a.database().reader())
        .await?;
    assert_eq!(
        partition,
        i64::from(partition_of(&key)),
        "same partition as its conversation"
    );

    query("UPDATE queue_entries SET owner = 'node-a' WHERE id = $1")
        .bind(entry.id.to_string())
        .execute(a.database().reader())
        .await?;
    let id = entry.id;
    let refused = b
        .database()
        .write(move |connection| Box::pin(acknowledge(connection, id)))
        .await;
    assert!(refused.is_err(), "node b may not finish node a's entry");
    a.database()
        .write(move |connection| Box::pin(acknowledge(connection, id)))
        .await?;
    Ok(())
}
