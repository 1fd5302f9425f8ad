//! The `scripted` agent: a deterministic flow from its configuration. `rules` are tried in order
//! against the pending messages' text; the first that matches (`match: {text}` — the whole text,
//! any case; `{regex}`; or `{keywords: [...]}` — any of the words) may call `tools`
//! (`[{name, arguments}]`, arguments as templates), hand the conversation to a human
//! (`handoff: true`), and answers with its `reply` template. Without a match, `fallback` answers
//! (or nothing is sent). Templates see `contact.name`, `contact.phone`, `contact.externalId`,
//! `message.text`, `conversation.id`, `match.<n>` (regex groups) and `tool.<name>[.<field>…]`.

use std::collections::HashMap;

use regex::Regex;
use serde_json::{Value, json};
use switchboard_core::{AgentEvent, Usage};

use crate::template::{render, render_json};
use crate::tools::{self, ToolHost, Toolbox};
use crate::{AgentError, AgentOutput, Context, Emit, Runtime};

enum Matcher {
    Text(String),
    Regex(Regex),
    Keywords(Vec<String>),
}

struct ToolStep {
    name: String,
    arguments: Value,
}

struct Rule {
    matcher: Matcher,
    tools: Vec<ToolStep>,
    handoff: bool,
    reply: Option<String>,
}

pub(crate) struct Script {
    rules: Vec<Rule>,
    fallback: Option<String>,
}

impl Script {
    pub(crate) fn from_config(config: &Value) -> Result<Self, AgentError> {
        let rules = match config.get("rules") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(rules)) => rules
                .iter()
                .enumerate()
                .map(|(index, rule)| parse_rule(index, rule))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(AgentError::config("rules", "must be a list")),
        };
        let fallback = match config.get("fallback") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => return Err(AgentError::config("fallback", "must be a string")),
        };
        tools::allow_list(config)?;
        Ok(Self { rules, fallback })
    }

    /// The tool names the script itself calls: its author allowed them by writing them.
    fn tool_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .rules
            .iter()
            .flat_map(|rule| rule.tools.iter().map(|step| step.name.clone()))
            .collect();
        if self.rules.iter().any(|rule| rule.handoff) {
            names.push("handoff_to_human".into());
        }
        names
    }
}

fn parse_rule(index: usize, rule: &Value) -> Result<Rule, AgentError> {
    let field = |name: &str| format!("rules[{index}].{name}");
    let matcher = rule
        .get("match")
        .ok_or_else(|| AgentError::config(field("match"), "is required"))?;
    let matcher = if let Some(text) = matcher.get("text").and_then(Value::as_str) {
        Matcher::Text(text.trim().to_lowercase())
    } else if let Some(pattern) = matcher.get("regex").and_then(Value::as_str) {
        Matcher::Regex(Regex::new(pattern).map_err(|error| {
            AgentError::config(field("match.regex"), "is not a valid regular expression")
                .because(error)
        })?)
    } else if let Some(Value::Array(words)) = matcher.get("keywords") {
        Matcher::Keywords(
            words
                .iter()
                .map(|word| word.as_str().map(str::to_lowercase))
                .collect::<Option<_>>()
                .ok_or_else(|| AgentError::config(field("match.keywords"), "must be strings"))?,
        )
    } else {
        return Err(AgentError::config(
            field("match"),
            "needs `text`, `regex` or `keywords`",
        ));
    };
    let tools = match rule.get("tools") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(steps)) => steps
            .iter()
            .map(|step| {
                Some(ToolStep {
                    name: step.get("name")?.as_str()?.to_owned(),
                    arguments: step.get("arguments").cloned().unwrap_or_else(|| json!({})),
                })
            })
            .collect::<Option<_>>()
            .ok_or_else(|| AgentError::config(field("tools"), "each needs a `name`"))?,
        Some(_) => return Err(AgentError::config(field("tools"), "must be a list")),
    };
    Ok(Rule {
        matcher,
        tools,
        handoff: rule
            .get("handoff")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        reply: rule.get("reply").and_then(Value::as_str).map(str::to_owned),
    })
}

/// Whether `rule` matches `text`, with the regex groups when it is a regex.
fn matches(matcher: &Matcher, text: &str) -> Option<Vec<String>> {
    match matcher {
        Matcher::Text(expected) => (text.trim().to_lowercase() == *expected).then(Vec::new),
        Matcher::Regex(regex) => regex.captures(text).map(|captures| {
            captures
                .iter()
                .map(|group| group.map_or_else(String::new, |group| group.as_str().to_owned()))
                .collect()
        }),
        Matcher::Keywords(keywords) => {
            let lower = text.to_lowercase();
            let words: Vec<&str> = lower
                .split(|character: char| !character.is_alphanumeric())
                .collect();
            keywords
                .iter()
                .any(|keyword| words.contains(&keyword.as_str()))
                .then(Vec::new)
        }
    }
}

