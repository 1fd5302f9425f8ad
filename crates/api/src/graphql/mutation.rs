//! The mutation root: the changes operators make, each one engine operation, as REST makes
//! them. `login` is the one field a request without credentials may ask for.

use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use switchboard_core::{ConversationStatus, ConversationType, Credits, MessageType, Role};
use switchboard_engine::{
    AgentInput, ApiKeyInput, ChannelInput, ContactInput, ConversationInput, ConversationUpdate,
    Engine, GrantInput, MessageInput, ParticipantInput,
};

use super::query::{Conversation, caller};
use super::types::{
    Agent, ApiKey, Channel, Contact, DeadLetter, LedgerEntry, Message, Participant, User,
};
use super::{engine_error, parse_id, parse_word};

pub(crate) struct Mutation;

/// A login: the tokens and who they are for.
#[derive(SimpleObject)]
pub(crate) struct Session {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user: User,
}

/// A new API key: `key` is shown this once.
#[derive(SimpleObject)]
pub(crate) struct IssuedApiKey {
    pub api_key: ApiKey,
    pub key: String,
}

/// A new channel; `signingSecret` is set, this once, when an API channel was given none.
#[derive(SimpleObject)]
pub(crate) struct CreatedChannel {
    pub channel: Channel,
    pub signing_secret: Option<String>,
}

/// A grant: its ledger entry, and whether it was new (`false`: an earlier grant with the same
/// idempotency key, returned as it was).
#[derive(SimpleObject)]
pub(crate) struct Grant {
    pub entry: LedgerEntry,
    pub created: bool,
}

#[Object]
impl Mutation {
    async fn login(
        &self,
        context: &Context<'_>,
        username: String,
        password: String,
    ) -> Result<Session> {
        let engine = context.data::<Engine>()?;
        let session = engine
            .login(&username, &password)
            .await
            .map_err(engine_error)?;
        Ok(Session {
            access_token: session.tokens.access_token,
            refresh_token: session.tokens.refresh_token,
            expires_in: session.tokens.expires_in,
            user: session.user.into(),
        })
    }

    async fn create_conversation(
        &self,
        context: &Context<'_>,
        channel_id: ID,
        contact_id: Option<ID>,
        #[graphql(name = "type")] conversation_type: Option<String>,
        business_id: Option<String>,
        agent_id: Option<ID>,
    ) -> Result<Conversation> {
        let (engine, caller) = caller(context)?;
        let input = ConversationInput {
            channel_id: parse_id("channelId", &channel_id)?,
            contact_id: contact_id
                .map(|id| parse_id("contactId", &id))
                .transpose()?,
            conversation_type: conversation_type
                .map(|word| parse_word::<ConversationType>("type", &word))
                .transpose()?,
            business_id,
            agent_id: agent_id.map(|id| parse_id("agentId", &id)).transpose()?,
        };
        let created = engine.create_conversation(caller, input).await;
        Ok(Conversation(created.map_err(engine_error)?))
    }

    /// Posts a message as the caller (an operator's message is sent to the contact).
    async fn send_message(
        &self,
        context: &Context<'_>,
        conversation_id: ID,
        text: Option<String>,
        #[graphql(name = "type")] message_type: Option<String>,
        content: Option<Json<serde_json::Value>>,
    ) -> Result<Message> {
        let (engine, caller) = caller(context)?;
        let input = MessageInput {
            text,
            message_type: message_type
                .map(|word| parse_word::<MessageType>("type", &word))
                .transpose()?,
            content: content.map(|content| content.0),
            idempotency_key: None,
        };
        let id = parse_id("conversationId", &conversation_id)?;
        let posted = engine.post_message(caller, id, input).await;
        Ok(posted.map_err(engine_error)?.message.into())
    }

    /// Moves the caller's read marker to `seq` (default: the latest message).
    async fn mark_read(
        &self,
        context: &Context<'_>,
        conversation_id: ID,
        seq: Option<i64>,
    ) -> Result<Participant> {
        let (engine, caller) = caller(context)?;
        let id = parse_id("conversationId", &conversation_id)?;
        let marked = engine.mark_read(caller, id, seq).await;
        Ok(marked.map_err(engine_error)?.into())
    }

    async fn set_conversation_status(
        &self,
        context: &Context<'_>,
        conversation_id: ID,
        status: String,
    ) -> Result<Conversation> {
        let (engine, caller) = caller(context)?;
        let update = ConversationUpdate {
            status: Some(parse_word::<ConversationStatus>("status", &status)?),
            ..ConversationUpdate::default()
        };
        let id = parse_id("conversationId", &conversation_id)?;
        let updated = engine.update_conversation(caller, id, update).await;
        Ok(Conversation(updated.map_err(engine_error)?))
    }

    /// Adds exactly one of a user, a contact or an agent.
    async fn add_participant(
        &self,
        context: &Context<'_>,
        conversation_id: ID,
        user_id: Option<ID>,
        contact_id: Option<ID>,
        agent_id: Option<ID>,
        role: Option<String>,
    ) -> Result<Participant> {
        let (engine, caller) = caller(context)?;
        let participant = ParticipantInput {
            user_id: user_id.map(|id| parse_id("userId", &id)).transpose()?,
            contact_id: contact_id
                .map(|id| parse_id("contactId", &id))
                .transpose()?,
            agent_id: agent_id.map(|id| parse_id("agentId", &id)).transpose()?,
            role: role.map(|word| parse_word("role", &word)).transpose()?,
        }
        .into_new()
        .map_err(|invalid| engine_error(invalid.into()))?;
        let id = parse_id("conversationId", &conversation_id)?;
        let added = engine.add_participant(caller, id, participant).await;
        Ok(added.map_err(engine_error)?.into())
    }

