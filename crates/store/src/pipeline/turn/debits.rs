//! A run's debit: its cost taken from the tenant's balance once, under the ledger key
//! `run:<first message id>`, and refused if the balance would go below zero. On SQLite it is
//! one more write of the turn's transaction; on PostgreSQL a statement of its own just before
//! it ([`debit_once`]).

use switchboard_core::{Credits, TenantId};

use crate::StoreError;
use crate::pipeline::turn::RunRecord;
use switchboard_database::{Db, query};
use switchboard_database::{RowExt, millis, now};

/// What a run's debit is recorded as: its ledger key (`run:<first message id>`), which makes a
/// second debit for the same messages impossible, and its reason.
pub(crate) fn debit_entry(run: &RunRecord) -> (String, String) {
    let key = format!(
        "run:{}",
        run.message_ids
            .first()
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    (key, format!("agent run {}", run.id))
}

/// Debits a run's cost inside the turn's transaction (SQLite); refuses to take the balance
/// below zero. A second debit for the same messages fails the whole transaction on the ledger's
/// unique key; acknowledging the entry first already makes that unreachable.
pub(crate) async fn debit(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    cost: Credits,
    run: &RunRecord,
) -> Result<(), StoreError> {
    let (key, reason) = debit_entry(run);
    debit_under(connection, tenant_id, cost, key, reason, Overdraft::Refused).await
}

/// Whether a debit may take the balance below zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overdraft {
    /// The work is yet to be done: without the credits it is not (`InsufficientCredits`).
    Refused,
    /// The work is done (a call that took place): it is paid for whatever the balance.
    Allowed,
}

/// Debits `cost` under the ledger key `key` inside the caller's transaction, with the balance
/// after it; a second debit of one key fails the transaction on the ledger's unique key.
pub(crate) async fn debit_under(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    cost: Credits,
    key: String,
    reason: String,
    overdraft: Overdraft,
) -> Result<(), StoreError> {
    let guard = match overdraft {
        Overdraft::Refused => " AND credit_balance >= $2",
        Overdraft::Allowed => "",
    };
    let balance: i64 = query(format!(
        "UPDATE tenants SET credit_balance = credit_balance - $2 WHERE id = $1{guard}
         RETURNING credit_balance"
    ))
    .bind(tenant_id.to_string())
    .bind(cost.0)
    .fetch_optional_scalar(&mut *connection)
    .await?
    .ok_or(StoreError::InsufficientCredits)?;
    query(
        "INSERT INTO credit_ledger (id, tenant_id, amount, balance_after, reason, idempotency_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(tenant_id.to_string())
    .bind(-cost.0)
    .bind(balance)
    .bind(reason)
    .bind(key)
    .bind(millis(now()))
    .execute(connection)
    .await?;
    Ok(())
}

/// Debits a run's cost unless its ledger key is recorded already, as one statement that
/// commits by itself (PostgreSQL), without waiting for its commit to reach the disk
/// (`synchronous_commit` off for this transaction alone): the balance row is locked only while
/// PostgreSQL runs the statement, not through a WAL flush, which would make a tenant's turns
/// wait for one fsync each. The turn's own commit, written later to the same log, waits for
/// its flush: so a turn that is durable has its debit durable too, and a debit a crash loses
/// belonged to a turn that had not committed, which debits again when it runs again.
/// Refuses to take the balance below zero. Two debits of one key at the same moment cannot
/// both insert: the second fails on the ledger's unique key, and its turn is retried.
pub(crate) async fn debit_once(
    connection: &mut Db<'_>,
    tenant_id: TenantId,
    cost: Credits,
    key: String,
    reason: String,
) -> Result<(), StoreError> {
    let taken: i64 = query(
        "WITH relaxed AS (
             SELECT set_config('synchronous_commit', 'off', true)),
         recorded AS (
             SELECT 1 FROM credit_ledger WHERE tenant_id = $1 AND idempotency_key = $6),
         debited AS (
             UPDATE tenants SET credit_balance = credit_balance - $2
             WHERE id = $1 AND credit_balance >= $2 AND NOT EXISTS (SELECT 1 FROM recorded)
             RETURNING credit_balance),
         entry AS (
             INSERT INTO credit_ledger (id, tenant_id, amount, balance_after, reason, idempotency_key, created_at)
             SELECT $3, $1, $4, credit_balance, $5, $6, $7 FROM debited
             RETURNING id)
         SELECT (SELECT COUNT(*) FROM recorded) + (SELECT COUNT(*) FROM entry)
         FROM relaxed",
    )
    .bind(tenant_id.to_string())
    .bind(cost.0)
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(-cost.0)
    .bind(reason)
    .bind(key)
    .bind(millis(now()))
    .fetch_scalar(connection)
    .await?;
    if taken == 0 {
        return Err(StoreError::InsufficientCredits);
    }
    Ok(())
}

