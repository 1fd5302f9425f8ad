//! The WhatsApp parser against every case of the pywa fixture bodies, plus bodies of our own for
//! what the fixtures lack (business-scoped senders, several entries and changes in one body).

use proptest::prelude::*;
use serde_json::{Value, json};
use switchboard_core::{MessageStatus, MessageType};

use super::parse;
use crate::{InboundBatch, InboundMessage};

/// Each fixture file maps a case name to the full body Meta POSTs.
const FIXTURES: &[(&str, &str)] = &[
    (
        "callback_button",
        include_str!("../../../fixtures/whatsapp/callback_button.json"),
    ),
    (
        "callback_selection",
        include_str!("../../../fixtures/whatsapp/callback_selection.json"),
    ),
    (
        "deleted_message",
        include_str!("../../../fixtures/whatsapp/deleted_message.json"),
    ),
    (
        "edited_message",
        include_str!("../../../fixtures/whatsapp/edited_message.json"),
    ),
    (
        "message",
        include_str!("../../../fixtures/whatsapp/message.json"),
    ),
    (
        "message_status",
        include_str!("../../../fixtures/whatsapp/message_status.json"),
    ),
    (
        "system",
        include_str!("../../../fixtures/whatsapp/system.json"),
    ),
];

fn case(file: &str, name: &str) -> Vec<u8> {
    let (_, text) = FIXTURES
        .iter()
        .find(|(fixture, _)| *fixture == file)
        .unwrap_or_else(|| panic!("no fixture file {file}"));
    let cases: Value = serde_json::from_str(text).expect("fixture is JSON");
    let body = cases
        .get(name)
        .unwrap_or_else(|| panic!("no case {file}/{name}"));
    serde_json::to_vec(body).expect("serializable")
}

fn only_message(file: &str, name: &str) -> InboundMessage {
    let batch = parse(&case(file, name)).expect("parses");
    assert!(batch.statuses.is_empty(), "{file}/{name}: {batch:?}");
    let [message] = <[InboundMessage; 1]>::try_from(batch.messages).expect("exactly one message");
    message
}

#[test]
fn every_fixture_case_parses_into_something_to_store() {
    let mut cases = 0;
    for (file, text) in FIXTURES {
        let bodies: serde_json::Map<String, Value> =
            serde_json::from_str(text).expect("fixture is a JSON object");
        for (name, body) in bodies {
            let bytes = serde_json::to_vec(&body).expect("serializable");
            let batch = parse(&bytes).unwrap_or_else(|error| panic!("{file}/{name}: {error}"));
            assert!(
                !batch.messages.is_empty() || !batch.statuses.is_empty(),
                "{file}/{name} parsed to nothing"
            );
            cases += 1;
        }
    }
    assert!(cases >= 39, "only {cases} fixture cases found");
}

#[test]
fn a_text_message_carries_sender_business_number_and_time() {
    let message = only_message("message", "text");
    assert_eq!(message.provider_message_id, "wamid.xyzxyz");
    assert_eq!(message.message_type, MessageType::Text);
    assert_eq!(message.text.as_deref(), Some("Body Text"));
    assert_eq!(message.content, None);
    assert_eq!(message.contact.external_id, "972987654321");
    assert_eq!(message.contact.name.as_deref(), Some("Test Name"));
    assert_eq!(message.contact.phone.as_deref(), Some("+972987654321"));
    assert_eq!(message.business_key.as_deref(), Some("1122334455667"));
    assert_eq!(
        message.sent_at.map(|at| at.unix_timestamp()),
        Some(1_697_043_223)
    );
    assert_eq!(message.priority, 0);
}

#[test]
fn media_keeps_the_provider_object_and_its_caption() {
    let image = only_message("message", "image");
    assert_eq!(image.message_type, MessageType::Image);
    assert_eq!(image.text, None);
    let content = image.content.expect("image content");
    assert_eq!(content["id"], "65463453");
    assert_eq!(content["mime_type"], "image/jpeg");

    let video = only_message("message", "video");
    assert_eq!(video.message_type, MessageType::Video);
    assert_eq!(video.text.as_deref(), Some("caption"));
    assert_eq!(video.content.expect("video content")["id"], "765756756");

    let document = only_message("message", "document");
    assert_eq!(document.message_type, MessageType::Document);
    assert_eq!(
        document.content.expect("document content")["filename"],
        "filename.pdf"
    );

    let voice = only_message("message", "voice");
    assert_eq!(voice.message_type, MessageType::Audio);
    assert_eq!(voice.content.expect("voice content")["voice"], true);

    let sticker = only_message("message", "animated_sticker");
    assert_eq!(sticker.message_type, MessageType::Sticker);
    assert_eq!(sticker.content.expect("sticker content")["animated"], true);
}

