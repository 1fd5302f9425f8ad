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
    use std::time::Duration;

    use reqwest::header::{HeaderMap, HeaderValue};
    use switchboard_core::{ChannelConfig, ChannelKind};
    use time::OffsetDateTime;

    use super::*;
    use crate::VerifyError;

    const TOKEN: &str = "voice-token";
    const TOLERANCE: Duration = Duration::from_secs(300);

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

    fn received(body: &[u8], signature: Option<String>) -> Result<CallReport, WebhookError> {
        let mut headers = HeaderMap::new();
        if let Some(signature) = signature {
            headers.insert(
                SIGNATURE_HEADER,
                HeaderValue::from_str(&signature).expect("a header value"),
            );
        }
        let webhook = Webhook {
            headers: &headers,
            path_and_query: "/webhooks/voice/channel-1/report",
            public_base_url: Some("https://gateway.example"),
            body,
            received_at: OffsetDateTime::now_utc(),
        };
        receive_report(&config(), &webhook, TOLERANCE)
    }

    fn now() -> i64 {
        OffsetDateTime::now_utc().unix_timestamp()
    }

    const BODY: &[u8] = br#"{"providerCallId": "CA1", "turns": [{"role": "agent", "text": "Hi"}]}"#;

    #[test]
    fn a_report_signed_with_the_auth_token_is_read() {
        let signature = api_channel::sign(TOKEN, BODY, now());
        let report = received(BODY, Some(signature)).expect("signed by the auth token");
        assert_eq!(report.provider_call_id.as_deref(), Some("CA1"));
        assert_eq!(report.call_id, None);
        assert_eq!(report.turns[0].text, "Hi");
        assert_eq!(report.analysis, serde_json::json!({}));
    }

    #[test]
    fn an_unsigned_wrongly_signed_or_stale_report_is_refused() {
        assert!(matches!(
            received(BODY, None),
            Err(WebhookError::Refused(VerifyError::Missing(_)))
        ));
        assert!(matches!(
            received(BODY, Some(api_channel::sign("other", BODY, now()))),
            Err(WebhookError::Refused(VerifyError::Invalid(_)))
        ));
        let stale = now() - 3600;
        assert!(matches!(
            received(BODY, Some(api_channel::sign(TOKEN, BODY, stale))),
            Err(WebhookError::Refused(VerifyError::Invalid(_)))
        ));
        let signed_body = api_channel::sign(TOKEN, BODY, now());
        let changed = String::from_utf8_lossy(BODY).replace("Hi", "Ho");
        assert!(matches!(
            received(changed.as_bytes(), Some(signed_body)),
            Err(WebhookError::Refused(VerifyError::Invalid(_)))
        ));
    }

    #[test]
    fn a_signed_report_of_the_wrong_shape_is_malformed() {
        let body = br#"{"turns": []}"#;
        assert!(matches!(
            received(body, Some(api_channel::sign(TOKEN, body, now()))),
            Err(WebhookError::Malformed(_))
        ));
    }

    #[test]
    fn a_report_reads_its_turns_in_order() {
        let report = parse(
            br#"{"callId": "c1", "turns": [{"role": "assistant", "text": "Hello"},
                {"role": "user", "text": "Hi", "at": "2026-12-06T10:00:00Z"},
                {"role": "contact", "text": "Bye"}],
                "summary": "greeted", "outcome": {"interested": true}}"#,
        )
        .expect("a valid report");
        let speakers: Vec<Speaker> = report.turns.iter().map(|turn| turn.speaker).collect();
        assert_eq!(
            speakers,
            [Speaker::Agent, Speaker::Contact, Speaker::Contact]
        );
        assert_eq!(
            report.turns[1].at.map(OffsetDateTime::unix_timestamp),
            Some(1_796_551_200)
        );
        assert_eq!(report.summary.as_deref(), Some("greeted"));
        assert_eq!(report.analysis["interested"], true);
    }

    #[test]
    fn a_report_without_a_call_or_with_bad_turns_is_malformed() {
        assert!(parse(br#"{"turns": []}"#).is_err());
        assert!(parse(br#"{"callId": "c", "turns": [{"role": "robot", "text": "x"}]}"#).is_err());
        assert!(parse(br#"{"callId": "c", "turns": [{"role": "user"}]}"#).is_err());
        assert!(
            parse(br#"{"callId": "c", "turns": [{"role": "user", "text": "x", "at": "noon"}]}"#)
                .is_err()
        );
        assert!(parse(br#"{"callId": "c", "outcome": [1]}"#).is_err());
        assert!(parse(b"not json").is_err());
    }

    #[test]
    fn a_report_over_its_limits_is_malformed_and_says_which() {
        let text = "a".repeat(MAX_TURN_BYTES);
        let at_limit =
            format!(r#"{{"callId": "c", "turns": [{{"role": "user", "text": "{text}"}}]}}"#);
        assert!(parse(at_limit.as_bytes()).is_ok());
        let long = at_limit.replace(&text, &format!("{text}a"));
        let error = parse(long.as_bytes()).expect_err("a turn too long");
        assert!(error.to_string().contains("turns[0].text"), "{error}");

        let turn = r#"{"role": "agent", "text": "x"}"#;
        let turns = |count: usize| {
            format!(
                r#"{{"callId": "c", "turns": [{}]}}"#,
                vec![turn; count].join(",")
            )
        };
        assert_eq!(
            parse(turns(MAX_TURNS).as_bytes())
                .map(|report| report.turns.len())
                .ok(),
            Some(MAX_TURNS)
        );
        let error = parse(turns(MAX_TURNS + 1).as_bytes()).expect_err("too many turns");
        assert!(error.to_string().contains("at most 2000 turns"), "{error}");
    }
}
