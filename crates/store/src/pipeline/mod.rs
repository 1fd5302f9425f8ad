//! The pipeline's transactions, one folder per step, each with its PostgreSQL forms beside it
//! (`postgres_*`: one statement where SQLite takes several, batches where work arrives many
//! at a time). What each step offers:
//!
//! | Step | Operations (all on `Store`) |
//! |---|---|
//! | [`inbox`] | `accept` (a webhook's messages and receipts, acknowledged once durable), `store_accepted` (a batch of accepted messages stored: contact, conversation, `seq`, queued run), `count_accepted` |
//! | [`append`] | `append_message`; inside other transactions, `append` and `append_at_end` (a message at the end of its conversation, with its stream event and queue entry) |
//! | [`turn`] | `conversation_for_turn`, `messages_before` (what a turn reads), `commit_turn` (its run, reply, debit, effects and acknowledgements in one commit), `record_run`, `set_message_status`, `get_run`, `list_runs`, `list_follow_ups` |
//! | [`delivery`] | `append_outbound` (a reply or operator message queued for sending), `start_delivery`, `complete_delivery` |
//! | [`follow_ups`] | `fire_due_follow_ups` |
//!
//! The queue's own statements (numbering, acknowledging, retries, dead letters) are
//! `switchboard_queue::entries`; these transactions call them.

pub(crate) mod append;
pub(crate) mod delivery;
pub(crate) mod follow_ups;
pub(crate) mod inbox;
pub(crate) mod turn;
