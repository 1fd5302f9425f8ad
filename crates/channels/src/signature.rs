//! The HMAC arithmetic behind every webhook check: computing tags over raw bytes, hex encoding,
//! and comparing in constant time so a forger learns nothing from how long a refusal takes.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// HMAC-SHA256 of the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// HMAC-SHA1 of the concatenation of `parts` (Twilio still signs with SHA-1).
pub(crate) fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Equal contents, compared without an early exit on the first differing byte.
pub(crate) fn same_bytes(expected: &[u8], given: &[u8]) -> bool {
    expected.ct_eq(given).into()
}

/// Equal shared secrets, compared through their digests so neither the contents nor the length
/// of the configured secret leaks through timing.
pub(crate) fn same_secret(expected: &str, given: &str) -> bool {
    let expected = Sha256::digest(expected.as_bytes());
    let given = Sha256::digest(given.as_bytes());
    same_bytes(&expected, &given)
}

/// Lowercase hexadecimal.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Decodes hexadecimal in either case; `None` for odd lengths or other characters.
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_the_rfc_4231_vector() {
        // RFC 4231, test case 2.
        let tag = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            to_hex(&tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_sha1_matches_the_rfc_2202_vector() {
        let tag = hmac_sha1(b"Jefe", &[b"what do ya want for nothing?"]);
        assert_eq!(to_hex(&tag), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let bytes = [0x00, 0x7f, 0xab, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)).as_deref(), Some(&bytes[..]));
        assert_eq!(from_hex("ABff").as_deref(), Some(&[0xab, 0xff][..]));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret("token", "token"));
        assert!(!same_secret("token", "token "));
        assert!(!same_secret("token", ""));
    }
}
