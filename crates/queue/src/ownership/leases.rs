//! The SQL of several nodes (PostgreSQL only): `cluster_nodes`, where each node says it is
//! alive, and `cluster_leases`, one row per partition. Every time is the database's clock in
//! milliseconds, so the nodes' clocks never meet. Each statement commits by itself on a pooled
//! connection (`Database::reader` on PostgreSQL).

use std::time::Duration;

use switchboard_core::{OrderingKey, QueueEntry};
use switchboard_database::{Database, DatabaseError, query};

use super::PARTITIONS;
use crate::entries::{COLUMNS, entry_from_row};

/// Now, on the database's clock, in Unix milliseconds.
const NOW: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn partitions_json(partitions: &[u32]) -> String {
    let list: Vec<String> = partitions.iter().map(u32::to_string).collect();
    format!("[{}]", list.join(","))
}

fn partition_of_lease(name: &str) -> Option<u32> {
    name.strip_prefix("partition:")?
        .parse()
        .ok()
        .filter(|partition| *partition < PARTITIONS)
}

/// Who this node is, as `cluster_nodes` records it.
pub(crate) struct NodeRow<'a> {
    pub node_id: &'a str,
    pub name: &'a str,
    pub role: &'a str,
}

/// Says the node is alive for `ttl` more, renews every lease it holds that has not expired
/// (one statement for all of them), and counts the nodes alive that run work. Returns the
/// partitions still held and that count.
pub(crate) async fn heartbeat(
    database: &Database,
    node: &NodeRow<'_>,
    ttl: Duration,
) -> Result<(Vec<u32>, usize), DatabaseError> {
    query(format!(
        "INSERT INTO cluster_nodes (node_id, name, role, started_at, expires_at)
         VALUES ($1, $2, $3, {NOW}, {NOW} + $4)
         ON CONFLICT (node_id) DO UPDATE SET expires_at = EXCLUDED.expires_at"
    ))
    .bind(node.node_id)
    .bind(node.name)
    .bind(node.role)
    .bind(millis(ttl))
    .execute(database.reader())
    .await?;
    let held = query(format!(
        "UPDATE cluster_leases SET expires_at = {NOW} + $2
         WHERE holder = $1 AND expires_at >= {NOW} RETURNING name"
    ))
    .bind(node.node_id)
    .bind(millis(ttl))
    .fetch_scalars::<String>(database.reader())
    .await?;
    let workers: i64 = query(format!(
        "SELECT COUNT(*) FROM cluster_nodes WHERE expires_at > {NOW} AND role <> 'api'"
    ))
    .fetch_scalar(database.reader())
    .await?;
    let held = held
        .iter()
        .filter_map(|name| partition_of_lease(name))
        .collect();
    Ok((held, usize::try_from(workers).unwrap_or(0)))
}

/// Claims up to `wanted` partitions nobody holds (or whose holder let its lease expire),
/// without waiting for rows another node is claiming at the same moment.
pub(crate) async fn claim(
    database: &Database,
    node_id: &str,
    wanted: usize,
    ttl: Duration,
) -> Result<Vec<u32>, DatabaseError> {
    let names = query(format!(
        "UPDATE cluster_leases SET holder = $1, expires_at = {NOW} + $2, claims = claims + 1
         WHERE name IN (
             SELECT name FROM cluster_leases
             WHERE name LIKE 'partition:%' AND (holder IS NULL OR expires_at < {NOW})
             ORDER BY random() LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING name"
    ))
    .bind(node_id)
    .bind(millis(ttl))
    .bind(i64::try_from(wanted).unwrap_or(0))
    .fetch_scalars::<String>(database.reader())
    .await?;
    Ok(names
        .iter()
        .filter_map(|name| partition_of_lease(name))
        .collect())
}

/// Stamps the unfinished entries of `partitions` with this node's fencing token and returns
/// them, each key's in order. A statement of the previous holder still running holds its
/// entries' rows: the stamp waits for it, so whatever it committed is read here, and whatever
/// it tries after is refused by the stamp.
pub(crate) async fn stamp(
    database: &Database,
    node_id: &str,
    partitions: &[u32],
) -> Result<Vec<QueueEntry>, DatabaseError> {
    let rows = query(format!(
        "UPDATE queue_entries SET owner = $1
         WHERE partition IN (SELECT value::INTEGER FROM json_array_elements_text($2::json))
           AND state <> 'dead'
         RETURNING {COLUMNS}"
    ))
    .bind(node_id)
    .bind(partitions_json(partitions))
    .fetch_all(database.reader())
    .await?;
    let mut entries = rows
        .iter()
        .map(entry_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort_by(|a, b| (&a.ordering_key, a.key_seq).cmp(&(&b.ordering_key, b.key_seq)));
    Ok(entries)
}

/// Gives `partitions` back, for another node to claim at once.
pub(crate) async fn release(
    database: &Database,
    node_id: &str,
    partitions: &[u32],
) -> Result<(), DatabaseError> {
    let names: Vec<String> = partitions
        .iter()
        .map(|partition| format!("\"partition:{partition}\""))
        .collect();
    query(
        "UPDATE cluster_leases SET holder = NULL, expires_at = 0
         WHERE holder = $1 AND name IN (SELECT json_array_elements_text($2::json))",
    )
    .bind(node_id)
    .bind(format!("[{}]", names.join(",")))
    .execute(database.reader())
    .await?;
    Ok(())
}

/// Keys of `partitions` with unfinished entries, only those queued since `since` (Unix
/// milliseconds on the writers' clocks) when given.
pub(crate) async fn keys_with_work(
    database: &Database,
    partitions: &[u32],
    since: Option<i64>,
) -> Result<Vec<OrderingKey>, DatabaseError> {
    let keys = query(
        "SELECT DISTINCT ordering_key FROM queue_entries
         WHERE partition IN (SELECT value::INTEGER FROM json_array_elements_text($1::json))
           AND state <> 'dead' AND created_at >= $2",
    )
    .bind(partitions_json(partitions))
    .bind(since.unwrap_or(i64::MIN))
    .fetch_scalars::<String>(database.reader())
    .await?;
    Ok(keys.iter().filter_map(|key| key.parse().ok()).collect())
}

/// The unfinished entries of `keys`, each key's in order.
pub(crate) async fn entries_of(
    database: &Database,
    keys: &[OrderingKey],
) -> Result<Vec<QueueEntry>, DatabaseError> {
    let list = serde_json::Value::from(keys.iter().map(OrderingKey::as_str).collect::<Vec<_>>());
    let rows = query(format!(
        "SELECT {COLUMNS} FROM queue_entries
         WHERE ordering_key IN (SELECT json_array_elements_text($1::json)) AND state <> 'dead'
         ORDER BY ordering_key, key_seq"
    ))
    .bind(list.to_string())
    .fetch_all(database.reader())
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// Forgets nodes gone for over a minute.
pub(crate) async fn forget_departed(database: &Database) -> Result<(), DatabaseError> {
    query(format!(
        "DELETE FROM cluster_nodes WHERE expires_at < {NOW} - 60000"
    ))
    .execute(database.reader())
    .await?;
    Ok(())
}
