//! Threshold expressions: what parses, what does not, and how each is judged.

use std::collections::BTreeMap;
use std::time::Duration;

use switchboard_loadtest::checker::Correctness;
use switchboard_loadtest::command::judge;
use switchboard_loadtest::metrics::{LatencySummary, Metric, MetricReport};
use switchboard_loadtest::plan::LoadModel;
use switchboard_loadtest::report::{Report, RunReport};
use switchboard_loadtest::threshold::{Comparison, Statistic, Threshold};

fn report(p95: f64, p99: f64, count: u64, errors: u64, rate: f64) -> MetricReport {
    MetricReport {
        count,
        ok: count - errors,
        errors,
        error_rate: errors as f64 / count as f64,
        rate,
        latency_ms: LatencySummary {
            p50: p95 / 2.0,
            p90: p95 * 0.9,
            p95,
            p99,
            p999: p99,
            max: p99 * 2.0,
            ..LatencySummary::default()
        },
        ..MetricReport::default()
    }
}

#[test]
fn k6_style_expressions_parse_with_their_units() {
    let cases = [
        (
            "p95<200ms",
            Statistic::Latency("p95"),
            Comparison::Less,
            200.0,
        ),
        (
            "p(99) <= 1.5s",
            Statistic::Latency("p99"),
            Comparison::LessOrEqual,
            1500.0,
        ),
        (
            "p99.9<250",
            Statistic::Latency("p999"),
            Comparison::Less,
            250.0,
        ),
        (
            "max<900us",
            Statistic::Latency("max"),
            Comparison::Less,
            0.9,
        ),
        ("errors<1%", Statistic::ErrorRate, Comparison::Less, 0.01),
        (
            "error_rate<0.05",
            Statistic::ErrorRate,
            Comparison::Less,
            0.05,
        ),
        (
            "rate>=1000/s",
            Statistic::Rate,
            Comparison::GreaterOrEqual,
            1000.0,
        ),
        ("rate>2k/s", Statistic::Rate, Comparison::Greater, 2000.0),
        (
            "order_violations==0",
            Statistic::OrderViolations,
            Comparison::Equal,
            0.0,
        ),
        ("lost==0", Statistic::Lost, Comparison::Equal, 0.0),
        (
            "duplicates==0",
            Statistic::Duplicates,
            Comparison::Equal,
            0.0,
        ),
        ("count>0", Statistic::Count, Comparison::Greater, 0.0),
    ];
    for (expression, statistic, comparison, limit) in cases {
        let threshold = Threshold::parse(expression).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(threshold.statistic, statistic, "{expression}");
        assert_eq!(threshold.comparison, comparison, "{expression}");
        assert!(
            (threshold.limit - limit).abs() < 1e-9,
            "{expression}: {}",
            threshold.limit
        );
        assert_eq!(threshold.metric, None, "{expression}");
    }
}

#[test]
fn a_metric_prefix_picks_the_metric() {
    let threshold = Threshold::parse("e2e.p99<2s").expect("valid");
    assert_eq!(threshold.metric, Some(Metric::EndToEnd));
    let threshold = Threshold::parse("rest.search.p99.9<100ms").expect("valid");
    assert_eq!(threshold.metric, Some(Metric::RestSearch));
    assert_eq!(threshold.statistic, Statistic::Latency("p999"));
    let threshold = Threshold::parse("webhook_ack:p95<200ms").expect("valid");
    assert_eq!(threshold.metric, Some(Metric::WebhookAck));
}

#[test]
fn nonsense_is_refused_with_the_expression_named() {
    for expression in [
        "p95",
        "p97<1s",
        "p95<fast",
        "errors<lots",
        "rate>=many/s",
        "nope.p95<1s",
        "lost==none",
        "<1s",
    ] {
        let error = Threshold::parse(expression).expect_err(expression);
        assert!(error.to_string().contains(expression.trim()), "{error}");
    }
}

