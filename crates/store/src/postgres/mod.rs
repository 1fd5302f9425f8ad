//! The store's PostgreSQL forms: each write is its own transaction (PostgreSQL already shares
//! fsyncs between concurrent commits), but for webhooks' acceptances, which arrive too many at a time for that and share their statements
//! ([`AcceptBatches`]), the commonest agent turns and deliveries' starts and completions,
//! which do too ([`TurnBatches`], [`StartBatches`], [`DeliveryBatches`]), the reads every turn
//! starts with ([`SubjectReads`], [`HistoryReads`]), and the inbox, stored a batch at a time
//! ([`store_batch`]).

mod accept;
mod append;
mod delivery_batch;
mod inbox_batch;
mod start_batch;
mod turn;
mod turn_batch;
mod turn_reads;

pub(crate) use accept::{AcceptBatches, Webhook};
pub(crate) use append::append;
pub(crate) use delivery_batch::{Completed, DeliveryBatches};
pub(crate) use inbox_batch::store_batch;
pub(crate) use start_batch::{StartBatches, Starting};
pub(crate) use turn_batch::{AloneTurn, TurnBatches};
pub(crate) use turn_reads::{HistoryRead, HistoryReads, SubjectRead, SubjectReads};
