//! Checking tool arguments against a tool's JSON schema before the tool runs, for the subset
//! tools use in practice: `type` (one or several), `required`, `properties`,
//! `additionalProperties: false`, `enum` and `items`. Keywords outside the subset are ignored,
//! so a schema this does not understand never refuses good arguments.

use serde_json::Value;

/// Checks `value` against `schema`; the error names where the arguments go wrong.
pub(crate) fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    check(schema, value, "arguments")
}

fn check(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let Some(schema) = schema.as_object() else {
        return Ok(());
    };
    if let Some(expected) = schema.get("type") {
        let allowed: Vec<&str> = match expected {
            Value::String(name) => vec![name.as_str()],
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !allowed.is_empty() && !allowed.iter().any(|name| is_type(value, name)) {
            return Err(format!(
                "{path} must be {}, not {}",
                allowed.join(" or "),
                type_name(value)
            ));
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.contains(value)
    {
        let options: Vec<String> = options.iter().map(Value::to_string).collect();
        return Err(format!("{path} must be one of {}", options.join(", ")));
    }
    if let Value::Object(fields) = value {
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    return Err(format!("{path}.{name} is required"));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, field) in fields {
            match properties.and_then(|properties| properties.get(name)) {
                Some(field_schema) => check(field_schema, field, &format!("{path}.{name}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{path}.{name} is not expected"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{path}[{index}]"))?;
        }
    }
    Ok(())
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        // An unknown type name is a schema this subset does not understand: accept.
        _ => true,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_common_subset_is_enforced_with_a_path_in_the_error() {
        let schema = json!({
            "type": "object",
            "required": ["status"],
            "additionalProperties": false,
            "properties": {
                "status": {"type": "string", "enum": ["open", "pending", "resolved"]},
                "limit": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}}
            }
        });
        assert_eq!(
            validate(&schema, &json!({"status": "open", "limit": 3})),
            Ok(())
        );
        let refusals = [
            (json!({}), "arguments.status is required"),
            (
                json!({"status": "closed"}),
                "arguments.status must be one of",
            ),
            (
                json!({"status": "open", "limit": 1.5}),
                "arguments.limit must be integer",
            ),
            (
                json!({"status": "open", "tags": ["a", 2]}),
                "arguments.tags[1] must be string",
            ),
            (
                json!({"status": "open", "colour": "red"}),
                "arguments.colour is not expected",
            ),
            (json!([1]), "arguments must be object"),
        ];
        for (arguments, expected) in refusals {
            let error = validate(&schema, &arguments).expect_err("refused");
            assert!(error.starts_with(expected), "{arguments}: {error}");
        }
        assert_eq!(validate(&json!({"type": "uuid"}), &json!(1)), Ok(()));
    }
}
