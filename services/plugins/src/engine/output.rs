//! The spec's return conventions, turned into typed results.
//!
//! - Providers return plain strings; `"ERROR: <reason>"` is a failure
//!   ("Provider 适配器通过 `rune::from_value::<String>` 反序列化返回值…错误用
//!   `ERROR:` 前缀"). Anything else than a string breaks the convention.
//! - Gateways and notifiers may return `Ok(x)`/`Err(e)`, Rune objects
//!   (`#{…}`), or JSON strings (usually built with `json_stringify`); an
//!   `"ERROR: …"` string is a failure for them too (the spec's own gateway
//!   example returns `"ERROR: invalid signature"`).
//!
//! [`RawReturn`] is what the engine hands back from a call (plain JSON, no
//! Rune values); [`parse_provider_result`] / [`parse_gateway_result`] apply
//! the conventions; the typed decoders below turn the result of each
//! contract function into its Rust shape.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::contract::PluginType;
use super::merge::json_kind;

/// What a script function returned, as data.
#[derive(Debug, Clone, PartialEq)]
pub enum RawReturn {
    /// `()`.
    Unit,
    /// `Ok(x)`.
    Ok(Json),
    /// `Err(e)`.
    Err(Json),
    /// Any other value: a string, an object, a vector, a number, a boolean;
    /// `Some(x)` is `x` and `None` is `null`.
    Value(Json),
}

/// Why a plugin call did not produce a usable result although the script
/// ran to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFailure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The script reported a failure: `"ERROR: …"` or `Err(…)`.
    Reported,
    /// The script returned something its contract does not allow.
    BadReturn,
}

impl PluginFailure {
    pub fn reported(message: impl Into<String>) -> Self {
        Self { kind: FailureKind::Reported, message: message.into() }
    }

    pub fn bad_return(message: impl Into<String>) -> Self {
        Self { kind: FailureKind::BadReturn, message: message.into() }
    }
}

impl fmt::Display for PluginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FailureKind::Reported => write!(f, "plugin reported an error: {}", self.message),
            FailureKind::BadReturn => write!(f, "plugin returned an unusable value: {}", self.message),
        }
    }
}

impl std::error::Error for PluginFailure {}

/// The `ERROR:` prefix of the spec (`"ERROR: x"` and `"ERROR:x"` both).
pub const ERROR_PREFIX: &str = "ERROR:";

/// `Some(reason)` when `text` is an `ERROR:` string.
pub fn error_message(text: &str) -> Option<&str> {
    text.trim_start().strip_prefix(ERROR_PREFIX).map(str::trim)
}

/// A returned string: parsed when it holds a JSON object or array, kept as
/// a JSON string otherwise (`"running"`, `"true"`, `""`, raw bodies that
/// merely start with a brace).
fn string_payload(text: String) -> Json {
    let trimmed = text.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(parsed) = serde_json::from_str::<Json>(trimmed) {
            return parsed;
        }
    }
    Json::String(text)
}

/// Provider convention: the function returns a string; `"ERROR: …"` is a
/// failure; JSON objects/arrays in the string are parsed; any other string
/// is returned as a JSON string.
pub fn parse_provider_result(raw: RawReturn) -> Result<Json, PluginFailure> {
    match raw {
        RawReturn::Value(Json::String(text)) => match error_message(&text) {
            Some(reason) => Err(PluginFailure::reported(reason)),
            None => Ok(string_payload(text)),
        },
        RawReturn::Value(other) => Err(PluginFailure::bad_return(format!(
            "provider functions return a string (\"ERROR: …\" for failures), got {}",
            json_kind(&other)
        ))),
        RawReturn::Unit => {
            Err(PluginFailure::bad_return("provider functions return a string (\"ERROR: …\" for failures), got ()"))
        }
        RawReturn::Ok(_) | RawReturn::Err(_) => Err(PluginFailure::bad_return(
            "provider functions return a plain string, not Ok(..)/Err(..) (use \"ERROR: …\" for failures)",
        )),
    }
}

/// Gateway and notifier convention: `Err(e)` and `"ERROR: …"` are failures;
/// `Ok(x)` is `x`; `()` and `Ok(())` are `null`; objects pass through; JSON
/// strings are parsed.
pub fn parse_gateway_result(raw: RawReturn) -> Result<Json, PluginFailure> {
    match raw {
        RawReturn::Err(Json::String(reason)) => {
            Err(PluginFailure::reported(error_message(&reason).unwrap_or(&reason).to_string()))
        }
        RawReturn::Err(other) => Err(PluginFailure::reported(other.to_string())),
        RawReturn::Unit => Ok(Json::Null),
        RawReturn::Ok(value) | RawReturn::Value(value) => match value {
            Json::String(text) => match error_message(&text) {
                Some(reason) => Err(PluginFailure::reported(reason)),
                None => Ok(string_payload(text)),
            },
            other => Ok(other),
        },
    }
}

