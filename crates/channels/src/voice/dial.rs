//! Placing a call: `POST {apiBaseUrl}/2010-04-01/Accounts/{accountSid}/Calls.json`, basic auth,
//! form `To`, `From`, `Url` (the call's instructions), `StatusCallback` with the events
//! `initiated ringing answered completed`, `MachineDetection` and `Timeout`, under an
//! `Idempotency-Key`; and asking about one: `GET …/Calls/{CallSid}.json`.

use serde_json::Value;
use switchboard_core::{AttemptStatus, Channel, ChannelConfig, VoiceConfig};

use crate::outbound::post;
use crate::{SendError, Sender};

/// A call to place.
#[derive(Debug, Clone)]
pub struct Dial<'a> {
    /// The same key for every try of one attempt: the provider answers a repeat with the call
    /// it already made.
    pub idempotency_key: &'a str,
    /// E.164.
    pub to: &'a str,
    /// Where the provider fetches the call's instructions.
    pub answer_url: &'a str,
    /// Where the provider posts the call's statuses.
    pub status_callback: &'a str,
    pub machine_detection: bool,
    /// How long it rings before `no-answer`.
    pub timeout_seconds: u32,
}

/// What the provider said when it took a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialedCall {
    /// `CA…`: status callbacks name it.
    pub provider_call_id: String,
    pub status: AttemptStatus,
}

/// What the provider says a call is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCall {
    pub provider_call_id: String,
    pub status: AttemptStatus,
    pub duration_seconds: Option<i64>,
    pub answered_by: Option<String>,
}

fn voice(channel: &Channel) -> Result<&VoiceConfig, SendError> {
    match &channel.config {
        ChannelConfig::Voice(config) => Ok(config),
        _ => Err(SendError::Rejected {
            message: "not a voice channel: it places no calls".into(),
            details: None,
            cause: None,
        }),
    }
}

fn calls_url(config: &VoiceConfig) -> String {
    format!(
        "{}/2010-04-01/Accounts/{}/Calls",
        config.api_base_url.trim_end_matches('/'),
        config.account_sid
    )
}

/// A provider's call as JSON (`sid`, `status`, `duration` as text, `answered_by`).
fn provider_call(answer: &Value) -> Result<ProviderCall, SendError> {
    let text = |field: &str| answer.get(field).and_then(Value::as_str);
    let malformed = |what: &str| SendError::Retryable {
        message: format!("the voice provider's answer has no valid {what}"),
        retry_after: None,
        cause: None,
    };
    let provider_call_id = text("sid").ok_or_else(|| malformed("sid"))?.to_owned();
    let status = text("status")
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| malformed("status"))?;
    let duration_seconds = match answer.get("duration") {
        Some(Value::String(seconds)) => seconds.parse().ok(),
        Some(Value::Number(seconds)) => seconds.as_i64(),
        _ => None,
    };
    Ok(ProviderCall {
        provider_call_id,
        status,
        duration_seconds,
        answered_by: text("answered_by").map(str::to_owned),
    })
}

impl Sender {
    /// Places a call through `channel` (a voice channel). Timeouts, 429 and 5xx are
    /// retryable (under the same key); other refusals are final.
    pub async fn dial(&self, channel: &Channel, dial: &Dial<'_>) -> Result<DialedCall, SendError> {
        let config = voice(channel)?;
        let timeout = dial.timeout_seconds.to_string();
        let mut form = vec![
            ("To", dial.to),
            ("From", config.from_number.as_str()),
            ("Url", dial.answer_url),
            ("StatusCallback", dial.status_callback),
            ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
            ("Timeout", timeout.as_str()),
        ];
        if dial.machine_detection {
            form.push(("MachineDetection", "Enable"));
        }
        let request = self
            .client()
            .post(format!("{}.json", calls_url(config)))
            .basic_auth(&config.account_sid, Some(config.auth_token.expose()))
            .form(&form);
        let answer = post("voice", request, dial.idempotency_key).await?;
        let call = provider_call(&answer)?;
        Ok(DialedCall {
            provider_call_id: call.provider_call_id,
            status: call.status,
        })
    }

    /// Asks the provider what a call is now.
    pub async fn fetch_call(
        &self,
        channel: &Channel,
        provider_call_id: &str,
    ) -> Result<ProviderCall, SendError> {
        let config = voice(channel)?;
        let request = self
            .client()
            .get(format!("{}/{provider_call_id}.json", calls_url(config)))
            .basic_auth(&config.account_sid, Some(config.auth_token.expose()));
        let answer = post("voice", request, provider_call_id).await?;
        provider_call(&answer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_provider_call_reads_twilio_fields_and_a_duration_as_text_or_number() {
        let call = provider_call(&json!({
            "sid": "CA1", "status": "completed", "duration": "42", "answered_by": "human",
        }))
        .expect("a call");
        assert_eq!(
            call,
            ProviderCall {
                provider_call_id: "CA1".to_owned(),
                status: AttemptStatus::Completed,
                duration_seconds: Some(42),
                answered_by: Some("human".to_owned()),
            }
        );
        let call = provider_call(&json!({"sid": "CA2", "status": "no-answer", "duration": 0}))
            .expect("a call");
        assert_eq!(call.duration_seconds, Some(0));
        let call = provider_call(&json!({"sid": "CA3", "status": "queued", "duration": null}))
            .expect("a call");
        assert_eq!(
            (call.status, call.duration_seconds),
            (AttemptStatus::Queued, None)
        );
    }

    #[test]
    fn an_answer_without_a_call_id_or_a_known_status_is_retryable() {
        // The dial may have been placed: a retry under the same key finds out which call it made.
        for answer in [
            json!({"status": "queued"}),
            json!({"sid": "CA1", "status": "exploded"}),
            json!({"sid": "CA1"}),
            serde_json::Value::Null,
        ] {
            assert!(
                matches!(provider_call(&answer), Err(SendError::Retryable { .. })),
                "{answer}"
            );
        }
    }
}
