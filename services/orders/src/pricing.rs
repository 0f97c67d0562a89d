//! What an order costs, from the catalog and the provider's spec template
//! (never from the client): the product's price for the billing cycle, plus
//! the template's price impacts for the chosen spec values. The spec is
//! validated against the template on the way (required fields, ranges,
//! steps, options).
//!
//! Price impacts are monthly amounts, scaled by the cycle's months:
//! - an option's `price_modifier` is added when that option is chosen;
//! - a number field's `price_impact` with mode `add` adds `amount` per unit
//!   above the field's default (or minimum), and takes it off below;
//! - mode `multiply` multiplies the total by `amount` when the field is set
//!   to anything but "" or "false".
//!
//! The total never goes below zero.

use std::collections::HashMap;

use rust_decimal::Decimal;
use rustbill_proto::order::ServerSpec;
use rustbill_proto::product::ProductInfo;
use rustbill_shared::{AppError, AppResult, Money};
use serde_json::Value;

/// Months a billing cycle covers.
pub fn cycle_months(cycle: &str) -> Option<u32> {
    match cycle {
        "monthly" | "one_time" => Some(1),
        "quarterly" => Some(3),
        "semi_annually" | "semiannually" => Some(6),
        "yearly" | "annually" => Some(12),
        "biennially" => Some(24),
        "triennially" => Some(36),
        _ => None,
    }
}

/// The product's price for `cycle`.
pub fn base_price(product: &ProductInfo, cycle: &str) -> AppResult<Decimal> {
    let listed = product.billing_cycles.get(cycle).map(String::as_str).filter(|price| !price.trim().is_empty());
    let text = match (listed, cycle) {
        (Some(price), _) => price,
        // The product's own monthly price, when the cycles do not list it.
        (None, "monthly") if !product.price_per_month.trim().is_empty() => product.price_per_month.as_str(),
        _ => {
            let mut cycles: Vec<&str> = product.billing_cycles.keys().map(String::as_str).collect();
            cycles.sort_unstable();
            return Err(AppError::invalid_field(
                "billing_cycle",
                format!("this product is not sold {cycle}; choose one of: {}", cycles.join(", ")),
            ));
        }
    };
    Money::parse(text.trim())
        .map(|money| money.as_decimal())
        .map_err(|_| AppError::FailedPrecondition("the product's price is malformed; ask the operator".into()))
}

/// One field of the template, read leniently (numbers may be strings).
struct Field<'a> {
    raw: &'a Value,
}

impl Field<'_> {
    fn key(&self) -> &str {
        self.raw.get("key").and_then(Value::as_str).unwrap_or("")
    }
    fn kind(&self) -> String {
        self.raw.get("field_type").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase().replace('_', "")
    }
    fn required(&self) -> bool {
        self.raw.get("required").and_then(Value::as_bool).unwrap_or(false)
    }
    fn int(&self, name: &str) -> Option<i64> {
        match self.raw.get(name)? {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }
    fn default_value(&self) -> Option<String> {
        match self.raw.get("default_value")? {
            Value::String(text) if !text.is_empty() => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        }
    }
    fn options(&self) -> Vec<&Value> {
        self.raw.get("options").and_then(Value::as_array).map(|options| options.iter().collect()).unwrap_or_default()
    }
    fn impact(&self) -> Option<(String, Decimal)> {
        let impact = self.raw.get("price_impact")?;
        let mode = impact.get("mode").and_then(Value::as_str).unwrap_or("add").to_ascii_lowercase();
        let amount = decimal(impact.get("amount")?)?;
        Some((mode, amount))
    }
}

fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::String(text) if !text.trim().is_empty() => text.trim().parse().ok(),
        Value::Number(number) => number.to_string().parse().ok(),
        _ => None,
    }
}

fn fields(template: &Value) -> Vec<Field<'_>> {
    let mut found: Vec<Field<'_>> = Vec::new();
    if let Some(flat) = template.get("fields").and_then(Value::as_array) {
        found.extend(flat.iter().map(|raw| Field { raw }));
    }
    if let Some(groups) = template.get("groups").and_then(Value::as_array) {
        for group in groups {
            if let Some(inner) = group.get("fields").and_then(Value::as_array) {
                found.extend(inner.iter().map(|raw| Field { raw }));
            }
        }
    }
    found.retain(|field| !field.key().is_empty());
    found
}

