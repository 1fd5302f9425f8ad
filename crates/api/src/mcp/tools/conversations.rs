//! Tools over conversations and their messages: list, read with recent messages, search, send
//! as an operator, change status, hand off to humans and release back to the agent.

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_core::{ConversationId, ConversationStatus, UserId};
use switchboard_engine::{
    ConversationFilter, ConversationUpdate, MessageInput, MessageOrder, PageRequest,
};

use super::schema::{self, input};
use super::{Context, Effects, Outcome, Tool, answer, read};

/// How many of a conversation's newest messages `get_conversation` returns.
const RECENT_MESSAGES: u32 = 20;

pub(super) const LIST_CONVERSATIONS: Tool = Tool {
    name: "list_conversations",
    title: "List conversations",
    description: "Lists the conversations of your tenant, most recent activity first, each with \
        its status (open: the agent answers; pending: waiting for a human; resolved), unread \
        count and a preview of its last message. Filter with `status`. Returns a page: pass its \
        `nextCursor` as `cursor` to read further.",
    effects: Effects::READS,
    input_schema: || {
        input(
            json!({
                "status": { "enum": ["open", "pending", "resolved"], "description": "Only conversations with this status." },
                "limit": schema::limit(),
                "cursor": schema::cursor()
            }),
            &[],
        )
    },
    output_schema: || schema::page("conversations", schema::conversation()),
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListConversations {
    status: Option<ConversationStatus>,
    limit: Option<u32>,
    cursor: Option<String>,
}

pub(super) async fn list_conversations(context: &Context<'_>, arguments: Value) -> Outcome {
    let ListConversations {
        status,
        limit,
        cursor,
    } = read(arguments)?;
    let filter = ConversationFilter {
        status,
        ..ConversationFilter::default()
    };
    let page = context
        .engine
        .list_conversations(context.caller, &filter, &PageRequest { limit, cursor })
        .await?;
    answer(json!({ "conversations": page.data, "nextCursor": page.next_cursor }))
}

pub(super) const GET_CONVERSATION: Tool = Tool {
    name: "get_conversation",
    title: "Read a conversation",
    description: "Reads one conversation and its 20 most recent messages, oldest first (`seq` \
        numbers them without gaps; `direction` inbound is from the contact, outbound from the \
        agent or an operator). Use it before answering, to see what was said.",
    effects: Effects::READS,
    input_schema: conversation_id_only,
    output_schema: || {
        schema::output(
            json!({
                "conversation": schema::conversation(),
                "messages": { "type": "array", "items": schema::message() },
                "hasEarlierMessages": { "type": "boolean" }
            }),
            &["conversation", "messages", "hasEarlierMessages"],
        )
    },
};

/// Arguments naming one conversation.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OneConversation {
    conversation_id: ConversationId,
}

fn conversation_id_only() -> Value {
    input(
        json!({ "conversationId": schema::id("The conversation's id.") }),
        &["conversationId"],
    )
}

pub(super) async fn get_conversation(context: &Context<'_>, arguments: Value) -> Outcome {
    let OneConversation { conversation_id } = read(arguments)?;
    let engine = context.engine;
    let conversation = engine
        .get_conversation(context.caller, conversation_id)
        .await?;
    let recent = engine
        .list_messages(
            context.caller,
            conversation_id,
            MessageOrder::Backward,
            &PageRequest::first(RECENT_MESSAGES),
        )
        .await?;
    let has_earlier = recent.next_cursor.is_some();
    let mut messages = recent.data;
    messages.reverse();
    answer(json!({
        "conversation": conversation,
        "messages": messages,
        "hasEarlierMessages": has_earlier
    }))
}

