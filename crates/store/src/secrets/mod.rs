//! Secrets at rest: the columns that hold credentials (a channel's configuration, an agent's
//! configuration with its API key, bot secret and MCP headers) are sealed with an AEAD
//! (ChaCha20-Poly1305) under a master key before they reach the database, and opened when read.
//! This module is the only place that seals or opens; `channels` and `agents` call it at the
//! store boundary, so the rest of the workspace sees plain values.
//!
//! A [`Keyring`] seals under its current key and opens under any of its keys: each sealed value
//! names the key that sealed it ([`envelope`]), so a rotation re-seals rows one key at a time and
//! a wrong key fails with the key id it lacks instead of garbage. A value that is not sealed
//! (written before sealing existed) is read as it is, and sealed by [`Store::seal_secrets`].

mod envelope;
mod key;
mod reseal;

use std::sync::{Arc, OnceLock};

pub use envelope::SealedColumn;
pub use key::{KeyId, MasterKey};
pub use reseal::Resealed;

/// What can go wrong sealing or opening a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A master key given in configuration or a key file that is not 32 bytes of base64 or hex.
    #[error("invalid master key: {0}")]
    InvalidKey(&'static str),
    /// A stored value sealed under a key this keyring lacks.
    #[error(
        "{column} of {row} is sealed under master key {key_id}, which is not configured: start \
         with the key that sealed it (SWITCHBOARD_MASTER_KEY or the key file), or list it in \
         secrets.previous_keys"
    )]
    UnknownKey {
        column: SealedColumn,
        row: String,
        key_id: String,
    },
    /// A stored value that does not open under the key it names: altered, moved to another row,
    /// or sealed by a different key that happens to share the id.
    #[error(
        "{column} of {row} does not open under master key {key_id}: the stored value was altered or copied from another row"
    )]
    Tampered {
        column: SealedColumn,
        row: String,
        key_id: String,
    },
    /// A stored value that starts like a sealed one but is not one.
    #[error("{column} of {row} is not a well-formed sealed value")]
    Malformed { column: SealedColumn, row: String },
    /// The operating system's random number generator failed.
    #[error("no randomness available for a key or nonce")]
    Random,
}

/// The keys secrets are sealed and opened with: one current key that seals, and older keys
/// that only open (during a rotation). Cheap to clone.
#[derive(Clone)]
pub struct Keyring {
    inner: Arc<KeyringInner>,
}

struct KeyringInner {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Keyring")
            .field("current", self.inner.current.id())
            .field(
                "previous",
                &self
                    .inner
                    .previous
                    .iter()
                    .map(MasterKey::id)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// Seals under `current`; opens under it and under each of `previous`.
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        let previous = previous
            .into_iter()
            .filter(|key| key.id() != current.id())
            .collect();
        Self {
            inner: Arc::new(KeyringInner { current, previous }),
        }
    }

    /// A keyring of one key made for this process: every store this process opens without a
    /// keyring of its own shares it, and no other process can open what it seals. For tests,
    /// benches and tools that make their own databases; a server is given its configured key.
    pub fn ephemeral() -> Result<Self, SecretsError> {
        static PROCESS_KEYRING: OnceLock<Keyring> = OnceLock::new();
        if let Some(keyring) = PROCESS_KEYRING.get() {
            return Ok(keyring.clone());
        }
        let keyring = Keyring::new(MasterKey::generate()?, Vec::new());
        Ok(PROCESS_KEYRING.get_or_init(|| keyring).clone())
    }

    /// The key new values are sealed under.
    pub fn current(&self) -> &MasterKey {
        &self.inner.current
    }

    fn find(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.inner.current)
            .chain(&self.inner.previous)
            .find(|key| key.id().as_str() == id)
    }

    /// `plaintext` sealed under the current key, bound to `column` of the row `row`: a sealed
    /// value copied into another row or column no longer opens.
    pub fn seal(
        &self,
        column: SealedColumn,
        row: &str,
        plaintext: &str,
    ) -> Result<String, SecretsError> {
        envelope::seal(&self.inner.current, column, row, plaintext)
    }

    /// The plaintext of a stored value of `column` of `row`; a value stored before sealing
    /// existed comes back as it is.
    pub fn open(
        &self,
        column: SealedColumn,
        row: &str,
        stored: &str,
    ) -> Result<String, SecretsError> {
        match envelope::parse(column, row, stored)? {
            None => Ok(stored.to_owned()),
            Some(sealed) => {
                let key = self
                    .find(sealed.key_id)
                    .ok_or_else(|| SecretsError::UnknownKey {
                        column,
                        row: row.to_owned(),
                        key_id: sealed.key_id.to_owned(),
                    })?;
                envelope::open(key, column, row, sealed)
            }
        }
    }

    /// Whether a stored value is sealed under the current key already.
    pub fn is_current(&self, column: SealedColumn, row: &str, stored: &str) -> bool {
        matches!(
            envelope::parse(column, row, stored),
            Ok(Some(sealed)) if sealed.key_id == self.inner.current.id().as_str()
        )
    }
}

#[cfg(test)]
mod tests;
