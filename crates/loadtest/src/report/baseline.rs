//! `--baseline old.json --regression 20%`: each run is matched to the baseline's run of the same
//! name (or the only run to the only run); for every metric both measured, a latency percentile
//! (p50, p90, p95, p99) that grew by more than the allowance, or a throughput that fell by more
//! than it, is a regression. Latency changes smaller than `floor_ms` are noise and ignored.

use super::{Regression, Report, RunReport};

/// The latency statistics compared.
const PERCENTILES: [&str; 4] = ["p50", "p90", "p95", "p99"];

pub fn compare(
    baseline: &Report,
    current: &Report,
    allowed: f64,
    floor_ms: f64,
) -> Vec<Regression> {
    let mut regressions = Vec::new();
    for run in &current.runs {
        let Some(old) = matching_run(baseline, current, run) else {
            continue;
        };
        for (name, metric) in &run.metrics {
            let Some(old_metric) = old.metrics.get(name) else {
                continue;
            };
            let regression =
                |statistic: &str, baseline: f64, current: f64, change: f64| Regression {
                    run: run.name.clone(),
                    metric: name.clone(),
                    statistic: statistic.to_owned(),
                    baseline,
                    current,
                    change,
                };
            if metric.ok > 0 && old_metric.ok > 0 {
                for percentile in PERCENTILES {
                    let (Some(before), Some(now)) = (
                        old_metric.latency_ms.get(percentile),
                        metric.latency_ms.get(percentile),
                    ) else {
                        continue;
                    };
                    if before > 0.0 && now > before * (1.0 + allowed) && now - before > floor_ms {
                        regressions.push(regression(percentile, before, now, now / before - 1.0));
                    }
                }
            }
            if old_metric.rate > 0.0 && metric.rate < old_metric.rate * (1.0 - allowed) {
                regressions.push(regression(
                    "rate",
                    old_metric.rate,
                    metric.rate,
                    1.0 - metric.rate / old_metric.rate,
                ));
            }
        }
    }
    regressions
}

fn matching_run<'a>(
    baseline: &'a Report,
    current: &Report,
    run: &RunReport,
) -> Option<&'a RunReport> {
    baseline.runs.iter().find(|old| old.name == run.name).or(
        match (baseline.runs.as_slice(), current.runs.len()) {
            ([only], 1) => Some(only),
            _ => None,
        },
    )
}
