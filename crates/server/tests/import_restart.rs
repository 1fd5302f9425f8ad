//! An import survives `kill -9`: a real `switchboard serve` is killed while it applies a file,
//! restarts, resumes the import at its last committed batch and finishes it. Every row is then
//! applied exactly once: all created, none seen twice (a batch applied again would find its
//! contacts already written by this import), none missing. On SQLite and PostgreSQL.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use switchboard_test_support::TestDatabase;

const ROWS: usize = 20_000;
const PASSWORD: &str = "import-admin-password";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(database_url: &str, port: u16) -> anyhow::Result<Server> {
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
        ])
        .env("SWITCHBOARD_ADMIN_PASSWORD", PASSWORD)
        .env(
            "SWITCHBOARD_JWT_SECRET",
            "import-test-jwt-secret-long-enough-to-use",
        )
        .env("SWITCHBOARD_IMPORTS__BATCH_ROWS", "100")
        .env("SWITCHBOARD_LOG_LEVEL", "warn")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    Ok(Server(child))
}

/// Waits for the server to answer, then logs in.
async fn login(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    for _ in 0..400 {
        let login = client
            .post(format!("{base}/auth/login"))
            .json(&json!({"username": "admin", "password": PASSWORD}))
            .send()
            .await;
        if let Ok(response) = login {
            let body: Value = response.json().await?;
            return Ok(body["tokens"]["accessToken"]
                .as_str()
                .context("no token")?
                .to_owned());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("server at {base} never answered")
}

async fn import(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
) -> anyhow::Result<Value> {
    let url = format!("{base}/api/v1/imports/{id}");
    Ok(client
        .get(url)
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?)
}

async fn killed_mid_import(database: TestDatabase) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(database.url(), port)?;
    let token = login(&client, &base).await?;

    let mut csv = String::from("phone,name,externalId\n");
    for row in 0..ROWS {
        csv.push_str(&format!("+1415{row:07},Person {row},crm-{row}\n"));
    }
    let reply: Value = client
        .post(format!("{base}/api/v1/imports?kind=contacts"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await?
        .json()
        .await?;
    let id = reply["id"].as_str().context("no import id")?.to_owned();

    // Kill once some batches are committed and most are not.
    let mut read_at_kill = 0;
    for _ in 0..2000 {
        read_at_kill = import(&client, &base, &token, &id).await?["rowsRead"]
            .as_u64()
            .unwrap_or(0);
        if read_at_kill >= 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.0.kill()?;
    server.0.wait()?;
    assert!(
        read_at_kill < ROWS as u64,
        "the import ended before the kill: {read_at_kill}"
    );

    server = start(database.url(), port)?;
    let token = login(&client, &base).await?;
    let mut finished = Value::Null;
    for _ in 0..2400 {
        finished = import(&client, &base, &token, &id).await?;
        if finished["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(finished["status"], "completed", "{finished}");
    assert_eq!(finished["rowsRead"], ROWS, "{finished}");
    assert_eq!(
        finished["created"], ROWS,
        "every row applied once: {finished}"
    );
    assert_eq!(finished["failed"], 0, "no row applied twice: {finished}");
    for row in [0, ROWS / 2, ROWS - 1] {
        let page: Value = client
            .get(format!("{base}/api/v1/contacts?externalId=crm-{row}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(
            page["data"].as_array().map(Vec::len),
            Some(1),
            "crm-{row}: {page}"
        );
    }
    drop(server);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_import_resumes_after_kill() -> anyhow::Result<()> {
    killed_mid_import(TestDatabase::sqlite().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_import_resumes_after_kill() -> anyhow::Result<()> {
    killed_mid_import(TestDatabase::postgres().await).await
}
