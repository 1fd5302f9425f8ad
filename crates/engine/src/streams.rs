//! Realtime streams as the engine sees them: what each change publishes (conversation events
//! with their stored offsets, run events numbered as in the run log, and a copy of both on the
//! tenant's stream), where resumes read missed events (the store), and who may follow what.

use std::sync::Arc;

use switchboard_core::{AgentEvent, Caller, ConversationId, Permission, RunId, TenantId};
use switchboard_realtime::{
    Envelope, EventMeta, Filter, History, HistoryError, HistoryPage, StoredEvent, StreamKey,
    StreamName,
};
use switchboard_store::{Store, StoreError, StreamEvent};

use crate::{Engine, EngineError, require};

/// Replays durable streams from the store: conversation events, and run logs.
pub(crate) struct StoreHistory {
    pub store: Store,
}

#[async_trait::async_trait]
impl History for StoreHistory {
    async fn read(
        &self,
        key: &StreamKey,
        after: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, HistoryError> {
        let failed = |error: StoreError| HistoryError(Box::new(error));
        match &key.name {
            StreamName::Conversation(id) => {
                let limit = u32::try_from(limit).unwrap_or(u32::MAX);
                let page = self
                    .store
                    .conversation_events(key.tenant_id, *id, after, limit)
                    .await
                    .map_err(failed)?;
                let events = page
                    .events
                    .into_iter()
                    .map(|event| StoredEvent {
                        offset: event.offset,
                        event: event.payload.into(),
                        meta: EventMeta {
                            conversation_id: Some(*id),
                            ..EventMeta::default()
                        },
                    })
                    .collect();
                Ok(HistoryPage {
                    events,
                    head: page.head,
                })
            }
            StreamName::Run(id) => {
                let run = match self.store.get_run(key.tenant_id, *id).await {
                    Ok(run) => run,
                    Err(StoreError::NotFound { .. }) => return Ok(HistoryPage::default()),
                    Err(error) => return Err(failed(error)),
                };
                let head = u64::try_from(run.events.len()).unwrap_or_default();
                let after = after.unwrap_or(head);
                let events = run
                    .events
                    .iter()
                    .filter_map(|logged| {
                        let offset = u64::try_from(logged.seq).ok()?;
                        (offset > after).then(|| StoredEvent {
                            offset,
                            event: run_event_json(&logged.event).into(),
                            meta: run_event_meta(run.conversation_id, &logged.event),
                        })
                    })
                    .take(limit)
                    .collect();
                Ok(HistoryPage { events, head })
            }
            StreamName::Tenant | StreamName::Broadcast(_) => Ok(HistoryPage::default()),
        }
    }
}

fn run_event_json(event: &AgentEvent) -> String {
    serde_json::to_string(event).unwrap_or_else(|_| "{}".into())
}

fn run_event_meta(conversation_id: ConversationId, event: &AgentEvent) -> EventMeta {
    EventMeta {
        conversation_id: Some(conversation_id),
        delta: match event {
            AgentEvent::AgentThinking { delta } => Some(delta.as_str().into()),
            _ => None,
        },
        last: matches!(
            event,
            AgentEvent::AgentCompleted { .. }
                | AgentEvent::AgentFailed { .. }
                | AgentEvent::CreditsExhausted { .. }
        ),
    }
}

/// A copy of an event for the tenant's stream, saying where it comes from.
fn tenant_copy(
    tenant_id: TenantId,
    source: &StreamName,
    offset: u64,
    event: &str,
    meta: EventMeta,
) -> Envelope {
    Envelope {
        key: StreamKey {
            tenant_id,
            name: StreamName::Tenant,
        },
        offset: None,
        epoch: None,
        event: format!("{{\"stream\":\"{source}\",\"offset\":{offset},\"event\":{event}}}").into(),
        meta: EventMeta {
            conversation_id: meta.conversation_id,
            ..EventMeta::default()
        },
    }
}

impl Engine {
    /// Publishes committed conversation events on their streams and the tenant's.
    pub(crate) fn publish_conversation_events(&self, events: &[StreamEvent]) {
        for stored in events {
            let name = StreamName::Conversation(stored.conversation_id);
            let meta = EventMeta {
                conversation_id: Some(stored.conversation_id),
                ..EventMeta::default()
            };
            let hub = &self.pipeline.hub;
            hub.publish(tenant_copy(
                stored.tenant_id,
                &name,
                stored.offset,
                &stored.payload,
                meta.clone(),
            ));
            hub.publish(Envelope {
                key: StreamKey {
                    tenant_id: stored.tenant_id,
                    name,
                },
                offset: Some(stored.offset),
                epoch: None,
                event: stored.payload.as_str().into(),
                meta,
            });
        }
    }

