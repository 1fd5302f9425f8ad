//! Realtime figures against a real `switchboard serve` process on loopback: resident memory per
//! idle authenticated WebSocket, fan-out of one publisher to many subscribers, single-client
//! round trips, and publish → client latency at a fixed event rate.
//!
//! `cargo build --release -p switchboard-server`, then
//! `cargo bench -p switchboard-realtime --bench realtime -- [--server PATH]
//!  [--connections 10000] [--subscribers 1000] [--round-trips 20000] [--rate 5000]`
//! (`--server` defaults to the release `switchboard` binary of the target directory this bench
//! was built in). The server is spawned by path, so this crate depends on no server crate.

mod common;

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use serde_json::json;

use common::{Flags, Server, Socket, next_json, send};

async fn connect(url: &str) -> anyhow::Result<Socket> {
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
    // The `authenticated` frame.
    socket.next().await.context("closed")??;
    Ok(socket)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse()?;
    let connections = flags.number("connections", 10_000)?;
    let subscribers = flags.number("subscribers", 1000)?;
    let round_trips = flags.number("round-trips", 20_000)?;
    let rate = u64::try_from(flags.number("rate", 5000)?)?;
    let server = Server::start(&flags.server()?).await?;
    let url = format!("ws://127.0.0.1:{}/ws?token={}", server.port, server.token);
    println!("| measurement | figure |\n|---|---|");

    // Resident memory per idle authenticated connection.
    let before = server.resident_bytes()?;
    let mut idle = Vec::with_capacity(connections);
    for _ in 0..connections {
        idle.push(connect(&url).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.resident_bytes()?;
    let per = after.saturating_sub(before) / connections.max(1) as u64;
    println!(
        "| resident memory per idle connection ({} connections) | {:.1} KB (server RSS {} → {} MiB) |",
        connections,
        per as f64 / 1024.0,
        before / (1024 * 1024),
        after / (1024 * 1024)
    );
    drop(idle);
    server.until_connections_closed().await?;

    // Single client round trips: ping → pong, one at a time.
    let mut single = connect(&url).await?;
    let started = Instant::now();
    for id in 0..round_trips {
        send(&mut single, json!({"type": "ping", "id": id})).await?;
        next_json(&mut single).await?;
    }
    let per_second = round_trips as f64 / started.elapsed().as_secs_f64();
    println!(
        "| single-client round trips (ping → pong, one at a time) | {per_second:.0} messages/s |"
    );
    // The same client keeping up to 100 pings in flight: the server's throughput for one
    // connection rather than the machine's wake-up latency.
    let window = 100;
    let (mut sent, mut answered) = (0, 0);
    let started = Instant::now();
    while answered < round_trips {
        while sent < round_trips && sent - answered < window {
            send(&mut single, json!({"type": "ping", "id": sent})).await?;
            sent += 1;
        }
        if next_json(&mut single).await?["type"] == "pong" {
            answered += 1;
        }
    }
    let per_second = round_trips as f64 / started.elapsed().as_secs_f64();
    println!(
        "| single-client round trips (ping → pong, 100 in flight) | {per_second:.0} messages/s |"
    );

    // Fan-out: one publisher, many subscribers of one broadcast stream.
    let mut sockets = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let mut socket = connect(&url).await?;
        send(
            &mut socket,
            json!({"type": "subscribe", "stream": "broadcast:fanout"}),
        )
        .await?;
        next_json(&mut socket).await?;
        sockets.push(socket);
    }
    let events = 200;
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut seen = 0;
                while seen < events {
                    if next_json(&mut socket).await?["type"] == "event" {
                        seen += 1;
                    }
                }
                anyhow::Ok(Instant::now())
            })
        })
        .collect();
    let started = Instant::now();
    for n in 0..events {
        send(
            &mut single,
            json!({"type": "publish", "stream": "broadcast:fanout", "data": {"n": n}}),
        )
        .await?;
    }
    let mut last = started;
    for reader in readers {
        last = last.max(reader.await??);
    }
    let deliveries = (events * subscribers) as f64;
    println!(
        "| fan-out: 1 publisher → {} subscribers, {events} events | {:.0} deliveries/s |",
        subscribers,
        deliveries / last.duration_since(started).as_secs_f64()
    );

    // Latency publish → client at a fixed rate, measured from the intended send time.
    let mut listener = connect(&url).await?;
    send(
        &mut listener,
        json!({"type": "subscribe", "stream": "broadcast:latency"}),
    )
    .await?;
    next_json(&mut listener).await?;
    let total = rate * 5;
    let origin = Instant::now();
    let receiver = tokio::spawn(async move {
        let mut histogram = hdrhistogram::Histogram::<u64>::new(3)?;
        let mut seen = 0;
        while seen < total {
            let frame = next_json(&mut listener).await?;
            if frame["type"] != "event" {
                continue;
            }
            let intended = frame["event"]["data"]["at"].as_u64().unwrap_or_default();
            let now = u64::try_from(origin.elapsed().as_micros())?;
            histogram.record(now.saturating_sub(intended))?;
            seen += 1;
        }
        anyhow::Ok(histogram)
    });
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    for n in 0..total {
        let intended = interval * u32::try_from(n)?;
        tokio::time::sleep_until((origin + intended).into()).await;
        let at = u64::try_from(intended.as_micros())?;
        send(
            &mut single,
            json!({"type": "publish", "stream": "broadcast:latency", "data": {"at": at}}),
        )
        .await?;
    }
    let histogram = receiver.await??;
    println!(
        "| publish → client latency at {}/s ({} events) | p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms |",
        rate,
        total,
        histogram.value_at_quantile(0.5) as f64 / 1000.0,
        histogram.value_at_quantile(0.99) as f64 / 1000.0,
        histogram.max() as f64 / 1000.0
    );
    Ok(())
}
