//! `switchboard loadtest`: from flags to a verdict — set up a session, run the scenario (or the
//! breakpoint search), check correctness, evaluate thresholds, compare with a baseline, print
//! the table and write the files.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::args::{LoadtestArgs, Suite};
use crate::checker::Correctness;
use crate::error::LoadtestError;
use crate::metrics::{Metric, ProgressStyle};
use crate::plan::{LoadOverrides, resolve, run_order};
use crate::provider::FaultPlan;
use crate::report::{Report, RunReport, baseline, html, table};
use crate::scenario::Scenario;
use crate::session::{Session, SessionOptions};
use crate::target::{Credentials, SpawnOptions};
use crate::threshold::{Threshold, ThresholdResult};

/// How the invocation ended when nothing went wrong with the harness itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Every threshold held, correctness held, no regression.
    pub passed: bool,
}

impl Verdict {
    /// 0 when passed; 99 (as k6) when a threshold, a correctness check or a baseline failed.
    pub fn exit_code(self) -> i32 {
        if self.passed { 0 } else { 99 }
    }
}

/// Which reply the `--inject-fault` self-test spoils.
const FAULT_AT: u64 = 10;

/// Runs `switchboard loadtest` with `args`.
pub async fn run(args: LoadtestArgs) -> Result<Verdict, LoadtestError> {
    // reqwest (https targets) is built without a default TLS provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let thresholds = args
        .thresholds
        .iter()
        .map(|expression| Threshold::parse(expression))
        .collect::<Result<Vec<_>, _>>()?;
    let stop = CancellationToken::new();
    let interrupt = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nswitchboard loadtest: interrupted, finishing the report");
            interrupt.cancel();
        }
    });
    let progress = ProgressStyle::detect(args.quiet);
    if args.suite == Some(Suite::Seeds) {
        let options = session_options(&args, crate::suite::SCENARIOS.to_vec())?;
        let mut report = crate::suite::run(&options, &args, progress, &stop).await?;
        return conclude(&mut report, &args, &[]);
    }
    let overrides = LoadOverrides {
        vus: args.vus,
        duration: args.duration,
        stages: args.stages.clone(),
        rate: args.rate,
        think_time: args.think_time,
    };
    // A breakpoint is a search, over one scenario.
    let load = match resolve(args.profile, &overrides) {
        Ok(model) => Ok(model),
        Err(plan) => match (args.scenarios.as_slice(), args.rounds) {
            ([scenario], 1) => Err((plan, *scenario)),
            _ => {
                return Err(LoadtestError::InvalidOption {
                    option: "profile",
                    message: "breakpoint searches one scenario, once: give one --scenario and \
                              no --rounds"
                        .into(),
                });
            }
        },
    };
    let checks_replies = args
        .scenarios
        .iter()
        .any(|scenario| scenario.checks_replies());
    let options = session_options(&args, args.scenarios.clone())?;
    let session = Session::open(&options).await?;
    let names: Vec<&str> = args
        .scenarios
        .iter()
        .map(|scenario| scenario.name())
        .collect();
    let mut report = Report::new(
        &session.cluster.describe(),
        &names.join(","),
        args.profile.name(),
    );
    report.nodes = session.node_names();
    report.spawned = session.server.is_some();
    report.cold_start_ms = session
        .server
        .as_ref()
        .map(|server| server.cold_start.as_secs_f64() * 1000.0);
    let mut final_thresholds = thresholds.clone();
    match load {
        Ok(model) => {
            for (name, scenario) in run_order(&args.scenarios, args.rounds) {
                if stop.is_cancelled() {
                    break;
                }
                eprintln!("switchboard loadtest: {name} — {}", model.describe());
                let run = session
                    .run(
                        &name,
                        scenario,
                        &model,
                        progress,
                        &stop,
                        Some(args.drain_timeout),
                    )
                    .await;
                report.runs.push(run);
            }
        }
        Err((plan, scenario)) => {
            let (runs, search) =
                crate::breakpoint::search(&session, scenario, plan, &thresholds, progress, &stop)
                    .await;
            report.runs = runs;
            report.breakpoint = Some(search);
            // Steps were judged one by one; what is left to judge is correctness.
            final_thresholds.retain(Threshold::is_correctness);
            if checks_replies {
                session.drain(args.drain_timeout, &stop).await;
            }
        }
    }
    if checks_replies {
        report.correctness = session.correctness();
    }
    report.memory = session.memory.as_ref().map(|memory| memory.report());
    session.close().await;
    // Lost messages belong to the last run that timed replies end to end.
    let end_to_end = report
        .runs
        .iter()
        .rposition(|run| run.metrics.contains_key(Metric::EndToEnd.name()))
        .or(report.runs.len().checked_sub(1));
    if let (Some(correctness), Some(index)) = (&report.correctness, end_to_end)
        && let Some(run) = report.runs.get_mut(index)
    {
        count_lost(run, correctness);
    }
    conclude(&mut report, &args, &final_thresholds)
}

