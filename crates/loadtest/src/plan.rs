//! How much load, shaped how: the k6 profiles and the two models.
//!
//! - **Closed** (virtual users): each VU sends its next request as soon as the previous one is
//!   answered; the VU count follows stages (linear ramps, as k6's `ramping-vus`).
//! - **Open** (`--rate`): arrivals are scheduled at fixed times whatever the server does, and
//!   every latency is measured from the *scheduled* time, so a stalled server shows as latency
//!   instead of as fewer requests (no coordinated omission).
//! - **Breakpoint**: open-model steps at a growing rate until a threshold breaks.
//!
//! And which runs, in what order, when an invocation names several scenarios or rounds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::quantity::{Stage, seconds};
use crate::scenario::Scenario;

/// The k6 load profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// 1 VU for 30 s: does it work at all?
    Smoke,
    /// 10 VUs for 5 min: a normal day.
    Average,
    /// 50 VUs for 10 min: a heavy day.
    Stress,
    /// 1 → 100 → 1 VUs over 90 s: a sudden rush.
    Spike,
    /// 20 VUs for 1 h: leaks and slow degradation.
    Soak,
    /// A growing arrival rate until a threshold breaks; reports the last rate that held.
    Breakpoint,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Smoke => "smoke",
            Profile::Average => "average",
            Profile::Stress => "stress",
            Profile::Spike => "spike",
            Profile::Soak => "soak",
            Profile::Breakpoint => "breakpoint",
        }
    }
}

/// The load of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LoadModel {
    #[serde(rename_all = "camelCase")]
    Closed {
        /// VUs at the start; each stage ramps linearly from the previous target to its own.
        start_vus: u32,
        stages: Vec<Stage>,
        /// Pause between a VU's iterations.
        #[serde(with = "seconds")]
        think_time: Duration,
    },
    #[serde(rename_all = "camelCase")]
    Open {
        /// Arrivals per second.
        rate: f64,
        #[serde(with = "seconds")]
        duration: Duration,
        /// Connections (k6's pre-allocated VUs) the arrivals are spread over; 0 = automatic.
        workers: usize,
    },
}

impl LoadModel {
    pub fn duration(&self) -> Duration {
        match self {
            LoadModel::Closed { stages, .. } => stages.iter().map(|stage| stage.duration).sum(),
            LoadModel::Open { duration, .. } => *duration,
        }
    }

    /// The most VUs the closed model ever wants.
    pub fn peak_vus(&self) -> u32 {
        match self {
            LoadModel::Closed {
                start_vus, stages, ..
            } => stages
                .iter()
                .map(|stage| stage.target)
                .fold(*start_vus, u32::max),
            LoadModel::Open { .. } => 0,
        }
    }

    /// Active VUs `elapsed` into a closed run.
    pub fn vus_at(&self, elapsed: Duration) -> u32 {
        let LoadModel::Closed {
            start_vus, stages, ..
        } = self
        else {
            return 0;
        };
        let mut from = f64::from(*start_vus);
        let mut stage_start = Duration::ZERO;
        for stage in stages {
            let stage_end = stage_start + stage.duration;
            let target = f64::from(stage.target);
            if elapsed < stage_end {
                let progress = if stage.duration.is_zero() {
                    1.0
                } else {
                    (elapsed - stage_start).as_secs_f64() / stage.duration.as_secs_f64()
                };
                return (from + (target - from) * progress).round() as u32;
            }
            from = target;
            stage_start = stage_end;
        }
        from.round() as u32
    }

    /// `10 VUs for 30s`, `1000/s for 10s`, `ramp 1 → 100 → 1 VUs over 1m30s`.
    pub fn describe(&self) -> String {
        let duration = crate::quantity::format_duration(self.duration());
        match self {
            LoadModel::Open { rate, .. } => format!("open model, {rate:.0}/s for {duration}"),
            LoadModel::Closed {
                start_vus, stages, ..
            } if stages.iter().all(|stage| stage.target == *start_vus) => {
                format!("closed model, {start_vus} VUs for {duration}")
            }
            LoadModel::Closed {
                start_vus, stages, ..
            } => {
                let targets: Vec<String> = std::iter::once(*start_vus)
                    .chain(stages.iter().map(|stage| stage.target))
                    .map(|target| target.to_string())
                    .collect();
                format!(
                    "closed model, ramp {} VUs over {duration}",
                    targets.join(" → ")
                )
            }
        }
    }
}

