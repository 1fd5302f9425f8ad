//! Drives workers through a [`LoadModel`].
//!
//! Simulated contacts ("slots") are pinned to workers: worker `w` of `W` owns the slots
//! `s ≡ w (mod W)`, so a contact's messages are only ever sent by one worker, one at a time.
//! In the open model arrival `i` belongs to slot `i mod N` and is scheduled at
//! `start + i / rate`; a worker that falls behind sends late, and the lateness is part of the
//! measured latency. Because tokio's timer fires up to 1 ms after its deadline, arrivals are
//! released up to 1 ms early and an early arrival is timed from its actual send.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use crate::metrics::SampleSink;
use crate::plan::LoadModel;
use crate::scenario::{Scenario, ScenarioContext, ScenarioWorker};

/// How long a paused VU waits before checking whether it is active again.
const IDLE_CHECK: Duration = Duration::from_millis(50);
/// How late tokio's timer may fire.
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);
/// Sleeps longer than this flush buffered samples first, so the timeline stays current.
const FLUSH_BEFORE_SLEEP: Duration = Duration::from_millis(20);

/// Runs `model` to its end (or until `stop`), returning how long the load was scheduled for
/// (or ran, when stopped early).
pub async fn drive(
    model: &LoadModel,
    context: Arc<ScenarioContext>,
    sink: &SampleSink,
    stop: &CancellationToken,
) -> Duration {
    let started = sink.started();
    let contacts = context.contacts();
    let mut tasks = tokio::task::JoinSet::new();
    match model {
        LoadModel::Closed { think_time, .. } => {
            let vus = model.peak_vus().max(1) as usize;
            for index in 0..vus {
                let worker = context.worker(sink, index);
                let slots = owned_slots(index, vus, contacts.max(vus));
                tasks.spawn(closed_vu(
                    worker,
                    index,
                    slots,
                    Arc::new(model.clone()),
                    started,
                    *think_time,
                    stop.clone(),
                ));
            }
        }
        LoadModel::Open {
            rate,
            duration,
            workers,
        } => {
            let workers = open_workers(*rate, *workers, contacts, context.scenario);
            let slots_total = contacts.max(workers);
            for index in 0..workers {
                let worker = context.worker(sink, index);
                let slots = owned_slots(index, workers, slots_total);
                tasks.spawn(open_worker(
                    worker,
                    slots,
                    slots_total,
                    *rate,
                    started,
                    started + *duration,
                    stop.clone(),
                ));
            }
        }
    }
    while tasks.join_next().await.is_some() {}
    // Rates are per scheduled second; a run cut short counts only what it ran.
    if stop.is_cancelled() {
        started.elapsed()
    } else {
        model.duration()
    }
}

/// Connections for an open-model run, unless given: one per simulated contact (up to 1,024)
/// for webhook traffic; for `health`, whose answers take well under a millisecond, one per
/// 1,000 arrivals per second (8 to 256; more connections only add scheduling overhead); for
/// `me` in either protocol or MCP's `echo`, a single read, one per 100 (8 to 256); for the
/// REST, GraphQL and MCP mixes and lists, whose calls take milliseconds, one per 20 arrivals per
/// second (16 to 512).
pub fn open_workers(rate: f64, requested: usize, contacts: usize, scenario: Scenario) -> usize {
    if requested > 0 {
        return requested;
    }
    let per = |arrivals: f64, low: usize, high: usize| {
        ((rate / arrivals).ceil() as usize).clamp(low, high)
    };
    match scenario {
        Scenario::Health | Scenario::Ws => per(1000.0, 8, 256),
        Scenario::GraphqlMe | Scenario::RestMe | Scenario::Mcp => per(100.0, 8, 256),
        Scenario::Rest
        | Scenario::Graphql
        | Scenario::GraphqlList
        | Scenario::RestList
        | Scenario::McpMix
        | Scenario::Analytics => per(20.0, 16, 512),
        Scenario::Webhook | Scenario::E2e | Scenario::Full => contacts.clamp(1, 1024),
        // An upload runs for seconds: one worker per upload a second, 10 at least.
        Scenario::BulkImport => per(1.0, 10, 64),
        Scenario::Scheduling => per(20.0, 8, 256),
    }
}

fn owned_slots(worker: usize, workers: usize, slots: usize) -> Vec<usize> {
    (worker..slots.max(worker + 1))
        .step_by(workers.max(1))
        .collect()
}

async fn closed_vu(
    mut worker: ScenarioWorker,
    index: usize,
    slots: Vec<usize>,
    model: Arc<LoadModel>,
    started: Instant,
    think_time: Duration,
    stop: CancellationToken,
) {
    let end = started + model.duration();
    let mut turn = 0_usize;
    loop {
        let now = Instant::now();
        if now >= end || stop.is_cancelled() {
            break;
        }
        if index >= model.vus_at(now - started) as usize {
            worker.flush();
            tokio::select! {
                () = tokio::time::sleep(IDLE_CHECK) => {}
                () = stop.cancelled() => break,
            }
            continue;
        }
        let slot = slots[turn % slots.len()];
        turn = turn.wrapping_add(1);
        worker.iterate(slot, now).await;
        if !think_time.is_zero() {
            worker.flush();
            tokio::select! {
                () = tokio::time::sleep(think_time) => {}
                () = stop.cancelled() => break,
            }
        }
    }
    worker.flush();
}

async fn open_worker(
    mut worker: ScenarioWorker,
    slots: Vec<usize>,
    slots_total: usize,
    rate: f64,
    started: Instant,
    end: Instant,
    stop: CancellationToken,
) {
    let interval = 1.0 / rate;
    'cycles: for cycle in 0_u64.. {
        for &slot in &slots {
            let arrival = cycle as f64 * slots_total as f64 + slot as f64;
            let scheduled = started + Duration::from_secs_f64(arrival * interval);
            if scheduled >= end || stop.is_cancelled() {
                break 'cycles;
            }
            // Tokio's timer fires up to a millisecond after its deadline: aim a tick early and
            // time an early send from when it really went out, a late one from its schedule.
            let wake = scheduled.checked_sub(TIMER_RESOLUTION).unwrap_or(scheduled);
            let now = Instant::now();
            if wake > now {
                if wake - now > FLUSH_BEFORE_SLEEP {
                    worker.flush();
                }
                tokio::select! {
                    () = sleep_until(wake.into()) => {}
                    () = stop.cancelled() => break 'cycles,
                }
            }
            worker.iterate(slot, Instant::now().min(scheduled)).await;
        }
    }
    worker.flush();
}
