//! Three `switchboard serve` processes over one PostgreSQL database and one Redis of the test's
//! own. Signed webhooks of each conversation are spread over every node, while one node is
//! killed with SIGKILL, one is paused (SIGSTOP) past its leases and resumed, or Redis is
//! restarted. Each time: every acknowledged message answered exactly once, replies at the
//! provider in each conversation's order (repeats only as resends of one idempotency key), each
//! debit once; and a WebSocket client on one node sees what the others did, and resumes on
//! another node without a gap.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{
    Reader, Server, ServerLog, Targets, free_port, login, send_contact, set_up, start_server,
    wait_healthy,
};
use serde_json::{Value, json};
use switchboard_test_support::TestDatabase;
use switchboard_test_support::WsClient;
use switchboard_test_support::fakes::FakeProvider;

const NODES: usize = 3;
const CONTACTS: usize = 8;
const PER_CONTACT: usize = 20;
const CREDITS: i64 = 10_000;

/// A Redis server of the test's own, keeping nothing on disk.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(port: u16) -> anyhow::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Self { child, port })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_up(&self) -> anyhow::Result<()> {
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::bail!("redis on port {} never came up", self.port)
    }

    /// Stops it, everything it held lost, and starts a new one on the same port after `down`.
    async fn restart(&mut self, down: Duration) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        tokio::time::sleep(down).await;
        *self = Self::start(self.port)?;
        self.wait_up().await
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cluster under test: its nodes (a killed one is `None`), Redis, the provider fake.
struct Cluster {
    nodes: Vec<Option<Server>>,
    redis: Redis,
    provider: FakeProvider,
    client: reqwest::Client,
    token: String,
    channel_id: String,
    /// Kept for the test's length: the database goes with it.
    _database: TestDatabase,
}

