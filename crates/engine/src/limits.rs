//! Inbound rate limits: token buckets per caller (API key or user), per client address on the
//! routes that come before authentication, and per username for failed logins.
//!
//! Buckets live behind the [`Buckets`] seam: in this process ([`MemoryBuckets`]), or, on a node
//! of several, in Redis through the cluster's [`SharedLimiter`], so every node admits against
//! one bucket per key. Both answer through `Quota::decide`. When Redis fails, this node's own
//! buckets admit instead (limits per node rather than none), and the first failure of an outage
//! is logged, as the outbound pacer does.

use std::collections::HashMap;
use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchboard_cluster::SharedLimiter;
use switchboard_core::{Admission, Caller, Quota, TenantId};

/// The quotas the gateway admits inbound requests under.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Off: every request passes and no header is added.
    pub enabled: bool,
    /// Each API key's (or, for access tokens, each user's) requests on authenticated routes.
    pub caller: Quota,
    /// A tenant's own caller quota, instead of `caller`.
    pub tenants: HashMap<TenantId, Quota>,
    /// Each client address's requests to `/auth/login` and `/auth/refresh`.
    pub sign_in: Quota,
    /// Each client address's webhooks to channels that do not exist.
    pub unknown_webhooks: Quota,
    /// Each username's failed logins. Once spent, that username's logins are refused with 429,
    /// right password or not, until a failure refills.
    pub login_failures: Quota,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            caller: Quota::new(2000, Duration::from_secs(1)),
            tenants: HashMap::new(),
            sign_in: Quota::new(300, Duration::from_secs(60)),
            unknown_webhooks: Quota::new(60, Duration::from_secs(60)),
            // Ten failures at once, then one more a minute: ten quick failures lock the
            // username for about a minute.
            login_failures: Quota::new(10, Duration::from_secs(600)),
        }
    }
}

/// What [`Buckets::admit`] returns.
pub type AdmitFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Admission, Box<dyn Error + Send + Sync>>> + Send + 'a>>;

/// A store of token buckets, one per key.
pub trait Buckets: Send + Sync {
    /// Admits one request of `key` under `quota`, taking it from the bucket when it passes and
    /// `consume` is set; unset, only asks whether one would pass.
    fn admit<'a>(&'a self, key: &'a str, quota: &'a Quota, consume: bool) -> AdmitFuture<'a>;
}

/// Buckets in this process: each key's theoretical arrival time. Keys whose bucket is full
/// again are dropped now and then, so the map holds only keys active within their period.
#[derive(Default)]
pub struct MemoryBuckets {
    arrivals: Mutex<HashMap<String, Instant>>,
    admitted: AtomicU64,
}

/// Admissions between two sweeps of full buckets.
const SWEEP_EVERY: u64 = 4096;

impl MemoryBuckets {
    /// [`Buckets::admit`], at once.
    pub fn admit_now(&self, key: &str, quota: &Quota, consume: bool) -> Admission {
        let now = Instant::now();
        let mut arrivals = self
            .arrivals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.admitted.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            arrivals.retain(|_, arrival| *arrival > now);
        }
        let backlog = arrivals.get(key).map_or(Duration::ZERO, |arrival| {
            arrival.saturating_duration_since(now)
        });
        let backlog = u64::try_from(backlog.as_micros()).unwrap_or(u64::MAX);
        let (admission, stored) = quota.decide(backlog, consume);
        if let Some(stored) = stored {
            arrivals.insert(key.to_owned(), now + Duration::from_micros(stored));
        }
        admission
    }
}

impl Buckets for MemoryBuckets {
    fn admit<'a>(&'a self, key: &'a str, quota: &'a Quota, consume: bool) -> AdmitFuture<'a> {
        Box::pin(async move { Ok(self.admit_now(key, quota, consume)) })
    }
}

impl Buckets for SharedLimiter {
    fn admit<'a>(&'a self, key: &'a str, quota: &'a Quota, consume: bool) -> AdmitFuture<'a> {
        Box::pin(async move {
            SharedLimiter::admit(self, key, quota, consume)
                .await
                .map_err(|error| Box::new(error) as Box<dyn Error + Send + Sync>)
        })
    }
}

/// Which bucket a request is counted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitKey {
    /// An authenticated caller: its API key, else its user.
    Caller(String),
    /// A client address signing in or refreshing.
    SignIn(String),
    /// A client address posting webhooks to channels that do not exist.
    UnknownWebhook(String),
    /// A username's failed logins (hashed: usernames never reach Redis).
    LoginFailures(String),
}

impl LimitKey {
    /// The bucket of `caller`.
    pub fn caller(caller: &Caller) -> Self {
        match caller.api_key_id {
            Some(key) => LimitKey::Caller(format!("key:{key}")),
            None => LimitKey::Caller(format!("user:{}", caller.user_id)),
        }
    }

    fn name(&self) -> String {
        match self {
            LimitKey::Caller(caller) => format!("inbound:caller:{caller}"),
            LimitKey::SignIn(address) => format!("inbound:sign-in:{address}"),
            LimitKey::UnknownWebhook(address) => format!("inbound:unknown-webhook:{address}"),
            LimitKey::LoginFailures(username) => {
                format!(
                    "inbound:login-failures:{}",
                    crate::auth::sha256_hex(username)
                )
            }
        }
    }
}

