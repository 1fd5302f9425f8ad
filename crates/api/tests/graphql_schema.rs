//! The GraphQL schema served is the one checked in (`schema.graphql`), so every change to it is
//! a visible diff. After a deliberate change: `UPDATE_SCHEMA=1 cargo test -p switchboard-api
//! --test graphql_schema` rewrites the file.

#[test]
fn the_served_schema_is_the_checked_in_one() {
    let served = switchboard_api::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &served).expect("schema.graphql written");
    }
    let checked_in = std::fs::read_to_string(path).expect("schema.graphql read");
    assert!(
        served == checked_in,
        "the served schema differs from schema.graphql; if the change is meant, run with UPDATE_SCHEMA=1"
    );
}
