//! WhatsApp Cloud API: the `X-Hub-Signature-256` check on raw webhook bytes, the `hub.*`
//! subscription handshake, webhook parsing ([`parse`]) and sending text replies through the
//! Graph API (`{apiBaseUrl}/{phoneNumberId}/messages`).

mod parse;
mod send;

pub use parse::parse;
pub(crate) use send::send;

use crate::VerifyError;
use crate::signature::{from_hex, hmac_sha256, same_bytes, same_secret};

/// The header Meta signs every webhook POST with.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, body)>` over the exact bytes
/// received, in constant time.
pub fn verify_signature(
    app_secret: &str,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let header = header.ok_or(VerifyError::Missing(SIGNATURE_HEADER))?;
    let given = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(from_hex)
        .ok_or(VerifyError::Invalid(
            "X-Hub-Signature-256 is not `sha256=<hex>`",
        ))?;
    let expected = hmac_sha256(app_secret.as_bytes(), &[body]);
    if same_bytes(&expected, &given) {
        Ok(())
    } else {
        Err(VerifyError::Invalid(
            "X-Hub-Signature-256 does not match the body",
        ))
    }
}

/// Answers Meta's subscription handshake (`GET ?hub.mode=subscribe&hub.verify_token=…&
/// hub.challenge=…`): the challenge to echo back when the token is the channel's.
pub fn verify_subscription(
    verify_token: &str,
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
) -> Result<String, VerifyError> {
    let mode = mode.ok_or(VerifyError::Missing("hub.mode"))?;
    let token = token.ok_or(VerifyError::Missing("hub.verify_token"))?;
    let challenge = challenge.ok_or(VerifyError::Missing("hub.challenge"))?;
    if mode != "subscribe" {
        return Err(VerifyError::Invalid("hub.mode is not `subscribe`"));
    }
    if !same_secret(verify_token, token) {
        return Err(VerifyError::Invalid("hub.verify_token does not match"));
    }
    Ok(challenge.to_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::signature::to_hex;

    fn header_for(secret: &str, body: &[u8]) -> String {
        format!(
            "sha256={}",
            to_hex(&hmac_sha256(secret.as_bytes(), &[body]))
        )
    }

    #[test]
    fn a_body_signed_with_the_app_secret_verifies() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let header = header_for("app-secret", body);
        assert_eq!(verify_signature("app-secret", Some(&header), body), Ok(()));
        let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
        assert_eq!(verify_signature("app-secret", Some(&upper), body), Ok(()));
    }

    #[test]
    fn a_missing_header_is_missing_and_a_wrong_one_invalid() {
        let body = b"{}";
        assert_eq!(
            verify_signature("app-secret", None, body),
            Err(VerifyError::Missing(SIGNATURE_HEADER))
        );
        let other_secret = header_for("another-secret", body);
        assert!(matches!(
            verify_signature("app-secret", Some(&other_secret), body),
            Err(VerifyError::Invalid(_))
        ));
        for malformed in ["", "sha256=", "sha256=xyz", "sha1=abcd", "abcdef"] {
            assert!(
                matches!(
                    verify_signature("app-secret", Some(malformed), body),
                    Err(VerifyError::Invalid(_))
                ),
                "{malformed:?} accepted"
            );
        }
    }

    #[test]
    fn the_subscription_handshake_echoes_the_challenge_for_the_right_token() {
        assert_eq!(
            verify_subscription("tok", Some("subscribe"), Some("tok"), Some("1158201444")),
            Ok("1158201444".to_owned())
        );
        assert!(matches!(
            verify_subscription("tok", Some("subscribe"), Some("nope"), Some("1")),
            Err(VerifyError::Invalid(_))
        ));
        assert!(matches!(
            verify_subscription("tok", Some("unsubscribe"), Some("tok"), Some("1")),
            Err(VerifyError::Invalid(_))
        ));
        assert!(matches!(
            verify_subscription("tok", Some("subscribe"), None, Some("1")),
            Err(VerifyError::Missing(_))
        ));
        assert!(matches!(
            verify_subscription("tok", None, Some("tok"), Some("1")),
            Err(VerifyError::Missing(_))
        ));
    }

    proptest! {
        #[test]
        fn any_signed_body_verifies(secret in "[ -~]{1,40}", body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let header = header_for(&secret, &body);
            prop_assert_eq!(verify_signature(&secret, Some(&header), &body), Ok(()));
        }

        #[test]
        fn any_single_byte_flip_fails(
            body in proptest::collection::vec(any::<u8>(), 1..512),
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let header = header_for("app-secret", &body);
            let mut tampered = body.clone();
            let position = index.index(tampered.len());
            tampered[position] ^= flip;
            prop_assert!(matches!(
                verify_signature("app-secret", Some(&header), &tampered),
                Err(VerifyError::Invalid(_))
            ));
        }
    }
}
