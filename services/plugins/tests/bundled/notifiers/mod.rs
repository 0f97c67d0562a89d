//! The bundled notifiers (`plugins/notifier-webhook.rn`,
//! `plugins/notifier-email.rn`) against real servers on loopback: an HTTP
//! receiver that verifies the webhook signature, and an SMTP server
//! (plain, STARTTLS, implicit TLS).

mod email;
mod webhook;

use std::sync::Arc;

use rustbill_plugins::engine::{Engine, EngineError, EngineLimits, PluginType, RawReturn, ScriptRef};
use rustbill_plugins::host::HostEnv;
use serde_json::Value as Json;

pub use crate::common::{bundled, engine};

/// An engine over `env` (in-memory plugin state, no database).
pub fn engine_with(env: HostEnv) -> Engine {
    Engine::new(Arc::new(env), EngineLimits::default()).expect("engine")
}

/// The interface `interface` running `plugins/<file>`.
pub fn script(interface: &str, file: &str) -> ScriptRef {
    let (plugin_type, plugin_id) = PluginType::from_file_name(file).expect("bundled file name");
    assert_eq!(plugin_type, PluginType::Notifier, "{file} is a notifier");
    ScriptRef::new(interface, plugin_id, plugin_type, bundled(file))
}

/// Calls `function`; the engine-level outcome (VM errors are `Err`).
pub async fn try_call(
    engine: &Engine,
    script: &ScriptRef,
    function: &str,
    config: &Json,
    args: Json,
) -> Result<RawReturn, EngineError> {
    engine.call(script, function, config, &args).await
}

/// Calls `function`, which must run to its end.
pub async fn call(engine: &Engine, script: &ScriptRef, function: &str, config: &Json, args: Json) -> RawReturn {
    try_call(engine, script, function, config, args).await.unwrap_or_else(|e| panic!("{function}: {e}"))
}

/// Whether `text` holds Han characters and ASCII letters (bilingual).
pub fn is_bilingual(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) && text.chars().any(|c| c.is_ascii_alphabetic())
}
