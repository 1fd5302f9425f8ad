//! Crash safety: a real `switchboard serve` process takes concurrent signed webhooks (with
//! exact duplicates), is killed with SIGKILL mid-stream, restarts and drains. Then every
//! acknowledged message exists exactly once, each got exactly one reply, replies reached the
//! provider in each conversation's order (repeated only as resends of the same idempotency key),
//! each reply was debited once, and analytics count each of them once. Repeated at several kill
//! points, on SQLite and PostgreSQL.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use switchboard_test_support::fakes::FakeProvider;
use switchboard_test_support::{TestDatabase, whatsapp_signature};

const APP_SECRET: &str = "crash-app-secret";
const ADMIN_PASSWORD: &str = "crash-admin-password";
const CONTACTS: usize = 8;
const PER_CONTACT: usize = 25;
const CREDITS: i64 = 10_000;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    /// A failing test must not leave a server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What both servers of a test logged (warnings and errors), shown when the test fails.
struct ServerLog(tempfile::NamedTempFile);

impl ServerLog {
    fn new() -> anyhow::Result<Self> {
        Ok(Self(tempfile::NamedTempFile::new()?))
    }

    /// Where a server writes, after what the earlier one wrote.
    fn output(&self) -> anyhow::Result<Stdio> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.0.path())?;
        Ok(file.into())
    }

    /// The last lines logged.
    fn tail(&self) -> String {
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

fn start_server(database_url: &str, port: u16, log: &ServerLog) -> anyhow::Result<Server> {
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
        ])
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env(
            "SWITCHBOARD_JWT_SECRET",
            "crash-test-jwt-secret-long-enough-to-use",
        )
        .env("SWITCHBOARD_QUEUE_RETRY_BASE_MS", "10")
        .env("SWITCHBOARD_QUEUE_MAX_ATTEMPTS", "1000")
        .env("SWITCHBOARD_WHATSAPP_SENDS_PER_SECOND", "100000")
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

