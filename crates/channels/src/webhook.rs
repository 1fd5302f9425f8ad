//! One way in for every provider's webhook: the channel's configuration, the request's headers,
//! the URL the provider posted to and the raw body go in; verified, parsed messages and receipts
//! come out. Which header carries the signature and how it is checked is each provider's
//! module's business; nothing is parsed before the signature holds.

use std::time::Duration;

use reqwest::header::HeaderMap;
use switchboard_core::ChannelConfig;
use time::OffsetDateTime;

use crate::{InboundBatch, ParseError, VerifyError, api_channel, telegram, twilio, whatsapp};

/// A webhook as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Webhook<'a> {
    pub headers: &'a HeaderMap,
    /// The path the provider posted to, query included.
    pub path_and_query: &'a str,
    /// Where providers reach this server, when behind a proxy (`https://gateway.example`);
    /// otherwise the request's `Host` stands for it.
    pub public_base_url: Option<&'a str>,
    pub body: &'a [u8],
    /// When it arrived, for signatures with a replay window (the API channel's).
    pub received_at: OffsetDateTime,
}

impl Webhook<'_> {
    /// The URL the provider called, as it sees it (Twilio signs it): built only by the
    /// providers that need it.
    pub fn url(&self) -> String {
        let path = self.path_and_query;
        match self.public_base_url {
            Some(base) => format!("{}{path}", base.trim_end_matches('/')),
            None => {
                let host = self
                    .headers
                    .get(reqwest::header::HOST)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default();
                format!("http://{host}{path}")
            }
        }
    }
}

