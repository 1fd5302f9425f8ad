//! The credit ledger: one entry per idempotency key, newest first, and a balance that is always
//! the sum of the entries.

use switchboard_core::{Credits, TenantId};
use switchboard_store::{NewLedgerEntry, PageRequest};
use switchboard_test_database::{TestDatabase, backend_tests};

use crate::fixtures::{TestResult, assert_not_found, open};

backend_tests!(credits_are_recorded_once_per_idempotency_key,);

async fn credits_are_recorded_once_per_idempotency_key(database: TestDatabase) -> TestResult {
    let store = open(&database).await;
    let tenant = store.create_tenant("acme".into()).await?.id;
    let entry = |amount: i64, key: &str| NewLedgerEntry {
        amount: Credits(amount),
        reason: format!("entry {key}"),
        idempotency_key: key.to_owned(),
    };
    let (grant, created) = store.record_credits(tenant, entry(100, "grant-1")).await?;
    assert!(created);
    assert_eq!(grant.balance_after, Credits(100));
    let (debit, _) = store.record_credits(tenant, entry(-30, "run-1")).await?;
    assert_eq!(debit.balance_after, Credits(70));

    let (replayed, created) = store.record_credits(tenant, entry(500, "grant-1")).await?;
    assert!(!created, "the same key is recorded once");
    assert_eq!(replayed, grant, "and answered with the original entry");
    assert_eq!(
        store.credit_balance(tenant).await?,
        Credits(70),
        "the replay moved nothing"
    );

    let (second_grant, _) = store.record_credits(tenant, entry(5, "grant-2")).await?;
    // Keys are scoped to the tenant.
    let other = store.create_tenant("other".into()).await?.id;
    assert!(store.record_credits(other, entry(1, "grant-1")).await?.1);

    let ledger = store
        .list_ledger(tenant, &PageRequest::default())
        .await?
        .data;
    assert_eq!(
        ledger.iter().map(|entry| entry.id).collect::<Vec<_>>(),
        vec![second_grant.id, debit.id, grant.id],
        "newest first"
    );
    let sum: i64 = ledger.iter().map(|entry| entry.amount.0).sum();
    assert_eq!(
        store.credit_balance(tenant).await?,
        Credits(sum),
        "the balance is the sum of the ledger"
    );
    assert_eq!(store.get_tenant(tenant).await?.credit_balance, Credits(75));

    let mut paged = Vec::new();
    let mut page = PageRequest::first(1);
    loop {
        let listed = store.list_ledger(tenant, &page).await?;
        paged.extend(listed.data.into_iter().map(|entry| entry.id));
        let Some(cursor) = listed.next_cursor else {
            break;
        };
        page.cursor = Some(cursor);
    }
    assert_eq!(
        paged,
        ledger.iter().map(|entry| entry.id).collect::<Vec<_>>()
    );
    assert_not_found(
        store
            .record_credits(TenantId::new(), entry(1, "ghost"))
            .await,
    );
    assert_not_found(store.credit_balance(TenantId::new()).await);
    Ok(())
}
