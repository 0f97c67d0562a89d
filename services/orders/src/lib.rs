//! The orders service. Owns schema `orders`: orders, the instances they
//! provision, and invoices (renewals, overdue handling, tax; see [`billing`]).
//!
//! Serves `rustbill.order.OrderService`, `rustbill.billing.BillingService`,
//! `rustbill.instance.InstanceService`
//! and the internal `rustbill.internal.orders.OrdersInternalService`. Prices
//! come from the catalog and the provider's spec template; payments start
//! through payments' internal RPC; provider scripts run in the plugins
//! service. The pipeline create → pay → provision → notify runs on the
//! outbox (see [`consumer`]); unpaid orders time out (see [`timeouts`]).

pub mod billing;
pub mod billing_service;
pub mod clients;
pub mod consumer;
pub mod counts;
pub mod coupons;
pub mod dashboard;
pub mod document;
pub mod events;
pub mod instance_service;
pub mod internal;
pub mod invoices;
pub mod order_service;
pub mod plan_change;
pub mod pricing;
pub mod status;
pub mod store;
pub mod timeouts;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rustbill_proto::billing::billing_service_server::BillingServiceServer;
use rustbill_proto::billing::coupon_service_server::CouponServiceServer;
use rustbill_proto::instance::instance_service_server::InstanceServiceServer;
use rustbill_proto::internal::orders::orders_internal_service_server::OrdersInternalServiceServer;
use rustbill_proto::order::order_service_server::OrderServiceServer;
use rustbill_shared::Config;
use rustbill_shared::bus::{Consumer, ConsumerConfig};
use rustbill_shared::db::{self, ServiceDb};
use rustbill_shared::principal::PrincipalVerifier;
use rustbill_shared::system::SystemPart;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const SCHEMA: &str = "orders";
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub const SERVICE_NAMES: &[&str] = &[
    "rustbill.order.OrderService",
    "rustbill.billing.BillingService",
    "rustbill.billing.CouponService",
    "rustbill.instance.InstanceService",
    "rustbill.internal.orders.OrdersInternalService",
    "rustbill.internal.system.SystemPartService",
];

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct State {
    pub pool: sqlx::PgPool,
    pub config: Arc<Config>,
    pub clients: clients::Clients,
}

impl State {
    pub fn new(pool: sqlx::PgPool, config: Arc<Config>) -> Self {
        let clients = clients::Clients::new(&config);
        Self { pool, config, clients }
    }
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
        .add_service(OrderServiceServer::with_interceptor(order_service::Orders::new(state.clone()), verifier.clone()))
        .add_service(BillingServiceServer::with_interceptor(
            billing_service::Billing::new(state.clone()),
            verifier.clone(),
        ))
        .add_service(InstanceServiceServer::with_interceptor(
            instance_service::Instances::new(state.clone()),
            verifier.clone(),
        ))
        .add_service(CouponServiceServer::with_interceptor(coupons::Coupons::new(state.clone()), verifier.clone()))
        .add_service(SystemPart::new(SCHEMA, state.pool.clone(), dashboard::dashboard).server(verifier.clone()))
        .add_service(OrdersInternalServiceServer::with_interceptor(internal::Internal::new(state), verifier))
}

/// At most this many orders at once per pipeline consumer: provider calls
/// wait on the network, so one slow create must not hold up the others.
const PIPELINE_CONCURRENCY: usize = 8;

/// Orders each pipeline consumer handles at once. A delivery holds a
/// database connection while it runs (the bus's per-order lock), so the two
/// consumers together take at most half of the pool and the RPCs keep the
/// other half: with `[db] max_connections = 8`, 2 each; with the default 20,
/// 5 each.
fn pipeline_concurrency(pool: &sqlx::PgPool) -> usize {
    let max = usize::try_from(pool.options().get_max_connections()).unwrap_or(usize::MAX);
    (max / 4).clamp(1, PIPELINE_CONCURRENCY)
}

/// The pipeline's consumers (see [`consumer`]).
pub async fn consumers(state: &State) -> anyhow::Result<Vec<Consumer>> {
    let concurrency = pipeline_concurrency(&state.pool);
    Ok(vec![
        Consumer::register(
            state.pool.clone(),
            consumer::PAYMENTS,
            consumer::PAYMENTS_SUBSCRIBES,
            consumer::Payments { state: state.clone() },
            // Different orders at once (each order's events stay in order).
            ConsumerConfig { concurrency, ..Default::default() },
        )
        .await?,
        Consumer::register(
            state.pool.clone(),
            consumer::PROVISIONER,
            consumer::PROVISIONER_SUBSCRIBES,
            consumer::Provisioner { state: state.clone() },
            // A provider call is bounded by [plugins].call_timeout_secs. The
            // lease may run out meanwhile without harm (the bus's per-order
            // lock keeps a second instance out) and stays short, so the
            // deliveries of a crashed instance are retried within 30 s.
            ConsumerConfig { handler_timeout: Duration::from_secs(120), concurrency, ..Default::default() },
        )
        .await?,
    ])
}

pub async fn serve(
    config: Arc<Config>,
    database: ServiceDb,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let state = State::new(database.pool.clone(), config.clone());
    tracing::info!(addr = %listener.local_addr()?, "orders service listening");
    let heartbeat = database.start_heartbeat();
    let stop = CancellationToken::new();
    let mut workers = Vec::new();
    for consumer in consumers(&state).await? {
        workers.push(tokio::spawn(consumer.on_instance(database.instance.id).run(stop.clone().cancelled_owned())));
    }
    workers.push(tokio::spawn(timeouts::run(
        database.clone(),
        Duration::from_secs(config.orders.payment_timeout_hours.saturating_mul(3600)),
        Duration::from_secs(config.orders.timeout_scan_interval_secs.max(1)),
        stop.clone(),
    )));
    workers.push(tokio::spawn(billing::run_loop(database.clone(), state.clone(), stop.clone())));
    workers.push(tokio::spawn(rustbill_shared::counters::run_folder(database.pool.clone(), stop.clone())));
    let served = rustbill_shared::grpc::serve_router(router(state), listener, shutdown).await;
    // In-flight deliveries finish and the timeout role is released before
    // the instance leaves.
    stop.cancel();
    for worker in workers {
        worker.await.ok();
    }
    database.leave(heartbeat).await;
    served?;
    Ok(())
}
