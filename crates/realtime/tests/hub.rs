//! The hub's promises, without transports: offsets without gaps or duplicates, resume from
//! memory and from the store, epochs, ordering of durable events published out of order,
//! merging of thinking deltas and cutting off slow consumers.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly at the first broken expectation"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard_core::{ConversationId, TenantId};
use switchboard_realtime::{
    Closed, DURABLE_EPOCH, Envelope, EventMeta, Frame, History, HistoryError, HistoryPage, Hub,
    HubConfig, Position, StoredEvent, StreamKey, StreamName, Subscriber,
};

/// A durable stream's store: events by offset.
#[derive(Default)]
struct Stored(Mutex<Vec<StoredEvent>>);

impl Stored {
    fn append(&self, offset: u64) -> Envelope {
        let event: Arc<str> = format!("{{\"n\":{offset}}}").into();
        self.0.lock().unwrap().push(StoredEvent {
            offset,
            event: event.clone(),
            meta: EventMeta::default(),
        });
        Envelope {
            key: conversation_key(),
            offset: Some(offset),
            epoch: None,
            event,
            meta: EventMeta::default(),
        }
    }
}

#[async_trait::async_trait]
impl History for Stored {
    async fn read(
        &self,
        _key: &StreamKey,
        after: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, HistoryError> {
        let events = self.0.lock().unwrap();
        let head = events.iter().map(|event| event.offset).max().unwrap_or(0);
        let mut page: Vec<_> = match after {
            Some(after) => events
                .iter()
                .filter(|event| event.offset > after)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        page.sort_by_key(|event| event.offset);
        page.truncate(limit);
        Ok(HistoryPage { events: page, head })
    }
}

fn tenant() -> TenantId {
    static TENANT: std::sync::OnceLock<TenantId> = std::sync::OnceLock::new();
    *TENANT.get_or_init(TenantId::new)
}

fn conversation_key() -> StreamKey {
    static ID: std::sync::OnceLock<ConversationId> = std::sync::OnceLock::new();
    StreamKey {
        tenant_id: tenant(),
        name: StreamName::Conversation(*ID.get_or_init(ConversationId::new)),
    }
}

fn broadcast_key() -> StreamKey {
    StreamKey {
        tenant_id: tenant(),
        name: StreamName::Broadcast("lobby".into()),
    }
}

fn broadcast(n: u64) -> Envelope {
    Envelope {
        key: broadcast_key(),
        offset: None,
        epoch: None,
        event: format!("{{\"n\":{n}}}").into(),
        meta: EventMeta::default(),
    }
}

fn delta(key: &StreamKey, offset: u64, text: &str) -> Envelope {
    Envelope {
        key: key.clone(),
        offset: Some(offset),
        epoch: None,
        event: serde_json::json!({"type": "agent_thinking", "delta": text})
            .to_string()
            .into(),
        meta: EventMeta {
            delta: Some(text.into()),
            ..EventMeta::default()
        },
    }
}

async fn drain(subscriber: &Subscriber) -> Vec<serde_json::Value> {
    let mut batch: Vec<Frame> = Vec::new();
    if subscriber.outbox.is_empty() {
        return Vec::new();
    }
    let _ = subscriber.outbox.next_batch(&mut batch).await;
    batch
        .iter()
        .map(|frame| serde_json::from_slice(&frame.bytes).unwrap())
        .collect()
}

fn offsets(frames: &[serde_json::Value]) -> Vec<u64> {
    frames
        .iter()
        .filter(|frame| frame["type"] == "event")
        .map(|frame| frame["offset"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_memory_stream_resumes_from_history_and_reports_a_lost_epoch() {
    let hub = Hub::default();
    for n in 1..=5 {
        hub.publish(broadcast(n));
    }
    let first = hub.subscriber();
    let subscribed = hub
        .subscribe(&first, broadcast_key(), None, None)
        .await
        .unwrap();
    assert_eq!(subscribed.offset, 5);
    assert!(drain(&first).await[0]["type"] == "subscribed");

    let resumed = hub.subscriber();
    let position = Position {
        epoch: subscribed.epoch.clone(),
        offset: 2,
    };
    let result = hub
        .subscribe(&resumed, broadcast_key(), Some(position), None)
        .await
        .unwrap();
    assert!(result.recovered);
    hub.publish(broadcast(6));
    let frames = drain(&resumed).await;
    assert_eq!(frames[0]["recovered"], true);
    assert_eq!(offsets(&frames), vec![3, 4, 5, 6]);
    assert_eq!(frames[1]["event"]["n"], 3);
    assert_eq!(offsets(&drain(&first).await), vec![6]);

    let lost = hub.subscriber();
    let stale = Position {
        epoch: "an-old-epoch".into(),
        offset: 2,
    };
    let result = hub
        .subscribe(&lost, broadcast_key(), Some(stale), None)
        .await
        .unwrap();
    assert!(!result.recovered);
    assert_eq!(result.offset, 6);
    assert_eq!(offsets(&drain(&lost).await), Vec::<u64>::new());
}

#[tokio::test]
async fn history_is_bounded_and_resuming_beyond_it_is_not_recovered() {
    let config = HubConfig {
        history_size: 3,
        ..HubConfig::default()
    };
    let hub = Hub::new(config, Arc::new(switchboard_realtime::NoHistory));
    for n in 1..=10 {
        hub.publish(broadcast(n));
    }
    let subscriber = hub.subscriber();
    let epoch = hub
        .subscribe(&subscriber, broadcast_key(), None, None)
        .await
        .unwrap()
        .epoch;
    let behind = hub.subscriber();
    let result = hub
        .subscribe(
            &behind,
            broadcast_key(),
            Some(Position {
                epoch: epoch.clone(),
                offset: 6,
            }),
            None,
        )
        .await
        .unwrap();
    assert!(!result.recovered, "offsets 7..10 are not all kept");
    let close = hub.subscriber();
    let result = hub
        .subscribe(
            &close,
            broadcast_key(),
            Some(Position { epoch, offset: 7 }),
            None,
        )
        .await
        .unwrap();
    assert!(result.recovered);
    assert_eq!(offsets(&drain(&close).await), vec![8, 9, 10]);
}

#[tokio::test]
async fn a_durable_stream_replays_from_the_store_then_goes_live_without_duplicates() {
    let stored = Arc::new(Stored::default());
    let hub = Hub::new(HubConfig::default(), stored.clone());
    for offset in 1..=4 {
        // Nobody follows the conversation yet: publishing only stores.
        hub.publish(stored.append(offset));
    }
    let subscriber = hub.subscriber();
    let since = Position {
        epoch: DURABLE_EPOCH.into(),
        offset: 1,
    };
    let result = hub
        .subscribe(&subscriber, conversation_key(), Some(since), None)
        .await
        .unwrap();
    assert!(result.recovered);
    assert_eq!(result.offset, 4);
    // A late publish of an event the replay already carried is not sent twice.
    hub.publish(stored.append(5));
    hub.publish(Envelope {
        offset: Some(4),
        epoch: None,
        ..stored.append(4)
    });
    let frames = drain(&subscriber).await;
    assert_eq!(offsets(&frames), vec![2, 3, 4, 5]);

    let ahead = hub.subscriber();
    let future = Position {
        epoch: DURABLE_EPOCH.into(),
        offset: 99,
    };
    let result = hub
        .subscribe(&ahead, conversation_key(), Some(future), None)
        .await
        .unwrap();
    assert!(!result.recovered);
}

#[tokio::test(start_paused = true)]
async fn durable_events_published_out_of_order_arrive_in_order() {
    let stored = Arc::new(Stored::default());
    let hub = Hub::new(HubConfig::default(), stored.clone());
    let subscriber = hub.subscriber();
    hub.subscribe(&subscriber, conversation_key(), None, None)
        .await
        .unwrap();
    let first = stored.append(1);
    let second = stored.append(2);
    let third = stored.append(3);
    hub.publish(third);
    hub.publish(second);
    assert_eq!(
        offsets(&drain(&subscriber).await),
        Vec::<u64>::new(),
        "held until 1 arrives"
    );
    hub.publish(first);
    assert_eq!(offsets(&drain(&subscriber).await), vec![1, 2, 3]);

    // An event whose publisher went away is fetched from the store.
    let _lost = stored.append(4);
    hub.publish(stored.append(5));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(offsets(&drain(&subscriber).await), vec![4, 5]);
}

#[tokio::test]
async fn a_slow_client_gets_merged_deltas_then_is_cut_off_without_losing_lifecycle_events() {
    let config = HubConfig {
        outbox_capacity: 8,
        ..HubConfig::default()
    };
    let hub = Hub::new(config, Arc::new(switchboard_realtime::NoHistory));
    let run = StreamKey {
        tenant_id: tenant(),
        name: StreamName::Run(switchboard_core::RunId::new()),
    };
    let subscriber = hub.subscriber();
    hub.publish(delta(&run, 1, "a"));
    hub.subscribe(&subscriber, run.clone(), None, None)
        .await
        .unwrap();
    for offset in 2..=40 {
        hub.publish(delta(&run, offset, "x"));
    }
    let frames = drain(&subscriber).await;
    assert!(frames.len() <= 8, "{} frames queued", frames.len());
    let merged = frames.last().unwrap();
    assert_eq!(merged["offset"], 40);
    let text: String = frames
        .iter()
        .filter(|frame| frame["type"] == "event")
        .map(|frame| frame["event"]["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "x".repeat(39), "merging keeps every character");
    assert!(merged["mergedFrom"].as_u64().unwrap() < 40);

    for offset in 41..=60 {
        let lifecycle = Envelope {
            key: run.clone(),
            offset: Some(offset),
            epoch: None,
            event: "{\"type\":\"tool_executing\"}".into(),
            meta: EventMeta::default(),
        };
        hub.publish(lifecycle);
    }
    let mut batch = Vec::new();
    let _ = subscriber.outbox.next_batch(&mut batch).await;
    assert_eq!(
        subscriber.outbox.next_batch(&mut batch).await,
        Err(Closed::SlowConsumer)
    );
    assert_eq!(
        hub.stats().subscriptions,
        0,
        "the slow subscriber was dropped"
    );

    // It resumes from the run's history in memory, losing nothing.
    let again = hub.subscriber();
    let since = Position {
        epoch: DURABLE_EPOCH.into(),
        offset: 40,
    };
    let result = hub.subscribe(&again, run, Some(since), None).await.unwrap();
    assert!(result.recovered);
    assert_eq!(offsets(&drain(&again).await), (41..=60).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn an_ended_run_leaves_memory_after_a_grace_while_a_live_one_stays() {
    let hub = Hub::default();
    let run = |id| StreamKey {
        tenant_id: tenant(),
        name: StreamName::Run(id),
    };
    let (ended, live) = (
        run(switchboard_core::RunId::new()),
        run(switchboard_core::RunId::new()),
    );
    hub.publish(delta(&ended, 1, "a"));
    hub.publish(Envelope {
        key: ended.clone(),
        offset: Some(2),
        epoch: None,
        event: "{\"type\":\"agent_completed\"}".into(),
        meta: EventMeta {
            last: true,
            ..EventMeta::default()
        },
    });
    hub.publish(delta(&live, 1, "b"));
    assert_eq!(hub.stats().streams, 2);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(hub.stats().streams, 1, "only the run still going is kept");
}
