//! The stored form of a sealed value, versioned so the format can change:
//! `sealed:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The nonce is 96 random bits per
//! value; the additional data binds the value to its version, key id, column and row, so a
//! sealed value copied elsewhere does not open. Anything not starting with `sealed:` is a value
//! stored before sealing existed.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{Aad, NONCE_LEN, Nonce};
use ring::rand::{SecureRandom, SystemRandom};

use super::{MasterKey, SecretsError};

const PREFIX: &str = "sealed:";
const VERSION: &str = "v1";

/// A column that holds sealed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// `channels.config`: provider credentials, signing secrets, tokens.
    ChannelConfig,
    /// `agents.config`: the model's API key, the bot's signing secret, MCP servers' headers.
    AgentConfig,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 2] = [SealedColumn::ChannelConfig, SealedColumn::AgentConfig];

    pub fn table(self) -> &'static str {
        match self {
            SealedColumn::ChannelConfig => "channels",
            SealedColumn::AgentConfig => "agents",
        }
    }

    pub fn column(self) -> &'static str {
        "config"
    }
}

impl fmt::Display for SealedColumn {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{}", self.table(), self.column())
    }
}

/// A stored value in its parts, not yet opened.
pub(super) struct Sealed<'a> {
    pub key_id: &'a str,
    payload: &'a str,
}

/// What a value is bound to besides its key.
fn additional_data(key_id: &str, column: SealedColumn, row: &str) -> String {
    format!("switchboard:{VERSION}:{key_id}:{column}:{row}")
}

pub(super) fn seal(
    key: &MasterKey,
    column: SealedColumn,
    row: &str,
    plaintext: &str,
) -> Result<String, SecretsError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SecretsError::Random)?;
    let key_id = key.id().as_str();
    let mut payload = plaintext.as_bytes().to_vec();
    key.aead
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(additional_data(key_id, column, row)),
            &mut payload,
        )
        .map_err(|_| SecretsError::Random)?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&payload);
    Ok(format!(
        "{PREFIX}{VERSION}:{key_id}:{}",
        URL_SAFE_NO_PAD.encode(sealed)
    ))
}

/// The parts of a sealed value; `None` for a value stored before sealing existed.
pub(super) fn parse<'a>(
    column: SealedColumn,
    row: &str,
    stored: &'a str,
) -> Result<Option<Sealed<'a>>, SecretsError> {
    let Some(rest) = stored.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let malformed = || SecretsError::Malformed {
        column,
        row: row.to_owned(),
    };
    let mut parts = rest.splitn(3, ':');
    let (Some(VERSION), Some(key_id), Some(payload)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    Ok(Some(Sealed { key_id, payload }))
}

pub(super) fn open(
    key: &MasterKey,
    column: SealedColumn,
    row: &str,
    sealed: Sealed<'_>,
) -> Result<String, SecretsError> {
    let malformed = || SecretsError::Malformed {
        column,
        row: row.to_owned(),
    };
    let mut bytes = URL_SAFE_NO_PAD
        .decode(sealed.payload)
        .map_err(|_| malformed())?;
    if bytes.len() < NONCE_LEN {
        return Err(malformed());
    }
    let mut payload = bytes.split_off(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| malformed())?;
    let plaintext = key
        .aead
        .open_in_place(
            nonce,
            Aad::from(additional_data(sealed.key_id, column, row)),
            &mut payload,
        )
        .map_err(|_| SecretsError::Tampered {
            column,
            row: row.to_owned(),
            key_id: sealed.key_id.to_owned(),
        })?;
    String::from_utf8(plaintext.to_vec()).map_err(|_| malformed())
}