/// One debit of a batch ([`debit_all`]).
pub(crate) struct Debit {
    pub tenant_id: TenantId,
    pub cost: Credits,
    pub key: String,
    pub reason: String,
}

/// [`debit_once`] for many debits in one statement: each tenant's debits whose keys are not
/// recorded yet are taken together if its balance covers them all, and none of them otherwise (the
/// caller can then try those one by one). Ledger entries are recorded in the batch's order, each
/// with the balance after it. Returns, in order, whether each debit is taken (now, or before under
/// its key). Each key is looked up by a scalar subquery, which is never made a join: `NOT EXISTS`
/// was, to a scan of the whole ledger per batch. The same key twice in one batch fails the
/// statement on the ledger's unique key, and nothing is taken.
pub(crate) async fn debit_all(
    connection: &mut Db<'_>,
    debits: &[Debit],
) -> Result<Vec<bool>, StoreError> {
    let created_at = millis(now());
    let batch: Vec<_> = debits
        .iter()
        .enumerate()
        .map(|(position, debit)| {
            serde_json::json!({
                "position": position,
                "id": uuid::Uuid::now_v7().to_string(),
                "tenant_id": debit.tenant_id.to_string(),
                "cost": debit.cost.0,
                "reason": debit.reason,
                "key": debit.key,
                "created_at": created_at,
            })
        })
        .collect();
    let rows = query(
        "WITH relaxed AS (
             SELECT set_config('synchronous_commit', 'off', true)),
         debits AS (
             SELECT * FROM json_to_recordset($1::json) AS debits (
                 position BIGINT, id TEXT, tenant_id TEXT, cost BIGINT, reason TEXT, key TEXT,
                 created_at BIGINT)),
         fresh AS (
             SELECT debits.* FROM debits
             WHERE (SELECT TRUE FROM credit_ledger
                    WHERE credit_ledger.tenant_id = debits.tenant_id
                      AND credit_ledger.idempotency_key = debits.key) IS NULL),
         totals AS (
             SELECT tenant_id, sum(cost)::BIGINT AS cost FROM fresh GROUP BY tenant_id),
         debited AS (
             UPDATE tenants SET credit_balance = credit_balance - totals.cost
             FROM totals
             WHERE tenants.id = totals.tenant_id AND tenants.credit_balance >= totals.cost
             RETURNING tenants.id, tenants.credit_balance),
         entries AS (
             INSERT INTO credit_ledger (id, tenant_id, amount, balance_after, reason,
                                        idempotency_key, created_at)
             SELECT fresh.id, fresh.tenant_id, -fresh.cost,
                    debited.credit_balance + (sum(fresh.cost) OVER later)::BIGINT - fresh.cost,
                    fresh.reason, fresh.key, fresh.created_at
             FROM fresh JOIN debited ON debited.id = fresh.tenant_id
             WINDOW later AS (PARTITION BY fresh.tenant_id ORDER BY fresh.position DESC))
         SELECT debits.position,
                CASE WHEN NOT EXISTS (SELECT 1 FROM fresh WHERE fresh.position = debits.position)
                          OR debits.tenant_id IN (SELECT id FROM debited)
                     THEN 1 ELSE 0 END AS taken
         FROM debits, relaxed
         ORDER BY debits.position",
    )
    .bind(serde_json::Value::Array(batch).to_string())
    .fetch_all(connection)
    .await?;
    rows.iter()
        .map(|row| Ok(row.integer("taken")? == 1))
        .collect()
}
