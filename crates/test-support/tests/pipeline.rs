//! The message pipeline end to end over real sockets: signed webhooks in, the queue, the agents
//! (echo, scripted, openai, http), replies out to a fake provider, on SQLite and on PostgreSQL.

#[path = "pipeline/setup.rs"]
mod setup;

#[path = "pipeline/agent_http.rs"]
mod agent_http;
#[path = "pipeline/agent_openai.rs"]
mod agent_openai;
#[path = "pipeline/channels.rs"]
mod channels;
#[path = "pipeline/credits.rs"]
mod credits;
#[path = "pipeline/double_texting.rs"]
mod double_texting;
#[path = "pipeline/failures.rs"]
mod failures;
#[path = "pipeline/follow_ups.rs"]
mod follow_ups;
#[path = "pipeline/handoff.rs"]
mod handoff;
#[path = "pipeline/ordering.rs"]
mod ordering;
#[path = "pipeline/retention.rs"]
mod retention;
#[path = "pipeline/whatsapp.rs"]
mod whatsapp;
