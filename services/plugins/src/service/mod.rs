//! The gRPC faces of the plugins service: the public
//! `rustbill.integration.IntegrationService` and the internal
//! `rustbill.internal.plugins.PluginRuntime`.

pub mod convert;
pub mod integration;
pub mod internal;

use std::sync::Arc;

use rustbill_shared::Config;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::runtime::Runtime;

/// What both services share.
#[derive(Debug, Clone)]
pub struct State {
    pub runtime: Runtime,
    pub config: Arc<Config>,
    /// Cancelled by RestartServer: the process shuts down gracefully and
    /// exits, and its supervisor starts a fresh one.
    pub restart: CancellationToken,
}

impl State {
    pub fn engine(&self) -> &Engine {
        &self.runtime.engine
    }

    pub fn pool(&self) -> &sqlx::PgPool {
        &self.runtime.pool
    }
}
