//! The simulated WhatsApp traffic: N contacts spread over M business numbers (contact `c` writes
//! to number `c mod M`), each message a WhatsApp Cloud API webhook body signed like Meta signs it,
//! and carrying a token (`lt-<run>-<contact>-<seq>`) that the echo agent's reply repeats, so the
//! fake provider can tell which message a reply answers.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The token a message carries and its reply repeats.
pub fn token(run_id: &str, contact: usize, seq: u64) -> String {
    format!("lt-{run_id}-{contact}-{seq}")
}

/// `(contact, seq)` from one reply line, if it is a token of run `run_id`.
pub fn parse_token(run_id: &str, line: &str) -> Option<(usize, u64)> {
    let rest = line.trim().strip_prefix("lt-")?.strip_prefix(run_id)?;
    let (contact, seq) = rest.strip_prefix('-')?.split_once('-')?;
    Some((contact.parse().ok()?, seq.parse().ok()?))
}

/// The contact's WhatsApp id (`wa_id`, a phone number without `+`), unique per run.
pub fn wa_id(run_number: u32, contact: usize) -> String {
    format!("44{run_number:05}{contact:06}")
}

/// A Cloud API `messages` webhook body from contact `from` to business number
/// `phone_number_id`.
pub fn webhook_body(phone_number_id: &str, from: &str, message_id: &str, text: &str) -> Vec<u8> {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    // Every interpolated value is ASCII digits, letters, `-` or `.`: nothing needs escaping.
    format!(
        concat!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"{phone}","changes":[{{"field":"messages","#,
            r#""value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"{phone}","phone_number_id":"{phone}"}},"#,
            r#""contacts":[{{"profile":{{"name":"Load {from}"}},"wa_id":"{from}"}}],"#,
            r#""messages":[{{"from":"{from}","id":"{id}","timestamp":"{timestamp}","type":"text","text":{{"body":"{text}"}}}}]}}}}]}}]}}"#
        ),
        phone = phone_number_id,
        from = from,
        id = message_id,
        timestamp = timestamp,
        text = text,
    )
    .into_bytes()
}

/// `X-Hub-Signature-256`: `sha256=<hex HMAC-SHA256(app_secret, body)>`.
pub fn signature(app_secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut header = String::with_capacity(7 + 64);
    header.push_str("sha256=");
    for byte in digest {
        header.push(char::from(HEX[usize::from(byte >> 4)]));
        header.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    header
}

const HEX: &[u8; 16] = b"0123456789abcdef";