/// Notifiers follow the gateway convention.
pub fn parse_notifier_result(raw: RawReturn) -> Result<Json, PluginFailure> {
    parse_gateway_result(raw)
}

/// The convention of `plugin_type`.
pub fn parse_result(plugin_type: PluginType, raw: RawReturn) -> Result<Json, PluginFailure> {
    if plugin_type.is_provider() { parse_provider_result(raw) } else { parse_gateway_result(raw) }
}

fn decode<T: DeserializeOwned>(what: &str, value: Json) -> Result<T, PluginFailure> {
    serde_json::from_value(value.clone())
        .map_err(|e| PluginFailure::bad_return(format!("{what}: {e} (got {})", truncate(&value.to_string(), 300))))
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A string that may be empty/absent: `""` and `null` are `None`.
fn optional_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = Option::<Json>::deserialize(deserializer)?;
    Ok(match value {
        None | Some(Json::Null) => None,
        Some(Json::String(text)) if text.is_empty() => None,
        Some(Json::String(text)) => Some(text),
        Some(other) => Some(other.to_string()),
    })
}

// ───────────────────────────── every plugin type ─────────────────────────────

/// `health_check`: `Ok(true)`, `true`, `"true"`, `"ok"` are healthy;
/// `false`, `"false"` are not; failures are failures.
pub fn parse_health(plugin_type: PluginType, raw: RawReturn) -> Result<bool, PluginFailure> {
    match parse_result(plugin_type, raw)? {
        Json::Bool(healthy) => Ok(healthy),
        Json::Null => Ok(true),
        Json::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "ok" | "healthy" => Ok(true),
            "false" | "unhealthy" => Ok(false),
            other => Err(PluginFailure::bad_return(format!("health_check returned {other:?}, expected true/false"))),
        },
        other => {
            Err(PluginFailure::bad_return(format!("health_check returned {}, expected true/false", json_kind(&other))))
        }
    }
}

/// `config_schema`: a JSON Schema object with at least `type` and
/// `properties` (spec: "config_schema 必须是合法的 JSON Schema(至少含 type 和
/// properties 键)"). Gateways and notifiers usually return a Rune object,
/// providers a JSON string; both are accepted for every type here.
pub fn parse_config_schema(raw: RawReturn) -> Result<Json, PluginFailure> {
    let schema = parse_gateway_result(raw)?;
    match &schema {
        Json::Object(map) if map.contains_key("type") && map.contains_key("properties") => Ok(schema),
        Json::Object(_) => Err(PluginFailure::bad_return("config_schema must have `type` and `properties`")),
        other => {
            Err(PluginFailure::bad_return(format!("config_schema returned {}, expected an object", json_kind(other))))
        }
    }
}

/// `version`: a version string such as `"1.0.0"`.
pub fn parse_version(raw: RawReturn) -> Result<String, PluginFailure> {
    match parse_gateway_result(raw)? {
        Json::String(version) if !version.trim().is_empty() => Ok(version.trim().to_string()),
        other => Err(PluginFailure::bad_return(format!("version returned {}, expected a string", json_kind(&other)))),
    }
}

/// `initialize` and other functions whose only outcome is success or
/// failure (`Ok(())`, `"OK"`, `""`, … succeed).
pub fn parse_done(plugin_type: PluginType, raw: RawReturn) -> Result<(), PluginFailure> {
    parse_result(plugin_type, raw).map(|_| ())
}

// ───────────────────────────────── gateways ─────────────────────────────────

/// `create_payment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentCreated {
    pub gateway_payment_id: String,
    #[serde(default, deserialize_with = "optional_string")]
    pub payment_url: Option<String>,
    #[serde(default, deserialize_with = "optional_string")]
    pub qr_code: Option<String>,
    #[serde(default, deserialize_with = "optional_string")]
    pub instructions: Option<String>,
}

impl PaymentCreated {
    pub fn from_return(raw: RawReturn) -> Result<Self, PluginFailure> {
        decode("create_payment result", parse_gateway_result(raw)?)
    }
}

/// A payment's state as gateways report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentState {
    Success,
    Pending,
    Failed,
    Refunded,
}

/// `query_payment`, `handle_callback` and `refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentUpdate {
    pub payment_id: String,
    #[serde(default, deserialize_with = "optional_string")]
    pub gateway_tx_id: Option<String>,
    pub status: PaymentState,
    #[serde(default, deserialize_with = "optional_string")]
    pub paid_at: Option<String>,
    #[serde(default, deserialize_with = "optional_string")]
    pub raw_response: Option<String>,
    /// `handle_callback` only (RustBill extension): the exact body to answer
    /// the gateway's notification with (epay expects `success`); `None`
    /// answers `success`.
    #[serde(default, deserialize_with = "optional_string")]
    pub reply: Option<String>,
    /// `refund` only (RustBill extension): the gateway's refund number.
    #[serde(default, deserialize_with = "optional_string")]
    pub refund_id: Option<String>,
}

