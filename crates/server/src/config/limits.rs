//! `[limits]`: inbound rate limits. Each quota is `{ requests = N, period = "1m" }`: N requests
//! at once, refilled evenly over the period. Tenants may have their own caller quota,
//! `[limits.tenants."<tenant id>"]`. With Redis configured every node counts in one set of
//! buckets.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_engine::LimitsConfig;

use super::{ConfigError, duration, require};
use switchboard_core::{Quota, TenantId};

/// One quota as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSetting {
    /// Requests allowed at once.
    pub requests: u32,
    /// How long the whole burst takes to refill.
    #[serde(with = "duration")]
    pub period: Duration,
}

impl From<Quota> for QuotaSetting {
    fn from(quota: Quota) -> Self {
        Self {
            requests: quota.requests,
            period: quota.period,
        }
    }
}

impl From<QuotaSetting> for Quota {
    fn from(setting: QuotaSetting) -> Self {
        Quota::new(setting.requests, setting.period)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsSection {
    /// Off: no request is counted or refused.
    pub enabled: bool,
    /// Each API key's, or each user's (access tokens), requests on authenticated routes.
    pub caller: QuotaSetting,
    /// Each client address's `/auth/login` and `/auth/refresh` requests.
    pub sign_in: QuotaSetting,
    /// Each client address's webhooks to channels that do not exist (404, then 429).
    pub unknown_webhooks: QuotaSetting,
    /// Each username's failed logins; once spent, its logins get 429, right password or not.
    pub login_failures: QuotaSetting,
    /// A header a trusted proxy in front sets to the client's address (`x-forwarded-for`);
    /// unset, the connection's peer address.
    pub client_address_header: Option<String>,
    /// A tenant's own caller quota, by tenant id.
    pub tenants: HashMap<String, QuotaSetting>,
}

impl Default for LimitsSection {
    fn default() -> Self {
        let limits = LimitsConfig::default();
        Self {
            enabled: limits.enabled,
            caller: limits.caller.into(),
            sign_in: limits.sign_in.into(),
            unknown_webhooks: limits.unknown_webhooks.into(),
            login_failures: limits.login_failures.into(),
            client_address_header: None,
            tenants: HashMap::new(),
        }
    }
}

impl LimitsSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (field, quota) in [
            ("limits.caller", &self.caller),
            ("limits.sign_in", &self.sign_in),
            ("limits.unknown_webhooks", &self.unknown_webhooks),
            ("limits.login_failures", &self.login_failures),
        ] {
            validate_quota(field, quota)?;
        }
        for quota in self.tenants.values() {
            validate_quota("limits.tenants", quota)?;
        }
        require(
            self.tenants.keys().all(|id| id.parse::<TenantId>().is_ok()),
            "limits.tenants",
            "each key must be a tenant id",
        )?;
        let header_is_valid = self
            .client_address_header
            .as_ref()
            .is_none_or(|name| axum::http::HeaderName::try_from(name.as_str()).is_ok());
        require(
            header_is_valid,
            "limits.client_address_header",
            "must be a header name",
        )
    }

    /// The engine's limits.
    pub fn limits_config(&self) -> LimitsConfig {
        LimitsConfig {
            enabled: self.enabled,
            caller: self.caller.into(),
            tenants: self
                .tenants
                .iter()
                .filter_map(|(id, quota)| Some((id.parse().ok()?, Quota::from(*quota))))
                .collect(),
            sign_in: self.sign_in.into(),
            unknown_webhooks: self.unknown_webhooks.into(),
            login_failures: self.login_failures.into(),
        }
    }
}

fn validate_quota(field: &'static str, quota: &QuotaSetting) -> Result<(), ConfigError> {
    require(quota.requests >= 1, field, "requests must be at least 1")?;
    require(!quota.period.is_zero(), field, "period must be positive")
}