/// Why a webhook's body was not taken.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Not from the provider it claims to be (401 when unsigned, 403 when wrongly signed).
    #[error(transparent)]
    Refused(#[from] VerifyError),
    /// Signed, but not the provider's shape (400).
    #[error(transparent)]
    Malformed(#[from] ParseError),
}

/// Verifies and parses `webhook` for a channel configured as `config`. `tolerance` bounds the
/// age of a timestamped signature.
pub fn receive(
    config: &ChannelConfig,
    webhook: &Webhook<'_>,
    tolerance: Duration,
) -> Result<InboundBatch, WebhookError> {
    let header = |name: &str| {
        webhook
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let body = webhook.body;
    match config {
        ChannelConfig::Whatsapp(config) => {
            let signature = header(whatsapp::SIGNATURE_HEADER);
            whatsapp::verify_signature(config.app_secret.expose(), signature, body)?;
            Ok(whatsapp::parse(body)?)
        }
        ChannelConfig::Twilio(config) => {
            // Twilio signs the decoded form parameters, so decoding comes first.
            let params = twilio::form_params(body);
            let signature = header(twilio::SIGNATURE_HEADER);
            let url = webhook.url();
            twilio::verify_signature(config.auth_token.expose(), signature, &url, &params)?;
            Ok(twilio::parse(body)?.1)
        }
        ChannelConfig::Telegram(config) => {
            let secret = header(telegram::SECRET_HEADER);
            telegram::verify_secret(config.secret_token.expose(), secret)?;
            Ok(telegram::parse(body)?.1)
        }
        ChannelConfig::Api(config) => {
            api_channel::verify_signature(
                config.signing_secret.expose(),
                header(api_channel::SIGNATURE_HEADER),
                body,
                webhook.received_at,
                tolerance,
            )?;
            Ok(api_channel::parse(body)?)
        }
        ChannelConfig::Voice(_) => Err(WebhookError::Malformed(ParseError::new(
            "a voice channel takes no message webhooks: post status callbacks to \
             /webhooks/voice/{channelId}/status and reports to …/report",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use serde_json::json;
    use switchboard_core::ChannelKind;

    use super::*;
    use crate::signature::{hmac_sha256, to_hex};

    fn config(kind: ChannelKind, config: serde_json::Value) -> ChannelConfig {
        ChannelConfig::parse(kind, config).expect("a valid configuration")
    }

    /// `receive` for a body with one header (none when `header` is `None`), posted to
    /// `https://gateway.example` + `path`.
    fn received(
        config: &ChannelConfig,
        header: Option<(&'static str, String)>,
        path: &str,
        body: &[u8],
    ) -> Result<InboundBatch, WebhookError> {
        let mut headers = HeaderMap::new();
        if let Some((name, value)) = header {
            headers.insert(name, HeaderValue::from_str(&value).expect("a header value"));
        }
        let webhook = Webhook {
            headers: &headers,
            path_and_query: path,
            public_base_url: Some("https://gateway.example/"),
            body,
            received_at: OffsetDateTime::now_utc(),
        };
        receive(config, &webhook, Duration::from_secs(300))
    }

    #[test]
    fn each_kind_reads_its_own_header_and_parses_only_what_is_signed() {
        let whatsapp = config(
            ChannelKind::Whatsapp,
            json!({"phoneNumberId": "1", "appSecret": "app", "verifyToken": "v", "accessToken": "a"}),
        );
        let body = include_bytes!("../fixtures/whatsapp/message_status.json");
        let cases = serde_json::from_slice::<serde_json::Value>(body).expect("JSON");
        let body = cases
            .as_object()
            .and_then(|cases| cases.values().next())
            .map(|case| case.to_string())
            .expect("a case");
        let signed = format!(
            "sha256={}",
            to_hex(&hmac_sha256(b"app", &[body.as_bytes()]))
        );
        let batch = received(
            &whatsapp,
            Some(("x-hub-signature-256", signed)),
            "",
            body.as_bytes(),
        )
        .expect("signed by the app secret");
        assert_eq!(batch.statuses.len() + batch.messages.len(), 1);
        assert!(matches!(
            received(&whatsapp, None, "", body.as_bytes()),
            Err(WebhookError::Refused(VerifyError::Missing(_)))
        ));
        let signed = format!("sha256={}", to_hex(&hmac_sha256(b"app", &[b"{}"])));
        assert!(
            matches!(
                received(&whatsapp, Some(("x-hub-signature-256", signed)), "", b"{}"),
                Err(WebhookError::Malformed(_))
            ),
            "signed but not a WhatsApp body"
        );

        let api = config(ChannelKind::Api, json!({"signingSecret": "s3cret"}));
        let body = br#"{"messageId":"m-1","from":{"id":"u"},"text":"hi"}"#;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let batch = received(
            &api,
            Some((
                "x-switchboard-signature",
                api_channel::sign("s3cret", body, now),
            )),
            "",
            body,
        )
        .expect("signed by the channel's secret");
        assert_eq!(batch.messages[0].provider_message_id, "m-1");
        assert!(matches!(
            received(
                &api,
                Some((
                    "x-switchboard-signature",
                    api_channel::sign("other", body, now)
                )),
                "",
                body
            ),
            Err(WebhookError::Refused(VerifyError::Invalid(_)))
        ));

        let telegram = config(
            ChannelKind::Telegram,
            json!({"botToken": "1:abc", "secretToken": "tg-secret"}),
        );
        let body = br#"{"update_id":7,"message":{"message_id":3,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"Ada"},"text":"hi"}}"#;
        let secret = ("x-telegram-bot-api-secret-token", "tg-secret".to_owned());
        let batch = received(&telegram, Some(secret), "", body).expect("the registered secret");
        assert_eq!(batch.messages.len(), 1);

        let twilio = config(
            ChannelKind::Twilio,
            json!({"accountSid": "AC1", "authToken": "token", "fromNumber": "+15550001111"}),
        );
        let body = b"MessageSid=SM1&From=%2B15552223333&To=%2B15550001111&Body=hi";
        let path = "/webhooks/twilio/c?x=1";
        let url = format!("https://gateway.example{path}");
        let signature = twilio::sign("token", &url, &twilio::form_params(body));
        let signed = ("x-twilio-signature", signature);
        let batch =
            received(&twilio, Some(signed.clone()), path, body).expect("signed over the URL");
        assert_eq!(batch.messages.len(), 1);
        assert!(
            matches!(
                received(&twilio, Some(signed), "/webhooks/twilio/other", body),
                Err(WebhookError::Refused(VerifyError::Invalid(_)))
            ),
            "the signature covers the URL the provider called"
        );
    }

    #[test]
    fn a_voice_channel_takes_no_message_webhook_even_when_signed() {
        let voice = config(
            ChannelKind::Voice,
            json!({"accountSid": "AC1", "authToken": "token", "fromNumber": "+15550001111",
                   "answerUrl": "https://voice.example/answer"}),
        );
        let body = b"MessageSid=SM1&From=%2B15552223333&To=%2B15550001111&Body=hi";
        let path = "/webhooks/voice/c";
        let url = format!("https://gateway.example{path}");
        let signature = twilio::sign("token", &url, &twilio::form_params(body));
        let error = received(&voice, Some(("x-twilio-signature", signature)), path, body)
            .expect_err("no message webhook");
        assert!(matches!(error, WebhookError::Malformed(_)), "{error}");
        assert!(error.to_string().contains("/status"), "{error}");
    }

    #[test]
    fn the_url_is_the_public_base_or_the_host_named() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::HOST,
            HeaderValue::from_static("127.0.0.1:3000"),
        );
        let mut webhook = Webhook {
            headers: &headers,
            path_and_query: "/webhooks/twilio/c?a=1",
            public_base_url: None,
            body: b"",
            received_at: OffsetDateTime::now_utc(),
        };
        assert_eq!(webhook.url(), "http://127.0.0.1:3000/webhooks/twilio/c?a=1");
        webhook.public_base_url = Some("https://gateway.example/");
        assert_eq!(
            webhook.url(),
            "https://gateway.example/webhooks/twilio/c?a=1"
        );
    }
}
