//! Conversation streams: each change a client may follow live (a message added, a delivery
//! status, a deletion, the conversation's status) is stored in the transaction that makes it,
//! under the conversation's next event offset. The conversation row's lock makes offsets follow
//! commit order, so a later offset is never visible before an earlier one.

use switchboard_core::{ConversationEvent, ConversationId, Message, TenantId, Timestamp};

use crate::{Store, StoreError};
use switchboard_database::{Db, query};
use switchboard_database::{RowExt, millis, now};

/// An event of a conversation's stream, as stored and published.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    /// 1, 2, 3, … within the conversation.
    pub offset: u64,
    /// The event's JSON.
    pub payload: String,
}

/// Events of one conversation after an offset, and the stream's last offset.
#[derive(Debug, Clone, Default)]
pub struct StreamPage {
    pub events: Vec<StreamEvent>,
    pub head: u64,
}

/// Takes the conversation's next event offset and stores `event` under it.
pub(crate) async fn append_event(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    event: &ConversationEvent,
) -> Result<StreamEvent, StoreError> {
    if connection.is_postgres() {
        return append_event_in_one_statement(connection, tenant_id, conversation_id, event).await;
    }
    let offset: i64 = query(
        "UPDATE conversations SET event_offset = event_offset + 1
         WHERE tenant_id = $1 AND id = $2 RETURNING event_offset",
    )
    .bind(tenant_id.to_string())
    .bind(conversation_id.to_string())
    .fetch_optional_scalar(&mut *connection)
    .await?
    .ok_or(StoreError::not_found("conversation"))?;
    insert_event(connection, tenant_id, conversation_id, offset, event).await
}

/// `append_event` as one round trip (PostgreSQL).
async fn append_event_in_one_statement(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    event: &ConversationEvent,
) -> Result<StreamEvent, StoreError> {
    let payload = event_payload(event)?;
    let offset: i64 = query(
        "WITH next AS (
             UPDATE conversations SET event_offset = event_offset + 1
             WHERE tenant_id = $1 AND id = $2 RETURNING event_offset)
         INSERT INTO conversation_events (conversation_id, event_offset, tenant_id, payload, created_at)
         SELECT $2, event_offset, $1, $3, $4 FROM next
         RETURNING event_offset",
    )
    .bind(tenant_id.to_string())
    .bind(conversation_id.to_string())
    .bind(&payload)
    .bind(millis(now()))
    .fetch_optional_scalar(connection)
    .await?
    .ok_or(StoreError::not_found("conversation"))?;
    Ok(stream_event(tenant_id, conversation_id, offset, payload))
}

