//! Databases made by an earlier release open and migrate: nothing applied twice, nothing lost.
//!
//! `legacy/sqlite-2026-12-05.db*.gz` are a SQLite database and its inbox file as the release of
//! 2026-12-05 left them after `switchboard migrate` and `switchboard admin create-tenant --name
//! legacy`: migrations numbered per dialect then (the search index change was 6 on SQLite), the
//! inbox's table made when the store opened, outside the migrations.

use std::io::Read;

use sqlx::{Connection, SqliteConnection};
use switchboard_store::{DatabaseOptions, PageRequest, SearchQuery, Store};

use crate::fixtures::{TestResult, inbound, tenancy};

/// Writes a gzipped fixture out as `path`.
fn unpack(gzipped: &[u8], path: &std::path::Path) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(gzipped).read_to_end(&mut bytes)?;
    std::fs::write(path, bytes)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_of_the_previous_release_opens_and_migrates() -> TestResult {
    let directory = tempfile::tempdir()?;
    let path = directory.path().join("switchboard.db");
    unpack(include_bytes!("legacy/sqlite-2026-12-05.db.gz"), &path)?;
    unpack(
        include_bytes!("legacy/sqlite-2026-12-05.db-inbox.gz"),
        &directory.path().join("switchboard.db-inbox"),
    )?;
    let url = format!("sqlite://{}", path.display());

    let store = Store::connect(DatabaseOptions::new(url.clone())).await?;
    assert_eq!(
        store.migrate().await?,
        [6, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
        "only what it lacked: the inbox recorded (its table was there), fillfactor (nothing), \
         users' names and emails, messages' idempotency keys, imports, analytics, the queue's \
         fencing stamp, calls, the audit log, the messages' recency index and roll-ups by tier \
         (nothing), conversations' indexes"
    );
    assert_eq!(store.migrate().await?, Vec::<i64>::new());
    let tenants = store.list_tenants(&PageRequest::first(10)).await?;
    assert!(
        tenants.data.iter().any(|tenant| tenant.name == "legacy"),
        "the data is intact: {:?}",
        tenants.data
    );

    // The search index kept working through the renumbering, and the inbox takes messages.
    let acme = tenancy(&store, "acme").await?;
    store
        .append_message(
            acme.tenant.id,
            inbound(acme.conversation.id, "parcel arrived"),
        )
        .await?;
    let query = SearchQuery {
        text: "parcel".into(),
        conversation_id: None,
    };
    let found = store
        .search_messages(acme.tenant.id, &query, &PageRequest::first(5))
        .await?;
    assert_eq!(found.data.len(), 1);
    store.close().await;

    let mut connection = SqliteConnection::connect(&url).await?;
    let recorded: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, name FROM schema_migrations ORDER BY version")
            .fetch_all(&mut connection)
            .await?;
    let names: Vec<&str> = recorded.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "init",
            "pipeline",
            "streams",
            "agent_runtime",
            "follow_up_schedule",
            "inbox",
            "dead_letter_index",
            "message_fillfactor",
            "search_index_per_commit",
            "user_name_email",
            "message_idempotency_key",
            "imports",
            "analytics",
            "cluster",
            "calls",
            "audit",
            "message_recency",
            "rollups_by_tier",
            "conversation_indexes",
        ],
        "each name under its number in the one list"
    );
    assert_eq!(recorded.last().map(|(version, _)| *version), Some(19));
    Ok(())
}
