//! Harness of the whole-system tests.
//!
//! [`TestServer`] starts the real `rustbill-server` binary on a fresh
//! PostgreSQL database (from the shared test kit) with the edge on a free
//! port, and stops it when dropped. Tests then talk to the edge only: with
//! tonic's gRPC clients ([`TestServer::channel`]) and with a gRPC-Web client
//! over HTTP/1.1 ([`GrpcWeb`]) that frames requests exactly as browsers do.

pub mod flows;
pub mod grpc_web;
pub mod otlp;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use rustbill_shared::testkit::TestDb;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::Channel;

pub use grpc_web::{GrpcWeb, WebError};

/// The bootstrap admin of every test server.
pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "bootstrap-Admin-pass-1";
/// The JWT secret of every test server.
pub const JWT_SECRET: &str = "system-test-jwt-secret-0123456789abcdef";

/// Path of a workspace binary built by `cargo build`, next to the running
/// executable's profile (`target/<profile>/`): test executables live in
/// its `deps/`, other binaries (the benches) in it.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("no target directory")?;
    let profile_dir = if dir.ends_with("deps") { dir.parent().context("no target directory")? } else { dir };
    let path = profile_dir.join(name);
    if !path.exists() {
        bail!("{} not found: build it first (`cargo build -p {name}` or `make test`)", path.display());
    }
    Ok(path)
}

/// A running `rustbill-server` on its own database.
pub struct TestServer {
    pub database: std::sync::Arc<TestDb>,
    pub edge: String,
    child: Child,
    pub stderr_log: PathBuf,
    settings: Settings,
    _workdir: tempfile::TempDir,
}

/// Extra settings for a test server, as `RUSTBILL_…` variables.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub env: Vec<(String, String)>,
}

impl Settings {
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
}

impl TestServer {
    /// A server with rate limits off (tests log in a lot).
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(Settings::default().with("RUSTBILL_RATE_LIMIT__ENABLED", "false")).await
    }

    pub async fn start_with(settings: Settings) -> anyhow::Result<Self> {
        let database = TestDb::new().await?;
        let workdir = tempfile::tempdir()?;
        let stderr_log = workdir.path().join("server.log");
        std::fs::File::create(&stderr_log)?;
        let (child, edge) = spawn(database.url(), &settings, workdir.path(), &stderr_log).await?;
        if rustbill_shared::testkit::citus_mode() {
            distribute(&database).await?;
        }
        Ok(Self { database: std::sync::Arc::new(database), edge, child, stderr_log, settings, _workdir: workdir })
    }

    /// Another instance of the server on the same database and settings
    /// (its own process, edge and log): N instances behind a balancer.
    pub async fn another_instance(&self) -> anyhow::Result<Self> {
        let workdir = tempfile::tempdir()?;
        let stderr_log = workdir.path().join("server.log");
        std::fs::File::create(&stderr_log)?;
        let (child, edge) = spawn(self.database.url(), &self.settings, workdir.path(), &stderr_log).await?;
        Ok(Self {
            database: self.database.clone(),
            edge,
            child,
            stderr_log,
            settings: self.settings.clone(),
            _workdir: workdir,
        })
    }

    /// Kills the server with SIGKILL (no shutdown: a crash) and starts a
    /// new one on the same database and settings; `edge` changes.
    pub async fn crash_and_restart(&mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        let (child, edge) = spawn(self.database.url(), &self.settings, self._workdir.path(), &self.stderr_log).await?;
        self.child = child;
        self.edge = edge;
        Ok(())
    }

    /// Stops the server with SIGTERM (a clean shutdown) and starts a new one
    /// on the same database and settings, as a rolling restart does; `edge`
    /// changes.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        let status = self.stop().await?;
        anyhow::ensure!(status.success(), "the server exited with {status} on SIGTERM");
        let (child, edge) = spawn(self.database.url(), &self.settings, self._workdir.path(), &self.stderr_log).await?;
        self.child = child;
        self.edge = edge;
        Ok(())
    }

    /// Kills the server with SIGKILL (a crash, no shutdown) and waits for it.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    /// Freezes the process (SIGSTOP): it holds its connections and claims
    /// but does nothing, like a machine that hangs.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("-STOP")
    }

    /// Lets a paused process go on (SIGCONT).
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self.child.id().context("the server has exited")?;
        let status = std::process::Command::new("kill").arg(signal).arg(pid.to_string()).status()?;
        anyhow::ensure!(status.success(), "kill {signal} {pid} failed");
        Ok(())
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// A gRPC (HTTP/2) channel to the edge.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.edge.clone()).expect("edge url").connect().await.expect("connect to the edge")
    }

    /// A gRPC-Web client (HTTP/1.1) to the edge.
    pub fn web(&self) -> GrpcWeb {
        GrpcWeb::new(&self.edge)
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// A connection to the server's database, for assertions about what
    /// was (not) written.
    pub async fn pool(&self) -> sqlx::PgPool {
        self.database.pool().await.expect("test database pool")
    }

    /// Waits for the server to exit on its own (RestartServer).
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<std::process::ExitStatus> {
        Ok(tokio::time::timeout(timeout, self.child.wait()).await??)
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    pub async fn stop(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        if let Some(pid) = self.child.id() {
            std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status()?;
        }
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??;
        Ok(status)
    }
}

/// On a Citus cluster (`CITUS_URL`): applies `deploy/citus/distribute.sql`
/// once the services have created their tables, as an operator does after
/// the first start, and checks Citus took every table it names.
async fn distribute(database: &TestDb) -> anyhow::Result<()> {
    const SCRIPT: &str = include_str!("../../deploy/citus/distribute.sql");
    let pool = database.pool().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(SCRIPT)).execute(&pool).await.context("deploy/citus/distribute.sql failed")?;
    let named = SCRIPT
        .lines()
        .filter(|line| {
            line.starts_with("select create_distributed_table(") || line.starts_with("select create_reference_table(")
        })
        .count();
    let taken: i64 = sqlx::query_scalar("select count(*) from citus_tables").fetch_one(&pool).await?;
    anyhow::ensure!(taken as usize == named, "citus_tables lists {taken} tables, distribute.sql names {named}");
    pool.close().await;
    Ok(())
}