/// The gateway's inbound limits: the quotas and the buckets they are counted in.
pub struct Limits {
    config: LimitsConfig,
    buckets: Option<Arc<dyn Buckets>>,
    local: MemoryBuckets,
    shared_failing: AtomicBool,
}

impl Limits {
    /// Limits counted in `shared` when given (several nodes), else in this process.
    pub fn new(config: LimitsConfig, shared: Option<Arc<dyn Buckets>>) -> Self {
        Self {
            config,
            buckets: shared,
            local: MemoryBuckets::default(),
            shared_failing: AtomicBool::new(false),
        }
    }

    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    /// The quota `key` is counted under.
    pub fn quota(&self, key: &LimitKey, tenant: Option<TenantId>) -> Quota {
        match key {
            LimitKey::Caller(_) => tenant
                .and_then(|tenant| self.config.tenants.get(&tenant).copied())
                .unwrap_or(self.config.caller),
            LimitKey::SignIn(_) => self.config.sign_in,
            LimitKey::UnknownWebhook(_) => self.config.unknown_webhooks,
            LimitKey::LoginFailures(_) => self.config.login_failures,
        }
    }

    /// Admits one request of `key` (of `tenant`'s, for a caller), or `None` when limits are
    /// off. With `consume` unset it only asks whether one would pass.
    pub async fn admit(
        &self,
        key: &LimitKey,
        tenant: Option<TenantId>,
        consume: bool,
    ) -> Option<Admission> {
        if !self.config.enabled {
            return None;
        }
        let quota = self.quota(key, tenant);
        let name = key.name();
        if let Some(shared) = &self.buckets {
            match shared.admit(&name, &quota, consume).await {
                Ok(admission) => {
                    if self.shared_failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("the shared inbound rate limits work again");
                    }
                    return Some(admission);
                }
                Err(error) => {
                    if !self.shared_failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(%error, "the shared inbound rate limits fail; limiting on this node only");
                    }
                }
            }
        }
        Some(self.local.admit_now(&name, &quota, consume))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Unreachable;

    impl Buckets for Unreachable {
        fn admit<'a>(&'a self, _: &'a str, _: &'a Quota, _: bool) -> AdmitFuture<'a> {
            Box::pin(async { Err("connection refused".into()) })
        }
    }

    fn three_a_minute() -> LimitsConfig {
        LimitsConfig {
            sign_in: Quota::new(3, Duration::from_secs(60)),
            ..LimitsConfig::default()
        }
    }

    #[tokio::test]
    async fn memory_buckets_keep_each_key_apart() {
        let limits = Limits::new(three_a_minute(), None);
        let first = LimitKey::SignIn("10.0.0.1".into());
        for remaining in [2, 1, 0] {
            let admission = limits.admit(&first, None, true).await;
            assert_eq!(
                admission.map(|a| (a.allowed, a.remaining)),
                Some((true, remaining))
            );
        }
        let refused = limits.admit(&first, None, true).await;
        assert!(refused.is_some_and(|admission| !admission.allowed));
        let other = limits
            .admit(&LimitKey::SignIn("10.0.0.2".into()), None, true)
            .await;
        assert!(other.is_some_and(|admission| admission.allowed));
    }

    #[tokio::test]
    async fn a_tenant_override_replaces_the_caller_quota() {
        let tenant = TenantId::new();
        let mut config = LimitsConfig::default();
        config
            .tenants
            .insert(tenant, Quota::new(1, Duration::from_secs(60)));
        let limits = Limits::new(config, None);
        let key = LimitKey::Caller("user:1".into());
        assert!(
            limits
                .admit(&key, Some(tenant), true)
                .await
                .is_some_and(|a| a.allowed)
        );
        assert!(
            limits
                .admit(&key, Some(tenant), true)
                .await
                .is_some_and(|a| !a.allowed)
        );
        let other = LimitKey::Caller("user:2".into());
        let default = limits.admit(&other, Some(TenantId::new()), true).await;
        assert_eq!(default.map(|a| a.limit), Some(2000));
    }

    #[tokio::test]
    async fn failing_shared_buckets_fall_back_to_this_node() {
        let limits = Limits::new(three_a_minute(), Some(Arc::new(Unreachable)));
        let key = LimitKey::SignIn("10.0.0.1".into());
        for _ in 0..3 {
            assert!(
                limits
                    .admit(&key, None, true)
                    .await
                    .is_some_and(|a| a.allowed)
            );
        }
        assert!(
            limits
                .admit(&key, None, true)
                .await
                .is_some_and(|a| !a.allowed)
        );
    }

    #[tokio::test]
    async fn disabled_limits_admit_everything_without_counting() {
        let config = LimitsConfig {
            enabled: false,
            ..three_a_minute()
        };
        let limits = Limits::new(config, None);
        assert_eq!(
            limits
                .admit(&LimitKey::SignIn("a".into()), None, true)
                .await,
            None
        );
    }

    #[test]
    fn usernames_are_hashed_in_bucket_names() {
        let name = LimitKey::LoginFailures("alice".into()).name();
        assert!(!name.contains("alice"));
        assert!(name.starts_with("inbound:login-failures:"));
    }
}
