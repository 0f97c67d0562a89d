//! A real PostgreSQL database for each test.
//!
//! Where the server comes from, first that works:
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
}

static SERVER: OnceCell<Server> = OnceCell::const_new();
// Keeps the fallback cluster's directory (and the container) alive for the
// whole process.
static KEEP_ALIVE: OnceLock<Box<dyn std::any::Any + Send + Sync>> = OnceLock::new();

async fn server() -> anyhow::Result<&'static Server> {
    SERVER.get_or_try_init(start_server).await
}

async fn start_server() -> anyhow::Result<Server> {
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.is_empty()
    {
        return Ok(Server { admin_url: url });
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
    Ok(Server { admin_url })
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
    Ok(Server { admin_url })
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
}

impl TestDb {
    /// Creates a new empty database.
    pub async fn new() -> anyhow::Result<Self> {
        let server = server().await?;
        let name = format!("rustbill_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&server.admin_url).await.context("connect to test server")?;
        admin.execute(AssertSqlSafe(format!("create database {name}"))).await?;
        admin.close().await.ok();
        let admin_options: PgConnectOptions = server.admin_url.parse()?;
        let url = admin_options.database(&name).to_url_lossy().to_string();
        Ok(Self { name, url, admin_url: server.admin_url.clone() })
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
        let admin_url = self.admin_url.clone();
        // Drop runs inside or outside a runtime; a thread with its own
        // runtime works in both.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async move {
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                        admin.execute(AssertSqlSafe(format!("drop database if exists {name} with (force)"))).await.ok();
                        admin.close().await.ok();
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
