//! The results of an invocation: one or more runs (a breakpoint search has one per step, the
//! seeds suite one per part), the correctness figures, memory, thresholds and the verdict.
//! Written as JSON with `--out` (schema `switchboard-loadtest/1`, see `docs/loadtest.md`), read
//! back as a `--baseline`, drawn as HTML with `--html`, and printed as a table.

pub mod baseline;
pub mod html;
pub mod medians;
pub mod table;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checker::Correctness;
use crate::cpu::CpuReport;
use crate::error::LoadtestError;
use crate::memory::MemoryReport;
use crate::metrics::MetricReport;
use crate::plan::LoadModel;
use crate::threshold::ThresholdResult;

pub const SCHEMA: &str = "switchboard-loadtest/1";

/// One load run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// Unique within the report (`e2e`, `breakpoint 150/s`, `seeds: rest`), used to match a
    /// baseline's runs.
    pub name: String,
    pub scenario: String,
    pub model: LoadModel,
    /// Seconds of load (the drain afterwards not included).
    pub duration_secs: f64,
    /// The metrics unprefixed thresholds apply to.
    pub primary: Vec<String>,
    pub metrics: BTreeMap<String, MetricReport>,
    /// Against several nodes: what each was sent, in `--target` order (empty against one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<DrainReport>,
    /// `scheduling`: the calls placed and dialled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<crate::voice::CallCorrectness>,
    /// Processor time over the load and the drain (Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuReport>,
}

/// What one node was sent in a run: operations (a sample each, whatever its metric: a `rest-list`
/// operation or an import followed to its end counts once) and how many failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeReport {
    /// The node's base URL.
    pub node: String,
    pub requests: u64,
    pub errors: u64,
}

/// Waiting, after the load, for the queue to empty and the last replies to arrive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainReport {
    pub waited_secs: f64,
    pub timed_out: bool,
    /// Queue entries still pending or sending when the wait ended (if the stats were readable).
    pub pending_at_end: Option<i64>,
    /// Dead letters in the queue at the end.
    pub dead: Option<i64>,
}

/// The breakpoint search.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakpointReport {
    pub steps: Vec<BreakpointStep>,
    /// The highest arrival rate at which every threshold held (`None`: not even the first).
    pub last_passing_rate: Option<f64>,
    pub first_failing_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakpointStep {
    pub rate: f64,
    pub achieved_rate: f64,
    pub passed: bool,
    pub failed: Vec<String>,
}

/// One reference target of `--suite seeds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuiteCheck {
    pub target: String,
    pub measured: String,
    /// `pass`, `fail` or `not available`.
    pub status: String,
}

/// One baseline comparison that got worse than allowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Regression {
    pub run: String,
    pub metric: String,
    pub statistic: String,
    pub baseline: f64,
    pub current: f64,
    /// Relative change, positive = worse.
    pub change: f64,
}

/// Everything one `switchboard loadtest` invocation found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema: String,
    pub harness_version: String,
    /// RFC 3339.
    pub started_at: String,
    /// `--target` (the nodes' base URLs separated by commas), or the spawned server's URL.
    pub target: String,
    /// Against several nodes, their base URLs in `--target` order; the first took the setup
    /// and answered the queue statistics. Empty against one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    pub spawned: bool,
    /// From starting the spawned server to its first healthy answer.
    pub cold_start_ms: Option<f64>,
    pub scenario: String,
    pub profile: String,
    pub runs: Vec<RunReport>,
    pub correctness: Option<Correctness>,
    pub memory: Option<MemoryReport>,
    pub thresholds: Vec<ThresholdResult>,
    pub breakpoint: Option<BreakpointReport>,
    pub suite: Option<Vec<SuiteCheck>>,
    #[serde(default)]
    pub regressions: Vec<Regression>,
    pub passed: bool,
}

impl Report {
    pub fn new(target: &str, scenario: &str, profile: &str) -> Self {
        let started_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Report {
            schema: SCHEMA.into(),
            harness_version: env!("CARGO_PKG_VERSION").into(),
            started_at,
            target: target.into(),
            nodes: Vec::new(),
            spawned: false,
            cold_start_ms: None,
            scenario: scenario.into(),
            profile: profile.into(),
            runs: Vec::new(),
            correctness: None,
            memory: None,
            thresholds: Vec::new(),
            breakpoint: None,
            suite: None,
            regressions: Vec::new(),
            passed: true,
        }
    }

    pub fn write_json(&self, path: &Path) -> Result<(), LoadtestError> {
        let json = serde_json::to_vec_pretty(self).map_err(|source| LoadtestError::Results {
            path: path.to_owned(),
            source,
        })?;
        std::fs::write(path, json).map_err(|error| LoadtestError::file(path, error))
    }

    pub fn read_json(path: &Path) -> Result<Report, LoadtestError> {
        let bytes = std::fs::read(path).map_err(|error| LoadtestError::file(path, error))?;
        serde_json::from_slice(&bytes).map_err(|source| LoadtestError::Results {
            path: path.to_owned(),
            source,
        })
    }
}
