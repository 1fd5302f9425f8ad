//! The API channel: signed JSON between Switchboard and a customer's own web chat or app.
//! Both directions carry `X-Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "{t}.{body}">` made with the channel's signing secret: inbound bodies are checked with
//! [`verify_signature`] (several `v1` values are accepted so secrets can be rotated, and a stale
//! `t` is refused as a replay), replies POSTed to the app's `callbackUrl` are signed with [`sign`].

mod parse;
mod send;

pub use parse::{MAX_PRIORITY, parse};
pub(crate) use send::send;

use std::time::Duration;

use switchboard_core::Timestamp;

use crate::VerifyError;
use crate::signature::{from_hex, hmac_sha256, same_bytes, to_hex};

/// The header carrying the signature, in both directions.
pub const SIGNATURE_HEADER: &str = "X-Switchboard-Signature";

/// The `X-Switchboard-Signature` value for `body` signed at `t` (unix seconds).
pub fn sign(signing_secret: &str, body: &[u8], t: i64) -> String {
    let t = t.to_string();
    let tag = hmac_sha256(signing_secret.as_bytes(), &[t.as_bytes(), b".", body]);
    format!("t={t},v1={}", to_hex(&tag))
}

/// Checks `X-Switchboard-Signature` over the exact bytes received: one of its `v1` values must be
/// the HMAC of `"{t}.{body}"`, and `t` must be within `tolerance` of `now` either way.
pub fn verify_signature(
    signing_secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: Timestamp,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let header = header.ok_or(VerifyError::Missing(SIGNATURE_HEADER))?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for element in header.split(',') {
        match element.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => candidates.push(value),
            // Other schemes (`v0`, future versions) are not ours to check.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Invalid(
        "X-Switchboard-Signature has no `t=` timestamp",
    ))?;
    let seconds: i64 = timestamp.parse().map_err(|_| {
        VerifyError::Invalid("X-Switchboard-Signature timestamp is not unix seconds")
    })?;
    if candidates.is_empty() {
        return Err(VerifyError::Invalid(
            "X-Switchboard-Signature has no `v1=` signature",
        ));
    }
    if now.unix_timestamp().abs_diff(seconds) > tolerance.as_secs() {
        return Err(VerifyError::Invalid(
            "X-Switchboard-Signature timestamp is outside the tolerance",
        ));
    }
    let expected = hmac_sha256(
        signing_secret.as_bytes(),
        &[timestamp.as_bytes(), b".", body],
    );
    let matched = candidates.iter().fold(false, |matched, candidate| {
        let given = from_hex(candidate).unwrap_or_default();
        matched | same_bytes(&expected, &given)
    });
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Invalid(
            "X-Switchboard-Signature does not match the body",
        ))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const TOLERANCE: Duration = Duration::from_secs(300);

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_timestamp(seconds).expect("valid time")
    }

    #[test]
    fn a_freshly_signed_body_verifies() {
        let body = br#"{"messageId":"m1","from":{"id":"u1"},"text":"hi"}"#;
        let header = sign("secret", body, 1_700_000_000);
        assert!(header.starts_with("t=1700000000,v1="), "{header}");
        assert_eq!(
            verify_signature("secret", Some(&header), body, at(1_700_000_010), TOLERANCE),
            Ok(())
        );
    }

    #[test]
    fn any_of_several_signatures_may_match_during_rotation() {
        let body = b"{}";
        let old = sign("old-secret", body, 1_700_000_000);
        let new = sign("new-secret", body, 1_700_000_000);
        let new_v1 = new.split_once(",v1=").expect("v1").1;
        let both = format!("{old}, v1={new_v1}");
        for secret in ["old-secret", "new-secret"] {
            assert_eq!(
                verify_signature(secret, Some(&both), body, at(1_700_000_000), TOLERANCE),
                Ok(()),
                "{secret}"
            );
        }
        assert!(matches!(
            verify_signature("third", Some(&both), body, at(1_700_000_000), TOLERANCE),
            Err(VerifyError::Invalid(_))
        ));
    }

    #[test]
    fn a_timestamp_outside_the_tolerance_is_a_replay() {
        let body = b"{}";
        let header = sign("secret", body, 1_700_000_000);
        for now in [1_700_000_301, 1_699_999_699] {
            assert!(
                matches!(
                    verify_signature("secret", Some(&header), body, at(now), TOLERANCE),
                    Err(VerifyError::Invalid(_))
                ),
                "accepted at {now}"
            );
        }
        for now in [1_700_000_300, 1_699_999_700] {
            assert_eq!(
                verify_signature("secret", Some(&header), body, at(now), TOLERANCE),
                Ok(())
            );
        }
    }

    #[test]
    fn missing_malformed_and_wrong_signatures_are_refused() {
        let now = at(1_700_000_000);
        assert_eq!(
            verify_signature("secret", None, b"{}", now, TOLERANCE),
            Err(VerifyError::Missing(SIGNATURE_HEADER))
        );
        let valid = sign("secret", b"{}", 1_700_000_000);
        let v1 = valid.split_once(",v1=").expect("v1").1;
        for header in [
            String::new(),
            format!("v1={v1}"),
            "t=1700000000".to_owned(),
            format!("t=soon,v1={v1}"),
            "t=1700000000,v1=zz".to_owned(),
            sign("other", b"{}", 1_700_000_000),
            // The timestamp is part of what is signed: moving it breaks the signature.
            format!("t=1700000001,v1={v1}"),
        ] {
            assert!(
                matches!(
                    verify_signature("secret", Some(&header), b"{}", now, TOLERANCE),
                    Err(VerifyError::Invalid(_))
                ),
                "{header:?} accepted"
            );
        }
    }

    proptest! {
        #[test]
        fn any_signed_body_verifies(
            secret in "[ -~]{1,40}",
            body in proptest::collection::vec(any::<u8>(), 0..512),
            t in 0i64..4_000_000_000,
        ) {
            let header = sign(&secret, &body, t);
            prop_assert_eq!(
                verify_signature(&secret, Some(&header), &body, at(t), TOLERANCE),
                Ok(())
            );
        }

        #[test]
        fn any_single_byte_flip_fails(
            body in proptest::collection::vec(any::<u8>(), 1..512),
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let header = sign("secret", &body, 1_700_000_000);
            let mut tampered = body.clone();
            let position = index.index(tampered.len());
            tampered[position] ^= flip;
            prop_assert!(matches!(
                verify_signature("secret", Some(&header), &tampered, at(1_700_000_000), TOLERANCE),
                Err(VerifyError::Invalid(_))
            ));
        }

        #[test]
        fn any_header_text_never_panics(header in "\\PC{0,80}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = verify_signature("secret", Some(&header), &body, at(1_700_000_000), TOLERANCE);
        }
    }
}
