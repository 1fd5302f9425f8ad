//! `--html report.html`: one self-contained page — tables plus charts drawn as inline SVG by
//! this code. No script, stylesheet, font or image is loaded from anywhere.

use std::fmt::Write;

use super::{Report, RunReport};
use crate::metrics::{MetricReport, SecondSummary};
use crate::quantity::format_millis;
use crate::report::table::megabytes;

/// Reads one statistic of a second.
type Pick = fn(&SecondSummary) -> f64;

const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// The report as an HTML document.
pub fn render(report: &Report) -> String {
    let mut page = String::new();
    let title = format!(
        "switchboard loadtest: {} / {}",
        escape(&report.scenario),
        escape(&report.profile)
    );
    let _ = write!(
        page,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        page,
        "<h1>{title}</h1><p>Target <code>{}</code>{} · started {} · harness {} · <strong class=\"{}\">{}</strong></p>",
        escape(&report.target),
        report
            .cold_start_ms
            .map(|cold| format!(" · spawned, cold start {}", format_millis(cold)))
            .unwrap_or_default(),
        escape(&report.started_at),
        escape(&report.harness_version),
        if report.passed { "pass" } else { "fail" },
        if report.passed { "PASSED" } else { "FAILED" }
    );
    for run in &report.runs {
        render_run(&mut page, run);
    }
    if let Some(correctness) = &report.correctness {
        let counts = correctness.counts();
        let headers: String = counts
            .iter()
            .map(|(label, _)| format!("<th>{label}</th>"))
            .collect();
        let values: String = counts
            .iter()
            .map(|(_, value)| format!("<td>{value}</td>"))
            .collect();
        let _ = write!(
            page,
            "<h2>Correctness</h2><table><tr>{headers}</tr><tr>{values}</tr></table>"
        );
    }
    if let Some(memory) = &report.memory {
        let points = memory
            .samples
            .iter()
            .map(|sample| (sample.second, sample.rss_bytes as f64 / 1_048_576.0))
            .collect();
        let _ = write!(
            page,
            "<h2>Server memory (pid {})</h2><p>start {}, peak {}, end {}</p>{}",
            memory.pid,
            megabytes(memory.first_rss_bytes),
            megabytes(memory.peak_rss_bytes),
            megabytes(memory.last_rss_bytes),
            line_chart("Resident memory", "MB", &[("rss".into(), points)])
        );
    }
    if let Some(breakpoint) = &report.breakpoint {
        page.push_str(
            "<h2>Breakpoint</h2><table><tr><th>rate</th><th>achieved</th><th>result</th></tr>",
        );
        for step in &breakpoint.steps {
            let _ = write!(
                page,
                "<tr><td>{:.0}/s</td><td>{:.1}/s</td><td>{}</td></tr>",
                step.rate,
                step.achieved_rate,
                if step.passed {
                    "held".to_owned()
                } else {
                    escape(&step.failed.join(", "))
                }
            );
        }
        page.push_str("</table>");
    }
    if let Some(suite) = &report.suite {
        page.push_str(
            "<h2>Seed targets</h2><table><tr><th>target</th><th>measured</th><th>status</th></tr>",
        );
        for check in suite {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                escape(&check.target),
                escape(&check.measured),
                if check.status == "pass" {
                    "pass"
                } else {
                    "fail"
                },
                escape(&check.status)
            );
        }
        page.push_str("</table>");
    }
    if !report.thresholds.is_empty() {
        page.push_str("<h2>Thresholds</h2><table><tr><th>expression</th><th>metric</th><th>measured</th><th>result</th></tr>");
        for threshold in &report.thresholds {
            let _ = write!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                escape(&threshold.expression),
                escape(&threshold.metric),
                escape(&threshold.measured),
                if threshold.passed { "pass" } else { "fail" },
                if threshold.passed { "pass" } else { "FAIL" }
            );
        }
        page.push_str("</table>");
    }
    page.push_str("</body></html>\n");
    page
}

