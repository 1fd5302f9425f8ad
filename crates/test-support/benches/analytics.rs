//! Analytics at production size: seeds one tenant with `--messages` messages (default
//! 10,000,000) over `--days` days in bulk SQL — conversations on four channels, a contact
//! message and an agent reply in turn, a run and a debit per reply, half the conversations
//! resolved and a tenth handed off; rebuilds the roll-ups from them (timed: facts per second,
//! folded in time order as live facts are), then times the dashboard's queries
//! through the engine, `--iterations` times each, and prints p50, p95 and max.
//!
//! ```text
//! cargo bench -p switchboard-test-support --bench analytics -- [--messages N] [--days D]
//!     [--iterations K] [--postgres]
//! ```

use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use switchboard_analytics::{Counter, Distribution, Interval, Measure};
use switchboard_core::{AgentKind, ChannelConfig, ChannelKind, Credits, TenantId};
use switchboard_engine::{AnalyticsFilter, AnalyticsQuery, Engine, Series};
use switchboard_server::{App, Config, DatabaseUrl, Secret};
use switchboard_store::{
    Backend, DatabaseOptions, Keyring, MasterKey, NewAgent, NewChannel, Store,
};
use switchboard_test_database::TestDatabase;
use switchboard_test_support::MASTER_KEY;
use time::OffsetDateTime;

/// The server's allocator, so the reads timed here allocate as the server's do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: analytics [--messages N] [--days D] [--iterations K] [--postgres]";
const DAY: i64 = 86_400_000;
/// Messages per conversation.
const PER_CONVERSATION: i64 = 50;
/// Rows per seeding statement.
const CHUNK: i64 = 500_000;

struct Arguments {
    messages: i64,
    days: i64,
    iterations: usize,
    postgres: bool,
}

