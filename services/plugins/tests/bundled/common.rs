//! Engines and scripts for the bundled plugins.

use std::path::PathBuf;
use std::sync::Arc;

use rustbill_plugins::engine::{Engine, EngineLimits, PluginType, RawReturn, ScriptRef};
use rustbill_plugins::host::HostEnv;
use serde_json::Value as Json;

/// An engine with in-memory plugin state (no database).
pub fn engine() -> Engine {
    let env = Arc::new(HostEnv::new(tokio::runtime::Handle::current(), None));
    Engine::new(env, EngineLimits::default()).expect("engine")
}

/// The text of `plugins/<name>`.
pub fn bundled(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../plugins").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn script(interface: &str, file: &str) -> ScriptRef {
    let (plugin_type, plugin_id) = PluginType::from_file_name(file).expect("bundled file name");
    ScriptRef::new(interface, plugin_id, plugin_type, bundled(file))
}

pub async fn call(engine: &Engine, script: &ScriptRef, function: &str, config: &Json, args: Json) -> RawReturn {
    engine.call(script, function, config, &args).await.unwrap_or_else(|e| panic!("{function}: {e}"))
}