fn render_run(page: &mut String, run: &RunReport) {
    let _ = write!(
        page,
        "<h2>Run {}</h2><p>{} · {:.1}s of load</p><table><tr><th>metric</th><th>count</th><th>rate</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th><th>errors</th></tr>",
        escape(&run.name),
        escape(&run.model.describe()),
        run.duration_secs
    );
    for (name, metric) in &run.metrics {
        let latency = &metric.latency_ms;
        let kinds: Vec<String> = metric
            .errors_by_kind
            .iter()
            .map(|(kind, count)| format!("{kind} ×{count}"))
            .collect();
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{:.1}/s</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}% {}</td></tr>",
            escape(name),
            metric.count,
            metric.rate,
            format_millis(latency.p50),
            format_millis(latency.p90),
            format_millis(latency.p95),
            format_millis(latency.p99),
            format_millis(latency.max),
            metric.error_rate * 100.0,
            escape(&kinds.join(", "))
        );
    }
    page.push_str("</table>");
    let charted: Vec<(&String, &MetricReport)> = run
        .metrics
        .iter()
        .filter(|(name, _)| run.primary.contains(name) || *name == "webhook_ack" || *name == "e2e")
        .collect();
    for (name, metric) in &charted {
        let percentiles: [(&str, Pick); 3] = [
            ("p50", |second| second.p50_ms),
            ("p95", |second| second.p95_ms),
            ("p99", |second| second.p99_ms),
        ];
        let series = percentiles
            .iter()
            .map(|(label, pick)| {
                let points = metric
                    .timeline
                    .iter()
                    .filter(|second| second.count > second.errors)
                    .map(|second| (second.second as f64, pick(second)))
                    .collect();
                ((*label).to_owned(), points)
            })
            .collect::<Vec<_>>();
        page.push_str(&line_chart(
            &format!("{name}: latency over time"),
            "ms",
            &series,
        ));
    }
    let mut throughput = Vec::new();
    for (name, metric) in &charted {
        let per_second = |errors: bool| {
            metric
                .timeline
                .iter()
                .map(|second| {
                    let value = if errors { second.errors } else { second.count };
                    (second.second as f64, value as f64)
                })
                .collect::<Vec<_>>()
        };
        throughput.push((format!("{name}/s"), per_second(false)));
        if metric.errors > 0 {
            throughput.push((format!("{name} errors/s"), per_second(true)));
        }
    }
    page.push_str(&line_chart("Throughput", "per second", &throughput));
}

/// A line chart of `(x seconds, y)` series, as inline SVG.
fn line_chart(title: &str, unit: &str, series: &[(String, Vec<(f64, f64)>)]) -> String {
    const WIDTH: f64 = 860.0;
    const HEIGHT: f64 = 260.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 30.0;
    const BOTTOM: f64 = 40.0;
    let all = series.iter().flat_map(|(_, points)| points.iter());
    let (max_x, max_y) = all.fold((1.0_f64, 0.0_f64), |(x, y), (px, py)| {
        (x.max(*px), y.max(*py))
    });
    let max_y = if max_y > 0.0 {
        nice_ceiling(max_y)
    } else {
        1.0
    };
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let to_x = |x: f64| LEFT + x / max_x * plot_width;
    let to_y = |y: f64| TOP + plot_height - y / max_y * plot_height;
    let mut svg = format!(
        "<figure><svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{}\">",
        escape(title)
    );
    let _ = write!(
        svg,
        "<text x=\"{LEFT}\" y=\"18\" class=\"title\">{}</text>",
        escape(title)
    );
    for tick in 0..=4 {
        let value = max_y * f64::from(tick) / 4.0;
        let y = to_y(value);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/><text x=\"{}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            short_number(value)
        );
    }
    for tick in 0..=5 {
        let value = max_x * f64::from(tick) / 5.0;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{:.0}s</text>",
            to_x(value),
            HEIGHT - BOTTOM + 16.0,
            value
        );
    }
    let _ = write!(
        svg,
        "<text x=\"12\" y=\"{:.1}\" class=\"tick\" transform=\"rotate(-90 12 {:.1})\">{}</text>",
        TOP + plot_height / 2.0,
        TOP + plot_height / 2.0,
        escape(unit)
    );
    for (index, (label, points)) in series.iter().enumerate() {
        let color = COLORS[index % COLORS.len()];
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", to_x(*x), to_y(*y)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\" points=\"{}\"/><text x=\"{:.1}\" y=\"{}\" fill=\"{color}\" class=\"tick\">{}</text>",
            path.join(" "),
            LEFT + 10.0 + 150.0 * index as f64,
            HEIGHT - 6.0,
            escape(label)
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

/// 1, 2, 2.5 or 5 × a power of ten, at least `value`.
fn nice_ceiling(value: f64) -> f64 {
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(value)
}

fn short_number(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.0}k", value / 1000.0)
    } else if value >= 100.0 || value == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// Escapes text for HTML content and attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}.pass{color:#2a7a2a}.fail{color:#b00020;font-weight:bold}.grid{stroke:#e5e5e5}.tick{font-size:11px;fill:#555}.title{font-size:13px;font-weight:600}figure{margin:0 0 1em}";
