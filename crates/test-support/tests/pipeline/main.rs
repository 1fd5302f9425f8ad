//! The message pipeline end to end over real sockets: signed webhooks in, the queue, the agents
//! (echo, scripted, openai, http), replies out to a fake provider, on SQLite and on PostgreSQL.

mod agent_http;
mod agent_openai;
mod analytics;
mod calls;
mod channels;
mod completions;
mod credits;
mod double_texting;
mod failures;
mod follow_ups;
mod handoff;
mod ordering;
mod retention;
mod whatsapp;
