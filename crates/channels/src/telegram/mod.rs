//! Telegram Bot API: the `X-Telegram-Bot-Api-Secret-Token` check, parsing updates ([`parse`];
//! `message` and `edited_message`, everything else acknowledged with nothing to store) and
//! sending through `POST {apiBaseUrl}/bot{botToken}/sendMessage`.

mod parse;
mod send;

pub use parse::parse;
pub(crate) use send::send;

use crate::VerifyError;
use crate::signature::same_secret;

/// The header Telegram repeats the webhook's `secret_token` in.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// Checks that the secret token header equals the one the webhook was registered with
/// (constant time).
pub fn verify_secret(secret_token: &str, header: Option<&str>) -> Result<(), VerifyError> {
    let header = header.ok_or(VerifyError::Missing(SECRET_HEADER))?;
    if same_secret(secret_token, header) {
        Ok(())
    } else {
        Err(VerifyError::Invalid(
            "X-Telegram-Bot-Api-Secret-Token does not match",
        ))
    }
}

/// The public numeric id of a bot: the part of its token before `:`. Rate limits are keyed by
/// it so the token itself is never held as a map key.
pub(crate) fn bot_id(bot_token: &str) -> &str {
    bot_token.split_once(':').map_or(bot_token, |(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registered_secret_verifies_and_nothing_else_does() {
        assert_eq!(verify_secret("s3cret-token", Some("s3cret-token")), Ok(()));
        assert_eq!(
            verify_secret("s3cret-token", None),
            Err(VerifyError::Missing(SECRET_HEADER))
        );
        for wrong in ["", "s3cret-toke", "s3cret-token ", "S3CRET-TOKEN"] {
            assert!(
                matches!(
                    verify_secret("s3cret-token", Some(wrong)),
                    Err(VerifyError::Invalid(_))
                ),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn the_bot_id_is_the_token_prefix() {
        assert_eq!(bot_id("123456:ABC-DEF1234ghIkl"), "123456");
        assert_eq!(bot_id("no-colon"), "no-colon");
    }
}
