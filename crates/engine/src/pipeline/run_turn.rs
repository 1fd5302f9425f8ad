//! One agent turn: check credits, build the context, run the agent while streaming its events,
//! then commit reply + debit + delivery entry + run log + acknowledgement in one transaction.

use std::time::Instant;

use switchboard_agent::{AgentError, Context};
use switchboard_core::{
    AgentEvent, AuthorKind, Conversation, ConversationId, MessageDirection, MessageId,
    MessageStatus, MessageType, QueueEntry, RunId, RunStatus, TenantId, Timestamp, UserId,
};
use switchboard_queue::Outcome;
use switchboard_store::{NewMessage, RunRecord, StoreError, Turn, is_conversation_ordering_key};

use crate::Engine;

/// Conversations are read as no particular user (unread counts are irrelevant here).
pub(crate) const NOBODY: UserId = UserId::from_uuid(uuid::Uuid::nil());

/// Collects a run's events in order and publishes each one live as it happens, numbered as
/// the run log will number it.
struct RunLog<'a> {
    engine: &'a Engine,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    run_id: RunId,
    events: std::sync::Mutex<Vec<(AgentEvent, Timestamp)>>,
}

impl RunLog<'_> {
    fn emit(&self, event: AgentEvent) {
        // Numbering and publishing under the lock keeps the live order the logged order.
        let Ok(mut events) = self.events.lock() else {
            return;
        };
        let seq = u64::try_from(events.len()).unwrap_or(u64::MAX) + 1;
        self.engine.publish_run_event(
            self.tenant_id,
            self.conversation_id,
            self.run_id,
            seq,
            &event,
        );
        events.push((event, time::OffsetDateTime::now_utc()));
    }

    fn into_events(self) -> Vec<(AgentEvent, Timestamp)> {
        self.events.into_inner().unwrap_or_default()
    }
}

impl Engine {
    pub(crate) async fn run_turn(&self, entry: QueueEntry) -> Outcome {
        super::outcome(self.try_run_turn(&entry).await)
    }

