//! Server-sent events for one conversation's or one run's stream, or the tenant's (every event
//! the caller may see, imports' progress among them): the same events, offsets and
//! resume as over WebSocket. Each event's `id` is `<epoch>:<offset>`; a reconnecting client
//! sends it back as `Last-Event-ID` (or `?since=`) and gets exactly what it missed.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use switchboard_api_types::ErrorBody;
use switchboard_core::{Caller, ConversationId, RunId};
use switchboard_realtime::{Frame, Hub, Position, StreamKey, StreamName, Subscriber};
use utoipa::IntoParams;

use crate::adapters::{Adapter, Connected};
use crate::auth::Auth;
use crate::extract::{Path, Query};
use crate::{ApiError, ApiState};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SseParams {
    /// Resume after this position, `<epoch>:<offset>` (as `Last-Event-ID`, which wins).
    since: Option<String>,
}

/// A conversation's events (messages, statuses), live, resumable with `Last-Event-ID`.
#[utoipa::path(get, path = "/conversations/{id}/events", tag = "conversations",
    params(("id" = ConversationId, Path), SseParams),
    responses((status = 200, description = "text/event-stream of the conversation's events"),
        (status = "4XX", body = ErrorBody)))]
pub(crate) async fn conversation_events(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<ConversationId>,
    Query(params): Query<SseParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    events(state, caller, StreamName::Conversation(id), headers, params).await
}

/// A run's agent events, live, resumable with `Last-Event-ID`.
#[utoipa::path(get, path = "/runs/{id}/events", tag = "runs",
    params(("id" = RunId, Path), SseParams),
    responses((status = 200, description = "text/event-stream of the run's events"),
        (status = "4XX", body = ErrorBody)))]
pub(crate) async fn run_events(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Path(id): Path<RunId>,
    Query(params): Query<SseParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    events(state, caller, StreamName::Run(id), headers, params).await
}

/// The tenant's stream, live: a copy of each conversation and run event the caller may see,
/// and imports' `import_progress` and `import_completed`.
#[utoipa::path(get, path = "/events", tag = "realtime", params(SseParams),
    responses((status = 200, description = "text/event-stream of the tenant's events"),
        (status = "4XX", body = ErrorBody)))]
pub(crate) async fn tenant_events(
    State(state): State<ApiState>,
    Auth(caller): Auth,
    Query(params): Query<SseParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    events(state, caller, StreamName::Tenant, headers, params).await
}

async fn events(
    state: ApiState,
    caller: Caller,
    name: StreamName,
    headers: HeaderMap,
    params: SseParams,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let since = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or(params.since)
        .map(|text| parse_position(&text))
        .transpose()?;
    let engine = &state.engine;
    let filter = engine.authorize_stream(&caller, &name).await?;
    let hub = engine.hub().clone();
    let subscriber = hub.subscriber();
    let key = StreamKey {
        tenant_id: caller.tenant_id,
        name,
    };
    hub.subscribe(&subscriber, key.clone(), since, filter)
        .await
        .map_err(|error| ApiError::Unavailable(Box::new(error)))?;
    let guard = Arc::new(Subscription {
        hub,
        subscriber,
        key,
        _connected: state.adapters.connected(Adapter::Sse),
    });
    let stream = futures::stream::unfold(
        (guard, Vec::<Frame>::new()),
        |(guard, mut batch)| async move {
            if batch.is_empty() {
                guard.subscriber.outbox.next_batch(&mut batch).await.ok()?;
                batch.reverse();
            }
            let frame = batch.pop()?;
            Some((Ok(sse_event(&frame)), (guard, batch)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Ends the hub subscription when the client goes away.
struct Subscription {
    hub: Hub,
    subscriber: Subscriber,
    key: StreamKey,
    /// Counts the stream as open while it lives.
    _connected: Connected,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(self.subscriber.id, &self.key);
    }
}

fn sse_event(frame: &Frame) -> Event {
    let data = String::from_utf8_lossy(&frame.bytes);
    let event = Event::default().data(data);
    if frame.is_event() {
        let epoch = frame.epoch().unwrap_or_default();
        event.id(format!("{epoch}:{}", frame.offset))
    } else {
        event.event("control")
    }
}

fn parse_position(text: &str) -> Result<Position, ApiError> {
    let bad = || ApiError::BadRequest("Last-Event-ID / since must be <epoch>:<offset>".into());
    let (epoch, offset) = text.rsplit_once(':').ok_or_else(bad)?;
    Ok(Position {
        epoch: epoch.to_owned(),
        offset: offset.parse().map_err(|_| bad())?,
    })
}
