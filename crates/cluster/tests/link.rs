//! The link: it fails at once without Redis, hears its own heartbeats, carries wake-ups between
//! nodes, and notices a subscription that went silent and makes it again by itself.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly at the first broken expectation"
)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use switchboard_cluster::{ClusterError, RedisLink, WakeUp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// Long enough for a heartbeat round trip on a loaded machine.
const ROUND_TRIP: Duration = Duration::from_secs(5);

async fn next_wake_up(rx: &mut broadcast::Receiver<WakeUp>) -> WakeUp {
    tokio::time::timeout(ROUND_TRIP, rx.recv())
        .await
        .expect("the wake-up arrives")
        .unwrap()
}

/// Waits until a heartbeat has made the round trip.
async fn until_healthy(link: &RedisLink) {
    let deadline = tokio::time::Instant::now() + ROUND_TRIP;
    while !link.health().healthy {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no heartbeat came back: {:?}",
            link.health()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn connecting_where_no_redis_listens_fails_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let config = support::config(&format!("redis://{address}"), "unused", "a");
    let result = RedisLink::connect(config).await;
    assert!(
        matches!(
            result,
            Err(ClusterError::Connect(_) | ClusterError::Timeout(_))
        ),
        "connecting to nothing did not fail as expected"
    );
}

#[tokio::test]
async fn wake_ups_reach_every_node_with_their_sender() {
    let prefix = support::fresh_prefix();
    let a = support::link(&prefix, "a").await;
    let b = support::link(&prefix, "b").await;
    assert_eq!(
        *a.resubscribed().borrow(),
        1,
        "the first subscription counts"
    );
    let mut on_a = a.wake_ups();
    let mut on_b = b.wake_ups();
    a.wake("work", "conversation:1");
    let expected = WakeUp {
        topic: "work".into(),
        body: "conversation:1".into(),
        from: "a".into(),
    };
    assert_eq!(next_wake_up(&mut on_b).await, expected);
    assert_eq!(next_wake_up(&mut on_a).await, expected);

    // Another deployment's wake-ups are not heard.
    let elsewhere = support::link(&support::fresh_prefix(), "c").await;
    elsewhere.wake("cancel", "run-1");
    b.wake("cancel", "run-2\nwith a second line");
    assert_eq!(
        next_wake_up(&mut on_a).await.body,
        "run-2\nwith a second line"
    );

    until_healthy(&a).await;
    let health = a.health();
    assert!(health.subscribed);
    assert!(health.last_heartbeat_age.unwrap() <= Duration::from_secs(3));
}

#[tokio::test]
async fn a_subscription_gone_silent_is_made_again() {
    let proxy = Proxy::start(&support::redis_url()).await;
    let prefix = support::fresh_prefix();
    let config = support::config(&format!("redis://{}", proxy.address), &prefix, "a");
    let through_proxy = RedisLink::connect(config).await.unwrap();
    let direct = support::link(&prefix, "b").await;
    until_healthy(&through_proxy).await;
    let mut resubscribed = through_proxy.resubscribed();
    resubscribed.borrow_and_update();

    // The connections stay open but nothing passes any more: a half-open connection.
    proxy.silence_open_connections();
    tokio::time::timeout(Duration::from_secs(20), resubscribed.changed())
        .await
        .expect("the link subscribes again by itself")
        .unwrap();
    assert_eq!(*resubscribed.borrow(), 2);

    let mut wake_ups = through_proxy.wake_ups();
    direct.wake("work", "after");
    assert_eq!(next_wake_up(&mut wake_ups).await.body, "after");
    until_healthy(&through_proxy).await;
}

/// A TCP proxy to Redis that can silence every connection open so far (it keeps them open and
/// drops what they carry) while new connections pass.
struct Proxy {
    address: SocketAddr,
    generation: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(redis_url: &str) -> Proxy {
        let host = redis_url
            .trim_start_matches("redis://")
            .split(['/', '?'])
            .next()
            .unwrap()
            .rsplit('@')
            .next()
            .unwrap()
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let generation = Arc::new(AtomicU64::new(0));
        let current = generation.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&host).await else {
                    continue;
                };
                let born = current.load(Ordering::SeqCst);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(forward(client_read, server_write, born, current.clone()));
                tokio::spawn(forward(server_read, client_write, born, current.clone()));
            }
        });
        Proxy {
            address,
            generation,
        }
    }

    fn silence_open_connections(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    born: u64,
    generation: Arc<AtomicU64>,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if generation.load(Ordering::SeqCst) != born {
            continue;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
