//! PostgreSQL: statements a killed process left running. The server runs a statement it has
//! received to its end, and commits it, even when the process that sent it died meanwhile: it
//! notices only when it answers. So a node restarted at once after `kill -9` may load its
//! unfinished queue entries while its predecessor's last statements still run, then miss what
//! they commit: a turn's reply entry (the reply is then never sent), an acknowledgement (the
//! entry runs again and finds itself gone), an ingest's entries (they wait, unknown, and the
//! conversation's later messages overtake them). Seen once in about seventy crash tests that
//! killed the node late in a busy stream.
//!
//! Every connection of a store names itself on the server `switchboard/<schema>/<tag>`: its
//! schema's mark (a hash: schemas of one database are separate deployments) and a tag of the
//! store's own ([`name_connection`]). Recovery first waits until no connection of another store
//! of the schema runs a statement or holds a transaction open ([`wait_for_earlier_writers`]),
//! at most [`EARLIER_WRITERS_WAIT`]: longer than any statement of the pipeline takes.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use sqlx::AnyConnection;

use super::Pool;
use crate::DatabaseError;
use crate::db::{Db, query};
use crate::row::RowExt;

/// The longest recovery waits for another store's statements.
const EARLIER_WRITERS_WAIT: Duration = Duration::from_secs(5);

/// How often it looks again meanwhile.
const POLL: Duration = Duration::from_millis(10);

/// A store's tag: what tells its connections from those of another store of its schema.
pub(crate) fn tag() -> String {
    // The last twelve digits of a version 7 id are random.
    let id = uuid::Uuid::now_v7().simple().to_string();
    id[id.len() - 12..].to_owned()
}

/// The start of the name of every store's connections in the current schema.
const SCHEMA_NAME: &str = "'switchboard/' || left(md5(current_schema()), 8) || '/'";

/// Names the connection as one of the store tagged `$1`.
static NAME: LazyLock<String> =
    LazyLock::new(|| format!("SELECT set_config('application_name', {SCHEMA_NAME} || $1, false)"));

/// Counts the connections of other stores of the schema (the store's tag `$1`) that run a
/// statement or hold a transaction open. (A server that does not track activity shows every
/// state as `disabled`, and nothing is waited for.)
static BUSY_ELSEWHERE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT COUNT(*) AS busy FROM pg_stat_activity
         WHERE datname = current_database()
           AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')
           AND application_name LIKE {SCHEMA_NAME} || '%'
           AND application_name <> {SCHEMA_NAME} || $1"
    )
});

/// Names `connection`, just opened, as one of the store tagged `tag`. (Straight through sqlx:
/// the store's own statements take their connections from the pool that opens this one.)
pub(crate) async fn name_connection(
    connection: &mut AnyConnection,
    tag: &str,
) -> Result<(), DatabaseError> {
    sqlx::query(NAME.as_str())
        .bind(tag)
        .execute(connection)
        .await?;
    Ok(())
}

/// Waits until no connection of another store of the schema runs a statement or holds a transaction
/// open on this database, or [`EARLIER_WRITERS_WAIT`] has passed (then proceeds, warning).
pub async fn wait_for_earlier_writers(pool: &Pool) -> Result<(), DatabaseError> {
    let started = Instant::now();
    loop {
        let busy = query(BUSY_ELSEWHERE.as_str())
            .bind(pool.tag())
            .fetch_one(Db::Postgres(pool))
            .await?
            .integer("busy")?;
        if busy == 0 {
            if started.elapsed() >= POLL {
                tracing::info!(waited = ?started.elapsed(), "statements of an earlier process have finished");
            }
            return Ok(());
        }
        if started.elapsed() >= EARLIER_WRITERS_WAIT {
            tracing::warn!(
                busy,
                "connections of another process are still running statements; recovering without \
                 waiting for them (what they commit now is not recovered until the next start)"
            );
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}
