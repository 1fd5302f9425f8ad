//! The query root: every REST resource, read through the same engine operations with the
//! caller's tenant and role, so another tenant's id is "not found" here as there. A
//! conversation's contact, channel and participants are read through the request's loaders,
//! for a whole list at once; its unread count and last message come with the list's page.

use async_graphql::{Context, ID, Json, Object, Result};
use switchboard_core::{Assignment, Caller, ConversationStatus, ConversationType};
use switchboard_engine::{ConversationFilter, Engine, MessageOrder};

use super::connection::{Connection, Pagination};
use super::loaders::{ParticipantsOf, load};
use super::types::{
    Agent, ApiKey, Channel, Contact, DeadLetter, LedgerEntry, Message, MessagePreview, Participant,
    Run, SearchHit, Tenant, User,
};
use super::{engine_error, parse_id, parse_word};

/// The engine and the caller a request runs with.
pub(crate) fn caller<'c>(context: &'c Context<'_>) -> Result<(&'c Engine, &'c Caller)> {
    Ok((context.data::<Engine>()?, context.data::<Caller>()?))
}

pub(crate) struct Query;

#[Object]
impl Query {
    /// The caller: their user in the tenant they act in.
    async fn me(&self, context: &Context<'_>) -> Result<User> {
        let (engine, caller) = caller(context)?;
        let user = engine.get_user(caller, caller.user_id).await;
        Ok(user.map_err(engine_error)?.into())
    }

    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn users(
        &self,
        context: &Context<'_>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<User>> {
        let (engine, caller) = caller(context)?;
        let page = engine
            .list_users(caller, &Pagination::request(pagination))
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            User::from,
        ))
    }

    /// Every tenant (platform admins only).
    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn tenants(
        &self,
        context: &Context<'_>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<Tenant>> {
        let (engine, caller) = caller(context)?;
        let page = engine
            .list_tenants(caller, &Pagination::request(pagination))
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            Tenant::from,
        ))
    }

    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn api_keys(
        &self,
        context: &Context<'_>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<ApiKey>> {
        let (engine, caller) = caller(context)?;
        let page = engine
            .list_api_keys(caller, &Pagination::request(pagination))
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            ApiKey::from,
        ))
    }

    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn channels(
        &self,
        context: &Context<'_>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<Channel>> {
        let (engine, caller) = caller(context)?;
        let page = engine
            .list_channels(caller, &Pagination::request(pagination))
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            Channel::from,
        ))
    }

    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn agents(
        &self,
        context: &Context<'_>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<Agent>> {
        let (engine, caller) = caller(context)?;
        let page = engine
            .list_agents(caller, &Pagination::request(pagination))
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            Agent::from,
        ))
    }

    /// Contacts, optionally only the one with this phone or external id.
    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn contacts(
        &self,
        context: &Context<'_>,
        phone: Option<String>,
        external_id: Option<String>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<Contact>> {
        let (engine, caller) = caller(context)?;
        let page = engine
            .list_contacts(
                caller,
                phone.as_deref(),
                external_id.as_deref(),
                &Pagination::request(pagination),
            )
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            Contact::from,
        ))
    }

    /// Conversations, newest activity first, filtered as REST's list is.
    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    #[expect(
        clippy::too_many_arguments,
        reason = "each is a GraphQL argument of the field"
    )]
    async fn conversations(
        &self,
        context: &Context<'_>,
        status: Option<String>,
        #[graphql(name = "type")] conversation_type: Option<String>,
        business_id: Option<String>,
        channel_id: Option<ID>,
        unread: Option<bool>,
        assigned: Option<String>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<Conversation>> {
        let (engine, caller) = caller(context)?;
        let filter = ConversationFilter {
            unread: unread.unwrap_or(false),
            assigned: assigned
                .map(|word| parse_word::<Assignment>("assigned", &word))
                .transpose()?,
            status: status
                .map(|word| parse_word::<ConversationStatus>("status", &word))
                .transpose()?,
            conversation_type: conversation_type
                .map(|word| parse_word::<ConversationType>("type", &word))
                .transpose()?,
            business_id,
            channel_id: channel_id
                .map(|id| parse_id("channelId", &id))
                .transpose()?,
            ..ConversationFilter::default()
        };
        let page = engine
            .list_conversations(caller, &filter, &Pagination::request(pagination))
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            Conversation,
        ))
    }

    async fn conversation(&self, context: &Context<'_>, id: ID) -> Result<Conversation> {
        let (engine, caller) = caller(context)?;
        let conversation = engine.get_conversation(caller, parse_id("id", &id)?).await;
        Ok(Conversation(conversation.map_err(engine_error)?))
    }

    /// Messages whose text has every word of `q` (quotes group a phrase), best first.
    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn search_messages(
        &self,
        context: &Context<'_>,
        q: String,
        conversation_id: Option<ID>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<SearchHit>> {
        let (engine, caller) = caller(context)?;
        let conversation_id = conversation_id
            .map(|id| parse_id("conversationId", &id))
            .transpose()?;
        let page = engine
            .search_messages(
                caller,
                &q,
                conversation_id,
                &Pagination::request(pagination),
            )
            .await;
        Ok(Connection::from_page(page.map_err(engine_error)?, |hit| {
            SearchHit {
                message: hit.message.into(),
                rank: hit.rank,
            }
        }))
    }

    /// A run with its events.
    async fn run(&self, context: &Context<'_>, id: ID) -> Result<Run> {
        let (engine, caller) = caller(context)?;
        let run = engine.get_run(caller, parse_id("id", &id)?).await;
        Ok(run.map_err(engine_error)?.into())
    }

    async fn credits(&self) -> Credits {
        Credits
    }

    /// Stored queue entries by state (every tenant's for platform admins), and this node's
    /// dispatcher for platform admins.
    async fn queue_stats(&self, context: &Context<'_>) -> Result<Json<serde_json::Value>> {
        let (engine, caller) = caller(context)?;
        let report = engine.queue_stats(caller).await.map_err(engine_error)?;
        Ok(Json(serde_json::to_value(report)?))
    }

    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn dead_letters(
        &self,
        context: &Context<'_>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<DeadLetter>> {
        let (engine, caller) = caller(context)?;
        let page = engine
            .list_dead_letters(caller, &Pagination::request(pagination))
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            DeadLetter::from,
        ))
    }
}

