//! A campaign at size against the fake Twilio Voice: `--contacts` recipients (default 10,000)
//! imported into a draft campaign from one CSV file, `--concurrent` calls on the line at most
//! (default 500; the tenant's cap raised to match), calls lasting `--seconds` fake seconds
//! (default 100, at 10 ms each: one real second), inside a calling window open all week in each
//! recipient's zone (so every call pays for the window check, and none waits for it). It times
//! the import and the drain, and reports dials per second against what the cap allows (cap ÷
//! call length), the duplicates (numbers dialled more than once), the most calls live at once, how full the cap was kept (live
//! calls sampled every 50 ms), how late each freed line was taken again (the attempts' own
//! times: the nth attempt to start once the cap is full against the nth to end), resident
//! memory at the start, middle and end of the drain, and the process's processor time per
//! call (server, fake and this loop together).
//!
//! ```text
//! cargo bench -p switchboard-test-support --bench campaign -- [--contacts N] [--concurrent C]
//!     [--seconds S] [--postgres]
//! ```

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use switchboard_fakes::{Behaviour, FakeVoice};
use switchboard_test_database::TestDatabase;
use switchboard_test_support::TestApp;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

const USAGE: &str = "usage: campaign [--contacts N] [--concurrent C] [--seconds S] [--postgres]";
/// How long one fake call second lasts.
const SECOND: Duration = Duration::from_millis(10);

struct Arguments {
    contacts: usize,
    concurrent: usize,
    seconds: u32,
    postgres: bool,
}

fn arguments() -> anyhow::Result<Arguments> {
    let mut parsed = Arguments {
        contacts: 10_000,
        concurrent: 500,
        seconds: 100,
        postgres: false,
    };
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(arg) = args.next() {
        let mut number =
            || -> anyhow::Result<usize> { args.next().context(USAGE)?.parse().context(USAGE) };
        match arg.as_str() {
            "--contacts" => parsed.contacts = number()?,
            "--concurrent" => parsed.concurrent = number()?,
            "--seconds" => parsed.seconds = u32::try_from(number()?)?,
            "--postgres" => parsed.postgres = true,
            _ => anyhow::bail!(USAGE),
        }
    }
    Ok(parsed)
}

/// This process's resident memory, in MiB.
fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// This process's processor time so far (user + system), from /proc/self/stat.
fn processor_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<u64>().ok())
    };
    let total = ticks(11).unwrap_or(0) + ticks(12).unwrap_or(0);
    Duration::from_millis(total * 10)
}

