//! Human handoff: an operator (or the agent's `handoff_to_human` tool) sets a conversation
//! `pending`, optionally assigning it to a user who joins as its operator (or, if they only
//! observed it, becomes one). While it is pending
//! the agent stays silent — inbound messages are stored and acknowledged without a run reply —
//! and operators answer with `post_message`, whose messages leave through the channel like the
//! agent's replies. Releasing it (`open`) gives it back to the agent for the next message.

use switchboard_core::{
    Caller, Conversation, ConversationId, ConversationStatus, Permission, UserId,
};
use switchboard_store::{ConversationUpdate, StoreError};

use crate::{Engine, EngineError, require};

impl Engine {
    /// Hands the conversation to humans: `pending`, with `assignee` (if any) as an operator.
    pub async fn hand_off_conversation(
        &self,
        caller: &Caller,
        id: ConversationId,
        assignee: Option<UserId>,
    ) -> Result<Conversation, EngineError> {
        require(caller, Permission::Converse)?;
        let tenant = caller.tenant_id;
        if let Some(user) = assignee {
            self.store
                .get_user(tenant, user)
                .await
                .map_err(|error| match error {
                    StoreError::NotFound { .. } => switchboard_core::ValidationError::new(
                        "assigneeId",
                        "no such user in this tenant",
                    )
                    .into(),
                    other => EngineError::from(other),
                })?;
        }
        let conversation = self
            .set_status(caller, id, ConversationStatus::Pending)
            .await?;
        if let Some(user) = assignee {
            self.store.assign_operator(tenant, id, user).await?;
        }
        Ok(conversation)
    }

    /// Gives the conversation back to its agent (`open`).
    pub async fn release_conversation(
        &self,
        caller: &Caller,
        id: ConversationId,
    ) -> Result<Conversation, EngineError> {
        require(caller, Permission::Converse)?;
        self.set_status(caller, id, ConversationStatus::Open).await
    }

    async fn set_status(
        &self,
        caller: &Caller,
        id: ConversationId,
        status: ConversationStatus,
    ) -> Result<Conversation, EngineError> {
        let update = ConversationUpdate {
            status: Some(status),
            ..ConversationUpdate::default()
        };
        self.update_conversation(caller, id, update).await
    }
}
