//! The identity service: admins and operators, customers and their users,
//! admin sessions, customer tokens, API keys, e-mail verification codes and
//! the operation log. Owns schema `identity`.
//!
//! Serves `rustbill.identity.IdentityService`, `rustbill.customer.CustomerService`,
//! `rustbill.downstream.ApiKeyService` and the internal
//! `rustbill.internal.auth.AuthService` (credential resolution for the edge)
//! and `rustbill.internal.customers.CustomerDirectoryService` (customer facts
//! for orders and payments).
//! Also serves the RustBill extension `rustbill.system.SystemService` (the
//! admin dashboard and the operation log of every service, merged from each
//! service's `rustbill.internal.system.SystemPartService`, which identity
//! serves too for its own data).
//! Calls the payments service for balances. Writes `identity.*` events to
//! the outbox.

pub mod balances;
pub mod bootstrap;
pub mod dashboard;
pub mod events;
pub mod grpc;
pub use rustbill_shared::oplog;
pub mod passwords;
pub mod session_cache;
pub mod state;
pub mod tokens;
pub mod totp;
pub mod users;
pub mod validate;
pub mod verification;

use std::future::Future;
use std::sync::Arc;

use rustbill_proto::customer::customer_service_server::CustomerServiceServer;
use rustbill_proto::downstream::api_key_service_server::ApiKeyServiceServer;
use rustbill_proto::identity::identity_service_server::IdentityServiceServer;
use rustbill_proto::internal::auth::auth_service_server::AuthServiceServer;
use rustbill_proto::internal::customers::customer_directory_service_server::CustomerDirectoryServiceServer;
use rustbill_proto::system::system_service_server::SystemServiceServer;
use rustbill_shared::Config;
use rustbill_shared::db::{self, ServiceDb};
use rustbill_shared::principal::PrincipalVerifier;
use rustbill_shared::system::SystemPart;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

pub use state::State;

/// Schema owned by this service.
pub const SCHEMA: &str = "identity";
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Public services this binary serves, for health reporting.
pub const SERVICE_NAMES: &[&str] = &[
    "rustbill.identity.IdentityService",
    "rustbill.customer.CustomerService",
    "rustbill.downstream.ApiKeyService",
    "rustbill.internal.auth.AuthService",
    "rustbill.internal.customers.CustomerDirectoryService",
    "rustbill.system.SystemService",
    "rustbill.internal.system.SystemPartService",
];

/// Connects to the database, migrates, and makes sure an admin exists.
pub async fn prepare(config: &Config, database_url: &str) -> anyhow::Result<ServiceDb> {
    let database = db::open_service(&config.db, database_url, SCHEMA, &MIGRATOR).await?;
    bootstrap::ensure_admin(&database.pool, config).await?;
    Ok(database)
}

/// The tonic router of this service, every service behind the principal
/// verifier.
pub fn router(state: State) -> rustbill_shared::grpc::ServiceRouter {
    let verifier = PrincipalVerifier::new(&state.config.internal_secret());
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    rustbill_shared::grpc::spawn_db_health(health_reporter, state.pool.clone(), SERVICE_NAMES);
    let system_part = SystemPart::new(SCHEMA, state.pool.clone(), dashboard::dashboard);
    rustbill_shared::grpc::service_server()
        .add_service(health_service)
        .add_service(IdentityServiceServer::with_interceptor(
            grpc::identity::Identity::new(state.clone()),
            verifier.clone(),
        ))
        .add_service(CustomerServiceServer::with_interceptor(
            grpc::customer::Customers::new(state.clone()),
            verifier.clone(),
        ))
        .add_service(ApiKeyServiceServer::with_interceptor(grpc::apikey::ApiKeys::new(state.clone()), verifier.clone()))
        .add_service(CustomerDirectoryServiceServer::with_interceptor(
            grpc::directory::Directory::new(state.clone()),
            verifier.clone(),
        ))
        .add_service(SystemServiceServer::with_interceptor(
            grpc::system::System::new(state.clone(), system_part.clone()),
            verifier.clone(),
        ))
        .add_service(system_part.server(verifier.clone()))
        .add_service(AuthServiceServer::with_interceptor(grpc::auth::Auth::new(state), verifier))
}

/// Serves on `listener` until `shutdown`.
pub async fn serve(
    config: Arc<Config>,
    database: ServiceDb,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let state = State::new(database.pool.clone(), config);
    tracing::info!(addr = %listener.local_addr()?, "identity service listening");
    let heartbeat = database.start_heartbeat();
    let served = rustbill_shared::grpc::serve_router(router(state), listener, shutdown).await;
    database.leave(heartbeat).await;
    served?;
    Ok(())
}
