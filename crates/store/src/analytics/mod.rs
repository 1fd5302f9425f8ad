//! Analytics roll-ups: kept as the pipeline commits, read by range.
//!
//! Triggers (migration 13) append a fact to `analytics_facts` in the transaction of every change
//! analytics count — a conversation opened or changing status, a message, a finished run, a
//! debit — whichever code path made it. [`Store::fold_analytics`] turns a batch of facts into
//! roll-up rows (`analytics_rollups`: one per tenant × UTC minute, hour, quarter day and day × channel × agent
//! × campaign) and deletes them, in one transaction: a crash loses no fact and folds none twice.
//! On PostgreSQL an advisory lock lets one session fold at a time. [`Store::rebuild_analytics`]
//! recomputes every roll-up from the raw rows through the same fold.

mod fold;
mod measurements;
mod rebuild;
mod rollups;

use switchboard_analytics::Rollup;
use switchboard_core::{AgentId, ChannelId};

pub use fold::WhenBusy;
pub use measurements::Measured;
pub use rebuild::Rebuilt;

/// Parameters a statement binds at most: SQLite finds a `$n` parameter's number by walking the
/// statement's list of names, so binding n of them costs n², which a fold's thousands of ids
/// would make its main cost.
const PARAMETERS_PER_STATEMENT: usize = 256;

/// Which conversations a read counts: all of the tenant's, or one channel's, agent's or
/// campaign's (all given must match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyticsFilter {
    pub channel_id: Option<ChannelId>,
    pub agent_id: Option<AgentId>,
    pub campaign_id: Option<String>,
}

/// Where a read adds each stored roll-up row: the caller's accumulator for the row's bucket
/// start and channel ('' for none). Rows are added straight into it, sketches from their stored
/// text, so a read of thousands of rows builds no roll-up per row.
pub trait RollupSink {
    /// The roll-up the row's measures are added to; `None` leaves the row out.
    fn rollup_for(&mut self, bucket: i64, channel_id: &str) -> Option<&mut Rollup>;
}

/// A roll-up row's place: tenant, tier, bucket start and what it is about ('' for none).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RollupKey {
    pub tenant_id: String,
    pub tier: &'static str,
    pub bucket: i64,
    pub channel_id: String,
    pub agent_id: String,
    pub campaign_id: String,
}
