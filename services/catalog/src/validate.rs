//! Request checks shared by the catalog's RPCs.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use rustbill_shared::ids::parse_id;
use rustbill_shared::{AppError, AppResult, Money};
use uuid::Uuid;

/// Billing cycles a product can be priced for, with their length in months.
pub const CYCLES: &[(&str, u32)] = &[("monthly", 1), ("quarterly", 3), ("yearly", 12), ("one_time", 1)];

/// Most ids one batch call may name.
pub const MAX_BATCH: usize = 500;

pub fn months(cycle: &str) -> u32 {
    CYCLES.iter().find(|(name, _)| *name == cycle).map(|(_, months)| *months).unwrap_or(1)
}

/// Trimmed text, required, at most `max` characters, no control characters
/// (newlines allowed when `multiline`).
pub fn text(field: &str, value: &str, max: usize, required: bool, multiline: bool) -> AppResult<String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(AppError::invalid_field(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(AppError::invalid_field(field, format!("is longer than {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) {
        return Err(AppError::invalid_field(field, "must not contain control characters"));
    }
    Ok(value.to_string())
}

/// A money string: not negative, at most 2 decimals, within NUMERIC(12,2).
pub fn money(field: &str, value: &str) -> AppResult<Decimal> {
    Ok(Money::parse_field(field, value.trim())?.as_decimal())
}

pub fn format_money(value: Decimal) -> String {
    format!("{:.2}", value)
}

/// `billing_cycles`: known cycles only, each a money string.
pub fn cycles(field: &str, map: &HashMap<String, String>) -> AppResult<BTreeMap<String, Decimal>> {
    let mut checked = BTreeMap::new();
    for (cycle, price) in map {
        if !CYCLES.iter().any(|(name, _)| name == cycle) {
            return Err(AppError::invalid_field(
                format!("{field}.{cycle}"),
                "unknown billing cycle (monthly, quarterly, yearly, one_time)",
            ));
        }
        checked.insert(cycle.clone(), money(&format!("{field}.{cycle}"), price)?);
    }
    Ok(checked)
}

pub fn cycles_json(cycles: &BTreeMap<String, Decimal>) -> serde_json::Value {
    serde_json::Value::Object(
        cycles.iter().map(|(cycle, price)| (cycle.clone(), serde_json::Value::String(format_money(*price)))).collect(),
    )
}

/// `specs`: at most 64 entries; keys of letters, digits, `_`, `-`, `.`.
pub fn specs(field: &str, map: &HashMap<String, String>) -> AppResult<serde_json::Value> {
    if map.len() > 64 {
        return Err(AppError::invalid_field(field, "has more than 64 entries"));
    }
    let mut object = serde_json::Map::new();
    for (key, value) in map {
        let valid = !key.is_empty()
            && key.len() <= 64
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid {
            return Err(AppError::invalid_field(format!("{field}.{key}"), "keys are 1-64 letters, digits, _ - ."));
        }
        let value = text(&format!("{field}.{key}"), value, 512, false, false)?;
        object.insert(key.clone(), serde_json::Value::String(value));
    }
    Ok(serde_json::Value::Object(object))
}

/// Batch ids: at least one, at most [`MAX_BATCH`], each a UUID; duplicates
/// are merged. A malformed id fails the whole call (nothing changes).
pub fn batch_ids(field: &str, ids: &[String]) -> AppResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Err(AppError::invalid_field(field, "is empty"));
    }
    if ids.len() > MAX_BATCH {
        return Err(AppError::invalid_field(field, format!("has more than {MAX_BATCH} ids")));
    }
    let mut parsed = Vec::with_capacity(ids.len());
    for (index, id) in ids.iter().enumerate() {
        let id = parse_id(&format!("{field}[{index}]"), id.trim())?;
        if !parsed.contains(&id) {
            parsed.push(id);
        }
    }
    Ok(parsed)
}

/// An optional id: absent or empty means none.
pub fn optional_id(field: &str, value: Option<&str>) -> AppResult<Option<Uuid>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse_id(field, text).map(Some),
    }
}

/// `markup_ratio`: a positive decimal up to 100 with at most 4 decimals.
pub fn markup(field: &str, value: &str) -> AppResult<Decimal> {
    let ratio: Decimal =
        value.trim().parse().map_err(|_| AppError::invalid_field(field, "must be a decimal such as 1.3"))?;
    if ratio <= Decimal::ZERO || ratio > Decimal::from(100) || ratio.scale() > 4 {
        return Err(AppError::invalid_field(field, "must be greater than 0, at most 100, with at most 4 decimals"));
    }
    Ok(ratio)
}

/// Half-up (away from zero) to 2 decimals.
pub fn round_money(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_markup_rules() {
        assert_eq!(format_money(money("p", "12.5").unwrap()), "12.50");
        assert!(money("p", "-1").is_err());
        assert!(money("p", "1.234").is_err());
        assert!(money("p", "10000000000.00").is_err());
        assert!(markup("m", "0").is_err() && markup("m", "abc").is_err() && markup("m", "1.23456").is_err());
        assert_eq!(round_money("10.005".parse().unwrap()).to_string(), "10.01");
        assert_eq!(round_money("10.004".parse().unwrap()).to_string(), "10.00");
    }
}
