//! The one task that owns a run's histograms: it absorbs workers' batches, rolls the
//! per-second timeline, counts what each node was sent, and draws the live progress line on
//! standard error.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::summary::{LatencySummary, MetricReport, NodeCount, SecondSummary};
use super::{ErrorKind, Metric, Sample, SampleSink};
use crate::cluster::NodeIndex;
use crate::quantity::format_millis;

/// How the live progress line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressStyle {
    Off,
    /// Redrawn in place every second (a terminal).
    Live,
    /// A new line every ten seconds (a log file or CI).
    Lines,
}

impl ProgressStyle {
    pub fn detect(quiet: bool) -> Self {
        use std::io::IsTerminal;
        if quiet {
            ProgressStyle::Off
        } else if std::io::stderr().is_terminal() {
            ProgressStyle::Live
        } else {
            ProgressStyle::Lines
        }
    }
}

/// Seconds a timeline bucket stays open for late batches before it is summarised.
const OPEN_SECONDS: u64 = 3;
const MAX_MICROS: u64 = 3_600_000_000;

struct Bucket {
    count: u64,
    errors: u64,
    histogram: Histogram<u64>,
}

struct MetricState {
    total: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<ErrorKind, u64>,
    open: BTreeMap<u64, Bucket>,
    closed: Vec<SecondSummary>,
}

impl MetricState {
    fn new() -> Self {
        Self {
            total: histogram(3),
            ok: 0,
            errors: BTreeMap::new(),
            open: BTreeMap::new(),
            closed: Vec::new(),
        }
    }

    fn count(&self) -> u64 {
        self.ok + self.errors.values().sum::<u64>()
    }

    fn absorb(&mut self, sample: &Sample) {
        let second = sample.at_millis / 1000;
        match sample.error {
            None => {
                self.ok += 1;
                self.total.saturating_record(sample.latency_micros.max(1));
            }
            Some(kind) => *self.errors.entry(kind).or_default() += 1,
        }
        if let Some(summary) = self.closed.iter_mut().rev().find(|s| s.second == second) {
            // A batch that arrived after its second was summarised still counts.
            summary.count += 1;
            summary.errors += u64::from(sample.error.is_some());
            return;
        }
        let bucket = self.open.entry(second).or_insert_with(|| Bucket {
            count: 0,
            errors: 0,
            histogram: histogram(2),
        });
        bucket.count += 1;
        match sample.error {
            None => bucket
                .histogram
                .saturating_record(sample.latency_micros.max(1)),
            Some(_) => bucket.errors += 1,
        }
    }

    /// Summarises buckets older than `before` (all of them when `None`).
    fn close(&mut self, before: Option<u64>) {
        let keep = match before {
            Some(second) => self.open.split_off(&second),
            None => BTreeMap::new(),
        };
        for (second, bucket) in std::mem::replace(&mut self.open, keep) {
            self.closed.push(summarise(second, &bucket));
        }
    }

    fn report(mut self, duration: Duration) -> MetricReport {
        self.close(None);
        let errors: u64 = self.errors.values().sum();
        let count = self.ok + errors;
        let seconds = duration.as_secs_f64().max(1e-9);
        MetricReport {
            count,
            ok: self.ok,
            errors,
            error_rate: if count == 0 {
                0.0
            } else {
                errors as f64 / count as f64
            },
            errors_by_kind: self
                .errors
                .iter()
                .map(|(kind, count)| (kind.name(), *count))
                .collect(),
            rate: count as f64 / seconds,
            latency_ms: LatencySummary::from_micros(&self.total),
            timeline: self.closed,
        }
    }
}

fn summarise(second: u64, bucket: &Bucket) -> SecondSummary {
    let at = |quantile| bucket.histogram.value_at_quantile(quantile) as f64 / 1000.0;
    SecondSummary {
        second,
        count: bucket.count,
        errors: bucket.errors,
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: bucket.histogram.max() as f64 / 1000.0,
    }
}

/// An empty histogram of microseconds, as every metric keeps.
pub(crate) fn histogram(significant_figures: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, significant_figures)
        .expect("constant histogram bounds are valid")
}

/// The aggregator of one run.
pub struct Aggregator {
    rx: UnboundedReceiver<Vec<Sample>>,
    started: Instant,
    metrics: Vec<MetricState>,
    /// Per node, each sample once (not again under its metric's aggregate).
    nodes: BTreeMap<NodeIndex, NodeCount>,
    progress: ProgressStyle,
    label: String,
    primary: Vec<Metric>,
}

