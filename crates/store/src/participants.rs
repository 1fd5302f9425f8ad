//! Participants of a conversation and their read markers. A read marker only moves forward, and
//! a user who reads a conversation they were not part of joins it as an observer.

use switchboard_core::{
    AgentId, ContactId, ConversationId, Participant, ParticipantId, ParticipantKind,
    ParticipantRole, TenantId, UserId,
};

use crate::table::IdList;
use crate::{Store, StoreError};
use switchboard_database::{Db, Row, query};
use switchboard_database::{RowExt, expect_changed, millis, now, parse};

const COLUMNS: &str = "id, conversation_id, kind, user_id, contact_id, agent_id, role, joined_at, last_read_seq, last_read_at";

/// Who joins: exactly one of user, contact or agent.
#[derive(Debug, Clone, Copy)]
pub enum NewParticipant {
    User(UserId, ParticipantRole),
    Contact(ContactId, ParticipantRole),
    Agent(AgentId, ParticipantRole),
}

fn participant_from_row(row: &Row) -> Result<Participant, StoreError> {
    Ok(Participant {
        id: row.parsed("id")?,
        conversation_id: row.parsed("conversation_id")?,
        kind: row.parsed("kind")?,
        user_id: row.optional_parsed("user_id")?,
        contact_id: row.optional_parsed("contact_id")?,
        agent_id: row.optional_parsed("agent_id")?,
        role: row.parsed("role")?,
        joined_at: row.time("joined_at")?,
        last_read_seq: row.integer("last_read_seq")?,
        last_read_at: row.optional_time("last_read_at")?,
    })
}

impl Store {
    /// Everyone in a conversation, in the order they joined (a conversation has few).
    pub async fn list_participants(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
    ) -> Result<Vec<Participant>, StoreError> {
        self.require_conversation(tenant_id, conversation_id)
            .await?;
        let rows = query(format!(
            "SELECT {COLUMNS} FROM participants WHERE tenant_id = $1 AND conversation_id = $2 ORDER BY id"
        ))
        .bind(tenant_id.to_string())
        .bind(conversation_id.to_string())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(participant_from_row).collect()
    }

    /// Everyone in each of the conversations `conversation_ids`, in the order they joined, in
    /// one statement. With `member`, only the conversations among them `member` takes part in;
    /// another tenant's are left out.
    pub async fn list_participants_of(
        &self,
        tenant_id: TenantId,
        member: Option<UserId>,
        conversation_ids: &[ConversationId],
    ) -> Result<Vec<Participant>, StoreError> {
        let ids = IdList::new(conversation_ids);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let statement = query(format!(
            "SELECT {COLUMNS} FROM participants
             WHERE tenant_id = $1 AND conversation_id IN ({})
               AND ($2 IS NULL OR conversation_id IN (SELECT conversation_id FROM participants
                    WHERE tenant_id = $1 AND user_id = $2))
             ORDER BY id",
            ids.placeholders(3)
        ))
        .bind(tenant_id.to_string())
        .bind(member.map(|user| user.to_string()));
        let rows = ids.bind(statement).fetch_all(self.reader()).await?;
        rows.iter().map(participant_from_row).collect()
    }

    /// Adds a participant; `Conflict` if they are already in the conversation.
    pub async fn add_participant(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        new: NewParticipant,
    ) -> Result<Participant, StoreError> {
        self.require_conversation(tenant_id, conversation_id)
            .await?;
        let id = ParticipantId::new();
        self.write(move |connection| {
            Box::pin(async move { insert(connection, tenant_id, conversation_id, id, new).await })
        })
        .await?;
        self.get_participant(tenant_id, conversation_id, id).await
    }

