//! Analytics against the raw rows: a scripted agent answers contacts (with tool calls and a
//! handoff), operators answer and resolve; then every count of `/analytics/summary` equals the
//! one computed from the conversations, messages and runs the API lists, every percentile is
//! within 1 % of the exact one, series add up to the totals in any time zone, filters narrow,
//! a rebuild from the raw rows gives the same answers, and bad parameters get 4xx.

use serde_json::{Value, json};
use sqlx::Connection as _;
use switchboard_core::{AuthorKind, Message, MessageDirection, Run, RunStatus};
use switchboard_test_support::fakes::FakeMcp;
use switchboard_test_support::pipeline::{Pipeline, start};
use switchboard_test_support::{TestDatabase, backend_tests};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

backend_tests!(
    analytics_agree_with_the_raw_rows,
    analytics_refuse_bad_parameters,
    days_follow_the_time_zone_across_a_change_of_clocks
);

const CONTACTS: usize = 6;

async fn analytics_agree_with_the_raw_rows(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 1_000, |_| {}).await?;
    let mcp = FakeMcp::spawn().await?;
    let agent = pipeline
        .use_agent(
            "scripted",
            json!({
                "rules": [
                    {"match": {"text": "hi"}, "reply": "Hello!"},
                    {"match": {"regex": "order #?(\\d+)"},
                     "tools": [{"name": "lookup_order", "arguments": {"orderId": "{{match.1}}"}}],
                     "reply": "Order {{match.1}} is {{tool.lookup_order.status}}."},
                    {"match": {"keywords": ["human"]}, "handoff": true, "reply": "Connecting you."}
                ],
                "fallback": "Sorry?",
                "mcpServers": [{"name": "shop", "url": mcp.url()}]
            }),
            2,
        )
        .await?;
    let from = rfc3339(OffsetDateTime::now_utc() - time::Duration::minutes(1));
    for contact in 0..CONTACTS {
        let mut texts = vec!["hi", "order #7", "mumble"];
        if contact == CONTACTS - 1 {
            texts.push("a human please");
        }
        for (n, text) in texts.iter().enumerate() {
            let number = format!("97250000{contact:04}");
            pipeline
                .send(&number, &format!("wamid.a.{contact}.{n}"), text)
                .await?;
            pipeline.settle().await?;
        }
    }
    let conversations = pipeline.conversations().await?;
    let ids: Vec<String> = conversations
        .iter()
        .map(|conversation| conversation["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    for id in &ids[..2] {
        let path = format!("/api/v1/conversations/{id}");
        let resolved = pipeline
            .app
            .patch(&path, &pipeline.admin, json!({"status": "resolved"}))
            .await?;
        assert_eq!(resolved.status, 200, "{}", resolved.text);
    }
    pipeline.settle().await?;
    pipeline.app.engine.fold_analytics().await?;
    let to = rfc3339(OffsetDateTime::now_utc() + time::Duration::minutes(1));

    let raw = Raw::read(&pipeline, &ids).await?;
    let range = format!("from={from}&to={to}");
    let summary = pipeline
        .app
        .get(
            &format!("/api/v1/analytics/summary?{range}"),
            &pipeline.admin,
        )
        .await?;
    assert_eq!(summary.status, 200, "{}", summary.text);
    let current = &summary.body["current"];
    let count = |field: &str| current[field].as_i64().unwrap_or(-1);
    assert_eq!(count("conversationsOpened"), CONTACTS as i64);
    assert_eq!(count("conversationsResolved"), 2);
    assert_eq!(count("handoffs"), 1);
    assert_eq!(count("runsHandedOff"), 1);
    assert_eq!(count("messagesInbound"), raw.inbound as i64);
    assert_eq!(count("messagesOutbound"), raw.outbound as i64);
    assert_eq!(count("runsCompleted"), raw.completed as i64);
    assert_eq!(count("runsFailed"), 0);
    assert_eq!(count("toolCalls"), raw.tool_calls as i64);
    assert_eq!(count("creditsSpent"), 1_000 - pipeline.balance().await?);
    assert_eq!(
        current["channels"][0]["channelId"],
        pipeline.whatsapp.as_str()
    );
    assert_eq!(
        current["channels"][0]["messagesInbound"],
        json!(raw.inbound)
    );
    assert_close(&current["agentLatencyMs"], &raw.latencies, 1.0);
    assert_close(&current["queueWaitMs"], &raw.queue_waits, 1.0);
    assert_close(
        &current["firstResponseSeconds"],
        &raw.first_responses,
        1000.0,
    );
    assert_eq!(
        current["webhookAckMs"]["count"],
        json!(raw.inbound),
        "one acknowledgement per webhook"
    );
    assert_eq!(summary.body["previous"]["messagesInbound"], 0);
    assert!(raw.tool_calls > 0 && raw.completed > CONTACTS);

    // Series add up to the totals, whatever the zone and interval.
    for (metric, interval, zone) in [
        ("messagesInbound", "minute", "UTC"),
        ("agentLatencyMs", "hour", "Asia/Kolkata"),
        ("messagesOutbound", "day", "America/New_York"),
    ] {
        let path = format!(
            "/api/v1/analytics/series?metric={metric}&interval={interval}&timezone={zone}&{range}"
        );
        let series = pipeline.app.get(&path, &pipeline.admin).await?;
        assert_eq!(series.status, 200, "{}", series.text);
        let total: i64 = series.body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|point| {
                point["value"]
                    .as_i64()
                    .or_else(|| point["value"]["count"].as_i64())
                    .unwrap_or(0)
            })
            .sum();
        let expected = match metric {
            "messagesInbound" => raw.inbound,
            "agentLatencyMs" => raw.latencies.len(),
            _ => raw.outbound,
        };
        assert_eq!(total, expected as i64, "{metric} by {interval} in {zone}");
    }

    // Filters narrow: this channel and agent is everything, another agent nothing.
    for (query, inbound) in [
        (
            format!("channelId={}&agentId={agent}", pipeline.whatsapp),
            raw.inbound,
        ),
        (format!("agentId={}", uuid::Uuid::now_v7()), 0),
    ] {
        let path = format!("/api/v1/analytics/summary?{range}&{query}");
        let narrowed = pipeline.app.get(&path, &pipeline.admin).await?;
        assert_eq!(
            narrowed.body["current"]["messagesInbound"],
            json!(inbound),
            "{query}"
        );
    }

    // CSV export.
    let csv = pipeline
        .app
        .client
        .get(pipeline.app.url(&format!(
            "/api/v1/analytics/series?metric=messagesInbound&interval=hour&{range}"
        )))
        .bearer_auth(&pipeline.app.admin_token)
        .header("accept", "text/csv")
        .send()
        .await?
        .text()
        .await?;
    assert!(csv.starts_with("start,value\n"), "{csv}");

    // A rebuild from the raw rows gives the same answers.
    pipeline.app.engine.rebuild_analytics().await?;
    let rebuilt = pipeline
        .app
        .get(
            &format!("/api/v1/analytics/summary?{range}"),
            &pipeline.admin,
        )
        .await?;
    assert_eq!(rebuilt.body["current"], summary.body["current"]);
    pipeline.app.stop().await
}

