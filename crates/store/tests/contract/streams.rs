//! Conversation streams: every change is stored with a gap-free offset in commit order, readable
//! after any offset, and scoped to its tenant.

use switchboard_core::{ConversationStatus, MessageStatus};
use switchboard_store::ConversationUpdate;
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{TestResult, append_concurrently, inbound, open, reply, tenancy};

backend_tests!(
    conversation_changes_get_gap_free_offsets_in_commit_order,
    stream_history_is_read_after_an_offset_and_per_tenant,
    expired_stream_events_are_deleted_oldest_first_in_bounded_batches,
);

fn kind(payload: &str) -> anyhow::Result<String> {
    let event: serde_json::Value = serde_json::from_str(payload)?;
    Ok(event["type"].as_str().unwrap_or_default().to_owned())
}

async fn conversation_changes_get_gap_free_offsets_in_commit_order(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    let mut created = Vec::new();
    for appended in append_concurrently(&store, tenant, conversation, 20).await? {
        let event = appended.event.ok_or_else(|| anyhow::anyhow!("no event"))?;
        // A message's event offset follows its seq: both are taken under the row's lock.
        created.push((appended.message.seq, event.offset));
    }
    created.sort_unstable();
    for (seq, offset) in &created {
        assert_eq!(i64::try_from(*offset)?, *seq);
    }

    let answer = store
        .append_message(tenant, reply(conversation, acme.operator.id, "hello"))
        .await?;
    let status = store
        .set_message_status(tenant, vec![answer.message.id], MessageStatus::Failed)
        .await?;
    let update = ConversationUpdate {
        status: Some(ConversationStatus::Resolved),
        ..ConversationUpdate::default()
    };
    let (_, closed) = store
        .update_conversation(tenant, acme.operator.id, conversation, update)
        .await?;
    assert_eq!(status[0].offset, 22);
    assert_eq!(kind(&status[0].payload)?, "message_status");
    assert_eq!(closed.offset, 23);
    assert_eq!(kind(&closed.payload)?, "conversation_updated");

    let all = store
        .conversation_events(tenant, conversation, Some(0), 1000)
        .await?;
    assert_eq!(all.head, 23);
    let offsets: Vec<u64> = all.events.iter().map(|event| event.offset).collect();
    assert_eq!(offsets, (1..=23).collect::<Vec<_>>());
    assert_eq!(kind(&all.events[0].payload)?, "message_created");
    Ok(())
}

async fn stream_history_is_read_after_an_offset_and_per_tenant(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let other = tenancy(&store, "other").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    for text in ["one", "two", "three"] {
        store
            .append_message(tenant, inbound(conversation, text))
            .await?;
    }
    let after_one = store
        .conversation_events(tenant, conversation, Some(1), 1000)
        .await?;
    assert_eq!(after_one.head, 3);
    assert_eq!(
        after_one
            .events
            .iter()
            .map(|event| event.offset)
            .collect::<Vec<_>>(),
        [2, 3]
    );
    let limited = store
        .conversation_events(tenant, conversation, Some(0), 2)
        .await?;
    assert_eq!(limited.events.len(), 2);
    assert_eq!(limited.head, 3);
    let head_only = store
        .conversation_events(tenant, conversation, None, 100)
        .await?;
    assert!(head_only.events.is_empty());
    assert_eq!(head_only.head, 3);

    let foreign = store
        .conversation_events(other.tenant.id, conversation, Some(0), 100)
        .await?;
    assert!(foreign.events.is_empty(), "another tenant reads nothing");
    assert_eq!(foreign.head, 0);
    Ok(())
}

async fn expired_stream_events_are_deleted_oldest_first_in_bounded_batches(
    database: TestDatabase,
) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    let (tenant, conversation) = (acme.tenant.id, acme.conversation.id);
    for text in ["one", "two", "three", "four", "five"] {
        store
            .append_message(tenant, inbound(conversation, text))
            .await?;
    }
    let now = time::OffsetDateTime::now_utc();
    let an_hour_ago = now - std::time::Duration::from_secs(3600);
    assert_eq!(store.prune_conversation_events(an_hour_ago, 2).await?, 0);

    let soon = now + std::time::Duration::from_secs(1);
    assert_eq!(store.prune_conversation_events(soon, 2).await?, 2);
    let left = store
        .conversation_events(tenant, conversation, Some(0), 1000)
        .await?;
    let offsets: Vec<u64> = left.events.iter().map(|event| event.offset).collect();
    assert_eq!(offsets, [3, 4, 5], "the oldest went first");
    assert_eq!(left.head, 5, "the head stays");
    assert_eq!(store.prune_conversation_events(soon, 2).await?, 2);
    assert_eq!(store.prune_conversation_events(soon, 2).await?, 1);
    assert_eq!(store.prune_conversation_events(soon, 2).await?, 0);
    let appended = store
        .append_message(tenant, inbound(conversation, "six"))
        .await?;
    assert_eq!(appended.event.map(|event| event.offset), Some(6));
    Ok(())
}
