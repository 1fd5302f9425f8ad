//! Reporting a failing kind of command once per outage: a warning when it starts failing, a
//! note when it works again, and a counter for every failure in between.

use std::sync::atomic::{AtomicBool, Ordering};

/// `switchboard_redis_publish_errors_total{what}`: publishes that did not reach Redis.
pub(crate) const PUBLISH_ERRORS: &str = "switchboard_redis_publish_errors_total";

pub(crate) struct Outage {
    what: &'static str,
    failing: AtomicBool,
}

impl Outage {
    pub const fn new(what: &'static str) -> Self {
        Self {
            what,
            failing: AtomicBool::new(false),
        }
    }

    /// Counts `count` failed publishes; logs the first of an outage.
    pub fn failed(&self, count: u64, error: &dyn std::error::Error) {
        metrics::counter!(PUBLISH_ERRORS, "what" => self.what).increment(count);
        if !self.failing.swap(true, Ordering::Relaxed) {
            tracing::warn!(what = self.what, %error, "publishing to Redis fails");
        }
    }

    pub fn succeeded(&self) {
        if self.failing.swap(false, Ordering::Relaxed) {
            tracing::info!(what = self.what, "publishing to Redis works again");
        }
    }
}
