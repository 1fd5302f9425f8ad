//! The quantities a command line or threshold names: durations (`500ms`, `10s`, `5m`, `1h`,
//! `1m30s`), rates (`1000/s`, `60/m`), percentages (`1%`) and stages (`30s:100`).

use std::time::Duration;

/// A value that could not be read, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}`: {expected}")]
pub struct QuantityError {
    pub input: String,
    pub expected: &'static str,
}

fn invalid(input: &str, expected: &'static str) -> QuantityError {
    QuantityError {
        input: input.to_owned(),
        expected,
    }
}

/// `250ms`, `1.5s`, `10s`, `5m`, `1h`, `1m30s`, `20us`; a bare number is seconds.
pub fn parse_duration(input: &str) -> Result<Duration, QuantityError> {
    const EXPECTED: &str = "expected a duration such as 500ms, 10s, 5m, 1h or 1m30s";
    let text = input.trim();
    if text.is_empty() {
        return Err(invalid(input, EXPECTED));
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds_to_duration(seconds).ok_or_else(|| invalid(input, EXPECTED));
    }
    let mut total = 0.0_f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest
            .find(|character: char| !(character.is_ascii_digit() || character == '.'))
            .ok_or_else(|| invalid(input, EXPECTED))?;
        if number_end == 0 {
            return Err(invalid(input, EXPECTED));
        }
        let number: f64 = rest[..number_end]
            .parse()
            .map_err(|_| invalid(input, EXPECTED))?;
        let after = &rest[number_end..];
        let unit_end = after
            .find(|character: char| character.is_ascii_digit() || character == '.')
            .unwrap_or(after.len());
        let seconds_per_unit = match &after[..unit_end] {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid(input, EXPECTED)),
        };
        total += number * seconds_per_unit;
        rest = &after[unit_end..];
    }
    seconds_to_duration(total).ok_or_else(|| invalid(input, EXPECTED))
}

fn seconds_to_duration(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// `1000/s`, `1000`, `60/m`, `2.5k/s`: arrivals per second.
pub fn parse_rate(input: &str) -> Result<f64, QuantityError> {
    const EXPECTED: &str = "expected a rate such as 100/s, 2k/s or 600/m";
    let text = input.trim();
    let (number, per) = match text.split_once('/') {
        Some((number, unit)) => {
            let per = match unit.trim() {
                "s" | "sec" => 1.0,
                "m" | "min" => 60.0,
                "h" => 3600.0,
                _ => return Err(invalid(input, EXPECTED)),
            };
            (number.trim(), per)
        }
        None => (text, 1.0),
    };
    let (digits, multiplier) = match number.strip_suffix(['k', 'K']) {
        Some(digits) => (digits, 1000.0),
        None => (number, 1.0),
    };
    let value: f64 = digits.parse().map_err(|_| invalid(input, EXPECTED))?;
    let rate = value * multiplier / per;
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err(invalid(input, EXPECTED))
    }
}

/// `20%` → 0.2; a bare number above 1 is a percentage, at most 1 a fraction.
pub fn parse_percent(input: &str) -> Result<f64, QuantityError> {
    const EXPECTED: &str = "expected a percentage such as 20%";
    let text = input.trim();
    let value = match text.strip_suffix('%') {
        Some(number) => number.trim().parse::<f64>().map(|value| value / 100.0),
        None => text
            .parse::<f64>()
            .map(|value| if value > 1.0 { value / 100.0 } else { value }),
    }
    .map_err(|_| invalid(input, EXPECTED))?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(invalid(input, EXPECTED))
    }
}

/// One k6 stage: ramp linearly to `target` virtual users over `duration`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    #[serde(with = "seconds")]
    pub duration: Duration,
    pub target: u32,
}

/// `30s:100` → ramp to 100 virtual users over 30 seconds.
pub fn parse_stage(input: &str) -> Result<Stage, QuantityError> {
    const EXPECTED: &str = "expected DURATION:TARGET, e.g. 30s:100";
    let (duration, target) = input
        .split_once(':')
        .ok_or_else(|| invalid(input, EXPECTED))?;
    Ok(Stage {
        duration: parse_duration(duration).map_err(|_| invalid(input, EXPECTED))?,
        target: target
            .trim()
            .parse()
            .map_err(|_| invalid(input, EXPECTED))?,
    })
}

/// A duration for people: `850µs`, `12.3ms`, `4.20s`, `3m05s`.
pub fn format_duration(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0}µs")
    } else if micros < 10_000.0 {
        format!("{:.2}ms", micros / 1000.0)
    } else if micros < 1_000_000.0 {
        format!("{:.1}ms", micros / 1000.0)
    } else if micros < 60e6 {
        format!("{:.2}s", micros / 1e6)
    } else {
        let seconds = duration.as_secs();
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

/// Milliseconds with up to three decimals, as in reports.
pub fn format_millis(millis: f64) -> String {
    format_duration(Duration::from_secs_f64(millis.max(0.0) / 1000.0))
}

/// Serializes a `Duration` as fractional seconds.
pub(crate) mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(duration.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
    }
}
