//! Conversations, listed newest activity first with the caller's unread count and a preview of
//! the last message, all from one indexed query (the read marker and the last message are joined
//! by key, so a page costs the same whatever the conversation sizes).

use std::sync::LazyLock;

use switchboard_core::{
    AgentId, Assignment, ChannelId, Contact, ContactId, Conversation, ConversationEvent,
    ConversationId, ConversationStatus, ConversationType, Credits, MessagePreview, Page,
    ParticipantKind, ParticipantRole, TenantId, Timestamp, UserId,
};

use crate::contacts::{JOINED_CONTACT_COLUMNS, joined_contact};
use crate::conversation_events::{StreamEvent, append_event};
use crate::{PageRequest, Store, StoreError};
use switchboard_database::{Db, Row, query};
use switchboard_database::{RowExt, millis, now};

/// The conversation row's own columns (`c`).
macro_rules! own_columns {
    () => {
        "c.id, c.tenant_id, c.channel_id, c.contact_id, c.type,
        c.business_id, c.status, c.agent_id, c.last_seq, c.last_message_id, c.last_activity_at,
        c.created_at, c.updated_at"
    };
}

/// The conversation row (`c`), the viewer's read marker (`p`) and the last message's preview
/// columns (`m`), joined by [`JOINS`].
pub(crate) const COLUMNS: &str = concat!(
    own_columns!(),
    ", COALESCE(p.last_read_seq, 0) AS last_read_seq,
        m.seq AS preview_seq, m.direction AS preview_direction,
        m.author_kind AS preview_author_kind, substr(m.text, 1, 140) AS preview_text,
        m.created_at AS preview_created_at, m.deleted_at AS preview_deleted_at"
);

/// The read marker and the last message of the conversation `c`, `$2` being the viewing user.
pub(crate) const JOINS: &str =
    "LEFT JOIN participants p ON p.conversation_id = c.id AND p.user_id = $2
    LEFT JOIN messages m ON m.id = c.last_message_id";

/// Conversations with [`COLUMNS`]: `$1` is the tenant and `$2` the viewing user.
static SELECT: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {COLUMNS} FROM conversations c {JOINS} WHERE c.tenant_id = $1")
});

/// What a turn starts from ([`TurnSubject`]): the conversation row with no read marker and no
/// preview (a turn uses neither, and each is a lookup of its own), the tenant's balance and the
/// contact, from `c` joined by [`TURN_JOINS`].
pub(crate) static TURN_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}, CAST(0 AS BIGINT) AS last_read_seq, CAST(NULL AS BIGINT) AS preview_seq,
            CAST(NULL AS TEXT) AS preview_direction, CAST(NULL AS TEXT) AS preview_author_kind,
            CAST(NULL AS TEXT) AS preview_text, CAST(NULL AS BIGINT) AS preview_created_at,
            CAST(NULL AS BIGINT) AS preview_deleted_at, tenant.credit_balance,
            {JOINED_CONTACT_COLUMNS}",
        own_columns!()
    )
});

/// The tenant and the contact of the conversation `c`.
pub(crate) const TURN_JOINS: &str = "JOIN tenants tenant ON tenant.id = c.tenant_id
    LEFT JOIN contacts contact ON contact.tenant_id = c.tenant_id AND contact.id = c.contact_id";

/// A row with [`TURN_COLUMNS`].
pub(crate) fn turn_subject_from_row(row: &Row) -> Result<TurnSubject, StoreError> {
    Ok(TurnSubject {
        conversation: conversation_from_row(row)?,
        balance: Credits(row.integer("credit_balance")?),
        contact: joined_contact(row)?,
    })
}

/// What an agent's turn starts from ([`Store::conversation_for_turn`]).
#[derive(Debug, Clone)]
pub struct TurnSubject {
    /// The conversation, without its preview (`last_message` is `None`) and as nobody in
    /// particular sees it (every message unread).
    pub conversation: Conversation,
    /// The tenant's credit balance.
    pub balance: Credits,
    /// The conversation's contact, if it has one (and it still exists).
    pub contact: Option<Contact>,
}

pub struct NewConversation {
    pub channel_id: ChannelId,
    pub contact_id: Option<ContactId>,
    pub conversation_type: ConversationType,
    pub business_id: Option<String>,
    pub agent_id: Option<AgentId>,
}

