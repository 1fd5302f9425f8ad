//! Baseline comparison, the JSON round trip, and the self-contained HTML report.

use std::collections::BTreeMap;
use std::time::Duration;

use switchboard_loadtest::checker::Correctness;
use switchboard_loadtest::cpu::{self, MachineTimes};
use switchboard_loadtest::memory::{MemoryReport, MemorySample};
use switchboard_loadtest::metrics::{LatencySummary, MetricReport, SecondSummary};
use switchboard_loadtest::plan::LoadModel;
use switchboard_loadtest::report::medians::{median, medians};
use switchboard_loadtest::report::{Report, RunReport, SuiteCheck, baseline, html, table};
use switchboard_loadtest::threshold::ThresholdResult;

const TARGET: &str = "http://127.0.0.1:3999";

fn metric(p50: f64, p99: f64, rate: f64) -> MetricReport {
    MetricReport {
        count: 1000,
        ok: 1000,
        rate,
        latency_ms: LatencySummary {
            p50,
            p90: p50 * 1.5,
            p95: p50 * 2.0,
            p99,
            max: p99 * 2.0,
            ..LatencySummary::default()
        },
        timeline: (0..10)
            .map(|second| SecondSummary {
                second,
                count: 100,
                errors: second % 3,
                p50_ms: p50,
                p95_ms: p50 * 2.0,
                p99_ms: p99,
                max_ms: p99 * 2.0,
            })
            .collect(),
        ..MetricReport::default()
    }
}

fn report(name: &str, metrics: BTreeMap<String, MetricReport>) -> Report {
    let mut report = Report::new(TARGET, "webhook", "smoke");
    report.runs.push(RunReport {
        name: name.into(),
        scenario: "webhook".into(),
        model: LoadModel::Open {
            rate: 100.0,
            duration: Duration::from_secs(10),
            workers: 0,
        },
        duration_secs: 10.0,
        primary: vec!["webhook_ack".into()],
        metrics,
        nodes: Vec::new(),
        drain: None,
        calls: None,
        cpu: None,
    });
    report
}

fn single(p50: f64, p99: f64, rate: f64) -> Report {
    report(
        "webhook",
        BTreeMap::from([("webhook_ack".to_owned(), metric(p50, p99, rate))]),
    )
}

#[test]
fn a_slower_percentile_or_a_lower_rate_beyond_the_allowance_is_a_regression() {
    let old = single(10.0, 40.0, 1000.0);
    assert!(baseline::compare(&old, &single(11.0, 44.0, 950.0), 0.2, 1.0).is_empty());
    let slower = baseline::compare(&old, &single(10.0, 60.0, 1000.0), 0.2, 1.0);
    assert_eq!(slower.len(), 1, "{slower:?}");
    assert_eq!(
        (slower[0].metric.as_str(), slower[0].statistic.as_str()),
        ("webhook_ack", "p99")
    );
    assert!((slower[0].change - 0.5).abs() < 1e-9);
    let throttled = baseline::compare(&old, &single(10.0, 40.0, 700.0), 0.2, 1.0);
    assert_eq!(throttled.len(), 1, "{throttled:?}");
    assert_eq!(throttled[0].statistic, "rate");
}

#[test]
fn sub_floor_latency_changes_are_noise_and_runs_match_by_name() {
    let old = single(0.2, 0.5, 1000.0);
    assert!(baseline::compare(&old, &single(0.4, 0.9, 1000.0), 0.2, 1.0).is_empty());
    let mut two = single(10.0, 40.0, 1000.0);
    two.runs.push(
        report(
            "other",
            BTreeMap::from([("webhook_ack".to_owned(), metric(10.0, 40.0, 10.0))]),
        )
        .runs
        .remove(0),
    );
    let mut current = single(10.0, 40.0, 1000.0);
    current.runs[0].name = "other".into();
    // Matched to the baseline's `other` run (rate 10/s), not to its first run.
    assert!(baseline::compare(&two, &current, 0.2, 1.0).is_empty());
}

