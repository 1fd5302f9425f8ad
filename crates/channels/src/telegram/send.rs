//! Sending a text reply through the Bot API: `POST {apiBaseUrl}/bot{botToken}/sendMessage`
//! with `{chat_id, text}`. The sent message's id is `{chat_id}:{message_id}`, the same shape as
//! inbound ids, since both come from the chat's one sequence of message ids.

use serde_json::{Value, json};

use crate::outbound::post;
use crate::{OutboundMessage, SendError, SentMessage};

pub(crate) async fn send(
    client: &reqwest::Client,
    api_base_url: &str,
    bot_token: &str,
    message: &OutboundMessage,
) -> Result<SentMessage, SendError> {
    let url = format!(
        "{}/bot{bot_token}/sendMessage",
        api_base_url.trim_end_matches('/')
    );
    // Chat ids are numbers; a channel may also be addressed as `@username`.
    let chat_id = message
        .to
        .parse::<i64>()
        .map_or_else(|_| Value::from(message.to.as_str()), Value::from);
    let request = client
        .post(url)
        .json(&json!({"chat_id": chat_id, "text": message.text}));
    let answer = post("telegram", request, &message.message_id).await?;
    if answer.get("ok").and_then(Value::as_bool) != Some(true) {
        return Err(SendError::Rejected {
            message: "telegram answered without `ok: true`".to_owned(),
            details: Some(answer),
            cause: None,
        });
    }
    let chat = answer
        .pointer("/result/chat/id")
        .and_then(Value::as_i64)
        .map_or_else(|| message.to.clone(), |id| id.to_string());
    Ok(SentMessage {
        provider_message_id: answer
            .pointer("/result/message_id")
            .and_then(Value::as_i64)
            .map(|message_id| format!("{chat}:{message_id}")),
    })
}
