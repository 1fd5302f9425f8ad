//! Twilio Programmable Messaging: the `X-Twilio-Signature` check (HMAC-SHA1 over the public URL
//! and the sorted POST parameters), parsing inbound SMS/MMS and status callbacks ([`parse`]),
//! the empty TwiML answer, and sending through `POST …/Accounts/{accountSid}/Messages.json`.

mod parse;
mod send;

pub use parse::{form_params, parse};
pub(crate) use send::send;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::VerifyError;
use crate::signature::{hmac_sha1, same_bytes};

/// The header Twilio signs every webhook with.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// The answer to a webhook when there is nothing to say back synchronously (replies go out
/// through the REST API once the agent has answered). Serve as `text/xml`.
pub const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

/// Checks `X-Twilio-Signature: base64(HMAC-SHA1(auth_token, url + name1 + value1 + …))` where
/// `url` is the full public URL Twilio called (scheme, host, path and query) and the POST
/// parameters are sorted by name. Proxies and Twilio disagree about default ports, so the URL is
/// also tried with the port removed and with the scheme's default port added, as Twilio's own
/// libraries do.
pub fn verify_signature(
    auth_token: &str,
    header: Option<&str>,
    url: &str,
    params: &[(String, String)],
) -> Result<(), VerifyError> {
    let header = header.ok_or(VerifyError::Missing(SIGNATURE_HEADER))?;
    let given = STANDARD
        .decode(header.trim())
        .map_err(|_| VerifyError::Invalid("X-Twilio-Signature is not base64"))?;
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut matched = false;
    for candidate in url_variants(url) {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(1 + 2 * sorted.len());
        parts.push(candidate.as_bytes());
        for (name, value) in &sorted {
            parts.push(name.as_bytes());
            parts.push(value.as_bytes());
        }
        // Every candidate is checked, so timing does not tell which one matched.
        matched |= same_bytes(&hmac_sha1(auth_token.as_bytes(), &parts), &given);
    }
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Invalid(
            "X-Twilio-Signature does not match the request",
        ))
    }
}

/// Computes the `X-Twilio-Signature` value Twilio would send for `url` and `params`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut parts: Vec<&[u8]> = vec![url.as_bytes()];
    for (name, value) in &sorted {
        parts.push(name.as_bytes());
        parts.push(value.as_bytes());
    }
    STANDARD.encode(hmac_sha1(auth_token.as_bytes(), &parts))
}

/// `url` as given, without its port, and with the scheme's default port when it has none.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return variants,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rsplit_once(':') {
        Some((host, port))
            if !port.is_empty()
                && port.bytes().all(|byte| byte.is_ascii_digit())
                && (!host.starts_with('[') || host.ends_with(']')) =>
        {
            host
        }
        _ => authority,
    };
    let without_port = format!("{scheme}://{host}{tail}");
    if host == authority {
        variants.push(format!("{scheme}://{host}:{default_port}{tail}"));
    }
    variants.push(without_port);
    variants.dedup();
    variants
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn twilio_documentation_example_verifies() {
        // The worked example from Twilio's "Webhooks security" page.
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let body = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let header = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
        assert_eq!(
            verify_signature("12345", Some(header), url, &body),
            Ok(()),
            "computed {}",
            sign("12345", url, &body)
        );
    }

    #[test]
    fn parameter_order_does_not_matter_but_every_value_does() {
        let url = "https://gateway.example/webhooks/twilio/abc";
        let sent = params(&[("To", "+1555"), ("Body", "hello"), ("From", "+1666")]);
        let header = sign("token", url, &sent);
        let reordered = params(&[("Body", "hello"), ("From", "+1666"), ("To", "+1555")]);
        assert_eq!(
            verify_signature("token", Some(&header), url, &reordered),
            Ok(())
        );
        let altered = params(&[("Body", "hellO"), ("From", "+1666"), ("To", "+1555")]);
        assert!(matches!(
            verify_signature("token", Some(&header), url, &altered),
            Err(VerifyError::Invalid(_))
        ));
        assert!(matches!(
            verify_signature("token", Some(&header), "https://other.example/x", &sent),
            Err(VerifyError::Invalid(_))
        ));
        assert!(matches!(
            verify_signature("other-token", Some(&header), url, &sent),
            Err(VerifyError::Invalid(_))
        ));
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        assert_eq!(
            verify_signature("token", None, "https://a.example/", &[]),
            Err(VerifyError::Missing(SIGNATURE_HEADER))
        );
        assert!(matches!(
            verify_signature("token", Some("not base64!"), "https://a.example/", &[]),
            Err(VerifyError::Invalid(_))
        ));
    }

    #[test]
    fn a_default_port_on_either_side_still_verifies() {
        let body = params(&[("MessageSid", "SM1")]);
        let signed_without = sign("token", "https://a.example/hook?x=1", &body);
        assert_eq!(
            verify_signature(
                "token",
                Some(&signed_without),
                "https://a.example:443/hook?x=1",
                &body
            ),
            Ok(())
        );
        let signed_with = sign("token", "https://a.example:443/hook", &body);
        assert_eq!(
            verify_signature("token", Some(&signed_with), "https://a.example/hook", &body),
            Ok(())
        );
        assert_eq!(
            url_variants("http://[::1]:8080/x"),
            ["http://[::1]:8080/x", "http://[::1]/x"]
        );
    }

    proptest! {
        #[test]
        fn any_signed_form_verifies(
            token in "[A-Za-z0-9]{8,32}",
            form in proptest::collection::vec(("[A-Za-z0-9]{1,12}", "\\PC{0,24}"), 0..8),
        ) {
            let url = "https://gateway.example/webhooks/twilio/channel";
            let header = sign(&token, url, &form);
            prop_assert_eq!(verify_signature(&token, Some(&header), url, &form), Ok(()));
        }

        #[test]
        fn any_single_byte_flip_in_a_value_fails(
            form in proptest::collection::vec(("[A-Za-z]{1,12}", "[ -~]{1,24}"), 1..8),
            which in any::<prop::sample::Index>(),
            position in any::<prop::sample::Index>(),
            flip in 1u8..0x20,
        ) {
            let url = "https://gateway.example/webhooks/twilio/channel";
            let header = sign("token", url, &form);
            let mut tampered = form.clone();
            let entry = which.index(tampered.len());
            let mut bytes = tampered[entry].1.clone().into_bytes();
            let at = position.index(bytes.len());
            // Flipping low bits of printable ASCII stays ASCII, so the value stays valid UTF-8.
            bytes[at] ^= flip;
            tampered[entry].1 = String::from_utf8(bytes).expect("ascii");
            prop_assert!(matches!(
                verify_signature("token", Some(&header), url, &tampered),
                Err(VerifyError::Invalid(_))
            ));
        }
    }
}
