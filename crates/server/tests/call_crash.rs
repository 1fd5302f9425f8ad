//! Crash safety of calling: a real `switchboard serve` runs a campaign of a few hundred contacts
//! against a fake Twilio Voice and is killed with SIGKILL while calls are being dialled and on
//! the line, then restarted on the same port. Afterwards every contact has the outcome its
//! number's script leads to, nobody was dialled more often than that script allows (a dial in
//! flight at the kill is reconciled under its idempotency key, never dialled blindly), the
//! campaign's cap held, and each connected call was debited once. At several kill points, on
//! SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use anyhow::Context;
use common::{ServerLog, free_port, login, start_server, wait_healthy};
use serde_json::{Value, json};
use switchboard_test_support::TestDatabase;
use switchboard_test_support::fakes::{Behaviour, FakeVoice};

const RECIPIENTS: usize = 200;
const CAP: usize = 20;
const AUTH_TOKEN: &str = "crash-voice-token";

/// What number `n` meets, dial after dial: the outcome it ends with and how many dials that
/// takes under the campaign's retries (busy once, no answer twice, each after no delay).
fn script(n: usize) -> (Vec<Behaviour>, &'static str, usize) {
    let answer = Behaviour::Answer { seconds: 30 };
    match n % 5 {
        0 => (vec![answer], "completed", 1),
        1 => (vec![Behaviour::Busy, answer], "completed", 2),
        2 => (
            vec![
                Behaviour::NoAnswer,
                Behaviour::NoAnswer,
                Behaviour::NoAnswer,
            ],
            "no-answer",
            3,
        ),
        3 => (vec![Behaviour::Voicemail { seconds: 10 }], "voicemail", 1),
        _ => (vec![Behaviour::Fail], "failed", 1),
    }
}

fn number(n: usize) -> String {
    format!("+1555070{n:04}")
}

struct Admin {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    }
}

async fn crash_campaign(database: TestDatabase, kill_after_dials: usize) -> anyhow::Result<()> {
    let log = ServerLog::new()?;
    run(database, kill_after_dials, &log)
        .await
        .with_context(|| format!("server log:\n{}", log.tail()))
}

async fn run(
    database: TestDatabase,
    kill_after_dials: usize,
    log: &ServerLog,
) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let voice = FakeVoice::start(AUTH_TOKEN).await?;
    voice.set_second(Duration::from_millis(10));
    let mut expected_dials = 0;
    for n in 0..RECIPIENTS {
        let (behaviours, _, dials) = script(n);
        voice.script(&number(n), behaviours);
        expected_dials += dials;
    }
    let client = reqwest::Client::new();
    let port = free_port()?;
    let mut server = start_server(database.url(), port, log, &[])?;
    wait_healthy(&client, &server.base).await?;
    let admin = Admin {
        token: login(&client, &server.base).await?,
        client: client.clone(),
        base: server.base.clone(),
    };
    let channel = admin
        .post(
            "/api/v1/channels",
            json!({"kind": "voice", "name": "Outbound", "config": {
                "accountSid": "AC0001", "authToken": AUTH_TOKEN, "fromNumber": "+15550100000",
                "apiBaseUrl": voice.base_url(), "answerUrl": "https://voice.example/answer"}}),
        )
        .await?["id"]
        .as_str()
        .context("no channel id")?
        .to_owned();
    admin
        .post(
            "/api/v1/credits/grants",
            json!({"amount": 100_000, "reason": "test", "idempotencyKey": "grant"}),
        )
        .await?;
    let mut contacts = Vec::new();
    for n in 0..RECIPIENTS {
        let contact = admin
            .post("/api/v1/contacts", json!({"phone": number(n)}))
            .await?;
        contacts.push(contact["id"].clone());
    }
    let campaign = admin
        .post(
            "/api/v1/campaigns",
            json!({"name": "crash", "channelId": channel, "contactIds": contacts,
                "maxConcurrentCalls": CAP, "callsPerSecond": 200,
                "retry": {"busy": {"delaysSeconds": [0]}, "noAnswer": {"delaysSeconds": [0, 0]},
                    "failed": {"delaysSeconds": []}, "voicemail": {"delaysSeconds": []}}}),
        )
        .await?["id"]
        .as_str()
        .context("no campaign id")?
        .to_owned();
    admin
        .post(&format!("/api/v1/campaigns/{campaign}/start"), json!({}))
        .await?;

    while voice.dials().len() < kill_after_dials {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.child.kill()?;
    server.child.wait()?;
    let dials_at_kill = voice.dials().len();
    anyhow::ensure!(
        dials_at_kill < expected_dials && voice.in_progress() > 0,
        "the kill must fall while calls are being made"
    );
    server = start_server(database.url(), port, log, &[])?;
    wait_healthy(&client, &server.base).await?;
    let admin = Admin {
        token: login(&client, &server.base).await?,
        ..admin
    };

    let path = format!("/api/v1/campaigns/{campaign}");
    let mut finished = Value::Null;
    for _ in 0..1_200 {
        finished = admin.get(&path).await?;
        if finished["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::ensure!(
        finished["status"] == "completed",
        "the campaign never completed: {finished}"
    );

    // Nobody was dialled more often than their script allows: no dial was made twice.
    for n in 0..RECIPIENTS {
        let (_, _, dials) = script(n);
        assert_eq!(
            voice.dials_to(&number(n)),
            dials,
            "dials to {} (killed after {dials_at_kill} dials)",
            number(n)
        );
    }
    assert_eq!(voice.dials().len(), expected_dials);
    assert!(
        voice.max_concurrent() <= CAP,
        "{} calls at once, cap {CAP}",
        voice.max_concurrent()
    );

    // Every contact reached the outcome its script leads to.
    let mut outcomes = std::collections::HashMap::new();
    let mut cursor = String::new();
    loop {
        let page = admin
            .get(&format!(
                "/api/v1/calls?campaignId={campaign}&limit=100&cursor={cursor}"
            ))
            .await?;
        for call in page["data"].as_array().into_iter().flatten() {
            outcomes.insert(
                call["to"].as_str().unwrap_or_default().to_owned(),
                call["outcome"].as_str().unwrap_or_default().to_owned(),
            );
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(outcomes.len(), RECIPIENTS);
    for n in 0..RECIPIENTS {
        let (_, outcome, _) = script(n);
        assert_eq!(outcomes[&number(n)], outcome, "outcome of {}", number(n));
    }

    // Each connected call (answered: 30 s; voicemail: 10 s) was debited one minute, once.
    let connected = (0..RECIPIENTS)
        .filter(|n| matches!(script(*n).1, "completed" | "voicemail"))
        .count();
    let balance = admin.get("/api/v1/credits").await?;
    assert_eq!(
        balance["balance"].as_i64(),
        Some(100_000 - connected as i64),
        "{balance}"
    );
    Ok(())
}

macro_rules! kill_points {
    ($($name:ident: $backend:ident at $fraction:expr),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() -> anyhow::Result<()> {
            let dials: usize = (0..RECIPIENTS).map(|n| script(n).2).sum();
            crash_campaign(TestDatabase::$backend().await, dials * $fraction / 100).await
        }
    )*};
}

kill_points! {
    sqlite_killed_early: sqlite at 10,
    sqlite_killed_midway: sqlite at 50,
    postgres_killed_early: postgres at 10,
    postgres_killed_midway: postgres at 50,
}
