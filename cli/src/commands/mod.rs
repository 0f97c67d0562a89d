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

/// A listing's `--limit`, or a clear error.
pub fn check_limit(limit: i64) -> crate::context::CliResult {
    if (1..=10_000).contains(&limit) {
        Ok(())
    } else {
        Err(crate::context::input("limit: must be between 1 and 10000"))
    }
}

/// A `--status` filter that must be one of `allowed`.
pub fn check_status(status: Option<&str>, allowed: &[&str]) -> crate::context::CliResult {
    match status {
        Some(status) if !allowed.contains(&status) => {
            Err(crate::context::input(format!("status: {status:?} is not one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

/// A `--search` text as an ILIKE pattern (its own `%` and `_` literal).
pub fn like_pattern(search: Option<&str>) -> Option<String> {
    search.map(|text| format!("%{}%", text.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
}
