//! k6-style pass/fail criteria: `p95<200ms`, `p99<=1s`, `errors<1%`, `rate>=1000/s`,
//! `count>0`, `order_violations==0`, `lost==0`, `duplicates==0`, `misrouted==0`. A metric name
//! in front (`e2e.p99<2s`, `rest.search.p95<100ms`, or `webhook_ack:p95<200ms`) picks a metric;
//! without one, latency, error, rate and count criteria apply to each of the scenario's
//! primary metrics. Bare latency numbers are milliseconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checker::Correctness;
use crate::metrics::{Metric, MetricReport};
use crate::quantity::{format_millis, parse_duration, parse_percent, parse_rate};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}`: {reason}")]
pub struct ThresholdError {
    pub expression: String,
    pub reason: String,
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// A latency statistic by its summary name (`p95`, `max`, `mean` …), in milliseconds.
    Latency(&'static str),
    /// Failed samples over all samples (a fraction).
    ErrorRate,
    /// Samples per second.
    Rate,
    Count,
    OrderViolations,
    Lost,
    Duplicates,
    Misrouted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
    NotEqual,
}

impl Comparison {
    fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Comparison::Less => measured < limit,
            Comparison::LessOrEqual => measured <= limit,
            Comparison::Greater => measured > limit,
            Comparison::GreaterOrEqual => measured >= limit,
            Comparison::Equal => measured == limit,
            Comparison::NotEqual => measured != limit,
        }
    }
}

/// One parsed criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub expression: String,
    pub metric: Option<Metric>,
    pub statistic: Statistic,
    pub comparison: Comparison,
    /// Milliseconds, a fraction, per second or a count, as the statistic wants.
    pub limit: f64,
}

/// How one criterion fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdResult {
    pub expression: String,
    /// The run it was evaluated on, when the invocation made several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The metric it was evaluated on (`correctness` for the checker's counts).
    pub metric: String,
    /// The measured figure, for people (`12.3ms`, `0.40%`, `1203/s`, `0`, `no samples`).
    pub measured: String,
    pub passed: bool,
}

const LATENCY: [(&str, &str); 12] = [
    ("p(99.9)", "p999"),
    ("p(95)", "p95"),
    ("p(99)", "p99"),
    ("p(90)", "p90"),
    ("p(50)", "p50"),
    ("p99.9", "p999"),
    ("p999", "p999"),
    ("p99", "p99"),
    ("p95", "p95"),
    ("p90", "p90"),
    ("p50", "p50"),
    ("med", "p50"),
];

fn statistic_named(name: &str) -> Option<Statistic> {
    if let Some((_, key)) = LATENCY.iter().find(|(alias, _)| *alias == name) {
        return Some(Statistic::Latency(key));
    }
    Some(match name {
        "min" => Statistic::Latency("min"),
        "max" => Statistic::Latency("max"),
        "avg" | "mean" => Statistic::Latency("mean"),
        "errors" | "error_rate" => Statistic::ErrorRate,
        "rate" => Statistic::Rate,
        "count" => Statistic::Count,
        "order_violations" => Statistic::OrderViolations,
        "lost" => Statistic::Lost,
        "duplicates" => Statistic::Duplicates,
        "misrouted" => Statistic::Misrouted,
        _ => return None,
    })
}

impl Threshold {
    pub fn parse(expression: &str) -> Result<Threshold, ThresholdError> {
        let fail = |reason: &str| ThresholdError {
            expression: expression.to_owned(),
            reason: reason.to_owned(),
        };
        let compact: String = expression.chars().filter(|c| !c.is_whitespace()).collect();
        let operators = [
            ("<=", Comparison::LessOrEqual),
            (">=", Comparison::GreaterOrEqual),
            ("==", Comparison::Equal),
            ("!=", Comparison::NotEqual),
            ("<", Comparison::Less),
            (">", Comparison::Greater),
        ];
        let (position, operator, comparison) = operators
            .iter()
            .filter_map(|(operator, comparison)| {
                compact
                    .find(operator)
                    .map(|position| (position, *operator, *comparison))
            })
            .min_by_key(|(position, operator, _)| (*position, usize::MAX - operator.len()))
            .ok_or_else(|| fail("expected a comparison: < <= > >= == !="))?;
        let subject = &compact[..position];
        let value = &compact[position + operator.len()..];
        let (metric, statistic) = split_subject(subject).ok_or_else(|| {
            fail("expected [metric.]p50|p90|p95|p99|p99.9|min|max|avg|errors|rate|count|order_violations|lost|duplicates|misrouted")
        })?;
        let limit = match statistic {
            Statistic::Latency(_) => match value.parse::<f64>() {
                Ok(millis) => millis,
                Err(_) => {
                    parse_duration(value)
                        .map_err(|error| fail(&error.to_string()))?
                        .as_secs_f64()
                        * 1000.0
                }
            },
            Statistic::ErrorRate => {
                parse_percent(value).map_err(|error| fail(&error.to_string()))?
            }
            Statistic::Rate => parse_rate(value).map_err(|error| fail(&error.to_string()))?,
            _ => value
                .parse::<f64>()
                .map_err(|_| fail("expected a number"))?,
        };
        Ok(Threshold {
            expression: expression.trim().to_owned(),
            metric,
            statistic,
            comparison,
            limit,
        })
    }

    /// Whether this criterion is about the correctness checker rather than a metric.
    pub fn is_correctness(&self) -> bool {
        matches!(
            self.statistic,
            Statistic::OrderViolations
                | Statistic::Lost
                | Statistic::Duplicates
                | Statistic::Misrouted
        )
    }

    /// Evaluates on the run's `metrics` (by name) and `correctness`; unprefixed metric criteria
    /// apply to each of `primary`.
    pub fn evaluate(
        &self,
        metrics: &BTreeMap<String, MetricReport>,
        correctness: Option<&Correctness>,
        primary: &[Metric],
    ) -> Vec<ThresholdResult> {
        let result = |metric: &str, measured: String, passed: bool| ThresholdResult {
            expression: self.expression.clone(),
            run: None,
            metric: metric.to_owned(),
            measured,
            passed,
        };
        if self.is_correctness() {
            let Some(correctness) = correctness else {
                return vec![result(
                    "correctness",
                    "not checked by this scenario".into(),
                    false,
                )];
            };
            let measured = match self.statistic {
                Statistic::OrderViolations => correctness.order_violations,
                Statistic::Lost => correctness.lost,
                Statistic::Duplicates => correctness.duplicates,
                _ => correctness.misrouted,
            };
            let passed = self.comparison.holds(measured as f64, self.limit);
            return vec![result("correctness", measured.to_string(), passed)];
        }
        let targets: Vec<Metric> = match self.metric {
            Some(metric) => vec![metric],
            None => primary.to_vec(),
        };
        targets
            .into_iter()
            .map(|metric| match metrics.get(metric.name()) {
                None => result(metric.name(), "no samples".into(), false),
                Some(report) => {
                    let (measured, shown) = self.measure(report);
                    match measured {
                        Some(value) => result(
                            metric.name(),
                            shown,
                            self.comparison.holds(value, self.limit),
                        ),
                        None => result(metric.name(), shown, false),
                    }
                }
            })
            .collect()
    }

    fn measure(&self, report: &MetricReport) -> (Option<f64>, String) {
        match self.statistic {
            Statistic::Latency(_) if report.ok == 0 => (None, "no successful samples".into()),
            Statistic::Latency(name) => {
                let value = report.latency_ms.get(name).unwrap_or(f64::NAN);
                (Some(value), format_millis(value))
            }
            Statistic::ErrorRate => (
                Some(report.error_rate),
                format!("{:.2}%", report.error_rate * 100.0),
            ),
            Statistic::Rate => (Some(report.rate), format!("{:.0}/s", report.rate)),
            Statistic::Count => (Some(report.count as f64), report.count.to_string()),
            _ => (None, "not a metric statistic".into()),
        }
    }
}

/// `p95` → (None, p95); `e2e.p95` or `e2e:p95` → (Some(e2e), p95).
fn split_subject(subject: &str) -> Option<(Option<Metric>, Statistic)> {
    if let Some(statistic) = statistic_named(subject) {
        return Some((None, statistic));
    }
    if let Some((metric, statistic)) = subject.split_once(':') {
        return Some((
            Some(Metric::from_name(metric)?),
            statistic_named(statistic)?,
        ));
    }
    // The statistic may itself contain a dot (`p99.9`): try each split from the right.
    subject.match_indices('.').rev().find_map(|(position, _)| {
        let metric = Metric::from_name(&subject[..position])?;
        let statistic = statistic_named(&subject[position + 1..])?;
        Some((Some(metric), statistic))
    })
}

/// The verdict of many criteria: all passed?
pub fn all_passed(results: &[ThresholdResult]) -> bool {
    results.iter().all(|result| result.passed)
}
