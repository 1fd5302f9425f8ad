//! The fake WhatsApp Graph API the seeded channels send their replies to:
//! `POST /{phoneNumberId}/messages` with `{messaging_product, to, type: "text", text: {body}}`
//! and an `Idempotency-Key`, answered `{"messages":[{"id":"wamid…"}]}` like Graph does. Every
//! other path (an API channel's callback, say) gets `200 {}`.
//!
//! Each reply goes to the [`Checker`]; the end-to-end latency of the messages it answers goes to
//! the current run's aggregator. For self-tests a [`Fault`] can be injected: one reply dropped,
//! duplicated under a new key, or held back until after the same contact's next reply.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::checker::{Checker, Reply};
use crate::error::LoadtestError;
use crate::metrics::{Metric, SampleSink};

/// A deliberate mistake the fake provider makes, to prove the checker notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// Answer one reply 200 but forget it (a lost reply).
    Drop,
    /// Record one reply twice, the second time under a different idempotency key.
    Duplicate,
    /// Hold one reply back until the same recipient's next reply has been recorded.
    Reorder,
}

/// Which reply (1-based, in arrival order) the fault applies to.
#[derive(Debug, Clone, Copy)]
pub struct FaultPlan {
    pub fault: Fault,
    pub at: u64,
}

struct FaultState {
    plan: Option<FaultPlan>,
    held: Option<Reply>,
}

struct ProviderState {
    checker: Arc<Mutex<Checker>>,
    sink: Mutex<Option<SampleSink>>,
    fault: Mutex<FaultState>,
    received: Mutex<u64>,
}

/// The running fake provider; stops when dropped.
pub struct FakeProvider {
    address: SocketAddr,
    advertised: Option<String>,
    state: Arc<ProviderState>,
    server: JoinHandle<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeProvider {
    /// Listens on `listen` (`127.0.0.1:0` for any free port).
    pub async fn start(
        listen: &str,
        advertised: Option<String>,
        checker: Arc<Mutex<Checker>>,
        fault: Option<FaultPlan>,
    ) -> Result<FakeProvider, LoadtestError> {
        let provider_error = |source| LoadtestError::Provider {
            address: listen.to_owned(),
            source,
        };
        let address = tokio::net::lookup_host(listen)
            .await
            .map_err(provider_error)?
            .next()
            .ok_or_else(|| provider_error(std::io::ErrorKind::AddrNotAvailable.into()))?;
        let listener = listen_for_bursts(address).map_err(provider_error)?;
        let address = listener.local_addr().map_err(provider_error)?;
        let state = Arc::new(ProviderState {
            checker,
            sink: Mutex::new(None),
            fault: Mutex::new(FaultState {
                plan: fault,
                held: None,
            }),
            received: Mutex::new(0),
        });
        let router = Router::new()
            .route("/{phone_number_id}/messages", post(send_message))
            .fallback(|| async { axum::Json(json!({})) })
            .with_state(Arc::clone(&state));
        let server = tokio::spawn(async move {
            // A failed accept loop shows up as refused sends, i.e. as lost replies.
            let _ = axum::serve(listener, router).await;
        });
        Ok(FakeProvider {
            address,
            advertised,
            state,
            server,
        })
    }

    /// The base URL to put in a channel's `apiBaseUrl`.
    pub fn base_url(&self) -> String {
        self.advertised
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.address))
    }

    /// Where end-to-end latencies go from now on (`None`: nowhere).
    pub fn set_sink(&self, sink: Option<SampleSink>) {
        *lock(&self.state.sink) = sink;
    }

    /// Sends requests received so far.
    pub fn received(&self) -> u64 {
        *lock(&self.state.received)
    }

    /// Records a reply still held back by a `reorder` fault.
    pub fn release_held(&self) {
        let held = lock(&self.state.fault).held.take();
        if let Some(reply) = held {
            self.state.record(&reply);
        }
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ProviderState {
    fn record(&self, reply: &Reply) {
        let answered = lock(&self.checker).reply(reply);
        if answered.is_empty() {
            return;
        }
        let now = Instant::now();
        if let Some(sink) = lock(&self.sink).as_ref() {
            for scheduled in answered {
                sink.send(Metric::EndToEnd, scheduled, now, None);
            }
        }
    }

    /// Passes `reply` on to the checker, unless the planned fault says otherwise.
    fn deliver(&self, reply: Reply) {
        let number = {
            let mut received = lock(&self.received);
            *received += 1;
            *received
        };
        let mut fault = lock(&self.fault);
        if let Some(held) = fault.held.take_if(|held| held.to == reply.to) {
            drop(fault);
            self.record(&reply);
            self.record(&held);
            return;
        }
        match fault.plan {
            Some(plan) if plan.at == number => match plan.fault {
                Fault::Drop => {}
                Fault::Duplicate => {
                    drop(fault);
                    let copy = Reply {
                        idempotency_key: format!("{}#duplicate", reply.idempotency_key),
                        ..reply.clone()
                    };
                    self.record(&reply);
                    self.record(&copy);
                }
                Fault::Reorder => fault.held = Some(reply),
            },
            _ => {
                drop(fault);
                self.record(&reply);
            }
        }
    }
}

async fn send_message(
    State(state): State<Arc<ProviderState>>,
    Path(phone_number_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |pointer: &str| {
        parsed
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        // Without a key every send counts as new: duplicates then show as such.
        .unwrap_or_else(|| format!("missing-{}", rand::random::<u64>()));
    let to = text("/to");
    let wamid = format!("wamid.loadtest.{}", short_hash(&idempotency_key));
    state.deliver(Reply {
        idempotency_key,
        phone_number_id,
        to: to.clone(),
        text: text("/text/body"),
    });
    axum::Json(json!({"messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": wamid}]}))
}

/// The same key always gets the same message id, as Graph does for a retried send.
fn short_hash(key: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Listens with room for bursts: the server opens as many connections as it has replies in
/// flight, all at once, and with the usual backlog of 128 some of a thousand are dropped and
/// retried a second later.
pub(crate) fn listen_for_bursts(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(4096)
}
