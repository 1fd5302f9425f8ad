//! Conversation stream events expire after the configured retention: a client resuming from
//! before the deleted ones is told to reload over REST, one at the head misses nothing, offsets
//! go on from the head, and messages stay.

use std::time::Duration;

use switchboard_realtime::{DURABLE_EPOCH, Position, StreamKey, StreamName, Subscribed};
use switchboard_test_support::{TestDatabase, backend_tests};

use switchboard_test_support::pipeline::{Pipeline, start};

backend_tests!(conversation_events_expire_after_their_retention);

const CONTACT: &str = "972500000700";

async fn conversation_events_expire_after_their_retention(
    database: TestDatabase,
) -> anyhow::Result<()> {
    let pipeline = start(database, 10, |config| {
        config.realtime.conversation_event_retention = Some(Duration::from_secs(3600));
    })
    .await?;
    pipeline.send(CONTACT, "wamid.retention.1", "first").await?;
    pipeline.settle().await?;
    let engine = &pipeline.app.engine;
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(
        engine.prune_conversation_events(now).await?,
        0,
        "nothing is an hour old yet"
    );
    let fresh = resume(&pipeline, 0).await?;
    assert!(fresh.recovered);
    let head = fresh.offset;
    assert_eq!(head, 3, "message, reply, reply sent");

    let later = now + Duration::from_secs(2 * 3600);
    assert_eq!(engine.prune_conversation_events(later).await?, head);
    assert_eq!(engine.prune_conversation_events(later).await?, 0);
    let stale = resume(&pipeline, 0).await?;
    assert!(!stale.recovered, "the missed events are gone: reload");
    assert_eq!(stale.offset, head);
    assert!(resume(&pipeline, head).await?.recovered, "at the head");
    let conversation = pipeline.conversation().await?;
    assert_eq!(pipeline.messages(&conversation).await?.len(), 2);

    pipeline
        .send(CONTACT, "wamid.retention.2", "second")
        .await?;
    pipeline.settle().await?;
    let resumed = resume(&pipeline, head).await?;
    assert!(resumed.recovered);
    assert_eq!(resumed.offset, head + 3, "offsets go on from the head");
    pipeline.app.stop().await
}

/// Subscribes to the only conversation's stream as a client that holds `offset`.
async fn resume(pipeline: &Pipeline, offset: u64) -> anyhow::Result<Subscribed> {
    let conversation = &pipeline.conversations().await?[0];
    let hub = pipeline.app.engine.hub();
    let key = StreamKey {
        tenant_id: conversation["tenantId"]
            .as_str()
            .unwrap_or_default()
            .parse()?,
        name: StreamName::Conversation(conversation["id"].as_str().unwrap_or_default().parse()?),
    };
    let since = Position {
        epoch: DURABLE_EPOCH.into(),
        offset,
    };
    Ok(hub
        .subscribe(&hub.subscriber(), key, Some(since), None)
        .await?)
}
