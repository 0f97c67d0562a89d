//! Rows and script results → wire messages.

use rustbill_proto::integration::{PluginDef, PluginInterfaceInfo};
use rustbill_proto::product::{SpecField, SpecGroup, SpecOption, SpecTemplate};
use rustbill_shared::ids::{format_optional_time, format_time};
use serde_json::Value as Json;

use crate::schema;
use crate::store::{InterfaceRow, PluginRow};

pub fn plugin_def(row: &PluginRow) -> PluginDef {
    PluginDef {
        id: row.id.to_string(),
        plugin_type: row.plugin_type.clone(),
        plugin_id: row.plugin_id.clone(),
        has_admin_page: row.has_admin_page,
        created_at: format_time(row.created_at),
        updated_at: format_time(row.updated_at),
        version: row.version.clone(),
        config_schema: row.config_schema.to_string(),
        file_name: row.file_name.clone(),
        load_error: row.load_error.clone().unwrap_or_default(),
    }
}

/// An interface as admins see it: secrets masked; the script only when
/// `with_script` (single-interface answers).
pub fn interface_info(row: &InterfaceRow, with_script: bool, script_error: Option<String>) -> PluginInterfaceInfo {
    PluginInterfaceInfo {
        id: row.id.to_string(),
        plugin_def_id: row.plugin_def_id.to_string(),
        plugin_type: row.plugin_type.clone(),
        plugin_id: row.plugin_id.clone(),
        display_name: row.display_name.clone(),
        enabled: row.enabled,
        config_json: schema::mask(&row.config_schema, &row.config).to_string(),
        config_schema: row.config_schema.to_string(),
        created_at: format_time(row.created_at),
        updated_at: format_time(row.updated_at),
        is_healthy: row.is_healthy,
        health_error: row.health_error.clone(),
        last_check_at: row.last_check_at.map(|time| format_optional_time(Some(time))),
        has_admin_page: row.has_admin_page,
        plugin_version: row.plugin_version.clone(),
        script_source: if with_script { row.script_source.clone() } else { String::new() },
        script_overridden: row.script_overridden,
        script_error: script_error.unwrap_or_default(),
    }
}

fn text(value: &Json, key: &str) -> String {
    match value.get(key) {
        Some(Json::String(text)) => text.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn integer(value: &Json, key: &str) -> Option<i64> {
    match value.get(key)? {
        Json::Number(number) => number.as_i64().or_else(|| number.as_f64().map(|f| f as i64)),
        Json::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn flag(value: &Json, key: &str) -> bool {
    match value.get(key) {
        Some(Json::Bool(flag)) => *flag,
        Some(Json::String(text)) => text == "true",
        _ => false,
    }
}

fn spec_option(value: &Json) -> SpecOption {
    match value {
        // Scripts may list plain strings.
        Json::String(text) => SpecOption { value: text.clone(), label: text.clone(), ..Default::default() },
        other => SpecOption {
            value: text(other, "value"),
            label: text(other, "label"),
            icon: text(other, "icon"),
            description: text(other, "description"),
            price_modifier: text(other, "price_modifier"),
            disabled: flag(other, "disabled"),
        },
    }
}

fn spec_field(value: &Json) -> SpecField {
    SpecField {
        key: text(value, "key"),
        label: text(value, "label"),
        field_type: text(value, "field_type"),
        required: flag(value, "required"),
        display_order: integer(value, "display_order").and_then(|n| u32::try_from(n).ok()).unwrap_or_default(),
        options: value
            .get("options")
            .and_then(Json::as_array)
            .map(|o| o.iter().map(spec_option).collect())
            .unwrap_or_default(),
        min: integer(value, "min"),
        max: integer(value, "max"),
        default_value: value.get("default_value").filter(|v| !v.is_null()).map(|_| text(value, "default_value")),
        unit: text(value, "unit"),
        description: text(value, "description"),
        icon: text(value, "icon"),
        group: text(value, "group"),
        step: integer(value, "step"),
        price_impact: None,
    }
}

/// The spec's template JSON (`{groups, fields}`) as the product package's
/// message.
pub fn spec_template(value: &Json) -> SpecTemplate {
    let fields = |v: &Json| -> Vec<SpecField> {
        v.get("fields").and_then(Json::as_array).map(|f| f.iter().map(spec_field).collect()).unwrap_or_default()
    };
    SpecTemplate {
        fields: fields(value),
        groups: value
            .get("groups")
            .and_then(Json::as_array)
            .map(|groups| {
                groups
                    .iter()
                    .map(|group| SpecGroup {
                        key: text(group, "key"),
                        label: text(group, "label"),
                        icon: text(group, "icon"),
                        display_order: integer(group, "display_order")
                            .and_then(|n| u32::try_from(n).ok())
                            .unwrap_or_default(),
                        fields: fields(group),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}