fn arguments() -> anyhow::Result<Arguments> {
    let mut parsed = Arguments {
        messages: 10_000_000,
        days: 90,
        iterations: 50,
        postgres: false,
    };
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    while let Some(arg) = args.next() {
        let mut number =
            || -> anyhow::Result<i64> { args.next().context(USAGE)?.parse().context(USAGE) };
        match arg.as_str() {
            "--messages" => parsed.messages = number()?,
            "--days" => parsed.days = number()?,
            "--iterations" => parsed.iterations = usize::try_from(number()?)?,
            "--postgres" => parsed.postgres = true,
            _ => anyhow::bail!(USAGE),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = arguments()?;
    let database = if arguments.postgres {
        TestDatabase::postgres().await
    } else {
        TestDatabase::sqlite().await
    };
    let mut options = DatabaseOptions::new(database.url());
    options.sqlite_full_sync = false;
    // The channels' secrets are sealed under the key the engine below opens them with.
    let keyring = Keyring::new(MasterKey::parse(MASTER_KEY)?, Vec::new());
    let store = Store::connect_with_keyring(options, keyring).await?;
    store.migrate().await?;
    let started = Instant::now();
    let tenant_id = seed(&store, &arguments).await?;
    println!(
        "seeded {} messages over {} days on {} in {:.0} s",
        arguments.messages,
        arguments.days,
        store.backend().as_str(),
        started.elapsed().as_secs_f64()
    );
    drop(store);

    let mut config = Config::default();
    config.database.url = DatabaseUrl::parse(database.url())?;
    config.auth.jwt_secret = Some(Secret::new("analytics-bench-secret-long-enough-0123456789"));
    config.auth.admin_password = Some(Secret::new("analytics-bench"));
    config.secrets.master_key = Some(Secret::new(MASTER_KEY));
    config.logging.level = "warn".into();
    let (app, _) = App::build(&config).await?;
    let engine = app.engine().clone();
    // The seeding's facts came in table order; a rebuild folds them again in time order, as
    // live facts arrive.
    let started = Instant::now();
    let rebuilt = engine.rebuild_analytics().await?;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "rebuilt the roll-ups from {} facts in {elapsed:.0} s: {:.0} facts/s",
        rebuilt.facts,
        rebuilt.facts as f64 / elapsed
    );
    measure(&engine, tenant_id, &arguments).await?;
    engine.shutdown().await;
    Ok(())
}

/// Creates the tenant, its channels and agents through the store, then the rows in bulk.
async fn seed(store: &Store, arguments: &Arguments) -> anyhow::Result<TenantId> {
    let tenant = store.create_tenant("analytics-bench".into()).await?;
    let mut channels = Vec::new();
    for n in 0..4 {
        let agent = store
            .create_agent(
                tenant.id,
                NewAgent {
                    name: format!("agent {n}"),
                    kind: AgentKind::Echo,
                    config: serde_json::json!({}),
                    cost_per_run: Credits(1),
                },
            )
            .await?;
        let channel = store
            .create_channel(
                tenant.id,
                NewChannel {
                    name: format!("channel {n}"),
                    agent_id: Some(agent.id),
                    config: ChannelConfig::parse(
                        ChannelKind::Api,
                        serde_json::json!({"signingSecret": "bench-signing-secret"}),
                    )?,
                },
            )
            .await?;
        channels.push(channel.id.to_string());
    }
    let conversations = arguments.messages / PER_CONVERSATION;
    let span = arguments.days * DAY;
    let base = OffsetDateTime::now_utc().unix_timestamp() * 1000 - span;
    let postgres = store.backend() == Backend::Postgres;
    let tenant_id = tenant.id.to_string();
    let plan = Plan {
        postgres,
        tenant_id: &tenant_id,
        channels: &channels,
        conversations,
        base,
        span,
    };
    for (start, end) in chunks(conversations) {
        run(store, plan.conversations(start, end)).await?;
    }
    for (start, end) in chunks(arguments.messages) {
        run(store, plan.messages(start, end)).await?;
        run(store, plan.runs(start, end)).await?;
        run(store, plan.debits(start, end)).await?;
    }
    run(store, plan.statuses()).await?;
    Ok(tenant.id)
}

fn chunks(total: i64) -> impl Iterator<Item = (i64, i64)> {
    (0..total)
        .step_by(usize::try_from(CHUNK).unwrap_or(1))
        .map(move |start| (start, (start + CHUNK).min(total)))
}

async fn run(store: &Store, statement: String) -> anyhow::Result<()> {
    store
        .database()
        .write(move |connection| {
            Box::pin(async move {
                switchboard_database::query(statement)
                    .execute(connection)
                    .await
                    .map(drop)
            })
        })
        .await
        .map_err(Into::into)
}

/// The bulk statements: row `i` of each table, numbered `[start, end)`.
struct Plan<'a> {
    postgres: bool,
    tenant_id: &'a str,
    channels: &'a [String],
    conversations: i64,
    base: i64,
    span: i64,
}