/// Stores `event` under an offset the caller took from the conversation row.
pub(crate) async fn insert_event(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    offset: i64,
    event: &ConversationEvent,
) -> Result<StreamEvent, StoreError> {
    let payload = event_payload(event)?;
    query(
        "INSERT INTO conversation_events (conversation_id, event_offset, tenant_id, payload, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(conversation_id.to_string())
    .bind(offset)
    .bind(tenant_id.to_string())
    .bind(&payload)
    .bind(millis(now()))
    .execute(connection)
    .await?;
    Ok(stream_event(tenant_id, conversation_id, offset, payload))
}

/// A message's `message_created` payload in two parts around its `seq`, for a statement that
/// learns the `seq` as it runs and stores `prefix || seq || suffix`.
///
/// The message is serialized with [`SEQ_MARK`] as its `seq` and cut at the mark's first
/// appearance. Only its id, tenant, conversation and channel (ids, which cannot hold the mark)
/// come before the `seq` in the serialization; text and content, which could, come after.
pub(crate) struct PayloadAroundSeq {
    pub prefix: String,
    pub suffix: String,
}

/// The `seq` a message is serialized with to be cut around (see [`PayloadAroundSeq`]).
const SEQ_MARK: i64 = i64::MIN;

impl PayloadAroundSeq {
    pub(crate) fn new(message: &Message) -> Result<Self, StoreError> {
        let mut marked = message.clone();
        marked.seq = SEQ_MARK;
        let payload = event_payload(&ConversationEvent::MessageCreated { message: marked })?;
        let (key, value) = ("\"seq\":", SEQ_MARK.to_string());
        let start = payload
            .find(&format!("{key}{value}"))
            .ok_or_else(|| StoreError::Corrupt {
                column: "payload",
                reason: "a message serialized without its seq".into(),
            })?
            + key.len();
        Ok(Self {
            prefix: payload[..start].to_owned(),
            suffix: payload[start + value.len()..].to_owned(),
        })
    }

    /// The payload once the `seq` is known: what the statement stored.
    pub(crate) fn with_seq(&self, seq: i64) -> String {
        format!("{}{seq}{}", self.prefix, self.suffix)
    }
}

pub(crate) fn event_payload(event: &ConversationEvent) -> Result<String, StoreError> {
    serde_json::to_string(event).map_err(|error| StoreError::Corrupt {
        column: "payload",
        reason: error.to_string(),
    })
}

pub(crate) fn stream_event(
    tenant_id: TenantId,
    conversation_id: ConversationId,
    offset: i64,
    payload: String,
) -> StreamEvent {
    StreamEvent {
        tenant_id,
        conversation_id,
        offset: u64::try_from(offset).unwrap_or_default(),
        payload,
    }
}

impl Store {
    /// Up to `limit` events of a conversation after offset `after` (`None`: none, only the
    /// head), oldest first. An unknown conversation has an empty stream.
    pub async fn conversation_events(
        &self,
        tenant_id: TenantId,
        conversation_id: ConversationId,
        after: Option<u64>,
        limit: u32,
    ) -> Result<StreamPage, StoreError> {
        let head: Option<i64> =
            query("SELECT event_offset FROM conversations WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id.to_string())
                .bind(conversation_id.to_string())
                .fetch_optional_scalar(self.reader())
                .await?;
        let head = u64::try_from(head.unwrap_or_default()).unwrap_or_default();
        let Some(after) = after.filter(|after| *after < head) else {
            return Ok(StreamPage {
                events: Vec::new(),
                head,
            });
        };
        let rows = query(
            "SELECT event_offset, payload FROM conversation_events
             WHERE conversation_id = $1 AND tenant_id = $2 AND event_offset > $3 AND event_offset <= $4
             ORDER BY event_offset LIMIT $5",
        )
        .bind(conversation_id.to_string())
        .bind(tenant_id.to_string())
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::try_from(head).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        let events = rows
            .iter()
            .map(|row| {
                Ok(StreamEvent {
                    tenant_id,
                    conversation_id,
                    offset: u64::try_from(row.integer("event_offset")?).unwrap_or_default(),
                    payload: row.text("payload")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(StreamPage { events, head })
    }

    /// Deletes up to `limit` stream events stored before `before`, oldest first, and returns
    /// how many it deleted; call again while it returns `limit`. One bounded write at a time,
    /// so a large backlog never holds up the writes queued behind it. A conversation loses a
    /// prefix of its stream, never events between kept ones (ties within a millisecond go by
    /// offset), so a client resuming from a deleted offset gets `recovered: false` and reloads
    /// over REST, and one resuming later sees no gap.
    pub async fn prune_conversation_events(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let before = millis(before);
        self.write(move |connection| {
            Box::pin(async move {
                let result = query(
                    "DELETE FROM conversation_events WHERE (conversation_id, event_offset) IN (
                         SELECT conversation_id, event_offset FROM conversation_events
                         WHERE created_at < $1 ORDER BY created_at, event_offset LIMIT $2)",
                )
                .bind(before)
                .bind(i64::from(limit))
                .execute(connection)
                .await?;
                Ok(result.rows_affected())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use switchboard_core::{
        AuthorKind, ChannelId, ConversationEvent, ConversationId, Message, MessageDirection,
        MessageId, MessageStatus, MessageType, TenantId,
    };

    use super::{PayloadAroundSeq, SEQ_MARK, event_payload};

    #[test]
    fn a_payload_cut_around_its_seq_is_the_payload_with_the_seq() -> Result<(), super::StoreError> {
        // Text and content that hold the mark itself, after the seq, are not where it is cut.
        let marked = format!("\"seq\":{SEQ_MARK}");
        let message = Message {
            id: MessageId::new(),
            tenant_id: TenantId::new(),
            conversation_id: ConversationId::new(),
            channel_id: ChannelId::new(),
            seq: 0,
            direction: MessageDirection::Inbound,
            author_kind: AuthorKind::Contact,
            author_id: Some(marked.clone()),
            message_type: MessageType::Text,
            text: Some(marked.clone()),
            content: Some(serde_json::json!({ "seq": SEQ_MARK })),
            provider_message_id: Some(marked),
            status: MessageStatus::Received,
            created_at: time::OffsetDateTime::now_utc(),
            deleted_at: None,
        };
        let around = PayloadAroundSeq::new(&message)?;
        for seq in [1, 42, i64::MAX] {
            let with_seq = Message {
                seq,
                ..message.clone()
            };
            let expected = event_payload(&ConversationEvent::MessageCreated { message: with_seq })?;
            assert_eq!(around.with_seq(seq), expected);
        }
        Ok(())
    }
}
