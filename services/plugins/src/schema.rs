//! Interface configuration against the script's `config_schema`: JSON
//! Schema validation, and masking of `format: "password"` fields.
//!
//! Secrets never leave the service in clear: a password field is answered
//! as [`MASK`], and an update that sends [`MASK`] back (an admin saving the
//! form without retyping the secret) keeps the stored value.

use rustbill_shared::{AppError, AppResult};
use serde_json::{Map, Value as Json};

/// What a stored secret looks like in answers.
pub const MASK: &str = "******";

/// Names of the top-level properties declared `format: "password"`.
pub fn secret_fields(schema: &Json) -> Vec<String> {
    let Some(properties) = schema.get("properties").and_then(Json::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .filter(|(_, property)| property.get("format").and_then(Json::as_str) == Some("password"))
        .map(|(name, _)| name.clone())
        .collect()
}

/// `config` with every non-empty secret replaced by [`MASK`].
pub fn mask(schema: &Json, config: &Json) -> Json {
    let mut masked = config.clone();
    if let Some(object) = masked.as_object_mut() {
        for field in secret_fields(schema) {
            if let Some(value) = object.get_mut(&field)
                && !value.is_null()
                && value.as_str() != Some("")
            {
                *value = Json::String(MASK.to_string());
            }
        }
    }
    masked
}

/// Parses `config_json` (a JSON object), putting back stored secrets where
/// the caller sent [`MASK`].
pub fn parse_config(field: &str, config_json: &str, schema: &Json, stored: Option<&Json>) -> AppResult<Json> {
    let text = config_json.trim();
    let text = if text.is_empty() { "{}" } else { text };
    let mut config: Json = serde_json::from_str(text)
        .map_err(|error| AppError::invalid_field(field, format!("not valid JSON: {error}")))?;
    let Some(object) = config.as_object_mut() else {
        return Err(AppError::invalid_field(field, "must be a JSON object"));
    };
    for secret in secret_fields(schema) {
        if object.get(&secret).and_then(Json::as_str) == Some(MASK) {
            match stored.and_then(|stored| stored.get(&secret)) {
                Some(previous) => {
                    object.insert(secret, previous.clone());
                }
                None => {
                    return Err(AppError::invalid_field(
                        format!("{field}.{secret}"),
                        "is the mask of a secret that was never set; send the real value",
                    ));
                }
            }
        }
    }
    Ok(config)
}

/// Validates `config` against `schema`. `complete` also enforces the
/// schema's `required` lists (an enabled interface must be fully
/// configured); otherwise only the values present are checked, so an admin
/// can save a half-filled form of a disabled interface.
pub fn validate(field: &str, schema: &Json, config: &Json, complete: bool) -> AppResult<()> {
    if !schema.is_object() || schema.as_object().is_some_and(Map::is_empty) {
        return Ok(());
    }
    let schema = if complete { schema.clone() } else { without_required(schema) };
    let validator = jsonschema::validator_for(&schema).map_err(|error| {
        AppError::FailedPrecondition(format!("the plugin's config_schema is not a valid JSON Schema: {error}"))
    })?;
    let problems: Vec<(String, String)> = validator
        .iter_errors(config)
        .map(|error| {
            let path = error.instance_path().to_string();
            let path = path.trim_start_matches('/').replace('/', ".");
            let location = if path.is_empty() { field.to_string() } else { format!("{field}.{path}") };
            (location, describe(&error))
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    let message = problems.iter().map(|(path, text)| format!("{path}: {text}")).collect::<Vec<_>>().join("; ");
    Err(AppError::InvalidArgument {
        message: format!("configuration does not match the plugin's schema: {message}"),
        violations: problems
            .into_iter()
            .map(|(field, description)| rustbill_shared::error::FieldViolation { field, description })
            .collect(),
    })
}

/// The validator's message, without echoing the offending value (it may
/// be a secret).
fn describe(error: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind as Kind;
    match error.kind() {
        Kind::Required { property } => match property.as_str() {
            Some(name) => format!("{name} is required"),
            None => format!("{property} is required"),
        },
        Kind::Type { kind } => format!("must be of type {kind:?}").to_lowercase(),
        Kind::Enum { options } => format!("must be one of {options}"),
        Kind::AdditionalProperties { unexpected } => format!("unknown field(s) {}", unexpected.join(", ")),
        _ => {
            // Other keywords (minimum, pattern, format…): the keyword name
            // says enough and never contains the value.
            format!("violates `{}`", error.schema_path().to_string().rsplit('/').next().unwrap_or("schema"))
        }
    }
}

fn without_required(schema: &Json) -> Json {
    match schema {
        Json::Object(object) => Json::Object(
            object
                .iter()
                .filter(|(key, _)| *key != "required")
                .map(|(k, v)| (k.clone(), without_required(v)))
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.iter().map(without_required).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Json {
        json!({
            "type": "object",
            "required": ["api_url", "key"],
            "properties": {
                "api_url": {"type": "string"},
                "key": {"type": "string", "format": "password"},
                "retries": {"type": "integer"},
                "mode": {"type": "string", "enum": ["live", "test"]}
            }
        })
    }

    #[test]
    fn secrets_are_masked_and_kept_on_update() {
        let stored = json!({"api_url": "https://pay", "key": "sk-live-123"});
        let masked = mask(&schema(), &stored);
        assert_eq!(masked, json!({"api_url": "https://pay", "key": MASK}));
        let updated =
            parse_config("config_json", r#"{"api_url":"https://pay2","key":"******"}"#, &schema(), Some(&stored))
                .unwrap();
        assert_eq!(updated["key"], "sk-live-123");
        assert_eq!(updated["api_url"], "https://pay2");
        let error = parse_config("config_json", r#"{"key":"******"}"#, &schema(), None).unwrap_err();
        assert!(error.to_string().contains("never set"), "{error}");
    }

    #[test]
    fn validation_names_fields_and_never_echoes_values() {
        let bad = json!({"api_url": 5, "key": "sk-secret-value", "mode": "sk-secret-mode"});
        let error = validate("config_json", &schema(), &bad, true).unwrap_err().to_string();
        assert!(error.contains("config_json.api_url"), "{error}");
        assert!(error.contains("config_json.mode"), "{error}");
        assert!(!error.contains("sk-secret"), "{error}");
        let partial = json!({"api_url": "https://pay"});
        assert!(validate("config_json", &schema(), &partial, false).is_ok());
        let error = validate("config_json", &schema(), &partial, true).unwrap_err().to_string();
        assert!(error.contains("key is required"), "{error}");
        assert!(parse_config("config_json", "[1]", &schema(), None).is_err());
        assert!(parse_config("config_json", "{", &schema(), None).is_err());
    }
}