    /// Publishes an event that lives on the tenant's stream only (imports, calls, campaigns),
    /// wrapped as the stream's other events are: its source (`import:<id>`) and the source's
    /// own offset.
    pub(crate) fn publish_to_tenant(
        &self,
        tenant_id: TenantId,
        source: &str,
        offset: u64,
        event: &serde_json::Value,
        conversation_id: Option<ConversationId>,
    ) {
        let wrapped = serde_json::json!({ "stream": source, "offset": offset, "event": event });
        self.pipeline.hub.publish(Envelope {
            key: StreamKey {
                tenant_id,
                name: StreamName::Tenant,
            },
            offset: None,
            epoch: None,
            event: wrapped.to_string().into(),
            meta: EventMeta {
                conversation_id,
                ..EventMeta::default()
            },
        });
    }

    /// Publishes a run's event number `seq` (as it will be numbered in the run log).
    pub(crate) fn publish_run_event(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        run_id: RunId,
        seq: u64,
        event: &AgentEvent,
    ) {
        let json = run_event_json(event);
        let meta = run_event_meta(conversation_id, event);
        let name = StreamName::Run(run_id);
        let hub = &self.pipeline.hub;
        hub.publish(tenant_copy(tenant_id, &name, seq, &json, meta.clone()));
        hub.publish(Envelope {
            key: StreamKey { tenant_id, name },
            offset: Some(seq),
            epoch: None,
            event: json.into(),
            meta,
        });
    }

    /// Checks that `caller` may follow `name`, and returns the filter for the events it may
    /// see there. Unknown (or other tenants') conversations and runs are `NotFound`.
    pub async fn authorize_stream(
        &self,
        caller: &Caller,
        name: &StreamName,
    ) -> Result<Option<Filter>, EngineError> {
        match name {
            StreamName::Conversation(id) => {
                self.require_existing_visible(caller, *id).await?;
                Ok(None)
            }
            StreamName::Run(id) => {
                let run = self.store.get_run(caller.tenant_id, *id).await;
                let conversation_id = match run {
                    Ok(run) => run.conversation_id,
                    // A run still in flight is not stored yet: its stream is open to callers
                    // who see the tenant's every conversation.
                    Err(StoreError::NotFound { .. }) if caller.may(Permission::Read) => {
                        return Ok(None);
                    }
                    Err(error) => return Err(error.into()),
                };
                self.require_visible(caller, conversation_id).await?;
                Ok(None)
            }
            StreamName::Tenant if caller.may(Permission::Read) => Ok(None),
            StreamName::Tenant => {
                let visible: std::collections::HashSet<ConversationId> = self
                    .store
                    .participating_conversations(caller.tenant_id, caller.user_id)
                    .await?
                    .into_iter()
                    .collect();
                let filter: Filter = Arc::new(move |frame| {
                    frame
                        .conversation_id()
                        .is_none_or(|id| visible.contains(&id))
                });
                Ok(Some(filter))
            }
            StreamName::Broadcast(_) => Ok(None),
        }
    }

    /// Publishes an app-defined event on a broadcast stream of the caller's tenant.
    pub fn publish_broadcast(
        &self,
        caller: &Caller,
        name: &StreamName,
        data: &serde_json::Value,
    ) -> Result<(), EngineError> {
        require(caller, Permission::Post)?;
        if !matches!(name, StreamName::Broadcast(_)) {
            return Err(EngineError::Forbidden(
                "only broadcast streams take publishes".into(),
            ));
        }
        let event =
            serde_json::json!({ "type": "broadcast", "data": data, "from": caller.user_id });
        self.pipeline.hub.publish(Envelope {
            key: StreamKey {
                tenant_id: caller.tenant_id,
                name: name.clone(),
            },
            offset: None,
            epoch: None,
            event: event.to_string().into(),
            meta: EventMeta::default(),
        });
        Ok(())
    }

    /// `NotFound` unless the caller may see the conversation. Staff see every conversation of
    /// their tenant, with no query (whether it exists is the operation's own check); members only
    /// those they take part in.
    pub(crate) async fn require_visible(
        &self,
        caller: &Caller,
        conversation_id: ConversationId,
    ) -> Result<(), EngineError> {
        if caller.may(Permission::Read) {
            return Ok(());
        }
        self.require_existing_visible(caller, conversation_id).await
    }

    /// `NotFound` unless the conversation exists in the caller's tenant and they may see it.
    async fn require_existing_visible(
        &self,
        caller: &Caller,
        conversation_id: ConversationId,
    ) -> Result<(), EngineError> {
        let participating = self
            .store
            .is_participant(caller.tenant_id, conversation_id, caller.user_id)
            .await?;
        if caller.may(Permission::Read) || participating {
            Ok(())
        } else {
            Err(StoreError::NotFound {
                entity: "conversation",
            }
            .into())
        }
    }
}
