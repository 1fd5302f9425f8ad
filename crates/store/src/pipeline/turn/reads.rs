//! What an agent's turn reads before it runs: its conversation with the tenant's balance and
//! the contact ([`Store::conversation_for_turn`]), and the recent history
//! ([`Store::messages_before`]). On PostgreSQL the reads arriving together share one statement
//! per kind (`postgres_reads`); alone, each is the statement here.

use std::sync::LazyLock;

use switchboard_core::{ConversationId, Message, TenantId};
use switchboard_database::{Db, query};

use super::postgres_reads::{HistoryRead, SubjectRead};
use crate::conversations::{TURN_COLUMNS, TURN_JOINS, TurnSubject, turn_subject_from_row};
use crate::messages::{COLUMNS, message_from_row};
use crate::{Store, StoreError};

/// [`Store::conversation_for_turn`]'s read, built once: it runs for every turn. `$1` is the
/// tenant, `$2` the conversation.
static FOR_TURN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM conversations c {TURN_JOINS}
         WHERE c.tenant_id = $1 AND c.id = $2",
        *TURN_COLUMNS
    )
});

impl Store {
    /// What an agent's turn starts from: the conversation, its tenant's credit balance and its
    /// contact, in one read; on PostgreSQL one statement shared by the turns reading at the
    /// same moment (`postgres_reads`).
    pub async fn conversation_for_turn(
        &self,
        tenant_id: TenantId,
        id: ConversationId,
    ) -> Result<TurnSubject, StoreError> {
        if self.backend() == crate::Backend::Postgres {
            let read = SubjectRead {
                tenant_id,
                conversation_id: id,
            };
            return self.inner.subjects.submit(&self.inner.database, read).await;
        }
        read_turn_subject(self.reader(), tenant_id, id).await
    }

    /// Up to `limit` messages before `before_seq`, oldest first: an agent's view of history. On
    /// PostgreSQL one statement shared by the turns reading at the same moment
    /// (`postgres_reads`).
    pub async fn messages_before(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        before_seq: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        if self.backend() == crate::Backend::Postgres {
            let read = HistoryRead {
                tenant_id,
                conversation_id,
                before_seq,
                limit,
            };
            return self
                .inner
                .histories
                .submit(&self.inner.database, read)
                .await;
        }
        read_history(self.reader(), tenant_id, conversation_id, before_seq, limit).await
    }
}

/// [`Store::conversation_for_turn`] in a statement of its own.
pub(crate) async fn read_turn_subject(
    reader: Db<'_>,
    tenant_id: TenantId,
    id: ConversationId,
) -> Result<TurnSubject, StoreError> {
    let row = query(FOR_TURN.as_str())
        .bind(tenant_id.to_string())
        .bind(id.to_string())
        .fetch_optional(reader)
        .await?
        .ok_or(StoreError::not_found("conversation"))?;
    turn_subject_from_row(&row)
}

/// [`Store::messages_before`] in a statement of its own.
pub(crate) async fn read_history(
    reader: Db<'_>,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    before_seq: i64,
    limit: u32,
) -> Result<Vec<Message>, StoreError> {
    let rows = query(format!(
        "SELECT {COLUMNS} FROM messages
         WHERE conversation_id = $2 AND tenant_id = $1 AND seq < $3 AND deleted_at IS NULL
         ORDER BY seq DESC LIMIT $4"
    ))
    .bind(tenant_id.to_string())
    .bind(conversation_id.to_string())
    .bind(before_seq)
    .bind(i64::from(limit))
    .fetch_all(reader)
    .await?;
    let mut messages = rows
        .iter()
        .map(message_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    messages.reverse();
    Ok(messages)
}
