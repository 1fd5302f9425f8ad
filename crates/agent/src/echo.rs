//! The echo agent: replies with the text of the messages it answers (a placeholder such as
//! `[image]` for messages without text).

use switchboard_core::{AgentEvent, Usage};

use crate::{AgentOutput, Context, Emit};

pub(crate) fn run(context: &Context, emit: Emit<'_>) -> AgentOutput {
    let text = context.pending_text();
    emit(AgentEvent::AgentThinking {
        delta: text.clone(),
    });
    AgentOutput {
        text,
        usage: Usage::default(),
    }
}
