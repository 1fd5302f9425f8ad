//! What every webhook target shares: the channel configurations, and the way an input becomes a
//! webhook. An input's first byte chooses: even, the rest is a body the target signs correctly
//! (so the parser behind the signature is reached); odd, the rest is `header\nbody`, an
//! arbitrary signature header over an arbitrary body (the verifier itself).

#![allow(dead_code)]

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use switchboard_channels::Webhook;
use switchboard_core::{ChannelConfig, ChannelKind};
use time::OffsetDateTime;

pub const SECRET: &str = "fuzz-secret-0123456789";
pub const PATH: &str = "/webhooks/twilio/0190f0f0-0000-7000-8000-000000000000";
pub const BASE: &str = "https://gateway.example";

pub fn config(kind: ChannelKind) -> ChannelConfig {
    let value = match kind {
        ChannelKind::Whatsapp => serde_json::json!({
            "phoneNumberId": "1", "appSecret": SECRET, "verifyToken": SECRET, "accessToken": SECRET
        }),
        ChannelKind::Twilio => serde_json::json!({
            "accountSid": "AC1", "authToken": SECRET, "fromNumber": "+15550000000"
        }),
        ChannelKind::Telegram => serde_json::json!({"botToken": "1:x", "secretToken": SECRET}),
        ChannelKind::Api => serde_json::json!({"signingSecret": SECRET}),
        ChannelKind::Voice => serde_json::json!({
            "accountSid": "AC1", "authToken": SECRET, "fromNumber": "+15550000000",
            "answerUrl": "https://voice.example/answer"
        }),
    };
    match ChannelConfig::parse(kind, value) {
        Ok(config) => config,
        Err(error) => panic!("the fuzz configuration is invalid: {error}"),
    }
}

/// An input cut into its mode, an optional arbitrary header value and the body.
pub struct Input<'a> {
    pub signed: bool,
    pub header: &'a [u8],
    pub body: &'a [u8],
}

pub fn split(data: &[u8]) -> Option<Input<'_>> {
    let (mode, rest) = data.split_first()?;
    if mode % 2 == 0 {
        return Some(Input { signed: true, header: &[], body: rest });
    }
    let cut = rest.iter().position(|byte| *byte == b'\n').unwrap_or(rest.len());
    let (header, body) = rest.split_at(cut);
    Some(Input { signed: false, header, body: body.get(1..).unwrap_or_default() })
}

/// Headers with `name` set to `value` when it is a valid header value.
pub fn headers(name: &'static str, value: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
        headers.insert(name, value);
    }
    headers
}

pub fn webhook<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Webhook<'a> {
    Webhook {
        headers,
        path_and_query: PATH,
        public_base_url: Some(BASE),
        body,
        received_at: OffsetDateTime::now_utc(),
    }
}

/// HMAC-SHA256 of `body` under [`SECRET`], in hex, computed the way the providers do.
pub fn hmac_sha256_hex(body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()) else {
        unreachable!("HMAC takes a key of any length")
    };
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
}
