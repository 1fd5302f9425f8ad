//! Conversations and their participants and read markers, seen through the caller's eyes (their
//! unread counts).

use switchboard_core::{
    AgentId, Caller, ChannelId, ContactId, Conversation, ConversationId, ConversationType, Page,
    Participant, ParticipantId, ParticipantRole, Permission, UserId, ValidationError,
};
use switchboard_store::{
    ConversationFilter, ConversationUpdate, NewConversation, NewParticipant, StoreError,
};

use crate::{Engine, EngineError, PageRequest, require};

pub struct ConversationInput {
    pub channel_id: ChannelId,
    pub contact_id: Option<ContactId>,
    pub conversation_type: Option<ConversationType>,
    pub business_id: Option<String>,
    pub agent_id: Option<AgentId>,
}

/// Maps "no such row" for a referenced id onto a 422 naming the field.
fn missing_reference(field: &'static str) -> impl FnOnce(StoreError) -> EngineError {
    move |error| match error {
        StoreError::NotFound { .. } => {
            ValidationError::new(field, "no such record in this tenant").into()
        }
        other => other.into(),
    }
}

impl Engine {
    pub async fn create_conversation(
        &self,
        caller: &Caller,
        input: ConversationInput,
    ) -> Result<Conversation, EngineError> {
        require(caller, Permission::Converse)?;
        let conversation_type = input.conversation_type.unwrap_or(ConversationType::Direct);
        match (&input.business_id, conversation_type) {
            (Some(business_id), _) => {
                ValidationError::require_text("businessId", business_id, 200)?
            }
            (None, ConversationType::Business) => {
                return Err(ValidationError::new(
                    "businessId",
                    "is required for business conversations",
                )
                .into());
            }
            (None, _) => {}
        }
        if input.contact_id.is_none() && conversation_type != ConversationType::Group {
            return Err(
                ValidationError::new("contactId", "is required unless type is group").into(),
            );
        }
        self.store
            .get_channel(caller.tenant_id, input.channel_id)
            .await
            .map_err(missing_reference("channelId"))?;
        if let Some(contact_id) = input.contact_id {
            self.store
                .get_contact(caller.tenant_id, contact_id)
                .await
                .map_err(missing_reference("contactId"))?;
        }
        if let Some(agent_id) = input.agent_id {
            self.require_agent(caller, agent_id).await?;
        }
        let new = NewConversation {
            channel_id: input.channel_id,
            contact_id: input.contact_id,
            conversation_type,
            business_id: input.business_id,
            agent_id: input.agent_id,
        };
        Ok(self
            .store
            .create_conversation(caller.tenant_id, caller.user_id, new)
            .await?)
    }

    pub async fn get_conversation(
        &self,
        caller: &Caller,
        id: ConversationId,
    ) -> Result<Conversation, EngineError> {
        self.require_visible(caller, id).await?;
        Ok(self
            .store
            .get_conversation(caller.tenant_id, caller.user_id, id)
            .await?)
    }

