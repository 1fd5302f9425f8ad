//! The store contract: what every caller of `switchboard_store::Store` relies on, checked on
//! SQLite and on PostgreSQL alike (`backend_tests!` declares each test once per backend). Each
//! test gets a fresh database and holds the store to one promise a user would notice breaking.
//! The tests live in `store_contract/`, one file per part of the store.

#[path = "store_contract/fixtures.rs"]
mod fixtures;

#[path = "store_contract/accounts.rs"]
mod accounts;
#[path = "store_contract/administration.rs"]
mod administration;
#[path = "store_contract/connections.rs"]
mod connections;
#[path = "store_contract/conversations.rs"]
mod conversations;
#[path = "store_contract/credits.rs"]
mod credits;
#[path = "store_contract/deliveries.rs"]
mod deliveries;
#[path = "store_contract/directory.rs"]
mod directory;
#[path = "store_contract/inbox.rs"]
mod inbox;
#[path = "store_contract/messages.rs"]
mod messages;
#[path = "store_contract/read_markers.rs"]
mod read_markers;
#[path = "store_contract/search.rs"]
mod search;
#[path = "store_contract/streams.rs"]
mod streams;
#[path = "store_contract/tenancy.rs"]
mod tenancy;
#[path = "store_contract/turns.rs"]
mod turns;