impl Cluster {
    /// The first node migrates and bootstraps the database; then the others join.
    async fn start(log: &ServerLog) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let database = TestDatabase::postgres().await;
        let redis = Redis::start(free_port()?)?;
        redis.wait_up().await?;
        let provider = FakeProvider::spawn().await?;
        let client = reqwest::Client::new();
        let redis_url = redis.url();
        let mut nodes = Vec::new();
        for _ in 0..NODES {
            let node = start_server(
                database.url(),
                free_port()?,
                log,
                &["--redis-url", &redis_url],
            )?;
            wait_healthy(&client, &node.base).await?;
            nodes.push(Some(node));
        }
        let first = nodes[0]
            .as_ref()
            .map(|node| node.base.clone())
            .unwrap_or_default();
        let token = login(&client, &first).await?;
        let channel_id = set_up(&client, &first, &token, &provider, CREDITS).await?;
        Ok(Self {
            nodes,
            redis,
            provider,
            client,
            token,
            channel_id,
            _database: database,
        })
    }

    fn base(&self, node: usize) -> String {
        self.nodes[node]
            .as_ref()
            .map(|server| server.base.clone())
            .unwrap_or_default()
    }

    fn webhook_targets(&self) -> Targets {
        let urls = (0..NODES)
            .map(|node| format!("{}/webhooks/whatsapp/{}", self.base(node), self.channel_id))
            .collect();
        Arc::new(tokio::sync::RwLock::new(urls))
    }

    fn reader(&self, node: usize) -> Reader {
        Reader {
            client: self.client.clone(),
            base: self.base(node),
            token: self.token.clone(),
        }
    }

    /// Waits until every living node reports a working Redis link and holds its share.
    async fn wait_ready(&self) -> anyhow::Result<()> {
        let mut last = Value::Null;
        for _ in 0..400 {
            let mut ready = true;
            for server in self.nodes.iter().flatten() {
                let response = self
                    .client
                    .get(format!("{}/ready", server.base))
                    .send()
                    .await?;
                ready &= response.status() == 200;
                last = response.json().await.unwrap_or(Value::Null);
            }
            if ready {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the nodes never became ready: {last}")
    }

    /// Every acknowledged message answered once, in order, debited once; returns the resends.
    async fn check(&self, via: usize) -> anyhow::Result<usize> {
        let reader = self.reader(via);
        reader.drain(false).await?;
        let replies = reader
            .check_answered_once_in_order(CONTACTS, PER_CONTACT)
            .await?;
        assert_eq!(replies, CONTACTS * PER_CONTACT);
        let resends = common::check_provider_order(&self.provider, PER_CONTACT, replies)?;
        reader.check_debited_once(CREDITS, replies).await?;
        Ok(resends)
    }
}

/// Starts one sender per contact; returns their tasks and the acknowledgement count.
fn send_all(
    cluster: &Cluster,
    targets: &Targets,
) -> (Vec<tokio::task::JoinHandle<()>>, Arc<AtomicUsize>) {
    let acked = Arc::new(AtomicUsize::new(0));
    let senders = (0..CONTACTS)
        .map(|contact| {
            tokio::spawn(send_contact(
                cluster.client.clone(),
                targets.clone(),
                contact,
                PER_CONTACT,
                acked.clone(),
            ))
        })
        .collect();
    (senders, acked)
}

async fn wait_acked(acked: &AtomicUsize, fraction: usize) {
    let target = CONTACTS * PER_CONTACT * fraction / 100;
    while acked.load(Ordering::Relaxed) < target {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn signal(server: &Server, signal: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args([signal, &server.child.id().to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill {signal} failed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_under_load_loses_nothing_and_others_see_its_events() -> anyhow::Result<()> {
    let log = ServerLog::new()?;
    let mut cluster = Cluster::start(&log).await?;
    cluster.wait_ready().await?;
    // A client on the third node follows the tenant's stream of conversations.
    let mut watcher = WsClient::connect(
        &format!("{}/ws", cluster.base(2).replace("http", "ws")),
        Some(&cluster.token),
    )
    .await?;
    watcher.until("authenticated").await?;
    let subscribed = watcher.subscribe("tenant", None).await?;
    assert_eq!(subscribed["type"], "subscribed", "{subscribed}");

    let targets = cluster.webhook_targets();
    let (senders, acked) = send_all(&cluster, &targets);
    // What the others do reaches the watcher on node 2 ...
    let seen = watcher.events(3).await?;
    assert!(
        seen.iter().all(|event| event["stream"] == "tenant"),
        "{seen:?}"
    );
    // ... and a client that resumes from the first of them on node 0 gets exactly what
    // followed, with the same numbers (the tenant's stream is numbered in Redis).
    let mut resumed = WsClient::connect(
        &format!("{}/ws", cluster.base(0).replace("http", "ws")),
        Some(&cluster.token),
    )
    .await?;
    resumed.until("authenticated").await?;
    let since = json!({"epoch": seen[0]["epoch"], "offset": seen[0]["offset"]});
    let subscribed = resumed.subscribe("tenant", Some(since)).await?;
    assert_eq!(subscribed["recovered"], json!(true), "{subscribed}");
    let replayed = resumed.events(2).await?;
    for (replayed, seen) in replayed.iter().zip(&seen[1..]) {
        assert_eq!(
            (&replayed["epoch"], &replayed["offset"], &replayed["event"]),
            (&seen["epoch"], &seen["offset"], &seen["event"]),
            "resumed on another node without a gap"
        );
    }

    wait_acked(&acked, 40).await;
    let killed = cluster.nodes[1].take().expect("node 1 runs");
    signal(&killed, "-KILL")?;
    drop(killed);
    {
        let mut urls = targets.write().await;
        urls.remove(1);
    }
    for sender in senders {
        sender.await?;
    }
    cluster.check(0).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_paused_past_its_leases_is_fenced_and_loses_nothing() -> anyhow::Result<()> {
    let log = ServerLog::new()?;
    let cluster = Cluster::start(&log).await?;
    cluster.wait_ready().await?;
    let targets = cluster.webhook_targets();
    let (senders, acked) = send_all(&cluster, &targets);
    wait_acked(&acked, 30).await;
    let paused = cluster.nodes[1].as_ref().expect("node 1 runs");
    signal(paused, "-STOP")?;
    // Past its leases (3 s) and past the idle-transaction limit (5 s): the others take its
    // partitions over, and whatever it was doing must not commit when it wakes.
    tokio::time::sleep(Duration::from_secs(8)).await;
    signal(paused, "-CONT")?;
    for sender in senders {
        sender.await?;
    }
    cluster.check(0).await?;
    cluster.wait_ready().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_under_load_costs_latency_not_data() -> anyhow::Result<()> {
    let log = ServerLog::new()?;
    let mut cluster = Cluster::start(&log).await?;
    cluster.wait_ready().await?;
    let targets = cluster.webhook_targets();
    let (senders, acked) = send_all(&cluster, &targets);
    wait_acked(&acked, 40).await;
    cluster.redis.restart(Duration::from_secs(1)).await?;
    for sender in senders {
        sender.await?;
    }
    cluster.check(2).await?;
    // Every node found its way back to the new Redis.
    cluster.wait_ready().await?;
    let ready: Value = cluster
        .client
        .get(format!("{}/ready", cluster.base(1)))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(ready["node"]["redis"]["healthy"], json!(true), "{ready}");
    Ok(())
}

/// Chatwoot sent a campaign's contacts two or three times when another instance picked the
/// running campaign up again. Here every node runs the dialer over one campaign, and one node
/// is killed with SIGKILL while it dials: each contact is still dialled exactly once, the
/// campaign's cap holds across the nodes, and the campaign completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_on_every_node_dials_each_contact_once_under_its_cap() -> anyhow::Result<()> {
    const RECIPIENTS: usize = 60;
    const CAP: usize = 5;
    let log = ServerLog::new()?;
    let mut cluster = Cluster::start(&log).await?;
    cluster.wait_ready().await?;
    let voice = switchboard_test_support::fakes::FakeVoice::start("cluster-voice-token").await?;
    voice.set_default(switchboard_test_support::fakes::Behaviour::Answer { seconds: 20 });
    let admin = cluster.reader(0);
    let post = |path: String, body: Value| {
        let request = cluster
            .client
            .post(format!("{}{path}", cluster.base(0)))
            .bearer_auth(&cluster.token)
            .json(&body);
        async move {
            let response = request.send().await?;
            let status = response.status();
            let body: Value = response.json().await?;
            anyhow::ensure!(status.is_success(), "{path}: {status} {body}");
            anyhow::Ok(body)
        }
    };
    let channel = post(
        "/api/v1/channels".into(),
        json!({"kind": "voice", "name": "Outbound", "config": {
            "accountSid": "AC0001", "authToken": "cluster-voice-token",
            "fromNumber": "+15550100000", "apiBaseUrl": voice.base_url(),
            "answerUrl": "https://voice.example/answer"}}),
    )
    .await?;
    let mut contacts = Vec::new();
    for n in 0..RECIPIENTS {
        let contact = post(
            "/api/v1/contacts".into(),
            json!({"phone": format!("+1555071{n:04}")}),
        )
        .await?;
        contacts.push(contact["id"].clone());
    }
    let campaign = post(
        "/api/v1/campaigns".into(),
        json!({"name": "everywhere", "channelId": channel["id"], "contactIds": contacts,
            "maxConcurrentCalls": CAP, "callsPerSecond": 50}),
    )
    .await?;
    let campaign = campaign["id"].as_str().unwrap_or_default().to_owned();
    post(format!("/api/v1/campaigns/{campaign}/start"), json!({})).await?;

    while voice.dials().len() < RECIPIENTS / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = cluster.nodes[1].take().expect("node 1 runs");
    signal(&killed, "-KILL")?;
    drop(killed);

    let path = format!("/api/v1/campaigns/{campaign}");
    let mut finished = Value::Null;
    for _ in 0..1_200 {
        finished = admin.get(&path).await?;
        if finished["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(finished["status"], "completed", "{finished}");
    assert_eq!(finished["stats"]["completed"], RECIPIENTS);
    for n in 0..RECIPIENTS {
        let number = format!("+1555071{n:04}");
        assert_eq!(voice.dials_to(&number), 1, "dials to {number}");
    }
    assert!(
        voice.max_concurrent() <= CAP,
        "{} calls at once across the nodes, cap {CAP}",
        voice.max_concurrent()
    );
    Ok(())
}
