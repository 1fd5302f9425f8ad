//! Voice call reports: the API channel's signature, then the report and its transcript read.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use switchboard_channels::{WebhookError, api_channel, voice};
use switchboard_core::{ChannelConfig, ChannelKind};

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::split(data) else { return };
    let ChannelConfig::Voice(config) = common::config(ChannelKind::Voice) else { return };
    let signature;
    let header = if input.signed {
        signature = api_channel::sign(common::SECRET, input.body, time::OffsetDateTime::now_utc().unix_timestamp());
        signature.as_bytes()
    } else {
        input.header
    };
    let headers = common::headers(api_channel::SIGNATURE_HEADER, header);
    let result = voice::receive_report(&config, &common::webhook(&headers, input.body), std::time::Duration::from_secs(300));
    if input.signed {
        assert!(!matches!(result, Err(WebhookError::Refused(_))), "{result:?}");
    }
});
