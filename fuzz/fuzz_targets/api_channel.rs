//! API channel webhooks: `X-Switchboard-Signature` (`t=…,v1=…` over `t.body`, within the replay
//! window), then the JSON parse.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use switchboard_channels::{WebhookError, api_channel, receive};
use switchboard_core::ChannelKind;

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::split(data) else { return };
    let config = common::config(ChannelKind::Api);
    let signature;
    let header = if input.signed {
        signature = api_channel::sign(common::SECRET, input.body, time::OffsetDateTime::now_utc().unix_timestamp());
        signature.as_bytes()
    } else {
        input.header
    };
    let headers = common::headers(api_channel::SIGNATURE_HEADER, header);
    let result = receive(&config, &common::webhook(&headers, input.body), std::time::Duration::from_secs(300));
    if input.signed {
        assert!(!matches!(result, Err(WebhookError::Refused(_))), "{result:?}");
    }
    let _ = api_channel::parse(input.body);
});