/// What the command line says about load, over the profile's defaults.
#[derive(Debug, Clone, Default)]
pub struct LoadOverrides {
    pub vus: Option<u32>,
    pub duration: Option<Duration>,
    pub stages: Vec<Stage>,
    pub rate: Option<f64>,
    pub think_time: Duration,
}

/// The breakpoint search: steps of `step` at `start_rate`, × `growth` each time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakpointPlan {
    pub start_rate: f64,
    pub growth: f64,
    pub step: Duration,
    pub max_rate: f64,
    pub workers: usize,
}

/// A profile's load with the overrides applied. `Err` for breakpoint, which is a search.
pub fn resolve(profile: Profile, overrides: &LoadOverrides) -> Result<LoadModel, BreakpointPlan> {
    let (vus, duration) = match profile {
        Profile::Smoke => (1, Duration::from_secs(30)),
        Profile::Average => (10, Duration::from_secs(300)),
        Profile::Stress => (50, Duration::from_secs(600)),
        Profile::Soak => (20, Duration::from_secs(3600)),
        Profile::Spike => (100, Duration::from_secs(90)),
        Profile::Breakpoint => {
            return Err(BreakpointPlan {
                start_rate: overrides.rate.unwrap_or(100.0),
                growth: 1.5,
                step: overrides.duration.unwrap_or(Duration::from_secs(10)),
                max_rate: 1_000_000.0,
                workers: overrides.vus.map_or(0, |vus| vus as usize),
            });
        }
    };
    let duration = overrides.duration.unwrap_or(duration);
    if let Some(rate) = overrides.rate {
        return Ok(LoadModel::Open {
            rate,
            duration,
            workers: overrides.vus.map_or(0, |vus| vus as usize),
        });
    }
    let think_time = overrides.think_time;
    if !overrides.stages.is_empty() {
        return Ok(LoadModel::Closed {
            start_vus: overrides.vus.unwrap_or(1),
            stages: overrides.stages.clone(),
            think_time,
        });
    }
    let vus = overrides.vus.unwrap_or(vus);
    if profile == Profile::Spike {
        // 1 → peak in the first ninth, hold, back to 1 in the last ninth.
        let ramp = duration / 9;
        return Ok(LoadModel::Closed {
            start_vus: 1,
            stages: vec![
                Stage {
                    duration: ramp,
                    target: vus,
                },
                Stage {
                    duration: duration.saturating_sub(ramp * 2),
                    target: vus,
                },
                Stage {
                    duration: ramp,
                    target: 1,
                },
            ],
            think_time,
        });
    }
    Ok(LoadModel::Closed {
        start_vus: vus,
        stages: vec![Stage {
            duration,
            target: vus,
        }],
        think_time,
    })
}

/// The runs of an invocation, named and in order: the scenarios one after another, `rounds`
/// times over (A, B, A, B, …), so that compared scenarios share the machine's ups and downs. A
/// scenario that runs more than once is numbered (`graphql-me #2`), so every run's name is unique.
pub fn run_order(scenarios: &[Scenario], rounds: u32) -> Vec<(String, Scenario)> {
    let order: Vec<Scenario> = (0..rounds)
        .flat_map(|_| scenarios.iter().copied())
        .collect();
    order
        .iter()
        .enumerate()
        .map(|(position, &scenario)| {
            let times = order.iter().filter(|&&other| other == scenario).count();
            let number = order
                .iter()
                .take(position + 1)
                .filter(|&&other| other == scenario)
                .count();
            let name = if times > 1 {
                format!("{} #{number}", scenario.name())
            } else {
                scenario.name().to_owned()
            };
            (name, scenario)
        })
        .collect()
}
