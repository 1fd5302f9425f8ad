//! `[secrets]`: the master key that seals credentials in the database (channel and agent
//! configuration), given here or kept in a key file created on first start.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use switchboard_engine::MasterKey;

use super::{ConfigError, Secret, require};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsSection {
    /// The master key: 32 bytes as base64 or 64 hex digits (`switchboard keys generate`).
    /// Unset: the key in `key_file`, created on first start.
    pub master_key: Option<Secret>,
    /// Keys that still open values sealed under them, never seal: set during a rotation to the
    /// key being replaced, and removed once every node has started with the new one.
    pub previous_keys: Vec<Secret>,
    /// Where the key is kept when `master_key` is unset: created (mode 0600) on first start.
    /// Default: `switchboard.key` beside the SQLite database, or `./data/switchboard.key`.
    pub key_file: Option<PathBuf>,
}

impl SecretsSection {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        require(
            self.master_key
                .as_ref()
                .is_none_or(|key| MasterKey::parse(key.expose()).is_ok()),
            "secrets.master_key",
            "must be 32 bytes as base64 or 64 hex digits (see `switchboard keys generate`)",
        )?;
        require(
            self.previous_keys
                .iter()
                .all(|key| MasterKey::parse(key.expose()).is_ok()),
            "secrets.previous_keys",
            "each must be 32 bytes as base64 or 64 hex digits",
        )
    }
}
