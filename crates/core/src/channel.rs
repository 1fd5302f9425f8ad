//! A channel: one endpoint of a tenant (a WhatsApp business number, a Twilio number, a
//! Telegram bot, the signed JSON API channel, or a voice number for outbound calls), with its
//! provider credentials. Secrets are write-only: stored for the gateway's own use, never
//! returned to a client.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::vocabulary::vocabulary;
use crate::{AgentId, ChannelId, TenantId, Timestamp, ValidationError};

vocabulary! {
    pub enum ChannelKind {
        Whatsapp = "whatsapp",
        Twilio = "twilio",
        Telegram = "telegram",
        /// Signed JSON from the customer's web chat or app.
        Api = "api",
        /// Outbound voice calls through a Twilio-Voice-shaped provider.
        Voice = "voice",
    }
}

impl ChannelKind {
    /// The `externalId` of a contact first met on a channel of this kind: `<kind>:<the
    /// provider's id>` (`whatsapp:15551234567`), so ids of different providers never collide.
    pub fn contact_external_id(self, provider_id: &str) -> String {
        format!("{self}:{provider_id}")
    }

    /// The provider's id of a contact whose `externalId` [`Self::contact_external_id`] made for
    /// this kind; `None` for any other id.
    pub fn provider_contact_id(self, external_id: &str) -> Option<&str> {
        external_id
            .strip_prefix(self.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
    }
}

/// A secret string: readable by the gateway, hidden from `Debug` and logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WhatsappConfig {
    pub phone_number_id: String,
    pub app_secret: Secret,
    pub verify_token: Secret,
    pub access_token: Secret,
    #[serde(default = "WhatsappConfig::default_api_base_url")]
    pub api_base_url: String,
}

