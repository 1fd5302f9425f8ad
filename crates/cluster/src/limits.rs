//! Rate limits shared by every node: one GCRA (generic cell rate algorithm) per key, kept in
//! Redis and advanced by one Lua script on Redis's own clock (`TIME`), so N nodes sending for
//! the same key together stay within its rate.
//!
//! A key allows `per_second` sends a second with a burst of `per_second`. Each call reserves
//! the next free slot and answers how long the caller must wait for it: zero when it may send
//! now. The slot is taken whether or not the caller then sends, so a caller sleeps the wait and
//! sends, and does not ask again. The key's state is one integer, `{prefix}:rate:{key}` (the
//! theoretical arrival time of the next send, in microseconds), expiring once it is in the
//! past.
//!
//! The same state also admits inbound requests ([`SharedLimiter::admit`]): there a request over
//! its quota is refused rather than made to wait, and a refusal takes nothing. The script only
//! reads and advances the key's instant; whether a request passes is [`Quota::decide`]'s
//! answer, the rule every bucket store shares.

use std::time::Duration;

use redis::Script;
use switchboard_channels::{SharedRate, SharedRateFuture};
use switchboard_core::{Admission, Quota};

use crate::error::ClusterError;
use crate::link::{RedisLink, within};

/// KEYS: the key's state. ARGV: the interval between sends and the burst tolerance, both in
/// microseconds. Answers the wait before the reserved slot and the server's time, both in
/// microseconds.
const RESERVE: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local wait = tat - tolerance - now
if wait < 0 then
  wait = 0
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 1)
return {wait, now}
"#;

/// KEYS: the key's state (the key's theoretical arrival time, in microseconds). ARGV: the
/// quota's interval and limit in microseconds, and `1` to take a request when it passes. The
/// rule is `Quota::decide`'s: admitted while `backlog + interval <= limit`. Answers the backlog
/// before this request, in microseconds.
const ADMIT: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local backlog = tat - now
if ARGV[3] == '1' and backlog + interval <= limit then
  local next_tat = tat + interval
  redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 1)
end
return backlog
"#;

/// A slot reserved by [`SharedLimiter::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// How long to wait before sending.
    pub wait: Duration,
    /// When the slot comes, on the limiter's clock (Redis server time since the Unix epoch).
    pub at: Duration,
}

/// Rate limits shared across nodes through the link (cheap to clone).
#[derive(Clone)]
pub struct SharedLimiter {
    link: RedisLink,
    script: Script,
    admit: Script,
}

impl SharedLimiter {
    pub fn new(link: &RedisLink) -> Self {
        Self {
            link: link.clone(),
            script: Script::new(RESERVE),
            admit: Script::new(ADMIT),
        }
    }

    /// Reserves the next slot of `key` at `per_second` (a zero counts as one).
    pub async fn reserve(&self, key: &str, per_second: u32) -> Result<Reservation, ClusterError> {
        let interval = 1_000_000 / u64::from(per_second.max(1));
        let tolerance = interval * (u64::from(per_second.max(1)) - 1);
        let shared = self.link.shared();
        let mut commands = shared.commands();
        let mut invocation = self.script.key(shared.keys.rate(key));
        invocation.arg(interval).arg(tolerance);
        let (wait, now): (u64, u64) = within(invocation.invoke_async(&mut commands)).await?;
        Ok(Reservation {
            wait: Duration::from_micros(wait),
            at: Duration::from_micros(now + wait),
        })
    }

    /// Admits one request of `key` under `quota`, taking it from the key's bucket when it
    /// passes and `consume` is set (unset: only asks whether one would pass).
    pub async fn admit(
        &self,
        key: &str,
        quota: &Quota,
        consume: bool,
    ) -> Result<Admission, ClusterError> {
        let shared = self.link.shared();
        let mut commands = shared.commands();
        let mut invocation = self.admit.key(shared.keys.rate(key));
        invocation
            .arg(quota.interval_micros())
            .arg(quota.limit_micros())
            .arg(if consume { "1" } else { "0" });
        let backlog: u64 = within(invocation.invoke_async(&mut commands)).await?;
        Ok(quota.decide(backlog, consume).0)
    }

    /// Reserves the next slot of `key` and answers how long to wait before sending.
    pub async fn acquire(&self, key: &str, per_second: u32) -> Result<Duration, ClusterError> {
        Ok(self.reserve(key, per_second).await?.wait)
    }
}

impl SharedRate for SharedLimiter {
    fn acquire<'a>(&'a self, key: &'a str, per_second: u32) -> SharedRateFuture<'a> {
        Box::pin(async move {
            SharedLimiter::acquire(self, key, per_second)
                .await
                .map_err(|error| Box::new(error) as Box<dyn std::error::Error + Send + Sync>)
        })
    }
}
