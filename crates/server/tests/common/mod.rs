//! What the suites that run real `switchboard serve` processes share: starting servers (their
//! warnings and errors kept for a failing test), signed webhooks sent in order per contact to
//! one or several nodes, and the checks on what came out — every acknowledged message stored
//! once and answered once, replies at the provider in each conversation's order (repeated only
//! as resends of one idempotency key), each reply debited once.

#![allow(dead_code)] // Each suite uses its part.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use switchboard_test_support::fakes::FakeProvider;
use switchboard_test_support::whatsapp_signature;

pub const APP_SECRET: &str = "crash-app-secret";
pub const ADMIN_PASSWORD: &str = "crash-admin-password";

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    /// A failing test must not leave a server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What every server of a test logged (warnings and errors), shown when the test fails.
pub struct ServerLog(tempfile::NamedTempFile);

impl ServerLog {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self(tempfile::NamedTempFile::new()?))
    }

    /// Where a server writes, after what the earlier ones wrote.
    fn output(&self) -> anyhow::Result<Stdio> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.0.path())?;
        Ok(file.into())
    }

    /// The last lines logged.
    pub fn tail(&self) -> String {
        let log = std::fs::read_to_string(self.0.path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(200)..].join("\n")
    }
}

impl Drop for ServerLog {
    /// A failed assertion shows what the servers logged.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("server log:\n{}", self.tail());
        }
    }
}

/// `switchboard serve` on `port` over `database_url`, with `extra` arguments.
pub fn start_server(
    database_url: &str,
    port: u16,
    log: &ServerLog,
    extra: &[&str],
) -> anyhow::Result<Server> {
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
        ])
        .args(extra)
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env(
            "SWITCHBOARD_JWT_SECRET",
            "crash-test-jwt-secret-long-enough-to-use",
        )
        // One key for every node and restart, and no key file left in the working directory.
        .env(
            "SWITCHBOARD_MASTER_KEY",
            "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff",
        )
        .env("SWITCHBOARD_QUEUE_RETRY_BASE_MS", "10")
        .env("SWITCHBOARD_QUEUE_MAX_ATTEMPTS", "1000")
        .env("SWITCHBOARD_WHATSAPP_SENDS_PER_SECOND", "100000")
        // Calls the provider went quiet on are asked about after a second.
        .env("SWITCHBOARD_CALLS_QUIET_AFTER_MS", "1000")
        .env("SWITCHBOARD_LOG_LEVEL", "warn")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log.output()?)
        .spawn()?;
    Ok(Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}

pub async fn wait_healthy(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..400 {
        if client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|response| response.status() == 200)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("server at {base} never became healthy")
}

pub async fn login(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let response: Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    Ok(response["tokens"]["accessToken"]
        .as_str()
        .context("no token")?
        .to_owned())
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// An echo agent on a WhatsApp channel pointed at `provider`, and `credits` granted; returns
/// the channel's id.
pub async fn set_up(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    provider: &FakeProvider,
    credits: i64,
) -> anyhow::Result<String> {
    let admin = |request: reqwest::RequestBuilder| request.bearer_auth(token);
    let agent: Value = admin(client.post(format!("{base}/api/v1/agents")))
        .json(&json!({"name": "Echo", "kind": "echo"}))
        .send()
        .await?
        .json()
        .await?;
    let channel: Value = admin(client.post(format!("{base}/api/v1/channels")))
        .json(&json!({"kind": "whatsapp", "name": "WA", "agentId": agent["id"], "config": {"phoneNumberId": "777",
            "appSecret": APP_SECRET, "verifyToken": "v", "accessToken": "t", "apiBaseUrl": provider.base_url()}}))
        .send()
        .await?
        .json()
        .await?;
    let grant = json!({"amount": credits, "reason": "test", "idempotencyKey": "grant"});
    admin(client.post(format!("{base}/api/v1/credits/grants")))
        .json(&grant)
        .send()
        .await?;
    Ok(channel["id"].as_str().context("no channel")?.to_owned())
}

pub fn webhook_body(contact: usize, n: usize) -> Vec<u8> {
    let from = format!("97260000{contact:04}");
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": "777"},
            "contacts": [{"profile": {"name": "c"}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.{contact}.{n}"), "timestamp": "1697043223",
                "type": "text", "text": {"body": format!("{contact}:{n}")}}]}}]}]});
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Where webhooks go: one URL per node.
pub type Targets = Arc<tokio::sync::RwLock<Vec<String>>>;