pub(crate) async fn run(
    runtime: &Runtime,
    config: &Value,
    context: &Context,
    host: &dyn ToolHost,
    emit: Emit<'_>,
) -> Result<AgentOutput, AgentError> {
    let script = Script::from_config(config)?;
    let text = context.pending_text();
    let chosen = script
        .rules
        .iter()
        .find_map(|rule| matches(&rule.matcher, &text).map(|groups| (rule, groups)));
    let Some((rule, groups)) = chosen else {
        return Ok(reply(
            script.fallback.as_deref().map(|fallback| {
                render(fallback, &|name| {
                    variable(name, context, &[], &HashMap::new())
                })
            }),
            emit,
        ));
    };
    let mut allowed = tools::allow_list(config)?;
    allowed.extend(script.tool_names());
    let toolbox = if rule.tools.is_empty() && !rule.handoff {
        None
    } else {
        Some(Toolbox::assemble(runtime, host, config, &allowed).await?)
    };
    let mut results = HashMap::new();
    if let Some(toolbox) = &toolbox {
        // The reply is written after the tools (it may quote them); the flow works first.
        crate::thinking_before_tools(emit);
        for (index, step) in rule.tools.iter().enumerate() {
            let arguments = render_json(&step.arguments, &|name| {
                variable(name, context, &groups, &results)
            });
            let outcome = toolbox
                .execute(
                    &format!("step_{index}"),
                    &step.name,
                    &arguments.to_string(),
                    emit,
                )
                .await;
            results.insert(step.name.clone(), outcome.result);
        }
        if rule.handoff {
            toolbox
                .execute(
                    "handoff",
                    "handoff_to_human",
                    &json!({"reason": text}).to_string(),
                    emit,
                )
                .await;
        }
    }
    Ok(reply(
        rule.reply
            .as_deref()
            .map(|template| render(template, &|name| variable(name, context, &groups, &results))),
        emit,
    ))
}

fn reply(text: Option<String>, emit: Emit<'_>) -> AgentOutput {
    let text = text.unwrap_or_default();
    if !text.is_empty() {
        emit(AgentEvent::AgentThinking {
            delta: text.clone(),
        });
    }
    AgentOutput {
        text,
        usage: Usage::default(),
    }
}

/// The value of a template variable.
fn variable(
    name: &str,
    context: &Context,
    groups: &[String],
    results: &HashMap<String, Value>,
) -> Option<String> {
    let contact = context.contact.as_ref();
    match name {
        "contact.name" => contact.and_then(|contact| contact.name.clone()),
        "contact.phone" => contact.and_then(|contact| contact.phone.clone()),
        "contact.externalId" => contact.and_then(|contact| contact.external_id.clone()),
        "message.text" => Some(context.pending_text()),
        "conversation.id" => Some(context.conversation_id.to_string()),
        _ => {
            if let Some(group) = name.strip_prefix("match.") {
                return group
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| groups.get(n).cloned());
            }
            let path = name.strip_prefix("tool.")?;
            let mut parts = path.split('.');
            let mut value = results.get(parts.next()?)?;
            for part in parts {
                value = value.get(part)?;
            }
            Some(match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_regex_and_keyword_matchers() {
        let script = Script::from_config(&json!({"rules": [
            {"match": {"text": "Hours?"}, "reply": "9 to 5"},
            {"match": {"regex": "order #?(\\d+)"}, "reply": "order {{match.1}}"},
            {"match": {"keywords": ["human", "person"]}, "handoff": true}
        ]}))
        .expect("valid script");
        let found = |text: &str| {
            script
                .rules
                .iter()
                .position(|rule| matches(&rule.matcher, text).is_some())
        };
        assert_eq!(found("  hours? "), Some(0));
        assert_eq!(found("where is order #42"), Some(1));
        assert_eq!(found("a Person please"), Some(2));
        assert_eq!(found("personal"), None, "whole words only");
        assert_eq!(script.tool_names(), ["handoff_to_human"]);
        assert!(matches!(
            Script::from_config(&json!({"rules": [{"match": {"regex": "("}}]})),
            Err(AgentError::InvalidConfig { field, .. }) if field == "rules[0].match.regex"
        ));
    }
}