/// The typed ServerSpec fields as spec keys.
const TYPED: &[&str] = &["cpu_cores", "memory_gb", "disk_gb", "bandwidth_mbps", "region", "os"];

/// A validated spec and its monthly price adjustments.
#[derive(Debug, Clone)]
pub struct Priced {
    pub spec: ServerSpec,
    pub amount: Decimal,
}

/// Merges the requested spec over the product's specs and the template's
/// defaults, validates it, and prices it for `cycle`.
pub fn price(product: &ProductInfo, template_json: &str, requested: &ServerSpec, cycle: &str) -> AppResult<Priced> {
    let months = Decimal::from(
        cycle_months(cycle)
            .ok_or_else(|| AppError::invalid_field("billing_cycle", "must be monthly, quarterly or yearly"))?,
    );
    let base = base_price(product, cycle)?;
    let template: Value = if template_json.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(template_json)
            .map_err(|_| AppError::FailedPrecondition("the provider's spec template is malformed".into()))?
    };
    let fields = fields(&template);

    // Chosen values: template defaults < product specs < typed fields < extra_specs.
    let mut chosen: HashMap<String, String> = HashMap::new();
    for field in &fields {
        if let Some(default) = field.default_value() {
            chosen.insert(field.key().to_string(), default);
        }
    }
    for (key, value) in &product.specs {
        chosen.insert(key.clone(), value.clone());
    }
    for (key, value) in [
        ("cpu_cores", requested.cpu_cores),
        ("memory_gb", requested.memory_gb),
        ("disk_gb", requested.disk_gb),
        ("bandwidth_mbps", requested.bandwidth_mbps),
    ] {
        if value > 0 {
            chosen.insert(key.to_string(), value.to_string());
        }
    }
    if !requested.region.trim().is_empty() {
        chosen.insert("region".into(), requested.region.trim().to_string());
    }
    if !requested.os.trim().is_empty() {
        chosen.insert("os".into(), requested.os.trim().to_string());
    }
    for (key, value) in &requested.extra_specs {
        if key.len() > 64 || value.len() > 256 {
            return Err(AppError::invalid_field(format!("server_spec.extra_specs.{key}"), "too long"));
        }
        if !fields.is_empty() && !fields.iter().any(|field| field.key() == key) && !product.specs.contains_key(key) {
            return Err(AppError::invalid_field(
                format!("server_spec.extra_specs.{key}"),
                "not a field of this product's spec",
            ));
        }
        chosen.insert(key.clone(), value.trim().to_string());
    }

    let mut add = Decimal::ZERO;
    let mut factor = Decimal::ONE;
    for field in &fields {
        let key = field.key();
        let path = format!("server_spec.{key}");
        let value = chosen.get(key).map(String::as_str).unwrap_or("");
        if value.is_empty() {
            if field.required() {
                return Err(AppError::invalid_field(path, "required"));
            }
            continue;
        }
        let kind = field.kind();
        let options = field.options();
        if matches!(kind.as_str(), "integer" | "number" | "slider") {
            let number: i64 = value.parse().map_err(|_| AppError::invalid_field(&path, "must be a whole number"))?;
            if let Some(min) = field.int("min")
                && number < min
            {
                return Err(AppError::invalid_field(&path, format!("at least {min}")));
            }
            if let Some(max) = field.int("max")
                && number > max
            {
                return Err(AppError::invalid_field(&path, format!("at most {max}")));
            }
            if let Some(step) = field.int("step").filter(|step| *step > 1) {
                let origin = field.int("min").unwrap_or(0);
                if (number - origin) % step != 0 {
                    return Err(AppError::invalid_field(&path, format!("must move in steps of {step}")));
                }
            }
            if let Some((mode, amount)) = field.impact() {
                match mode.as_str() {
                    "multiply" => factor *= amount,
                    _ => {
                        let origin = field
                            .default_value()
                            .and_then(|text| text.parse::<i64>().ok())
                            .or(field.int("min"))
                            .unwrap_or(0);
                        add += amount * Decimal::from(number - origin);
                    }
                }
            }
        } else if kind == "boolean" {
            if value != "true" && value != "false" {
                return Err(AppError::invalid_field(&path, "must be true or false"));
            }
            if value == "true"
                && let Some((mode, amount)) = field.impact()
            {
                if mode == "multiply" {
                    factor *= amount;
                } else {
                    add += amount;
                }
            }
        } else if !options.is_empty() {
            let option = options
                .iter()
                .find(|option| option.get("value").and_then(Value::as_str) == Some(value))
                .ok_or_else(|| AppError::invalid_field(&path, "not one of the offered options"))?;
            if option.get("disabled").and_then(Value::as_bool).unwrap_or(false) {
                return Err(AppError::invalid_field(&path, "this option is not available"));
            }
            if let Some(modifier) = option.get("price_modifier").and_then(decimal) {
                add += modifier;
            }
            if let Some((mode, amount)) = field.impact() {
                if mode == "multiply" {
                    factor *= amount;
                } else {
                    add += amount;
                }
            }
        }
    }

    let amount = ((base + add * months) * factor)
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let amount = amount.max(Decimal::ZERO);

    let number = |key: &str| chosen.get(key).and_then(|text| text.parse::<u32>().ok()).unwrap_or(0);
    let spec = ServerSpec {
        cpu_cores: number("cpu_cores"),
        memory_gb: number("memory_gb"),
        disk_gb: number("disk_gb"),
        bandwidth_mbps: number("bandwidth_mbps"),
        region: chosen.get("region").cloned().unwrap_or_default(),
        os: chosen.get("os").cloned().unwrap_or_default(),
        extra_specs: chosen.into_iter().filter(|(key, _)| !TYPED.contains(&key.as_str())).collect(),
    };
    Ok(Priced { spec, amount })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(prices: &[(&str, &str)]) -> ProductInfo {
        ProductInfo {
            billing_cycles: prices.iter().map(|(cycle, price)| (cycle.to_string(), price.to_string())).collect(),
            ..Default::default()
        }
    }

    const TEMPLATE: &str = r#"{"fields":[
        {"key":"cpu_cores","field_type":"slider","required":true,"min":1,"max":16,"default_value":"2","step":1,
         "price_impact":{"mode":"add","amount":"5.00"}},
        {"key":"os","field_type":"select","required":true,"options":[
            {"value":"debian-12","label":"Debian"},
            {"value":"windows","label":"Windows","price_modifier":"20.00"},
            {"value":"old","label":"Old","disabled":true}]},
        {"key":"backup","field_type":"boolean","price_impact":{"mode":"multiply","amount":"1.1"}}]}"#;

    fn spec(extra: &[(&str, &str)]) -> ServerSpec {
        ServerSpec {
            extra_specs: extra.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_cycle_price_plus_impacts_scaled_by_months() {
        let product = product(&[("monthly", "10.00"), ("yearly", "100.00")]);
        let priced = price(&product, TEMPLATE, &spec(&[("os", "debian-12")]), "monthly").unwrap();
        assert_eq!(priced.amount.to_string(), "10.00");
        assert_eq!(priced.spec.cpu_cores, 2);
        let priced = price(&product, TEMPLATE, &spec(&[("os", "windows"), ("cpu_cores", "4")]), "yearly").unwrap();
        // 100 + (20 + 2 × 5) × 12
        assert_eq!(priced.amount.to_string(), "460.00");
        let priced = price(&product, TEMPLATE, &spec(&[("os", "debian-12"), ("backup", "true")]), "monthly").unwrap();
        assert_eq!(priced.amount.to_string(), "11.00");
    }

    #[test]
    fn bad_specs_name_the_field() {
        let product = product(&[("monthly", "10.00")]);
        let cases = [
            (spec(&[]), "server_spec.os"),
            (spec(&[("os", "plan9")]), "server_spec.os"),
            (spec(&[("os", "old")]), "server_spec.os"),
            (spec(&[("os", "debian-12"), ("cpu_cores", "17")]), "server_spec.cpu_cores"),
            (spec(&[("os", "debian-12"), ("cpu_cores", "two")]), "server_spec.cpu_cores"),
            (spec(&[("os", "debian-12"), ("gpu", "1")]), "server_spec.extra_specs.gpu"),
        ];
        for (spec, field) in cases {
            let error = price(&product, TEMPLATE, &spec, "monthly").unwrap_err();
            assert!(error.to_string().starts_with(field), "{field}: {error}");
        }
        let error = price(&product, TEMPLATE, &spec(&[("os", "debian-12")]), "yearly").unwrap_err();
        assert!(error.to_string().contains("not sold yearly"), "{error}");
    }
}