impl Plan<'_> {
    /// `SELECT {select}` for the numbers `i` in `[start, end)` that meet `filter`, inserted
    /// into `{insert}`.
    fn numbered(&self, insert: &str, select: &str, filter: &str, range: (i64, i64)) -> String {
        let (start, last) = (range.0, range.1 - 1);
        if self.postgres {
            format!(
                "INSERT INTO {insert} SELECT {select}
                 FROM generate_series(CAST({start} AS BIGINT), {last}) AS n(i) WHERE {filter}"
            )
        } else {
            format!(
                "WITH RECURSIVE n(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM n WHERE i < {last})
                 INSERT INTO {insert} SELECT {select} FROM n WHERE {filter}"
            )
        }
    }

    /// Row `number`'s id: a UUID whose first group says the table (`kind`) and last the number.
    fn id(&self, kind: u8, number: &str) -> String {
        let digits = if self.postgres {
            format!("lpad(CAST({number} AS TEXT), 12, '0')")
        } else {
            format!("printf('%012d', {number})")
        };
        format!("'0000000{kind}-0000-7000-8000-' || {digits}")
    }

    fn conversation_created(&self, k: &str) -> String {
        format!(
            "{} + ({k}) * {} / {}",
            self.base, self.span, self.conversations
        )
    }

    fn conversations(&self, start: i64, end: i64) -> String {
        let channel = format!(
            "CASE i % 4 {} END",
            self.channels
                .iter()
                .enumerate()
                .map(|(n, id)| format!("WHEN {n} THEN '{id}'"))
                .collect::<String>()
        );
        self.numbered(
            "conversations (id, tenant_id, channel_id, type, status, last_seq, last_activity_at,
                created_at, updated_at)",
            &format!(
                "{id}, '{}', {channel}, 'direct', 'open', {PER_CONVERSATION}, {created}, {created},
                 {created}",
                self.tenant_id,
                created = self.conversation_created("i"),
                id = self.id(1, "i"),
            ),
            "1 = 1",
            (start, end),
        )
    }

    /// Message `i` is number `i / C + 1` of conversation `i % C`: contacts write the odd ones,
    /// the agent answers with the even ones, 20 s apart.
    fn messages(&self, start: i64, end: i64) -> String {
        let c = self.conversations;
        let seq = format!("(i / {c} + 1)");
        self.numbered(
            "messages (id, tenant_id, conversation_id, channel_id, seq, direction, author_kind,
                type, status, created_at)",
            &format!(
                "{id}, '{tenant}', {conversation},
                 (SELECT channel_id FROM conversations WHERE id = {conversation}), {seq},
                 CASE WHEN {seq} % 2 = 1 THEN 'inbound' ELSE 'outbound' END,
                 CASE WHEN {seq} % 2 = 1 THEN 'contact' ELSE 'agent' END,
                 'text', 'sent', {created} + {seq} * 20000 + (i * 7919) % 15000",
                tenant = self.tenant_id,
                created = self.conversation_created(&format!("i % {c}")),
                id = self.id(2, "i"),
                conversation = self.id(1, &format!("i % {c}")),
            ),
            "1 = 1",
            (start, end),
        )
    }

    /// A run per reply (messages with an even number), answering the message before it.
    fn runs(&self, start: i64, end: i64) -> String {
        let c = self.conversations;
        self.numbered(
            "runs (id, tenant_id, conversation_id, message_ids, context_message_ids, status,
                events, started_at, finished_at)",
            &format!(
                "{id}, '{tenant}', {conversation}, '[\"' || {answered} || '\"]', '[]',
                 CASE WHEN i % 20 = 0 THEN 'failed' ELSE 'completed' END, '[]',
                 {started}, {started} + 200 + (i * 7919) % 3000",
                tenant = self.tenant_id,
                id = self.id(3, "i"),
                conversation = self.id(1, &format!("i % {c}")),
                answered = self.id(2, &format!("i - {c}")),
                started = format!(
                    "{} + (i / {c} + 1) * 20000 - 19000 + (i * 31) % 500",
                    self.conversation_created(&format!("i % {c}"))
                ),
            ),
            &format!("(i / {c}) % 2 = 1"),
            (start, end),
        )
    }

    /// A debit per completed run, under its ledger key.
    fn debits(&self, start: i64, end: i64) -> String {
        let c = self.conversations;
        self.numbered(
            "credit_ledger (id, tenant_id, amount, balance_after, reason, idempotency_key,
                created_at)",
            &format!(
                "{id}, '{tenant}', -1, 0, 'agent run', 'run:' || {answered},
                 {created} + (i / {c} + 1) * 20000",
                tenant = self.tenant_id,
                created = self.conversation_created(&format!("i % {c}")),
                id = self.id(4, "i"),
                answered = self.id(2, &format!("i - {c}")),
            ),
            &format!("(i / {c}) % 2 = 1 AND i % 20 <> 0"),
            (start, end),
        )
    }

    /// Half the conversations resolved after up to a day, a tenth handed off after an hour.
    fn statuses(&self) -> String {
        format!(
            "UPDATE conversations SET
                 status = CASE WHEN CAST(substr(id, 25) AS BIGINT) % 2 = 0 THEN 'resolved' ELSE 'pending' END,
                 updated_at = created_at + 3600000 + (CAST(substr(id, 25) AS BIGINT) * 7919) % {DAY}
             WHERE tenant_id = '{}' AND (CAST(substr(id, 25) AS BIGINT) % 2 = 0
                 OR CAST(substr(id, 25) AS BIGINT) % 10 = 1)",
            self.tenant_id
        )
    }
}