    /// Removes a participant; `true` once it is gone.
    async fn remove_participant(
        &self,
        context: &Context<'_>,
        conversation_id: ID,
        participant_id: ID,
    ) -> Result<bool> {
        let (engine, caller) = caller(context)?;
        let id = parse_id("conversationId", &conversation_id)?;
        let participant = parse_id("participantId", &participant_id)?;
        engine
            .remove_participant(caller, id, participant)
            .await
            .map_err(engine_error)?;
        Ok(true)
    }

    /// Hands the conversation to people (optionally to `assigneeId`): its agent stops answering.
    async fn hand_off(
        &self,
        context: &Context<'_>,
        conversation_id: ID,
        assignee_id: Option<ID>,
    ) -> Result<Conversation> {
        let (engine, caller) = caller(context)?;
        let id = parse_id("conversationId", &conversation_id)?;
        let assignee = assignee_id
            .map(|id| parse_id("assigneeId", &id))
            .transpose()?;
        let handed = engine.hand_off_conversation(caller, id, assignee).await;
        Ok(Conversation(handed.map_err(engine_error)?))
    }

    /// Gives the conversation back to its agent.
    async fn release(&self, context: &Context<'_>, conversation_id: ID) -> Result<Conversation> {
        let (engine, caller) = caller(context)?;
        let id = parse_id("conversationId", &conversation_id)?;
        let released = engine.release_conversation(caller, id).await;
        Ok(Conversation(released.map_err(engine_error)?))
    }

    async fn delete_message(&self, context: &Context<'_>, message_id: ID) -> Result<Message> {
        let (engine, caller) = caller(context)?;
        let deleted = engine
            .delete_message(caller, parse_id("messageId", &message_id)?)
            .await;
        Ok(deleted.map_err(engine_error)?.into())
    }

    async fn create_channel(
        &self,
        context: &Context<'_>,
        kind: String,
        name: String,
        agent_id: Option<ID>,
        config: Option<Json<serde_json::Value>>,
    ) -> Result<CreatedChannel> {
        let (engine, caller) = caller(context)?;
        let input = ChannelInput {
            kind: parse_word("kind", &kind)?,
            name,
            agent_id: agent_id.map(|id| parse_id("agentId", &id)).transpose()?,
            config: config.map_or_else(|| serde_json::json!({}), |config| config.0),
        };
        let created = engine
            .create_channel(caller, input)
            .await
            .map_err(engine_error)?;
        Ok(CreatedChannel {
            channel: created.channel.into(),
            signing_secret: created
                .generated_signing_secret
                .map(|secret| secret.expose().to_owned()),
        })
    }

    async fn create_agent(
        &self,
        context: &Context<'_>,
        name: String,
        kind: String,
        config: Option<Json<serde_json::Value>>,
        cost_per_run: Option<i64>,
    ) -> Result<Agent> {
        let (engine, caller) = caller(context)?;
        let input = AgentInput {
            name,
            kind: parse_word("kind", &kind)?,
            config: config.map(|config| config.0),
            cost_per_run: cost_per_run.map(Credits),
        };
        let created = engine.create_agent(caller, input).await;
        Ok(created.map_err(engine_error)?.into())
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "each is a GraphQL argument of the mutation"
    )]
    async fn create_contact(
        &self,
        context: &Context<'_>,
        name: Option<String>,
        phone: Option<String>,
        external_id: Option<String>,
        email: Option<String>,
        timezone: Option<String>,
        attributes: Option<Json<switchboard_core::Attributes>>,
    ) -> Result<Contact> {
        let (engine, caller) = caller(context)?;
        let input = ContactInput {
            name,
            phone,
            external_id,
            email,
            timezone,
            attributes: attributes.map(|attributes| attributes.0),
        };
        let created = engine.create_contact(caller, input).await;
        Ok(created.map_err(engine_error)?.into())
    }

    async fn create_api_key(
        &self,
        context: &Context<'_>,
        name: String,
        role: Option<String>,
    ) -> Result<IssuedApiKey> {
        let (engine, caller) = caller(context)?;
        let input = ApiKeyInput {
            name,
            role: role
                .map(|word| parse_word::<Role>("role", &word))
                .transpose()?,
        };
        let issued = engine
            .create_api_key(caller, input)
            .await
            .map_err(engine_error)?;
        Ok(IssuedApiKey {
            api_key: issued.api_key.into(),
            key: issued.key,
        })
    }

    /// Grants credits once per idempotency key.
    async fn grant_credits(
        &self,
        context: &Context<'_>,
        amount: i64,
        reason: String,
        idempotency_key: String,
    ) -> Result<Grant> {
        let (engine, caller) = caller(context)?;
        let input = GrantInput {
            amount: Credits(amount),
            reason,
            idempotency_key,
        };
        let (entry, created) = engine
            .grant_credits(caller, input)
            .await
            .map_err(engine_error)?;
        Ok(Grant {
            entry: entry.into(),
            created,
        })
    }

    /// Puts a dead letter back in its key with fresh attempts.
    async fn retry_dead_letter(&self, context: &Context<'_>, id: ID) -> Result<DeadLetter> {
        let (engine, caller) = caller(context)?;
        let retried = engine.retry_dead_letter(caller, parse_id("id", &id)?).await;
        Ok(retried.map_err(engine_error)?.into())
    }

    /// Drops a dead letter; `true` once it is gone.
    async fn discard_dead_letter(&self, context: &Context<'_>, id: ID) -> Result<bool> {
        let (engine, caller) = caller(context)?;
        engine
            .discard_dead_letter(caller, parse_id("id", &id)?)
            .await
            .map_err(engine_error)?;
        Ok(true)
    }
}