/// Sends one contact's `count` messages in order, each until acknowledged, redelivering some
/// right after their acknowledgement (an exact duplicate). Message `n` goes to node
/// `contact + n` (so one conversation's messages land on every node), and after a failure to
/// the next node. Counts acknowledgements in `acked`.
pub async fn send_contact(
    client: reqwest::Client,
    targets: Targets,
    contact: usize,
    count: usize,
    acked: Arc<AtomicUsize>,
) {
    let mut node = contact;
    for n in 0..count {
        let body = webhook_body(contact, n);
        let signature = whatsapp_signature(APP_SECRET, &body);
        let copies = if n % 5 == 0 { 2 } else { 1 };
        node += 1;
        for _ in 0..copies {
            loop {
                let target = {
                    let targets = targets.read().await;
                    targets[node % targets.len()].clone()
                };
                let sent = client
                    .post(&target)
                    .header("x-hub-signature-256", &signature)
                    .body(body.clone())
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                if sent.is_ok_and(|response| response.status() == 200) {
                    acked.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                // Down or refusing (429/503): a provider redelivers after a pause, here to
                // another node.
                node += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Reads the API of one node as the admin.
pub struct Reader {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Reader {
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Ok(response.json().await?)
    }

    /// Waits until nothing is accepted and not yet stored, pending or sending, and
    /// `local_idle` (the node's own queue) holds; fails on dead letters or after a minute.
    pub async fn drain(&self, local_idle: bool) -> anyhow::Result<Value> {
        let mut stats = Value::Null;
        for _ in 0..2400 {
            stats = self.get("/api/v1/queue/stats").await?;
            let stored = &stats["stored"];
            let idle = stored["accepted"] == 0 && stored["pending"] == 0 && stored["sending"] == 0;
            if idle && (!local_idle || stats["node"]["depth"] == 0) {
                anyhow::ensure!(stored["dead"] == 0, "dead letters: {stats}");
                return Ok(stats);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::bail!("the queue never drained: {stats}")
    }

    /// Every acknowledged message of `contacts` × `per_contact` stored once and answered once
    /// in order, every reply sent; returns the number of replies.
    pub async fn check_answered_once_in_order(
        &self,
        contacts: usize,
        per_contact: usize,
    ) -> anyhow::Result<usize> {
        let conversations = self.get("/api/v1/conversations?limit=200").await?;
        let conversations = conversations["data"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(conversations.len(), contacts);
        let mut replies_total = 0;
        for conversation in &conversations {
            let messages = self
                .get(&format!(
                    "/api/v1/conversations/{}/messages?order=asc&limit=200",
                    conversation["id"].as_str().unwrap_or_default()
                ))
                .await?;
            let messages = messages["data"].as_array().cloned().unwrap_or_default();
            let of = |direction: &str| -> Vec<Value> {
                messages
                    .iter()
                    .filter(|message| message["direction"] == direction)
                    .cloned()
                    .collect()
            };
            let (inbound, outbound) = (of("inbound"), of("outbound"));
            let ids: HashSet<_> = inbound
                .iter()
                .map(|message| message["providerMessageId"].clone())
                .collect();
            assert_eq!(ids.len(), inbound.len(), "a provider id stored twice");
            assert_eq!(
                inbound.len(),
                per_contact,
                "every acknowledged message stored"
            );
            let texts = |list: &[Value]| {
                list.iter()
                    .map(|message| message["text"].clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                texts(&outbound),
                texts(&inbound),
                "one reply per message, in order"
            );
            assert!(
                outbound.iter().all(|message| message["status"] == "sent"),
                "every reply delivered"
            );
            replies_total += outbound.len();
        }
        Ok(replies_total)
    }

    /// The balance fell by `replies` and the ledger holds one debit per reply.
    pub async fn check_debited_once(&self, credits: i64, replies: usize) -> anyhow::Result<()> {
        let balance = self.get("/api/v1/credits").await?;
        assert_eq!(balance["balance"], json!(credits - replies as i64));
        let mut debits = HashMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(cursor) => format!("/api/v1/credits/ledger?limit=200&cursor={cursor}"),
                None => "/api/v1/credits/ledger?limit=200".into(),
            };
            let page = self.get(&path).await?;
            for entry in page["data"].as_array().into_iter().flatten() {
                if entry["amount"] == -1 {
                    let key = entry["idempotencyKey"].as_str().unwrap_or_default();
                    *debits.entry(key.to_owned()).or_insert(0) += 1;
                }
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(debits.len(), replies);
        assert!(
            debits.values().all(|count| *count == 1),
            "a reply debited twice"
        );
        Ok(())
    }
}

/// At the provider: each reply's first arrival in its conversation's order, `replies` in all;
/// returns how many requests repeated an idempotency key already answered (resends).
pub fn check_provider_order(
    provider: &FakeProvider,
    per_contact: usize,
    replies: usize,
) -> anyhow::Result<usize> {
    let mut first_seen: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut keys = HashSet::new();
    let mut resends = 0;
    for request in provider
        .requests()
        .iter()
        .filter(|request| request.status == 200)
    {
        let key = request
            .header("idempotency-key")
            .unwrap_or_default()
            .to_owned();
        if !keys.insert(key) {
            resends += 1;
            continue;
        }
        let text = request.body["text"]["body"].as_str().unwrap_or_default();
        let (contact, n) = text.split_once(':').context("reply text")?;
        first_seen
            .entry(contact.to_owned())
            .or_default()
            .push(n.parse()?);
    }
    for (contact, order) in &first_seen {
        assert_eq!(
            order,
            &(0..per_contact).collect::<Vec<_>>(),
            "contact {contact} out of order"
        );
    }
    assert_eq!(keys.len(), replies, "each reply reached the provider");
    Ok(resends)
}