/// Times each dashboard query `iterations` times.
async fn measure(
    engine: &Engine,
    tenant_id: TenantId,
    arguments: &Arguments,
) -> anyhow::Result<()> {
    let caller = Engine::operator(tenant_id);
    let now = OffsetDateTime::now_utc();
    let days = |n: i64| AnalyticsQuery {
        from: now - time::Duration::days(n),
        to: now,
        filter: AnalyticsFilter::default(),
    };
    println!(
        "query                                   p50 ms   p95 ms   max ms   (load {})",
        load_average()
    );
    let timed = |name: &str, histogram: &Histogram<u64>| {
        println!(
            "{name:<38} {:>7.2}  {:>7.2}  {:>7.2}",
            histogram.value_at_quantile(0.5) as f64 / 1000.0,
            histogram.value_at_quantile(0.95) as f64 / 1000.0,
            histogram.max() as f64 / 1000.0
        );
    };
    for (name, period) in [
        ("summary, 7 days", 7),
        ("summary, 30 days", 30),
        ("summary, 90 days", 90),
    ] {
        let query = days(period);
        let histogram = repeat(arguments.iterations, || {
            engine.analytics_summary(&caller, &query)
        })
        .await?;
        timed(name, &histogram);
    }
    let mut channel = days(30);
    channel.filter.channel_id = engine
        .list_channels(&caller, &Default::default())
        .await?
        .data
        .first()
        .map(|channel| channel.id);
    let histogram = repeat(arguments.iterations, || {
        engine.analytics_summary(&caller, &channel)
    })
    .await?;
    timed("summary, 30 days, one channel", &histogram);
    let inbound = [Measure::Count(Counter::MessagesInbound)];
    let latency = [Measure::Spread(Distribution::AgentLatency)];
    let series: [(&str, i64, Interval, &str, &[Measure]); 5] = [
        (
            "series, hourly, 7 days, UTC",
            7,
            Interval::Hour,
            "UTC",
            &inbound,
        ),
        (
            "series, daily, 90 days, New York",
            90,
            Interval::Day,
            "America/New_York",
            &latency,
        ),
        (
            "series, daily, 30 days, Kolkata",
            30,
            Interval::Day,
            "Asia/Kolkata",
            &inbound,
        ),
        (
            "series, weekly, 90 days, Berlin",
            90,
            Interval::Week,
            "Europe/Berlin",
            &latency,
        ),
        (
            "series, minutes, 1 day, UTC",
            1,
            Interval::Minute,
            "UTC",
            &inbound,
        ),
    ];
    for (name, period, interval, time_zone, measures) in series {
        let query = days(period);
        let time_zone = switchboard_analytics::calendar::time_zone(time_zone)?;
        let series = Series {
            interval,
            time_zone: &time_zone,
            measures,
        };
        let histogram = repeat(arguments.iterations, || {
            engine.analytics_series(&caller, &query, series)
        })
        .await?;
        timed(name, &histogram);
    }
    Ok(())
}

async fn repeat<T, E, F>(
    iterations: usize,
    mut call: impl FnMut() -> F,
) -> anyhow::Result<Histogram<u64>>
where
    F: std::future::Future<Output = Result<T, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let mut histogram = Histogram::<u64>::new(3)?;
    for _ in 0..iterations {
        let started = Instant::now();
        call().await?;
        histogram.record(micros(started.elapsed()))?;
    }
    Ok(histogram)
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
