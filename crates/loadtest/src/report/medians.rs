//! Each scenario's medians over its runs, when an invocation ran a scenario more than once
//! (`--rounds`, or a scenario named twice): the figure to quote from alternated runs on a shared
//! machine, where one run alone moves with whatever else the machine is doing.

use super::{Report, RunReport};
use crate::metrics::MetricReport;

/// The medians of one scenario's runs, about its first primary metric.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioMedians {
    pub scenario: String,
    pub runs: usize,
    pub metric: String,
    /// Operations per second.
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub error_rate: f64,
    /// The server's processor time per operation (`cpu:`), when measured.
    pub server_ms_per_operation: Option<f64>,
    /// The machine's busy share, % of one core.
    pub machine_busy_percent: Option<f64>,
}

/// One entry per scenario that ran more than once, in the order scenarios first ran; none for a
/// breakpoint search or the suite, whose runs of one scenario differ by design.
pub fn medians(report: &Report) -> Vec<ScenarioMedians> {
    if report.breakpoint.is_some() || report.suite.is_some() {
        return Vec::new();
    }
    let mut scenarios: Vec<&str> = Vec::new();
    for run in &report.runs {
        if !scenarios.contains(&run.scenario.as_str()) {
            scenarios.push(&run.scenario);
        }
    }
    scenarios
        .into_iter()
        .filter_map(|scenario| {
            let runs: Vec<&RunReport> = report
                .runs
                .iter()
                .filter(|run| run.scenario == scenario)
                .collect();
            let metric = runs.first()?.primary.first()?.clone();
            if runs.len() < 2 {
                return None;
            }
            let median_of = |read: &dyn Fn(&RunReport) -> Option<f64>| {
                median(runs.iter().filter_map(|run| read(run)).collect())
            };
            let of_metric = |read: fn(&MetricReport) -> f64| {
                median_of(&|run| run.metrics.get(&metric).map(read)).unwrap_or(0.0)
            };
            Some(ScenarioMedians {
                scenario: scenario.to_owned(),
                runs: runs.len(),
                rate: of_metric(|figures| figures.rate),
                p50_ms: of_metric(|figures| figures.latency_ms.p50),
                p99_ms: of_metric(|figures| figures.latency_ms.p99),
                error_rate: of_metric(|figures| figures.error_rate),
                server_ms_per_operation: median_of(&|run| {
                    run.cpu.as_ref()?.server_ms_per_operation
                }),
                machine_busy_percent: median_of(&|run| {
                    Some(run.cpu.as_ref()?.machine_busy_percent)
                }),
                metric: metric.clone(),
            })
        })
        .collect()
}

/// The middle value (the mean of the two middle ones for an even count); `None` for none.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|value| !value.is_nan());
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        length if length % 2 == 1 => values.get(middle).copied(),
        _ => Some((values[middle - 1] + values[middle]) / 2.0),
    }
}
