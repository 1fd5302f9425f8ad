//! What an agent sees, and the transcript a chat model is given: the system prompt with the
//! contact's profile, then the most recent history that fits the token budget, then the pending
//! messages (always included). Tokens are estimated at four characters each, which is close
//! enough for budgeting and needs no tokenizer.

use switchboard_core::{
    AuthorKind, Contact, ConversationId, Message, MessageDirection, MessageId, RunId,
};

/// What an agent sees: who it talks to, recent history and the messages it must answer.
#[derive(Debug, Clone)]
pub struct Context {
    pub run_id: RunId,
    pub conversation_id: ConversationId,
    pub contact: Option<Contact>,
    /// Earlier messages, oldest first (the pending ones excluded).
    pub history: Vec<Message>,
    /// The inbound messages this run answers, oldest first.
    pub pending: Vec<Message>,
}

impl Context {
    /// The ids of the messages this run answers.
    pub fn pending_ids(&self) -> Vec<MessageId> {
        self.pending.iter().map(|message| message.id).collect()
    }

    /// The pending messages' text, one per line.
    pub fn pending_text(&self) -> String {
        self.pending
            .iter()
            .map(message_text)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A message's text, or a placeholder such as `[image]` for one without text.
pub(crate) fn message_text(message: &Message) -> String {
    match &message.text {
        Some(text) => text.clone(),
        None => format!("[{}]", message.message_type),
    }
}

/// Roughly how many tokens `text` takes (four characters each, plus a little per message).
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4) + 4
}

/// Who says a line of a chat transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolCallRequest {
    pub id: String,
    pub name: String,
    /// JSON text, as the model wrote it.
    pub arguments: String,
}

/// One line of a chat transcript.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChatMessage {
    pub role: Role,
    pub content: Option<String>,
    pub tool_calls: Vec<ToolCallRequest>,
    /// For `Tool` lines: the call this answers.
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    pub(crate) fn text(role: Role, content: String) -> Self {
        Self {
            role,
            content: Some(content),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// The system prompt with the contact's profile appended.
fn system_text(system_prompt: Option<&str>, contact: Option<&Contact>) -> Option<String> {
    let mut profile = Vec::new();
    if let Some(contact) = contact {
        if let Some(name) = &contact.name {
            profile.push(format!("name: {name}"));
        }
        if let Some(phone) = &contact.phone {
            profile.push(format!("phone: {phone}"));
        }
    }
    match (system_prompt, profile.is_empty()) {
        (None, true) => None,
        (prompt, _) => {
            let mut text = prompt.unwrap_or_default().to_owned();
            if !profile.is_empty() {
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str("The contact: ");
                text.push_str(&profile.join(", "));
            }
            Some(text)
        }
    }
}

fn transcript_line(message: &Message) -> ChatMessage {
    let role = match (message.direction, message.author_kind) {
        // System notes (a follow-up falling due) instruct the agent; the contact did not say them.
        (_, AuthorKind::System) => Role::System,
        (MessageDirection::Inbound, _) => Role::User,
        (MessageDirection::Outbound, _) => Role::Assistant,
    };
    ChatMessage::text(role, message_text(message))
}

/// The transcript for `context`: system prompt and profile, as much recent history as fits in
/// `budget_tokens`, then every pending message.
pub(crate) fn transcript(
    system_prompt: Option<&str>,
    context: &Context,
    budget_tokens: usize,
) -> Vec<ChatMessage> {
    let mut lines = Vec::new();
    if let Some(system) = system_text(system_prompt, context.contact.as_ref()) {
        lines.push(ChatMessage::text(Role::System, system));
    }
    let mut remaining = budget_tokens;
    let mut recent = Vec::new();
    for message in context.history.iter().rev() {
        let line = transcript_line(message);
        let cost = estimate_tokens(line.content.as_deref().unwrap_or_default());
        if cost > remaining {
            break;
        }
        remaining -= cost;
        recent.push(line);
    }
    lines.extend(recent.into_iter().rev());
    lines.extend(context.pending.iter().map(transcript_line));
    lines
}

#[cfg(test)]
mod tests {
    use switchboard_core::{ChannelId, MessageStatus, MessageType, TenantId};

    use super::*;

    fn message(seq: i64, direction: MessageDirection, text: &str) -> Message {
        Message {
            id: MessageId::new(),
            tenant_id: TenantId::new(),
            conversation_id: ConversationId::new(),
            channel_id: ChannelId::new(),
            seq,
            direction,
            author_kind: match direction {
                MessageDirection::Inbound => AuthorKind::Contact,
                MessageDirection::Outbound => AuthorKind::Agent,
            },
            author_id: None,
            message_type: MessageType::Text,
            text: Some(text.into()),
            content: None,
            provider_message_id: None,
            status: MessageStatus::Received,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            deleted_at: None,
        }
    }

    #[test]
    fn the_newest_history_that_fits_the_budget_is_kept_and_pending_always_is() {
        let long = "x".repeat(400);
        let context = Context {
            run_id: RunId::new(),
            conversation_id: ConversationId::new(),
            contact: None,
            history: vec![
                message(1, MessageDirection::Inbound, &long),
                message(2, MessageDirection::Outbound, "short answer"),
                message(3, MessageDirection::Inbound, "follow-up"),
            ],
            pending: vec![message(4, MessageDirection::Inbound, &long)],
        };
        let lines = transcript(Some("Be brief."), &context, 50);
        let texts: Vec<_> = lines
            .iter()
            .map(|line| (line.role, line.content.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            texts,
            vec![
                (Role::System, "Be brief.".to_owned()),
                (Role::Assistant, "short answer".to_owned()),
                (Role::User, "follow-up".to_owned()),
                (Role::User, long),
            ]
        );
    }
}
