//! Settings every agent kind shares, read from its configuration: what happens when a message
//! arrives while a run is in flight (`doubleTexting`, `debounceMs`), per-token pricing
//! (`pricing: {promptPer1k, completionPer1k}`), and how many tokens of history a model sees
//! (`contextTokens`).

use std::time::Duration;

use serde_json::Value;
use switchboard_core::Usage;

use crate::AgentError;

/// How long a `coalesce` agent waits for a burst of messages to end, unless configured.
const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(1000);
/// The history budget of a model's context, unless configured.
const DEFAULT_CONTEXT_TOKENS: usize = 3000;

/// What to do with messages that arrive while the conversation's run is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DoubleTexting {
    /// One run per message, in order (the default).
    #[default]
    Enqueue,
    /// The next run answers every pending message at once, after the burst has been quiet
    /// for `debounce`.
    Coalesce { debounce: Duration },
    /// A new message cancels the run in flight (nothing it did is kept); the next run
    /// answers every pending message.
    Interrupt,
}

/// Credits per thousand tokens, on top of the agent's cost per run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pricing {
    pub prompt_per_1k: f64,
    pub completion_per_1k: f64,
}

impl Pricing {
    /// The credits `usage` costs, rounded up to a whole credit.
    pub fn credits(&self, usage: Usage) -> i64 {
        let cost = usage.prompt_tokens as f64 / 1000.0 * self.prompt_per_1k
            + usage.completion_tokens as f64 / 1000.0 * self.completion_per_1k;
        // Saturating float-to-int cast: absurd prices cannot wrap around.
        cost.ceil().max(0.0) as i64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentSettings {
    pub double_texting: DoubleTexting,
    pub pricing: Option<Pricing>,
    pub context_tokens: usize,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self {
            double_texting: DoubleTexting::Enqueue,
            pricing: None,
            context_tokens: DEFAULT_CONTEXT_TOKENS,
        }
    }
}

impl AgentSettings {
    pub fn from_config(config: &Value) -> Result<Self, AgentError> {
        let debounce = match config.get("debounceMs") {
            None | Some(Value::Null) => DEFAULT_DEBOUNCE,
            Some(value) => Duration::from_millis(
                value
                    .as_u64()
                    .ok_or_else(|| AgentError::config("debounceMs", "must be a whole number"))?,
            ),
        };
        let double_texting = match config.get("doubleTexting").and_then(Value::as_str) {
            None => DoubleTexting::Enqueue,
            Some("enqueue") => DoubleTexting::Enqueue,
            Some("coalesce") => DoubleTexting::Coalesce { debounce },
            Some("interrupt") => DoubleTexting::Interrupt,
            Some(_) => {
                return Err(AgentError::config(
                    "doubleTexting",
                    "expected `enqueue`, `coalesce` or `interrupt`",
                ));
            }
        };
        let pricing = match config.get("pricing") {
            None | Some(Value::Null) => None,
            Some(pricing) => Some(Pricing {
                prompt_per_1k: price(pricing, "promptPer1k")?,
                completion_per_1k: price(pricing, "completionPer1k")?,
            }),
        };
        let context_tokens = match config.get("contextTokens") {
            None | Some(Value::Null) => DEFAULT_CONTEXT_TOKENS,
            Some(value) => value
                .as_u64()
                .and_then(|tokens| usize::try_from(tokens).ok())
                .ok_or_else(|| AgentError::config("contextTokens", "must be a whole number"))?,
        };
        Ok(Self {
            double_texting,
            pricing,
            context_tokens,
        })
    }

    /// Credits a run with `usage` costs beyond the agent's cost per run.
    pub fn usage_credits(&self, usage: Usage) -> i64 {
        self.pricing.map_or(0, |pricing| pricing.credits(usage))
    }
}

fn price(pricing: &Value, field: &str) -> Result<f64, AgentError> {
    match pricing.get(field) {
        None | Some(Value::Null) => Ok(0.0),
        Some(value) => value
            .as_f64()
            .filter(|price| price.is_finite() && *price >= 0.0)
            .ok_or_else(|| AgentError::config(format!("pricing.{field}"), "must be a number >= 0")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn policies_and_pricing_come_from_the_config() {
        let settings = AgentSettings::from_config(&json!({
            "doubleTexting": "coalesce", "debounceMs": 250,
            "pricing": {"promptPer1k": 0.5, "completionPer1k": 2}
        }))
        .expect("valid");
        assert_eq!(
            settings.double_texting,
            DoubleTexting::Coalesce {
                debounce: Duration::from_millis(250)
            }
        );
        let usage = Usage {
            prompt_tokens: 1000,
            completion_tokens: 1500,
        };
        assert_eq!(settings.usage_credits(usage), 4, "0.5 + 3 rounds up to 4");
        assert_eq!(
            AgentSettings::from_config(&json!({})).expect("defaults"),
            AgentSettings::default()
        );
    }

    #[test]
    fn a_bad_policy_names_its_field() {
        let error = AgentSettings::from_config(&json!({"doubleTexting": "shout"}))
            .expect_err("unknown policy");
        assert!(
            matches!(error, AgentError::InvalidConfig { field, .. } if field == "doubleTexting")
        );
        let error = AgentSettings::from_config(&json!({"pricing": {"promptPer1k": -1}}))
            .expect_err("negative price");
        assert!(
            matches!(error, AgentError::InvalidConfig { field, .. } if field == "pricing.promptPer1k")
        );
    }
}
