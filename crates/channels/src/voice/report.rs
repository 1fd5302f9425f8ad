//! A call's report from the voice pipeline: JSON signed with `X-Switchboard-Signature` (the
//! API channel's scheme) keyed by the voice channel's auth token. It names the call (our id or
//! the provider's) and carries the transcript's turns, a summary and free outcome fields.

use serde::Deserialize;
use switchboard_core::{Timestamp, VoiceConfig};

use crate::api_channel::{self, SIGNATURE_HEADER};
use crate::{ParseError, Webhook, WebhookError};

/// The most turns one report may carry.
pub const MAX_TURNS: usize = 2_000;

/// The longest text of one turn, in bytes.
const MAX_TURN_BYTES: usize = 10 * 1024;

/// Who spoke a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The AI agent (`assistant` or `agent`).
    Agent,
    /// The person called (`user` or `contact`).
    Contact,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportTurn {
    pub speaker: Speaker,
    pub text: String,
    pub at: Option<Timestamp>,
}

/// What the voice pipeline reports about a call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallReport {
    pub call_id: Option<String>,
    pub provider_call_id: Option<String>,
    pub turns: Vec<ReportTurn>,
    pub summary: Option<String>,
    /// The report's outcome fields, as sent (a JSON object; empty when none).
    pub analysis: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawReport {
    call_id: Option<String>,
    provider_call_id: Option<String>,
    #[serde(default)]
    turns: Vec<RawTurn>,
    summary: Option<String>,
    outcome: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawTurn {
    role: String,
    text: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    at: Option<Timestamp>,
}

/// Verifies a report posted to a voice channel configured as `config`, then reads it.
pub fn receive_report(
    config: &VoiceConfig,
    webhook: &Webhook<'_>,
    tolerance: std::time::Duration,
) -> Result<CallReport, WebhookError> {
    let signature = webhook
        .headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    api_channel::verify_signature(
        config.auth_token.expose(),
        signature,
        webhook.body,
        webhook.received_at,
        tolerance,
    )?;
    Ok(parse(webhook.body)?)
}

fn parse(body: &[u8]) -> Result<CallReport, ParseError> {
    let raw: RawReport = serde_json::from_slice(body).map_err(|error| {
        ParseError::not_json(
            "a call report: {callId | providerCallId, turns, summary, outcome}",
            error,
        )
    })?;
    if raw.call_id.is_none() && raw.provider_call_id.is_none() {
        return Err(ParseError::new("callId or providerCallId is required"));
    }
    if raw.turns.len() > MAX_TURNS {
        return Err(ParseError::new(format!(
            "at most {MAX_TURNS} turns per report"
        )));
    }
    let turns = raw
        .turns
        .into_iter()
        .enumerate()
        .map(|(index, turn)| {
            let speaker = match turn.role.as_str() {
                "assistant" | "agent" => Speaker::Agent,
                "user" | "contact" => Speaker::Contact,
                other => {
                    return Err(ParseError::new(format!(
                        "turns[{index}].role {other:?}: expected assistant, agent, user or contact"
                    )));
                }
            };
            if turn.text.len() > MAX_TURN_BYTES {
                return Err(ParseError::new(format!(
                    "turns[{index}].text is longer than {MAX_TURN_BYTES} bytes"
                )));
            }
            Ok(ReportTurn {
                speaker,
                text: turn.text,
                at: turn.at,
            })
        })
        .collect::<Result<_, _>>()?;
    let analysis = match raw.outcome {
        None => serde_json::json!({}),
        Some(object @ serde_json::Value::Object(_)) => object,
        Some(_) => return Err(ParseError::new("outcome must be a JSON object")),
    };
    Ok(CallReport {
        call_id: raw.call_id,
        provider_call_id: raw.provider_call_id,
        turns,
        summary: raw.summary,
        analysis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_its_turns_in_order() {
        let report = parse(
            br#"{"callId": "c1", "turns": [{"role": "assistant", "text": "Hello"},
                {"role": "user", "text": "Hi", "at": "2026-12-06T10:00:00Z"}],
                "summary": "greeted", "outcome": {"interested": true}}"#,
        )
        .expect("a valid report");
        assert_eq!(report.turns.len(), 2);
        assert_eq!(report.turns[0].speaker, Speaker::Agent);
        assert_eq!(report.turns[1].speaker, Speaker::Contact);
        assert!(report.turns[1].at.is_some());
        assert_eq!(report.analysis["interested"], true);
    }

    #[test]
    fn a_report_without_a_call_or_with_bad_turns_is_malformed() {
        assert!(parse(br#"{"turns": []}"#).is_err());
        assert!(parse(br#"{"callId": "c", "turns": [{"role": "robot", "text": "x"}]}"#).is_err());
        assert!(parse(br#"{"callId": "c", "outcome": [1]}"#).is_err());
        let long = format!(
            r#"{{"callId": "c", "turns": [{{"role": "user", "text": "{}"}}]}}"#,
            "a".repeat(MAX_TURN_BYTES + 1)
        );
        assert!(parse(long.as_bytes()).is_err());
        assert!(parse(b"not json").is_err());
    }
}