#[test]
fn reactions_keep_the_emoji_and_the_message_they_react_to() {
    let reaction = only_message("message", "reaction");
    assert_eq!(reaction.message_type, MessageType::Reaction);
    assert_eq!(reaction.text.as_deref(), Some("\u{1f62e}"));
    assert_eq!(
        reaction.content.expect("reaction content")["message_id"],
        "wamid.yzxyzx="
    );
    // Removing a reaction arrives as an empty or absent emoji.
    for name in ["unreaction_empty", "unreaction_no_emoji"] {
        let removal = only_message("message", name);
        assert_eq!(removal.message_type, MessageType::Reaction);
        assert_eq!(removal.text, None, "{name}");
    }
}

#[test]
fn locations_and_shared_contacts_keep_their_content() {
    let location = only_message("message", "chosen_location");
    assert_eq!(location.message_type, MessageType::Location);
    let content = location.content.expect("location content");
    assert_eq!(content["latitude"], 37.4611978);
    assert_eq!(content["name"], "Facebook HQ");

    let contacts = only_message("message", "contacts");
    assert_eq!(contacts.message_type, MessageType::Contacts);
    let shared = contacts.content.expect("contacts content");
    assert_eq!(shared.as_array().map(Vec::len), Some(3));
    assert_eq!(shared[0]["name"]["formatted_name"], "Chandler Bing");
}

#[test]
fn interactive_replies_carry_the_chosen_title() {
    let button = only_message("callback_button", "button");
    assert_eq!(button.message_type, MessageType::Interactive);
    assert_eq!(button.text.as_deref(), Some("title"));
    assert_eq!(
        button.content.expect("interactive content")["button_reply"]["id"],
        "callback_data"
    );

    let list = only_message("callback_selection", "description");
    assert_eq!(list.message_type, MessageType::Interactive);
    assert_eq!(list.text.as_deref(), Some("title"));
    assert_eq!(
        list.content.expect("interactive content")["list_reply"]["description"],
        "description"
    );

    let quick_reply = only_message("callback_button", "quick_reply");
    assert_eq!(quick_reply.message_type, MessageType::Button);
    assert_eq!(quick_reply.text.as_deref(), Some("title"));
    assert_eq!(
        quick_reply.content.expect("button content")["payload"],
        "callback_data"
    );

    // Meta could not describe this one; it is still stored, with the whole message as content.
    let broken = only_message("message", "interactive_message_with_err");
    assert_eq!(broken.message_type, MessageType::Interactive);
    assert_eq!(broken.text, None);
    assert_eq!(
        broken.content.expect("content")["id"],
        "wamid.wegrchytvwcggt="
    );
}

#[test]
fn unmodelled_types_are_stored_as_unsupported_with_the_whole_message() {
    let order = only_message("message", "order");
    assert_eq!(order.message_type, MessageType::Unsupported);
    let content = order.content.expect("order content");
    assert_eq!(content["type"], "order");
    assert_eq!(content["order"]["catalog_id"], "354160437058781");

    let unsupported = only_message("message", "unsupported_with_type");
    assert_eq!(unsupported.message_type, MessageType::Unsupported);
    assert_eq!(
        unsupported.content.expect("content")["errors"][0]["code"],
        131051
    );

    let edit = only_message("edited_message", "image");
    assert_eq!(edit.message_type, MessageType::Unsupported);
    assert_eq!(edit.text.as_deref(), Some("Updated image caption"));
    assert_eq!(
        edit.provider_message_id,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    );

    let revoke = only_message("deleted_message", "revoke");
    assert_eq!(revoke.message_type, MessageType::Unsupported);
    assert_eq!(
        revoke.content.expect("content")["revoke"]["original_message_id"],
        "<ORIGINAL_WHATSAPP_MESSAGE_ID>"
    );
    // Not a phone number, so not stored as one.
    assert_eq!(revoke.contact.phone, None);
}

#[test]
fn system_messages_keep_their_body() {
    let change = only_message("system", "phone_number_change");
    assert_eq!(change.message_type, MessageType::System);
    assert_eq!(
        change.text.as_deref(),
        Some("User A changed from 972987654321 to 972912345678")
    );
    assert_eq!(change.content.expect("content")["wa_id"], "972912345678");
    // This body has no `contacts`: the sender is known, the name is not.
    assert_eq!(change.contact.external_id, "972987654321");
    assert_eq!(change.contact.name, None);

    let identity = only_message("system", "identity_change");
    assert_eq!(identity.contact.name.as_deref(), Some("User A"));
    assert_eq!(identity.text.as_deref(), Some("User identity changed"));
}

fn only_status(name: &str) -> crate::StatusUpdate {
    let batch = parse(&case("message_status", name)).expect("parses");
    assert!(batch.messages.is_empty());
    let [status] = <[crate::StatusUpdate; 1]>::try_from(batch.statuses).expect("one status");
    status
}

