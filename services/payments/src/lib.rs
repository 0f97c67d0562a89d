//! The payments service. Owns schema `payments`: payments, refunds,
//! balance accounts and the balance ledger.
//!
//! Serves `rustbill.payment.PaymentService`, `rustbill.balance.BalanceService`,
//! the internal `rustbill.internal.payments.PaymentsInternalService` (orders
//! starts payments through it) and `rustbill.internal.balances.BalancesService`
//! (identity reads balances). Gateways run in the plugins service; orders is
//! told about payments through the outbox (`payments.payment_succeeded`),
//! and refunds for cancelled orders arrive the same way (consumer
//! `payments.refunds`).

pub mod balance_service;
pub mod balances;
pub mod clients;
pub mod consumer;
pub mod core;
pub mod dashboard;
pub mod events;
pub mod internal;
pub mod ledger;
pub mod payment_service;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use rustbill_proto::balance::balance_service_server::BalanceServiceServer;
use rustbill_proto::internal::balances::balances_service_server::BalancesServiceServer;
use rustbill_proto::internal::payments::payments_internal_service_server::PaymentsInternalServiceServer;
use rustbill_proto::payment::payment_service_server::PaymentServiceServer;
use rustbill_shared::Config;
use rustbill_shared::bus::{Consumer, ConsumerConfig};
use rustbill_shared::db::{self, ServiceDb};
use rustbill_shared::principal::PrincipalVerifier;
use rustbill_shared::system::SystemPart;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const SCHEMA: &str = "payments";
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub const SERVICE_NAMES: &[&str] = &[
    "rustbill.payment.PaymentService",
    "rustbill.balance.BalanceService",
    "rustbill.internal.payments.PaymentsInternalService",
    "rustbill.internal.balances.BalancesService",
    "rustbill.internal.system.SystemPartService",
];

pub async fn prepare(config: &Config, database_url: &str) -> anyhow::Result<ServiceDb> {
    db::open_service(&config.db, database_url, SCHEMA, &MIGRATOR).await
}

pub fn router(config: &Arc<Config>, database: &ServiceDb) -> rustbill_shared::grpc::ServiceRouter {
    let verifier = PrincipalVerifier::new(&config.internal_secret());
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    rustbill_shared::grpc::spawn_db_health(health_reporter, database.pool.clone(), SERVICE_NAMES);
    let payments = core::Payments::new(database.pool.clone(), config.clone());
    rustbill_shared::grpc::service_server()
        .add_service(health_service)
        .add_service(PaymentServiceServer::with_interceptor(
            payment_service::PaymentApi::new(payments.clone()),
            verifier.clone(),
        ))
        .add_service(BalanceServiceServer::with_interceptor(
            balance_service::BalanceApi::new(payments.clone()),
            verifier.clone(),
        ))
        .add_service(PaymentsInternalServiceServer::with_interceptor(
            internal::Internal::new(payments),
            verifier.clone(),
        ))
        .add_service(SystemPart::new(SCHEMA, database.pool.clone(), dashboard::dashboard).server(verifier.clone()))
        .add_service(BalancesServiceServer::with_interceptor(balances::Balances::new(database.pool.clone()), verifier))
}

/// The consumer of automatic refunds (see [`consumer`]).
pub async fn refunds_consumer(config: &Arc<Config>, database: &ServiceDb) -> anyhow::Result<Consumer> {
    let handler = consumer::Refunds { payments: core::Payments::new(database.pool.clone(), config.clone()) };
    Ok(Consumer::register(
        database.pool.clone(),
        consumer::REFUNDS,
        consumer::SUBSCRIBES,
        handler,
        ConsumerConfig::default(),
    )
    .await?)
}

pub async fn serve(
    config: Arc<Config>,
    database: ServiceDb,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "payments service listening");
    let heartbeat = database.start_heartbeat();
    let stop = CancellationToken::new();
    let refunds = refunds_consumer(&config, &database).await?;
    let worker = tokio::spawn(refunds.on_instance(database.instance.id).run(stop.clone().cancelled_owned()));
    let folder = tokio::spawn(rustbill_shared::counters::run_folder(database.pool.clone(), stop.clone()));
    let served = rustbill_shared::grpc::serve_router(router(&config, &database), listener, shutdown).await;
    // In-flight refunds finish before the instance leaves.
    stop.cancel();
    worker.await.ok();
    folder.await.ok();
    database.leave(heartbeat).await;
    served?;
    Ok(())
}
