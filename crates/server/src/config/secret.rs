//! [`Secret`]: a configured secret (signing key, password) that never prints.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

const REDACTED: &str = "[redacted]";

/// A secret read from the configuration. `Debug`, `Display` and serialisation (what
/// `switchboard config` prints) all show `[redacted]`; [`Secret::expose`] is the one way to
/// read it.
///
/// Unlike `switchboard_core::Secret`, which serialises its value because channel settings are
/// stored, this one is only ever read in, so it can refuse to be written out.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}
