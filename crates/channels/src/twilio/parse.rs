//! Reading a Twilio webhook (`application/x-www-form-urlencoded`): an inbound SMS/MMS, or a
//! status callback for a message we sent.
//!
//! Status mapping: `sent`, `delivered` and `read` move the message forward; `undelivered`,
//! `failed` and `canceled` mark it failed (with `ErrorCode`/`ErrorMessage` kept). `accepted`,
//! `scheduled`, `queued` and `sending` are Twilio's internal steps before `sent`: our message is
//! already past them the moment the send call returned, so they parse to an empty batch, as do
//! statuses Twilio may add later.

use serde_json::{Value, json};
use switchboard_core::{MessageStatus, MessageType};

use crate::{InboundBatch, InboundContact, InboundMessage, ParseError, StatusUpdate};

/// The POST parameters of a form body, in body order, for [`super::verify_signature`].
/// Invalid percent-encoding and UTF-8 are decoded leniently, never refused.
pub fn form_params(form_body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(form_body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// Parses a webhook body into its parameters (to verify the signature with) and what it carries.
pub fn parse(form_body: &[u8]) -> Result<(Vec<(String, String)>, InboundBatch), ParseError> {
    let params = form_params(form_body);
    let batch = batch(&Form(&params))?;
    Ok((params, batch))
}

struct Form<'a>(&'a [(String, String)]);

impl Form<'_> {
    /// The first non-empty value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }
}

fn batch(form: &Form<'_>) -> Result<InboundBatch, ParseError> {
    let sid = form
        .get("MessageSid")
        .or_else(|| form.get("SmsSid"))
        .ok_or_else(|| ParseError::new("`MessageSid` is missing"))?
        .to_owned();
    let mut batch = InboundBatch::default();
    match form.get("MessageStatus").or_else(|| form.get("SmsStatus")) {
        None | Some("received" | "receiving") => batch.messages.push(inbound_message(form, sid)?),
        Some(status) => batch.statuses.extend(status_update(form, sid, status)),
    }
    Ok(batch)
}

fn inbound_message(form: &Form<'_>, sid: String) -> Result<InboundMessage, ParseError> {
    let from = form
        .get("From")
        .ok_or_else(|| ParseError::new("`From` is missing"))?;
    // WhatsApp through Twilio prefixes the number with its channel: `whatsapp:+1555…`.
    let number = from.split_once(':').map_or(from, |(_, number)| number);
    let media = media(form);
    let message_type = match media.first() {
        None => MessageType::Text,
        Some(item) => media_type(item["contentType"].as_str().unwrap_or("")),
    };
    Ok(InboundMessage {
        provider_message_id: sid,
        contact: InboundContact {
            external_id: from.to_owned(),
            name: form.get("ProfileName").map(str::to_owned),
            phone: number.starts_with('+').then(|| number.to_owned()),
        },
        business_key: form.get("To").map(str::to_owned),
        message_type,
        text: form.get("Body").map(str::to_owned),
        content: (!media.is_empty()).then(|| json!({ "media": media })),
        sent_at: None,
        priority: 0,
    })
}

/// `MediaUrl{i}`/`MediaContentType{i}` for `i < NumMedia`.
fn media(form: &Form<'_>) -> Vec<Value> {
    let count: usize = form
        .get("NumMedia")
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0);
    // Twilio sends at most 10 media items; a larger count is not trusted to size anything.
    (0..count.min(10))
        .filter_map(|index| {
            let url = form.get(&format!("MediaUrl{index}"))?;
            let content_type = form
                .get(&format!("MediaContentType{index}"))
                .unwrap_or("application/octet-stream");
            Some(json!({ "url": url, "contentType": content_type }))
        })
        .collect()
}

fn media_type(content_type: &str) -> MessageType {
    match content_type.split('/').next().unwrap_or("") {
        "image" => MessageType::Image,
        "video" => MessageType::Video,
        "audio" => MessageType::Audio,
        _ => MessageType::Document,
    }
}

