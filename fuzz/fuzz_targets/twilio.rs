//! Twilio SMS webhooks: the form decoded, `X-Twilio-Signature` over the URL and the sorted
//! parameters (the URL's port variants among them), then the parse.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use switchboard_channels::{WebhookError, receive, twilio};
use switchboard_core::ChannelKind;

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::split(data) else { return };
    let config = common::config(ChannelKind::Twilio);
    let url = format!("{}{}", common::BASE, common::PATH);
    let params = twilio::form_params(input.body);
    let signature;
    let header = if input.signed {
        signature = twilio::sign(common::SECRET, &url, &params);
        signature.as_bytes()
    } else {
        // An arbitrary signature, and an arbitrary URL to check it over.
        let text = String::from_utf8_lossy(input.header);
        let (given, fuzzed_url) = text.split_once(' ').unwrap_or((&text, &url));
        let _ = twilio::verify_signature(common::SECRET, Some(given), fuzzed_url, &params);
        input.header
    };
    let headers = common::headers(twilio::SIGNATURE_HEADER, header);
    let result = receive(&config, &common::webhook(&headers, input.body), std::time::Duration::from_secs(300));
    if input.signed {
        assert!(!matches!(result, Err(WebhookError::Refused(_))), "{result:?}");
    }
    let _ = twilio::parse(input.body);
});
