//! Sending an SMS through Twilio: `POST {apiBaseUrl}/2010-04-01/Accounts/{accountSid}/
//! Messages.json`, basic auth with the account SID and auth token, form `To`/`From`/`Body`; the
//! answer's `sid` (`SM…`) is the id status callbacks refer to.

use serde_json::Value;

use crate::outbound::post;
use crate::{OutboundMessage, SendError, SentMessage};

pub(crate) async fn send(
    client: &reqwest::Client,
    api_base_url: &str,
    account_sid: &str,
    auth_token: &str,
    from_number: &str,
    message: &OutboundMessage,
) -> Result<SentMessage, SendError> {
    let url = format!(
        "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
        api_base_url.trim_end_matches('/'),
    );
    let request = client
        .post(url)
        .basic_auth(account_sid, Some(auth_token))
        .form(&[
            ("To", message.to.as_str()),
            ("From", from_number),
            ("Body", message.text.as_str()),
        ]);
    let answer = post("twilio", request, &message.message_id).await?;
    Ok(SentMessage {
        provider_message_id: answer.get("sid").and_then(Value::as_str).map(str::to_owned),
    })
}