    /// Makes `user_id` an operator of the conversation: joins them as one, or promotes them
    /// if they only observe it (reading a conversation joins a user as an observer). A user
    /// taking part in another role keeps it.
    pub async fn assign_operator(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<(), StoreError> {
        self.require_conversation(tenant_id, conversation_id)
            .await?;
        let id = ParticipantId::new();
        self.write(move |connection| {
            Box::pin(async move {
                let promoted = query(
                    "UPDATE participants SET role = $4
                     WHERE tenant_id = $1 AND conversation_id = $2 AND user_id = $3 AND role = $5",
                )
                .bind(tenant_id.to_string())
                .bind(conversation_id.to_string())
                .bind(user_id.to_string())
                .bind(ParticipantRole::Operator.as_str())
                .bind(ParticipantRole::Observer.as_str())
                .execute(&mut *connection)
                .await?;
                if promoted.rows_affected() > 0 {
                    return Ok(());
                }
                let taking_part = query(
                    "SELECT 1 FROM participants
                     WHERE tenant_id = $1 AND conversation_id = $2 AND user_id = $3",
                )
                .bind(tenant_id.to_string())
                .bind(conversation_id.to_string())
                .bind(user_id.to_string())
                .fetch_optional(&mut *connection)
                .await?;
                if taking_part.is_some() {
                    return Ok(());
                }
                let operator = NewParticipant::User(user_id, ParticipantRole::Operator);
                insert(connection, tenant_id, conversation_id, id, operator).await
            })
        })
        .await
    }

    pub async fn remove_participant(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        id: ParticipantId,
    ) -> Result<(), StoreError> {
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "DELETE FROM participants WHERE tenant_id = $1 AND conversation_id = $2 AND id = $3",
                )
                .bind(tenant_id.to_string())
                .bind(conversation_id.to_string())
                .bind(id.to_string())
                .execute(connection)
                .await?;
                Ok(expect_changed(result.rows_affected(), "participant")?)
            })
        })
        .await
    }

    /// Moves `user_id`'s read marker forward to `seq` (default: the newest message), joining
    /// them as an observer if they were not a participant. Returns their participant row.
    pub async fn mark_read(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        user_id: UserId,
        seq: Option<i64>,
    ) -> Result<Participant, StoreError> {
        let id = self
            .write(move |connection| {
                Box::pin(async move {
                    let last_seq: i64 = query(
                        "SELECT last_seq FROM conversations WHERE tenant_id = $1 AND id = $2",
                    )
                    .bind(tenant_id.to_string())
                    .bind(conversation_id.to_string())
                    .fetch_optional_scalar(&mut *connection)
                    .await?
                    .ok_or(StoreError::not_found("conversation"))?;
                    let read_seq = seq.unwrap_or(last_seq).clamp(0, last_seq);
                    let join_as = ParticipantRole::Observer;
                    advance_read_marker(
                        connection,
                        tenant_id,
                        conversation_id,
                        user_id,
                        read_seq,
                        join_as,
                    )
                    .await
                })
            })
            .await?;
        self.get_participant(tenant_id, conversation_id, id).await
    }

    async fn get_participant(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        id: ParticipantId,
    ) -> Result<Participant, StoreError> {
        let row = query(format!(
            "SELECT {COLUMNS} FROM participants WHERE tenant_id = $1 AND conversation_id = $2 AND id = $3"
        ))
        .bind(tenant_id.to_string())
        .bind(conversation_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::not_found("participant"))?;
        participant_from_row(&row)
    }

    /// Whether `user_id` takes part in the conversation; `NotFound` if there is no such
    /// conversation in the tenant.
    pub async fn is_participant(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<bool, StoreError> {
        let row = query(
            "SELECT (SELECT 1 FROM participants p
                     WHERE p.conversation_id = c.id AND p.user_id = $3 LIMIT 1) AS participating
             FROM conversations c WHERE c.tenant_id = $1 AND c.id = $2",
        )
        .bind(tenant_id.to_string())
        .bind(conversation_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::not_found("conversation"))?;
        Ok(row.optional_integer("participating")?.is_some())
    }

    /// The conversations `user_id` takes part in.
    pub async fn participating_conversations(
        &self,
        tenant_id: TenantId,
        user_id: UserId,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let ids: Vec<String> =
            query("SELECT conversation_id FROM participants WHERE tenant_id = $1 AND user_id = $2")
                .bind(tenant_id.to_string())
                .bind(user_id.to_string())
                .fetch_scalars(self.reader())
                .await?;
        Ok(ids
            .iter()
            .map(|id| parse("conversation_id", id))
            .collect::<Result<_, _>>()?)
    }

    /// `NotFound` unless the conversation exists in the tenant.
    pub(crate) async fn require_conversation(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
    ) -> Result<(), StoreError> {
        query("SELECT 1 AS found FROM conversations WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id.to_string())
            .bind(conversation_id.to_string())
            .fetch_optional(self.reader())
            .await?
            .map(drop)
            .ok_or(StoreError::not_found("conversation"))
    }
}

async fn insert(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    id: ParticipantId,
    new: NewParticipant,
) -> Result<(), StoreError> {
    let (kind, column, member, role) = match new {
        NewParticipant::User(user, role) => {
            (ParticipantKind::User, "user_id", user.to_string(), role)
        }
        NewParticipant::Contact(contact, role) => (
            ParticipantKind::Contact,
            "contact_id",
            contact.to_string(),
            role,
        ),
        NewParticipant::Agent(agent, role) => {
            (ParticipantKind::Agent, "agent_id", agent.to_string(), role)
        }
    };
    query(format!(
        "INSERT INTO participants (id, tenant_id, conversation_id, kind, {column}, role, joined_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(id.to_string())
    .bind(tenant_id.to_string())
    .bind(conversation_id.to_string())
    .bind(kind.as_str())
    .bind(member)
    .bind(role.as_str())
    .bind(millis(now()))
    .execute(connection)
    .await?;
    Ok(())
}

/// Moves a user's read marker forward (never back) inside the caller's transaction, adding them
/// with `join_as` first if they are not a participant. Returns the participant id.
pub(crate) async fn advance_read_marker(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    user_id: UserId,
    seq: i64,
    join_as: ParticipantRole,
) -> Result<ParticipantId, StoreError> {
    let existing: Option<String> =
        query("SELECT id FROM participants WHERE conversation_id = $1 AND user_id = $2")
            .bind(conversation_id.to_string())
            .bind(user_id.to_string())
            .fetch_optional_scalar(&mut *connection)
            .await?;
    let id = match existing {
        Some(id) => id.parse().map_err(|_| StoreError::Corrupt {
            column: "id",
            reason: format!("participant id {id}"),
        })?,
        None => {
            let id = ParticipantId::new();
            let new = NewParticipant::User(user_id, join_as);
            insert(connection, tenant_id, conversation_id, id, new).await?;
            id
        }
    };
    query(
        "UPDATE participants SET last_read_seq = $2, last_read_at = $3 WHERE id = $1 AND last_read_seq < $2",
    )
    .bind(id.to_string())
    .bind(seq)
    .bind(millis(now()))
    .execute(connection)
    .await?;
    Ok(id)
}
