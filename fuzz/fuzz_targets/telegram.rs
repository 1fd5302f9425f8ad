//! Telegram webhooks: `X-Telegram-Bot-Api-Secret-Token` compared, then the update parsed.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use switchboard_channels::{WebhookError, receive, telegram};
use switchboard_core::ChannelKind;

fuzz_target!(|data: &[u8]| {
    let Some(input) = common::split(data) else { return };
    let config = common::config(ChannelKind::Telegram);
    let header = if input.signed { common::SECRET.as_bytes() } else { input.header };
    let headers = common::headers(telegram::SECRET_HEADER, header);
    let result = receive(&config, &common::webhook(&headers, input.body), std::time::Duration::from_secs(300));
    if input.signed {
        assert!(!matches!(result, Err(WebhookError::Refused(_))), "{result:?}");
    }
    let _ = telegram::parse(input.body);
});
