//! `rustbill-server`: every service and the edge in one process.
//!
//! Each service serves on its own loopback listener (port chosen by the
//! OS) exactly as it would as a separate binary, and the edge routes to
//! those listeners, so the all-in-one mode runs the same code paths as a
//! microservice deployment. With no `[db].url`, an embedded PostgreSQL is
//! started from the system's binaries under `[db].embedded_dir` and stopped
//! on exit.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use rustbill_shared::Config;
use rustbill_shared::db::ServiceDb;
use rustbill_shared::grpc::bind;
use rustbill_shared::pgcluster::PgCluster;
use secrecy::SecretString;
use sqlx::{AssertSqlSafe, Connection, Executor};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Name of the database the embedded cluster holds.
const EMBEDDED_DATABASE: &str = "rustbill";

/// A started server.
pub struct Server {
    pub edge_addr: SocketAddr,
    pub identity_addr: SocketAddr,
    pub payments_addr: SocketAddr,
    pub plugins_addr: SocketAddr,
    pub catalog_addr: SocketAddr,
    pub orders_addr: SocketAddr,
    pub notify_addr: SocketAddr,
    shutdown: CancellationToken,
    /// Cancelled by IntegrationService.RestartServer.
    restart: CancellationToken,
    tasks: JoinSet<(&'static str, anyhow::Result<()>)>,
    databases: Vec<ServiceDb>,
    embedded: Option<PgCluster>,
}

/// Starts the embedded cluster and returns its URL.
async fn start_embedded(config: &Config) -> anyhow::Result<(PgCluster, String)> {
    let cluster = PgCluster::new(&config.db.embedded_dir)?;
    cluster.start().await.context("failed to start the embedded PostgreSQL")?;
    let mut admin = sqlx::PgConnection::connect(&cluster.url("postgres")).await?;
    let exists: bool = sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
        .bind(EMBEDDED_DATABASE)
        .fetch_one(&mut admin)
        .await?;
    if !exists {
        admin.execute(AssertSqlSafe(format!("create database {EMBEDDED_DATABASE}"))).await?;
    }
    admin.close().await.ok();
    let url = cluster.url(EMBEDDED_DATABASE);
    Ok((cluster, url))
}

impl Server {
    /// Prepares every service (database, migrations, bootstrap admin),
    /// binds every listener and starts serving.
    pub async fn start(mut config: Config) -> anyhow::Result<Self> {
        let mut embedded = None;
        let url = match config.require_db_url() {
            Ok(url) => url.to_string(),
            Err(_) => {
                let (cluster, url) = start_embedded(&config).await?;
                tracing::info!(data_dir = %cluster.data_dir().display(), "using the embedded PostgreSQL");
                embedded = Some(cluster);
                config.db.url = Some(SecretString::from(url.clone()));
                url
            }
        };
        let result = Self::start_services(config, &url, embedded.clone()).await;
        if result.is_err()
            && let Some(cluster) = &embedded
        {
            cluster.stop().await.ok();
        }
        result
    }

