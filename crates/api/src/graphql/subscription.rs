//! The subscription root: a conversation's, a run's or the tenant's realtime stream, with the
//! same events and the same `(stream, epoch, offset)` as `/ws` (`docs/realtime.md`). Each
//! subscription is its own subscriber of the realtime hub: first a `SUBSCRIBED` item says where
//! the stream stands and whether the resume from `since` worked (`recovered`), then one `EVENT`
//! item per event, in offset order, with neither gap nor duplicate.
//!
//! A client that falls behind (its hub outbox fills) gets an error `slow_consumer` and the
//! subscription ends: it subscribes again with `since` set to the last item it holds.

use std::collections::VecDeque;

use async_graphql::{
    Context, Enum, ErrorExtensions, ID, InputObject, Json, Result, SimpleObject, Subscription,
};
use futures::Stream;
use serde::Deserialize;
use switchboard_realtime::{Closed, Frame, Hub, Position, StreamKey, StreamName, Subscriber};

use super::query::caller;
use super::{api_error, engine_error, parse_id};
use crate::ApiError;

pub(crate) struct Subscription;

#[Subscription]
impl Subscription {
    /// A conversation's events: `message_created`, `message_status`, `message_deleted`,
    /// `conversation_updated`. Durable: a resume works across restarts.
    async fn conversation_events(
        &self,
        context: &Context<'_>,
        conversation_id: ID,
        since: Option<PositionInput>,
    ) -> Result<impl Stream<Item = Result<StreamEvent>> + use<>> {
        let id = parse_id("conversationId", &conversation_id)?;
        follow(context, StreamName::Conversation(id), since).await
    }

    /// A run's agent events: `agent_started`, `agent_thinking`, `tool_executing`,
    /// `tool_completed`, `agent_completed` (or `agent_failed`, `credits_exhausted`).
    async fn run_events(
        &self,
        context: &Context<'_>,
        run_id: ID,
        since: Option<PositionInput>,
    ) -> Result<impl Stream<Item = Result<StreamEvent>> + use<>> {
        let id = parse_id("runId", &run_id)?;
        follow(context, StreamName::Run(id), since).await
    }

    /// A copy of every conversation and run event of the tenant that the caller may see.
    async fn tenant_events(
        &self,
        context: &Context<'_>,
        since: Option<PositionInput>,
    ) -> Result<impl Stream<Item = Result<StreamEvent>> + use<>> {
        follow(context, StreamName::Tenant, since).await
    }
}

/// The last item a client holds of a stream: resume after it.
#[derive(InputObject)]
#[graphql(name = "StreamPosition")]
pub(crate) struct PositionInput {
    pub epoch: String,
    pub offset: u64,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StreamItemKind {
    /// Where the stream stands once the replay that follows is delivered.
    Subscribed,
    /// One event.
    Event,
}

/// One item of a followed stream.
#[derive(SimpleObject, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamEvent {
    #[serde(rename = "type")]
    pub kind: StreamItemKind,
    /// The stream's name (`conversation:<id>`, `run:<id>`, `tenant`).
    pub stream: String,
    pub epoch: String,
    /// The event's offset; on `SUBSCRIBED`, the offset the client stands at after the replay.
    pub offset: u64,
    /// On `SUBSCRIBED`: false when `since` could not be resumed (another epoch, pruned, or too
    /// far behind): reload what you show, then follow from `offset`.
    pub recovered: Option<bool>,
    /// On a merged `agent_thinking`: the first offset this item stands for.
    pub merged_from: Option<u64>,
    /// The event, as `/ws` sends it (`{"type": "message_created", "message": {…}}`).
    pub event: Option<Json<serde_json::Value>>,
}

/// Authorizes the stream as `/ws` does, subscribes a new hub subscriber to it, and streams
/// what the hub writes to that subscriber's outbox.
async fn follow(
    context: &Context<'_>,
    name: StreamName,
    since: Option<PositionInput>,
) -> Result<impl Stream<Item = Result<StreamEvent>> + use<>> {
    let (engine, caller) = caller(context)?;
    let filter = engine
        .authorize_stream(caller, &name)
        .await
        .map_err(engine_error)?;
    let hub = engine.hub().clone();
    let key = StreamKey {
        tenant_id: caller.tenant_id,
        name,
    };
    let since = since.map(|position| Position {
        epoch: position.epoch,
        offset: position.offset,
    });
    let following = Following {
        subscriber: hub.subscriber(),
        hub,
        key,
        queued: VecDeque::new(),
        ended: false,
    };
    if let Err(error) = following
        .hub
        .subscribe(&following.subscriber, following.key.clone(), since, filter)
        .await
    {
        return Err(api_error(ApiError::Unavailable(error.into())));
    }
    Ok(futures::stream::unfold(following, |mut following| async {
        let item = following.next().await?;
        Some((item, following))
    }))
}

/// One subscription's end of the hub; leaving the hub when dropped (the client completed the
/// operation or went away).
struct Following {
    hub: Hub,
    subscriber: Subscriber,
    key: StreamKey,
    queued: VecDeque<Frame>,
    ended: bool,
}

impl Following {
    async fn next(&mut self) -> Option<Result<StreamEvent>> {
        if self.ended {
            return None;
        }
        while self.queued.is_empty() {
            let mut batch = Vec::new();
            match self.subscriber.outbox.next_batch(&mut batch).await {
                Ok(()) => self.queued.extend(batch),
                Err(Closed::SlowConsumer) => {
                    self.ended = true;
                    return Some(Err(slow_consumer()));
                }
                Err(Closed::Shutdown) => return None,
            }
        }
        let frame = self.queued.pop_front()?;
        Some(
            serde_json::from_slice::<StreamEvent>(&frame.bytes).map_err(|error| {
                tracing::error!(%error, "a realtime frame did not read as a stream item");
                api_error(ApiError::Internal(error.into()))
            }),
        )
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.hub.unsubscribe(self.subscriber.id, &self.key);
    }
}

/// The end of a subscription whose client did not keep up.
fn slow_consumer() -> async_graphql::Error {
    async_graphql::Error::new(
        "slow consumer: subscribe again with `since` set to the last item you hold",
    )
    .extend_with(|_, extensions| extensions.set("code", "slow_consumer"))
}