async fn analytics_refuse_bad_parameters(database: TestDatabase) -> anyhow::Result<()> {
    let pipeline = start(database, 0, |_| {}).await?;
    let app = pipeline.app;
    for (query, status, field) in [
        ("summary?from=yesterday", 422, "from"),
        (
            "summary?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z",
            422,
            "from",
        ),
        ("series?metric=happiness", 422, "metric"),
        ("series?metric=handoffs&interval=fortnight", 422, "interval"),
        (
            "series?metric=handoffs&timezone=Mars/Olympus",
            422,
            "timezone",
        ),
        (
            "series?metric=handoffs&interval=minute&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
            422,
            "interval",
        ),
        ("summary?colour=blue", 400, ""),
    ] {
        let reply = app
            .get(&format!("/api/v1/analytics/{query}"), &pipeline.admin)
            .await?;
        assert_eq!(reply.status, status, "{query}: {}", reply.text);
        if !field.is_empty() {
            assert_eq!(reply.body["error"]["details"]["field"], field, "{query}");
        }
    }
    let anonymous = app
        .client
        .get(app.url("/api/v1/analytics/summary"))
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);
    app.stop().await
}

/// New York's clocks went forward on 8 March 2026: that day has 23 hours, and a message at
/// 00:30 on the 9th (04:30 UTC) belongs to the 9th, where a fixed UTC-5 day would put it on the
/// 8th. Messages are recorded (as their triggers would) at 00:30 and 23:30 local on each day.
async fn days_follow_the_time_zone_across_a_change_of_clocks(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |_| {}).await?;
    pipeline.send("972500009999", "wamid.dst", "hi").await?;
    pipeline.settle().await?;
    let conversation = pipeline.conversation().await?;
    let tenant = pipeline
        .app
        .get(
            &format!("/api/v1/conversations/{conversation}"),
            &pipeline.admin,
        )
        .await?
        .str("tenantId");
    sqlx::any::install_default_drivers();
    let url = pipeline
        .app
        .database()
        .map(|database| database.url().to_owned())
        .unwrap_or_default();
    let mut connection = sqlx::AnyConnection::connect(&url).await?;
    for (n, at) in [
        "2026-03-07T05:30:00Z",
        "2026-03-08T04:30:00Z",
        "2026-03-08T05:30:00Z",
        "2026-03-09T03:30:00Z",
        "2026-03-09T04:30:00Z",
        "2026-03-10T03:30:00Z",
    ]
    .iter()
    .enumerate()
    {
        let millis = OffsetDateTime::parse(at, &Rfc3339)?.unix_timestamp() * 1000;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "INSERT INTO analytics_facts (tenant_id, kind, conversation_id, subject_id, at, detail)
             VALUES ('{tenant}', 'inbound', '{conversation}', 'dst-{n}', {millis}, 'contact')"
        )))
        .execute(&mut connection)
        .await?;
    }
    pipeline.app.engine.fold_analytics().await?;
    let series = pipeline
        .app
        .get(
            "/api/v1/analytics/series?metric=messagesInbound&interval=day\
             &timezone=America/New_York&from=2026-03-07T05:00:00Z&to=2026-03-10T04:00:00Z",
            &pipeline.admin,
        )
        .await?;
    assert_eq!(series.status, 200, "{}", series.text);
    assert_eq!(
        series.body["data"],
        json!([
            {"start": "2026-03-07T00:00:00-05:00", "value": 2},
            {"start": "2026-03-08T00:00:00-05:00", "value": 2},
            {"start": "2026-03-09T00:00:00-04:00", "value": 2},
        ])
    );
    pipeline.app.stop().await
}

