//! What every command shares: the configuration (loaded as the servers load
//! it), one small database pool, the output format, and the two kinds of
//! failure (bad input → exit 2, anything else → exit 1).

use std::time::Duration;

use anyhow::Context as _;
use rustbill_shared::Config;
use rustbill_shared::error::AppError;
use rustbill_shared::pgcluster::PgCluster;
use rustbill_shared::principal::{Caller, Principal};
use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool, Postgres, Transaction};

use crate::output::Format;

/// The database `make run`'s embedded PostgreSQL serves.
const EMBEDDED_DATABASE: &str = "rustbill";

/// Why a command did not succeed.
#[derive(Debug)]
pub enum CliError {
    /// The input was wrong (unknown user, bad amount, …); nothing changed.
    Input(String),
    /// The operation failed.
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        Self::Failed(error)
    }
}

impl From<sqlx::Error> for CliError {
    fn from(error: sqlx::Error) -> Self {
        // A table that does not exist yet: the schema was never migrated.
        if let sqlx::Error::Database(database) = &error {
            if database.code().as_deref() == Some("42P01") {
                return Self::Input(format!(
                    "{}: the database is not migrated yet (run `rustbill-cli db migrate`)",
                    database.message()
                ));
            }
        }
        Self::Failed(error.into())
    }
}

impl From<AppError> for CliError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Internal(error) => Self::Failed(error),
            other => Self::Input(other.to_string()),
        }
    }
}

/// Bad input.
pub fn input(message: impl Into<String>) -> CliError {
    CliError::Input(message.into())
}

pub type CliResult<T = ()> = Result<T, CliError>;

pub struct Context {
    pub config: Config,
    pub pool: PgPool,
    pub url: String,
    pub format: Format,
}

impl Context {
    /// Loads the configuration and connects: `[db].url` / `DATABASE_URL`,
    /// else the embedded PostgreSQL of `make run` when it is running.
    pub async fn connect(format: Format) -> CliResult<Self> {
        let config = Config::load().map_err(|error| input(format!("configuration: {error}")))?;
        let url = match config.db.url.as_ref() {
            Some(url) => url.expose_secret().to_string(),
            None => {
                let cluster = PgCluster::new(&config.db.embedded_dir).context("locating PostgreSQL")?;
                if !cluster.is_running().await {
                    return Err(input(format!(
                        "no database: set [db].url or DATABASE_URL, or start `make run` (embedded PostgreSQL under {})",
                        config.db.embedded_dir.display()
                    )));
                }
                cluster.url(EMBEDDED_DATABASE)
            }
        };
        let connect: PgConnectOptions = url.parse().map_err(|error| input(format!("[db].url: {error}")))?;
        let connect = connect.options([("client_min_messages", "warning")]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(config.db.acquire_timeout_secs.max(5)))
            .connect_with(connect)
            .await
            .context("cannot connect to PostgreSQL")?;
        Ok(Self { config, pool, url, format })
    }

    /// A transaction whose unqualified names resolve in `schema` (then the
    /// shared `bus`), as inside the owning service.
    pub async fn begin_in(&self, schema: &str) -> CliResult<Transaction<'static, Postgres>> {
        let mut transaction = self.pool.begin().await?;
        transaction.execute(AssertSqlSafe(format!("set local search_path to {schema}, bus"))).await?;
        Ok(transaction)
    }

    /// Who acts, for operation logs and events: the CLI itself.
    pub fn caller(&self) -> Caller {
        let user = std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_default();
        let name = if user.is_empty() { "rustbill-cli".to_string() } else { format!("rustbill-cli ({user})") };
        Caller::new(Principal::Service { name }, uuid::Uuid::now_v7().to_string(), "")
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
