//! Ingest throughput of the store alone, as webhooks use it: many concurrent acceptances of one
//! message each into the inbox (what an acknowledgement waits for), while one loop stores what
//! was accepted, 64 at a time (contact, conversation, message with dedup and seq, queue entry),
//! as the engine's inbox loop does. Reports acceptances per second with their latency, and
//! messages stored per second. No HTTP: this isolates the storage path.
//!
//! `cargo bench -p switchboard-store --bench ingest -- [--database-url URL] [--seconds 10]
//!  [--concurrency 256] [--contacts 1000]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use switchboard_core::{ChannelConfig, ChannelKind, MessageType};
use switchboard_store::{DatabaseOptions, IngestMessage, NewChannel, Store};

struct Options {
    database_url: Option<String>,
    seconds: u64,
    concurrency: usize,
    contacts: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        database_url: None,
        seconds: 10,
        concurrency: 256,
        contacts: 1000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--database-url" => options.database_url = Some(value()?),
            "--seconds" => options.seconds = value()?.parse()?,
            "--concurrency" => options.concurrency = value()?.parse()?,
            "--contacts" => options.contacts = value()?.parse()?,
            "--bench" => {}
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let directory = tempfile::tempdir()?;
    let url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}/ingest.db", directory.path().display()));
    let mut store_options = DatabaseOptions::new(url);
    store_options.sqlite_full_sync = std::env::var("INGEST_NORMAL_SYNC").is_err();
    let store = Store::connect(store_options).await?;
    store.migrate().await?;
    let tenant = store.create_tenant("bench".into()).await?;
    let config = ChannelConfig::parse(
        ChannelKind::Whatsapp,
        serde_json::json!({"phoneNumberId": "1", "appSecret": "s", "verifyToken": "v", "accessToken": "a"}),
    )?;
    let channel = store
        .create_channel(
            tenant.id,
            NewChannel {
                name: "bench".into(),
                agent_id: None,
                config,
            },
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let accepting = Arc::new(AtomicBool::new(true));
    let storing = tokio::spawn(store_accepted(store.clone(), accepting.clone()));
    let mut tasks = Vec::new();
    for worker in 0..options.concurrency {
        let store = store.clone();
        let contacts = options.contacts;
        tasks.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new(3)?;
            let mut n = 0usize;
            while Instant::now() < deadline {
                let contact = (worker * 7919 + n) % contacts;
                let message = IngestMessage {
                    contact_external_id: format!("whatsapp:{contact}"),
                    contact_name: Some(format!("Contact {contact}")),
                    contact_phone: None,
                    provider_message_id: format!("wamid.{worker}.{n}"),
                    message_type: MessageType::Text,
                    text: Some(format!(
                        "hello number {n} from contact {contact}, where is my parcel?"
                    )),
                    content: None,
                    priority: 0,
                    channel_ordering_key: None,
                };
                let began = Instant::now();
                store
                    .accept(tenant.id, channel.id, vec![message], Vec::new())
                    .await?;
                latency.record(u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX))?;
                n += 1;
            }
            anyhow::Ok(latency)
        }));
    }
    let mut latency = Histogram::<u64>::new(3)?;
    for task in tasks {
        latency.add(task.await??)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    accepting.store(false, Ordering::Release);
    let (stored, stored_in) = storing.await??;
    println!(
        "backend {}: {} messages accepted in {elapsed:.1}s = {:.0} msg/s; accept latency µs p50 {} p99 {} max {} ({} in flight); {stored} stored in {:.1}s = {:.0} msg/s",
        store.backend().as_str(),
        latency.len(),
        latency.len() as f64 / elapsed,
        latency.value_at_quantile(0.5),
        latency.value_at_quantile(0.99),
        latency.max(),
        options.concurrency,
        stored_in.as_secs_f64(),
        stored as f64 / stored_in.as_secs_f64(),
    );
    Ok(())
}

/// Stores accepted messages, 64 at a time, until none are left once `accepting` is false;
/// returns how many were stored and how long that took.
async fn store_accepted(
    store: Store,
    accepting: Arc<AtomicBool>,
) -> anyhow::Result<(usize, Duration)> {
    let registrar = switchboard_queue::Registrar::new(|_| {});
    let started = Instant::now();
    let mut stored = 0;
    loop {
        let round = store.store_accepted(64, registrar.clone()).await?;
        stored += round.accepted;
        if round.accepted + round.duplicates == 0 {
            if !accepting.load(Ordering::Acquire) {
                return Ok((stored, started.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
