//! The `switchboard` binary as an operator uses it: first start with a generated password,
//! admin subcommands, configuration printing, refusal of bad settings, graceful stop.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn switchboard(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .arg("--database-url")
        .arg(database_url)
        .env_remove("SWITCHBOARD_ADMIN_PASSWORD")
        .env_remove("RUST_LOG")
        .env("SWITCHBOARD_LOG_LEVEL", "warn");
    command
}

fn run_json(command: &mut Command) -> anyhow::Result<Value> {
    let output = command.output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(output.status.success(), "failed: {stderr}");
    serde_json::from_slice(&output.stdout).map_err(|error| {
        anyhow::anyhow!(
            "{error}: {}\n{stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Kills the child when dropped, so a failing test leaves no server behind.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.0.to_string()])
            .status();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[tokio::test]
async fn first_start_prints_a_password_that_logs_in_and_sigterm_stops_cleanly() -> anyhow::Result<()>
{
    let _ = rustls::crypto::ring::default_provider().install_default();
    let directory = tempfile::tempdir()?;
    let database_url = format!(
        "sqlite://{}/data/switchboard.db",
        directory.path().display()
    );
    let port = free_port()?;
    let mut server = switchboard(&database_url)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let _reaper = Reaper(server.id());
    let stderr = server
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let password = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut previous_was_intro = false;
        for line in lines.by_ref() {
            let line = line.ok()?;
            if previous_was_intro && !line.trim().is_empty() {
                return Some(line.trim().to_owned());
            }
            previous_was_intro |= line.contains("with password");
        }
        None
    })
    .await?
    .ok_or_else(|| anyhow::anyhow!("no generated password printed"))?;

    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut healthy = false;
    for _ in 0..100 {
        if client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(healthy, "server never answered /health");
    let login = client
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": password}))
        .send()
        .await?;
    assert_eq!(login.status(), 200);
    let body: Value = login.json().await?;
    assert_eq!(body["user"]["role"], "platform-admin");

    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()?;
    let status = tokio::task::spawn_blocking(move || server.wait()).await??;
    assert!(status.success(), "exit status {status}");
    assert!(directory.path().join("data/switchboard.db").exists());
    Ok(())
}

#[test]
fn admin_subcommands_create_tenant_user_and_key() -> anyhow::Result<()> {
    let directory = tempfile::tempdir()?;
    let database_url = format!("sqlite://{}/switchboard.db", directory.path().display());
    let tenant =
        run_json(switchboard(&database_url).args(["admin", "create-tenant", "--name", "Acme"]))?;
    let tenant_id = tenant["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(tenant["name"], "Acme");
    let user = run_json(
        switchboard(&database_url)
            .args([
                "admin",
                "create-user",
                "--tenant",
                &tenant_id,
                "--username",
                "bob",
                "--role",
                "agent",
            ])
            .env("SWITCHBOARD_NEW_USER_PASSWORD", "bobs-long-password"),
    )?;
    assert_eq!(user["tenantId"], tenant_id.as_str());
    assert_eq!(user["role"], "agent");
    let key = run_json(switchboard(&database_url).args([
        "admin",
        "create-api-key",
        "--username",
        "bob",
        "--name",
        "ci",
    ]))?;
    assert!(
        key["key"]
            .as_str()
            .is_some_and(|key| key.starts_with("sb_")),
        "{key}"
    );
    assert_eq!(key["role"], "agent");

    let unknown_tenant = switchboard(&database_url)
        .args([
            "admin",
            "create-user",
            "--tenant",
            "01900000-0000-7000-8000-000000000000",
            "--username",
            "eve",
        ])
        .env("SWITCHBOARD_NEW_USER_PASSWORD", "eves-long-password")
        .output()?;
    assert!(!unknown_tenant.status.success());
    assert!(String::from_utf8_lossy(&unknown_tenant.stderr).contains("tenantId"));
    Ok(())
}

#[test]
fn config_redacts_secrets_and_bad_settings_name_the_field() -> anyhow::Result<()> {
    let output = switchboard("postgres://app:db-password@localhost/switchboard")
        .arg("config")
        .env(
            "SWITCHBOARD_JWT_SECRET",
            "a-jwt-secret-that-is-long-enough-to-use",
        )
        .output()?;
    assert!(output.status.success());
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("listen = \"127.0.0.1:3000\""), "{printed}");
    assert!(
        !printed.contains("db-password") && !printed.contains("a-jwt-secret"),
        "{printed}"
    );

    let refused = switchboard("sqlite://x.db")
        .arg("config")
        .env("SWITCHBOARD_LISTEN", "nowhere")
        .output()?;
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("listen"), "{message}");
    Ok(())
}
