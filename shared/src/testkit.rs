//! A real PostgreSQL database for each test.
//!
//! Where the server comes from, first that works:
//! 0. `CITUS_URL`: a Citus coordinator (its database has the `citus`
//!    extension and the workers registered). Each test database is created
//!    on the coordinator and on every worker, with the extension, the
//!    coordinator's host and the workers registered in it, so the whole
//!    suite runs on Citus (`CITUS_URL=postgres://… make test`); the system
//!    tests' server then applies `deploy/citus/distribute.sql`;
//! 1. `DATABASE_URL` (a server the caller runs; `make test` starts one);
//! 2. testcontainers, when a Docker engine answers;
//! 3. a throwaway cluster from the system's PostgreSQL binaries, one per
//!    test process, stopped by a watchdog when the process exits.
//!
//! Each [`TestDb`] is a fresh database on that server, dropped when the
//! value is dropped.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, PgPool};
use tokio::sync::OnceCell;

use crate::pgcluster::PgCluster;

/// The server all test databases of this process live on.
struct Server {
    /// URL of a maintenance database on the server (to create and drop).
    admin_url: String,
    /// The cluster's nodes when the server is a Citus coordinator.
    citus: Option<CitusNodes>,
}

/// Where a Citus cluster's nodes listen, as the coordinator knows them.
#[derive(Debug, Clone)]
struct CitusNodes {
    coordinator: (String, u16),
    workers: Vec<(String, u16)>,
}

/// Whether the test databases live on a Citus cluster (`CITUS_URL`).
pub fn citus_mode() -> bool {
    std::env::var("CITUS_URL").is_ok_and(|url| !url.is_empty())
}

async fn citus_nodes(url: &str) -> anyhow::Result<CitusNodes> {
    let mut connection = sqlx::PgConnection::connect(url).await.context("connect to the Citus coordinator")?;
    let nodes: Vec<(String, i32, i32)> = sqlx::query_as(
        "select nodename, nodeport, groupid from pg_dist_node where noderole = 'primary' and isactive order by groupid",
    )
    .fetch_all(&mut connection)
    .await
    .context("CITUS_URL is not a Citus coordinator (no pg_dist_node)")?;
    connection.close().await.ok();
    let options: PgConnectOptions = url.parse()?;
    let coordinator = nodes
        .iter()
        .find(|(_, _, group)| *group == 0)
        .map(|(host, port, _)| (host.clone(), u16::try_from(*port).unwrap_or(5432)))
        .unwrap_or_else(|| (options.get_host().to_string(), options.get_port()));
    let workers = nodes
        .into_iter()
        .filter(|(_, _, group)| *group > 0)
        .map(|(host, port, _)| (host, u16::try_from(port).unwrap_or(5432)))
        .collect();
    Ok(CitusNodes { coordinator, workers })
}

/// `url` pointed at another host, port and database (same credentials).
fn node_url(url: &str, host: &str, port: u16, database: &str) -> anyhow::Result<String> {
    let options: PgConnectOptions = url.parse()?;
    Ok(options.host(host).port(port).database(database).to_url_lossy().to_string())
}

async fn execute_on(url: &str, statements: &[String]) -> anyhow::Result<()> {
    let mut connection = sqlx::PgConnection::connect(url).await.with_context(|| format!("connect to {url}"))?;
    for statement in statements {
        connection.execute(AssertSqlSafe(statement.clone())).await.with_context(|| statement.clone())?;
    }
    connection.close().await.ok();
    Ok(())
}

/// Creates `name` on every worker and the coordinator, with the extension
/// and the cluster's nodes registered in it.
async fn create_citus_database(admin_url: &str, nodes: &CitusNodes, name: &str) -> anyhow::Result<()> {
    let admin_database = admin_url.parse::<PgConnectOptions>()?.get_database().unwrap_or("postgres").to_string();
    for (host, port) in &nodes.workers {
        execute_on(&node_url(admin_url, host, *port, &admin_database)?, &[format!("create database {name}")]).await?;
        execute_on(&node_url(admin_url, host, *port, name)?, &["create extension if not exists citus".to_string()])
            .await?;
    }
    execute_on(admin_url, &[format!("create database {name}")]).await?;
    let (host, port) = &nodes.coordinator;
    let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
    let mut statements = vec![
        "create extension if not exists citus".to_string(),
        // Row triggers that only touch their own row (updated_at) are safe.
        format!("alter database {name} set citus.enable_unsafe_triggers = on"),
        format!("select citus_set_coordinator_host({}, {port})", quote(host)),
    ];
    for (worker, worker_port) in &nodes.workers {
        statements.push(format!("select citus_add_node({}, {worker_port})", quote(worker)));
    }
    if nodes.workers.is_empty() {
        // A single-node cluster: the coordinator holds the shards.
        statements.push(format!("select citus_set_node_property({}, {port}, 'shouldhaveshards', true)", quote(host)));
    }
    let url = admin_url.parse::<PgConnectOptions>()?.database(name).to_url_lossy().to_string();
    execute_on(&url, &statements).await
}

static SERVER: OnceCell<Server> = OnceCell::const_new();
// Keeps the fallback cluster's directory (and the container) alive for the
// whole process.
static KEEP_ALIVE: OnceLock<Box<dyn std::any::Any + Send + Sync>> = OnceLock::new();

