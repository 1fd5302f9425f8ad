//! WhatsApp Cloud API webhooks: `X-Hub-Signature-256` over the raw body, then the JSON parse.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use switchboard_channels::{receive, whatsapp};
use switchboard_core::ChannelKind;

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::split(data) else { return };
    let config = common::config(ChannelKind::Whatsapp);
    let signature;
    let header = if input.signed {
        signature = format!("sha256={}", common::hmac_sha256_hex(input.body));
        signature.as_bytes()
    } else {
        input.header
    };
    let headers = common::headers(whatsapp::SIGNATURE_HEADER, header);
    let result = receive(&config, &common::webhook(&headers, input.body), std::time::Duration::from_secs(300));
    if input.signed {
        // A correctly signed body is refused only as malformed, never as unsigned.
        assert!(!matches!(result, Err(switchboard_channels::WebhookError::Refused(_))));
    }
    let _ = whatsapp::parse(input.body);
});
