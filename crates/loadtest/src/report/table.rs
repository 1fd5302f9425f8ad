//! The final table printed on standard output.

use std::fmt::Write;

use super::medians::{ScenarioMedians, medians};
use super::{Report, RunReport};
use crate::cpu::CpuReport;
use crate::quantity::format_millis;

/// The whole report as text.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let spawned = match (report.spawned, report.cold_start_ms) {
        (true, Some(cold)) => format!(" (spawned, cold start {})", format_millis(cold)),
        (true, None) => " (spawned)".to_owned(),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "\nswitchboard loadtest {}: scenario {}, profile {}, target {}{spawned}",
        report.harness_version, report.scenario, report.profile, report.target
    );
    if !report.nodes.is_empty() {
        let _ = writeln!(
            out,
            "nodes: {} (setup and queue statistics on the first)",
            report.nodes.len()
        );
    }
    // Stored queue entries are counted in the shared database, whichever node is asked.
    let queue_stats_node = report.nodes.first().map(String::as_str);
    for run in &report.runs {
        render_run(&mut out, run, queue_stats_node);
    }
    render_medians(&mut out, &medians(report));
    if let Some(correctness) = &report.correctness {
        let counts: Vec<String> = correctness
            .counts()
            .iter()
            .map(|(label, value)| format!("{label} {value}"))
            .collect();
        let _ = writeln!(out, "\ncorrectness: {}", counts.join(", "));
        let waits = &correctness.longest_wait_ms;
        let _ = writeln!(
            out,
            "  each conversation's longest wait for a reply: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            waits.p50, waits.p99, waits.max
        );
        if !correctness.lost_examples.is_empty() {
            let _ = writeln!(
                out,
                "  lost (contact:seq): {}",
                correctness.lost_examples.join(", ")
            );
        }
    }
    if let Some(memory) = &report.memory {
        let _ = writeln!(
            out,
            "\nserver memory (pid {}): start {}, peak {}, end {} ({} samples)",
            memory.pid,
            megabytes(memory.first_rss_bytes),
            megabytes(memory.peak_rss_bytes),
            megabytes(memory.last_rss_bytes),
            memory.samples.len()
        );
        let _ = writeln!(
            out,
            "  {}",
            sparkline(
                &memory
                    .samples
                    .iter()
                    .map(|s| s.rss_bytes as f64)
                    .collect::<Vec<_>>()
            )
        );
    }
    if let Some(breakpoint) = &report.breakpoint {
        let _ = writeln!(out, "\nbreakpoint:");
        for step in &breakpoint.steps {
            let _ = writeln!(
                out,
                "  {:>10.0}/s  achieved {:>10.1}/s  {}{}",
                step.rate,
                step.achieved_rate,
                if step.passed { "held" } else { "BROKE" },
                if step.failed.is_empty() {
                    String::new()
                } else {
                    format!(": {}", step.failed.join(", "))
                }
            );
        }
        let _ = match breakpoint.last_passing_rate {
            Some(rate) => writeln!(out, "  last rate that held: {rate:.0}/s"),
            None => writeln!(out, "  no rate held, not even the first"),
        };
    }
    if let Some(suite) = &report.suite {
        let _ = writeln!(out, "\nseed targets:");
        for check in suite {
            let _ = writeln!(
                out,
                "  {:<14} {:<62} {}",
                check.status.to_uppercase(),
                check.target,
                check.measured
            );
        }
    }
    if !report.thresholds.is_empty() {
        let _ = writeln!(out, "\nthresholds:");
        for threshold in &report.thresholds {
            let metric = match &threshold.run {
                Some(run) => format!("{run}: {}", threshold.metric),
                None => threshold.metric.clone(),
            };
            let _ = writeln!(
                out,
                "  {} {:<28} {:<26} {}",
                if threshold.passed { "pass" } else { "FAIL" },
                threshold.expression,
                metric,
                threshold.measured
            );
        }
    }
    if !report.regressions.is_empty() {
        let _ = writeln!(out, "\nregressions against the baseline:");
        for regression in &report.regressions {
            let _ = writeln!(
                out,
                "  {} {} {}: {:.3} → {:.3} ({:+.1}%)",
                regression.run,
                regression.metric,
                regression.statistic,
                regression.baseline,
                regression.current,
                regression.change * 100.0
            );
        }
    }
    let _ = writeln!(
        out,
        "\nresult: {}",
        if report.passed { "PASSED" } else { "FAILED" }
    );
    out
}

