//! An agent as a voice pipeline's LLM (Vapi, Retell, LiveKit or Pipecat "custom LLM"): the
//! request's messages are the context, the agent answers with its own prompt, tools and
//! settings, its five events stream live, and its cost is debited once. A call id ties the run
//! to that call's conversation: the run is recorded there (`GET /api/v1/runs`), its events go on
//! the run's and the tenant's streams, and its tools act on that conversation. Without one the
//! run has no conversation (its context names a fresh id that no stored conversation has): its
//! events still go on the run's and the tenant's streams, seen by those who see every
//! conversation of the tenant; its built-in and MCP tools run, those that act on a conversation
//! (handoff, …) answer the model that they need one; only its debit is kept (the credit
//! ledger's `completion:<run id>`).

use std::sync::Mutex;

use switchboard_agent::Context;
use switchboard_agent::tools::NoHost;
use switchboard_core::{
    AgentEvent, AgentId, AuthorKind, CallId, Caller, ChannelId, ConversationId, Credits, Message,
    MessageDirection, MessageId, MessageStatus, MessageType, Permission, RunId, RunStatus,
    TenantId, Timestamp, Usage,
};
use switchboard_store::{CompletionRecord, RunRecord, StoreError, TurnEffects};

use crate::pipeline::TurnTools;
use crate::{Engine, EngineError, require};

/// Who says a line of the request's transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptRole {
    /// The pipeline's own instructions: the agent's prompt governs, so these are left out.
    System,
    /// The person on the call.
    User,
    /// The agent's earlier answers.
    Assistant,
}

/// One line of the transcript a voice pipeline sends.
#[derive(Debug, Clone)]
pub struct PromptMessage {
    pub role: PromptRole,
    pub content: String,
}

/// What a voice pipeline asks an agent.
#[derive(Debug, Clone, Default)]
pub struct CompletionRequest {
    pub messages: Vec<PromptMessage>,
    /// The call the run belongs to.
    pub call_id: Option<CallId>,
    /// The run's id, chosen by the caller (a streamed answer names it before the run ends).
    pub run_id: RunId,
}

/// The agent's answer.
#[derive(Debug, Clone)]
pub struct Completion {
    pub run_id: RunId,
    pub text: String,
    pub usage: Usage,
    pub credits: Credits,
}

/// Where a completion's run lives.
struct Subject {
    conversation_id: ConversationId,
    channel_id: ChannelId,
    /// False without a call: the ids are made up for the context and nothing is stored there.
    stored: bool,
}

impl Engine {
    /// Runs agent `agent_id` on `request` and answers its reply; `on_event` sees each agent
    /// event as it happens (to stream the answer), `AgentStarted` first once the agent, the
    /// call and the balance are checked. `InsufficientCredits` when the balance cannot pay a
    /// run.
    pub async fn complete_chat(
        &self,
        caller: &Caller,
        agent_id: AgentId,
        request: CompletionRequest,
        on_event: &(dyn Fn(&AgentEvent) + Send + Sync),
    ) -> Result<Completion, EngineError> {
        require(caller, Permission::Post)?;
        let tenant_id = caller.tenant_id;
        let agent = self.recent_agent(tenant_id, agent_id).await?;
        let subject = self.completion_subject(tenant_id, request.call_id).await?;
        let turn = match subject.stored {
            true => Some(
                self.store
                    .conversation_for_turn(tenant_id, subject.conversation_id)
                    .await?,
            ),
            false => None,
        };
        let balance = match &turn {
            Some(turn) => turn.balance,
            None => self.store.credit_balance(tenant_id).await?,
        };
        if balance < agent.cost_per_run {
            return Err(EngineError::InsufficientCredits(format!(
                "insufficient credits: the balance is {}, a run of this agent costs {}",
                balance.0, agent.cost_per_run.0
            )));
        }
        let settings =
            switchboard_agent::AgentSettings::from_config(&agent.config).unwrap_or_default();
        let run_id = request.run_id;
        let started_at = time::OffsetDateTime::now_utc();
        let context = prompt_context(tenant_id, &subject, run_id, &request.messages, started_at);
        let log = CompletionLog {
            engine: self,
            tenant_id,
            subject: &subject,
            run_id,
            on_event,
            events: Mutex::new(Vec::new()),
        };
        log.emit(AgentEvent::AgentStarted {
            run_id,
            conversation_id: subject.conversation_id,
            message_ids: context.pending_ids(),
        });
        let emit = |event| log.emit(event);
        let tools = turn.as_ref().map(|turn| TurnTools {
            engine: self,
            conversation: &turn.conversation,
            contact: turn.contact.clone(),
            effects: Mutex::default(),
        });
        let output = match &tools {
            Some(tools) => {
                self.pipeline
                    .runtime
                    .run(&agent, &context, tools, &emit)
                    .await
            }
            None => {
                self.pipeline
                    .runtime
                    .run(&agent, &context, &NoHost, &emit)
                    .await
            }
        };
        let output = match output {
            Ok(output) => output,
            Err(error) => {
                log.emit(AgentEvent::AgentFailed {
                    code: "agent_failed".into(),
                    message: error.to_string(),
                    retryable: error.is_retryable(),
                });
                let run = log.record(&agent.id, RunStatus::Failed, None, Some(error.to_string()));
                self.record_completion(
                    tenant_id,
                    &subject,
                    run,
                    TurnEffects::default(),
                    Credits(0),
                )
                .await?;
                return Err(EngineError::AgentFailed(error));
            }
        };
        let duration_ms =
            u64::try_from((time::OffsetDateTime::now_utc() - started_at).whole_milliseconds())
                .unwrap_or(0);
        log.emit(AgentEvent::AgentCompleted {
            reply_message_id: None,
            text: output.text.clone(),
            usage: output.usage,
            duration_ms,
        });
        let cost = Credits(
            agent
                .cost_per_run
                .0
                .saturating_add(settings.usage_credits(output.usage)),
        );
        let effects = tools.map(TurnTools::into_effects).unwrap_or_default();
        let run = log.record(&agent.id, RunStatus::Completed, Some(output.usage), None);
        self.record_completion(tenant_id, &subject, run, effects, cost)
            .await?;
        Ok(Completion {
            run_id,
            text: output.text,
            usage: output.usage,
            credits: cost,
        })
    }

