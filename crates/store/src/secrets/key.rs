//! [`MasterKey`]: 32 random bytes, written as base64 (in `SWITCHBOARD_MASTER_KEY` or a key file),
//! known in sealed values by its [`KeyId`].

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::aead::{CHACHA20_POLY1305, LessSafeKey, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use super::SecretsError;

/// Length of a master key in bytes.
const KEY_LENGTH: usize = 32;

/// What the id of a key hashes along with it, so the id is of no use for anything else.
const KEY_ID_CONTEXT: &[u8] = b"switchboard master key id v1\0";

/// A key's public name: the first 8 bytes of a SHA-256 over the key, in hex. It reveals nothing
/// of the key and lets a sealed value say which key opens it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A master key. `Debug` shows its id only.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Arc<[u8; KEY_LENGTH]>,
    id: KeyId,
    pub(super) aead: Arc<LessSafeKey>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    fn from_bytes(bytes: [u8; KEY_LENGTH]) -> Result<Self, SecretsError> {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| SecretsError::InvalidKey("not a ChaCha20-Poly1305 key"))?;
        let mut hashed = KEY_ID_CONTEXT.to_vec();
        hashed.extend_from_slice(&bytes);
        let digest = ring::digest::digest(&ring::digest::SHA256, &hashed);
        let id = digest.as_ref()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok(Self {
            bytes: Arc::new(bytes),
            id: KeyId(id),
            aead: Arc::new(LessSafeKey::new(unbound)),
        })
    }

    /// A new key from the operating system's random number generator.
    pub fn generate() -> Result<Self, SecretsError> {
        let mut bytes = [0u8; KEY_LENGTH];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SecretsError::Random)?;
        Self::from_bytes(bytes)
    }

    /// A key written as base64 (standard or URL-safe, padded or not) or as 64 hex digits;
    /// surrounding whitespace (a key file's newline) is ignored.
    pub fn parse(text: &str) -> Result<Self, SecretsError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SecretsError::InvalidKey("empty"));
        }
        let decoded =
            if text.len() == KEY_LENGTH * 2 && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                (0..KEY_LENGTH)
                    .map(|index| u8::from_str_radix(&text[index * 2..index * 2 + 2], 16))
                    .collect::<Result<Vec<u8>, _>>()
                    .map_err(|_| SecretsError::InvalidKey("not hex"))?
            } else {
                let unpadded = text.trim_end_matches('=');
                let standard = base64::engine::general_purpose::STANDARD_NO_PAD.decode(unpadded);
                standard
                    .or_else(|_| URL_SAFE_NO_PAD.decode(unpadded))
                    .map_err(|_| SecretsError::InvalidKey("expected base64 or hex"))?
            };
        let bytes: [u8; KEY_LENGTH] = decoded.try_into().map_err(|_| {
            SecretsError::InvalidKey("must be 32 bytes (44 base64 characters or 64 hex digits)")
        })?;
        Self::from_bytes(bytes)
    }

    /// The key as standard base64, as [`MasterKey::parse`] reads it: for a key file, or to
    /// print once for the operator.
    pub fn encoded(&self) -> String {
        STANDARD.encode(self.bytes.as_ref())
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }
}
