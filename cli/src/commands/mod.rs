//! One module per command group. Each reads and writes the owning service's
//! schema through that service's own library code where rules apply.

pub mod customer;
pub mod db;
pub mod events;
pub mod instance;
pub mod leader;
pub mod order;
pub mod plugin;
pub mod product;
pub mod user;

use serde_json::{Value, json};

/// A timestamp as RFC 3339, or null.
pub fn time(value: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    value.map_or(Value::Null, |value| json!(value.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
}

/// A UUID argument, or a clear input error naming it.
pub fn parse_id(what: &str, value: &str) -> crate::context::CliResult<uuid::Uuid> {
    uuid::Uuid::parse_str(value.trim()).map_err(|_| crate::context::input(format!("{what}: {value:?} is not a UUID")))
}
