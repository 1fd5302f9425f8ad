//! Delivering a reply to the app: `POST {callbackUrl}` with `{messageId, conversationId, to,
//! text}`, signed like inbound bodies. The app may answer with its own `id` for the message.

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use switchboard_core::Timestamp;

use super::{SIGNATURE_HEADER, sign};
use crate::outbound::post;
use crate::{OutboundMessage, SendError, SentMessage};

pub(crate) async fn send(
    client: &reqwest::Client,
    signing_secret: &str,
    callback_url: &str,
    message: &OutboundMessage,
) -> Result<SentMessage, SendError> {
    let body = json!({
        "messageId": message.message_id,
        "conversationId": message.conversation_id,
        "to": message.to,
        "text": message.text,
    })
    .to_string()
    .into_bytes();
    let signature = sign(signing_secret, &body, Timestamp::now_utc().unix_timestamp());
    let request = client
        .post(callback_url)
        .header(CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body);
    let answer = post("api callback", request, &message.message_id).await?;
    Ok(SentMessage {
        provider_message_id: answer.get("id").and_then(Value::as_str).map(str::to_owned),
    })
}
