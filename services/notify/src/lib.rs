//! The notify service. Owns schema `notify`: the delivery log, tickets and
//! their replies.
//!
//! System events from the outbox (orders, billing, instances, verification
//! codes) are turned into messages (`templates`, zh-CN and en) and
//! delivered to every enabled notifier channel that takes them, through the
//! plugins service: the `notify.broadcast` consumer writes one delivery per
//! channel and recipient, the delivery worker sends them with retries and
//! parks what keeps failing (`sender`). Serves
//! `rustbill.notification.NotificationService` and
//! `rustbill.ticket.TicketService` (tickets and replies, see [`tickets`]).

pub mod broadcast;
pub mod channels;
pub mod dashboard;
pub mod delivery_log;
pub mod notification_service;
pub mod sender;
pub mod templates;
pub mod tickets;

use std::future::Future;
use std::sync::Arc;

use rustbill_proto::notification::notification_service_server::NotificationServiceServer;
use rustbill_proto::ticket::ticket_service_server::TicketServiceServer;
use rustbill_shared::Config;
use rustbill_shared::bus::{Consumer, ConsumerConfig};
use rustbill_shared::db::{self, ServiceDb};
use rustbill_shared::principal::PrincipalVerifier;
use rustbill_shared::system::SystemPart;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const SCHEMA: &str = "notify";
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub const SERVICE_NAMES: &[&str] = &[
    "rustbill.notification.NotificationService",
    "rustbill.ticket.TicketService",
    "rustbill.internal.system.SystemPartService",
];

/// Delivery workers per instance: a slow channel holds up one of them.
const WORKERS: usize = 4;

pub async fn prepare(config: &Config, database_url: &str) -> anyhow::Result<ServiceDb> {
    db::open_service(&config.db, database_url, SCHEMA, &MIGRATOR).await
}

pub fn router(config: &Arc<Config>, database: &ServiceDb) -> rustbill_shared::grpc::ServiceRouter {
    let verifier = PrincipalVerifier::new(&config.internal_secret());
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    rustbill_shared::grpc::spawn_db_health(health_reporter, database.pool.clone(), SERVICE_NAMES);
    let service =
        notification_service::Notifications { pool: database.pool.clone(), channels: channels::Channels::new(config) };
    rustbill_shared::grpc::service_server()
        .add_service(health_service)
        .add_service(NotificationServiceServer::with_interceptor(service, verifier.clone()))
        .add_service(TicketServiceServer::with_interceptor(
            tickets::Tickets::new(database.pool.clone(), config),
            verifier.clone(),
        ))
        .add_service(SystemPart::new(SCHEMA, database.pool.clone(), dashboard::dashboard).server(verifier))
}

pub async fn serve(
    config: Arc<Config>,
    database: ServiceDb,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "notify service listening");
    let heartbeat = database.start_heartbeat();
    let stop = CancellationToken::new();
    let broadcast = Consumer::register(
        database.pool.clone(),
        broadcast::CONSUMER,
        broadcast::EVENTS,
        broadcast::Broadcast {
            channels: channels::Channels::new(&config),
            admin_email: config.server.notify_email.clone(),
        },
        ConsumerConfig::default(),
    )
    .await?;
    let broadcast = broadcast.on_instance(database.instance.id);
    let mut workers = vec![tokio::spawn(broadcast.run(stop.clone().cancelled_owned()))];
    for _ in 0..WORKERS {
        workers.push(tokio::spawn(sender::run(
            database.pool.clone(),
            channels::Channels::new(&config),
            config.notify.max_attempts.max(1),
            config.notify.retry_base_secs,
            stop.clone(),
        )));
    }
    let served = rustbill_shared::grpc::serve_router(router(&config, &database), listener, shutdown).await;
    stop.cancel();
    for worker in workers {
        worker.await.ok();
    }
    database.leave(heartbeat).await;
    served?;
    Ok(())
}