/// What the API's lists of raw rows say analytics should count.
#[derive(Default)]
struct Raw {
    inbound: usize,
    outbound: usize,
    completed: usize,
    tool_calls: usize,
    latencies: Vec<f64>,
    queue_waits: Vec<f64>,
    first_responses: Vec<f64>,
}

impl Raw {
    async fn read(pipeline: &Pipeline, conversations: &[String]) -> anyhow::Result<Raw> {
        let mut raw = Raw::default();
        for conversation in conversations {
            let path = format!("/api/v1/conversations/{conversation}/messages?order=asc&limit=200");
            let listed = pipeline.app.get(&path, &pipeline.admin).await?;
            let messages: Vec<Message> = serde_json::from_value(listed.body["data"].clone())?;
            let inbound: Vec<&Message> = messages
                .iter()
                .filter(|message| message.direction == MessageDirection::Inbound)
                .collect();
            raw.inbound += inbound.len();
            raw.outbound += messages.len() - inbound.len();
            if let Some(first) = inbound.first() {
                let answer = messages.iter().find(|message| {
                    message.direction == MessageDirection::Outbound
                        && matches!(message.author_kind, AuthorKind::Agent | AuthorKind::User)
                        && message.created_at >= first.created_at
                });
                if let Some(answer) = answer {
                    raw.first_responses
                        .push(millis(answer.created_at) - millis(first.created_at));
                }
            }
            for run in pipeline.runs(conversation).await? {
                let run: Run = serde_json::from_value(run)?;
                if run.status != RunStatus::Completed {
                    continue;
                }
                raw.completed += 1;
                let finished = run.finished_at.map(millis).unwrap_or_default();
                raw.latencies.push(finished - millis(run.started_at));
                raw.tool_calls += run
                    .events
                    .iter()
                    .filter(|event| {
                        matches!(
                            event.event,
                            switchboard_core::AgentEvent::ToolExecuting { .. }
                        )
                    })
                    .count();
                let first = run
                    .message_ids
                    .first()
                    .and_then(|id| messages.iter().find(|message| message.id == *id));
                if let Some(first) = first {
                    raw.queue_waits
                        .push(millis(run.started_at) - millis(first.created_at));
                }
            }
        }
        Ok(raw)
    }
}

/// Asserts that the percentiles shown are within 1 % of the exact nearest-rank ones of
/// `values` (milliseconds), shown divided by `scale`.
fn assert_close(shown: &Value, values: &[f64], scale: f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(shown["count"], json!(sorted.len()), "{shown}");
    for (field, q) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)] {
        let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
        let truth = sorted[rank - 1] / scale;
        let read = shown[field].as_f64().unwrap_or(-1.0);
        assert!(
            (read - truth).abs() <= truth * 0.01 + 1e-9,
            "{field}: {read} shown, {truth} exact ({shown})"
        );
    }
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64 / scale;
    let shown_mean = shown["mean"].as_f64().unwrap_or(-1.0);
    assert!(
        (shown_mean - mean).abs() < 1e-6,
        "mean {shown_mean} vs {mean}"
    );
}

fn millis(time: OffsetDateTime) -> f64 {
    (time.unix_timestamp_nanos() / 1_000_000) as f64
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}
