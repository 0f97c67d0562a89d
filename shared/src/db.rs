//! PostgreSQL pools, per-service schemas and roles, migrations.
//!
//! Each service owns one schema named after it, with its own migrations
//! table inside that schema (`<schema>._sqlx_migrations`) and, when the
//! database allows creating roles, its own role `rustbill_<schema>` that can
//! use only its schema and the shared `bus` schema. Migrations run while the
//! process holds the leader role `migration:<schema>`; other instances of the
//! same service wait until the schema is current.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, PgPool};

use crate::config::DbConfig;
use crate::leader::{InstanceIdentity, LeaderElection};

/// Migrations of the shared `bus` schema: event queue, deliveries, leader
/// roles, heartbeats.
pub static BUS_MIGRATOR: Migrator = sqlx::migrate!("./migrations/bus");

/// How long a follower waits for another instance to migrate.
const FOLLOWER_WAIT: Duration = Duration::from_secs(60);

static ROLE_WARNING: AtomicBool = AtomicBool::new(false);

/// Pool options honouring every `[db]` key.
pub fn pool_options(config: &DbConfig) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(config.min_connections.min(config.max_connections))
        .idle_timeout(Duration::from_secs(config.idle_timeout_secs))
        .max_lifetime(Duration::from_secs(config.max_lifetime_secs))
        .acquire_timeout(Duration::from_secs(config.acquire_timeout_secs))
        .test_before_acquire(config.test_before_acquire)
}

fn valid_schema_name(schema: &str) -> bool {
    !schema.is_empty() && schema.len() <= 40 && schema.bytes().all(|byte| byte.is_ascii_lowercase() || byte == b'_')
}

/// The database role of a service schema.
pub fn role_name(schema: &str) -> String {
    format!("rustbill_{schema}")
}

/// A connected service: its pool (search path = its schema, then `bus`),
/// its instance identity and its leader election.
#[derive(Debug, Clone)]
pub struct ServiceDb {
    pub pool: PgPool,
    pub instance: InstanceIdentity,
    pub leader: LeaderElection,
    pub schema: String,
}

impl ServiceDb {
    /// Heartbeats this instance until the guard is stopped or dropped.
    /// Also reports the pool and the outbox depth of the service's
    /// consumers as metrics when they are exported.
    pub fn start_heartbeat(&self) -> crate::leader::Heartbeat {
        crate::metrics::observe_pool(&self.schema, self.pool.clone());
        let outbox =
            crate::metrics::exporting().then(|| (crate::metrics::OutboxDepth::register(), self.schema.clone()));
        self.instance.spawn_heartbeat_reporting(self.pool.clone(), outbox)
    }

    /// Clean shutdown: stops the heartbeat, releases every leader role and
    /// removes the instance row, so other instances take over at once.
    pub async fn leave(&self, heartbeat: crate::leader::Heartbeat) {
        heartbeat.stop().await;
        if let Err(error) = self.leader.release_all().await {
            tracing::warn!(schema = %self.schema, %error, "failed to release leader roles");
        }
        if let Err(error) = self.instance.deregister(&self.pool).await {
            tracing::warn!(schema = %self.schema, %error, "failed to deregister the instance");
        }
    }
}