#[test]
fn the_results_file_reads_back_as_written() {
    let mut original = single(10.0, 40.0, 1000.0);
    original.correctness = Some(Correctness {
        acknowledged: 10,
        replied: 10,
        ..Correctness::default()
    });
    let machine = MachineTimes {
        busy: 100,
        steal: 10,
        total: 400,
        cores: 2,
    };
    original.runs[0].cpu = Some(cpu::report(machine, machine, 10.0, 15, Some(70), 1000));
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("results.json");
    original.write_json(&path).expect("written");
    let read = Report::read_json(&path).expect("read");
    assert_eq!(read, original);
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("bytes")).expect("json");
    assert_eq!(raw["schema"], "switchboard-loadtest/1");
    assert_eq!(
        raw["runs"][0]["metrics"]["webhook_ack"]["latencyMs"]["p99"],
        40.0
    );
    assert_eq!(raw["runs"][0]["model"]["kind"], "open");
    assert_eq!(raw["runs"][0]["cpu"]["serverMsPerOperation"], 0.7);
}

#[test]
fn the_html_report_is_self_contained_and_has_both_charts() {
    let mut report = single(10.0, 40.0, 1000.0);
    report.memory = Some(MemoryReport {
        pid: 42,
        samples: vec![
            MemorySample {
                second: 0.0,
                rss_bytes: 50 << 20,
            },
            MemorySample {
                second: 1.0,
                rss_bytes: 60 << 20,
            },
        ],
        first_rss_bytes: 50 << 20,
        peak_rss_bytes: 60 << 20,
        last_rss_bytes: 60 << 20,
    });
    report.thresholds.push(ThresholdResult {
        expression: "p95<200ms & <script>".into(),
        run: None,
        metric: "webhook_ack".into(),
        measured: "20.0ms".into(),
        passed: true,
    });
    report.suite = Some(vec![SuiteCheck {
        target: "memory < 512 MB".into(),
        measured: "peak 60.0 MB".into(),
        status: "pass".into(),
    }]);
    let page = html::render(&report);
    assert!(page.contains("latency over time"), "latency chart");
    assert!(page.contains("Throughput"), "throughput chart");
    assert!(page.contains("<polyline"), "drawn as inline SVG");
    assert!(page.contains("&lt;script&gt;"), "text is escaped");
    let without_target = page.replace(TARGET, "");
    for external in [
        "http://", "https://", "//cdn", "<script", "<link", "@import", "src=", "href=",
    ] {
        assert!(
            !without_target.contains(external),
            "found {external:?} in the report"
        );
    }
}

/// A run of `scenario` whose primary metric `primary` went at `rate` with `p50`, the server
/// spending `server_ticks` of processor time on it.
fn scenario_run(
    scenario: &str,
    primary: &str,
    rate: f64,
    p50: f64,
    server_ticks: u64,
) -> RunReport {
    let machine = MachineTimes {
        busy: 100,
        steal: 0,
        total: 200,
        cores: 2,
    };
    let mut run = report(
        scenario,
        BTreeMap::from([(primary.to_owned(), metric(p50, p50 * 3.0, rate))]),
    )
    .runs
    .remove(0);
    run.scenario = scenario.into();
    run.primary = vec![primary.into()];
    run.cpu = Some(cpu::report(
        machine,
        machine,
        10.0,
        5,
        Some(server_ticks),
        1000,
    ));
    run
}

#[test]
fn repeated_scenarios_are_summed_up_by_their_medians() {
    let mut report = Report::new(TARGET, "graphql-me,rest-me", "smoke");
    for (graphql, rest) in [(900.0, 1000.0), (700.0, 1200.0), (800.0, 1100.0)] {
        report
            .runs
            .push(scenario_run("graphql-me", "graphql", graphql, 2.0, 40));
        report
            .runs
            .push(scenario_run("rest-me", "rest", rest, 1.0, 30));
    }
    let summary = medians(&report);
    assert_eq!(summary.len(), 2);
    assert_eq!(
        (summary[0].scenario.as_str(), summary[0].metric.as_str()),
        ("graphql-me", "graphql")
    );
    assert_eq!((summary[0].runs, summary[0].rate), (3, 800.0));
    assert_eq!(
        (summary[1].scenario.as_str(), summary[1].rate),
        ("rest-me", 1100.0)
    );
    assert_eq!(summary[0].p50_ms, 2.0);
    assert_eq!(summary[1].server_ms_per_operation, Some(0.3));
    let text = table::render(&report);
    assert!(text.contains("medians over each scenario's runs"), "{text}");

    // One run of each is nothing to take a median of; the suite's runs differ by design.
    report.runs.truncate(2);
    assert!(medians(&report).is_empty());
    assert!(!table::render(&report).contains("medians"));
}

#[test]
fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
    assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    assert_eq!(median(Vec::new()), None);
}
