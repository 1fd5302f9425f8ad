//! Durations as people write them: `"500ms"`, `"30s"`, `"15m"`, `"7days"`, `"1h 30m"`
//! (humantime's units). A bare number is refused, since its unit would be a guess.
//!
//! Used as `#[serde(with = "duration")]`, or `"duration::or_forever"` for an `Option` whose
//! `None` is written `"forever"`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

const EXPECTED: &str = "a duration with a unit, such as \"500ms\", \"30s\", \"15m\" or \"7days\"";

pub(super) fn serialize<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

pub(super) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    deserializer.deserialize_str(HumanDuration)
}

fn parse<E: de::Error>(text: &str) -> Result<Duration, E> {
    humantime::parse_duration(text).map_err(|error| {
        E::invalid_value(
            de::Unexpected::Str(text),
            &format!("{EXPECTED} ({error})").as_str(),
        )
    })
}

struct HumanDuration;

impl Visitor<'_> for HumanDuration {
    type Value = Duration;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        parse(text)
    }
}

/// An optional duration whose absence means "no limit", written `"forever"`.
pub(super) mod or_forever {
    use super::*;

    const FOREVER: &str = "forever";

    pub(in crate::config) fn serialize<S: Serializer>(
        duration: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::serialize(duration, serializer),
            None => serializer.serialize_str(FOREVER),
        }
    }

    pub(in crate::config) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        deserializer.deserialize_str(HumanDurationOrForever)
    }

    struct HumanDurationOrForever;

    impl Visitor<'_> for HumanDurationOrForever {
        type Value = Option<Duration>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(formatter, "{EXPECTED}, or \"{FOREVER}\"")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Option<Duration>, E> {
            if text == FOREVER {
                return Ok(None);
            }
            parse(text).map(Some)
        }
    }
}