    async fn start_services(mut config: Config, url: &str, embedded: Option<PgCluster>) -> anyhow::Result<Self> {
        let identity_db = rustbill_identity::prepare(&config, url).await?;
        let payments_db = rustbill_payments::prepare(&config, url).await?;
        let plugins_db = rustbill_plugins::prepare(&config, url).await?;
        let catalog_db = rustbill_catalog::prepare(&config, url).await?;
        let orders_db = rustbill_orders::prepare(&config, url).await?;
        let notify_db = rustbill_notify::prepare(&config, url).await?;

        let (identity_listener, identity_addr) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let (payments_listener, payments_addr) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let (plugins_listener, plugins_addr) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let (catalog_listener, catalog_addr) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let (orders_listener, orders_addr) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let (notify_listener, notify_addr) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        config.services.identity.url = format!("http://{identity_addr}");
        config.services.payments.url = format!("http://{payments_addr}");
        config.services.plugins.url = format!("http://{plugins_addr}");
        config.services.catalog.url = format!("http://{catalog_addr}");
        config.services.orders.url = format!("http://{orders_addr}");
        config.services.notify.url = format!("http://{notify_addr}");
        let edge_bind: SocketAddr = tokio::net::lookup_host(config.edge_addr())
            .await
            .with_context(|| format!("cannot resolve {}", config.edge_addr()))?
            .next()
            .with_context(|| format!("cannot resolve {}", config.edge_addr()))?;
        let (edge_listener, edge_addr) =
            bind(edge_bind).await.with_context(|| format!("cannot listen on {}", config.edge_addr()))?;
        let config = Arc::new(config);

        let shutdown = CancellationToken::new();
        let restart = CancellationToken::new();
        let mut tasks = JoinSet::new();
        {
            let (config, database, token) = (config.clone(), identity_db.clone(), shutdown.clone());
            tasks.spawn(async move {
                let result =
                    rustbill_identity::serve(config, database, identity_listener, token.cancelled_owned()).await;
                ("identity", result)
            });
        }
        {
            let (config, database, token) = (config.clone(), payments_db.clone(), shutdown.clone());
            tasks.spawn(async move {
                let result =
                    rustbill_payments::serve(config, database, payments_listener, token.cancelled_owned()).await;
                ("payments", result)
            });
        }
        {
            let (config, database, token, restart) =
                (config.clone(), plugins_db.clone(), shutdown.clone(), restart.clone());
            tasks.spawn(async move {
                let result =
                    rustbill_plugins::serve(config, database, plugins_listener, token.cancelled_owned(), restart).await;
                ("plugins", result)
            });
        }
        {
            let (config, database, token) = (config.clone(), catalog_db.clone(), shutdown.clone());
            tasks.spawn(async move {
                let result = rustbill_catalog::serve(config, database, catalog_listener, token.cancelled_owned()).await;
                ("catalog", result)
            });
        }
        {
            let (config, database, token) = (config.clone(), orders_db.clone(), shutdown.clone());
            tasks.spawn(async move {
                let result = rustbill_orders::serve(config, database, orders_listener, token.cancelled_owned()).await;
                ("orders", result)
            });
        }
        {
            let (config, database, token) = (config.clone(), notify_db.clone(), shutdown.clone());
            tasks.spawn(async move {
                let result = rustbill_notify::serve(config, database, notify_listener, token.cancelled_owned()).await;
                ("notify", result)
            });
        }
        {
            let edge = rustbill_edge::Edge::new(
                &config,
                // Only the services this binary runs; the others answer
                // Unavailable until their issues land.
                rustbill_edge::Backends::default()
                    .with(rustbill_edge::Backend::Identity, config.services.identity.url.clone())
                    .with(rustbill_edge::Backend::Payments, config.services.payments.url.clone())
                    .with(rustbill_edge::Backend::Plugins, config.services.plugins.url.clone())
                    .with(rustbill_edge::Backend::Catalog, config.services.catalog.url.clone())
                    .with(rustbill_edge::Backend::Orders, config.services.orders.url.clone())
                    .with(rustbill_edge::Backend::Notify, config.services.notify.url.clone()),
            )?;
            let token = shutdown.clone();
            tasks.spawn(async move { ("edge", edge.serve(edge_listener, token.cancelled_owned()).await) });
        }
        Ok(Self {
            edge_addr,
            identity_addr,
            payments_addr,
            plugins_addr,
            catalog_addr,
            orders_addr,
            notify_addr,
            shutdown,
            restart,
            tasks,
            databases: vec![identity_db, payments_db, plugins_db, catalog_db, orders_db, notify_db],
            embedded,
        })
    }

    /// Runs until `signal` or until a part stops, then shuts everything
    /// down: listeners drain, leader roles are released, the embedded
    /// database is stopped.
    pub async fn run_until(mut self, signal: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        let failure = tokio::select! {
            biased;
            () = self.restart.cancelled() => {
                tracing::warn!("restart requested (RestartServer): stopping so the supervisor starts a fresh process");
                None
            }
            () = signal => None,
            Some(joined) = self.tasks.join_next() => Some(match joined {
                Ok((part, Ok(()))) => anyhow::anyhow!("{part} stopped unexpectedly"),
                Ok((part, Err(error))) => error.context(format!("{part} failed")),
                Err(error) => anyhow::anyhow!("a task panicked: {error}"),
            }),
        };
        self.stop().await;
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    async fn stop(mut self) {
        tracing::info!("shutting down");
        self.shutdown.cancel();
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(std::time::Duration::from_secs(20), drain).await.is_err() {
            tracing::warn!("some parts did not stop within 20 s; aborting them");
            self.tasks.abort_all();
        }
        // Each service left cleanly (roles released, instance removed) when
        // its serve returned; only the pools remain.
        for database in &self.databases {
            database.pool.close().await;
        }
        if let Some(cluster) = &self.embedded
            && let Err(error) = cluster.stop().await
        {
            tracing::error!(error = format!("{error:#}"), "failed to stop the embedded PostgreSQL");
        }
        tracing::info!("stopped");
    }
}
