//! The spec's "配置展开模式": the interface's config JSON and the call's
//! business arguments become ONE flat JSON object, passed to the script as
//! a string in the first parameter (`merged`); scripts read it with
//! `rustbill_host::json_get(merged, "key")`. The second parameter is `()`.

use serde_json::{Map, Value as Json};

use super::EngineError;

/// `config` keys, then `args` keys on top: "合并后的 JSON = config 字段 +
/// business 字段". On a key present in both, the business argument wins
/// (it is the more specific value for this call, e.g. a per-call `amount`).
/// The merge is shallow: nested objects are replaced, not merged.
///
/// `null` counts as an empty object on either side; anything else that is
/// not an object is refused, since the script could not address it by key.
pub fn merge_config(config: &Json, args: &Json) -> Result<Json, EngineError> {
    let mut merged = Map::new();
    for (what, value) in [("interface config", config), ("business arguments", args)] {
        match value {
            Json::Null => {}
            Json::Object(map) => {
                for (key, value) in map {
                    merged.insert(key.clone(), value.clone());
                }
            }
            other => {
                return Err(EngineError::InvalidArguments(format!(
                    "{what} must be a JSON object, got {}",
                    json_kind(other)
                )));
            }
        }
    }
    Ok(Json::Object(merged))
}

/// [`merge_config`] serialised: the exact string the script receives.
pub fn merged_argument(config: &Json, args: &Json) -> Result<String, EngineError> {
    Ok(merge_config(config, args)?.to_string())
}

pub(crate) fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn business_arguments_win() {
        let merged = merge_config(
            &json!({"api_url": "https://pay.example.com", "pid": "1001", "amount": "config"}),
            &json!({"payment_id": "p1", "amount": "9.90"}),
        )
        .unwrap();
        assert_eq!(
            merged,
            json!({"api_url": "https://pay.example.com", "pid": "1001", "payment_id": "p1", "amount": "9.90"})
        );
    }

    #[test]
    fn null_is_empty_and_other_shapes_are_refused() {
        assert_eq!(merge_config(&Json::Null, &Json::Null).unwrap(), json!({}));
        assert!(matches!(merge_config(&json!([1]), &Json::Null), Err(EngineError::InvalidArguments(_))));
        assert!(matches!(merge_config(&json!({}), &json!("x")), Err(EngineError::InvalidArguments(_))));
    }
}
