//! What the realtime benches share: a real `switchboard serve` process on loopback (spawned by
//! path, so this crate depends on no server crate), its admin token, its resident memory, and
//! the bench's flags. Each bench uses part of it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "bench-password-1";

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `--name value` flags, after the ones cargo adds.
pub struct Flags(HashMap<String, String>);

impl Flags {
    pub fn parse() -> anyhow::Result<Self> {
        let mut flags = HashMap::new();
        let mut raw = std::env::args().skip(1).filter(|arg| arg != "--bench");
        while let Some(flag) = raw.next() {
            if let Some(name) = flag.strip_prefix("--") {
                flags.insert(
                    name.to_owned(),
                    raw.next().context("a flag without a value")?,
                );
            }
        }
        Ok(Self(flags))
    }

    pub fn number(&self, name: &str, default: usize) -> anyhow::Result<usize> {
        self.0
            .get(name)
            .map_or(Ok(default), |value| Ok(value.parse()?))
    }

    /// `--server`, or the release binary beside this bench's own: `<target>/release/deps/…` →
    /// `<target>/release/switchboard`.
    pub fn server(&self) -> anyhow::Result<String> {
        if let Some(server) = self.0.get("server") {
            return Ok(server.clone());
        }
        let bench = std::env::current_exe()?;
        let release = bench
            .parent()
            .and_then(std::path::Path::parent)
            .context("the bench binary is not in <target>/<profile>/deps")?;
        Ok(release.join("switchboard").display().to_string())
    }
}

/// A running server on a fresh SQLite store, logged in as its admin; killed when dropped.
pub struct Server {
    pub base: String,
    pub port: u16,
    pub token: String,
    pub http: reqwest::Client,
    process: tokio::process::Child,
    _directory: tempfile::TempDir,
}

impl Server {
    pub async fn start(binary: &str) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let directory = tempfile::tempdir()?;
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.local_addr()?.port()
        };
        let database = format!("sqlite://{}/bench.db", directory.path().display());
        let process = tokio::process::Command::new(binary)
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
            .with_context(|| format!("starting {binary}"))?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        while http.get(format!("{base}/health")).send().await.is_err() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let login: serde_json::Value = http
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
        Ok(Self {
            base,
            port,
            token,
            http,
            process,
            _directory: directory,
        })
    }

    /// The server's resident memory (`VmRSS` from `/proc`, Linux).
    pub fn resident_bytes(&self) -> anyhow::Result<u64> {
        let pid = self.process.id().context("the server has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kilobytes = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .context("no VmRSS")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()?;
        Ok(kilobytes * 1024)
    }

    /// Processor time the server has used so far (user and system, from `/proc`, Linux).
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let pid = self.process.id().context("the server has exited")?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // The fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .context("no command name")?
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 = fields.get(11).context("no utime")?.parse::<u64>()?
            + fields.get(12).context("no stime")?.parse::<u64>()?;
        // Clock ticks are 1/100 s on Linux (`getconf CLK_TCK`).
        Ok(Duration::from_millis(ticks * 10))
    }

    /// `POST path` with the admin's token; the JSON reply.
    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let reply = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(reply.status().is_success(), "{path}: {}", reply.status());
        Ok(reply.json().await?)
    }

    /// Waits until `/ws/health` reports no `/ws` connection and no subscription: closing them
    /// is not the next figure's cost.
    pub async fn until_connections_closed(&self) -> anyhow::Result<()> {
        loop {
            let health: serde_json::Value = self
                .http
                .get(format!("{}/ws/health", self.base))
                .send()
                .await?
                .json()
                .await?;
            if health["connections"] == 0 && health["subscriptions"] == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The next JSON text message (pings and pongs skipped); an error once the socket closes.
pub async fn next_json(socket: &mut Socket) -> anyhow::Result<serde_json::Value> {
    loop {
        match socket.next().await.context("closed")?? {
            Message::Text(text) => return Ok(serde_json::from_str(&text)?),
            Message::Close(frame) => anyhow::bail!("closed: {frame:?}"),
            _ => continue,
        }
    }
}

pub async fn send(socket: &mut Socket, message: serde_json::Value) -> anyhow::Result<()> {
    socket
        .send(Message::Text(message.to_string().into()))
        .await?;
    Ok(())
}
