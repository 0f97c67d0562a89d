//! Calls into the script of one plugin interface, with every failure turned
//! into an [`AppError`] the gRPC layers can answer with.
//!
//! The interface row is read from the database on every call, so an edit
//! made through any instance (UpdatePluginInterface, the scanner) is what
//! the next call runs everywhere: the engine's cache is keyed by interface
//! and script hash and recompiles when the hash changes.

use rustbill_shared::{AppError, AppResult};
use serde_json::Value as Json;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

use crate::engine::{Engine, EngineError, PluginFailure, PluginType, RawReturn};
use crate::store::{self, InterfaceRow};

/// Why a call could not be made or failed, as gRPC errors.
pub fn engine_error(error: EngineError) -> AppError {
    match error {
        EngineError::Compile(_) | EngineError::Contract { .. } => {
            AppError::FailedPrecondition(format!("the interface's script cannot run: {error}"))
        }
        EngineError::NoSuchFunction(name) => AppError::not_found(format!("the script has no function `{name}`")),
        EngineError::WrongArity { .. } | EngineError::InvalidArguments(_) => AppError::invalid(error.to_string()),
        EngineError::Timeout(_) => AppError::Unavailable(format!("plugin {error}")),
        EngineError::BudgetExhausted { .. }
        | EngineError::MemoryLimit { .. }
        | EngineError::Panicked(_)
        | EngineError::Runtime(_)
        | EngineError::BadReturn(_) => AppError::FailedPrecondition(format!("plugin call failed: {error}")),
        EngineError::Internal(_) => AppError::Internal(anyhow::anyhow!("plugin engine: {error}")),
    }
}

/// A failure the script reported (`ERROR: …`, `Err(…)`) or a result that
/// does not have the contract's shape.
pub fn plugin_failure(function: &str, failure: PluginFailure) -> AppError {
    AppError::FailedPrecondition(format!("plugin `{function}` failed: {}", failure.message))
}

#[derive(Debug, Clone)]
pub struct Runtime {
    pub pool: PgPool,
    pub engine: Engine,
}

impl Runtime {
    pub fn new(pool: PgPool, engine: Engine) -> Self {
        Self { pool, engine }
    }

    /// The interface `id` (a request field), which must be enabled and of
    /// one of `types`.
    pub async fn usable(&self, field: &str, id: &str, types: &[PluginType]) -> AppResult<InterfaceRow> {
        let id = rustbill_shared::ids::parse_id(field, id)?;
        let row = store::interface(&self.pool, id).await?;
        let plugin_type = row.plugin_type()?;
        if !types.contains(&plugin_type) {
            let wanted = types.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" or ");
            return Err(AppError::FailedPrecondition(format!(
                "interface {id} is a {} plugin, this call needs a {wanted}",
                plugin_type.as_str()
            )));
        }
        if !row.enabled {
            return Err(AppError::FailedPrecondition(format!("interface {id} ({}) is disabled", row.display_name)));
        }
        Ok(row)
    }

    /// `function(config ⊕ args, ())` of the interface's script.
    pub async fn call(&self, row: &InterfaceRow, function: &str, args: Json) -> AppResult<RawReturn> {
        let span = tracing::info_span!(
            "plugin_call",
            otel.name = %format!("plugin {}.{function}", row.plugin_id),
            plugin_type = %row.plugin_type,
            plugin_id = %row.plugin_id,
            plugin_version = %row.plugin_version,
            interface_id = %row.id,
            function,
        );
        let script = row.script()?;
        self.engine.call(&script, function, &row.config, &args).instrument(span).await.map_err(engine_error)
    }

    /// Calls and decodes with one of the engine's typed parsers.
    pub async fn call_typed<T>(
        &self,
        row: &InterfaceRow,
        function: &str,
        args: Json,
        parse: impl FnOnce(RawReturn) -> Result<T, PluginFailure>,
    ) -> AppResult<T> {
        let raw = self.call(row, function, args).await?;
        parse(raw).map_err(|failure| plugin_failure(function, failure))
    }

    /// Runs `health_check` and records the outcome on the interface.
    pub async fn check_health(
        &self,
        row: &InterfaceRow,
    ) -> AppResult<(bool, Option<String>, chrono::DateTime<chrono::Utc>)> {
        let plugin_type = row.plugin_type()?;
        let outcome = match self.call(row, "health_check", Json::Object(Default::default())).await {
            Ok(raw) => match crate::engine::output::parse_health(plugin_type, raw) {
                Ok(true) => Ok(()),
                Ok(false) => Err("health_check returned false".to_string()),
                Err(failure) => Err(failure.message),
            },
            Err(AppError::Internal(error)) => return Err(AppError::Internal(error)),
            Err(error) => Err(error.to_string()),
        };
        let error = outcome.err();
        let healthy = error.is_none();
        let checked_at: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
            "update plugin_interfaces set is_healthy = $2, health_error = $3, last_check_at = now()
             where id = $1 returning last_check_at",
        )
        .bind(row.id)
        .bind(healthy)
        .bind(&error)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| AppError::not_found("plugin interface not found"))?;
        if let Some(error) = &error {
            tracing::warn!(interface_id = %row.id, plugin_id = %row.plugin_id, %error, "plugin health check failed");
        }
        Ok((healthy, error, checked_at))
    }

    /// Health checks of every enabled interface (background task).
    pub async fn check_all(&self) -> AppResult<usize> {
        let rows = store::interfaces(&self.pool, None, true).await?;
        let count = rows.len();
        for row in rows {
            if let Err(error) = self.check_health(&row).await {
                tracing::warn!(interface_id = %row.id, %error, "health check could not run");
            }
        }
        Ok(count)
    }

    pub async fn interface(&self, id: Uuid) -> AppResult<InterfaceRow> {
        store::interface(&self.pool, id).await
    }
}
