//! One agent turn: check credits, claim what the turn answers (one message, or a burst under
//! the agent's double-texting policy), build the context, run the agent while streaming its
//! events, then commit reply + debit + delivery entry + run log + tool effects + the
//! acknowledgement of every answered entry in one transaction. A conversation handed to a human
//! (`pending`) gets no agent reply: its messages are stored and acknowledged only.

use std::sync::Mutex;
use std::time::Instant;

use switchboard_agent::{AgentError, AgentSettings};
use switchboard_core::{
    AgentEvent, AgentId, AuthorKind, ChannelId, Conversation, ConversationId, ConversationStatus,
    Credits, MessageDirection, MessageId, MessageStatus, MessageType, QueueEntry, QueueEntryId,
    RunId, RunStatus, TenantId, Timestamp, Usage,
};
use switchboard_queue::Outcome;
use switchboard_store::{NewMessage, RunRecord, StoreError, Turn, TurnEffects, TurnSubject};

use super::turn_tools::TurnTools;
use crate::Engine;

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

/// What every record of one turn shares.
struct TurnScope<'a> {
    entry: &'a QueueEntry,
    conversation: &'a Conversation,
    channel_id: ChannelId,
    run_id: RunId,
    started_at: Timestamp,
    agent_id: Option<AgentId>,
    /// The inbound messages answered, oldest first.
    message_ids: Vec<MessageId>,
    /// Entries answered beside the leased one.
    followers: Vec<QueueEntryId>,
    context_message_ids: Vec<MessageId>,
}

