//! GraphQL subscription figures against a real `switchboard serve` process on loopback, over
//! `graphql-transport-ws`: resident memory per idle subscription (one per connection, and many
//! on few connections), and how long one event takes to reach many subscribers.
//!
//! `cargo build --release -p switchboard-server`, then
//! `cargo bench -p switchboard-realtime --bench graphql -- [--server PATH]
//!  [--subscriptions 10000] [--subscribers 1000] [--events 100]`

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use common::{Flags, Server, Socket, next_json, send};

const FOLLOW: &str =
    "subscription($id: ID!) { conversationEvents(conversationId: $id) { kind offset event } }";

/// A `graphql-transport-ws` connection, acknowledged.
async fn connect(server: &Server) -> anyhow::Result<Socket> {
    let url = format!("ws://127.0.0.1:{}/graphql", server.port);
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
    let init = json!({"type": "connection_init", "payload": {"token": server.token}});
    send(&mut socket, init).await?;
    let ack = next_json(&mut socket).await?;
    anyhow::ensure!(ack["type"] == "connection_ack", "{ack}");
    Ok(socket)
}

/// Subscribes `id` to the conversation's events and waits for its `SUBSCRIBED` item.
async fn follow(socket: &mut Socket, id: usize, conversation: &str) -> anyhow::Result<()> {
    let subscribe = json!({"type": "subscribe", "id": id.to_string(),
        "payload": {"query": FOLLOW, "variables": {"id": conversation}}});
    send(socket, subscribe).await?;
    let first = next_item(socket).await?;
    anyhow::ensure!(first["kind"] == "SUBSCRIBED", "{first}");
    Ok(())
}

/// The next subscription item on `socket` (server pings answered on the way).
async fn next_item(socket: &mut Socket) -> anyhow::Result<serde_json::Value> {
    loop {
        let message = next_json(socket).await?;
        match message["type"].as_str() {
            Some("next") => return Ok(message["payload"]["data"]["conversationEvents"].clone()),
            Some("ping") => send(socket, json!({"type": "pong"})).await?,
            _ => anyhow::bail!("unexpected {message}"),
        }
    }
}

/// A conversation on an API channel, to follow and to write to.
async fn conversation(server: &Server) -> anyhow::Result<String> {
    let channel = json!({"kind": "api", "name": "Bench", "config": {"signingSecret": "bench"}});
    let channel = server.post("/api/v1/channels", channel).await?;
    let contact = json!({"name": "Bench", "phone": "+15550009999"});
    let contact = server.post("/api/v1/contacts", contact).await?;
    let conversation = json!({"channelId": channel["id"], "contactId": contact["id"]});
    let conversation = server.post("/api/v1/conversations", conversation).await?;
    Ok(conversation["id"].as_str().context("no id")?.to_owned())
}

/// Resident memory per subscription while `connections` connections hold `subscriptions`
/// between them.
async fn idle(
    server: &Server,
    conversation: &str,
    subscriptions: usize,
    connections: usize,
) -> anyhow::Result<()> {
    let before = server.resident_bytes()?;
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        sockets.push(connect(server).await?);
    }
    for n in 0..subscriptions {
        follow(&mut sockets[n % connections], n, conversation).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.resident_bytes()?;
    let per = after.saturating_sub(before) / subscriptions.max(1) as u64;
    println!(
        "| resident memory per idle subscription ({subscriptions} on {connections} connections) | {:.1} KB (server RSS {} → {} MiB) |",
        per as f64 / 1024.0,
        before / (1024 * 1024),
        after / (1024 * 1024)
    );
    Ok(())
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new(3)?)
}

/// `p50 …, p99 …, max …` in milliseconds.
fn figures(histogram: &Histogram<u64>) -> String {
    let ms = |micros: u64| micros as f64 / 1000.0;
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(histogram.value_at_quantile(0.5)),
        ms(histogram.value_at_quantile(0.99)),
        ms(histogram.max())
    )
}

/// One event to many subscribers: an operator's message is stored, published, and sent to
/// every subscription of its conversation. The fan-out's own cost is how long after the first
/// subscriber the others receive it; from the post, the figure includes the write (whose REST
/// reply time is reported beside it).
async fn fan_out(
    server: &Server,
    conversation: &str,
    subscribers: usize,
    events: usize,
) -> anyhow::Result<()> {
    let mut sockets = Vec::with_capacity(subscribers);
    for n in 0..subscribers {
        let mut socket = connect(server).await?;
        follow(&mut socket, n, conversation).await?;
        sockets.push(socket);
    }
    let origin = Instant::now();
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                // (when the message was posted, when this subscriber received it), in µs.
                let mut received = Vec::with_capacity(events);
                while received.len() < events {
                    let item = next_item(&mut socket).await?;
                    if item["event"]["type"] != "message_created" {
                        continue;
                    }
                    let posted: u64 = item["event"]["message"]["text"]
                        .as_str()
                        .context("no text")?
                        .parse()?;
                    received.push((posted, u64::try_from(origin.elapsed().as_micros())?));
                }
                anyhow::Ok(received)
            })
        })
        .collect();
    let path = format!("/api/v1/conversations/{conversation}/messages");
    let mut replies = histogram()?;
    let cpu_before = server.cpu_time()?;
    for _ in 0..events {
        let posted = Instant::now();
        let at = u64::try_from(posted.duration_since(origin).as_micros())?;
        server.post(&path, json!({"text": at.to_string()})).await?;
        replies.record(u64::try_from(posted.elapsed().as_micros())?)?;
        // One event at a time: the figure is the fan-out's, not a backlog's.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut receipts: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for reader in readers {
        for (posted, received) in reader.await?? {
            receipts.entry(posted).or_default().push(received);
        }
    }
    let cpu = server.cpu_time()?.saturating_sub(cpu_before);
    let (mut from_post, mut spread) = (histogram()?, histogram()?);
    for (posted, received) in &receipts {
        let first = received.iter().min().copied().unwrap_or(*posted);
        for at in received {
            from_post.record(at.saturating_sub(*posted))?;
            spread.record(at - first)?;
        }
    }
    println!(
        "| one event → {subscribers} subscribers ({events} events, {} deliveries): first subscriber's receipt → each one's | {} |",
        spread.len(),
        figures(&spread)
    );
    println!(
        "| the same: server processor time per delivery (the writes included) | {:.1} µs |",
        cpu.as_secs_f64() * 1e6 / spread.len().max(1) as f64
    );
    println!(
        "| the same, post → each receipt (includes the write; the REST reply alone: {}) | {} |",
        figures(&replies),
        figures(&from_post)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse()?;
    let subscriptions = flags.number("subscriptions", 10_000)?;
    let subscribers = flags.number("subscribers", 1000)?;
    let events = flags.number("events", 100)?;
    let binary = flags.server()?;
    println!("| measurement | figure |\n|---|---|");
    // Each figure on a fresh server: memory freed by the previous one would hide the next's.
    for connections in [subscriptions, subscriptions.div_ceil(1000)] {
        let server = Server::start(&binary).await?;
        let conversation = conversation(&server).await?;
        idle(&server, &conversation, subscriptions, connections).await?;
    }
    let server = Server::start(&binary).await?;
    let conversation = conversation(&server).await?;
    fan_out(&server, &conversation, subscribers, events).await
}
