//! `--server-pid`: the server's resident memory (`VmRSS` in `/proc/<pid>/status`), sampled once
//! a second for the whole session. Linux only; elsewhere nothing is sampled.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemorySample {
    /// Seconds since the session started.
    pub second: f64,
    pub rss_bytes: u64,
}

/// Resident memory over the session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryReport {
    pub pid: u32,
    pub samples: Vec<MemorySample>,
    pub first_rss_bytes: u64,
    pub peak_rss_bytes: u64,
    pub last_rss_bytes: u64,
}

/// Samples one process's resident memory until stopped.
pub struct MemorySampler {
    pid: u32,
    samples: Arc<Mutex<Vec<MemorySample>>>,
    stop: CancellationToken,
}

impl MemorySampler {
    pub fn start(pid: u32) -> MemorySampler {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let started = Instant::now();
        let (shared, stopped) = (Arc::clone(&samples), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = stopped.cancelled() => return,
                }
                let Some(rss_bytes) = resident_bytes(pid) else {
                    return;
                };
                shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(MemorySample {
                        second: started.elapsed().as_secs_f64(),
                        rss_bytes,
                    });
            }
        });
        MemorySampler { pid, samples, stop }
    }

    /// What was sampled so far.
    pub fn report(&self) -> MemoryReport {
        let mut samples = self
            .samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(rss_bytes) = resident_bytes(self.pid) {
            let second = samples.last().map_or(0.0, |last| last.second + 0.001);
            samples.push(MemorySample { second, rss_bytes });
        }
        MemoryReport {
            pid: self.pid,
            first_rss_bytes: samples.first().map_or(0, |sample| sample.rss_bytes),
            peak_rss_bytes: samples
                .iter()
                .map(|sample| sample.rss_bytes)
                .max()
                .unwrap_or(0),
            last_rss_bytes: samples.last().map_or(0, |sample| sample.rss_bytes),
            samples,
        }
    }
}

impl Drop for MemorySampler {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// `VmRSS` of `pid` in bytes, if the process exists and `/proc` is there.
pub fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kilobytes: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kilobytes * 1024)
}