/// Changes to a conversation; `None` leaves a field as it is.
#[derive(Default)]
pub struct ConversationUpdate {
    pub status: Option<ConversationStatus>,
    pub agent_id: Option<Option<AgentId>>,
    pub business_id: Option<String>,
}

/// Narrows a conversation list; every field set must match.
#[derive(Debug, Default, Clone)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub channel_id: Option<ChannelId>,
    pub contact_id: Option<ContactId>,
    pub conversation_type: Option<ConversationType>,
    pub business_id: Option<String>,
    /// Only conversations changed at or after this instant.
    pub updated_since: Option<Timestamp>,
    /// Only conversations this user takes part in.
    pub participant: Option<UserId>,
    /// Only conversations with messages the viewer has not read.
    pub unread: bool,
    /// Only conversations the viewer operates (`Me`), or no one does (`Nobody`).
    pub assigned: Option<Assignment>,
}

fn conversation_from_row(row: &Row) -> Result<Conversation, StoreError> {
    let last_seq = row.integer("last_seq")?;
    let last_message_id = row.optional_parsed("last_message_id")?;
    let last_message = match (last_message_id, row.optional_integer("preview_seq")?) {
        (Some(id), Some(seq)) => {
            let deleted = row.optional_integer("preview_deleted_at")?.is_some();
            Some(MessagePreview {
                id,
                seq,
                direction: row.parsed("preview_direction")?,
                author_kind: row.parsed("preview_author_kind")?,
                text: if deleted {
                    None
                } else {
                    row.optional_text("preview_text")?
                },
                created_at: row.time("preview_created_at")?,
            })
        }
        _ => None,
    };
    Ok(Conversation {
        id: row.parsed("id")?,
        tenant_id: row.parsed("tenant_id")?,
        channel_id: row.parsed("channel_id")?,
        contact_id: row.optional_parsed("contact_id")?,
        conversation_type: row.parsed("type")?,
        business_id: row.optional_text("business_id")?,
        status: row.parsed("status")?,
        agent_id: row.optional_parsed("agent_id")?,
        last_seq,
        last_message_id,
        last_activity_at: row.time("last_activity_at")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        unread_count: (last_seq - row.integer("last_read_seq")?).max(0),
        last_message,
    })
}

impl Store {
    /// Opens a conversation; its contact, if any, joins as a member in the same transaction.
    pub async fn create_conversation(
        &self,
        tenant_id: TenantId,
        viewer: UserId,
        new: NewConversation,
    ) -> Result<Conversation, StoreError> {
        let id = ConversationId::new();
        self.write(move |connection| Box::pin(insert_conversation(connection, tenant_id, id, new)))
            .await?;
        self.get_conversation(tenant_id, viewer, id).await
    }

    /// One conversation as `viewer` sees it (their unread count).
    pub async fn get_conversation(
        &self,
        tenant_id: TenantId,
        viewer: UserId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError> {
        let row = query(format!("{} AND c.id = $3", *SELECT))
            .bind(tenant_id.to_string())
            .bind(viewer.to_string())
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::not_found("conversation"))?;
        conversation_from_row(&row)
    }