    /// The call's conversation, or made-up ids for a run that belongs to none.
    async fn completion_subject(
        &self,
        tenant_id: TenantId,
        call_id: Option<CallId>,
    ) -> Result<Subject, EngineError> {
        let Some(call_id) = call_id else {
            return Ok(Subject {
                conversation_id: ConversationId::new(),
                channel_id: ChannelId::new(),
                stored: false,
            });
        };
        let call = self.store.get_call(tenant_id, call_id).await?;
        let conversation_id = call.conversation_id.ok_or_else(|| {
            EngineError::Conflict("the call was never dialled: it has no conversation yet".into())
        })?;
        Ok(Subject {
            conversation_id,
            channel_id: call.channel_id,
            stored: true,
        })
    }

    async fn record_completion(
        &self,
        tenant_id: TenantId,
        subject: &Subject,
        run: RunRecord,
        effects: TurnEffects,
        cost: Credits,
    ) -> Result<(), EngineError> {
        let record = CompletionRecord {
            tenant_id,
            run,
            conversation_id: subject.stored.then_some(subject.conversation_id),
            effects,
            cost,
        };
        let events = self
            .store
            .record_completion(record)
            .await
            .map_err(|error| match error {
                StoreError::InsufficientCredits => EngineError::InsufficientCredits(
                    "insufficient credits: the balance cannot pay for this run".into(),
                ),
                other => other.into(),
            })?;
        self.publish_conversation_events(&events);
        Ok(())
    }
}

/// The request's transcript as the messages of a conversation: the last lines from the user
/// are what the run answers, the lines before its history. System lines are left out.
fn prompt_context(
    tenant_id: TenantId,
    subject: &Subject,
    run_id: RunId,
    messages: &[PromptMessage],
    at: Timestamp,
) -> Context {
    let lines: Vec<Message> = messages
        .iter()
        .filter(|line| line.role != PromptRole::System)
        .enumerate()
        .map(|(index, line)| {
            let (direction, author_kind) = match line.role {
                PromptRole::Assistant => (MessageDirection::Outbound, AuthorKind::Agent),
                _ => (MessageDirection::Inbound, AuthorKind::Contact),
            };
            Message {
                id: MessageId::new(),
                tenant_id,
                conversation_id: subject.conversation_id,
                channel_id: subject.channel_id,
                seq: i64::try_from(index).unwrap_or(i64::MAX) + 1,
                direction,
                author_kind,
                author_id: None,
                message_type: MessageType::Text,
                text: Some(line.content.clone()),
                content: None,
                provider_message_id: None,
                status: MessageStatus::Delivered,
                created_at: at,
                deleted_at: None,
            }
        })
        .collect();
    let answered = lines
        .iter()
        .rev()
        .take_while(|line| line.direction == MessageDirection::Inbound)
        .count();
    let (history, pending) = lines.split_at(lines.len() - answered);
    Context {
        run_id,
        conversation_id: subject.conversation_id,
        contact: None,
        history: history.to_vec(),
        pending: pending.to_vec(),
    }
}

/// A completion's events: kept in order for its run record, handed to the caller, and published
/// on the run's and the tenant's streams. Without a call the event's conversation is the made-up
/// one, so the tenant stream shows it only to those who see every conversation.
struct CompletionLog<'a> {
    engine: &'a Engine,
    tenant_id: TenantId,
    subject: &'a Subject,
    run_id: RunId,
    on_event: &'a (dyn Fn(&AgentEvent) + Send + Sync),
    events: Mutex<Vec<(AgentEvent, Timestamp)>>,
}

impl CompletionLog<'_> {
    fn emit(&self, event: AgentEvent) {
        let Ok(mut events) = self.events.lock() else {
            return;
        };
        let seq = u64::try_from(events.len()).unwrap_or(u64::MAX) + 1;
        self.engine.publish_run_event(
            self.tenant_id,
            self.subject.conversation_id,
            self.run_id,
            seq,
            &event,
        );
        (self.on_event)(&event);
        events.push((event, time::OffsetDateTime::now_utc()));
    }

    fn record(
        &self,
        agent_id: &AgentId,
        status: RunStatus,
        usage: Option<Usage>,
        error: Option<String>,
    ) -> RunRecord {
        let events = self
            .events
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default();
        let started_at = events
            .first()
            .map_or_else(time::OffsetDateTime::now_utc, |(_, at)| *at);
        RunRecord {
            id: self.run_id,
            conversation_id: self.subject.conversation_id,
            agent_id: Some(*agent_id),
            message_ids: Vec::new(),
            context_message_ids: Vec::new(),
            status,
            usage,
            error,
            started_at,
            events,
        }
    }
}