fn number(n: usize) -> String {
    format!("+1555{n:07}")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let arguments = arguments()?;
    let database = if arguments.postgres {
        TestDatabase::postgres().await
    } else {
        TestDatabase::sqlite().await
    };
    let cap = arguments.concurrent;
    let app = TestApp::spawn_with(database, CancellationToken::new(), |config| {
        config.calls.max_concurrent_per_tenant = i64::try_from(cap).unwrap_or(i64::MAX);
        config.logging.level = "error".into();
    })
    .await?;
    let voice = FakeVoice::start("bench-voice-token").await?;
    voice.set_second(SECOND);
    voice.set_default(Behaviour::Answer {
        seconds: arguments.seconds,
    });
    let admin = app.admin();
    let post = |path: &'static str, body: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let reply = app.post(path, &admin, body).await?;
            anyhow::ensure!(reply.status < 300, "{path}: {}", reply.text);
            anyhow::Ok(reply.body)
        }
    };
    let channel = post(
        "/api/v1/channels",
        json!({"kind": "voice", "name": "bench", "config": {
            "accountSid": "AC0001", "authToken": "bench-voice-token",
            "fromNumber": "+15550100000", "apiBaseUrl": voice.base_url(),
            "answerUrl": "https://voice.example/answer"}}),
    )
    .await?;
    post(
        "/api/v1/credits/grants",
        json!({"amount": 1_000_000_000_i64, "reason": "bench", "idempotencyKey": "bench"}),
    )
    .await?;
    let every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let campaign = post(
        "/api/v1/campaigns",
        json!({"name": "bench", "channelId": channel["id"], "contactIds": [],
            "maxConcurrentCalls": cap, "callsPerSecond": 1000,
            "schedule": {"windows": [{"days": every_day, "start": "00:00", "end": "24:00"}]}}),
    )
    .await?;
    let campaign = campaign["id"]
        .as_str()
        .context("no campaign id")?
        .to_owned();

    let mut csv = String::from("phone,name\n");
    for n in 0..arguments.contacts {
        csv.push_str(&format!("{},Contact {n}\n", number(n)));
    }
    let imported = Instant::now();
    let reply = app
        .client
        .post(app.url(&format!("/api/v1/imports?kind=calls&campaignId={campaign}")))
        .bearer_auth(&app.admin_token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await?;
    let import: Value = reply.json().await?;
    let import_path = format!(
        "/api/v1/imports/{}",
        import["id"].as_str().context("no import id")?
    );
    loop {
        let import = app.get(&import_path, &admin).await?.body;
        if import["status"] != "running" {
            anyhow::ensure!(import["status"] == "completed", "{import}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let import_time = imported.elapsed();

    let path = format!("/api/v1/campaigns/{campaign}");
    let processor = processor_time();
    let started = Instant::now();
    let control = format!("{path}/start");
    let reply = app.post(&control, &admin, json!({})).await?;
    anyhow::ensure!(reply.status == 200, "{}", reply.text);
    let mut memory = vec![resident_mib()];
    let mut samples = Vec::new();
    let mut last_check = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        samples.push(voice.in_progress());
        if last_check.elapsed() >= Duration::from_secs(1) {
            last_check = Instant::now();
            memory.push(resident_mib());
            let state = app.get(&path, &admin).await?.body;
            if state["status"] == "completed" {
                break;
            }
        }
    }
    let drain = started.elapsed();
    let processor = processor_time().saturating_sub(processor);

    let dials = voice.dials();
    let mut per_number = HashMap::new();
    for dial in &dials {
        *per_number.entry(dial.to.clone()).or_insert(0_usize) += 1;
    }
    let duplicates = per_number.values().filter(|count| **count > 1).count();
    let calls = list_calls(&app, &campaign).await?;
    let attempts: Vec<&Value> = calls
        .iter()
        .flat_map(|call| call["attempts"].as_array().into_iter().flatten())
        .collect();
    let refill = refill_lateness(&attempts, cap);
    let call_seconds = SECOND.as_secs_f64() * f64::from(arguments.seconds);
    let allowed = cap as f64 / (call_seconds + 2.0 * SECOND.as_secs_f64());
    let busy: Vec<usize> = samples
        .iter()
        .copied()
        .skip_while(|live| *live == 0)
        .collect();
    let full = busy.iter().sum::<usize>() as f64 / busy.len().max(1) as f64 / cap as f64;
    let quantile = |q: f64| Duration::from_micros(refill.value_at_quantile(q)).as_secs_f64() * 1e3;
    println!(
        "backend {}; {} contacts, cap {cap}, calls of {:.1} s",
        if arguments.postgres {
            "postgres"
        } else {
            "sqlite"
        },
        arguments.contacts,
        call_seconds
    );
    println!(
        "import (calls kind)        {:.2} s",
        import_time.as_secs_f64()
    );
    println!("drain                      {:.2} s", drain.as_secs_f64());
    println!(
        "dials                      {} to {} numbers ({:.1}/s; the cap allows {allowed:.1}/s)",
        dials.len(),
        per_number.len(),
        dials.len() as f64 / drain.as_secs_f64()
    );
    println!("numbers dialled twice      {duplicates}");
    println!(
        "calls / attempts           {} / {} ({} ended completed)",
        calls.len(),
        attempts.len(),
        calls
            .iter()
            .filter(|call| call["outcome"] == "completed")
            .count()
    );
    println!(
        "most live at once          {} (cap {cap})",
        voice.max_concurrent()
    );
    println!(
        "cap kept full              {:.1} % (average of samples)",
        full * 100.0
    );
    println!(
        "line refill lateness       p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} refills)",
        quantile(0.5),
        quantile(0.99),
        refill.max() as f64 / 1e3,
        refill.len()
    );
    let middle = memory.get(memory.len() / 2).copied().unwrap_or(0.0);
    println!(
        "resident memory (MiB)      start {:.1}, middle {middle:.1}, max {:.1}, end {:.1}",
        memory.first().copied().unwrap_or(0.0),
        memory.iter().copied().fold(0.0, f64::max),
        memory.last().copied().unwrap_or(0.0)
    );
    println!(
        "processor time per call    {:.3} ms ({:.1} s over the drain: server, fake and this loop)",
        processor.as_secs_f64() * 1000.0 / dials.len().max(1) as f64,
        processor.as_secs_f64()
    );
    anyhow::ensure!(duplicates == 0, "numbers dialled twice");
    anyhow::ensure!(
        per_number.len() == arguments.contacts,
        "someone was not dialled"
    );
    anyhow::ensure!(voice.max_concurrent() <= cap, "the cap was exceeded");
    Ok(())
}

/// Every call of the campaign, page by page.
async fn list_calls(app: &TestApp, campaign: &str) -> anyhow::Result<Vec<Value>> {
    let admin = app.admin();
    let mut calls = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/api/v1/calls?campaignId={campaign}&limit=200{cursor}");
        let page = app.get(&path, &admin).await?.body;
        calls.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return Ok(calls),
        }
    }
}

fn timestamp(value: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.as_str()?, &Rfc3339).ok()
}

/// Once the cap is full, each attempt begins on a line another freed: the nth attempt to begin
/// after the first `cap` against the nth to end is how long that line stood idle (in µs).
fn refill_lateness(attempts: &[&Value], cap: usize) -> Histogram<u64> {
    let mut starts: Vec<OffsetDateTime> = attempts
        .iter()
        .filter_map(|attempt| timestamp(&attempt["startedAt"]))
        .collect();
    let mut ends: Vec<OffsetDateTime> = attempts
        .iter()
        .filter_map(|attempt| timestamp(&attempt["endedAt"]))
        .collect();
    starts.sort();
    ends.sort();
    let mut histogram = Histogram::<u64>::new(3).unwrap_or_else(|_| unreachable!());
    for (start, end) in starts.iter().skip(cap).zip(&ends) {
        let idle = (*start - *end).whole_microseconds().max(0);
        let _ = histogram.record(u64::try_from(idle).unwrap_or(0));
    }
    histogram
}
