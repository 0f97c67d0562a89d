//! `state_get` / `state_set`: a key-value store namespaced per interface
//! (spec: callback de-duplication, bank-transfer reconciliation).
//!
//! With a database ([`super::HostEnv::pool`]) state lives in
//! `plugins.plugin_state`, keyed by `(interface_id, key)`, and survives
//! restarts and is shared by every instance of the service. Without one
//! (tools, tests) it is kept in memory, per interface, in the
//! [`super::HostEnv`]: it is lost when the environment is dropped and not
//! shared between processes.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use rune::runtime::VmResult;

use super::{CallScope, require_scope};

/// The plugins schema's migrations (`services/plugins/migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Plugin state kept in memory when the environment has no pool.
#[derive(Debug, Default)]
pub(crate) struct MemoryState {
    /// interface id → key → value.
    by_interface: Mutex<HashMap<String, HashMap<String, String>>>,
}

impl MemoryState {
    fn get(&self, interface_id: &str, key: &str) -> Option<String> {
        let by_interface = self.by_interface.lock().unwrap_or_else(PoisonError::into_inner);
        by_interface.get(interface_id).and_then(|values| values.get(key)).cloned()
    }

    fn set(&self, interface_id: &str, key: &str, value: &str) {
        let mut by_interface = self.by_interface.lock().unwrap_or_else(PoisonError::into_inner);
        by_interface.entry(interface_id.to_string()).or_default().insert(key.to_string(), value.to_string());
    }
}

/// Reads `key` of `interface_id`; `None` when never set.
pub async fn get(pool: &sqlx::PgPool, interface_id: &str, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select value from plugin_state where interface_id = $1 and key = $2")
        .bind(interface_id)
        .bind(key)
        .fetch_optional(pool)
        .await
}

/// Writes `key` of `interface_id` (insert or replace).
pub async fn set(pool: &sqlx::PgPool, interface_id: &str, key: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into plugin_state (interface_id, key, value, updated_at) values ($1, $2, $3, now())
         on conflict (interface_id, key) do update set value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(interface_id)
    .bind(key)
    .bind(value)
    .execute(pool)
    .await?;
    Ok(())
}

/// `state_get(key)`: `String → String`, the value stored under `key` for
/// the running interface, `""` when none. A database failure fails the
/// script call (any string returned would be taken for a stored value).
pub fn state_get(key: &str) -> VmResult<String> {
    let scope = match require_scope("state_get") {
        Ok(scope) => scope,
        Err(reason) => return VmResult::panic(reason),
    };
    let Some(pool) = scope.env.pool.clone() else {
        return VmResult::Ok(scope.env.memory_state.get(&scope.interface_id, key).unwrap_or_default());
    };
    let (interface_id, owned_key) = (scope.interface_id.clone(), key.to_string());
    let outcome = scope.env.block_on(async move { get(&pool, &interface_id, &owned_key).await });
    match flatten(outcome) {
        Ok(value) => VmResult::Ok(value.unwrap_or_default()),
        Err(reason) => fail(&scope, "state_get", &reason),
    }
}

/// `state_set(key, value)`: `2×String → ()`, stores `value` under `key` for
/// the running interface. A database failure fails the script call.
pub fn state_set(key: &str, value: &str) -> VmResult<()> {
    let scope = match require_scope("state_set") {
        Ok(scope) => scope,
        Err(reason) => return VmResult::panic(reason),
    };
    let Some(pool) = scope.env.pool.clone() else {
        scope.env.memory_state.set(&scope.interface_id, key, value);
        return VmResult::Ok(());
    };
    let (interface_id, owned_key, owned_value) = (scope.interface_id.clone(), key.to_string(), value.to_string());
    let outcome = scope.env.block_on(async move { set(&pool, &interface_id, &owned_key, &owned_value).await });
    match flatten(outcome) {
        Ok(()) => VmResult::Ok(()),
        Err(reason) => fail(&scope, "state_set", &reason),
    }
}

fn flatten<T>(outcome: Result<Result<T, sqlx::Error>, String>) -> Result<T, String> {
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("database error: {error}")),
        Err(reason) => Err(reason),
    }
}

fn fail<T>(scope: &CallScope, function: &'static str, reason: &str) -> VmResult<T> {
    tracing::error!(
        interface_id = %scope.interface_id,
        plugin_id = %scope.plugin_id,
        function,
        error = %reason,
        "plugin state unavailable"
    );
    VmResult::panic(format!("{function} failed: {reason}"))
}
