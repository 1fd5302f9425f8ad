//! Where a run's processor time went: the machine's (busy and stolen, from `/proc/stat`), the
//! server's and the harness's own (`/proc/<pid>/stat`), over the run's load and drain, and per
//! operation of its primary metric. On a shared machine the latency of a run means little
//! without them: the harness shares the cores with the server (and its database), and a virtual
//! machine whose host takes time back ("steal") answers slower for reasons of its own. Linux
//! only; elsewhere nothing is measured.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The unit of the times in `/proc` (`USER_HZ`): 100 a second on every Linux architecture the
/// harness is built for.
const TICKS_PER_SECOND: f64 = 100.0;

/// Processor time over one run. Percentages are of one core, as `top` shows them: a two-core
/// machine fully busy is 200 %.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuReport {
    pub wall_secs: f64,
    pub cores: u32,
    /// Time the machine's cores ran anything (user, system, interrupts).
    pub machine_busy_percent: f64,
    /// Time the virtual machine's host took back from its cores.
    pub machine_steal_percent: f64,
    /// The server process (spawned, or `--server-pid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_percent: Option<f64>,
    pub harness_percent: f64,
    /// The count of the run's primary metric the per-operation figures divide by.
    pub operations: u64,
    pub machine_ms_per_operation: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ms_per_operation: Option<f64>,
    pub harness_ms_per_operation: Option<f64>,
}

/// The machine's processor counters since boot, summed over its cores, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MachineTimes {
    pub busy: u64,
    pub steal: u64,
    pub total: u64,
    pub cores: u32,
}

impl MachineTimes {
    /// Reads `/proc/stat`'s text: the `cpu` line's user, nice, system, idle, iowait, irq,
    /// softirq and steal columns, and the number of `cpuN` lines.
    pub fn parse(stat: &str) -> Option<MachineTimes> {
        let mut lines = stat.lines();
        let columns: Vec<u64> = lines
            .find(|line| line.starts_with("cpu "))?
            .split_whitespace()
            .skip(1)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let column = |index: usize| columns.get(index).copied().unwrap_or(0);
        let (user, nice, system, idle, iowait) =
            (column(0), column(1), column(2), column(3), column(4));
        let (irq, softirq, steal) = (column(5), column(6), column(7));
        let busy = user + nice + system + irq + softirq;
        let cores = stat
            .lines()
            .filter(|line| {
                line.strip_prefix("cpu")
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count();
        Some(MachineTimes {
            busy,
            steal,
            total: busy + idle + iowait + steal,
            cores: u32::try_from(cores).unwrap_or(u32::MAX),
        })
    }

    fn now() -> Option<MachineTimes> {
        MachineTimes::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }
}

/// A process's user and system time, in ticks, from the text of its `/proc/<pid>/stat` (the
/// name in parentheses may hold spaces and parentheses: the fields are counted after the last
/// `)`).
pub fn process_ticks(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

fn ticks_of(pid: u32) -> Option<u64> {
    process_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The counters at a run's start; [`CpuClock::finish`] makes the report.
pub struct CpuClock {
    started: Instant,
    machine: MachineTimes,
    harness: u64,
    server: Option<(u32, u64)>,
}

impl CpuClock {
    /// `None` where `/proc` cannot be read.
    pub fn start(server_pid: Option<u32>) -> Option<CpuClock> {
        Some(CpuClock {
            started: Instant::now(),
            machine: MachineTimes::now()?,
            harness: ticks_of(std::process::id())?,
            server: server_pid.and_then(|pid| Some((pid, ticks_of(pid)?))),
        })
    }

    /// The report since the start, with per-operation figures over `operations`. A server that
    /// is gone by now has no figures.
    pub fn finish(self, operations: u64) -> Option<CpuReport> {
        let wall_secs = self.started.elapsed().as_secs_f64();
        let machine = MachineTimes::now()?;
        let harness = ticks_of(std::process::id())?.saturating_sub(self.harness);
        let server = self
            .server
            .and_then(|(pid, before)| Some(ticks_of(pid)?.saturating_sub(before)));
        Some(report(
            self.machine,
            machine,
            wall_secs,
            harness,
            server,
            operations,
        ))
    }
}

/// The report of counters read `wall_secs` apart: the machine's `before` and `after`, and the
/// ticks the harness and the server used in between.
pub fn report(
    before: MachineTimes,
    after: MachineTimes,
    wall_secs: f64,
    harness_ticks: u64,
    server_ticks: Option<u64>,
    operations: u64,
) -> CpuReport {
    let cores = after.cores.max(1);
    // The machine's counters, summed over its cores, advance by `cores` ticks per tick of wall
    // time: a share of them times the cores is the percentage of one core.
    let elapsed = after.total.saturating_sub(before.total).max(1) as f64;
    let machine_share = |ticks: u64| ticks as f64 / elapsed * f64::from(cores) * 100.0;
    let busy = after.busy.saturating_sub(before.busy);
    let steal = after.steal.saturating_sub(before.steal);
    let percent = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / wall_secs.max(1e-9) * 100.0;
    let per_operation = |ticks: u64| {
        (operations > 0).then(|| ticks as f64 / TICKS_PER_SECOND * 1000.0 / operations as f64)
    };
    CpuReport {
        wall_secs,
        cores,
        machine_busy_percent: machine_share(busy),
        machine_steal_percent: machine_share(steal),
        server_percent: server_ticks.map(percent),
        harness_percent: percent(harness_ticks),
        operations,
        machine_ms_per_operation: per_operation(busy),
        server_ms_per_operation: server_ticks.and_then(per_operation),
        harness_ms_per_operation: per_operation(harness_ticks),
    }
}
