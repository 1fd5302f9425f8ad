//! `--spawn`: start `switchboard serve` (this executable) on a free loopback port with a
//! temporary SQLite store, wait for `/health`, and kill it when the run ends.
//!
//! The per-number WhatsApp send limit is raised (to a million per second) so that end-to-end
//! figures measure the pipeline and the fake provider, not the outbound rate limiter. It is set
//! both as `SWITCHBOARD_WHATSAPP_SENDS_PER_SECOND` and in a generated `--config` file. The
//! tenant's cap of calls on the line is raised too (to 10,000), so that `scheduling` measures
//! the API and the dialer rather than that cap.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::process::{Child, Command};

use super::Credentials;
use crate::error::LoadtestError;
use crate::http::{Connection, Endpoint};

/// How to start the server.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// The `switchboard` executable (default: the running one).
    pub program: PathBuf,
    /// Store URL; default a fresh SQLite file in a temporary directory.
    pub database_url: Option<String>,
    /// How long the server may take to answer `/health`.
    pub patience: Duration,
}

/// A server started by the harness; killed when dropped.
pub struct SpawnedServer {
    child: Child,
    pub pid: u32,
    pub base_url: String,
    pub credentials: Credentials,
    /// From starting the process to its first `200` on `/health`.
    pub cold_start: Duration,
    log_path: PathBuf,
    _directory: TempDir,
}

const SENDS_PER_SECOND: &str = "1000000";

impl SpawnedServer {
    pub async fn start(options: &SpawnOptions) -> Result<SpawnedServer, LoadtestError> {
        let directory = tempfile::Builder::new()
            .prefix("switchboard-loadtest-")
            .tempdir()
            .map_err(|error| LoadtestError::file(std::env::temp_dir(), error))?;
        let config_path = directory.path().join("switchboard.toml");
        let config = format!(
            "[channels]\nwhatsapp_sends_per_second = {SENDS_PER_SECOND}\n\n\
             [auth]\naccess_token_ttl = \"1day\"\n\n\
             [calls]\nmax_concurrent_per_tenant = 10000\n"
        );
        std::fs::write(&config_path, config)
            .map_err(|error| LoadtestError::file(&config_path, error))?;
        let database_url = options.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                directory.path().join("loadtest.db").display()
            )
        });
        let log_path = directory.path().join("server.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|error| LoadtestError::file(&log_path, error))?;
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let password = random_hex(12);
        let started = Instant::now();
        let child = Command::new(&options.program)
            .arg("--config")
            .arg(&config_path)
            .args([
                "serve",
                "--listen",
                &address,
                "--database-url",
                &database_url,
            ])
            .env("SWITCHBOARD_ADMIN_USERNAME", "admin")
            .env("SWITCHBOARD_ADMIN_PASSWORD", &password)
            .env("SWITCHBOARD_JWT_SECRET", random_hex(32))
            .env("SWITCHBOARD_LOG_LEVEL", "warn")
            .env("SWITCHBOARD_WHATSAPP_SENDS_PER_SECOND", SENDS_PER_SECOND)
            // The harness is one client pushing as hard as it is told: it measures the
            // gateway, not its inbound rate limits.
            .env("SWITCHBOARD_LIMITS__ENABLED", "false")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| LoadtestError::Spawn {
                program: options.program.clone(),
                source,
            })?;
        let pid = child.id().unwrap_or_default();
        let mut server = SpawnedServer {
            child,
            pid,
            base_url: format!("http://{address}"),
            credentials: Credentials::Password {
                username: "admin".into(),
                password,
            },
            cold_start: Duration::ZERO,
            log_path,
            _directory: directory,
        };
        server.wait_healthy(options.patience, started).await?;
        Ok(server)
    }

    async fn wait_healthy(
        &mut self,
        patience: Duration,
        started: Instant,
    ) -> Result<(), LoadtestError> {
        let endpoint = Arc::new(Endpoint::parse(&self.base_url, Duration::from_secs(2))?);
        let mut connection = Connection::new(endpoint);
        while started.elapsed() < patience {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.failed(format!("exited with {status} before answering /health")));
            }
            if connection
                .get("/health", &[])
                .await
                .is_ok_and(|response| response.status == 200)
            {
                self.cold_start = started.elapsed();
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(self.failed(format!("did not answer /health within {patience:?}")))
    }

    fn failed(&self, problem: String) -> LoadtestError {
        LoadtestError::ServerFailed {
            problem,
            log: self.log_tail(),
        }
    }

    /// The last lines the server wrote to standard error.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Stops the server (SIGKILL: the store is crash-safe and temporary).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn free_port() -> Result<u16, LoadtestError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|source| LoadtestError::Provider {
            address: "127.0.0.1:0".into(),
            source,
        })
}

pub(crate) fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}