    pub async fn list_conversations(
        &self,
        caller: &Caller,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, EngineError> {
        // Members list the conversations they take part in.
        let mut filter = filter.clone();
        if !caller.may(Permission::Read) {
            filter.participant = Some(caller.user_id);
        }
        Ok(self
            .store
            .list_conversations(caller.tenant_id, caller.user_id, &filter, page)
            .await?)
    }

    pub async fn update_conversation(
        &self,
        caller: &Caller,
        id: ConversationId,
        update: ConversationUpdate,
    ) -> Result<Conversation, EngineError> {
        require(caller, Permission::Converse)?;
        if let Some(business_id) = &update.business_id {
            ValidationError::require_text("businessId", business_id, 200)?;
        }
        if let Some(Some(agent_id)) = update.agent_id {
            self.require_agent(caller, agent_id).await?;
        }
        let (conversation, event) = self
            .store
            .update_conversation(caller.tenant_id, caller.user_id, id, update)
            .await?;
        self.publish_conversation_events(&[event]);
        Ok(conversation)
    }

    pub async fn list_participants(
        &self,
        caller: &Caller,
        id: ConversationId,
    ) -> Result<Vec<Participant>, EngineError> {
        self.require_visible(caller, id).await?;
        Ok(self.store.list_participants(caller.tenant_id, id).await?)
    }

    /// Everyone in each of the conversations `ids` the caller may see, read at once (in the
    /// order they joined). Conversations the caller may not see, or of another tenant, are
    /// left out rather than refused: each id is one the caller was already shown.
    pub async fn list_participants_of(
        &self,
        caller: &Caller,
        ids: &[ConversationId],
    ) -> Result<Vec<Participant>, EngineError> {
        // Members see the conversations they take part in, as `require_visible` lets them.
        let member = (!caller.may(Permission::Read)).then_some(caller.user_id);
        Ok(self
            .store
            .list_participants_of(caller.tenant_id, member, ids)
            .await?)
    }

    pub async fn add_participant(
        &self,
        caller: &Caller,
        id: ConversationId,
        participant: NewParticipant,
    ) -> Result<Participant, EngineError> {
        require(caller, Permission::Converse)?;
        let tenant = caller.tenant_id;
        match participant {
            NewParticipant::User(user, _) => {
                self.store
                    .get_user(tenant, user)
                    .await
                    .map_err(missing_reference("userId"))?;
            }
            NewParticipant::Contact(contact, _) => {
                self.store
                    .get_contact(tenant, contact)
                    .await
                    .map_err(missing_reference("contactId"))?;
            }
            NewParticipant::Agent(agent, _) => self.require_agent(caller, agent).await?,
        }
        self.store
            .add_participant(tenant, id, participant)
            .await
            .map_err(EngineError::conflict_as(
                "already a participant of this conversation",
            ))
    }

    pub async fn remove_participant(
        &self,
        caller: &Caller,
        id: ConversationId,
        participant_id: ParticipantId,
    ) -> Result<(), EngineError> {
        require(caller, Permission::Converse)?;
        Ok(self
            .store
            .remove_participant(caller.tenant_id, id, participant_id)
            .await?)
    }

    /// Moves the caller's read marker forward to `seq` (default: the newest message).
    pub async fn mark_read(
        &self,
        caller: &Caller,
        id: ConversationId,
        seq: Option<i64>,
    ) -> Result<Participant, EngineError> {
        self.require_visible(caller, id).await?;
        if seq.is_some_and(|seq| seq < 0) {
            return Err(ValidationError::new("seq", "must not be negative").into());
        }
        if !self.is_member(caller).await? {
            return Err(EngineError::Conflict(
                "read markers belong to the tenant's users; a platform admin acting here has none"
                    .into(),
            ));
        }
        Ok(self
            .store
            .mark_read(caller.tenant_id, id, caller.user_id, seq)
            .await?)
    }
}

/// Who joins a conversation: exactly one of a user, a contact or an agent, with a role (by
/// default an operator, a member and a bot respectively).
#[derive(Debug, Clone, Default)]
pub struct ParticipantInput {
    pub user_id: Option<UserId>,
    pub contact_id: Option<ContactId>,
    pub agent_id: Option<AgentId>,
    pub role: Option<ParticipantRole>,
}

impl ParticipantInput {
    pub fn into_new(self) -> Result<NewParticipant, ValidationError> {
        match (self.user_id, self.contact_id, self.agent_id) {
            (Some(user), None, None) => Ok(NewParticipant::User(
                user,
                self.role.unwrap_or(ParticipantRole::Operator),
            )),
            (None, Some(contact), None) => Ok(NewParticipant::Contact(
                contact,
                self.role.unwrap_or(ParticipantRole::Member),
            )),
            (None, None, Some(agent)) => Ok(NewParticipant::Agent(
                agent,
                self.role.unwrap_or(ParticipantRole::Bot),
            )),
            _ => Err(ValidationError::new(
                "userId",
                "give exactly one of userId, contactId, agentId",
            )),
        }
    }
}