impl TurnScope<'_> {
    fn record(
        &self,
        status: RunStatus,
        usage: Option<Usage>,
        error: Option<String>,
        events: Vec<(AgentEvent, Timestamp)>,
    ) -> RunRecord {
        RunRecord {
            id: self.run_id,
            conversation_id: self.conversation.id,
            agent_id: self.agent_id,
            message_ids: self.message_ids.clone(),
            context_message_ids: self.context_message_ids.clone(),
            status,
            usage,
            error,
            started_at: self.started_at,
            events,
        }
    }

    fn turn(
        &self,
        run: RunRecord,
        reply: Option<(MessageId, NewMessage)>,
        cost: Credits,
        effects: TurnEffects,
    ) -> Turn {
        // Replies leave in the order of the key their messages ran in, on a key of their own
        // so the next run need not wait for the previous reply's send.
        Turn {
            run,
            entry_id: self.entry.id,
            followers: self.followers.clone(),
            effects,
            channel_id: self.channel_id,
            reply,
            cost,
            delivery_key: self.entry.ordering_key.outbound(),
            delivery_key_is_conversation: self.entry.ordering_key.is_conversation(),
            priority: self.entry.priority,
        }
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Engine {
    pub(crate) async fn run_turn(&self, entry: QueueEntry) -> Outcome {
        super::outcome(self.try_run_turn(&entry).await)
    }

    async fn try_run_turn(&self, entry: &QueueEntry) -> Result<Outcome, StoreError> {
        let tenant = entry.tenant_id;
        let store = &self.store;
        let TurnSubject {
            conversation,
            balance,
            contact,
        } = store
            .conversation_for_turn(tenant, entry.conversation_id)
            .await?;
        let channel = self
            .recent_tenant_channel(tenant, conversation.channel_id)
            .await?;
        let started = Instant::now();
        let mut scope = TurnScope {
            entry,
            conversation: &conversation,
            channel_id: channel.id,
            run_id: RunId::new(),
            started_at: time::OffsetDateTime::now_utc(),
            agent_id: None,
            message_ids: vec![entry.message_id],
            followers: Vec::new(),
            context_message_ids: Vec::new(),
        };

        let agent_id = conversation.agent_id.or(channel.agent_id);
        let with_human = conversation.status == ConversationStatus::Pending;
        let (Some(agent_id), false) = (agent_id, with_human) else {
            // Nobody answers (no agent, or a human has the conversation): the message is
            // stored and acknowledged, with no reply.
            let record = scope.record(RunStatus::Completed, None, None, Vec::new());
            let turn = scope.turn(record, None, Credits(0), TurnEffects::default());
            return self.commit(tenant, turn).await;
        };
        let agent = self.recent_agent(tenant, agent_id).await?;
        scope.agent_id = Some(agent.id);

        if balance < agent.cost_per_run {
            return self
                .block_on_credits(
                    entry,
                    &conversation,
                    scope.run_id,
                    agent.id,
                    balance.0,
                    agent.cost_per_run.0,
                )
                .await;
        }

        // A configuration that no longer parses fails the run below with the reason.
        let settings = AgentSettings::from_config(&agent.config).unwrap_or_default();
        let claimed = self.claim_pending(entry, settings.double_texting).await;
        for follower in &claimed.followers {
            scope.message_ids.push(follower.message_id);
            scope.followers.push(follower.id);
        }

        let log = RunLog {
            engine: self,
            tenant_id: tenant,
            conversation_id: conversation.id,
            run_id: scope.run_id,
            events: std::sync::Mutex::new(Vec::new()),
        };
        log.emit(AgentEvent::AgentStarted {
            run_id: scope.run_id,
            conversation_id: conversation.id,
            message_ids: scope.message_ids.clone(),
        });
        let with_history = switchboard_agent::reads_history(agent.kind);
        let context = self
            .context(
                &conversation,
                contact,
                scope.run_id,
                &scope.message_ids,
                with_history,
            )
            .await?;
        scope.context_message_ids = context.history.iter().map(|earlier| earlier.id).collect();
        let tools = TurnTools {
            engine: self,
            conversation: &conversation,
            contact: context.contact.clone(),
            effects: Mutex::default(),
        };
        let emit = |event| log.emit(event);
        let run = self.pipeline.runtime.run(&agent, &context, &tools, &emit);
        let output = match &claimed.interrupted {
            Some(interrupted) => tokio::select! {
                biased;
                () = interrupted.cancelled() => None,
                output = run => Some(output),
            },
            None => Some(run.await),
        };
        let interrupted = claimed
            .interrupted
            .as_ref()
            .is_some_and(|token| token.is_cancelled());
        let output = match output {
            _ if interrupted => return self.interrupted(&scope, log).await,
            None => return self.interrupted(&scope, log).await,
            Some(Err(error)) => return self.failed(&scope, log, error).await,
            Some(Ok(output)) => output,
        };

        // An empty answer is the agent choosing silence: nothing is sent.
        let reply_id = (!output.text.trim().is_empty()).then(MessageId::new);
        log.emit(AgentEvent::AgentCompleted {
            reply_message_id: reply_id,
            text: output.text.clone(),
            usage: output.usage,
            duration_ms: elapsed_ms(started),
        });
        let reply = reply_id.map(|reply_id| {
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
            (reply_id, reply)
        });
        let cost = Credits(
            agent
                .cost_per_run
                .0
                .saturating_add(settings.usage_credits(output.usage)),
        );
        let record = scope.record(
            RunStatus::Completed,
            Some(output.usage),
            None,
            log.into_events(),
        );
        let turn = scope.turn(record, reply, cost, tools.into_effects());
        self.commit(tenant, turn).await
    }

    /// A newer message interrupted the run: record it, keep nothing it did, and run again at
    /// once (the new run claims every pending message).
    async fn interrupted(
        &self,
        scope: &TurnScope<'_>,
        log: RunLog<'_>,
    ) -> Result<Outcome, StoreError> {
        log.emit(AgentEvent::AgentFailed {
            code: "interrupted".into(),
            message: "a newer message arrived; the next run answers it too".into(),
            retryable: true,
        });
        let record = scope.record(
            RunStatus::Interrupted,
            None,
            Some("interrupted by a newer message".into()),
            log.into_events(),
        );
        self.store
            .record_run(scope.entry.tenant_id, record, None)
            .await?;
        Ok(Outcome::Rerun)
    }

    /// The agent failed: record why, then retry (honouring the provider's delay) or give up.
    async fn failed(
        &self,
        scope: &TurnScope<'_>,
        log: RunLog<'_>,
        error: AgentError,
    ) -> Result<Outcome, StoreError> {
        let retryable = error.is_retryable();
        let text = error.message();
        log.emit(AgentEvent::AgentFailed {
            code: error.code().to_owned(),
            message: text.clone(),
            retryable,
        });
        let record = scope.record(
            RunStatus::Failed,
            None,
            Some(text.clone()),
            log.into_events(),
        );
        self.store
            .record_run(scope.entry.tenant_id, record, None)
            .await?;
        Ok(if retryable {
            Outcome::Retry {
                after: error.retry_after(),
                error: text.into(),
            }
        } else {
            Outcome::Dead { error: text.into() }
        })
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
        let write = |registrar| self.store.commit_turn(tenant, turn, registrar);
        match self.commit_queued(queue, write, Vec::as_slice).await {
            Ok(_) => Ok(Outcome::Done),
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
        agent_id: AgentId,
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
}