fn status_update(form: &Form<'_>, sid: String, status: &str) -> Option<StatusUpdate> {
    let status = match status {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "undelivered" | "failed" | "canceled" => MessageStatus::Failed,
        _ => return None,
    };
    let error = form.get("ErrorCode").map(|code| {
        json!({
            "code": code.parse::<i64>().map_or_else(|_| Value::from(code), Value::from),
            "message": form.get("ErrorMessage"),
        })
    });
    Some(StatusUpdate {
        provider_message_id: sid,
        status,
        error,
        at: None,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_inbound_sms_becomes_a_text_message() {
        let body = b"ToCountry=US&SmsMessageSid=SM0123&NumMedia=0&SmsSid=SM0123&SmsStatus=received\
&Body=Hello+there%21&To=%2B15005550006&NumSegments=1&MessageSid=SM0123&AccountSid=AC1\
&From=%2B14155550100&ApiVersion=2010-04-01";
        let (params, batch) = parse(body).expect("parses");
        assert!(params.contains(&("Body".to_owned(), "Hello there!".to_owned())));
        assert!(batch.statuses.is_empty());
        let message = &batch.messages[0];
        assert_eq!(message.provider_message_id, "SM0123");
        assert_eq!(message.message_type, MessageType::Text);
        assert_eq!(message.text.as_deref(), Some("Hello there!"));
        assert_eq!(message.contact.external_id, "+14155550100");
        assert_eq!(message.contact.phone.as_deref(), Some("+14155550100"));
        assert_eq!(message.business_key.as_deref(), Some("+15005550006"));
        assert_eq!(message.content, None);
    }

    #[test]
    fn an_mms_keeps_its_media_and_caption() {
        let body = b"MessageSid=MM1&From=whatsapp%3A%2B14155550100&To=whatsapp%3A%2B15005550006\
&ProfileName=Ada&Body=look&NumMedia=2&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm0\
&MediaContentType0=image%2Fjpeg&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fm1\
&MediaContentType1=application%2Fpdf";
        let (_, batch) = parse(body).expect("parses");
        let message = &batch.messages[0];
        assert_eq!(message.message_type, MessageType::Image);
        assert_eq!(message.text.as_deref(), Some("look"));
        assert_eq!(message.contact.external_id, "whatsapp:+14155550100");
        assert_eq!(message.contact.phone.as_deref(), Some("+14155550100"));
        assert_eq!(message.contact.name.as_deref(), Some("Ada"));
        let media = &message.content.as_ref().expect("media")["media"];
        assert_eq!(media[0]["url"], "https://api.twilio.com/m0");
        assert_eq!(media[1]["contentType"], "application/pdf");
    }

    #[test]
    fn status_callbacks_move_forward_or_fail_with_the_error() {
        let status = |form: &str| parse(form.as_bytes()).expect("parses").1;
        for (word, expected) in [
            ("sent", MessageStatus::Sent),
            ("delivered", MessageStatus::Delivered),
            ("read", MessageStatus::Read),
            ("failed", MessageStatus::Failed),
        ] {
            let batch = status(&format!(
                "MessageSid=SM9&MessageStatus={word}&From=%2B1&To=%2B2"
            ));
            assert!(batch.messages.is_empty());
            assert_eq!(batch.statuses[0].status, expected, "{word}");
            assert_eq!(batch.statuses[0].provider_message_id, "SM9");
        }
        let undelivered = status("MessageSid=SM9&MessageStatus=undelivered&ErrorCode=30003");
        assert_eq!(undelivered.statuses[0].status, MessageStatus::Failed);
        assert_eq!(
            undelivered.statuses[0].error,
            Some(json!({"code": 30003, "message": null}))
        );
        for early in [
            "queued",
            "accepted",
            "sending",
            "scheduled",
            "something_new",
        ] {
            let batch = status(&format!("MessageSid=SM9&MessageStatus={early}"));
            assert_eq!(batch, InboundBatch::default(), "{early}");
        }
    }

    #[test]
    fn bodies_without_a_sid_or_sender_are_refused() {
        assert!(parse(b"").is_err());
        assert!(parse(b"Body=hi&From=%2B1").is_err());
        assert!(parse(b"MessageSid=SM1&Body=hi").is_err());
        assert!(parse(br#"{"MessageSid":"SM1"}"#).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn parse_never_panics_on_forms_of_twilio_names(
            form in proptest::collection::vec(
                (
                    prop_oneof![
                        Just("MessageSid"), Just("From"), Just("To"), Just("Body"),
                        Just("NumMedia"), Just("MediaUrl0"), Just("MediaContentType0"),
                        Just("MessageStatus"), Just("ErrorCode"),
                    ],
                    "\\PC{0,12}",
                ),
                0..10,
            ),
        ) {
            let body: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            let _ = parse(body.as_bytes());
        }
    }
}
