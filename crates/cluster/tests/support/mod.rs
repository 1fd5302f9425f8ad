//! What every test of the crate needs: the test Redis (`SWITCHBOARD_TEST_REDIS_URL`, by default
//! `redis://127.0.0.1:6379`; `scripts/redis.sh` starts one) and a prefix of its own, so tests
//! running at once never share a key or a channel.

use switchboard_cluster::{LinkConfig, RedisLink};

pub fn redis_url() -> String {
    std::env::var("SWITCHBOARD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A prefix no other test uses.
pub fn fresh_prefix() -> String {
    format!("switchboard-test-{:016x}", rand::random::<u64>())
}

pub fn config(url: &str, prefix: &str, node_id: &str) -> LinkConfig {
    LinkConfig {
        url: url.to_owned(),
        prefix: prefix.to_owned(),
        node_id: node_id.to_owned(),
    }
}

pub async fn link(prefix: &str, node_id: &str) -> RedisLink {
    RedisLink::connect(config(&redis_url(), prefix, node_id))
        .await
        .expect("the test Redis answers (scripts/redis.sh starts one)")
}
