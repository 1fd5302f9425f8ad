//! Voice status callbacks: Twilio's signature over the URL and the form, then the callback read.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use switchboard_channels::{WebhookError, twilio, voice};
use switchboard_core::{ChannelConfig, ChannelKind};

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::split(data) else { return };
    let ChannelConfig::Voice(config) = common::config(ChannelKind::Voice) else { return };
    let url = format!("{}{}", common::BASE, common::PATH);
    let signature;
    let header = if input.signed {
        signature = twilio::sign(common::SECRET, &url, &twilio::form_params(input.body));
        signature.as_bytes()
    } else {
        input.header
    };
    let headers = common::headers(twilio::SIGNATURE_HEADER, header);
    let result = voice::receive_status(&config, &common::webhook(&headers, input.body));
    if input.signed {
        assert!(!matches!(result, Err(WebhookError::Refused(_))), "{result:?}");
    }
});