impl PaymentUpdate {
    pub fn from_return(raw: RawReturn) -> Result<Self, PluginFailure> {
        let mut value = parse_gateway_result(raw)?;
        // Accept "SUCCESS"/"Success" as well as the spec's lowercase.
        if let Some(Json::String(text)) = value.get_mut("status") {
            *text = text.trim().to_ascii_lowercase();
        }
        decode("payment result", value)
    }
}

// ───────────────────────────────── notifiers ────────────────────────────────

/// `supported_events`: `[]` means every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventFilter {
    All,
    Only(Vec<String>),
}

impl EventFilter {
    pub fn from_return(raw: RawReturn) -> Result<Self, PluginFailure> {
        let events: Vec<String> = decode("supported_events result", parse_gateway_result(raw)?)?;
        Ok(if events.is_empty() { EventFilter::All } else { EventFilter::Only(events) })
    }

    pub fn accepts(&self, event_type: &str) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Only(events) => events.iter().any(|e| e == event_type),
        }
    }
}

/// `templates`: an object of templates (`#{}`: the system defaults).
pub fn parse_templates(raw: RawReturn) -> Result<serde_json::Map<String, Json>, PluginFailure> {
    match parse_gateway_result(raw)? {
        Json::Null => Ok(serde_json::Map::new()),
        Json::Object(map) => Ok(map),
        other => {
            Err(PluginFailure::bad_return(format!("templates returned {}, expected an object", json_kind(&other))))
        }
    }
}

// ───────────────────────────────── providers ────────────────────────────────

/// `create_instance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceCreated {
    pub instance_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "optional_string")]
    pub ip_address: Option<String>,
    #[serde(default, deserialize_with = "optional_string")]
    pub created_at: Option<String>,
}

impl InstanceCreated {
    pub fn from_return(raw: RawReturn) -> Result<Self, PluginFailure> {
        decode("create_instance result", parse_provider_result(raw)?)
    }
}

/// `get_instance_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceState {
    Running,
    Stopped,
    Terminated,
    Pending,
    Error,
}

impl InstanceState {
    pub fn from_return(raw: RawReturn) -> Result<Self, PluginFailure> {
        match parse_provider_result(raw)? {
            Json::String(text) => match text.trim().to_ascii_lowercase().as_str() {
                "running" => Ok(InstanceState::Running),
                "stopped" => Ok(InstanceState::Stopped),
                "terminated" => Ok(InstanceState::Terminated),
                "pending" => Ok(InstanceState::Pending),
                "error" => Ok(InstanceState::Error),
                other => Err(PluginFailure::bad_return(format!(
                    "get_instance_status returned {other:?}, expected running/stopped/terminated/pending/error"
                ))),
            },
            other => Err(PluginFailure::bad_return(format!(
                "get_instance_status returned {}, expected a status string",
                json_kind(&other)
            ))),
        }
    }
}

/// `execute_action` (and `terminate_instance`): `{"success", "message",
/// "data"}`; an empty string is a plain success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    #[serde(default = "yes")]
    pub success: bool,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub data: Json,
}

fn yes() -> bool {
    true
}

impl ActionOutcome {
    pub fn from_return(raw: RawReturn) -> Result<Self, PluginFailure> {
        match parse_provider_result(raw)? {
            Json::String(text) => Ok(ActionOutcome { success: true, message: text, data: Json::Null }),
            value => decode("execute_action result", value),
        }
    }
}

/// One entry of `instance_detail_sections`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetailSection {
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub order: i64,
    #[serde(default, deserialize_with = "optional_string")]
    pub content_html: Option<String>,
    #[serde(default, deserialize_with = "optional_string")]
    pub iframe_url: Option<String>,
    #[serde(default)]
    pub data_json: Json,
}

impl DetailSection {
    pub fn list_from_return(raw: RawReturn) -> Result<Vec<Self>, PluginFailure> {
        decode("instance_detail_sections result", empty_is_array(parse_provider_result(raw)?))
    }
}

/// Style of an instance action button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ActionStyle {
    Primary,
    #[default]
    Default,
    Danger,
}

/// One entry of `instance_actions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceAction {
    pub id: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub style: ActionStyle,
    /// Empty: no confirmation dialog.
    #[serde(default)]
    pub confirmation: String,
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl InstanceAction {
    pub fn list_from_return(raw: RawReturn) -> Result<Vec<Self>, PluginFailure> {
        decode("instance_actions result", empty_is_array(parse_provider_result(raw)?))
    }
}

