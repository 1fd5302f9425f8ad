//! Credits: the unit agents are charged in. The ledger is append-only; the balance is the sum of
//! its entries, kept beside the tenant so checking it is one read.

use crate::{LedgerEntryId, TenantId, Timestamp};

/// A whole number of credits (negative in a ledger entry means a debit).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Credits(pub i64);

/// One movement of credits, recorded once per idempotency key.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub id: LedgerEntryId,
    pub tenant_id: TenantId,
    /// Positive for grants, negative for debits.
    pub amount: Credits,
    /// The balance right after this entry.
    pub balance_after: Credits,
    pub reason: String,
    pub idempotency_key: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}