pub(super) const SEARCH_MESSAGES: Tool = Tool {
    name: "search_messages",
    title: "Search messages",
    description: "Full-text search over the text of your tenant's messages, best match first. \
        Each hit is the message (with its `conversationId`, to read the conversation with \
        get_conversation) and its rank.",
    effects: Effects::READS,
    input_schema: || {
        input(
            json!({
                "q": { "type": "string", "minLength": 1, "maxLength": 500, "description": "Words to look for." },
                "limit": schema::limit(),
                "cursor": schema::cursor()
            }),
            &["q"],
        )
    },
    output_schema: || {
        schema::page(
            "hits",
            schema::output(
                json!({ "message": schema::message(), "rank": { "type": "number" } }),
                &["message", "rank"],
            ),
        )
    },
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SearchMessages {
    q: String,
    limit: Option<u32>,
    cursor: Option<String>,
}

pub(super) async fn search_messages(context: &Context<'_>, arguments: Value) -> Outcome {
    let SearchMessages { q, limit, cursor } = read(arguments)?;
    let page = context
        .engine
        .search_messages(context.caller, &q, None, &PageRequest { limit, cursor })
        .await?;
    let hits: Vec<_> = page
        .data
        .into_iter()
        .map(|hit| json!({ "message": hit.message, "rank": hit.rank }))
        .collect();
    answer(json!({ "hits": hits, "nextCursor": page.next_cursor }))
}

pub(super) const SEND_MESSAGE: Tool = Tool {
    name: "send_message",
    title: "Send a message",
    description: "Sends a text message into a conversation as you (an operator): it is stored \
        with the conversation's next `seq` and delivered to the contact through the \
        conversation's channel (WhatsApp, SMS, Telegram or the app), in order with the agent's \
        replies. Give an `idempotencyKey` when you may retry: a second call with the same key \
        returns the first message instead of sending again.",
    effects: Effects {
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    },
    input_schema: || {
        input(
            json!({
                "conversationId": schema::id("The conversation to write in."),
                "text": { "type": "string", "minLength": 1, "maxLength": 32768, "description": "The message text." },
                "idempotencyKey": { "type": "string", "minLength": 1, "maxLength": 200, "description": "Any text unique to this message; repeating it repeats nothing." }
            }),
            &["conversationId", "text"],
        )
    },
    output_schema: || {
        schema::output(
            json!({ "message": schema::message(), "created": { "type": "boolean", "description": "False when the idempotency key had already sent this message." } }),
            &["message", "created"],
        )
    },
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SendMessage {
    conversation_id: ConversationId,
    text: String,
    idempotency_key: Option<String>,
}

pub(super) async fn send_message(context: &Context<'_>, arguments: Value) -> Outcome {
    let SendMessage {
        conversation_id,
        text,
        idempotency_key,
    } = read(arguments)?;
    let input = MessageInput {
        text: Some(text),
        message_type: None,
        content: None,
        idempotency_key,
    };
    let posted = context
        .engine
        .post_message(context.caller, conversation_id, input)
        .await?;
    answer(json!({ "message": posted.message, "created": posted.created }))
}

pub(super) const SET_CONVERSATION_STATUS: Tool = Tool {
    name: "set_conversation_status",
    title: "Set a conversation's status",
    description: "Sets a conversation's status: `open` (the agent answers new messages), \
        `pending` (waiting for a human) or `resolved` (done; a new inbound message reopens \
        it). Returns the conversation.",
    effects: Effects {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: false,
    },
    input_schema: || {
        input(
            json!({
                "conversationId": schema::id("The conversation's id."),
                "status": { "enum": ["open", "pending", "resolved"] }
            }),
            &["conversationId", "status"],
        )
    },
    output_schema: conversation_output,
};

fn conversation_output() -> Value {
    schema::output(
        json!({ "conversation": schema::conversation() }),
        &["conversation"],
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetStatus {
    conversation_id: ConversationId,
    status: ConversationStatus,
}

pub(super) async fn set_conversation_status(context: &Context<'_>, arguments: Value) -> Outcome {
    let SetStatus {
        conversation_id,
        status,
    } = read(arguments)?;
    let update = ConversationUpdate {
        status: Some(status),
        agent_id: None,
        business_id: None,
    };
    let conversation = context
        .engine
        .update_conversation(context.caller, conversation_id, update)
        .await?;
    answer(json!({ "conversation": conversation }))
}

pub(super) const HAND_OFF: Tool = Tool {
    name: "hand_off",
    title: "Hand a conversation to humans",
    description: "Hands a conversation to human operators: it becomes `pending` and its agent \
        stays silent until `release`; inbound messages are still stored, and messages sent \
        with send_message still go out. `assigneeId` (a user of your tenant) joins it as its \
        operator. Returns the conversation.",
    effects: Effects {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: false,
    },
    input_schema: || {
        input(
            json!({
                "conversationId": schema::id("The conversation's id."),
                "assigneeId": schema::id("The user who takes it over (optional).")
            }),
            &["conversationId"],
        )
    },
    output_schema: conversation_output,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HandOff {
    conversation_id: ConversationId,
    assignee_id: Option<UserId>,
}

pub(super) async fn hand_off(context: &Context<'_>, arguments: Value) -> Outcome {
    let HandOff {
        conversation_id,
        assignee_id,
    } = read(arguments)?;
    let conversation = context
        .engine
        .hand_off_conversation(context.caller, conversation_id, assignee_id)
        .await?;
    answer(json!({ "conversation": conversation }))
}

pub(super) const RELEASE: Tool = Tool {
    name: "release",
    title: "Give a conversation back to its agent",
    description: "Ends a hand-off: the conversation becomes `open` and its agent answers the \
        next inbound message. Returns the conversation.",
    effects: Effects {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: false,
    },
    input_schema: conversation_id_only,
    output_schema: conversation_output,
};

pub(super) async fn release(context: &Context<'_>, arguments: Value) -> Outcome {
    let OneConversation { conversation_id } = read(arguments)?;
    let conversation = context
        .engine
        .release_conversation(context.caller, conversation_id)
        .await?;
    answer(json!({ "conversation": conversation }))
}
