//! The message pipeline end to end over real sockets: signed webhooks in, the queue, the echo
//! agent, replies out to a fake provider, on SQLite and on PostgreSQL.

#[path = "pipeline/setup.rs"]
mod setup;

#[path = "pipeline/channels.rs"]
mod channels;
#[path = "pipeline/credits.rs"]
mod credits;
#[path = "pipeline/failures.rs"]
mod failures;
#[path = "pipeline/ordering.rs"]
mod ordering;
#[path = "pipeline/whatsapp.rs"]
mod whatsapp;
