//! The catalog service. Owns schema `catalog`: categories → product groups
//! → products, served as `rustbill.product.{ProductService,
//! ProductGroupService, ProductCategoryService}`. Provider data (synced
//! products) comes from the plugins service through its typed internal
//! client; every change is announced on the outbox (`catalog.*` events).

pub mod categories;
pub mod dashboard;
pub mod events;
pub mod groups;
pub mod plugins;
pub mod products;
pub mod validate;

use std::future::Future;
use std::sync::Arc;

use rustbill_proto::product::product_category_service_server::ProductCategoryServiceServer;
use rustbill_proto::product::product_group_service_server::ProductGroupServiceServer;
use rustbill_proto::product::product_service_server::ProductServiceServer;
use rustbill_shared::Config;
use rustbill_shared::db::{self, ServiceDb};
use rustbill_shared::principal::{InternalSigner, PrincipalVerifier};
use rustbill_shared::system::SystemPart;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub const SCHEMA: &str = "catalog";
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub const SERVICE_NAMES: &[&str] = &[
    "rustbill.product.ProductService",
    "rustbill.product.ProductGroupService",
    "rustbill.product.ProductCategoryService",
    "rustbill.internal.system.SystemPartService",
];

/// What the catalog's handlers share.
#[derive(Debug, Clone)]
pub struct State {
    pub pool: sqlx::PgPool,
    pub config: Arc<Config>,
    pub plugins: plugins::PluginsClient,
    /// Orders, asked whether products still have live orders.
    pub orders: rustbill_shared::clients::InternalChannel,
}

pub async fn prepare(config: &Config, database_url: &str) -> anyhow::Result<ServiceDb> {
    db::open_service(&config.db, database_url, SCHEMA, &MIGRATOR).await
}

pub fn router(state: State) -> rustbill_shared::grpc::ServiceRouter {
    let verifier = PrincipalVerifier::new(&state.config.internal_secret());
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    rustbill_shared::grpc::spawn_db_health(health_reporter, state.pool.clone(), SERVICE_NAMES);
    rustbill_shared::grpc::service_server()
        .add_service(health_service)
        .add_service(ProductServiceServer::with_interceptor(products::Products::new(state.clone()), verifier.clone()))
        .add_service(ProductGroupServiceServer::with_interceptor(groups::Groups::new(state.clone()), verifier.clone()))
        .add_service(ProductCategoryServiceServer::with_interceptor(
            categories::Categories::new(state.clone()),
            verifier.clone(),
        ))
        .add_service(SystemPart::new(SCHEMA, state.pool, dashboard::dashboard).server(verifier))
}

pub async fn serve(
    config: Arc<Config>,
    database: ServiceDb,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let signer = InternalSigner::new(&config.internal_secret(), config.internal.token_ttl_secs);
    let plugins = plugins::PluginsClient::new(&config.services.plugins.url, signer.clone());
    let orders =
        rustbill_shared::clients::InternalChannel::new("catalog", "orders", &config.services.orders.url, signer);
    let state = State { pool: database.pool.clone(), config, plugins, orders };
    tracing::info!(addr = %listener.local_addr()?, "catalog service listening");
    let heartbeat = database.start_heartbeat();
    let served = rustbill_shared::grpc::serve_router(router(state), listener, shutdown).await;
    database.leave(heartbeat).await;
    served?;
    Ok(())
}