/// The tenant's credits: the balance and the ledger.
pub(crate) struct Credits;

#[Object]
impl Credits {
    async fn balance(&self, context: &Context<'_>) -> Result<i64> {
        let (engine, caller) = caller(context)?;
        Ok(engine.credit_balance(caller).await.map_err(engine_error)?.0)
    }

    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn ledger(
        &self,
        context: &Context<'_>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<LedgerEntry>> {
        let (engine, caller) = caller(context)?;
        let page = engine
            .list_ledger(caller, &Pagination::request(pagination))
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            LedgerEntry::from,
        ))
    }
}

/// A conversation, with your unread count and its last message, and what it holds.
pub(crate) struct Conversation(pub(crate) switchboard_core::Conversation);

#[Object]
impl Conversation {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn channel_id(&self) -> ID {
        ID(self.0.channel_id.to_string())
    }

    async fn contact_id(&self) -> Option<ID> {
        self.0.contact_id.map(|id| ID(id.to_string()))
    }

    /// Its contact, if it has one.
    async fn contact(&self, context: &Context<'_>) -> Result<Option<Contact>> {
        let Some(id) = self.0.contact_id else {
            return Ok(None);
        };
        Ok(load(context, id).await?.map(Contact::from))
    }

    /// The channel it runs on.
    async fn channel(&self, context: &Context<'_>) -> Result<Option<Channel>> {
        Ok(load(context, self.0.channel_id).await?.map(Channel::from))
    }

    #[graphql(name = "type")]
    async fn conversation_type(&self) -> String {
        super::types::word(&self.0.conversation_type)
    }

    async fn business_id(&self) -> Option<&str> {
        self.0.business_id.as_deref()
    }

    async fn status(&self) -> String {
        super::types::word(&self.0.status)
    }

    async fn agent_id(&self) -> Option<ID> {
        self.0.agent_id.map(|id| ID(id.to_string()))
    }

    async fn last_seq(&self) -> i64 {
        self.0.last_seq
    }

    async fn last_activity_at(&self) -> time::OffsetDateTime {
        self.0.last_activity_at
    }

    async fn created_at(&self) -> time::OffsetDateTime {
        self.0.created_at
    }

    async fn updated_at(&self) -> time::OffsetDateTime {
        self.0.updated_at
    }

    /// Messages after your read marker.
    async fn unread_count(&self) -> i64 {
        self.0.unread_count
    }

    async fn last_message(&self) -> Option<MessagePreview> {
        self.0.last_message.clone().map(MessagePreview::from)
    }

    /// Its messages, newest first.
    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn messages(
        &self,
        context: &Context<'_>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<Message>> {
        let (engine, caller) = caller(context)?;
        let page = engine
            .list_messages(
                caller,
                self.0.id,
                MessageOrder::Backward,
                &Pagination::request(pagination),
            )
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            Message::from,
        ))
    }

    /// Everyone in it, in the order they joined.
    async fn participants(&self, context: &Context<'_>) -> Result<Vec<Participant>> {
        let participants = load(context, ParticipantsOf(self.0.id)).await?;
        Ok(participants
            .unwrap_or_default()
            .into_iter()
            .map(Participant::from)
            .collect())
    }

    /// Its agents' runs, newest first.
    #[graphql(complexity = "Pagination::complexity(&pagination, child_complexity)")]
    async fn runs(
        &self,
        context: &Context<'_>,
        pagination: Option<Pagination>,
    ) -> Result<Connection<Run>> {
        let (engine, caller) = caller(context)?;
        let page = engine
            .list_runs(caller, Some(self.0.id), &Pagination::request(pagination))
            .await;
        Ok(Connection::from_page(
            page.map_err(engine_error)?,
            Run::from,
        ))
    }
}
