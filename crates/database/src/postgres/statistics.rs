//! Planner statistics for young tables.
//!
//! PostgreSQL plans a prepared statement from its tables' statistics and keeps the plan for
//! the connection's life, until new statistics arrive. A new database has none: autovacuum
//! first analyzes a table a minute or more after it fills. A plan made meanwhile, on near-empty
//! tables, may find a conversation by its id through an index on `tenant_id` alone, reading
//! every conversation of the tenant. Measured on a fresh database at 300 messages a second,
//! analyzing after four seconds cut PostgreSQL's CPU per message by a third.
//!
//! So every half second this analyzes each table of the schema that has never been analyzed
//! and now has rows, or that has doubled since; the new statistics make every connection plan
//! its statements again. Once tables grow slowly, autovacuum alone keeps them analyzed. (Every
//! two seconds, a fresh database at 1,000 messages a second answered its first three seconds'
//! messages in p50 0.36–0.84 s; every half second, 0.14–0.44 s.)
//!
//! Tables whose rows turn over (queue entries and the inbox, deleted as fast as they are added;
//! conversations, whose counters move with every message) are vacuumed here too, once their
//! dead rows outnumber the live ones many times: autovacuum visits a table at most once a
//! minute, and at a thousand messages a second the queue's few live rows sit among tens of
//! thousands of dead ones by then. The planner then reads the whole table, not its primary
//! key, to find a batch of entries by id (measured: 330 pages scanned to delete two entries).
//!
//! Each pass runs on one connection leased for it, not as reads of the pool: what the store
//! reads is counted ([`crate::Database::reads_run`]), and this upkeep is none of it.

use std::collections::HashMap;
use std::sync::Weak;
use std::time::Duration;

use super::Pool;
use crate::DatabaseError;
use crate::db::{Db, query};
use crate::row::RowExt;

/// How often tables are looked at for analyzing: often enough that a new database's tables
/// are analyzed within about a second of filling (the statistics behind it lag up to a second).
const INTERVAL: Duration = Duration::from_millis(500);

/// How often tables are looked at for vacuuming.
const VACUUM_INTERVAL: Duration = Duration::from_secs(2);

/// Rows a table needs before its statistics matter.
const MIN_ROWS: i64 = 100;

/// Dead rows a table needs before it is vacuumed here, and how many times its live rows.
const MIN_DEAD_ROWS: i64 = 1000;
const DEAD_PER_LIVE: i64 = 4;

/// Analyzes young tables every [`INTERVAL`], and vacuums churned ones every
/// [`VACUUM_INTERVAL`], while the pool exists.
pub(crate) fn keep_fresh(pool: Weak<Pool>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tried = Tried::new();
        let mut next_vacuum = tokio::time::Instant::now();
        loop {
            let now = interval.tick().await;
            let Some(pool) = pool.upgrade() else {
                return;
            };
            if pool.is_closed() {
                return;
            }
            let vacuum = now >= next_vacuum;
            if vacuum {
                next_vacuum = now + VACUUM_INTERVAL;
            }
            if let Err(error) = keep_up(&pool, &mut tried, vacuum).await {
                tracing::debug!(%error, "no connection to keep statistics fresh; trying again later");
            }
        }
    });
}

/// One pass: analyzes young tables, then (if `vacuum`) vacuums churned ones, on one connection.
/// Fails only when no connection could be had; what fails on it is logged here.
async fn keep_up(pool: &Pool, tried: &mut Tried, vacuum: bool) -> Result<(), DatabaseError> {
    let mut lease = pool.acquire().await?;
    let mut connection = Db::PostgresConnection(lease.connection());
    let analyzed = analyze_young_tables(&mut connection, tried).await;
    if let Err(error) = &analyzed {
        tracing::debug!(%error, "analyzing young tables failed; trying again later");
    }
    let vacuumed = if vacuum {
        vacuum_churned_tables(&mut connection).await
    } else {
        Ok(())
    };
    if let Err(error) = &vacuumed {
        tracing::debug!(%error, "vacuuming churned tables failed; trying again later");
    }
    // A connection that failed is closed rather than put back.
    let _ = lease.settle(analyzed.and(vacuumed));
    Ok(())
}

/// The rows each table had when it was last analyzed here. A role that does not own a table
/// cannot analyze it (PostgreSQL skips it with a warning); it is tried again only once the table
/// has doubled.
type Tried = HashMap<String, i64>;

async fn analyze_young_tables(
    connection: &mut Db<'_>,
    tried: &mut Tried,
) -> Result<(), DatabaseError> {
    // `reltuples` is what the last analysis counted: -1 before the first.
    let young = query(
        "SELECT s.relid::regclass::text AS name, s.n_live_tup AS live
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
         WHERE s.schemaname = current_schema()
           AND s.n_live_tup >= $1
           AND s.n_live_tup > 2 * GREATEST(c.reltuples, 0)",
    )
    .bind(MIN_ROWS)
    .fetch_all(&mut *connection)
    .await?;
    for table in &young {
        let (name, live) = (table.text("name")?, table.integer("live")?);
        if tried.get(&name).is_some_and(|&rows| live <= 2 * rows) {
            continue;
        }
        tracing::debug!(table = %name, rows = live, "analyzing a young table");
        // The name comes quoted from the catalog (`regclass`).
        query(format!("ANALYZE {name}"))
            .execute(&mut *connection)
            .await?;
        tried.insert(name, live);
    }
    Ok(())
}

