//! Per-request loaders: what a list asks of each of its items (a conversation's contact, its
//! channel, its participants) is read for the whole list at once, so a page of conversations
//! costs the same few statements whatever its size.
//!
//! Each request gets loaders of its own, reading as its caller (every read scoped to the
//! caller's tenant and role, as the one-at-a-time operations are) and dropped with it: nothing
//! is cached beyond the request. A resolver asks with [`load`]; the keys asked for meanwhile
//! are read together. The reads run in the request's own task, and start only once the
//! resolvers stall, waiting on nothing but reads and I/O ([`execute`]): every key a list's items
//! ask for is in one batch however long the list takes to resolve and however often it yields
//! on the way, where a timer would split a slow list in two.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::hash::Hash;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{self, Poll, Wake, Waker};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Request, Response};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::task::AtomicWaker;
use switchboard_core::{
    Caller, Channel, ChannelId, Contact, ContactId, ConversationId, Participant,
};
use switchboard_engine::Engine;
use tokio::sync::mpsc;

use super::{Graphql, engine_error};

/// Runs `request` with loaders reading as `caller`, and runs their reads beside it, in this
/// task, until the response is ready.
pub(crate) async fn execute(
    graphql: &Graphql,
    request: Request,
    engine: &Engine,
    caller: Caller,
) -> Response {
    let (reads_tx, mut reads_rx) = mpsc::unbounded_channel::<BoxFuture<'static, ()>>();
    let reads = Reads {
        engine: engine.clone(),
        caller,
    };
    // A batch is handed over rather than spawned, and waits no time of its own: it starts when
    // the resolvers stall (below).
    let loader = DataLoader::new(reads, move |read| {
        // Fails only once the response is ready, when nobody waits for the read.
        let _ = reads_tx.send(read);
    })
    .delay(Duration::ZERO);
    let mut execution = pin!(graphql.execute(request.data(loader)));
    let mut running = FuturesUnordered::new();
    let stall = Arc::new(Stall::default());
    let waker = Waker::from(Arc::clone(&stall));
    poll_fn(|cx| {
        stall.watch(cx.waker());
        if let Poll::Ready(response) = execution
            .as_mut()
            .poll(&mut task::Context::from_waker(&waker))
        {
            return Poll::Ready(response);
        }
        if stall.woken() {
            // The resolvers can go further (a list yields every few items): they go first.
            return Poll::Pending;
        }
        while let Poll::Ready(Some(read)) = reads_rx.poll_recv(cx) {
            running.push(read);
        }
        // A read that finishes wakes the resolvers waiting on it.
        while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
        Poll::Pending
    })
    .await
}

/// Tells whether the resolvers woke themselves while polled: they stall when they return
/// without doing so, waiting on nothing but reads and I/O.
#[derive(Default)]
struct Stall {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Stall {
    /// About to poll the resolvers on behalf of the task `task`.
    fn watch(&self, task: &Waker) {
        self.task.register(task);
        self.woken.store(false, Ordering::SeqCst);
    }

    /// Whether anything woke the resolvers since [`Stall::watch`].
    fn woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }
}

impl Wake for Stall {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.task.wake();
    }
}

/// What `key` names, read together with the other keys of its kind the request asks for
/// meanwhile; `None` if the caller has nothing by that key. In a request run without loaders
/// (not through [`execute`]), the key is read alone.
pub(crate) async fn load<K>(
    context: &Context<'_>,
    key: K,
) -> async_graphql::Result<Option<<Reads as Loader<K>>::Value>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    Reads: Loader<K, Error = async_graphql::Error>,
{
    if let Some(loader) = context.data_opt::<DataLoader<Reads>>() {
        return loader.load_one(key).await;
    }
    let (engine, caller) = super::query::caller(context)?;
    let reads = Reads {
        engine: engine.clone(),
        caller: caller.clone(),
    };
    Ok(reads.load(std::slice::from_ref(&key)).await?.remove(&key))
}

/// A conversation's participants, as a key to [`load`] them by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ParticipantsOf(pub ConversationId);

/// What a request's loaders read with: the engine, as the request's caller.
pub(crate) struct Reads {
    engine: Engine,
    caller: Caller,
}

impl Loader<ContactId> for Reads {
    type Value = Contact;
    type Error = async_graphql::Error;

    async fn load(&self, ids: &[ContactId]) -> Result<HashMap<ContactId, Contact>, Self::Error> {
        let contacts = self.engine.get_contacts(&self.caller, ids).await;
        let contacts = contacts.map_err(engine_error)?.into_iter();
        Ok(contacts.map(|contact| (contact.id, contact)).collect())
    }
}

impl Loader<ChannelId> for Reads {
    type Value = Channel;
    type Error = async_graphql::Error;

    async fn load(&self, ids: &[ChannelId]) -> Result<HashMap<ChannelId, Channel>, Self::Error> {
        let channels = self.engine.get_channels(&self.caller, ids).await;
        let channels = channels.map_err(engine_error)?.into_iter();
        Ok(channels.map(|channel| (channel.id, channel)).collect())
    }
}

impl Loader<ParticipantsOf> for Reads {
    type Value = Vec<Participant>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[ParticipantsOf],
    ) -> Result<HashMap<ParticipantsOf, Vec<Participant>>, Self::Error> {
        let ids: Vec<ConversationId> = keys.iter().map(|key| key.0).collect();
        let participants = self.engine.list_participants_of(&self.caller, &ids).await;
        let mut by_conversation: HashMap<_, Vec<_>> =
            keys.iter().map(|&key| (key, Vec::new())).collect();
        for participant in participants.map_err(engine_error)? {
            let key = ParticipantsOf(participant.conversation_id);
            by_conversation.entry(key).or_default().push(participant);
        }
        Ok(by_conversation)
    }
}