/// Ends the aggregator and collects its reports.
pub struct AggregatorHandle {
    stop: CancellationToken,
    task: JoinHandle<Aggregator>,
}

impl Aggregator {
    /// Starts the aggregator task; samples sent through the returned sink count from now.
    /// The progress line shows `label` and the `primary` metrics.
    pub fn start(
        label: String,
        primary: Vec<Metric>,
        progress: ProgressStyle,
    ) -> (SampleSink, AggregatorHandle) {
        let (tx, rx) = unbounded_channel();
        let started = Instant::now();
        let aggregator = Aggregator {
            rx,
            started,
            metrics: Metric::ALL.iter().map(|_| MetricState::new()).collect(),
            nodes: BTreeMap::new(),
            progress,
            label,
            primary,
        };
        let stop = CancellationToken::new();
        let task = tokio::spawn(aggregator.run(stop.clone()));
        (
            SampleSink::new(tx, started),
            AggregatorHandle { stop, task },
        )
    }

    async fn run(mut self, stop: CancellationToken) -> Aggregator {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                batch = self.rx.recv() => match batch {
                    Some(batch) => self.absorb(&batch),
                    None => break,
                },
                _ = tick.tick() => self.on_tick(),
                () = stop.cancelled() => break,
            }
        }
        while let Ok(batch) = self.rx.try_recv() {
            self.absorb(&batch);
        }
        if self.progress == ProgressStyle::Live {
            eprintln!();
        }
        self
    }

    fn absorb(&mut self, batch: &[Sample]) {
        for sample in batch {
            if let Some(node) = sample.node {
                let count = self.nodes.entry(node).or_default();
                count.requests += 1;
                count.errors += u64::from(sample.error.is_some());
            }
            self.metrics[sample.metric.index()].absorb(sample);
            if let Some(parent) = sample.metric.parent() {
                self.metrics[parent.index()].absorb(sample);
            }
        }
    }

    fn on_tick(&mut self) {
        let elapsed = self.started.elapsed().as_secs();
        let before = elapsed.saturating_sub(OPEN_SECONDS);
        for metric in &mut self.metrics {
            metric.close(Some(before));
        }
        let show = match self.progress {
            ProgressStyle::Off => false,
            ProgressStyle::Live => true,
            ProgressStyle::Lines => elapsed > 0 && elapsed.is_multiple_of(10),
        };
        if show {
            let line = self.progress_line(elapsed);
            let mut stderr = std::io::stderr().lock();
            let _ = if self.progress == ProgressStyle::Live {
                write!(stderr, "\r\x1b[2K{line}")
            } else {
                writeln!(stderr, "{line}")
            };
            let _ = stderr.flush();
        }
    }

    /// `  12s  webhook_ack 1203/s p95 3.21ms err 0.00%  e2e …`
    fn progress_line(&self, elapsed: u64) -> String {
        let mut line = format!("{} {elapsed:>4}s", self.label);
        let last = elapsed.saturating_sub(1);
        for metric in &self.primary {
            let state = &self.metrics[metric.index()];
            let (rate, p95) = match state.open.get(&last) {
                Some(bucket) => (
                    bucket.count,
                    bucket.histogram.value_at_quantile(0.95) as f64 / 1000.0,
                ),
                None => (0, 0.0),
            };
            let count = state.count();
            let errors = count - state.ok;
            let error_percent = if count == 0 {
                0.0
            } else {
                100.0 * errors as f64 / count as f64
            };
            line.push_str(&format!(
                "  {} {rate}/s p95 {} errors {error_percent:.2}% ({errors})",
                metric.name(),
                format_millis(p95)
            ));
        }
        line
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Every metric that saw a sample, by name.
    pub metrics: BTreeMap<String, MetricReport>,
    /// Every node that was sent something.
    pub nodes: BTreeMap<NodeIndex, NodeCount>,
}

impl AggregatorHandle {
    /// Stops the aggregator (after absorbing what was already sent) and reports every metric
    /// that saw a sample, rates per second of `load_duration`, and what each node was sent.
    pub async fn finish(self, load_duration: Duration) -> Measured {
        // Let batches already queued by finished workers land first.
        tokio::task::yield_now().await;
        self.stop.cancel();
        let Ok(aggregator) = self.task.await else {
            return Measured::default();
        };
        let metrics = Metric::ALL
            .iter()
            .zip(aggregator.metrics)
            .filter(|(_, state)| state.count() > 0)
            .map(|(metric, state)| (metric.name().to_owned(), state.report(load_duration)))
            .collect();
        Measured {
            metrics,
            nodes: aggregator.nodes,
        }
    }
}