pub(crate) fn session_options(
    args: &LoadtestArgs,
    scenarios: Vec<Scenario>,
) -> Result<SessionOptions, LoadtestError> {
    let spawn = if args.spawn {
        let program = match &args.server_bin {
            Some(program) => program.clone(),
            None => std::env::current_exe()
                .map_err(|error| LoadtestError::file("current executable", error))?,
        };
        Some(SpawnOptions {
            program,
            database_url: args.database_url.clone(),
            patience: Duration::from_secs(60),
        })
    } else {
        None
    };
    let credentials = match (&args.api_key, &args.password) {
        (Some(key), _) => Some(Credentials::ApiKey(key.clone())),
        (None, Some(password)) => Some(Credentials::Password {
            username: args.username.clone(),
            password: password.clone(),
        }),
        (None, None) => None,
    };
    if args.business_numbers == 0 {
        return Err(LoadtestError::InvalidOption {
            option: "business-numbers",
            message: "must be at least 1".into(),
        });
    }
    Ok(SessionOptions {
        target: args.target.clone(),
        spawn,
        credentials,
        request_timeout: args.timeout,
        scenarios,
        business_numbers: args.business_numbers,
        contacts: args.contacts.max(args.vus.unwrap_or(0) as usize).max(1),
        rest_conversations: args.rest_conversations,
        provider_listen: args.provider_listen.clone(),
        provider_url: args.provider_url.clone(),
        fault: args.inject_fault.map(|fault| FaultPlan {
            fault,
            at: FAULT_AT,
        }),
        server_pid: args.server_pid,
        call_length: args.call_length,
    })
}

/// Lost messages are failed end-to-end samples: they count in `e2e`'s errors.
pub fn count_lost(run: &mut RunReport, correctness: &Correctness) {
    if correctness.lost == 0 {
        return;
    }
    let metric = run
        .metrics
        .entry(Metric::EndToEnd.name().to_owned())
        .or_default();
    metric.errors += correctness.lost;
    metric.count += correctness.lost;
    *metric.errors_by_kind.entry("lost".into()).or_default() += correctness.lost;
    metric.error_rate = metric.errors as f64 / metric.count as f64;
    if run.duration_secs > 0.0 {
        metric.rate = metric.count as f64 / run.duration_secs;
    }
}

/// What `--baseline` compares against, and how much worse is allowed.
pub struct BaselineRule<'a> {
    pub baseline: &'a Report,
    /// Allowed relative worsening (0.2 = 20%).
    pub allowed: f64,
    /// Latency differences below this many milliseconds are noise.
    pub floor_ms: f64,
}

/// Judges a finished report: evaluates `thresholds` on its runs, then requires the correctness
/// checks to hold, the breakpoint search to have found a rate, every suite target to have passed
/// (one that could not be measured is not a pass), and no regression against the baseline. Sets
/// and returns `report.passed`.
pub fn judge(
    report: &mut Report,
    thresholds: &[Threshold],
    baseline: Option<BaselineRule<'_>>,
) -> bool {
    let results = evaluate(report, thresholds);
    report.thresholds.extend(results);
    let mut passed = report.thresholds.iter().all(|result| result.passed);
    if let Some(correctness) = &report.correctness {
        passed &= correctness.holds();
    }
    passed &= report
        .runs
        .iter()
        .filter_map(|run| run.calls.as_ref())
        .all(|calls| calls.holds());
    if let Some(breakpoint) = &report.breakpoint {
        passed &= breakpoint.last_passing_rate.is_some();
    }
    if let Some(suite) = &report.suite {
        passed &= suite.iter().all(|check| check.status == "pass");
    }
    if let Some(rule) = baseline {
        report.regressions = baseline::compare(rule.baseline, report, rule.allowed, rule.floor_ms);
        passed &= report.regressions.is_empty();
    }
    report.passed = passed;
    passed
}

/// Correctness criteria once, for the whole session; the others on each run with that run's
/// primary metrics, and a criterion naming a metric only on the runs that measured it (on the
/// last run when none did, where it fails for want of samples).
fn evaluate(report: &Report, thresholds: &[Threshold]) -> Vec<ThresholdResult> {
    let several = report.runs.len() > 1;
    let mut results = Vec::new();
    for threshold in thresholds {
        if threshold.is_correctness() {
            results.extend(threshold.evaluate(
                &Default::default(),
                report.correctness.as_ref(),
                &[],
            ));
            continue;
        }
        let mut runs: Vec<&RunReport> = report
            .runs
            .iter()
            .filter(|run| {
                threshold
                    .metric
                    .is_none_or(|metric| run.metrics.contains_key(metric.name()))
            })
            .collect();
        if runs.is_empty() {
            runs.extend(report.runs.last());
        }
        for run in runs {
            let primary: Vec<Metric> = run
                .primary
                .iter()
                .filter_map(|name| Metric::from_name(name))
                .collect();
            results.extend(
                threshold
                    .evaluate(&run.metrics, None, &primary)
                    .into_iter()
                    .map(|result| ThresholdResult {
                        run: several.then(|| run.name.clone()),
                        ..result
                    }),
            );
        }
    }
    results
}

/// Judges the report, prints the table, writes the files, and returns the verdict.
pub(crate) fn conclude(
    report: &mut Report,
    args: &LoadtestArgs,
    thresholds: &[Threshold],
) -> Result<Verdict, LoadtestError> {
    let old = args
        .baseline
        .as_deref()
        .map(Report::read_json)
        .transpose()?;
    let rule = old.as_ref().map(|baseline| BaselineRule {
        baseline,
        allowed: args.regression,
        floor_ms: args.regression_floor.as_secs_f64() * 1000.0,
    });
    let passed = judge(report, thresholds, rule);
    print!("{}", table::render(report));
    if let Some(path) = &args.out {
        report.write_json(path)?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html::render(report))
            .map_err(|error| LoadtestError::file(path, error))?;
    }
    Ok(Verdict { passed })
}