    /// Conversations newest activity first, as `viewer` sees them.
    pub async fn list_conversations(
        &self,
        tenant_id: TenantId,
        viewer: UserId,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let (before_activity, before_id) = match page.position()? {
            Some(position) => {
                let (millis, id) = position.split_once('/').ok_or(StoreError::InvalidCursor)?;
                (
                    millis
                        .parse::<i64>()
                        .map_err(|_| StoreError::InvalidCursor)?,
                    id.to_owned(),
                )
            }
            None => (i64::MAX, String::new()),
        };
        let rows = query(format!(
            "{}
               AND (c.last_activity_at < $3 OR (c.last_activity_at = $3 AND ($4 = '' OR c.id < $4)))
               AND ($5 IS NULL OR c.status = $5)
               AND ($6 IS NULL OR c.channel_id = $6)
               AND ($7 IS NULL OR c.contact_id = $7)
               AND ($8 IS NULL OR c.type = $8)
               AND ($9 IS NULL OR c.business_id = $9)
               AND ($10 IS NULL OR c.updated_at >= $10)
               AND ($12 IS NULL OR EXISTS (SELECT 1 FROM participants member
                    WHERE member.conversation_id = c.id AND member.user_id = $12))
               AND ($13 = 0 OR c.last_seq > COALESCE(p.last_read_seq, 0))
               AND ($14 IS NULL OR ($14 = 'me' AND p.role = 'operator')
                    OR ($14 = 'nobody' AND NOT EXISTS (SELECT 1 FROM participants operator
                        WHERE operator.conversation_id = c.id AND operator.role = 'operator')))
             ORDER BY c.last_activity_at DESC, c.id DESC
             LIMIT $11",
            *SELECT
        ))
        .bind(tenant_id.to_string())
        .bind(viewer.to_string())
        .bind(before_activity)
        .bind(before_id)
        .bind(filter.status.map(|status| status.as_str()))
        .bind(filter.channel_id.map(|id| id.to_string()))
        .bind(filter.contact_id.map(|id| id.to_string()))
        .bind(filter.conversation_type.map(|kind| kind.as_str()))
        .bind(filter.business_id.clone())
        .bind(filter.updated_since.map(millis))
        .bind(page.limit() + 1)
        .bind(filter.participant.map(|user| user.to_string()))
        .bind(i64::from(filter.unread))
        .bind(filter.assigned.map(|assignment| assignment.as_str()))
        .fetch_all(self.reader())
        .await?;
        let conversations = rows
            .iter()
            .map(conversation_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page.finish(conversations, |conversation| {
            format!(
                "{}/{}",
                millis(conversation.last_activity_at),
                conversation.id
            )
        }))
    }

    pub async fn update_conversation(
        &self,
        tenant_id: TenantId,
        viewer: UserId,
        id: ConversationId,
        update: ConversationUpdate,
    ) -> Result<(Conversation, StreamEvent), StoreError> {
        let at = millis(now());
        let event = self
            .write(move |connection| {
                Box::pin(async move {
                    let changed = query(
                        "UPDATE conversations SET status = COALESCE($3, status),
                         agent_id = CASE WHEN $4 = 1 THEN $5 ELSE agent_id END,
                         business_id = COALESCE($6, business_id), updated_at = $7
                     WHERE tenant_id = $1 AND id = $2
                     RETURNING status, agent_id",
                    )
                    .bind(tenant_id.to_string())
                    .bind(id.to_string())
                    .bind(update.status.map(|status| status.as_str()))
                    .bind(i64::from(update.agent_id.is_some()))
                    .bind(update.agent_id.flatten().map(|agent| agent.to_string()))
                    .bind(update.business_id)
                    .bind(at)
                    .fetch_optional(&mut *connection)
                    .await?
                    .ok_or(StoreError::not_found("conversation"))?;
                    let event = ConversationEvent::ConversationUpdated {
                        status: changed.parsed("status")?,
                        agent_id: changed.optional_parsed("agent_id")?,
                    };
                    append_event(connection, tenant_id, id, &event).await
                })
            })
            .await?;
        Ok((self.get_conversation(tenant_id, viewer, id).await?, event))
    }
}

/// Inserts an open conversation, and its contact as a member, inside the caller's transaction.
pub(crate) async fn insert_conversation(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    id: ConversationId,
    new: NewConversation,
) -> Result<(), StoreError> {
    let at = millis(now());
    query(
        "INSERT INTO conversations (id, tenant_id, channel_id, contact_id, type, business_id,
             status, agent_id, last_seq, last_activity_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9, $9)",
    )
    .bind(id.to_string())
    .bind(tenant_id.to_string())
    .bind(new.channel_id.to_string())
    .bind(new.contact_id.map(|contact| contact.to_string()))
    .bind(new.conversation_type.as_str())
    .bind(new.business_id)
    .bind(ConversationStatus::Open.as_str())
    .bind(new.agent_id.map(|agent| agent.to_string()))
    .bind(at)
    .execute(&mut *connection)
    .await?;
    if let Some(contact_id) = new.contact_id {
        query(
            "INSERT INTO participants (id, tenant_id, conversation_id, kind, contact_id, role, joined_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .bind(ParticipantKind::Contact.as_str())
        .bind(contact_id.to_string())
        .bind(ParticipantRole::Member.as_str())
        .bind(at)
        .execute(connection)
        .await?;
    }
    Ok(())
}
