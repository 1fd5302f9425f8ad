//! Reply templates: `{{name}}` placeholders filled from a lookup (`contact.name`,
//! `message.text`, `match.1`, `tool.lookup.status`, …). A placeholder the lookup does not know
//! renders as nothing; text outside placeholders is kept as written.

/// Fills every `{{ name }}` in `template` with `lookup(name)`.
pub(crate) fn render(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        out.push_str(&lookup(after[..end].trim()).unwrap_or_default());
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Renders every string inside a JSON value (tool arguments written as templates).
pub(crate) fn render_json(
    value: &serde_json::Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(render(text, lookup)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| render_json(item, lookup)).collect())
        }
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, field)| (name.clone(), render_json(field, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_vanish() {
        let lookup = |name: &str| (name == "contact.name").then(|| "Ada".to_owned());
        assert_eq!(
            render("Hi {{ contact.name }}!{{nope}} {{x", &lookup),
            "Hi Ada! {{x"
        );
        assert_eq!(
            render_json(&serde_json::json!({"to": ["{{contact.name}}"]}), &lookup),
            serde_json::json!({"to": ["Ada"]})
        );
    }
}