/// `spec_template`: `{"groups": [...], "fields": [...]}` (shape documented
/// by the spec, kept as JSON for the catalog).
pub fn parse_spec_template(raw: RawReturn) -> Result<Json, PluginFailure> {
    match parse_provider_result(raw)? {
        value @ Json::Object(_) => Ok(value),
        other => Err(PluginFailure::bad_return(format!(
            "spec_template returned {}, expected a JSON object string",
            json_kind(&other)
        ))),
    }
}

fn empty_is_array(value: Json) -> Json {
    match value {
        Json::String(text) if text.trim().is_empty() => Json::Array(Vec::new()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn provider_convention() {
        let error = parse_provider_result(RawReturn::Value(json!("ERROR: no capacity"))).unwrap_err();
        assert_eq!(error, PluginFailure::reported("no capacity"));
        assert_eq!(parse_provider_result(RawReturn::Value(json!("ERROR:bad"))).unwrap_err().message, "bad");
        assert_eq!(parse_provider_result(RawReturn::Value(json!("running"))).unwrap(), json!("running"));
        assert_eq!(parse_provider_result(RawReturn::Value(json!("{\"a\":1}"))).unwrap(), json!({"a": 1}));
        assert_eq!(parse_provider_result(RawReturn::Value(json!("{not json"))).unwrap(), json!("{not json"));
        assert_eq!(parse_provider_result(RawReturn::Ok(json!("x"))).unwrap_err().kind, FailureKind::BadReturn);
        assert_eq!(parse_provider_result(RawReturn::Value(json!({"a": 1}))).unwrap_err().kind, FailureKind::BadReturn);
    }

    #[test]
    fn gateway_convention() {
        assert_eq!(parse_gateway_result(RawReturn::Unit).unwrap(), Json::Null);
        assert_eq!(parse_gateway_result(RawReturn::Ok(Json::Null)).unwrap(), Json::Null);
        assert_eq!(parse_gateway_result(RawReturn::Ok(json!(true))).unwrap(), json!(true));
        assert_eq!(
            parse_gateway_result(RawReturn::Err(json!("declined"))).unwrap_err(),
            PluginFailure::reported("declined")
        );
        assert_eq!(parse_gateway_result(RawReturn::Value(json!({"a": 1}))).unwrap(), json!({"a": 1}));
        assert_eq!(parse_gateway_result(RawReturn::Value(json!("{\"a\":1}"))).unwrap(), json!({"a": 1}));
        assert_eq!(
            parse_gateway_result(RawReturn::Value(json!("ERROR: invalid signature"))).unwrap_err(),
            PluginFailure::reported("invalid signature")
        );
    }

    #[test]
    fn typed_results() {
        let created = PaymentCreated::from_return(RawReturn::Value(json!(
            "{\"gateway_payment_id\":\"p1\",\"payment_url\":\"https://x\",\"qr_code\":null,\"instructions\":null}"
        )))
        .unwrap();
        assert_eq!(created.payment_url.as_deref(), Some("https://x"));
        assert_eq!(created.qr_code, None);
        let update =
            PaymentUpdate::from_return(RawReturn::Value(json!({"payment_id": "p1", "status": "SUCCESS"}))).unwrap();
        assert_eq!(update.status, PaymentState::Success);
        assert!(PaymentUpdate::from_return(RawReturn::Value(json!({"payment_id": "p1", "status": "weird"}))).is_err());
        assert_eq!(EventFilter::from_return(RawReturn::Value(json!([]))).unwrap(), EventFilter::All);
        assert!(parse_health(PluginType::Gateway, RawReturn::Ok(json!(true))).unwrap());
        assert!(parse_health(PluginType::FirstPartyProvider, RawReturn::Value(json!("true"))).unwrap());
        assert!(!parse_health(PluginType::FirstPartyProvider, RawReturn::Value(json!("false"))).unwrap());
        assert_eq!(InstanceState::from_return(RawReturn::Value(json!("running"))).unwrap(), InstanceState::Running);
        assert!(ActionOutcome::from_return(RawReturn::Value(json!(""))).unwrap().success);
        let actions = InstanceAction::list_from_return(RawReturn::Value(json!(
            "[{\"id\":\"stop\",\"label\":\"Shutdown\",\"style\":\"Danger\",\"confirmation\":\"Sure?\",\"enabled\":true}]"
        )))
        .unwrap();
        assert_eq!(actions[0].style, ActionStyle::Danger);
        assert!(parse_config_schema(RawReturn::Value(json!({"type": "object", "properties": {}}))).is_ok());
        assert!(parse_config_schema(RawReturn::Value(json!({"type": "object"}))).is_err());
    }
}