fn render_run(out: &mut String, run: &RunReport, queue_stats_node: Option<&str>) {
    let _ = writeln!(
        out,
        "\nrun {}: {} ({:.1}s of load)",
        run.name,
        run.model.describe(),
        run.duration_secs
    );
    let _ = writeln!(
        out,
        "  {:<26} {:>9} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "metric", "count", "rate", "p50", "p90", "p95", "p99", "max", "errors"
    );
    for (name, metric) in &run.metrics {
        let latency = &metric.latency_ms;
        let _ = writeln!(
            out,
            "  {:<26} {:>9} {:>9.1}/s {:>9} {:>9} {:>9} {:>9} {:>9} {:>7.2}%",
            name,
            metric.count,
            metric.rate,
            format_millis(latency.p50),
            format_millis(latency.p90),
            format_millis(latency.p95),
            format_millis(latency.p99),
            format_millis(latency.max),
            metric.error_rate * 100.0
        );
    }
    for (name, metric) in &run.metrics {
        if metric.errors_by_kind.is_empty() {
            continue;
        }
        let kinds: Vec<String> = metric
            .errors_by_kind
            .iter()
            .map(|(kind, count)| format!("{kind} ×{count}"))
            .collect();
        let _ = writeln!(out, "  errors {name}: {}", kinds.join(", "));
    }
    render_nodes(out, run);
    if let Some(drain) = &run.drain {
        let _ = writeln!(
            out,
            "  drain: {:.1}s{}{}{}",
            drain.waited_secs,
            if drain.timed_out { " (timed out)" } else { "" },
            drain
                .pending_at_end
                .map(|pending| format!(", {pending} queue entries left"))
                .unwrap_or_default(),
            queue_stats_node
                .filter(|_| drain.pending_at_end.is_some())
                .map(|node| format!(" (queue statistics from {node}, counting every node's)"))
                .unwrap_or_default()
        );
    }
    if let Some(calls) = &run.calls {
        let counts: Vec<String> = calls
            .counts()
            .iter()
            .map(|(label, count)| format!("{count} {label}"))
            .collect();
        let _ = writeln!(out, "  calls: {}", counts.join(", "));
    }
    if let Some(cpu) = &run.cpu {
        let _ = writeln!(out, "  {}", describe_cpu(cpu));
    }
}

/// What each node was sent, against several.
fn render_nodes(out: &mut String, run: &RunReport) {
    if run.nodes.is_empty() {
        return;
    }
    let _ = writeln!(out, "  {:<38} {:>9} {:>9}", "node", "requests", "errors");
    for node in &run.nodes {
        let share = if node.requests == 0 {
            0.0
        } else {
            node.errors as f64 / node.requests as f64
        };
        let _ = writeln!(
            out,
            "  {:<38} {:>9} {:>9} ({:.2}%)",
            node.node,
            node.requests,
            node.errors,
            share * 100.0
        );
    }
}

/// Each repeated scenario's medians, after its runs.
fn render_medians(out: &mut String, medians: &[ScenarioMedians]) {
    if medians.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nmedians over each scenario's runs:");
    let _ = writeln!(
        out,
        "  {:<16} {:>4} {:<10} {:>11} {:>9} {:>9} {:>8} {:>13} {:>8}",
        "scenario", "runs", "metric", "rate", "p50", "p99", "errors", "server ms/op", "machine"
    );
    for scenario in medians {
        let _ = writeln!(
            out,
            "  {:<16} {:>4} {:<10} {:>9.1}/s {:>9} {:>9} {:>7.2}% {:>13} {:>8}",
            scenario.scenario,
            scenario.runs,
            scenario.metric,
            scenario.rate,
            format_millis(scenario.p50_ms),
            format_millis(scenario.p99_ms),
            scenario.error_rate * 100.0,
            scenario
                .server_ms_per_operation
                .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.3}")),
            scenario
                .machine_busy_percent
                .map_or_else(|| "-".to_owned(), |percent| format!("{percent:.0}%")),
        );
    }
}

/// `cpu: machine 185% of 2 cores (steal 19%), 1.85 ms/op; server 67%, 0.67 ms/op; harness 15%, 0.15 ms/op`
fn describe_cpu(cpu: &CpuReport) -> String {
    let per_operation =
        |ms: Option<f64>| ms.map(|ms| format!(", {ms:.2} ms/op")).unwrap_or_default();
    let server = cpu
        .server_percent
        .map(|percent| {
            format!(
                "; server {percent:.0}%{}",
                per_operation(cpu.server_ms_per_operation)
            )
        })
        .unwrap_or_default();
    format!(
        "cpu: machine {:.0}% of {} cores (steal {:.0}%){}{server}; harness {:.0}%{}",
        cpu.machine_busy_percent,
        cpu.cores,
        cpu.machine_steal_percent,
        per_operation(cpu.machine_ms_per_operation),
        cpu.harness_percent,
        per_operation(cpu.harness_ms_per_operation),
    )
}

pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// A one-line chart of `values` (at most 60 columns).
fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if values.is_empty() {
        return String::new();
    }
    let step = values.len().div_ceil(60);
    let points: Vec<f64> = values
        .chunks(step)
        .map(|chunk| chunk.iter().cloned().fold(0.0, f64::max))
        .collect();
    let low = points.iter().cloned().fold(f64::INFINITY, f64::min);
    let high = points.iter().cloned().fold(0.0, f64::max);
    points
        .iter()
        .map(|value| {
            let share = if high > low {
                (value - low) / (high - low)
            } else {
                0.0
            };
            BARS[((share * 7.0).round() as usize).min(7)]
        })
        .collect()
}
