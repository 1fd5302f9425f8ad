//! The figures a run reports per metric, as they appear in the JSON results.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latency percentiles in milliseconds (successful samples only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl LatencySummary {
    /// From a histogram of microseconds.
    pub fn from_micros(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let millis = |micros: u64| micros as f64 / 1000.0;
        Self {
            min: millis(histogram.min()),
            mean: histogram.mean() / 1000.0,
            p50: millis(histogram.value_at_quantile(0.50)),
            p90: millis(histogram.value_at_quantile(0.90)),
            p95: millis(histogram.value_at_quantile(0.95)),
            p99: millis(histogram.value_at_quantile(0.99)),
            p999: millis(histogram.value_at_quantile(0.999)),
            max: millis(histogram.max()),
        }
    }

    /// A percentile by name: `min`, `mean`/`avg`, `med`, `p50` … `p999`, `max`, or `pNN`
    /// for one of the kept ones.
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "min" => self.min,
            "mean" | "avg" => self.mean,
            "p50" | "med" => self.p50,
            "p90" => self.p90,
            "p95" => self.p95,
            "p99" => self.p99,
            "p999" | "p99.9" => self.p999,
            "max" => self.max,
            _ => return None,
        })
    }
}

/// One second of one metric: how many finished, how many failed, and their latency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecondSummary {
    /// Seconds since the run started (by completion time).
    pub second: u64,
    pub count: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Everything measured for one metric in one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricReport {
    /// Samples: successes plus failures.
    pub count: u64,
    pub ok: u64,
    pub errors: u64,
    /// `errors / count` (0 when nothing was counted).
    pub error_rate: f64,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// `count` per second of load.
    pub rate: f64,
    pub latency_ms: LatencySummary,
    #[serde(default)]
    pub timeline: Vec<SecondSummary>,
}

/// What one node of the cluster was sent in a run: operations (one sample each, whatever its
/// metric) and how many of them failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeCount {
    pub requests: u64,
    pub errors: u64,
}
