//! The echo agent: replies with the text of the messages it answers (a placeholder such as
//! `[image]` for messages without text).

use switchboard_core::{AgentEvent, Usage};

use crate::{AgentOutput, Context};

pub(crate) fn run(context: &Context, emit: &(dyn Fn(AgentEvent) + Send + Sync)) -> AgentOutput {
    let text = context
        .pending
        .iter()
        .map(|message| match &message.text {
            Some(text) => text.clone(),
            None => format!("[{}]", message.message_type),
        })
        .collect::<Vec<_>>()
        .join("\n");
    emit(AgentEvent::AgentThinking {
        delta: text.clone(),
    });
    AgentOutput {
        text,
        usage: Usage::default(),
    }
}
