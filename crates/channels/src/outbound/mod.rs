//! Sending replies through a channel's provider API, at most as fast as the provider allows.
//!
//! One [`Sender`] serves every channel of the process: one HTTP client (connection pools are
//! shared) and one keyed rate limiter per provider, keyed by the sending identity the provider
//! meters (WhatsApp `phone_number_id`, Telegram bot and chat, Twilio `fromNumber`, API channel
//! id). Every provider call carries `Idempotency-Key: <our message id>`, so a retry after an
//! ambiguous failure (timeout after the provider accepted) is not a second message at providers
//! that honour it.

mod attempt;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use switchboard_core::{Channel, ChannelConfig};

use crate::{SendError, SenderError, api_channel, telegram, twilio, whatsapp};

pub use attempt::IDEMPOTENCY_KEY;
pub(crate) use attempt::post;

/// A reply to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    /// Our message id; also the idempotency key of every provider call for it.
    pub message_id: String,
    pub conversation_id: String,
    /// The contact's external id at the provider (WhatsApp `wa_id`, Twilio number, Telegram
    /// chat id, the app's user id).
    pub to: String,
    pub text: String,
}

/// What the provider said about an accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SentMessage {
    /// The provider's id for it (`wamid…`, `SM…`, Telegram `chat_id:message_id`); receipts refer
    /// to it. `None` when the provider gives none (API channel) or nothing was sent.
    pub provider_message_id: Option<String>,
}

/// Sends per second each provider accepts from one sender. A zero is treated as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Per WhatsApp business number (`phone_number_id`).
    pub whatsapp_per_second: u32,
    /// Per Telegram bot, across all its chats.
    pub telegram_per_second: u32,
    /// Per Telegram chat of one bot.
    pub telegram_per_chat_per_second: u32,
    /// Per Twilio sending number (`fromNumber`).
    pub twilio_per_second: u32,
    /// Per API channel (callbacks to the customer's app).
    pub api_per_second: u32,
}

impl Default for RateLimits {
    /// The providers' documented defaults: WhatsApp Cloud API 80 messages/s per number,
    /// Telegram 30/s per bot and 1/s per chat, Twilio long codes 1/s per number.
    fn default() -> Self {
        Self {
            whatsapp_per_second: 80,
            telegram_per_second: 30,
            telegram_per_chat_per_second: 1,
            twilio_per_second: 1,
            api_per_second: 100,
        }
    }
}

/// Delivers outbound messages to any channel. Cheap to clone; clones share the HTTP client and
/// the rate limiters.
#[derive(Clone)]
pub struct Sender {
    inner: Arc<SenderState>,
}

struct SenderState {
    client: reqwest::Client,
    whatsapp: DefaultKeyedRateLimiter<String>,
    telegram_bot: DefaultKeyedRateLimiter<String>,
    telegram_chat: DefaultKeyedRateLimiter<String>,
    twilio: DefaultKeyedRateLimiter<String>,
    api: DefaultKeyedRateLimiter<String>,
    /// Sends so far; every so often idle limiter keys are dropped so per-chat state stays bounded.
    sends: AtomicU64,
}

/// How many sends between sweeps of idle rate-limiter keys.
const SWEEP_EVERY: u64 = 10_000;

impl Sender {
    /// A sender whose provider calls give up after `timeout` (connect, send and read together).
    /// Fails only when the TLS client cannot be set up (no root certificates on the system).
    pub fn new(limits: RateLimits, timeout: Duration) -> Result<Self, SenderError> {
        // reqwest is built without a default TLS provider; the error only says one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(SenderError)?;
        let keyed = |per_second: u32| {
            RateLimiter::keyed(Quota::per_second(
                NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN),
            ))
        };
        Ok(Self {
            inner: Arc::new(SenderState {
                client,
                whatsapp: keyed(limits.whatsapp_per_second),
                telegram_bot: keyed(limits.telegram_per_second),
                telegram_chat: keyed(limits.telegram_per_chat_per_second),
                twilio: keyed(limits.twilio_per_second),
                api: keyed(limits.api_per_second),
                sends: AtomicU64::new(0),
            }),
        })
    }

    /// Sends `message` through `channel`'s provider, waiting first for the sender's rate limit.
    /// Timeouts, connection errors, 429 and 5xx are [`SendError::Retryable`] (with the
    /// provider's delay hint); other refusals are [`SendError::Rejected`].
    pub async fn send(
        &self,
        channel: &Channel,
        message: &OutboundMessage,
    ) -> Result<SentMessage, SendError> {
        let state = &*self.inner;
        if state.sends.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            state.sweep();
        }
        match &channel.config {
            ChannelConfig::Whatsapp(config) => {
                state
                    .whatsapp
                    .until_key_ready(&config.phone_number_id)
                    .await;
                whatsapp::send(
                    &state.client,
                    &config.api_base_url,
                    &config.phone_number_id,
                    config.access_token.expose(),
                    message,
                )
                .await
            }
            ChannelConfig::Telegram(config) => {
                let bot = telegram::bot_id(config.bot_token.expose()).to_owned();
                state.telegram_bot.until_key_ready(&bot).await;
                state
                    .telegram_chat
                    .until_key_ready(&format!("{bot}:{}", message.to))
                    .await;
                telegram::send(
                    &state.client,
                    &config.api_base_url,
                    config.bot_token.expose(),
                    message,
                )
                .await
            }
            ChannelConfig::Twilio(config) => {
                state.twilio.until_key_ready(&config.from_number).await;
                twilio::send(
                    &state.client,
                    &config.api_base_url,
                    &config.account_sid,
                    config.auth_token.expose(),
                    &config.from_number,
                    message,
                )
                .await
            }
            ChannelConfig::Api(config) => {
                let Some(callback_url) = &config.callback_url else {
                    return Ok(SentMessage::default());
                };
                state.api.until_key_ready(&channel.id.to_string()).await;
                api_channel::send(
                    &state.client,
                    config.signing_secret.expose(),
                    callback_url,
                    message,
                )
                .await
            }
        }
    }
}

impl SenderState {
    fn sweep(&self) {
        for limiter in [
            &self.whatsapp,
            &self.telegram_bot,
            &self.telegram_chat,
            &self.twilio,
            &self.api,
        ] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}
