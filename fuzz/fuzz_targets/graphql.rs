//! GraphQL over `POST /graphql`: the request body, then the query parsed, validated and limited
//! by the schema as served (no engine behind it, so resolvers fail rather than act).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = switchboard_api::fuzzing::graphql_request(data);
});
