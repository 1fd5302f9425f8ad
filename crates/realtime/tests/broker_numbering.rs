//! Memory streams numbered by a cross-node broker: the hub adopts the broker's epoch and
//! offsets, and a resume across events this node missed is not recovered.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly at the first broken expectation"
)]

use switchboard_core::TenantId;
use switchboard_realtime::{
    Envelope, EventMeta, Frame, Hub, Position, StreamKey, StreamName, Subscriber,
};

fn tenant_key() -> StreamKey {
    static TENANT: std::sync::OnceLock<TenantId> = std::sync::OnceLock::new();
    StreamKey {
        tenant_id: *TENANT.get_or_init(TenantId::new),
        name: StreamName::Tenant,
    }
}

fn numbered(epoch: &str, offset: u64) -> Envelope {
    Envelope {
        key: tenant_key(),
        offset: Some(offset),
        epoch: Some(epoch.into()),
        event: format!("{{\"n\":{offset}}}").into(),
        meta: EventMeta::default(),
    }
}

async fn events(subscriber: &Subscriber) -> Vec<(String, u64)> {
    let mut batch: Vec<Frame> = Vec::new();
    if subscriber.outbox.is_empty() {
        return Vec::new();
    }
    let _ = subscriber.outbox.next_batch(&mut batch).await;
    batch
        .iter()
        .map(|frame| serde_json::from_slice::<serde_json::Value>(&frame.bytes).unwrap())
        .filter(|frame| frame["type"] == "event")
        .map(|frame| {
            (
                frame["epoch"].as_str().unwrap().to_owned(),
                frame["offset"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn resume(hub: &Hub, epoch: &str, offset: u64) -> (bool, Vec<(String, u64)>) {
    let subscriber = hub.subscriber();
    let since = Position {
        epoch: epoch.into(),
        offset,
    };
    let subscribed = hub
        .subscribe(&subscriber, tenant_key(), Some(since), None)
        .await
        .unwrap();
    (subscribed.recovered, events(&subscriber).await)
}

#[tokio::test]
async fn the_hub_takes_the_brokers_epoch_and_offsets() {
    let hub = Hub::default();
    let live = hub.subscriber();
    hub.subscribe(&live, tenant_key(), None, None)
        .await
        .unwrap();
    for offset in 7..=9 {
        hub.publish(numbered("aaaa", offset));
    }
    let aaaa = |offset| ("aaaa".to_owned(), offset);
    assert_eq!(events(&live).await, vec![aaaa(7), aaaa(8), aaaa(9)]);
    assert_eq!(
        resume(&hub, "aaaa", 7).await,
        (true, vec![aaaa(8), aaaa(9)])
    );
    // Joined at 7: what came before is not here.
    assert!(!resume(&hub, "aaaa", 5).await.0);

    // A repeated offset is not delivered twice.
    hub.publish(numbered("aaaa", 9));
    assert_eq!(events(&live).await, vec![]);

    // Redis lost its counters: a new epoch starts over, and the old one cannot be resumed.
    hub.publish(numbered("bbbb", 1));
    assert_eq!(events(&live).await, vec![("bbbb".to_owned(), 1)]);
    assert!(!resume(&hub, "aaaa", 8).await.0);
    assert_eq!(
        resume(&hub, "bbbb", 0).await,
        (true, vec![("bbbb".to_owned(), 1)])
    );
}

#[tokio::test]
async fn an_offset_missed_on_this_node_makes_resuming_across_it_unrecovered() {
    let hub = Hub::default();
    for offset in 1..=3 {
        hub.publish(numbered("cccc", offset));
    }
    // Offset 4 never arrived here.
    hub.publish(numbered("cccc", 5));
    hub.publish(numbered("cccc", 6));
    let cccc = |offset| ("cccc".to_owned(), offset);
    let (recovered, _) = resume(&hub, "cccc", 2).await;
    assert!(!recovered, "offset 4 would be skipped silently");
    assert_eq!(
        resume(&hub, "cccc", 4).await,
        (true, vec![cccc(5), cccc(6)])
    );
}

#[tokio::test]
async fn without_an_epoch_the_hub_numbers_as_before() {
    let hub = Hub::default();
    let publish = |n: u64| {
        hub.publish(Envelope {
            key: tenant_key(),
            offset: None,
            epoch: None,
            event: format!("{{\"n\":{n}}}").into(),
            meta: EventMeta::default(),
        })
    };
    publish(1);
    publish(2);
    let subscriber = hub.subscriber();
    let subscribed = hub
        .subscribe(&subscriber, tenant_key(), None, None)
        .await
        .unwrap();
    assert_eq!(subscribed.offset, 2);
    let (recovered, replay) = resume(&hub, &subscribed.epoch, 0).await;
    assert!(recovered);
    assert_eq!(
        replay.iter().map(|(_, offset)| *offset).collect::<Vec<_>>(),
        vec![1, 2]
    );
}
