//! PostgreSQL's connections: a write whose caller gave up mid-statement leaves nothing behind,
//! neither its changes nor a pooled connection stuck inside its transaction or still owed the
//! answer to its statement; and a statement whose process was killed, which the server still
//! commits, is seen by the recovery of the process restarted after it.

use std::time::Duration;

use sqlx::Connection as _;
use switchboard_core::{Credits, EntryKind, MessageId};
use switchboard_store::NewLedgerEntry;
use switchboard_test_database::TestDatabase;

use crate::fixtures::{TestResult, open, tenancy};
use crate::turns::{answer, keeping, queued_run};

fn grant(amount: i64, key: String) -> NewLedgerEntry {
    NewLedgerEntry {
        amount: Credits(amount),
        reason: "grant".into(),
        idempotency_key: key,
    }
}

#[tokio::test]
async fn a_write_given_up_mid_statement_leaves_nothing_behind() -> TestResult {
    let database = TestDatabase::postgres().await;
    let store = open(&database).await;
    let tenant = store.create_tenant("acme".into()).await?.id;

    // Another session holds the tenant's row, so the grant's update waits for it.
    let mut holder = sqlx::PgConnection::connect(database.url()).await?;
    let mut lock = holder.begin().await?;
    sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
        .bind(tenant.to_string())
        .fetch_one(&mut *lock)
        .await?;
    let abandoned = store.record_credits(tenant, grant(100, "abandoned".into()));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), abandoned)
            .await
            .is_err(),
        "the grant waits for the row"
    );
    // The abandoned statement still waits on the server. A read must not get its connection
    // and wait behind it for an answer that comes only when the lock is released.
    let read = tokio::time::timeout(Duration::from_secs(2), store.credit_balance(tenant)).await;
    assert_eq!(
        read.ok().transpose()?,
        Some(Credits(0)),
        "a read goes on while the abandoned write's statement is still blocked"
    );
    lock.commit().await?;

    // Use every connection the pool may hold, at once: none may still be inside the abandoned
    // transaction (its commit would apply the abandoned grant too) or owe it an answer.
    let max = i64::from(store.pool_stats().max);
    let grants = (0..max * 2).map(|n| store.record_credits(tenant, grant(1, format!("after-{n}"))));
    for result in futures::future::join_all(grants).await {
        result?;
    }
    assert_eq!(
        store.credit_balance(tenant).await?,
        Credits(max * 2),
        "only the grants that finished are applied"
    );
    Ok(())
}

#[tokio::test]
async fn recovery_sees_what_a_killed_process_committed_after_it_died() -> TestResult {
    let database = TestDatabase::postgres().await;
    let earlier = open(&database).await;
    let acme = tenancy(&earlier, "acme").await?;
    let run = queued_run(&earlier, &acme, "wamid.killed").await?;

    // The earlier process's last turn waits for the conversation's row, held elsewhere; the
    // process goes away meanwhile, and the server commits the turn once the row is free.
    let mut holder = sqlx::PgConnection::connect(database.url()).await?;
    sqlx::query("BEGIN").execute(&mut holder).await?;
    sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR UPDATE")
        .bind(run.conversation_id.to_string())
        .fetch_one(&mut holder)
        .await?;
    let reply_id = MessageId::new();
    let (registrar, _) = keeping();
    let turn = earlier.commit_turn(acme.tenant.id, answer(&acme, &run, reply_id, 0), registrar);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), turn)
            .await
            .is_err(),
        "the turn waits for the row"
    );
    earlier.close().await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sqlx::query("COMMIT").execute(&mut holder).await
    });

    let restarted = open(&database).await;
    let unfinished = switchboard_queue::entries::load_unfinished(restarted.database()).await?;
    release.await??;
    let recovered: Vec<_> = unfinished
        .iter()
        .map(|entry| (entry.kind, entry.message_id))
        .collect();
    assert_eq!(
        recovered,
        vec![(EntryKind::Deliver, reply_id)],
        "recovery waits for the turn: its run is acknowledged and its reply queued to send"
    );
    Ok(())
}
