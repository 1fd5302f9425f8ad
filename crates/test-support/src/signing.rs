//! Signing webhook bodies the way providers do, for tests that play the provider.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// `X-Hub-Signature-256` for `body`: `sha256=<hex HMAC-SHA256(app_secret, body)>`.
pub fn whatsapp_signature(app_secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}
