//! Sending a text reply through the Graph API: `POST {apiBaseUrl}/{phoneNumberId}/messages`
//! with the channel's access token; the answer's `messages[0].id` (`wamid…`) is the id later
//! receipts refer to.

use serde_json::{Value, json};

use crate::outbound::post;
use crate::{OutboundMessage, SendError, SentMessage};

pub(crate) async fn send(
    client: &reqwest::Client,
    api_base_url: &str,
    phone_number_id: &str,
    access_token: &str,
    message: &OutboundMessage,
) -> Result<SentMessage, SendError> {
    let url = format!(
        "{}/{}/messages",
        api_base_url.trim_end_matches('/'),
        phone_number_id
    );
    // Graph wants the number without its leading `+`.
    let to = message.to.strip_prefix('+').unwrap_or(&message.to);
    let body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": message.text},
    });
    let request = client.post(url).bearer_auth(access_token).json(&body);
    let answer = post("whatsapp", request, &message.message_id).await?;
    Ok(SentMessage {
        provider_message_id: answer
            .pointer("/messages/0/id")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}
