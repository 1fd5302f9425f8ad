//! A call's status callback: a form signed with `X-Twilio-Signature` over the full URL (the
//! attempt's id is in its query) and the sorted parameters, carrying `CallSid`, `CallStatus`,
//! `CallDuration`, `AnsweredBy` and `SequenceNumber`.

use switchboard_core::{AttemptStatus, VoiceConfig};

use crate::twilio::{self, SIGNATURE_HEADER};
use crate::{ParseError, Webhook, WebhookError};

/// What one callback says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCallback {
    pub provider_call_id: String,
    pub status: AttemptStatus,
    pub duration_seconds: Option<i64>,
    pub answered_by: Option<String>,
    pub sequence_number: Option<i64>,
}

/// Verifies a status callback of a voice channel configured as `config`, then reads it.
pub fn receive_status(
    config: &VoiceConfig,
    webhook: &Webhook<'_>,
) -> Result<StatusCallback, WebhookError> {
    let params = twilio::form_params(webhook.body);
    let signature = webhook
        .headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    twilio::verify_signature(
        config.auth_token.expose(),
        signature,
        &webhook.url(),
        &params,
    )?;
    Ok(parse(&params)?)
}

fn parse(params: &[(String, String)]) -> Result<StatusCallback, ParseError> {
    let field = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    };
    let number = |name: &'static str| -> Result<Option<i64>, ParseError> {
        field(name)
            .map(|value| {
                value
                    .parse()
                    .map_err(|_| ParseError::new(format!("{name} is not a number")))
            })
            .transpose()
    };
    let provider_call_id = field("CallSid")
        .ok_or_else(|| ParseError::new("CallSid is missing"))?
        .to_owned();
    let status = field("CallStatus").ok_or_else(|| ParseError::new("CallStatus is missing"))?;
    let status = status
        .parse::<AttemptStatus>()
        .ok()
        .filter(|status| *status != AttemptStatus::Dialing)
        .ok_or_else(|| ParseError::new(format!("CallStatus {status:?} is not a call status")))?;
    Ok(StatusCallback {
        provider_call_id,
        status,
        duration_seconds: number("CallDuration")?,
        answered_by: field("AnsweredBy").map(str::to_owned),
        sequence_number: number("SequenceNumber")?,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use switchboard_core::{ChannelConfig, ChannelKind};
    use time::OffsetDateTime;

    use super::*;
    use crate::VerifyError;

    const BASE: &str = "https://gateway.example";
    const PATH: &str = "/webhooks/voice/channel-1/status?attempt=at-1";
    const TOKEN: &str = "voice-token";

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn config() -> VoiceConfig {
        let config = ChannelConfig::parse(
            ChannelKind::Voice,
            serde_json::json!({"accountSid": "AC1", "authToken": TOKEN,
                "fromNumber": "+15550100000", "answerUrl": "https://voice.example/answer"}),
        )
        .expect("a valid voice configuration");
        let ChannelConfig::Voice(config) = config else {
            unreachable!("parsed as a voice channel")
        };
        config
    }

    /// `receive_status` for `form` posted to [`BASE`] + [`PATH`] with `signature`.
    fn received(
        form: &[(String, String)],
        signature: Option<&str>,
    ) -> Result<StatusCallback, WebhookError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut headers = HeaderMap::new();
        if let Some(signature) = signature {
            headers.insert(
                SIGNATURE_HEADER,
                HeaderValue::from_str(signature).expect("a header value"),
            );
        }
        let webhook = Webhook {
            headers: &headers,
            path_and_query: PATH,
            public_base_url: Some(BASE),
            body: body.as_bytes(),
            received_at: OffsetDateTime::now_utc(),
        };
        receive_status(&config(), &webhook)
    }

    fn ringing() -> Vec<(String, String)> {
        params(&[
            ("CallSid", "CA1"),
            ("CallStatus", "ringing"),
            ("SequenceNumber", "1"),
        ])
    }

    #[test]
    fn a_callback_signed_over_the_full_url_is_read() {
        let form = ringing();
        let signature = twilio::sign(TOKEN, &format!("{BASE}{PATH}"), &form);
        let callback = received(&form, Some(&signature)).expect("signed by the auth token");
        assert_eq!(
            callback,
            StatusCallback {
                provider_call_id: "CA1".to_owned(),
                status: AttemptStatus::Ringing,
                duration_seconds: None,
                answered_by: None,
                sequence_number: Some(1),
            }
        );
    }

    #[test]
    fn an_unsigned_or_wrongly_signed_callback_is_refused() {
        let form = ringing();
        assert!(matches!(
            received(&form, None),
            Err(WebhookError::Refused(VerifyError::Missing(_)))
        ));
        let other_token = twilio::sign("other-token", &format!("{BASE}{PATH}"), &form);
        assert!(matches!(
            received(&form, Some(&other_token)),
            Err(WebhookError::Refused(VerifyError::Invalid(_)))
        ));
        // The attempt's id is in the query: a signature without it names another attempt.
        let without_query = twilio::sign(
            TOKEN,
            &format!("{BASE}/webhooks/voice/channel-1/status"),
            &form,
        );
        assert!(matches!(
            received(&form, Some(&without_query)),
            Err(WebhookError::Refused(VerifyError::Invalid(_)))
        ));
    }

    #[test]
    fn a_signed_callback_that_is_not_a_call_status_is_malformed() {
        let form = params(&[("CallSid", "CA1"), ("CallStatus", "exploded")]);
        let signature = twilio::sign(TOKEN, &format!("{BASE}{PATH}"), &form);
        assert!(matches!(
            received(&form, Some(&signature)),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn every_status_twilio_sends_is_read() {
        for (word, status) in [
            ("queued", AttemptStatus::Queued),
            ("initiated", AttemptStatus::Initiated),
            ("ringing", AttemptStatus::Ringing),
            ("in-progress", AttemptStatus::InProgress),
            ("completed", AttemptStatus::Completed),
            ("busy", AttemptStatus::Busy),
            ("no-answer", AttemptStatus::NoAnswer),
            ("failed", AttemptStatus::Failed),
            ("canceled", AttemptStatus::Canceled),
        ] {
            let callback = parse(&params(&[("CallSid", "CA1"), ("CallStatus", word)]))
                .unwrap_or_else(|error| panic!("{word}: {error}"));
            assert_eq!(callback.status, status, "{word}");
        }
    }

    #[test]
    fn a_final_callback_reads_its_duration_and_answer() {
        let callback = parse(&params(&[
            ("CallSid", "CA1"),
            ("CallStatus", "completed"),
            ("CallDuration", "75"),
            ("AnsweredBy", "machine_start"),
            ("SequenceNumber", "3"),
        ]))
        .expect("a valid callback");
        assert_eq!(callback.status, AttemptStatus::Completed);
        assert_eq!(callback.duration_seconds, Some(75));
        assert_eq!(callback.answered_by.as_deref(), Some("machine_start"));
        assert_eq!(callback.sequence_number, Some(3));
    }

    #[test]
    fn a_callback_without_a_call_or_with_an_unknown_status_is_malformed() {
        assert!(parse(&params(&[("CallStatus", "ringing")])).is_err());
        assert!(parse(&params(&[("CallSid", ""), ("CallStatus", "ringing")])).is_err());
        assert!(parse(&params(&[("CallSid", "CA1")])).is_err());
        assert!(parse(&params(&[("CallSid", "CA1"), ("CallStatus", "exploded")])).is_err());
        assert!(parse(&params(&[("CallSid", "CA1"), ("CallStatus", "dialing")])).is_err());
        assert!(
            parse(&params(&[
                ("CallSid", "CA1"),
                ("CallStatus", "completed"),
                ("CallDuration", "ten")
            ]))
            .is_err()
        );
    }

    fn any_callback() -> impl Strategy<Value = Vec<(String, String)>> {
        (
            "CA[0-9a-f]{32}",
            prop::sample::select(vec![
                "queued",
                "initiated",
                "ringing",
                "in-progress",
                "completed",
                "busy",
                "no-answer",
                "failed",
                "canceled",
            ]),
            0i64..10_000,
            0i64..20,
            prop::collection::vec(("X[A-Za-z]{1,10}", "[ -~]{0,16}"), 0..4),
        )
            .prop_map(|(sid, status, duration, sequence, extra)| {
                let mut form = params(&[("CallSid", &sid), ("CallStatus", status)]);
                form.push(("CallDuration".to_owned(), duration.to_string()));
                form.push(("SequenceNumber".to_owned(), sequence.to_string()));
                form.extend(extra);
                form
            })
    }

    proptest! {
        #[test]
        fn a_signed_callback_round_trips(form in any_callback()) {
            let signature = twilio::sign(TOKEN, &format!("{BASE}{PATH}"), &form);
            let callback = received(&form, Some(&signature)).expect("signed");
            prop_assert_eq!(&callback.provider_call_id, &form[0].1);
            prop_assert_eq!(callback.status.as_str(), form[1].1.as_str());
            prop_assert_eq!(callback.duration_seconds.map(|seconds| seconds.to_string()), Some(form[2].1.clone()));
            prop_assert_eq!(callback.sequence_number.map(|sequence| sequence.to_string()), Some(form[3].1.clone()));
        }

        #[test]
        fn any_changed_byte_of_a_signed_callback_is_refused(
            form in any_callback(),
            which in any::<prop::sample::Index>(),
            position in any::<prop::sample::Index>(),
            flip in 1u8..0x20,
        ) {
            let signature = twilio::sign(TOKEN, &format!("{BASE}{PATH}"), &form);
            let mut tampered = form.clone();
            let entry = which.index(tampered.len());
            // Values may be empty; a name never is, so an empty value changes its name instead.
            let text = if tampered[entry].1.is_empty() {
                &mut tampered[entry].0
            } else {
                &mut tampered[entry].1
            };
            let mut bytes = std::mem::take(text).into_bytes();
            let at = position.index(bytes.len());
            // Flipping low bits of printable ASCII stays ASCII, so the text stays valid UTF-8.
            bytes[at] ^= flip;
            *text = String::from_utf8(bytes).expect("ascii");
            prop_assert!(matches!(
                received(&tampered, Some(&signature)),
                Err(WebhookError::Refused(VerifyError::Invalid(_)))
            ));
        }
    }
}
