//! Sealing and opening: round trips, the failures a wrong key or a moved value give, key formats.

use super::{Keyring, MasterKey, SealedColumn, SecretsError};

const CONFIG: &str = r#"{"signingSecret":"sbsig_do-not-leak"}"#;

fn keyring() -> Keyring {
    Keyring::new(MasterKey::generate().expect("randomness"), Vec::new())
}

#[test]
fn a_sealed_value_opens_and_hides_its_plaintext() {
    let keyring = keyring();
    let sealed = keyring
        .seal(SealedColumn::ChannelConfig, "row-1", CONFIG)
        .expect("seal");
    assert!(sealed.starts_with(&format!("sealed:v1:{}:", keyring.current().id())));
    assert!(!sealed.contains("do-not-leak"));
    let opened = keyring
        .open(SealedColumn::ChannelConfig, "row-1", &sealed)
        .expect("open");
    assert_eq!(opened, CONFIG);
    let again = keyring
        .seal(SealedColumn::ChannelConfig, "row-1", CONFIG)
        .expect("seal");
    assert_ne!(sealed, again, "each value gets its own nonce");
}

#[test]
fn another_key_names_the_key_it_lacks() {
    let first = keyring();
    let sealed = first
        .seal(SealedColumn::AgentConfig, "agent-1", CONFIG)
        .expect("seal");
    let error = keyring()
        .open(SealedColumn::AgentConfig, "agent-1", &sealed)
        .expect_err("a different key cannot open it");
    assert!(
        matches!(&error, SecretsError::UnknownKey { key_id, .. } if key_id == first.current().id().as_str())
    );
    let rotated = Keyring::new(
        MasterKey::generate().expect("randomness"),
        vec![first.current().clone()],
    );
    assert_eq!(
        rotated
            .open(SealedColumn::AgentConfig, "agent-1", &sealed)
            .expect("a previous key opens"),
        CONFIG
    );
    assert!(!rotated.is_current(SealedColumn::AgentConfig, "agent-1", &sealed));
    assert!(first.is_current(SealedColumn::AgentConfig, "agent-1", &sealed));
}

#[test]
fn a_value_moved_to_another_row_or_altered_does_not_open() {
    let keyring = keyring();
    let sealed = keyring
        .seal(SealedColumn::ChannelConfig, "row-1", CONFIG)
        .expect("seal");
    let moved = keyring.open(SealedColumn::ChannelConfig, "row-2", &sealed);
    assert!(matches!(moved, Err(SecretsError::Tampered { .. })));
    let other_column = keyring.open(SealedColumn::AgentConfig, "row-1", &sealed);
    assert!(matches!(other_column, Err(SecretsError::Tampered { .. })));
    let mut altered = sealed.clone();
    let last = altered.pop().expect("not empty");
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let altered = keyring.open(SealedColumn::ChannelConfig, "row-1", &altered);
    assert!(matches!(
        altered,
        Err(SecretsError::Tampered { .. } | SecretsError::Malformed { .. })
    ));
    let truncated = keyring.open(SealedColumn::ChannelConfig, "row-1", "sealed:v1:abc");
    assert!(matches!(truncated, Err(SecretsError::Malformed { .. })));
}

#[test]
fn a_value_from_before_sealing_reads_as_it_is() {
    let keyring = keyring();
    assert_eq!(
        keyring
            .open(SealedColumn::ChannelConfig, "row-1", CONFIG)
            .expect("plaintext passes"),
        CONFIG
    );
    assert!(!keyring.is_current(SealedColumn::ChannelConfig, "row-1", CONFIG));
}

#[test]
fn keys_read_back_from_base64_and_hex_with_the_same_id() {
    let key = MasterKey::generate().expect("randomness");
    let encoded = key.encoded();
    assert_eq!(encoded.len(), 44);
    let parsed = MasterKey::parse(&format!("{encoded}\n")).expect("base64 parses");
    assert_eq!(parsed.id(), key.id());
    let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let from_hex = MasterKey::parse(hex).expect("hex parses");
    assert_eq!(from_hex.id().as_str().len(), 16);
    assert!(matches!(
        MasterKey::parse("c2hvcnQ="),
        Err(SecretsError::InvalidKey(_))
    ));
    assert!(matches!(
        MasterKey::parse("  "),
        Err(SecretsError::InvalidKey(_))
    ));
    assert!(!format!("{key:?}").contains(&encoded));
}
