//! Tools that check the connection rather than the conversations: `echo`, `get_time` and
//! `get_user_info` (who the credentials are).

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_engine::EngineError;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::operations::NoArguments;
use super::schema::{self, input};
use super::{Context, Effects, Failure, Outcome, Tool, answer, read};

/// Touches nothing at all.
const PURE: Effects = Effects {
    read_only: true,
    destructive: false,
    idempotent: true,
    open_world: false,
};

pub(super) const ECHO: Tool = Tool {
    name: "echo",
    title: "Echo",
    description: "Returns the text it is given, unchanged. Use it to check that the \
        connection to the gateway works.",
    effects: PURE,
    input_schema: || input(json!({ "text": schema::text("Any text.") }), &["text"]),
    output_schema: || schema::output(json!({ "text": { "type": "string" } }), &["text"]),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Echo {
    text: String,
}

pub(super) fn echo(arguments: Value) -> Outcome {
    let Echo { text } = read(arguments)?;
    answer(json!({ "text": text }))
}

pub(super) const GET_TIME: Tool = Tool {
    name: "get_time",
    title: "Server time",
    description: "Returns the gateway's current time, in UTC as ISO 8601 (`iso8601`) and as \
        Unix seconds (`unix`).",
    effects: Effects {
        // Each call answers a later time: the same call does not answer the same.
        idempotent: false,
        ..PURE
    },
    input_schema: schema::no_input,
    output_schema: || {
        schema::output(
            json!({
                "iso8601": { "type": "string", "format": "date-time" },
                "unix": { "type": "integer" }
            }),
            &["iso8601", "unix"],
        )
    },
};

pub(super) fn get_time(arguments: Value) -> Outcome {
    read::<NoArguments>(arguments)?;
    let now = OffsetDateTime::now_utc();
    let iso8601 = now
        .format(&Rfc3339)
        .map_err(|error| Failure::Operation(crate::ApiError::Internal(Box::new(error))))?;
    answer(json!({ "iso8601": iso8601, "unix": now.unix_timestamp() }))
}

pub(super) const GET_USER_INFO: Tool = Tool {
    name: "get_user_info",
    title: "Who am I",
    description: "Describes the credentials in use: your user (id and username), the tenant \
        you act in, your role (platform-admin, admin, agent, viewer or member: what you may \
        do), and whether you came with an API key.",
    effects: Effects::READS,
    input_schema: schema::no_input,
    output_schema: || {
        schema::output(
            json!({
                "userId": { "type": "string" },
                "username": { "type": ["string", "null"] },
                "tenantId": { "type": "string" },
                "role": { "enum": ["platform-admin", "admin", "agent", "viewer", "member"] },
                "apiKeyId": { "type": ["string", "null"] }
            }),
            &["userId", "tenantId", "role"],
        )
    },
};

pub(super) async fn get_user_info(context: &Context<'_>, arguments: Value) -> Outcome {
    read::<NoArguments>(arguments)?;
    let caller = context.caller;
    // A member may not read user records, and a platform admin acting in another tenant is not
    // one of its users: the caller is described all the same, without a username.
    let username = match context.engine.get_user(caller, caller.user_id).await {
        Ok(user) => Some(user.username),
        Err(EngineError::Forbidden(_) | EngineError::NotFound(_)) => None,
        Err(error) => return Err(error.into()),
    };
    answer(json!({
        "userId": caller.user_id,
        "username": username,
        "tenantId": caller.tenant_id,
        "role": caller.role,
        "apiKeyId": caller.api_key_id
    }))
}
