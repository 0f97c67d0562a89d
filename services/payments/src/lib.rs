//! The payments service. Owns schema `payments`.
//!
//! This first slice serves the internal `rustbill.internal.balances.BalancesService`
//! that other services (identity's CustomerInfo.balance) read balances
//! through. Payments, refunds, the public `rustbill.payment` and
//! `rustbill.balance` services and the ledger come with the payments issue.

pub mod balances;

use std::future::Future;
use std::sync::Arc;

use rustbill_proto::internal::balances::balances_service_server::BalancesServiceServer;
use rustbill_shared::Config;
use rustbill_shared::db::{self, ServiceDb};
use rustbill_shared::principal::PrincipalVerifier;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub const SCHEMA: &str = "payments";
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub const SERVICE_NAMES: &[&str] = &["rustbill.internal.balances.BalancesService"];

pub async fn prepare(config: &Config, database_url: &str) -> anyhow::Result<ServiceDb> {
    db::open_service(&config.db, database_url, SCHEMA, &MIGRATOR).await
}

pub fn router(config: &Config, database: &ServiceDb) -> rustbill_shared::grpc::ServiceRouter {
    let verifier = PrincipalVerifier::new(&config.internal_secret());
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    rustbill_shared::grpc::spawn_db_health(health_reporter, database.pool.clone(), SERVICE_NAMES);
    rustbill_shared::grpc::service_server()
        .add_service(health_service)
        .add_service(BalancesServiceServer::with_interceptor(balances::Balances::new(database.pool.clone()), verifier))
}

pub async fn serve(
    config: Arc<Config>,
    database: ServiceDb,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "payments service listening");
    let heartbeat = database.start_heartbeat();
    let served = rustbill_shared::grpc::serve_router(router(&config, &database), listener, shutdown).await;
    database.leave(heartbeat).await;
    served?;
    Ok(())
}
