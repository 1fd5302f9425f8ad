//! `--profile breakpoint`: open-model steps, each `--duration` long (default 10 s), starting at
//! `--rate` (default 100/s) and 1.5 times faster each step, until a threshold breaks (default
//! thresholds `errors<1%` and `p99<1s`) or the achieved rate falls below 90% of the scheduled
//! one. Reports the last rate that held.

use tokio_util::sync::CancellationToken;

use crate::metrics::{Metric, ProgressStyle};
use crate::plan::{BreakpointPlan, LoadModel};
use crate::report::{BreakpointReport, BreakpointStep, RunReport};
use crate::scenario::Scenario;
use crate::session::Session;
use crate::threshold::Threshold;

/// Shortfall of achieved against scheduled rate that counts as "could not keep up".
const KEEP_UP: f64 = 0.9;

pub async fn search(
    session: &Session,
    scenario: Scenario,
    plan: BreakpointPlan,
    thresholds: &[Threshold],
    progress: ProgressStyle,
    stop: &CancellationToken,
) -> (Vec<RunReport>, BreakpointReport) {
    let defaults;
    let mut criteria: Vec<&Threshold> = thresholds
        .iter()
        .filter(|threshold| !threshold.is_correctness())
        .collect();
    if criteria.is_empty() {
        defaults = ["errors<1%", "p99<1s"]
            .iter()
            .filter_map(|expression| Threshold::parse(expression).ok())
            .collect::<Vec<_>>();
        criteria = defaults.iter().collect();
    }
    let primary = scenario.primary();
    let mut runs = Vec::new();
    let mut report = BreakpointReport::default();
    let mut rate = plan.start_rate;
    while rate <= plan.max_rate && !stop.is_cancelled() {
        let model = LoadModel::Open {
            rate,
            duration: plan.step,
            workers: plan.workers,
        };
        eprintln!("switchboard loadtest: breakpoint step at {rate:.0}/s");
        let name = format!("breakpoint {rate:.0}/s");
        let run = session
            .run(&name, scenario, &model, progress, stop, None)
            .await;
        let mut failed: Vec<String> = criteria
            .iter()
            .flat_map(|threshold| threshold.evaluate(&run.metrics, None, &primary))
            .filter(|result| !result.passed)
            .map(|result| {
                format!(
                    "{} ({} {})",
                    result.expression, result.metric, result.measured
                )
            })
            .collect();
        // What was sent: acknowledged webhooks for e2e, every request for the others.
        let sent = match scenario {
            Scenario::E2e => vec![Metric::WebhookAck],
            _ => primary.clone(),
        };
        let achieved: f64 = sent
            .iter()
            .map(|metric| {
                run.metrics
                    .get(metric.name())
                    .map_or(0.0, |report| report.rate)
            })
            .sum();
        if achieved < rate * KEEP_UP {
            failed.push(format!("achieved {achieved:.0}/s of {rate:.0}/s"));
        }
        let passed = failed.is_empty();
        report.steps.push(BreakpointStep {
            rate,
            achieved_rate: achieved,
            passed,
            failed,
        });
        runs.push(run);
        if !passed {
            report.first_failing_rate = Some(rate);
            break;
        }
        report.last_passing_rate = Some(rate);
        rate *= plan.growth;
    }
    (runs, report)
}