/// Vacuums each table of the schema whose dead rows outnumber its live ones
/// [`DEAD_PER_LIVE`] times over (and number [`MIN_DEAD_ROWS`]).
async fn vacuum_churned_tables(connection: &mut Db<'_>) -> Result<(), DatabaseError> {
    let churned = query(
        "SELECT s.relid::regclass::text AS name, s.n_dead_tup AS dead
         FROM pg_stat_user_tables s
         WHERE s.schemaname = current_schema()
           AND s.n_dead_tup >= $1
           AND s.n_dead_tup > $2 * s.n_live_tup",
    )
    .bind(MIN_DEAD_ROWS)
    .bind(DEAD_PER_LIVE)
    .fetch_all(&mut *connection)
    .await?;
    for table in &churned {
        let (name, dead) = (table.text("name")?, table.integer("dead")?);
        tracing::debug!(table = %name, dead, "vacuuming a churned table");
        // The name comes quoted from the catalog (`regclass`).
        query(format!("VACUUM {name}"))
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DatabaseOptions;
    use crate::postgres::tests::server_url;

    /// What the last analysis counted in `table` (-1: never analyzed).
    async fn counted(pool: &Pool, table: &str) -> Result<f64, DatabaseError> {
        query("SELECT reltuples::float8 FROM pg_class WHERE oid = $1::regclass")
            .bind(table)
            .fetch_scalar(Db::Postgres(pool))
            .await
    }

    /// A count of `pg_stat_user_tables` for `table`: how often it was analyzed or vacuumed.
    async fn times(pool: &Pool, table: &str, count: &str) -> Result<i64, DatabaseError> {
        query(format!(
            "SELECT {count} FROM pg_stat_user_tables WHERE relid = $1::regclass"
        ))
        .bind(table)
        .fetch_scalar(Db::Postgres(pool))
        .await
    }

    #[tokio::test]
    async fn a_table_that_fills_is_analyzed_and_then_left_to_autovacuum()
    -> Result<(), DatabaseError> {
        sqlx::any::install_default_drivers();
        let pool = Pool::connect(&DatabaseOptions::new(server_url())).await?;
        let table = format!("young_{}", uuid::Uuid::now_v7().simple());
        query(format!("CREATE TABLE {table} (id BIGINT PRIMARY KEY)"))
            .execute(Db::Postgres(&pool))
            .await?;
        {
            // A connection reports its row counts to the statistics views when it next goes
            // idle, at most once a second unless asked to at once: the insert's, asked after it.
            let mut lease = pool.acquire().await?;
            let mut connection = Db::PostgresConnection(lease.connection());
            query(format!(
                "INSERT INTO {table} SELECT generate_series(1, 500)"
            ))
            .execute(&mut connection)
            .await?;
            query("SELECT pg_stat_force_next_flush()")
                .execute(&mut connection)
                .await?;
            lease.settle(Ok::<_, DatabaseError>(()))?;
        }
        assert!(counted(&pool, &table).await? < 0.0, "never analyzed yet");
        analyze_young_tables(&mut Db::Postgres(&pool), &mut Tried::new()).await?;
        let analyzed = counted(&pool, &table).await? >= 500.0;
        let first = times(&pool, &table, "analyze_count").await;
        analyze_young_tables(&mut Db::Postgres(&pool), &mut Tried::new()).await?;
        let again = times(&pool, &table, "analyze_count").await;
        query(format!("DROP TABLE {table}"))
            .execute(Db::Postgres(&pool))
            .await?;
        pool.close().await;
        assert!(analyzed, "the table was analyzed once it had rows");
        assert_eq!(
            first?, again?,
            "a table that has not grown since is not analyzed again"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_table_whose_rows_turned_over_is_vacuumed() -> Result<(), DatabaseError> {
        sqlx::any::install_default_drivers();
        let pool = Pool::connect(&DatabaseOptions::new(server_url())).await?;
        let table = format!("churned_{}", uuid::Uuid::now_v7().simple());
        query(format!("CREATE TABLE {table} (id BIGINT PRIMARY KEY)"))
            .execute(Db::Postgres(&pool))
            .await?;
        let churn = async |rows: i64| -> Result<(), DatabaseError> {
            let mut lease = pool.acquire().await?;
            let mut connection = Db::PostgresConnection(lease.connection());
            query(format!(
                "INSERT INTO {table} SELECT generate_series(1, {rows})"
            ))
            .execute(&mut connection)
            .await?;
            query(format!("DELETE FROM {table}"))
                .execute(&mut connection)
                .await?;
            query("SELECT pg_stat_force_next_flush()")
                .execute(&mut connection)
                .await?;
            lease.settle(Ok(()))
        };
        churn(MIN_DEAD_ROWS / 2).await?;
        vacuum_churned_tables(&mut Db::Postgres(&pool)).await?;
        let few_dead = times(&pool, &table, "vacuum_count").await;
        churn(MIN_DEAD_ROWS).await?;
        vacuum_churned_tables(&mut Db::Postgres(&pool)).await?;
        let many_dead = times(&pool, &table, "vacuum_count").await;
        query(format!("DROP TABLE {table}"))
            .execute(Db::Postgres(&pool))
            .await?;
        pool.close().await;
        assert_eq!(few_dead?, 0, "a few dead rows are left to autovacuum");
        assert_eq!(many_dead?, 1, "many dead rows and no live ones: vacuumed");
        Ok(())
    }
}
