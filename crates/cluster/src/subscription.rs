//! The link's pub/sub subscription and heartbeat. One task holds the subscription to
//! `{prefix}:events`, `{prefix}:wake` and this node's heartbeat channel and hands what arrives
//! to the hubs and wake-up receivers; after any error, or when no heartbeat has come back for
//! 3 s, it drops the connection and subscribes again, with a backoff capped at 5 s, until
//! shutdown. Another task publishes the heartbeats, makes the command connection again when a
//! heartbeat times out, and keeps the health gauges current.
//!
//! A heartbeat is `{instance}:{milliseconds since the link was made}`, sent on
//! `{prefix}:heartbeat:{node}`.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use redis::aio::PubSub;
use switchboard_realtime::Envelope;
use tokio::time::{Instant, MissedTickBehavior};

use crate::error::ClusterError;
use crate::keys::Keys;
use crate::link::{HEARTBEAT_DEADLINE, HEARTBEAT_PERIOD, Shared, within};
use crate::outage::Outage;
use crate::wake::WakeUp;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often a subscription checks that heartbeats still come back.
const SILENCE_CHECK: Duration = Duration::from_millis(250);

/// Connects a pub/sub connection and subscribes to the link's channels.
pub(crate) async fn subscribe(client: &redis::Client, keys: &Keys) -> Result<PubSub, ClusterError> {
    let mut pubsub = within(client.get_async_pubsub()).await?;
    within(pubsub.subscribe(&[&keys.events, &keys.wake, &keys.heartbeat])).await?;
    Ok(pubsub)
}

/// Why a subscription ended.
enum Ended {
    Shutdown,
    /// The connection closed.
    Closed,
    /// No heartbeat came back in time.
    Silent,
}

/// Keeps the subscription alive until shutdown, starting with `first`.
pub(crate) async fn run(shared: Arc<Shared>, client: redis::Client, first: PubSub) {
    let mut next = Some(first);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let pubsub = match next.take() {
            Some(pubsub) => pubsub,
            None => {
                let attempt = tokio::select! {
                    () = shared.shutdown.cancelled() => return,
                    attempt = subscribe(&client, &shared.keys) => attempt,
                };
                match attempt {
                    Ok(pubsub) => pubsub,
                    Err(error) => {
                        tracing::debug!(%error, "subscribing to Redis failed");
                        if !pause(&shared, &mut backoff).await {
                            return;
                        }
                        continue;
                    }
                }
            }
        };
        shared.lock_state().subscribed = true;
        metrics::counter!("switchboard_redis_resubscriptions_total").increment(1);
        shared.resubscribed.send_modify(|count| *count += 1);
        tracing::info!("subscribed to Redis");

        let (ended, heard) = listen(&shared, pubsub).await;
        shared.lock_state().subscribed = false;
        match ended {
            Ended::Shutdown => return,
            Ended::Closed => tracing::warn!("the Redis subscription closed; subscribing again"),
            Ended::Silent => {
                tracing::warn!("no heartbeat came back from Redis; subscribing again")
            }
        }
        if heard {
            backoff = FIRST_BACKOFF;
        }
        if !pause(&shared, &mut backoff).await {
            return;
        }
    }
}

/// Waits `backoff` (or until shutdown: false) and doubles it up to the cap.
async fn pause(shared: &Shared, backoff: &mut Duration) -> bool {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    tokio::select! {
        () = shared.shutdown.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}

/// Hands out messages until the subscription ends; also says whether a heartbeat came back.
async fn listen(shared: &Shared, mut pubsub: PubSub) -> (Ended, bool) {
    let subscribed_at = Instant::now();
    let mut heard = false;
    let mut check = tokio::time::interval(SILENCE_CHECK);
    check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut messages = pubsub.on_message();
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return (Ended::Shutdown, heard),
            message = messages.next() => match message {
                Some(message) => {
                    heard |= dispatch(shared, &message, subscribed_at);
                }
                None => return (Ended::Closed, heard),
            },
            _ = check.tick() => {
                let newest = shared
                    .lock_state()
                    .heartbeat_sent
                    .map_or(subscribed_at, |sent| sent.max(subscribed_at));
                if newest.elapsed() > HEARTBEAT_DEADLINE {
                    return (Ended::Silent, heard);
                }
            }
        }
    }
}

/// Hands one message to whoever takes it; returns true for one of this link's heartbeats sent
/// since `subscribed_at`.
fn dispatch(shared: &Shared, message: &redis::Msg, subscribed_at: Instant) -> bool {
    let channel = message.get_channel_name();
    let payload = message.get_payload_bytes();
    if channel == shared.keys.events {
        match Envelope::from_wire(payload) {
            Ok(envelope) => {
                let deliveries = shared
                    .deliveries
                    .read()
                    .unwrap_or_else(PoisonError::into_inner);
                for delivery in deliveries.iter() {
                    delivery.deliver(envelope.clone());
                }
            }
            Err(error) => tracing::warn!(%error, "an envelope from Redis could not be read"),
        }
    } else if channel == shared.keys.wake {
        match WakeUp::decode(payload) {
            // Nobody listening is fine: wake-ups only shorten waits.
            Ok(wake_up) => drop(shared.wake_ups.send(wake_up)),
            Err(error) => tracing::warn!(%error, "a wake-up from Redis could not be read"),
        }
    } else if channel == shared.keys.heartbeat {
        let sent = std::str::from_utf8(payload)
            .ok()
            .and_then(|text| text.split_once(':'))
            .filter(|(instance, _)| *instance == shared.instance)
            .and_then(|(_, millis)| millis.parse::<u64>().ok())
            .map(|millis| shared.started + Duration::from_millis(millis));
        if let Some(sent) = sent {
            let mut state = shared.lock_state();
            state.heartbeat_sent = Some(state.heartbeat_sent.map_or(sent, |old| old.max(sent)));
            return sent >= subscribed_at;
        }
    }
    false
}

/// Publishes a heartbeat every second and keeps the health gauges current, until shutdown.
pub(crate) async fn heartbeat(shared: Arc<Shared>) {
    let outage = Outage::new("heartbeat");
    let mut ticks = tokio::time::interval(HEARTBEAT_PERIOD);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let health = shared.health();
        metrics::gauge!("switchboard_redis_healthy").set(if health.healthy { 1.0 } else { 0.0 });
        if let Some(age) = health.last_heartbeat_age {
            metrics::gauge!("switchboard_redis_heartbeat_age_seconds").set(age.as_secs_f64());
        }
        let millis = u64::try_from(shared.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let beat = format!("{}:{millis}", shared.instance);
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(&shared.keys.heartbeat).arg(beat);
        let mut commands = shared.commands();
        let result = tokio::select! {
            () = shared.shutdown.cancelled() => return,
            result = within(publish.query_async::<()>(&mut commands)) => result,
        };
        match result {
            Ok(()) => outage.succeeded(),
            Err(error) => {
                outage.failed(1, &error);
                if error.is_timeout() {
                    shared.renew_commands().await;
                }
            }
        }
    }
}
