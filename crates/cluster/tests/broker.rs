//! Two nodes in one process: two hubs, each with its own `RedisBroker` on one prefix. Events
//! cross between them, memory streams are numbered alike on both, and a client can resume on
//! either node from a position it learned on the other.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly at the first broken expectation"
)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use switchboard_cluster::{RedisBroker, RedisLink};
use switchboard_core::{ConversationId, TenantId};
use switchboard_realtime::{
    DURABLE_EPOCH, Envelope, EventMeta, Frame, Hub, HubConfig, NoHistory, Position, StreamKey,
    StreamName, Subscriber,
};

/// How long an event may take to come back through Redis before the test fails.
const ARRIVAL: Duration = Duration::from_secs(5);

struct Node {
    hub: Hub,
    _link: RedisLink,
}

async fn node(prefix: &str, node_id: &str) -> Node {
    let link = support::link(prefix, node_id).await;
    let broker = Arc::new(RedisBroker::new(&link));
    Node {
        hub: Hub::with_broker(HubConfig::default(), Arc::new(NoHistory), broker),
        _link: link,
    }
}

/// One event frame as a client sees it: epoch, offset and the event's `n`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    epoch: String,
    offset: u64,
    n: u64,
}

/// The next `count` event frames of `subscriber`, waiting for them as long as [`ARRIVAL`].
async fn next_events(subscriber: &Subscriber, count: usize) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut batch: Vec<Frame> = Vec::new();
    while seen.len() < count {
        batch.clear();
        tokio::time::timeout(ARRIVAL, subscriber.outbox.next_batch(&mut batch))
            .await
            .expect("the event arrives")
            .unwrap();
        for frame in &batch {
            let value: serde_json::Value = serde_json::from_slice(&frame.bytes).unwrap();
            if value["type"] == "event" {
                seen.push(Seen {
                    epoch: value["epoch"].as_str().unwrap().to_owned(),
                    offset: value["offset"].as_u64().unwrap(),
                    n: value["event"]["n"].as_u64().unwrap(),
                });
            }
        }
    }
    seen
}

fn envelope(key: &StreamKey, offset: Option<u64>, n: u64) -> Envelope {
    Envelope {
        key: key.clone(),
        offset,
        epoch: None,
        event: format!("{{\"n\":{n}}}").into(),
        meta: EventMeta::default(),
    }
}

#[tokio::test]
async fn events_published_on_one_node_reach_subscribers_on_the_other() {
    let prefix = support::fresh_prefix();
    let (a, b) = (node(&prefix, "a").await, node(&prefix, "b").await);
    let tenant_id = TenantId::new();
    let lobby = StreamKey {
        tenant_id,
        name: StreamName::Broadcast("lobby".into()),
    };
    let conversation = StreamKey {
        tenant_id,
        name: StreamName::Conversation(ConversationId::new()),
    };
    let on_b = b.hub.subscriber();
    b.hub
        .subscribe(&on_b, lobby.clone(), None, None)
        .await
        .unwrap();
    let following = b.hub.subscriber();
    let subscribed = b
        .hub
        .subscribe(&following, conversation.clone(), None, None)
        .await
        .unwrap();
    assert_eq!(
        (subscribed.epoch.as_str(), subscribed.offset),
        (DURABLE_EPOCH, 0)
    );

    a.hub.publish(envelope(&lobby, None, 1));
    let seen = next_events(&on_b, 1).await;
    assert_eq!((seen[0].offset, seen[0].n), (1, 1));

    // A durable event keeps the offset its publisher gave it.
    a.hub.publish(envelope(&conversation, Some(1), 7));
    let seen = next_events(&following, 1).await;
    assert_eq!(
        seen,
        vec![Seen {
            epoch: DURABLE_EPOCH.into(),
            offset: 1,
            n: 7
        }]
    );
}

#[tokio::test]
async fn memory_streams_are_numbered_alike_on_every_node_and_resume_anywhere() {
    let prefix = support::fresh_prefix();
    let (a, b) = (node(&prefix, "a").await, node(&prefix, "b").await);
    let tenant = StreamKey {
        tenant_id: TenantId::new(),
        name: StreamName::Tenant,
    };
    let on_a = a.hub.subscriber();
    a.hub
        .subscribe(&on_a, tenant.clone(), None, None)
        .await
        .unwrap();
    let on_b = b.hub.subscriber();
    b.hub
        .subscribe(&on_b, tenant.clone(), None, None)
        .await
        .unwrap();

    let mut seen_on_a = Vec::new();
    let mut seen_on_b = Vec::new();
    for n in 1..=6 {
        let publisher = if n % 2 == 1 { &a } else { &b };
        publisher.hub.publish(envelope(&tenant, None, n));
        seen_on_a.extend(next_events(&on_a, 1).await);
        seen_on_b.extend(next_events(&on_b, 1).await);
    }
    assert_eq!(seen_on_a, seen_on_b, "both nodes number each event alike");
    let epoch = seen_on_a[0].epoch.clone();
    assert!(seen_on_a.iter().all(|seen| seen.epoch == epoch));
    assert_eq!(
        seen_on_a
            .iter()
            .map(|seen| (seen.offset, seen.n))
            .collect::<Vec<_>>(),
        (1..=6).map(|n| (n, n)).collect::<Vec<_>>()
    );

    // A client that saw offset 2 on A reconnects to B.
    let resumed = b.hub.subscriber();
    let since = Position {
        epoch: epoch.clone(),
        offset: 2,
    };
    let subscribed = b
        .hub
        .subscribe(&resumed, tenant.clone(), Some(since), None)
        .await
        .unwrap();
    assert!(subscribed.recovered);
    assert_eq!(
        (subscribed.epoch.as_str(), subscribed.offset),
        (epoch.as_str(), 6)
    );
    let replay = next_events(&resumed, 4).await;
    assert_eq!(replay, seen_on_a[2..].to_vec());
    assert!(
        resumed.outbox.is_empty(),
        "nothing more than what was missed"
    );
}