async fn server() -> anyhow::Result<&'static Server> {
    SERVER.get_or_try_init(start_server).await
}

async fn start_server() -> anyhow::Result<Server> {
    if citus_mode() {
        let url = std::env::var("CITUS_URL")?;
        let nodes = citus_nodes(&url).await?;
        return Ok(Server { admin_url: url, citus: Some(nodes) });
    }
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.is_empty()
    {
        return Ok(Server { admin_url: url, citus: None });
    }
    if docker_answers().await {
        match start_container().await {
            Ok(server) => return Ok(server),
            Err(error) => {
                eprintln!("testkit: Docker answered but the container failed ({error:#}); using system PostgreSQL")
            }
        }
    }
    start_cluster().await
}

async fn docker_answers() -> bool {
    let probe = tokio::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    matches!(tokio::time::timeout(Duration::from_secs(5), probe).await, Ok(Ok(status)) if status.success())
}

async fn start_container() -> anyhow::Result<Server> {
    use testcontainers::core::{IntoContainerPort, WaitFor};
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{GenericImage, ImageExt};

    let container = GenericImage::new("postgres", "16-alpine")
        .with_exposed_port(5432.tcp())
        .with_wait_for(WaitFor::message_on_stderr("database system is ready to accept connections"))
        .with_env_var("POSTGRES_PASSWORD", "postgres")
        .with_env_var("POSTGRES_HOST_AUTH_METHOD", "trust")
        .start()
        .await
        .context("failed to start the postgres container")?;
    let host = container.get_host().await?;
    let port = container.get_host_port_ipv4(5432).await?;
    let admin_url = format!("postgres://postgres:postgres@{host}:{port}/postgres");
    // Wait for the server to accept connections after its init restart.
    wait_until_ready(&admin_url).await?;
    KEEP_ALIVE.set(Box::new(container)).ok();
    Ok(Server { admin_url, citus: None })
}

async fn start_cluster() -> anyhow::Result<Server> {
    let directory = tempfile::Builder::new().prefix("rustbill-test-pg").tempdir()?;
    let cluster = PgCluster::new(directory.path().join("pg"))?.unsafe_fast();
    cluster.start().await?;
    // The cluster must not outlive this test process: a watchdog stops it
    // once the process is gone, however the process ends.
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        stop = cluster.stop_command(),
        dir = directory.path().display()
    );
    std::process::Command::new("sh")
        .arg("-c")
        .arg(watchdog)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("failed to start the cluster watchdog")?;
    let admin_url = cluster.url("postgres");
    KEEP_ALIVE.set(Box::new(directory.keep())).ok();
    Ok(Server { admin_url, citus: None })
}

async fn wait_until_ready(url: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match sqlx::PgConnection::connect(url).await {
            Ok(connection) => {
                connection.close().await.ok();
                return Ok(());
            }
            Err(error) if tokio::time::Instant::now() > deadline => {
                return Err(error).context("PostgreSQL did not become ready");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A fresh database, dropped (with its connections) when this is dropped.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
    admin_url: String,
    /// Worker admin URLs to drop the database from (Citus).
    workers: Vec<String>,
}

impl TestDb {
    /// Creates a new empty database.
    pub async fn new() -> anyhow::Result<Self> {
        let server = server().await?;
        let name = format!("rustbill_test_{}", uuid::Uuid::now_v7().simple());
        let admin_options: PgConnectOptions = server.admin_url.parse()?;
        let mut workers = Vec::new();
        if let Some(nodes) = &server.citus {
            let admin_database = admin_options.get_database().unwrap_or("postgres").to_string();
            for (host, port) in &nodes.workers {
                workers.push(node_url(&server.admin_url, host, *port, &admin_database)?);
            }
            create_citus_database(&server.admin_url, nodes, &name).await?;
        } else {
            let mut admin = sqlx::PgConnection::connect(&server.admin_url).await.context("connect to test server")?;
            admin.execute(AssertSqlSafe(format!("create database {name}"))).await?;
            admin.close().await.ok();
        }
        let url = admin_options.database(&name).to_url_lossy().to_string();
        Ok(Self { name, url, admin_url: server.admin_url.clone(), workers })
    }

    /// URL of this database (give it to the binaries under test).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A small pool on this database.
    pub async fn pool(&self) -> anyhow::Result<PgPool> {
        Ok(PgPoolOptions::new().max_connections(10).connect(&self.url).await?)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // The coordinator first, then the workers (Citus).
        let servers: Vec<String> =
            std::iter::once(self.admin_url.clone()).chain(self.workers.iter().cloned()).collect();
        // Drop runs inside or outside a runtime; a thread with its own
        // runtime works in both.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async move {
                    for admin_url in servers {
                        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                            admin
                                .execute(AssertSqlSafe(format!("drop database if exists {name} with (force)")))
                                .await
                                .ok();
                            admin.close().await.ok();
                        }
                    }
                });
            }
        });
        dropper.join().ok();
    }
}

/// Polls `check` until it returns `Some`, or fails after `timeout`: the way
/// tests wait for asynchronous effects, never by sleeping and hoping.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
