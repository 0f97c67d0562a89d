//! `db::open_service` against a real PostgreSQL: concurrent instances of a
//! service migrate its schema once, a follower takes over from a leader
//! that crashed mid-migration, and the pool honours every `[db]` option.
//!
//! Run with `cargo test -p rustbill-shared --features testkit --test integration db::`.
//! The demo schema's migrations live in `tests/fixtures/demo_migrations`;
//! the second one sleeps a second so that concurrent openers overlap.

use std::time::Duration;

use rustbill_shared::bus;
use rustbill_shared::config::DbConfig;
use rustbill_shared::db::{self, ServiceDb};
use rustbill_shared::testkit::{TestDb, wait_for};
use sqlx::migrate::Migrator;
use sqlx::{AssertSqlSafe, Connection, Executor, PgPool};
use uuid::Uuid;

static DEMO: Migrator = sqlx::migrate!("./tests/fixtures/demo_migrations");

const DEADLINE: Duration = Duration::from_secs(30);

fn small_pool() -> DbConfig {
    DbConfig { max_connections: 4, min_connections: 0, ..DbConfig::default() }
}

/// Versions recorded in `<schema>._sqlx_migrations`, all successful.
async fn applied_versions(pool: &PgPool, schema: &str) -> Vec<i64> {
    let rows: Vec<(i64, bool)> = sqlx::query_as(AssertSqlSafe(format!(
        "select version, success from {schema}._sqlx_migrations order by version"
    )))
    .fetch_all(pool)
    .await
    .unwrap_or_else(|error| panic!("read {schema}._sqlx_migrations: {error}"));
    assert!(rows.iter().all(|(_, success)| *success), "a migration of {schema} is marked failed: {rows:?}");
    rows.into_iter().map(|(version, _)| version).collect()
}

async fn exists(pool: &PgPool, relation: &str) -> bool {
    sqlx::query_scalar("select to_regclass($1) is not null").bind(relation).fetch_one(pool).await.unwrap()
}

/// `Some(holder)` of a leader role row, `None` when there is no row.
async fn role_row(pool: &PgPool, role: &str) -> Option<Option<Uuid>> {
    sqlx::query_scalar("select holder from bus.leader_role where role = $1")
        .bind(role)
        .fetch_optional(pool)
        .await
        .unwrap()
}

async fn close(services: Vec<ServiceDb>) {
    for service in services {
        service.pool.close().await;
    }
}

#[tokio::test]
async fn concurrent_openers_all_succeed_and_the_schema_is_migrated_once() {
    let database = TestDb::new().await.unwrap();
    let config = small_pool();
    let opened = futures::future::join_all((0..4).map(|_| db::open_service(&config, database.url(), "demo", &DEMO)))
        .await
        .into_iter()
        .enumerate()
        .map(|(index, result)| result.unwrap_or_else(|error| panic!("opener {index} failed: {error:#}")))
        .collect::<Vec<_>>();

    let mut instances: Vec<Uuid> = opened.iter().map(|service| service.instance.id).collect();
    instances.sort();
    instances.dedup();
    assert_eq!(instances.len(), 4, "every opener is its own instance");
    assert!(opened.iter().all(|service| service.schema == "demo"));

    let pool = database.pool().await.unwrap();
    assert_eq!(applied_versions(&pool, "demo").await, vec![1, 2], "each migration recorded exactly once");
    for relation in ["demo.demo_items", "demo.demo_notes", "demo.demo_notes_item_idx"] {
        assert!(exists(&pool, relation).await, "{relation} was created");
    }
    for relation in ["public.demo_items", "public._sqlx_migrations"] {
        assert!(!exists(&pool, relation).await, "{relation} must not exist: the schema owns its objects");
    }
    // The bus was migrated too, once, in its own schema.
    let bus_versions: Vec<i64> = db::BUS_MIGRATOR.iter().map(|migration| migration.version).collect();
    assert_eq!(applied_versions(&pool, "bus").await, bus_versions);
    assert_eq!(role_row(&pool, "migration:demo").await, Some(None), "the migration role was released");

    // Every opener's pool works on the schema by unqualified names.
    for (index, service) in opened.iter().enumerate() {
        sqlx::query("insert into demo_items (name) values ($1)")
            .bind(format!("item from opener {index}"))
            .execute(&service.pool)
            .await
            .unwrap_or_else(|error| panic!("opener {index} cannot write its schema: {error}"));
    }
    let items: i64 = sqlx::query_scalar("select count(*) from demo.demo_items").fetch_one(&pool).await.unwrap();
    assert_eq!(items, 4);
    close(opened).await;
    pool.close().await;
}

