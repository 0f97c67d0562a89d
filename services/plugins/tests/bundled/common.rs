//! Engines and scripts for the bundled plugins.

use std::path::PathBuf;
use std::sync::Arc;

use rustbill_plugins::engine::{Engine, EngineLimits};
use rustbill_plugins::host::HostEnv;

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