/// The Node.js the browser tests run: ensure-deps.sh's newer one (under
/// the target directory) when the system's is too old to build the web apps.
pub fn node() -> PathBuf {
    let tools = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("tools/node/node_modules/node/bin/node");
    if tools.is_file() { tools } else { PathBuf::from("node") }
}

/// Adds a header to every call of a tonic client.
pub fn with_header<T>(mut request: tonic::Request<T>, key: &'static str, value: &str) -> tonic::Request<T> {
    request.metadata_mut().insert(key, value.parse().expect("ascii header value"));
    request
}

/// Adds `authorization: Bearer <token>`.
pub fn bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    with_header(tonic::Request::new(message), "authorization", &format!("Bearer {token}"))
}

/// Adds the admin session cookie.
pub fn session<T>(message: T, cookie: &str) -> tonic::Request<T> {
    with_header(tonic::Request::new(message), "cookie", cookie)
}

/// The `name=value` part of a `set-cookie` header.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().trim().to_string()
}

/// Starts `rustbill-server` on `database_url`; its output is appended to
/// `log`. Returns the child and the edge's URL once it is ready.
async fn spawn(
    database_url: &str,
    settings: &Settings,
    workdir: &std::path::Path,
    log: &std::path::Path,
) -> anyhow::Result<(Child, String)> {
    let mut command = Command::new(binary("rustbill-server")?);
    command
        .current_dir(workdir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", std::env::var("RUSTBILL_TEST_LOG").unwrap_or_else(|_| "info".into()))
        .env("CONFIG_FILE", workdir.join("absent.toml"))
        .env("LOCAL_CONFIG_FILE", workdir.join("absent.local.toml"))
        .env("RUSTBILL_DB__URL", database_url)
        .env("RUSTBILL_DB__MIN_CONNECTIONS", "0")
        .env("RUSTBILL_DB__MAX_CONNECTIONS", "8")
        .env("RUSTBILL_JWT__SECRET", JWT_SECRET)
        .env("RUSTBILL_BOOTSTRAP__ADMIN_USERNAME", ADMIN_USERNAME)
        .env("RUSTBILL_BOOTSTRAP__ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUSTBILL_SERVER__PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::OpenOptions::new().append(true).open(log)?)
        .kill_on_drop(true);
    for (key, value) in &settings.env {
        command.env(key, value);
    }
    let mut child = command.spawn().context("failed to start rustbill-server")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready_log = log.to_path_buf();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).open(&ready_log)?;
        while let Some(line) = lines.next_line().await? {
            writeln!(file, "{line}")?;
            if let Some(rest) = line.strip_prefix("rustbill-server ready: edge=") {
                let edge = rest.split_whitespace().next().unwrap_or_default().to_string();
                return Ok::<_, anyhow::Error>(Some(edge));
            }
        }
        Ok(None)
    })
    .await;
    let edge = match ready {
        Ok(Ok(Some(edge))) => edge,
        other => {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            child.kill().await.ok();
            bail!("rustbill-server did not become ready ({other:?}); its log:\n{text}");
        }
    };
    // Keep draining stdout (the server's log) into the log file, so the
    // server never blocks on a full pipe and failures can show it.
    let log_path = log.to_path_buf();
    tokio::spawn(async move {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().append(true).open(&log_path).ok();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(file) = file.as_mut() {
                writeln!(file, "{line}").ok();
            }
        }
    });
    Ok((child, edge))
}