/// Connects a service to its schema, creating schema and role and running
/// its migrations first.
pub async fn open_service(
    config: &DbConfig,
    url: &str,
    schema: &str,
    migrator: &'static Migrator,
) -> anyhow::Result<ServiceDb> {
    anyhow::ensure!(valid_schema_name(schema), "bad schema name {schema:?}");
    let connect: PgConnectOptions = url.parse().context("failed to parse [db].url")?;
    // "already exists, skipping" notices of idempotent DDL are noise.
    let connect = connect.options([("client_min_messages", "warning")]);

    // Owner connections: create schemas, roles and run migrations.
    let owner = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(config.acquire_timeout_secs.max(5)))
        .connect_with(connect.clone())
        .await
        .context("failed to connect to PostgreSQL")?;
    let use_role = config.per_service_roles && prepare_role(&owner, schema).await?;
    prepare_schema(&owner, "bus", use_role.then(|| role_name(schema)).as_deref(), true).await?;
    run_migrator(&connect, "bus", &BUS_MIGRATOR).await.context("failed to migrate schema bus")?;
    prepare_schema(&owner, schema, use_role.then(|| role_name(schema)).as_deref(), false).await?;
    if use_role {
        grant_bus(&owner, &role_name(schema)).await?;
    }

    let instance = InstanceIdentity::register_as(&owner, schema).await.context("failed to register instance")?;
    let leader = LeaderElection::new(owner.clone(), instance);
    migrate_as_leader(&instance, &owner, &leader, &connect, schema, migrator).await?;
    if use_role {
        // Tables created by migrations belong to the owner; hand them over.
        grant_schema_objects(&owner, schema, &role_name(schema)).await?;
    }

    let schema_owned = schema.to_string();
    let role = use_role.then(|| role_name(schema));
    let pool = pool_options(config)
        .after_connect(move |connection, _meta| {
            let schema = schema_owned.clone();
            let role = role.clone();
            Box::pin(async move {
                if let Some(role) = role {
                    connection.execute(AssertSqlSafe(format!("set role {role}"))).await?;
                }
                connection.execute(AssertSqlSafe(format!("set search_path to {schema}, bus"))).await?;
                Ok(())
            })
        })
        .connect_with(connect)
        .await
        .with_context(|| format!("failed to open the pool of schema {schema}"))?;
    let leader = LeaderElection::new(pool.clone(), instance);
    owner.close().await;
    Ok(ServiceDb { pool, instance, leader, schema: schema.to_string() })
}

/// Creates the role of a service when allowed; false when the database
/// refuses (no CREATEROLE), after one warning.
async fn prepare_role(owner: &PgPool, schema: &str) -> anyhow::Result<bool> {
    let role = role_name(schema);
    let statement = format!(
        "do $$ begin
           if not exists (select 1 from pg_roles where rolname = '{role}') then
             create role {role} nologin;
           end if;
           execute format('grant {role} to %I', current_user);
         end $$"
    );
    // Roles are cluster-wide while advisory locks are per database, so two
    // databases of one cluster may race to create the same role: a
    // duplicate means another one won, and the role is there; try again.
    for attempt in 0..3 {
        let mut transaction = owner.begin().await?;
        sqlx::query("select pg_advisory_xact_lock(hashtext('rustbill:roles'))").execute(&mut *transaction).await?;
        match transaction.execute(AssertSqlSafe(statement.clone())).await {
            Ok(_) => {
                transaction.commit().await?;
                return Ok(true);
            }
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("42501") => {
                if !ROLE_WARNING.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "database refuses CREATE ROLE; services share the connecting role \
                         (set [db].per_service_roles = false to silence this)"
                    );
                }
                return Ok(false);
            }
            Err(sqlx::Error::Database(error))
                if attempt < 2 && matches!(error.code().as_deref(), Some("23505") | Some("42710")) =>
            {
                transaction.rollback().await.ok();
            }
            Err(error) => return Err(error).context("failed to create the service role"),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

async fn prepare_schema(owner: &PgPool, schema: &str, role: Option<&str>, shared: bool) -> anyhow::Result<()> {
    let mut transaction = owner.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtext('rustbill:schemas'))").execute(&mut *transaction).await?;
    transaction.execute(AssertSqlSafe(format!("create schema if not exists {schema}"))).await?;
    if let Some(role) = role {
        let grant = if shared { "usage" } else { "usage, create" };
        transaction.execute(AssertSqlSafe(format!("grant {grant} on schema {schema} to {role}"))).await?;
    }
    transaction.commit().await?;
    Ok(())
}

