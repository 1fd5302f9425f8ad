//! Realtime figures against a real `switchboard serve` process on loopback: resident memory per
//! idle authenticated WebSocket, fan-out of one publisher to many subscribers, single-client
//! round trips, and publish → client latency at a fixed event rate.
//!
//! `cargo build --release -p switchboard-server`, then
//! `cargo bench -p switchboard-realtime --bench realtime -- [--server PATH]
//!  [--connections 10000] [--subscribers 1000] [--round-trips 20000] [--rate 5000]`
//! (`--server` defaults to the release `switchboard` binary of the target directory this bench
//! was built in). The server is spawned by path, so this crate depends on no server crate.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "bench-password-1";

struct Options {
    server: String,
    connections: usize,
    subscribers: usize,
    round_trips: usize,
    rate: u64,
}

fn options() -> anyhow::Result<Options> {
    let mut args: HashMap<String, String> = HashMap::new();
    let mut raw = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(flag) = raw.next() {
        if let Some(name) = flag.strip_prefix("--") {
            args.insert(
                name.to_owned(),
                raw.next().context("a flag without a value")?,
            );
        }
    }
    let number = |name: &str, default: usize| -> anyhow::Result<usize> {
        args.get(name)
            .map_or(Ok(default), |value| Ok(value.parse()?))
    };
    let server = match args.get("server") {
        Some(server) => server.clone(),
        None => default_server()?,
    };
    Ok(Options {
        server,
        connections: number("connections", 10_000)?,
        subscribers: number("subscribers", 1000)?,
        round_trips: number("round-trips", 20_000)?,
        rate: u64::try_from(number("rate", 5000)?)?,
    })
}

/// The release binary beside this bench's own: `<target>/release/deps/realtime-…` →
/// `<target>/release/switchboard`.
fn default_server() -> anyhow::Result<String> {
    let bench = std::env::current_exe()?;
    let release = bench
        .parent()
        .and_then(std::path::Path::parent)
        .context("the bench binary is not in <target>/<profile>/deps")?;
    Ok(release.join("switchboard").display().to_string())
}

/// `VmRSS` of `pid` in bytes, from `/proc` (Linux).
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kilobytes = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kilobytes * 1024)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> anyhow::Result<Socket> {
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
    // The `authenticated` frame.
    socket.next().await.context("closed")??;
    Ok(socket)
}

async fn next_json(socket: &mut Socket) -> anyhow::Result<serde_json::Value> {
    loop {
        match socket.next().await.context("closed")?? {
            Message::Text(text) => return Ok(serde_json::from_str(&text)?),
            Message::Close(frame) => anyhow::bail!("closed: {frame:?}"),
            _ => continue,
        }
    }
}

async fn send(socket: &mut Socket, frame: serde_json::Value) -> anyhow::Result<()> {
    socket.send(Message::Text(frame.to_string().into())).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let directory = tempfile::tempdir()?;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let database = format!("sqlite://{}/bench.db", directory.path().display());
    let mut server = tokio::process::Command::new(&options.server)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &database,
        ])
        .env("SWITCHBOARD_ADMIN_PASSWORD", PASSWORD)
        .env(
            "SWITCHBOARD_JWT_SECRET",
            "bench-secret-bench-secret-bench-secret",
        )
        .env("SWITCHBOARD_LOG_LEVEL", "warn")
        .env("SWITCHBOARD_REALTIME_CLIENT_BUFFER", "65536")
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", options.server))?;
    let pid = server.id().context("no pid")?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/health")).send().await.is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let login: serde_json::Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["tokens"]["accessToken"]
        .as_str()
        .context("no token")?
        .to_owned();
    let url = format!("ws://127.0.0.1:{port}/ws?token={token}");
    println!("| measurement | figure |\n|---|---|");

    // Resident memory per idle authenticated connection.
    let resident = || resident_bytes(pid).context("reading the server's resident memory");
    let before = resident()?;
    let mut idle = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        idle.push(connect(&url).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = resident()?;
    let per = after.saturating_sub(before) / options.connections.max(1) as u64;
    println!(
        "| resident memory per idle connection ({} connections) | {:.1} KB (server RSS {} → {} MiB) |",
        options.connections,
        per as f64 / 1024.0,
        before / (1024 * 1024),
        after / (1024 * 1024)
    );
    drop(idle);
    // Let the server finish closing them: the next figures must not pay for it.
    loop {
        let health: serde_json::Value = client
            .get(format!("{base}/ws/health"))
            .send()
            .await?
            .json()
            .await?;
        if health["connections"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Single client round trips: ping → pong, one at a time.
    let mut single = connect(&url).await?;
    let started = Instant::now();
    for id in 0..options.round_trips {
        send(&mut single, json!({"type": "ping", "id": id})).await?;
        next_json(&mut single).await?;
    }
    let rate = options.round_trips as f64 / started.elapsed().as_secs_f64();
    println!("| single-client round trips (ping → pong, one at a time) | {rate:.0} messages/s |");
    // The same client keeping up to 100 pings in flight: the server's throughput for one
    // connection rather than the machine's wake-up latency.
    let window = 100;
    let (mut sent, mut answered) = (0, 0);
    let started = Instant::now();
    while answered < options.round_trips {
        while sent < options.round_trips && sent - answered < window {
            send(&mut single, json!({"type": "ping", "id": sent})).await?;
            sent += 1;
        }
        if next_json(&mut single).await?["type"] == "pong" {
            answered += 1;
        }
    }
    let rate = options.round_trips as f64 / started.elapsed().as_secs_f64();
    println!("| single-client round trips (ping → pong, 100 in flight) | {rate:.0} messages/s |");

    // Fan-out: one publisher, many subscribers of one broadcast stream.
    let mut subscribers = Vec::with_capacity(options.subscribers);
    for _ in 0..options.subscribers {
        let mut socket = connect(&url).await?;
        send(
            &mut socket,
            json!({"type": "subscribe", "stream": "broadcast:fanout"}),
        )
        .await?;
        next_json(&mut socket).await?;
        subscribers.push(socket);
    }
    let events = 200;
    let readers: Vec<_> = subscribers
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
    let deliveries = (events * options.subscribers) as f64;
    println!(
        "| fan-out: 1 publisher → {} subscribers, {events} events | {:.0} deliveries/s |",
        options.subscribers,
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
    let total = options.rate * 5;
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
    let interval = Duration::from_secs_f64(1.0 / options.rate as f64);
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
        options.rate,
        total,
        histogram.value_at_quantile(0.5) as f64 / 1000.0,
        histogram.value_at_quantile(0.99) as f64 / 1000.0,
        histogram.max() as f64 / 1000.0
    );
    server.kill().await?;
    Ok(())
}
