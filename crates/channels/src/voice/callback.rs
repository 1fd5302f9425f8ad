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
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
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
}
