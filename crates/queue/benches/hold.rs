//! Holding and draining a deep queue: accepts N messages (default 100,000) over many
//! conversations, as webhooks do, and stores them as the inbox's loop does, while every run
//! parks (as for a tenant out of credits); reports the process's resident memory with all of
//! them queued, then resumes the tenant and drains.
//!
//! `cargo bench -p switchboard-queue --bench hold -- [--entries 100000] [--conversations 10000]
//! [--database-url postgres://…]` (default: a SQLite file in a temporary directory; a
//! PostgreSQL database must be empty).

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use switchboard_core::{ChannelConfig, ChannelKind, MessageType, QueueEntry, TenantId};
use switchboard_queue::{Handler, Outcome, Queue, QueueConfig};
use switchboard_store::{DatabaseOptions, IngestMessage, NewChannel, Store};
use tokio_util::sync::CancellationToken;

/// Parks every run until the tenant is resumed, then finishes it.
struct ParkUntilResumed {
    resumed: std::sync::atomic::AtomicBool,
}

struct Parking(Arc<ParkUntilResumed>);

impl Handler for Parking {
    fn handle(&self, _entry: QueueEntry, _resend: bool) -> BoxFuture<'static, Outcome> {
        let resumed = self.0.resumed.load(std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            if resumed {
                Outcome::Done
            } else {
                Outcome::Park
            }
        })
    }
}

fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut entries = 100_000usize;
    let mut conversations = 10_000usize;
    let mut database_url = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--entries" => entries = args.next().unwrap_or_default().parse()?,
            "--conversations" => conversations = args.next().unwrap_or_default().parse()?,
            "--database-url" => database_url = args.next(),
            _ => {}
        }
    }
    let directory = tempfile::tempdir()?;
    let url =
        database_url.unwrap_or_else(|| format!("sqlite://{}/hold.db", directory.path().display()));
    let mut options = DatabaseOptions::new(url);
    options.sqlite_full_sync = false;
    let store = Store::connect(options).await?;
    store.migrate().await?;
    let tenant = store.create_tenant("hold".into()).await?;
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
    let handler = Arc::new(ParkUntilResumed {
        resumed: false.into(),
    });
    let config = QueueConfig {
        capacity: entries * 2,
        ..QueueConfig::default()
    };
    let queue = Queue::start(
        store.database().clone(),
        config,
        Arc::new(Parking(handler.clone())),
        CancellationToken::new(),
    )
    .await?;
    println!("resident before filling: {:.1} MiB", resident_mib());

    let started = Instant::now();
    let batch = 100;
    let mut tasks = Vec::new();
    for chunk in 0..entries / batch {
        let store = store.clone();
        let tenant_id: TenantId = tenant.id;
        let channel_id = channel.id;
        tasks.push(tokio::spawn(async move {
            let messages = (0..batch)
                .map(|n| {
                    let index = chunk * batch + n;
                    IngestMessage {
                        contact_external_id: format!("whatsapp:{}", index % conversations),
                        contact_name: None,
                        contact_phone: None,
                        provider_message_id: format!("wamid.{index}"),
                        message_type: MessageType::Text,
                        text: Some(format!("message {index}")),
                        content: None,
                        priority: 0,
                        channel_ordering_key: None,
                    }
                })
                .collect();
            store
                .accept(tenant_id, channel_id, messages, Vec::new())
                .await
                .map(|accepted| accepted.accepted)
        }));
        if tasks.len() >= 64 {
            for task in tasks.drain(..) {
                task.await??;
            }
        }
    }
    for task in tasks {
        task.await??;
    }
    // As the inbox's loop does: store what was accepted, oldest first, queueing each run.
    loop {
        let enqueue = queue.enqueue();
        let stored = store.store_accepted(64, enqueue.registrar()).await;
        enqueue.finish(stored.is_ok());
        let stored = stored?;
        if stored.accepted + stored.duplicates == 0 {
            break;
        }
    }
    let stats = queue.stats();
    println!(
        "queued {} entries ({} parked keys) in {:.1}s; resident {:.1} MiB",
        stats.depth,
        stats.parked,
        started.elapsed().as_secs_f64(),
        resident_mib()
    );

    let draining = Instant::now();
    handler
        .resumed
        .store(true, std::sync::atomic::Ordering::SeqCst);
    queue.resume_tenant(tenant.id);
    queue.wait_idle().await;
    println!(
        "drained {} entries in {:.1}s; resident {:.1} MiB",
        queue.stats().completed_total,
        draining.elapsed().as_secs_f64(),
        resident_mib()
    );
    Ok(())
}
