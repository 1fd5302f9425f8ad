//! The store contract: what every caller of `switchboard_store::Store` relies on, checked on
//! SQLite and on PostgreSQL alike (`backend_tests!` declares each test once per backend). Each
//! test gets a fresh database and holds the store to one promise a user would notice breaking.
//! One file per part of the store.

mod fixtures;

mod accounts;
mod administration;
mod audit;
mod connections;
mod conversations;
mod credits;
mod deliveries;
mod directory;
mod imports;
mod inbox;
mod messages;
mod read_markers;
mod search;
mod secrets;
mod streams;
mod tenancy;
mod turns;
mod upgrades;