    async fn try_run_turn(&self, entry: &QueueEntry) -> Result<Outcome, StoreError> {
        let tenant = entry.tenant_id;
        let store = &self.store;
        let message = store.get_message(tenant, entry.message_id).await?;
        let conversation = store
            .get_conversation(tenant, NOBODY, entry.conversation_id)
            .await?;
        let channel = store.get_channel(tenant, conversation.channel_id).await?;
        let started = Instant::now();
        let started_at = time::OffsetDateTime::now_utc();
        let run_id = RunId::new();
        let message_ids = vec![message.id];
        // Replies leave in the order of the key their messages ran in, on a key of their own so
        // the next run need not wait for the previous reply's send.
        let delivery_key = format!("outbound:{}", entry.ordering_key);
        let delivery_key_is_conversation = is_conversation_ordering_key(&entry.ordering_key);

        let Some(agent_id) = conversation.agent_id.or(channel.agent_id) else {
            // No agent answers this channel: the message is stored and acknowledged, no reply.
            let turn = Turn {
                run: RunRecord {
                    id: run_id,
                    conversation_id: conversation.id,
                    agent_id: None,
                    message_ids,
                    context_message_ids: Vec::new(),
                    status: RunStatus::Completed,
                    usage: None,
                    error: None,
                    started_at,
                    events: Vec::new(),
                },
                entry_id: entry.id,
                channel_id: channel.id,
                reply: None,
                cost: switchboard_core::Credits(0),
                delivery_key,
                delivery_key_is_conversation,
                priority: entry.priority,
            };
            return self.commit(tenant, turn).await;
        };
        let agent = store.get_agent(tenant, agent_id).await?;

        let balance = store.credit_balance(tenant).await?;
        if balance < agent.cost_per_run {
            return self
                .block_on_credits(
                    entry,
                    &conversation,
                    run_id,
                    agent.id,
                    balance.0,
                    agent.cost_per_run.0,
                )
                .await;
        }

        let log = RunLog {
            engine: self,
            tenant_id: tenant,
            conversation_id: conversation.id,
            run_id,
            events: std::sync::Mutex::new(Vec::new()),
        };
        log.emit(AgentEvent::AgentStarted {
            run_id,
            conversation_id: conversation.id,
            message_ids: message_ids.clone(),
        });
        let context = self.context(&conversation, &message).await?;
        let context_message_ids: Vec<_> =
            context.history.iter().map(|earlier| earlier.id).collect();
        let output = switchboard_agent::run(&agent, &context, &|event| log.emit(event)).await;
        let output = match output {
            Ok(output) => output,
            Err(error) => {
                let retryable = matches!(
                    error,
                    AgentError::Failed {
                        retryable: true,
                        ..
                    }
                );
                let (code, text) = match &error {
                    AgentError::Unsupported(_) => {
                        ("unsupported_agent".to_owned(), error.to_string())
                    }
                    AgentError::Failed { code, message, .. } => (code.clone(), message.clone()),
                };
                log.emit(AgentEvent::AgentFailed {
                    code,
                    message: text.clone(),
                    retryable,
                });
                let run = RunRecord {
                    id: run_id,
                    conversation_id: conversation.id,
                    agent_id: Some(agent.id),
                    message_ids,
                    context_message_ids: context_message_ids.clone(),
                    status: RunStatus::Failed,
                    usage: None,
                    error: Some(text.clone()),
                    started_at,
                    events: log.into_events(),
                };
                store.record_run(tenant, run, None).await?;
                return Ok(if retryable {
                    Outcome::Retry {
                        error: text,
                        after: None,
                    }
                } else {
                    Outcome::Dead { error: text }
                });
            }
        };

        let reply_id = MessageId::new();
        log.emit(AgentEvent::AgentCompleted {
            reply_message_id: reply_id,
            text: output.text.clone(),
            usage: output.usage,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        let reply = NewMessage {
            conversation_id: conversation.id,
            direction: MessageDirection::Outbound,
            author_kind: AuthorKind::Agent,
            author_id: Some(agent.id.to_string()),
            message_type: MessageType::Text,
            text: Some(output.text),
            content: None,
            provider_message_id: None,
            status: MessageStatus::Pending,
        };
        let turn = Turn {
            run: RunRecord {
                id: run_id,
                conversation_id: conversation.id,
                agent_id: Some(agent.id),
                message_ids,
                context_message_ids: context_message_ids.clone(),
                status: RunStatus::Completed,
                usage: Some(output.usage),
                error: None,
                started_at,
                events: log.into_events(),
            },
            entry_id: entry.id,
            channel_id: channel.id,
            reply: Some((reply_id, reply)),
            cost: agent.cost_per_run,
            delivery_key,
            delivery_key_is_conversation,
            priority: entry.priority,
        };
        self.commit(tenant, turn).await
    }

    /// Commits a turn, registering the reply's delivery with the queue in order.
    async fn commit(
        &self,
        tenant: switchboard_core::TenantId,
        turn: Turn,
    ) -> Result<Outcome, StoreError> {
        let Ok(queue) = self.queue() else {
            return Ok(Outcome::Retry {
                error: "pipeline stopped".into(),
                after: None,
            });
        };
        let enqueue = queue.enqueue();
        let result = self.store.commit_turn(tenant, turn, enqueue.hook()).await;
        enqueue.finish(result.is_ok());
        match result {
            Ok(committed) => {
                self.publish_conversation_events(&committed.events);
                Ok(Outcome::Done)
            }
            // The entry was acknowledged by an earlier commit or discarded: nothing left to do.
            Err(StoreError::NotFound {
                entity: "queue entry",
            }) => Ok(Outcome::Done),
            Err(StoreError::InsufficientCredits) => Ok(Outcome::Park),
            Err(error) => Err(error),
        }
    }

    /// Marks the message as waiting for credits, records why, and parks the conversation.
    async fn block_on_credits(
        &self,
        entry: &QueueEntry,
        conversation: &Conversation,
        run_id: RunId,
        agent_id: switchboard_core::AgentId,
        balance: i64,
        cost: i64,
    ) -> Result<Outcome, StoreError> {
        let event = AgentEvent::CreditsExhausted { balance, cost };
        self.publish_run_event(entry.tenant_id, conversation.id, run_id, 1, &event);
        let run = RunRecord {
            id: run_id,
            conversation_id: conversation.id,
            agent_id: Some(agent_id),
            message_ids: vec![entry.message_id],
            context_message_ids: Vec::new(),
            status: RunStatus::Blocked,
            usage: None,
            error: Some("credits exhausted".into()),
            started_at: time::OffsetDateTime::now_utc(),
            events: vec![(event, time::OffsetDateTime::now_utc())],
        };
        let events = self
            .store
            .record_run(entry.tenant_id, run, Some(MessageStatus::BlockedCredits))
            .await?;
        self.publish_conversation_events(&events);
        tracing::info!(tenant = %entry.tenant_id, balance, cost, "credits exhausted; conversation waits for a grant");
        Ok(Outcome::Park)
    }

    /// The messages before `message`, oldest first, up to the configured number.
    async fn context(
        &self,
        conversation: &Conversation,
        message: &switchboard_core::Message,
    ) -> Result<Context, StoreError> {
        let history = self
            .store
            .messages_before(
                conversation.tenant_id,
                conversation.id,
                message.seq,
                self.pipeline.config.context_messages,
            )
            .await?;
        Ok(Context {
            conversation_id: conversation.id,
            history,
            pending: vec![message.clone()],
        })
    }
}