#[test]
fn statuses_become_receipts() {
    for (name, expected) in [
        ("sent", MessageStatus::Sent),
        ("delivered", MessageStatus::Delivered),
        ("read", MessageStatus::Read),
        ("played", MessageStatus::Read),
        ("with_tracker", MessageStatus::Sent),
        ("group", MessageStatus::Read),
    ] {
        let status = only_status(name);
        assert_eq!(status.status, expected, "{name}");
        assert_eq!(status.error, None, "{name}");
    }
    let sent = only_status("sent");
    assert_eq!(sent.provider_message_id, "wamid.xyzxyz");
    assert_eq!(sent.at.map(|at| at.unix_timestamp()), Some(1_698_266_945));

    let failed = only_status("failed");
    assert_eq!(failed.status, MessageStatus::Failed);
    assert_eq!(failed.error.expect("errors kept")[0]["code"], 130472);
}

#[test]
fn a_sender_known_only_by_business_scoped_user_id_is_still_a_contact() {
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "555"},
            "contacts": [{"profile": {"name": "Hidden Number"}, "user_id": "US.13491208655302741918"}],
            "messages": [{
                "from_user_id": "US.13491208655302741918",
                "id": "wamid.bsuid", "timestamp": "1700000000",
                "type": "text", "text": {"body": "hi"}
            }]
        }}]}]
    });
    let batch = parse(&serde_json::to_vec(&body).expect("json")).expect("parses");
    let message = &batch.messages[0];
    assert_eq!(message.contact.external_id, "US.13491208655302741918");
    assert_eq!(message.contact.name.as_deref(), Some("Hidden Number"));
    assert_eq!(message.contact.phone, None);

    // And with no sender field at all, the single contact of the change is the sender.
    let mut anonymous = body.clone();
    anonymous["entry"][0]["changes"][0]["value"]["messages"][0]
        .as_object_mut()
        .expect("object")
        .remove("from_user_id");
    let batch = parse(&serde_json::to_vec(&anonymous).expect("json")).expect("parses");
    assert_eq!(
        batch.messages[0].contact.external_id,
        "US.13491208655302741918"
    );
}

#[test]
fn every_entry_and_change_is_read_in_order() {
    let message = |id: &str, from: &str| json!({"from": from, "id": id, "timestamp": "1", "type": "text", "text": {"body": id}});
    let change = |phone_number_id: &str, messages: Vec<Value>| {
        json!({"field": "messages", "value": {
            "metadata": {"phone_number_id": phone_number_id},
            "messages": messages,
            "statuses": [{"id": format!("status-{phone_number_id}"), "status": "delivered"}]
        }})
    };
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [
            {"changes": [change("A", vec![message("1", "100"), message("2", "101")]), change("B", vec![message("3", "100")])]},
            {"changes": [change("C", vec![message("4", "102")])]}
        ]
    });
    let batch: InboundBatch = parse(&serde_json::to_vec(&body).expect("json")).expect("parses");
    let order: Vec<(&str, Option<&str>)> = batch
        .messages
        .iter()
        .map(|message| {
            (
                message.provider_message_id.as_str(),
                message.business_key.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("1", Some("A")),
            ("2", Some("A")),
            ("3", Some("B")),
            ("4", Some("C"))
        ]
    );
    let receipts: Vec<&str> = batch
        .statuses
        .iter()
        .map(|status| status.provider_message_id.as_str())
        .collect();
    assert_eq!(receipts, ["status-A", "status-B", "status-C"]);
}

#[test]
fn other_objects_and_non_json_are_refused() {
    assert!(parse(br#"{"object":"page","entry":[]}"#).is_err());
    assert!(parse(br#"{"entry":[]}"#).is_err());
    assert!(parse(b"[1,2,3]").is_err());
    assert!(parse(b"object=whatsapp_business_account").is_err());
    assert!(parse(b"").is_err());
    let not_json = parse(b"object=whatsapp_business_account").expect_err("not JSON");
    assert_eq!(
        not_json.to_string(),
        "malformed webhook body: not a JSON document"
    );
    assert!(
        std::error::Error::source(&not_json)
            .is_some_and(|cause| cause.downcast_ref::<serde_json::Error>().is_some()),
        "the decoder's error is kept as the cause"
    );
    // Non-message changes (template updates, account alerts) are acknowledged with nothing stored.
    let batch = parse(
        br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"account_update","value":{"event":"X"}}]}]}"#,
    )
    .expect("parses");
    assert_eq!(batch, InboundBatch::default());
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = parse(&body);
    }

    #[test]
    fn parse_never_panics_on_a_damaged_real_body(
        index in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut body = case("message", "contacts");
        let position = index.index(body.len());
        body[position] = replacement;
        body.truncate(cut.index(body.len()) + 1);
        let _ = parse(&body);
    }

    #[test]
    fn parse_never_panics_on_json_of_any_shape(value in arbitrary_json()) {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {
            "metadata": value.clone(), "contacts": [value.clone()], "messages": [value.clone()],
            "statuses": [value]
        }}]}]});
        let _ = parse(&serde_json::to_vec(&body).expect("json"));
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z_]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let keys = prop_oneof![
            Just("id".to_owned()),
            Just("from".to_owned()),
            Just("type".to_owned()),
            Just("text".to_owned()),
            Just("status".to_owned()),
            Just("timestamp".to_owned()),
            Just("wa_id".to_owned()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..5)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}
