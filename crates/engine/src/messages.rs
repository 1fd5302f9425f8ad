//! Messages posted by operators and apps, listed by `seq`, searched, soft-deleted. A posted
//! message to a contact leaves through the conversation's channel: its delivery is queued in the
//! same transaction, on the conversation's outbound key, so it keeps its place among the agent's
//! replies.

use switchboard_core::{
    AuthorKind, Caller, ConversationId, Message, MessageDirection, MessageId, MessageStatus,
    MessageType, OrderingKey, Page, Permission, ValidationError,
};
use switchboard_store::{Delivery, MessageOrder, NewMessage, SearchHit, SearchQuery};

use crate::{Engine, EngineError, PageRequest, require};

/// Operators' messages go before queued bulk work of other conversations.
const OPERATOR_PRIORITY: u8 = 5;

/// An outbound message written by the caller.
pub struct MessageInput {
    pub text: Option<String>,
    pub message_type: Option<MessageType>,
    pub content: Option<serde_json::Value>,
    /// Makes the post safe to repeat: a second post with the same key in the conversation
    /// posts nothing and returns the first message.
    pub idempotency_key: Option<String>,
}

/// A posted message, and whether this post wrote it (`false`: its idempotency key had).
pub struct Posted {
    pub message: Message,
    pub created: bool,
}

impl Engine {
    /// Posts an outbound message as the caller. It is stored with the next `seq`; the caller's
    /// read marker moves to it. A repeated idempotency key returns the message it posted (and
    /// is a conflict if that message differs).
    pub async fn post_message(
        &self,
        caller: &Caller,
        conversation_id: ConversationId,
        input: MessageInput,
    ) -> Result<Posted, EngineError> {
        require(caller, Permission::Post)?;
        self.require_visible(caller, conversation_id).await?;
        let MessageInput {
            text,
            message_type,
            content,
            idempotency_key,
        } = input;
        let message_type = message_type.unwrap_or(MessageType::Text);
        match (&text, &content) {
            (Some(text), _) => {
                ValidationError::require_text("text", text, Message::MAX_TEXT_CHARS)?
            }
            (None, Some(content)) if content.is_object() => {}
            (None, Some(_)) => {
                return Err(ValidationError::new("content", "must be a JSON object").into());
            }
            (None, None) => {
                return Err(ValidationError::new("text", "text or content is required").into());
            }
        }
        if message_type == MessageType::Text && text.is_none() {
            return Err(ValidationError::new("text", "is required for text messages").into());
        }
        // What a repeated key must have posted before, to be the same message.
        let repeated = match &idempotency_key {
            Some(key) => {
                ValidationError::require_text("idempotencyKey", key, 200)?;
                Some((text.clone(), content.clone()))
            }
            None => None,
        };
        // A platform admin acting in a tenant they do not belong to writes as the system: they
        // are not one of its users, so they take no part and keep no read marker there.
        let author_kind = if self.is_member(caller).await? {
            AuthorKind::User
        } else {
            AuthorKind::System
        };
        let new = NewMessage {
            conversation_id,
            direction: MessageDirection::Outbound,
            author_kind,
            author_id: Some(caller.user_id.to_string()),
            message_type,
            text,
            content,
            provider_message_id: None,
            status: MessageStatus::Pending,
        };
        let conversation = self
            .store
            .get_conversation(caller.tenant_id, caller.user_id, conversation_id)
            .await?;
        // Without a contact there is nobody to send to; without a running pipeline (one-off
        // commands) nothing would send it.
        let queue = self
            .queue()
            .ok()
            .filter(|_| conversation.contact_id.is_some());
        let (appended, _) = match queue {
            Some(queue) => {
                let write = |registrar| {
                    let delivery = Delivery {
                        ordering_key: OrderingKey::conversation(conversation_id).outbound(),
                        priority: OPERATOR_PRIORITY,
                        registrar,
                    };
                    self.store.append_outbound(
                        caller.tenant_id,
                        new,
                        Some(delivery),
                        idempotency_key,
                    )
                };
                self.commit_queued(queue, write, |(appended, _)| appended.event.as_slice())
                    .await?
            }
            None => {
                let written = self
                    .store
                    .append_outbound(caller.tenant_id, new, None, idempotency_key)
                    .await?;
                self.publish_conversation_events(written.0.event.as_slice());
                written
            }
        };
        let message = appended.message;
        if !appended.created
            && repeated
                .is_some_and(|(text, content)| message.text != text || message.content != content)
        {
            return Err(EngineError::Conflict(
                "idempotencyKey was already used for a different message".into(),
            ));
        }
        Ok(Posted {
            message,
            created: appended.created,
        })
    }

    /// Whether the caller is a user of the tenant they act in (only platform admins may not be).
    pub(crate) async fn is_member(&self, caller: &Caller) -> Result<bool, EngineError> {
        if caller.role != switchboard_core::Role::PlatformAdmin {
            return Ok(true);
        }
        match self.store.get_user(caller.tenant_id, caller.user_id).await {
            Ok(_) => Ok(true),
            Err(switchboard_store::StoreError::NotFound { .. }) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    pub async fn get_message(
        &self,
        caller: &Caller,
        id: MessageId,
    ) -> Result<Message, EngineError> {
        require(caller, Permission::Read)?;
        Ok(self.store.get_message(caller.tenant_id, id).await?)
    }

    pub async fn list_messages(
        &self,
        caller: &Caller,
        conversation_id: ConversationId,
        order: MessageOrder,
        page: &PageRequest,
    ) -> Result<Page<Message>, EngineError> {
        self.require_visible(caller, conversation_id).await?;
        Ok(self
            .store
            .list_messages(caller.tenant_id, conversation_id, order, page)
            .await?)
    }

    pub async fn delete_message(
        &self,
        caller: &Caller,
        id: MessageId,
    ) -> Result<Message, EngineError> {
        require(caller, Permission::Converse)?;
        let (message, event) = self.store.delete_message(caller.tenant_id, id).await?;
        self.publish_conversation_events(&[event]);
        Ok(message)
    }

    /// Messages whose text contains every word of `text`, best match first.
    pub async fn search_messages(
        &self,
        caller: &Caller,
        text: &str,
        conversation_id: Option<ConversationId>,
        page: &PageRequest,
    ) -> Result<Page<SearchHit>, EngineError> {
        require(caller, Permission::Read)?;
        ValidationError::require_text("q", text, 500)?;
        let query = SearchQuery {
            text: text.to_owned(),
            conversation_id,
        };
        Ok(self
            .store
            .search_messages(caller.tenant_id, &query, page)
            .await?)
    }
}
