//! `[auth]`: how access tokens are signed and live, and the first admin.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchboard_engine::AuthConfig;

use super::{ConfigError, Secret, duration, require};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// HMAC key for access tokens (32 bytes or more). Unset: a random key per start, so tokens
    /// do not survive a restart (refresh tokens do).
    pub jwt_secret: Option<Secret>,
    #[serde(with = "duration")]
    pub access_token_ttl: Duration,
    #[serde(with = "duration")]
    pub refresh_token_ttl: Duration,
    /// Username of the admin created on first start.
    pub admin_username: String,
    /// Password of that admin; unset: one is generated and printed once.
    pub admin_password: Option<Secret>,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            admin_username: "admin".into(),
            admin_password: None,
        }
    }
}

impl AuthSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let secret_is_long = self
            .jwt_secret
            .as_ref()
            .is_none_or(|secret| secret.expose().len() >= 32);
        require(
            secret_is_long,
            "auth.jwt_secret",
            "must be at least 32 bytes",
        )?;
        require(
            !self.access_token_ttl.is_zero(),
            "auth.access_token_ttl",
            "must be positive",
        )?;
        require(
            !self.refresh_token_ttl.is_zero(),
            "auth.refresh_token_ttl",
            "must be positive",
        )?;
        require(
            !self.admin_username.trim().is_empty(),
            "auth.admin_username",
            "must not be empty",
        )?;
        let password_is_long = self
            .admin_password
            .as_ref()
            .is_none_or(|password| password.expose().chars().count() >= 8);
        require(
            password_is_long,
            "auth.admin_password",
            "must be at least 8 characters",
        )
    }

    /// Token settings; a random signing key when none is configured.
    pub fn auth_config(&self) -> AuthConfig {
        let secret = match &self.jwt_secret {
            Some(secret) => secret.expose().to_owned(),
            None => {
                tracing::warn!(
                    "auth.jwt_secret is not set: using a random key, access tokens end with this process"
                );
                let bytes: [u8; 32] = rand::random();
                bytes.iter().map(|byte| format!("{byte:02x}")).collect()
            }
        };
        AuthConfig {
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            ..AuthConfig::new(secret)
        }
    }
}