async fn wait_healthy(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
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

async fn login(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
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

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn webhook_body(contact: usize, n: usize) -> Vec<u8> {
    let from = format!("97260000{contact:04}");
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": "777"},
            "contacts": [{"profile": {"name": "c"}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.{contact}.{n}"), "timestamp": "1697043223",
                "type": "text", "text": {"body": format!("{contact}:{n}")}}]}}]}]});
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Sends one contact's messages in order, each until acknowledged, redelivering some right after
/// their acknowledgement (an exact duplicate). Counts acknowledgements in `acked`.
async fn send_contact(
    client: reqwest::Client,
    url: Arc<tokio::sync::RwLock<String>>,
    contact: usize,
    acked: Arc<AtomicUsize>,
) {
    for n in 0..PER_CONTACT {
        let body = webhook_body(contact, n);
        let signature = whatsapp_signature(APP_SECRET, &body);
        let copies = if n % 5 == 0 { 2 } else { 1 };
        for _ in 0..copies {
            loop {
                let target = url.read().await.clone();
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
                // Down or refusing (429/503): a provider redelivers after a pause.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

async fn crash_and_recover(database: TestDatabase, kill_after: usize) -> anyhow::Result<()> {
    let log = ServerLog::new()?;
    kill_and_check(database, kill_after, &log)
        .await
        .with_context(|| format!("server log:\n{}", log.tail()))
}

async fn kill_and_check(
    database: TestDatabase,
    kill_after: usize,
    log: &ServerLog,
) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = time::OffsetDateTime::now_utc();
    let provider = FakeProvider::spawn().await?;
    let client = reqwest::Client::new();
    let port = free_port()?;
    let mut server = start_server(database.url(), port, log)?;
    wait_healthy(&client, &server.base).await?;
    let token = login(&client, &server.base).await?;
    let admin = |request: reqwest::RequestBuilder| request.bearer_auth(&token);
    let agent: Value = admin(client.post(format!("{}/api/v1/agents", server.base)))
        .json(&json!({"name": "Echo", "kind": "echo"}))
        .send()
        .await?
        .json()
        .await?;
    let channel: Value = admin(client.post(format!("{}/api/v1/channels", server.base)))
        .json(&json!({"kind": "whatsapp", "name": "WA", "agentId": agent["id"], "config": {"phoneNumberId": "777",
            "appSecret": APP_SECRET, "verifyToken": "v", "accessToken": "t", "apiBaseUrl": provider.base_url()}}))
        .send()
        .await?
        .json()
        .await?;
    let grant = json!({"amount": CREDITS, "reason": "crash test", "idempotencyKey": "crash"});
    admin(client.post(format!("{}/api/v1/credits/grants", server.base)))
        .json(&grant)
        .send()
        .await?;
    let channel_id = channel["id"].as_str().context("no channel")?.to_owned();

    let url = Arc::new(tokio::sync::RwLock::new(format!(
        "{}/webhooks/whatsapp/{channel_id}",
        server.base
    )));
    let acked = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..CONTACTS)
        .map(|contact| {
            tokio::spawn(send_contact(
                client.clone(),
                url.clone(),
                contact,
                acked.clone(),
            ))
        })
        .collect();

    // Kill once `kill_after` webhooks were acknowledged: mid-stream, with work in flight.
    while acked.load(Ordering::Relaxed) < kill_after {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.child.kill()?;
    server.child.wait()?;
    let acknowledged_before_kill = acked.load(Ordering::Relaxed);

    let restarted = start_server(database.url(), port, log)?;
    server = restarted;
    wait_healthy(&client, &server.base).await?;
    for sender in senders {
        sender.await?;
    }
    let token = login(&client, &server.base).await?;
    let get = |path: String| {
        let request = client
            .get(format!("{}{path}", server.base))
            .bearer_auth(&token);
        async move { anyhow::Ok(request.send().await?.json::<Value>().await?) }
    };

    // Drain: nothing accepted and not yet stored, nothing pending, nothing sending, nothing dead.
    let mut drained = false;
    let mut stats = Value::Null;
    for _ in 0..1200 {
        stats = get("/api/v1/queue/stats".into()).await?;
        let stored = &stats["stored"];
        let idle = stored["accepted"] == 0 && stored["pending"] == 0 && stored["sending"] == 0;
        if idle && stats["node"]["depth"] == 0 {
            anyhow::ensure!(stored["dead"] == 0, "dead letters: {stats}");
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::ensure!(drained, "the queue never drained: {stats}");

    // Every message exactly once, each answered once, in order.
    let conversations = get("/api/v1/conversations?limit=200".into()).await?;
    let conversations = conversations["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(conversations.len(), CONTACTS);
    let mut replies_total = 0;
    for conversation in &conversations {
        let messages = get(format!(
            "/api/v1/conversations/{}/messages?order=asc&limit=200",
            conversation["id"].as_str().unwrap_or_default()
        ))
        .await?;
        let messages = messages["data"].as_array().cloned().unwrap_or_default();
        let inbound: Vec<_> = messages
            .iter()
            .filter(|message| message["direction"] == "inbound")
            .collect();
        let outbound: Vec<_> = messages
            .iter()
            .filter(|message| message["direction"] == "outbound")
            .collect();
        let ids: HashSet<_> = inbound
            .iter()
            .map(|message| message["providerMessageId"].clone())
            .collect();
        assert_eq!(ids.len(), inbound.len(), "a provider id stored twice");
        assert_eq!(
            inbound.len(),
            PER_CONTACT,
            "every acknowledged message stored"
        );
        let texts = |list: &[&Value]| {
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

    // At the provider: each reply's first arrival in per-conversation order; repeats only as
    // resends of the same idempotency key.
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
            &(0..PER_CONTACT).collect::<Vec<_>>(),
            "contact {contact} out of order"
        );
    }
    assert_eq!(keys.len(), replies_total, "each reply reached the provider");
    // At most one send per conversation was in flight at the kill, and each resend is counted.
    assert!(
        resends <= CONTACTS,
        "more resends than sends in flight at the kill: {resends}"
    );
    let stats = get("/api/v1/queue/stats".into()).await?;
    let counted = stats["node"]["resentTotal"].as_u64().unwrap_or(0) as usize;
    assert!(
        resends <= counted,
        "{resends} resends reached the provider, {counted} counted"
    );

    // Each reply debited once.
    let balance = get("/api/v1/credits".into()).await?;
    assert_eq!(balance["balance"], json!(CREDITS - replies_total as i64));
    let mut debits = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/credits/ledger?limit=200&cursor={cursor}"),
            None => "/api/v1/credits/ledger?limit=200".into(),
        };
        let page = get(path).await?;
        for entry in page["data"].as_array().into_iter().flatten() {
            if entry["amount"] == -1 {
                *debits
                    .entry(
                        entry["idempotencyKey"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    )
                    .or_insert(0) += 1;
            }
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(debits.len(), replies_total);
    assert!(debits.values().all(|count| *count == 1));
    assert!(acknowledged_before_kill >= kill_after);

    // Analytics: the kill fell among folds of the roll-ups; once the fold loop catches up they
    // count every message, reply and debit once, and stay so.
    let summary = format!(
        "/api/v1/analytics/summary?from={}&to={}",
        rfc3339(started - time::Duration::minutes(1)),
        rfc3339(time::OffsetDateTime::now_utc() + time::Duration::minutes(1))
    );
    let expected = json!({
        "conversationsOpened": CONTACTS,
        "messagesInbound": CONTACTS * PER_CONTACT,
        "messagesOutbound": replies_total,
        "creditsSpent": replies_total,
    });
    let counted = |current: &Value| {
        json!({
            "conversationsOpened": current["conversationsOpened"],
            "messagesInbound": current["messagesInbound"],
            "messagesOutbound": current["messagesOutbound"],
            "creditsSpent": current["creditsSpent"],
        })
    };
    let mut current = Value::Null;
    for _ in 0..200 {
        current = get(summary.clone()).await?["current"].clone();
        if counted(&current) == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(counted(&current), expected, "analytics after the crash");
    assert_eq!(
        current["agentLatencyMs"]["count"], current["runsCompleted"],
        "one latency per completed run"
    );
    // Two more rounds of the fold loop change nothing.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let later = get(summary).await?["current"].clone();
    assert_eq!(
        counted(&later),
        expected,
        "analytics counted something twice"
    );

    Ok(())
}

fn rfc3339(time: time::OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

macro_rules! kill_points {
    ($($name:ident: $backend:ident at $fraction:expr),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() -> anyhow::Result<()> {
            let total = CONTACTS * PER_CONTACT;
            crash_and_recover(TestDatabase::$backend().await, total * $fraction / 100).await
        }
    )*};
}

kill_points! {
    sqlite_killed_early: sqlite at 10,
    sqlite_killed_midway: sqlite at 50,
    sqlite_killed_late: sqlite at 90,
    postgres_killed_early: postgres at 10,
    postgres_killed_midway: postgres at 50,
    postgres_killed_late: postgres at 90,
}
