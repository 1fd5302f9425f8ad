//! JSON Schema pieces the tools' input and output schemas are built from. Inputs are closed
//! (`additionalProperties: false`, as arguments are read); outputs name the fields a model can
//! rely on and leave room for more, as REST's bodies do.

use serde_json::{Value, json};

/// An input object with `properties`, of which `required` must be given.
pub(super) fn input(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

/// An input object without properties.
pub(super) fn no_input() -> Value {
    input(json!({}), &[])
}

/// An output object with `properties`, of which `required` are always present.
pub(super) fn output(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": properties, "required": required })
}

pub(super) fn id(description: &str) -> Value {
    json!({ "type": "string", "format": "uuid", "description": description })
}

pub(super) fn text(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

pub(super) fn limit() -> Value {
    json!({
        "type": "integer", "minimum": 1, "maximum": 200,
        "description": "How many to return (default 50, at most 200)."
    })
}

pub(super) fn cursor() -> Value {
    text("The `nextCursor` of the previous page, to read the next one.")
}

/// `nextCursor`: set when there is another page.
pub(super) fn next_cursor() -> Value {
    json!({ "type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last." })
}

pub(super) fn conversation() -> Value {
    output(
        json!({
            "id": { "type": "string" },
            "status": { "enum": ["open", "pending", "resolved"] },
            "type": { "type": "string" },
            "channelId": { "type": "string" },
            "contactId": { "type": ["string", "null"] },
            "lastSeq": { "type": "integer" },
            "unreadCount": { "type": "integer" },
            "lastActivityAt": { "type": "string", "format": "date-time" },
            "lastMessage": { "type": ["object", "null"] }
        }),
        &["id", "status", "channelId", "lastSeq"],
    )
}

pub(super) fn message() -> Value {
    output(
        json!({
            "id": { "type": "string" },
            "conversationId": { "type": "string" },
            "seq": { "type": "integer" },
            "direction": { "enum": ["inbound", "outbound"] },
            "authorKind": { "enum": ["contact", "user", "agent", "system"] },
            "type": { "type": "string" },
            "text": { "type": ["string", "null"] },
            "status": { "type": "string" },
            "createdAt": { "type": "string", "format": "date-time" }
        }),
        &[
            "id",
            "conversationId",
            "seq",
            "direction",
            "authorKind",
            "createdAt",
        ],
    )
}

pub(super) fn run() -> Value {
    output(
        json!({
            "id": { "type": "string" },
            "conversationId": { "type": "string" },
            "status": { "type": "string" },
            "replyMessageId": { "type": ["string", "null"] },
            "error": { "type": ["string", "null"] },
            "startedAt": { "type": "string", "format": "date-time" },
            "events": {
                "type": "array",
                "items": output(json!({ "seq": { "type": "integer" }, "type": { "type": "string" } }), &["seq", "type"])
            }
        }),
        &["id", "conversationId", "status", "startedAt"],
    )
}

pub(super) fn queue_entry() -> Value {
    output(
        json!({
            "id": { "type": "string" },
            "kind": { "type": "string" },
            "state": { "type": "string" },
            "conversationId": { "type": "string" },
            "attempts": { "type": "integer" },
            "lastError": { "type": ["string", "null"] }
        }),
        &["id", "kind", "state", "conversationId"],
    )
}

/// A page of `items` under `key`, with `nextCursor`.
pub(super) fn page(key: &str, items: Value) -> Value {
    let mut properties = json!({ "nextCursor": next_cursor() });
    properties[key] = json!({ "type": "array", "items": items });
    output(properties, &[key, "nextCursor"])
}
