//! Rows of the `plugins` and `plugin_interfaces` tables.

use chrono::{DateTime, Utc};
use rustbill_shared::{AppError, AppResult};
use serde_json::Value as Json;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use crate::engine::{PluginType, ScriptRef};

/// A plugin definition (one `plugins/*.rn` file).
#[derive(Debug, Clone, FromRow)]
pub struct PluginRow {
    pub id: Uuid,
    pub plugin_type: String,
    pub plugin_id: String,
    pub has_admin_page: bool,
    pub version: String,
    pub file_name: String,
    pub script_source: String,
    pub script_hash: String,
    pub config_schema: Json,
    pub load_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const PLUGIN_COLUMNS: &str = "id, plugin_type, plugin_id, has_admin_page, version, file_name, script_source,
     script_hash, config_schema, load_error, created_at, updated_at";

/// A configured plugin interface.
#[derive(Debug, Clone, FromRow)]
pub struct InterfaceRow {
    pub id: Uuid,
    pub plugin_def_id: Uuid,
    pub plugin_type: String,
    pub plugin_id: String,
    pub display_name: String,
    pub config: Json,
    pub config_schema: Json,
    pub enabled: bool,
    pub script_source: String,
    pub script_hash: String,
    pub script_overridden: bool,
    pub plugin_version: String,
    pub has_admin_page: bool,
    pub is_healthy: bool,
    pub health_error: Option<String>,
    pub last_check_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const INTERFACE_COLUMNS: &str = "id, plugin_def_id, plugin_type, plugin_id, display_name, config, config_schema,
     enabled, script_source, script_hash, script_overridden, plugin_version, has_admin_page, is_healthy,
     health_error, last_check_at, created_at, updated_at";

impl InterfaceRow {
    pub fn plugin_type(&self) -> AppResult<PluginType> {
        self.plugin_type.parse().map_err(|_| {
            AppError::Internal(anyhow::anyhow!("interface {} has unknown type {}", self.id, self.plugin_type))
        })
    }

    /// The script this interface runs, for the engine (cache key:
    /// interface id + hash of the source).
    pub fn script(&self) -> AppResult<ScriptRef> {
        Ok(ScriptRef::new(
            self.id.to_string(),
            format!("{}-{}", self.plugin_type, self.plugin_id),
            self.plugin_type()?,
            self.script_source.as_str(),
        ))
    }
}

pub async fn interface<'e>(executor: impl PgExecutor<'e>, id: Uuid) -> AppResult<InterfaceRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {INTERFACE_COLUMNS} from plugin_interfaces where id = $1")))
        .bind(id)
        .fetch_optional(executor)
        .await?
        .ok_or_else(|| AppError::not_found("plugin interface not found"))
}

pub async fn interface_for_update<'e>(executor: impl PgExecutor<'e>, id: Uuid) -> AppResult<InterfaceRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {INTERFACE_COLUMNS} from plugin_interfaces where id = $1 for update"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?
    .ok_or_else(|| AppError::not_found("plugin interface not found"))
}

pub async fn plugin<'e>(executor: impl PgExecutor<'e>, id: Uuid) -> AppResult<PluginRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {PLUGIN_COLUMNS} from plugins where id = $1")))
        .bind(id)
        .fetch_optional(executor)
        .await?
        .ok_or_else(|| AppError::not_found("plugin definition not found"))
}

/// Interfaces, optionally of one type and/or enabled only, in a stable order.
pub async fn interfaces<'e>(
    executor: impl PgExecutor<'e>,
    plugin_type: Option<&str>,
    enabled_only: bool,
) -> AppResult<Vec<InterfaceRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {INTERFACE_COLUMNS} from plugin_interfaces
         where ($1::text is null or plugin_type = $1) and (not $2 or enabled)
         order by plugin_type, plugin_id, display_name, id"
    )))
    .bind(plugin_type)
    .bind(enabled_only)
    .fetch_all(executor)
    .await?)
}
