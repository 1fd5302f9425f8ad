//! Running the database: migrations apply once, query plans for read-only statements only,
//! statistics refresh, and metrics that name every table.

use std::collections::HashSet;

use switchboard_store::{Backend, DatabaseOptions, Store, StoreError};
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{TestResult, all_messages, inbound, open, tenancy};

backend_tests!(
    migrate_is_idempotent,
    explain_plans_selects_and_refuses_the_rest,
    optimize_and_metrics_report_the_tables,
);

async fn migrate_is_idempotent(database: TestDatabase) -> TestResult {
    let store = Store::connect(DatabaseOptions::new(database.url())).await?;
    // One list for both backends; a migration that does not apply to one is recorded there.
    let every_migration: Vec<i64> = (1..=19).collect();
    assert_eq!(
        store.migrate().await?,
        every_migration,
        "a fresh database gets every migration"
    );
    let tenant = store.create_tenant("kept".into()).await?;
    assert_eq!(
        store.migrate().await?,
        Vec::<i64>::new(),
        "a second run applies nothing"
    );

    // Another node starting on the same database finds the schema in place and the data intact.
    let other_node = Store::connect(DatabaseOptions::new(database.url())).await?;
    assert_eq!(other_node.migrate().await?, Vec::<i64>::new());
    assert_eq!(other_node.get_tenant(tenant.id).await?.name, "kept");
    assert_eq!(store.backend(), database.backend());
    Ok(())
}

async fn explain_plans_selects_and_refuses_the_rest(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    store
        .append_message(acme.tenant.id, inbound(acme.conversation.id, "still here"))
        .await?;

    let plan = store
        .explain("SELECT id FROM messages WHERE conversation_id = 'x' ORDER BY seq DESC LIMIT 50")
        .await?;
    assert!(!plan.is_empty(), "a plan has at least one line");
    assert!(
        plan.join("\n").to_lowercase().contains("messages"),
        "the plan names the table: {plan:?}"
    );

    for statement in [
        "DELETE FROM messages",
        "SELECT 1; DELETE FROM messages",
        "UPDATE tenants SET name = 'x'",
        "",
    ] {
        let result = store.explain(statement).await;
        assert!(
            matches!(result, Err(StoreError::NotReadOnly(_))),
            "`{statement}`: {result:?}"
        );
    }
    let result = store.explain("SELECT * FROM no_such_table").await;
    assert!(
        matches!(result, Err(StoreError::InvalidQuery(_))),
        "{result:?}"
    );

    let listed = all_messages(&store, acme.tenant.id, acme.conversation.id).await?;
    assert_eq!(listed.len(), 1, "nothing was executed");
    assert_eq!(store.get_tenant(acme.tenant.id).await?.name, "acme");
    Ok(())
}

async fn optimize_and_metrics_report_the_tables(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let acme = tenancy(&store, "acme").await?;
    for index in 0..7 {
        store
            .append_message(
                acme.tenant.id,
                inbound(acme.conversation.id, &format!("metric {index}")),
            )
            .await?;
    }
    let ran = store.optimize().await?;
    assert!(ran.contains(&"ANALYZE"), "{ran:?}");
    // Optimizing twice is harmless.
    store.optimize().await?;

    let metrics = store.database_metrics().await?;
    assert_eq!(metrics.backend, database.backend().as_str());
    let names: HashSet<&str> = metrics
        .tables
        .iter()
        .map(|table| table.name.as_str())
        .collect();
    for table in [
        "tenants",
        "users",
        "api_keys",
        "refresh_tokens",
        "contacts",
        "agents",
        "channels",
        "conversations",
        "participants",
        "messages",
        "credit_ledger",
    ] {
        assert!(names.contains(table), "{table} is reported: {names:?}");
    }
    let rows = |name: &str| {
        metrics
            .tables
            .iter()
            .find(|table| table.name == name)
            .map(|table| table.rows)
    };
    // SQLite counts. PostgreSQL reports its statistics' live-row estimate, which ANALYZE sets
    // and which inserts counted by other connections but not yet flushed to the statistics
    // (they are flushed at most once a second) may still raise.
    for (table, stored) in [("messages", 7), ("tenants", 1), ("credit_ledger", 0)] {
        match database.backend() {
            // A table nothing was written to has nothing pending either.
            Backend::Postgres if stored > 0 => {
                assert!(rows(table).is_some_and(|rows| rows >= stored), "{table}");
            }
            _ => assert_eq!(rows(table), Some(stored), "{table}"),
        }
    }
    assert!(metrics.pool.max >= 1);
    if database.backend() == Backend::Postgres {
        assert!(
            metrics.tables.iter().all(|table| table.bytes.is_some()),
            "PostgreSQL reports sizes"
        );
    }
    Ok(())
}
