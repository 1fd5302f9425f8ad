//! Phone numbers as people write them (`+1 (555) 123-4567`, `0044 20 7946 0958`, `020 7946
//! 0958` in a British list), brought to E.164 (`+442079460958`). A national number needs the
//! country it belongs to: [`Country`], an ISO 3166 alpha-2 code with its calling code.

use std::fmt;
use std::str::FromStr;

use crate::{Contact, ValidationError};

/// A country whose national numbers can be brought to E.164.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166 alpha-2, upper case (`GB`).
    pub code: &'static str,
    /// The international calling code, without `+` (`44`).
    pub calling_code: &'static str,
    /// Whether a national number's leading `0` (trunk prefix) is dropped internationally.
    drops_trunk_zero: bool,
}

/// Countries by ISO code: calling code, and whether the national trunk `0` is dropped.
const COUNTRIES: &[(&str, &str, bool)] = &[
    ("AE", "971", true),
    ("AR", "54", true),
    ("AT", "43", true),
    ("AU", "61", true),
    ("BD", "880", true),
    ("BE", "32", true),
    ("BG", "359", true),
    ("BR", "55", true),
    ("CA", "1", false),
    ("CH", "41", true),
    ("CL", "56", false),
    ("CN", "86", true),
    ("CO", "57", false),
    ("CZ", "420", false),
    ("DE", "49", true),
    ("DK", "45", false),
    ("EG", "20", true),
    ("ES", "34", false),
    ("FI", "358", true),
    ("FR", "33", true),
    ("GB", "44", true),
    ("GH", "233", true),
    ("GR", "30", false),
    ("HK", "852", false),
    ("HU", "36", true),
    ("ID", "62", true),
    ("IE", "353", true),
    ("IL", "972", true),
    ("IN", "91", true),
    ("IT", "39", false),
    ("JP", "81", true),
    ("KE", "254", true),
    ("KR", "82", true),
    ("MA", "212", true),
    ("MX", "52", false),
    ("MY", "60", true),
    ("NG", "234", true),
    ("NL", "31", true),
    ("NO", "47", false),
    ("NZ", "64", true),
    ("PE", "51", false),
    ("PH", "63", true),
    ("PK", "92", true),
    ("PL", "48", false),
    ("PT", "351", false),
    ("RO", "40", true),
    ("RU", "7", true),
    ("SA", "966", true),
    ("SE", "46", true),
    ("SG", "65", false),
    ("TH", "66", true),
    ("TR", "90", true),
    ("TW", "886", true),
    ("UA", "380", true),
    ("US", "1", false),
    ("VN", "84", true),
    ("ZA", "27", true),
];

/// A country code that is not in the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown country {0:?}: expected an ISO 3166 alpha-2 code such as US, GB or IL")]
pub struct UnknownCountry(pub String);

impl FromStr for Country {
    type Err = UnknownCountry;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let code = text.trim().to_ascii_uppercase();
        COUNTRIES
            .iter()
            .find(|(iso, _, _)| *iso == code)
            .map(|&(code, calling_code, drops_trunk_zero)| Country {
                code,
                calling_code,
                drops_trunk_zero,
            })
            .ok_or_else(|| UnknownCountry(text.chars().take(20).collect()))
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// `text` in E.164: spaces, dots, dashes and parentheses dropped; `00` read as `+`; a national
/// number (no `+`) put in `country` (its trunk `0` dropped where the country does). A national
/// number without a country is refused, saying so.
pub fn normalize_phone(text: &str, country: Option<Country>) -> Result<String, ValidationError> {
    let mut digits = String::with_capacity(text.len() + 4);
    let trimmed = text.trim();
    let (international, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => match trimmed.strip_prefix("00") {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        },
    };
    for character in rest.chars() {
        match character {
            '0'..='9' => digits.push(character),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => {
                return Err(ValidationError::new(
                    "phone",
                    format!("{character:?} is not part of a phone number"),
                ));
            }
        }
    }
    let number = if international {
        format!("+{digits}")
    } else {
        let country = country.ok_or_else(|| {
            ValidationError::new(
                "phone",
                "a national number needs + and its country code (or a defaultCountry)",
            )
        })?;
        let national = match digits.strip_prefix('0') {
            Some(rest) if country.drops_trunk_zero => rest,
            _ => digits.as_str(),
        };
        // Already international without `+` (`14155550100` in a US list): keep it once.
        if country.calling_code == "1" && national.len() == 11 && national.starts_with('1') {
            format!("+{national}")
        } else {
            format!("+{}{national}", country.calling_code)
        }
    };
    Contact::validate_phone(&number)?;
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> Option<Country> {
        code.parse().ok()
    }

    #[test]
    fn numbers_come_to_e164() {
        let cases = [
            ("+1 (555) 123-4567", None, "+15551234567"),
            ("0044 20 7946 0958", None, "+442079460958"),
            ("020 7946 0958", country("gb"), "+442079460958"),
            ("(415) 555-0100", country("US"), "+14155550100"),
            ("1 415 555 0100", country("US"), "+14155550100"),
            ("06 12 34 56 78", country("FR"), "+33612345678"),
            ("06 1234 5678", country("IT"), "+390612345678"),
        ];
        for (text, country, expected) in cases {
            assert_eq!(
                normalize_phone(text, country).as_deref(),
                Ok(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_numbers_say_why() {
        assert!(
            normalize_phone("555-0100", None).is_err(),
            "national without a country"
        );
        assert!(normalize_phone("+1 555 abc", None).is_err(), "letters");
        assert!(normalize_phone("+12", None).is_err(), "too short");
        assert!(normalize_phone("", country("US")).is_err(), "empty");
        assert!("XX".parse::<Country>().is_err());
    }
}
