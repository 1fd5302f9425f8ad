//! Pacing sends: one keyed limiter per provider and sending identity on this node, and, when
//! the sender is given one, a [`SharedRate`] that holds the same limits across every node.
//!
//! With a shared rate each send asks it first, under the limiter's name and the local key
//! (`whatsapp:<phone_number_id>`, `telegram:<bot>`, `telegram-chat:<bot>:<chat>`,
//! `twilio:<fromNumber>`, `api:<channel id>`) at the local limiter's rate, and sleeps the wait
//! it answers. When it fails (its store is unreachable) the local limiter paces the send
//! instead, and the first failure of an outage is logged.

use std::error::Error;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::RateLimits;

/// What [`SharedRate::acquire`] returns.
pub type SharedRateFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Duration, Box<dyn Error + Send + Sync>>> + Send + 'a>>;

/// A rate limit kept outside this process, shared by every node that sends for the same key.
pub trait SharedRate: Send + Sync {
    /// Reserves the next send of `key` at `per_second` and answers how long to wait before it
    /// (zero: send now). The slot is taken: the caller waits and sends without asking again.
    fn acquire<'a>(&'a self, key: &'a str, per_second: u32) -> SharedRateFuture<'a>;
}

/// The limits a send goes through, each keyed by the identity the provider meters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    Whatsapp,
    TelegramBot,
    TelegramChat,
    Twilio,
    Api,
}

impl Limit {
    fn name(self) -> &'static str {
        match self {
            Limit::Whatsapp => "whatsapp",
            Limit::TelegramBot => "telegram",
            Limit::TelegramChat => "telegram-chat",
            Limit::Twilio => "twilio",
            Limit::Api => "api",
        }
    }
}

pub(crate) struct Pacer {
    limits: RateLimits,
    whatsapp: DefaultKeyedRateLimiter<String>,
    telegram_bot: DefaultKeyedRateLimiter<String>,
    telegram_chat: DefaultKeyedRateLimiter<String>,
    twilio: DefaultKeyedRateLimiter<String>,
    api: DefaultKeyedRateLimiter<String>,
    shared: OnceLock<Arc<dyn SharedRate>>,
    shared_failing: AtomicBool,
}

impl Pacer {
    pub fn new(limits: RateLimits) -> Self {
        let keyed = |per_second: u32| {
            RateLimiter::keyed(Quota::per_second(
                NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN),
            ))
        };
        Self {
            whatsapp: keyed(limits.whatsapp_per_second),
            telegram_bot: keyed(limits.telegram_per_second),
            telegram_chat: keyed(limits.telegram_per_chat_per_second),
            twilio: keyed(limits.twilio_per_second),
            api: keyed(limits.api_per_second),
            limits,
            shared: OnceLock::new(),
            shared_failing: AtomicBool::new(false),
        }
    }

    /// Sets the shared rate; the first one set stays.
    pub fn share(&self, shared: Arc<dyn SharedRate>) {
        let _ = self.shared.set(shared);
    }

    /// Waits until `key` may send under `limit`.
    pub async fn pace(&self, limit: Limit, key: &str) {
        let (limiter, per_second) = self.limiter(limit);
        if let Some(shared) = self.shared.get() {
            let shared_key = format!("{}:{key}", limit.name());
            match shared.acquire(&shared_key, per_second.max(1)).await {
                Ok(wait) => {
                    if self.shared_failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("the shared rate limit works again");
                    }
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    return;
                }
                Err(error) => {
                    if !self.shared_failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(%error, "the shared rate limit fails; limiting on this node only");
                    }
                }
            }
        }
        limiter.until_key_ready(&key.to_owned()).await;
    }

    fn limiter(&self, limit: Limit) -> (&DefaultKeyedRateLimiter<String>, u32) {
        let limits = &self.limits;
        match limit {
            Limit::Whatsapp => (&self.whatsapp, limits.whatsapp_per_second),
            Limit::TelegramBot => (&self.telegram_bot, limits.telegram_per_second),
            Limit::TelegramChat => (&self.telegram_chat, limits.telegram_per_chat_per_second),
            Limit::Twilio => (&self.twilio, limits.twilio_per_second),
            Limit::Api => (&self.api, limits.api_per_second),
        }
    }

    /// Drops idle keys, so per-chat state stays bounded.
    pub fn sweep(&self) {
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Answers `wait` (or fails) and records what it was asked.
    struct Recorded {
        wait: Option<Duration>,
        asked: Mutex<Vec<(String, u32)>>,
    }

    impl SharedRate for Recorded {
        fn acquire<'a>(&'a self, key: &'a str, per_second: u32) -> SharedRateFuture<'a> {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push((key.to_owned(), per_second));
            }
            let answer = self.wait.ok_or_else(|| "unreachable".into());
            Box::pin(async move { answer })
        }
    }

    fn limits() -> RateLimits {
        RateLimits {
            twilio_per_second: 2,
            ..RateLimits::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_shared_rate_paces_with_the_local_key_and_rate() {
        let pacer = Pacer::new(limits());
        let shared = Arc::new(Recorded {
            wait: Some(Duration::from_secs(3)),
            asked: Mutex::new(Vec::new()),
        });
        pacer.share(shared.clone());
        let started = tokio::time::Instant::now();
        pacer.pace(Limit::Twilio, "+15550001").await;
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        let asked = shared
            .asked
            .lock()
            .map(|asked| asked.clone())
            .unwrap_or_default();
        assert_eq!(asked, vec![("twilio:+15550001".to_owned(), 2)]);
    }

    #[tokio::test]
    async fn a_failing_shared_rate_falls_back_to_the_local_limit() {
        let pacer = Pacer::new(limits());
        pacer.share(Arc::new(Recorded {
            wait: None,
            asked: Mutex::new(Vec::new()),
        }));
        let started = std::time::Instant::now();
        for _ in 0..3 {
            pacer.pace(Limit::Twilio, "+15550001").await;
        }
        // Two a second locally: the third send waits for the next slot.
        assert!(started.elapsed() >= Duration::from_millis(400));
    }
}
