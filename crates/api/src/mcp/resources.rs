//! Resources: each conversation of the caller's tenant as `conversation://{conversationId}`,
//! listed (a page at a time, newest activity first) and readable as a plain-text transcript of
//! its most recent messages. One template describes the URI form.

use serde_json::{Value, json};
use switchboard_core::{Conversation, ConversationId, Message};
use switchboard_engine::{ConversationFilter, MessageOrder, PageRequest};

use super::jsonrpc::RpcError;
use super::tools::{Context, Failure};

const SCHEME: &str = "conversation://";
/// How many of a conversation's newest messages its transcript shows.
const TRANSCRIPT_MESSAGES: u32 = 200;

/// The `resourceTemplates` of a `resources/templates/list` result.
pub(crate) fn templates() -> Value {
    json!([{
        "uriTemplate": "conversation://{conversationId}",
        "name": "conversation",
        "title": "Conversation transcript",
        "description": "A conversation's most recent messages (up to 200), oldest first, one \
            line each: seq, time, who wrote it, text.",
        "mimeType": "text/plain"
    }])
}

/// One page of the `resources/list` result: `resources` and `nextCursor`.
pub(crate) async fn list(
    context: &Context<'_>,
    cursor: Option<String>,
) -> Result<(Value, Option<String>), Failure> {
    let page = context
        .engine
        .list_conversations(
            context.caller,
            &ConversationFilter::default(),
            &PageRequest {
                limit: None,
                cursor,
            },
        )
        .await?;
    let resources = page.data.iter().map(describe).collect();
    Ok((resources, page.next_cursor))
}

fn describe(conversation: &Conversation) -> Value {
    let preview = conversation
        .last_message
        .as_ref()
        .and_then(|message| message.text.as_deref())
        .unwrap_or("no messages yet");
    json!({
        "uri": format!("{SCHEME}{}", conversation.id),
        "name": format!("conversation {}", conversation.id),
        "title": format!("Conversation ({}, {} messages)", conversation.status, conversation.last_seq),
        "description": format!("Last: {preview}"),
        "mimeType": "text/plain"
    })
}

/// The `contents` of `resources/read` for `uri`; an unknown URI is `Err(None)`, a failed read
/// `Err(Some(failure))`.
pub(crate) async fn read(context: &Context<'_>, uri: &str) -> Result<Value, Option<Failure>> {
    let conversation_id: ConversationId = uri
        .strip_prefix(SCHEME)
        .and_then(|id| id.parse().ok())
        .ok_or(None)?;
    let engine = context.engine;
    let conversation = engine
        .get_conversation(context.caller, conversation_id)
        .await
        .map_err(|error| Some(error.into()))?;
    let mut messages = engine
        .list_messages(
            context.caller,
            conversation_id,
            MessageOrder::Backward,
            &PageRequest::first(TRANSCRIPT_MESSAGES),
        )
        .await
        .map_err(|error| Some(error.into()))?
        .data;
    messages.reverse();
    Ok(json!([{
        "uri": uri,
        "mimeType": "text/plain",
        "text": transcript(&conversation, &messages)
    }]))
}

/// The conversation as text: a heading line, then one line per message.
fn transcript(conversation: &Conversation, messages: &[Message]) -> String {
    let mut text = format!(
        "Conversation {} ({}), channel {}, {} messages\n",
        conversation.id, conversation.status, conversation.channel_id, conversation.last_seq
    );
    for message in messages {
        let time = message
            .created_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let body = match (&message.text, message.deleted_at) {
            (_, Some(_)) => "(deleted)".to_owned(),
            (Some(text), None) => text.clone(),
            (None, None) => format!("[{}]", message.message_type),
        };
        text.push_str(&format!(
            "#{} {time} {}: {body}\n",
            message.seq, message.author_kind
        ));
    }
    text
}

/// The error for a URI no resource has, in the code the session's version expects.
pub(crate) fn not_found(uri: &str, code: i64) -> RpcError {
    RpcError {
        code,
        message: format!("no resource {uri:?}: resources are conversation://{{conversationId}}"),
        data: Some(json!({ "uri": uri })),
    }
}