async fn grant_bus(owner: &PgPool, role: &str) -> anyhow::Result<()> {
    let mut transaction = owner.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtext('rustbill:schemas'))").execute(&mut *transaction).await?;
    for statement in [
        format!("grant select, insert, update, delete on all tables in schema bus to {role}"),
        format!("grant usage, select on all sequences in schema bus to {role}"),
    ] {
        transaction.execute(AssertSqlSafe(statement)).await?;
    }
    transaction.commit().await?;
    Ok(())
}

async fn grant_schema_objects(owner: &PgPool, schema: &str, role: &str) -> anyhow::Result<()> {
    let mut transaction = owner.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtext('rustbill:schemas'))").execute(&mut *transaction).await?;
    for statement in [
        format!("grant select, insert, update, delete on all tables in schema {schema} to {role}"),
        format!("grant usage, select on all sequences in schema {schema} to {role}"),
        format!("revoke all on schema {schema} from public"),
    ] {
        transaction.execute(AssertSqlSafe(statement)).await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Runs `migrator` with `schema` first on the search path, so its
/// `_sqlx_migrations` table lives in that schema.
async fn run_migrator(connect: &PgConnectOptions, schema: &str, migrator: &Migrator) -> anyhow::Result<()> {
    let mut connection = sqlx::PgConnection::connect_with(connect).await?;
    connection.execute(AssertSqlSafe(format!("set search_path to {schema}, bus"))).await?;
    let result = migrator.run(&mut connection).await;
    connection.close().await.ok();
    result.with_context(|| format!("migrations of schema {schema} failed"))
}

/// Whether every migration of `migrator` is applied in `schema`.
async fn is_current(connect: &PgConnectOptions, schema: &str, migrator: &Migrator) -> anyhow::Result<bool> {
    let mut connection = sqlx::PgConnection::connect_with(connect).await?;
    let exists: bool = sqlx::query_scalar(
        "select exists (select 1 from information_schema.tables
                        where table_schema = $1 and table_name = '_sqlx_migrations')",
    )
    .bind(schema)
    .fetch_one(&mut connection)
    .await?;
    if !exists {
        return Ok(false);
    }
    let applied: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
        "select version from {schema}._sqlx_migrations where success order by version"
    )))
    .fetch_all(&mut connection)
    .await?;
    connection.close().await.ok();
    Ok(migrator.iter().all(|migration| applied.contains(&migration.version)))
}

/// Migrates `schema` while holding `migration:<schema>`; if another
/// instance holds it, waits (up to 60 s) until the schema is current.
async fn migrate_as_leader(
    instance: &InstanceIdentity,
    pool: &PgPool,
    leader: &LeaderElection,
    connect: &PgConnectOptions,
    schema: &str,
    migrator: &'static Migrator,
) -> anyhow::Result<()> {
    let role = format!("migration:{schema}");
    let deadline = tokio::time::Instant::now() + FOLLOWER_WAIT;
    loop {
        // Only live instances may lead: keep this one's heartbeat fresh
        // while it waits, so it can take over from a leader that crashed.
        instance.beat(pool).await?;
        if leader.try_acquire(&role).await? {
            tracing::info!(schema, "running migrations as leader");
            let result = run_migrator(connect, schema, migrator).await;
            leader.release(&role).await?;
            result?;
            tracing::info!(schema, "migrations applied");
            return Ok(());
        }
        if is_current(connect, schema, migrator).await? {
            tracing::info!(schema, "migrations already applied by another instance");
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out after {}s waiting for another instance to migrate schema {schema}",
            FOLLOWER_WAIT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `work` in a transaction: commits on `Ok`, rolls back on `Err`.
pub async fn in_transaction<T, E, F>(pool: &PgPool, work: F) -> Result<T, E>
where
    E: From<sqlx::Error>,
    F: for<'t> FnOnce(
        &'t mut sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> futures::future::BoxFuture<'t, Result<T, E>>,
{
    let mut transaction = pool.begin().await?;
    match work(&mut transaction).await {
        Ok(value) => {
            transaction.commit().await?;
            Ok(value)
        }
        Err(error) => {
            transaction.rollback().await.ok();
            Err(error)
        }
    }
}
