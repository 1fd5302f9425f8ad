//! Sending replies through a channel's provider API, at most as fast as the provider allows.
//!
//! One [`Sender`] serves every channel of the process: one HTTP client (connection pools are
//! shared) and one keyed rate limiter per provider, keyed by the sending identity the provider
//! meters (WhatsApp `phone_number_id`, Telegram bot and chat, Twilio `fromNumber`, API channel
//! id), optionally held across nodes by a [`SharedRate`] (see `pace`). Every provider call carries `Idempotency-Key: <our message id>`, so a retry after an
//! ambiguous failure (timeout after the provider accepted) is not a second message at providers
//! that honour it.

mod attempt;
mod pace;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use switchboard_core::{Channel, ChannelConfig};

use crate::{SendError, SenderError, api_channel, telegram, twilio, whatsapp};

pub use attempt::IDEMPOTENCY_KEY;
pub(crate) use attempt::post;
pub use pace::{SharedRate, SharedRateFuture};

use pace::{Limit, Pacer};

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
    pacer: Pacer,
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
        Ok(Self {
            inner: Arc::new(SenderState {
                client,
                pacer: Pacer::new(limits),
                sends: AtomicU64::new(0),
            }),
        })
    }

    /// Holds this sender's rate limits across nodes through `shared` from now on, for this
    /// sender and its clones; the first shared rate set stays. Without one, or while it fails,
    /// the limits hold on this node only.
    pub fn with_shared_rate(self, shared: Arc<dyn SharedRate>) -> Self {
        self.inner.pacer.share(shared);
        self
    }

    /// The HTTP client every provider call of this sender goes through.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.inner.client
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
            state.pacer.sweep();
        }
        match &channel.config {
            ChannelConfig::Whatsapp(config) => {
                state
                    .pacer
                    .pace(Limit::Whatsapp, &config.phone_number_id)
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
                state.pacer.pace(Limit::TelegramBot, &bot).await;
                state
                    .pacer
                    .pace(Limit::TelegramChat, &format!("{bot}:{}", message.to))
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
                state.pacer.pace(Limit::Twilio, &config.from_number).await;
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
                state.pacer.pace(Limit::Api, &channel.id.to_string()).await;
                api_channel::send(
                    &state.client,
                    config.signing_secret.expose(),
                    callback_url,
                    message,
                )
                .await
            }
            ChannelConfig::Voice(_) => Err(SendError::Rejected {
                message: "a voice channel sends no text messages; place a call instead".into(),
                details: None,
                cause: None,
            }),
        }
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}