#[tokio::test]
async fn a_follower_takes_over_from_a_leader_that_crashed_mid_migration() {
    let database = TestDb::new().await.unwrap();
    let pool = database.pool().await.unwrap();
    bus::install(&pool).await.unwrap();

    // The crashed leader applied the first migration of demo_crashed, then died
    // during the second one: its instance stopped heartbeating two minutes
    // ago and it still holds the migration role.
    pool.execute("create schema demo_crashed").await.unwrap();
    let first_only = Migrator::with_migrations(DEMO.iter().take(1).cloned().collect());
    let mut connection = pool.acquire().await.unwrap().detach();
    connection.execute("set search_path to demo_crashed, bus").await.unwrap();
    first_only.run(&mut connection).await.unwrap();
    connection.close().await.unwrap();
    assert_eq!(applied_versions(&pool, "demo_crashed").await, vec![1]);
    let crashed = Uuid::now_v7();
    sqlx::query(
        "insert into bus.instance_heartbeat (instance_id, registered_at, heartbeat_at)
         values ($1, now() - interval '3 minutes', now() - interval '2 minutes')",
    )
    .bind(crashed)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into bus.leader_role (role, holder, acquired_at, heartbeat_at, ttl_secs)
         values ('migration:demo_crashed', $1, now() - interval '2 minutes', now() - interval '2 minutes', 30)",
    )
    .bind(crashed)
    .execute(&pool)
    .await
    .unwrap();

    let opened = tokio::time::timeout(
        Duration::from_secs(20),
        db::open_service(&small_pool(), database.url(), "demo_crashed", &DEMO),
    )
    .await
    .expect("the follower took over within 20 s instead of waiting for the dead leader")
    .expect("open_service after the leader crashed");

    assert_eq!(applied_versions(&pool, "demo_crashed").await, vec![1, 2], "the remaining migration was applied");
    assert!(exists(&pool, "demo_crashed.demo_notes_item_idx").await);
    assert_eq!(role_row(&pool, "migration:demo_crashed").await, Some(None), "the new leader released the role");
    let taken_over: bool = sqlx::query_scalar(
        "select acquired_at > now() - interval '1 minute' from bus.leader_role where role = 'migration:demo_crashed'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(taken_over, "the role changed hands (acquired again) rather than being ignored");
    sqlx::query("insert into demo_items (name) values ('after takeover')").execute(&opened.pool).await.unwrap();
    close(vec![opened]).await;
    pool.close().await;
}

#[tokio::test]
async fn the_pool_honours_the_db_options_and_the_search_path() {
    let database = TestDb::new().await.unwrap();
    let config = DbConfig {
        max_connections: 3,
        min_connections: 1,
        acquire_timeout_secs: 1,
        idle_timeout_secs: 120,
        max_lifetime_secs: 600,
        test_before_acquire: false,
        ..DbConfig::default()
    };
    let service = db::open_service(&config, database.url(), "demo", &DEMO).await.unwrap();
    let options = service.pool.options();
    assert_eq!(options.get_max_connections(), 3);
    assert_eq!(options.get_min_connections(), 1);
    assert_eq!(options.get_acquire_timeout(), Duration::from_secs(1));
    assert_eq!(options.get_idle_timeout(), Some(Duration::from_secs(120)));
    assert_eq!(options.get_max_lifetime(), Some(Duration::from_secs(600)));
    assert!(!options.get_test_before_acquire());

    let pool = service.pool.clone();
    wait_for("the pool to hold its minimum connection", DEADLINE, || {
        let pool = pool.clone();
        async move { (pool.size() >= 1).then_some(()) }
    })
    .await;

    // Every pooled connection runs as the service's role, on its schema
    // and then the bus.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut connection = service.pool.acquire().await.expect("up to max_connections connections");
        let search_path: String = sqlx::query_scalar("show search_path").fetch_one(&mut *connection).await.unwrap();
        assert_eq!(search_path, "demo, bus");
        let user: String = sqlx::query_scalar("select current_user::text").fetch_one(&mut *connection).await.unwrap();
        assert_eq!(user, db::role_name("demo"));
        held.push(connection);
    }
    assert_eq!(service.pool.size(), 3);
    // A fourth connection is not opened: the caller times out after
    // acquire_timeout_secs.
    let started = std::time::Instant::now();
    let fourth = service.pool.acquire().await;
    assert!(matches!(fourth, Err(sqlx::Error::PoolTimedOut)), "expected PoolTimedOut, got {fourth:?}");
    assert!(started.elapsed() >= Duration::from_millis(900), "gave up after {:?}", started.elapsed());
    drop(held);
    service.pool.close().await;
}