#[test]
fn latency_error_and_rate_criteria_judge_the_primary_metrics() {
    let metrics = BTreeMap::from([
        (
            "webhook_ack".to_owned(),
            report(150.0, 400.0, 1000, 5, 990.0),
        ),
        ("e2e".to_owned(), report(900.0, 2500.0, 995, 0, 980.0)),
    ]);
    let primary = [Metric::WebhookAck];
    let judge = |expression: &str| {
        Threshold::parse(expression)
            .expect("valid")
            .evaluate(&metrics, None, &primary)
    };
    assert!(judge("p95<200ms")[0].passed);
    assert!(!judge("p99<300ms")[0].passed);
    assert_eq!(judge("p99<300ms")[0].measured, "400.0ms");
    assert!(judge("errors<1%")[0].passed);
    assert!(!judge("errors<0.1%")[0].passed);
    assert!(!judge("rate>=1000/s")[0].passed);
    assert!(judge("rate>=900/s")[0].passed);
    assert!(!judge("e2e.p99<2s")[0].passed);
    assert_eq!(judge("e2e.p99<2s")[0].metric, "e2e");
    let missing = judge("health.p95<10ms");
    assert!(!missing[0].passed, "a metric without samples cannot pass");
}

#[test]
fn correctness_criteria_judge_the_checker_and_fail_when_nothing_was_checked() {
    let clean = Correctness {
        acknowledged: 10,
        replied: 10,
        ..Correctness::default()
    };
    let reordered = Correctness {
        order_violations: 2,
        ..clean.clone()
    };
    let threshold = Threshold::parse("order_violations==0").expect("valid");
    let metrics = BTreeMap::new();
    assert!(threshold.evaluate(&metrics, Some(&clean), &[])[0].passed);
    let failed = &threshold.evaluate(&metrics, Some(&reordered), &[])[0];
    assert!(!failed.passed);
    assert_eq!(failed.measured, "2");
    assert!(!threshold.evaluate(&metrics, None, &[])[0].passed);
}

/// A report of one run per `(name, primary, p95)`.
fn runs(runs: &[(&str, &str, f64)]) -> Report {
    let mut judged = Report::new("http://127.0.0.1:1", "graphql-me,rest-me", "smoke");
    for (name, primary, p95) in runs {
        judged.runs.push(RunReport {
            name: (*name).into(),
            scenario: (*name).into(),
            model: LoadModel::Open {
                rate: 100.0,
                duration: Duration::from_secs(1),
                workers: 0,
            },
            duration_secs: 1.0,
            primary: vec![(*primary).into()],
            metrics: BTreeMap::from([((*primary).to_owned(), report(*p95, *p95, 100, 0, 100.0))]),
            nodes: Vec::new(),
            drain: None,
            calls: None,
            cpu: None,
        });
    }
    judged
}

#[test]
fn with_several_runs_each_is_judged_on_its_own_primary_metric() {
    let mut report = runs(&[("graphql-me", "graphql", 30.0), ("rest-me", "rest", 10.0)]);
    let thresholds = [Threshold::parse("p95<20ms").expect("valid")];
    assert!(!judge(&mut report, &thresholds, None));
    let verdicts: Vec<(Option<&str>, &str, bool)> = report
        .thresholds
        .iter()
        .map(|result| (result.run.as_deref(), result.metric.as_str(), result.passed))
        .collect();
    assert_eq!(
        verdicts,
        [
            (Some("graphql-me"), "graphql", false),
            (Some("rest-me"), "rest", true)
        ]
    );
}

#[test]
fn a_named_metric_is_judged_on_the_runs_that_measured_it_and_fails_if_none_did() {
    let mut report = runs(&[("graphql-me", "graphql", 30.0), ("rest-me", "rest", 10.0)]);
    let rest_only = [Threshold::parse("rest.p95<20ms").expect("valid")];
    assert!(judge(&mut report, &rest_only, None));
    assert_eq!(report.thresholds.len(), 1);
    let mut report = runs(&[("graphql-me", "graphql", 30.0), ("rest-me", "rest", 10.0)]);
    let unmeasured = [Threshold::parse("ws.p95<20ms").expect("valid")];
    assert!(!judge(&mut report, &unmeasured, None));
    assert_eq!(report.thresholds[0].measured, "no samples");
}

#[test]
fn a_single_run_is_judged_as_it_always_was() {
    let mut report = runs(&[("rest", "rest", 10.0)]);
    assert!(judge(
        &mut report,
        &[Threshold::parse("p95<20ms").expect("valid")],
        None
    ));
    assert_eq!(report.thresholds[0].run, None, "no run name to tell apart");
}
