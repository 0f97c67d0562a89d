//! The plugin service: the only crate that embeds Rune.
//!
//! - [`engine`]: compiles plugin scripts once per (interface, script hash),
//!   checks their contract, runs each call in a fresh, bounded VM and turns
//!   what scripts return into typed results;
//! - [`host`]: the `rustbill_host::` functions scripts call;
//! - [`http`]: the one outbound HTTP client (retries, circuit breakers, mTLS).

pub mod dashboard;
pub mod engine;
pub mod host;
pub mod http;
pub mod runtime;
pub mod scanner;
pub mod schema;
pub mod service;
pub mod store;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rustbill_proto::integration::integration_service_server::IntegrationServiceServer;
use rustbill_proto::internal::plugins::plugin_runtime_service_server::PluginRuntimeServiceServer;
use rustbill_shared::Config;
use rustbill_shared::db::{self, ServiceDb};
use rustbill_shared::principal::PrincipalVerifier;
use rustbill_shared::system::SystemPart;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use host::MIGRATOR;

/// The schema this service owns.
pub const SCHEMA: &str = "plugins";

/// gRPC services this binary serves (health reporting).
pub const SERVICE_NAMES: &[&str] = &[
    "rustbill.integration.IntegrationService",
    "rustbill.internal.plugins.PluginRuntimeService",
    "rustbill.internal.system.SystemPartService",
];

/// Leader role of the background health checks.
const HEALTH_ROLE: &str = "plugins:health";

pub async fn prepare(config: &Config, database_url: &str) -> anyhow::Result<ServiceDb> {
    db::open_service(&config.db, database_url, SCHEMA, &MIGRATOR).await
}

/// Engine limits from `[plugins]`.
pub fn engine_limits(config: &Config) -> engine::EngineLimits {
    let plugins = &config.plugins;
    engine::EngineLimits {
        instructions: plugins.instruction_budget.max(1),
        timeout: Duration::from_secs(plugins.call_timeout_secs.max(1)),
        memory_bytes: usize::try_from(plugins.memory_limit_mb.max(1) * 1024 * 1024).unwrap_or(usize::MAX),
        stack_bytes: usize::try_from(plugins.stack_mb.max(8) * 1024 * 1024).unwrap_or(usize::MAX),
        max_concurrent_calls: plugins.max_concurrent_calls.max(1),
        ..engine::EngineLimits::default()
    }
}

/// The engine of this process, with host functions bound to `pool`.
pub fn build_engine(config: &Config, pool: &sqlx::PgPool) -> anyhow::Result<engine::Engine> {
    let env = host::HostEnv::new(tokio::runtime::Handle::current(), Some(pool.clone()));
    engine::Engine::new(Arc::new(env), engine_limits(config))
}

pub fn router(state: service::State) -> rustbill_shared::grpc::ServiceRouter {
    let verifier = PrincipalVerifier::new(&state.config.internal_secret());
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    rustbill_shared::grpc::spawn_db_health(health_reporter, state.pool().clone(), SERVICE_NAMES);
    rustbill_shared::grpc::service_server()
        .add_service(health_service)
        .add_service(IntegrationServiceServer::with_interceptor(
            service::integration::Integration::new(state.clone()),
            verifier.clone(),
        ))
        .add_service(SystemPart::new(SCHEMA, state.pool().clone(), dashboard::dashboard).server(verifier.clone()))
        .add_service(PluginRuntimeServiceServer::with_interceptor(service::internal::Internal::new(state), verifier))
}

/// Serves until `shutdown`, or until RestartServer cancels `restart` (the
/// caller then exits so its supervisor restarts it). Scans the plugins
/// directory before serving and every `scan_interval_secs`; one instance
/// health-checks enabled interfaces every `health_check_interval_secs`.
pub async fn serve(
    config: Arc<Config>,
    database: ServiceDb,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    restart: CancellationToken,
) -> anyhow::Result<()> {
    let engine = build_engine(&config, &database.pool)?;
    let http = engine.env().http.clone();
    rustbill_shared::metrics::observe_breakers(move || {
        http.snapshot()
            .into_iter()
            .map(|breaker| {
                let state = match breaker.state {
                    http::BreakerState::Closed => 0,
                    http::BreakerState::HalfOpen => 1,
                    http::BreakerState::Open => 2,
                };
                (breaker.host, state)
            })
            .collect()
    });
    let runtime = runtime::Runtime::new(database.pool.clone(), engine.clone());
    let scanner = scanner::Scanner::new(database.pool.clone(), engine, config.plugins.plugins_dir.clone());
    scanner.scan().await?;

    let background = CancellationToken::new();
    let heartbeat = database.start_heartbeat();
    let scan_task =
        tokio::spawn(scanner.run(Duration::from_secs(config.plugins.scan_interval_secs), background.clone()));
    let health_task = (config.plugins.health_check_interval_secs > 0).then(|| {
        let (runtime, leader, token) = (runtime.clone(), database.leader.clone(), background.clone());
        let interval = Duration::from_secs(config.plugins.health_check_interval_secs);
        tokio::spawn(async move {
            let campaign =
                leader.spawn_campaign(HEALTH_ROLE.to_string(), rustbill_shared::leader::RENEW_INTERVAL, token.clone());
            let mut ticker = tokio::time::interval(interval);
            ticker.tick().await;
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = ticker.tick() => {}
                }
                if !rustbill_shared::leader::leads(&leader, HEALTH_ROLE).await {
                    continue;
                }
                match runtime.check_all().await {
                    Ok(count) => tracing::debug!(count, "plugin health checks done"),
                    Err(error) => tracing::warn!(%error, "plugin health checks failed"),
                }
            }
            campaign.await.ok();
        })
    });

    let state = service::State { runtime, config: config.clone(), restart: restart.clone() };
    tracing::info!(addr = %listener.local_addr()?, "plugins service listening");
    let stop = async move {
        tokio::select! {
            () = shutdown => {}
            () = restart.cancelled() => {}
        }
    };
    let served = rustbill_shared::grpc::serve_router(router(state), listener, stop).await;
    background.cancel();
    scan_task.await.ok();
    if let Some(task) = health_task {
        task.await.ok();
    }
    database.leave(heartbeat).await;
    served?;
    Ok(())
}