impl WhatsappConfig {
    fn default_api_base_url() -> String {
        "https://graph.facebook.com/v21.0".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: Secret,
    pub from_number: String,
    #[serde(default = "TwilioConfig::default_api_base_url")]
    pub api_base_url: String,
}

impl TwilioConfig {
    fn default_api_base_url() -> String {
        "https://api.twilio.com".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TelegramConfig {
    pub bot_token: Secret,
    pub secret_token: Secret,
    #[serde(default = "TelegramConfig::default_api_base_url")]
    pub api_base_url: String,
}

impl TelegramConfig {
    fn default_api_base_url() -> String {
        "https://api.telegram.org".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiChannelConfig {
    pub signing_secret: Secret,
    /// Where replies are POSTed; without it the app reads them over REST or realtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// A voice channel: calls placed from `fromNumber` through a Twilio-Voice-shaped API; the
/// provider fetches each call's instructions from `answerUrl` (the voice pipeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VoiceConfig {
    pub account_sid: String,
    /// Signs status callbacks (Twilio's scheme) and call reports (the API channel's).
    pub auth_token: Secret,
    /// E.164.
    pub from_number: String,
    #[serde(default = "TwilioConfig::default_api_base_url")]
    pub api_base_url: String,
    pub answer_url: String,
    /// Credits per started minute of a connected call through this channel; the server's
    /// `calls.credits_per_minute` when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_per_minute: Option<i64>,
}

/// The provider settings of a channel, one shape per [`ChannelKind`].
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelConfig {
    Whatsapp(WhatsappConfig),
    Twilio(TwilioConfig),
    Telegram(TelegramConfig),
    Api(ApiChannelConfig),
    Voice(VoiceConfig),
}

impl ChannelConfig {
    /// Parses the JSON configuration of a channel of `kind`, naming the field that is wrong.
    pub fn parse(kind: ChannelKind, config: serde_json::Value) -> Result<Self, ValidationError> {
        fn typed<T: serde::de::DeserializeOwned>(
            config: serde_json::Value,
        ) -> Result<T, ValidationError> {
            serde_json::from_value(config)
                .map_err(|error| ValidationError::new("config", error.to_string()))
        }
        let parsed = match kind {
            ChannelKind::Whatsapp => Self::Whatsapp(typed(config)?),
            ChannelKind::Twilio => Self::Twilio(typed(config)?),
            ChannelKind::Telegram => Self::Telegram(typed(config)?),
            ChannelKind::Api => Self::Api(typed(config)?),
            ChannelKind::Voice => Self::Voice(typed(config)?),
        };
        parsed.validate()?;
        Ok(parsed)
    }

    pub fn kind(&self) -> ChannelKind {
        match self {
            Self::Whatsapp(_) => ChannelKind::Whatsapp,
            Self::Twilio(_) => ChannelKind::Twilio,
            Self::Telegram(_) => ChannelKind::Telegram,
            Self::Api(_) => ChannelKind::Api,
            Self::Voice(_) => ChannelKind::Voice,
        }
    }

    /// The full configuration, secrets included, as stored.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Self::Whatsapp(config) => serde_json::to_value(config),
            Self::Twilio(config) => serde_json::to_value(config),
            Self::Telegram(config) => serde_json::to_value(config),
            Self::Api(config) => serde_json::to_value(config),
            Self::Voice(config) => serde_json::to_value(config),
        };
        // Plain structs of strings always serialize.
        value.unwrap_or(serde_json::Value::Null)
    }

    /// Applies a partial update: fields present in `patch` replace the stored ones, absent fields
    /// (secrets in particular, which clients never see) are kept.
    pub fn merged(&self, patch: serde_json::Value) -> Result<Self, ValidationError> {
        let serde_json::Value::Object(changes) = patch else {
            return Err(ValidationError::new("config", "must be a JSON object"));
        };
        let mut current = self.to_json();
        if let serde_json::Value::Object(fields) = &mut current {
            fields.extend(changes);
        }
        Self::parse(self.kind(), current)
    }

    /// The configuration without its secrets, and the names of the secrets that are set.
    pub fn public_json(&self) -> (serde_json::Value, Vec<String>) {
        split_secrets(&self.to_json(), self.secret_keys())
    }

    fn secret_keys(&self) -> &'static [&'static str] {
        match self {
            Self::Whatsapp(_) => &["appSecret", "verifyToken", "accessToken"],
            Self::Twilio(_) | Self::Voice(_) => &["authToken"],
            Self::Telegram(_) => &["botToken", "secretToken"],
            Self::Api(_) => &["signingSecret"],
        }
    }

    fn validate(&self) -> Result<(), ValidationError> {
        let require = |field: &str, value: &str| {
            ValidationError::require_text(&format!("config.{field}"), value, 512)
        };
        let url = |field: &str, value: &str| {
            if value.starts_with("http://") || value.starts_with("https://") {
                Ok(())
            } else {
                Err(ValidationError::new(
                    format!("config.{field}"),
                    "must be an http(s) URL",
                ))
            }
        };
        match self {
            Self::Whatsapp(config) => {
                require("phoneNumberId", &config.phone_number_id)?;
                require("appSecret", config.app_secret.expose())?;
                require("verifyToken", config.verify_token.expose())?;
                require("accessToken", config.access_token.expose())?;
                url("apiBaseUrl", &config.api_base_url)
            }
            Self::Twilio(config) => {
                require("accountSid", &config.account_sid)?;
                require("authToken", config.auth_token.expose())?;
                require("fromNumber", &config.from_number)?;
                url("apiBaseUrl", &config.api_base_url)
            }
            Self::Telegram(config) => {
                require("botToken", config.bot_token.expose())?;
                require("secretToken", config.secret_token.expose())?;
                url("apiBaseUrl", &config.api_base_url)
            }
            Self::Api(config) => {
                require("signingSecret", config.signing_secret.expose())?;
                match &config.callback_url {
                    Some(callback) => url("callbackUrl", callback),
                    None => Ok(()),
                }
            }
            Self::Voice(config) => {
                require("accountSid", &config.account_sid)?;
                require("authToken", config.auth_token.expose())?;
                crate::Contact::validate_phone(&config.from_number)
                    .map_err(|error| ValidationError::new("config.fromNumber", error.message))?;
                url("apiBaseUrl", &config.api_base_url)?;
                if config.credits_per_minute.is_some_and(|credits| credits < 0) {
                    return Err(ValidationError::new(
                        "config.creditsPerMinute",
                        "must not be negative",
                    ));
                }
                url("answerUrl", &config.answer_url)
            }
        }
    }
}

/// Splits the secret keys out of a JSON object: returns the object without them and the names
/// of those that were present.
pub(crate) fn split_secrets(
    config: &serde_json::Value,
    secret_keys: &[&str],
) -> (serde_json::Value, Vec<String>) {
    let mut public = config.clone();
    let mut present = Vec::new();
    if let serde_json::Value::Object(fields) = &mut public {
        for key in secret_keys {
            if fields.remove(*key).is_some() {
                present.push((*key).to_owned());
            }
        }
    }
    (public, present)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: ChannelId,
    pub tenant_id: TenantId,
    pub name: String,
    /// The agent that answers new conversations on this channel.
    pub agent_id: Option<AgentId>,
    pub config: ChannelConfig,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Channel {
    pub fn kind(&self) -> ChannelKind {
        self.config.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whatsapp() -> serde_json::Value {
        serde_json::json!({
            "phoneNumberId": "1234", "appSecret": "s3cret", "verifyToken": "v", "accessToken": "a"
        })
    }

    #[test]
    fn public_json_hides_every_secret() {
        let config = ChannelConfig::parse(ChannelKind::Whatsapp, whatsapp()).expect("valid");
        let (public, secrets) = config.public_json();
        let text = public.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(public["phoneNumberId"], "1234");
        assert_eq!(public["apiBaseUrl"], "https://graph.facebook.com/v21.0");
        assert_eq!(secrets, ["appSecret", "verifyToken", "accessToken"]);
    }

    #[test]
    fn merge_keeps_secrets_the_patch_omits() {
        let config = ChannelConfig::parse(ChannelKind::Whatsapp, whatsapp()).expect("valid");
        let merged = config
            .merged(serde_json::json!({"phoneNumberId": "999"}))
            .expect("valid patch");
        let ChannelConfig::Whatsapp(merged) = merged else {
            panic!("kind changed")
        };
        assert_eq!(merged.phone_number_id, "999");
        assert_eq!(merged.app_secret.expose(), "s3cret");
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        let error = ChannelConfig::parse(
            ChannelKind::Twilio,
            serde_json::json!({"accountSid": "AC1"}),
        )
        .expect_err("incomplete");
        assert!(error.message.contains("authToken"), "{error}");
        let error = ChannelConfig::parse(
            ChannelKind::Api,
            serde_json::json!({"signingSecret": "x", "colour": "red"}),
        )
        .expect_err("unknown field");
        assert!(error.message.contains("colour"), "{error}");
    }

    #[test]
    fn empty_secret_is_rejected_with_its_path() {
        let error =
            ChannelConfig::parse(ChannelKind::Api, serde_json::json!({"signingSecret": " "}))
                .expect_err("blank");
        assert_eq!(error.field, "config.signingSecret");
    }

    fn voice() -> serde_json::Value {
        serde_json::json!({
            "accountSid": "AC1", "authToken": "v0ice", "fromNumber": "+15550100000",
            "answerUrl": "https://voice.example/answer"
        })
    }

    #[test]
    fn a_voice_channel_hides_its_token_and_keeps_it_across_a_patch() {
        let config = ChannelConfig::parse(ChannelKind::Voice, voice()).expect("valid");
        assert_eq!(config.kind(), ChannelKind::Voice);
        let (public, secrets) = config.public_json();
        assert!(!public.to_string().contains("v0ice"), "{public}");
        assert_eq!(public["apiBaseUrl"], "https://api.twilio.com");
        assert_eq!(secrets, ["authToken"]);
        let ChannelConfig::Voice(merged) = config
            .merged(serde_json::json!({"answerUrl": "https://voice.example/v2"}))
            .expect("valid patch")
        else {
            panic!("kind changed")
        };
        assert_eq!(merged.answer_url, "https://voice.example/v2");
        assert_eq!(merged.auth_token.expose(), "v0ice");
    }

    #[test]
    fn a_voice_channel_needs_an_e164_number_and_urls() {
        let with = |field: &str, value: serde_json::Value| {
            let mut config = voice();
            config[field] = value;
            ChannelConfig::parse(ChannelKind::Voice, config)
        };
        for (field, value, path) in [
            (
                "fromNumber",
                serde_json::json!("5550100000"),
                "config.fromNumber",
            ),
            (
                "answerUrl",
                serde_json::json!("voice.example"),
                "config.answerUrl",
            ),
            (
                "apiBaseUrl",
                serde_json::json!("ftp://x"),
                "config.apiBaseUrl",
            ),
            (
                "creditsPerMinute",
                serde_json::json!(-1),
                "config.creditsPerMinute",
            ),
            ("authToken", serde_json::json!(""), "config.authToken"),
        ] {
            let error = with(field, value).expect_err(field);
            assert_eq!(error.field, path);
        }
        let error = with("region", serde_json::json!("us1")).expect_err("unknown field");
        assert!(error.message.contains("region"), "{error}");
    }

    #[test]
    fn a_contact_id_scoped_by_provider_reads_back_for_its_kind_only() {
        let id = ChannelKind::Whatsapp.contact_external_id("15551234567");
        assert_eq!(id, "whatsapp:15551234567");
        assert_eq!(
            ChannelKind::Whatsapp.provider_contact_id(&id),
            Some("15551234567")
        );
        assert_eq!(ChannelKind::Telegram.provider_contact_id(&id), None);
        assert_eq!(
            ChannelKind::Whatsapp.provider_contact_id("whatsappish:1"),
            None
        );
        assert_eq!(ChannelKind::Api.provider_contact_id("crm-42"), None);
    }
}
