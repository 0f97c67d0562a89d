//! `system` against a real PostgreSQL: a service's operation log read
//! through the search path with every filter, newest first, limited and
//! counted; a service instance registered with its name and host shows as
//! running; leader roles with their holders.
//!
//! Run with `cargo test -p rustbill-shared --features testkit --test integration system::`.

use chrono::{DateTime, Utc};
use rustbill_proto::internal::system::OperationLogsPartRequest;
use rustbill_shared::config::DbConfig;
use rustbill_shared::db;
use rustbill_shared::system::{self, LogFilter, SystemPart};
use rustbill_shared::testkit::TestDb;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use uuid::Uuid;

static OPLOG: Migrator = sqlx::migrate!("./tests/fixtures/oplog_migrations");

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

async fn entry(pool: &PgPool, id: Uuid, label: &str, action: &str, target: (&str, &str), created_at: &str) {
    sqlx::query(
        "insert into operation_logs (id, actor_kind, actor_label, action, target_type, target_id, created_at)
         values ($1, 'admin', $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(label)
    .bind(action)
    .bind(target.0)
    .bind(target.1)
    .bind(at(created_at))
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn operation_logs_filter_order_limit_and_count() {
    let database = TestDb::new().await.unwrap();
    let config = DbConfig { max_connections: 4, min_connections: 0, ..DbConfig::default() };
    let service = db::open_service(&config, database.url(), "oplogdemo", &OPLOG).await.unwrap();
    let pool = service.pool.clone();
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    entry(&pool, ids[0], "admin:alice", "product.create", ("product", "p1"), "2024-01-01T10:00:00Z").await;
    entry(&pool, ids[1], "operator:bob_100%", "product.update", ("product", "p1"), "2024-01-02T10:00:00Z").await;
    // Two at the same instant: the higher id comes first.
    entry(&pool, ids[2], "admin:alice", "balance.adjust", ("customer", "c1"), "2024-01-03T10:00:00Z").await;
    entry(&pool, ids[3], "operator:bob100x", "balance.adjust", ("customer", "c2"), "2024-01-03T10:00:00Z").await;
    entry(&pool, ids[4], "ADMIN:Alice", "product.delete", ("product", "p1"), "2024-01-04T10:00:00Z").await;

    let everything = system::operation_logs(&pool, "catalog", &LogFilter::default(), 100).await.unwrap();
    assert_eq!(everything.total, 5);
    let order: Vec<String> = everything.logs.iter().map(|log| log.id.clone()).collect();
    let expected: Vec<String> = [ids[4], ids[3], ids[2], ids[1], ids[0]].iter().map(Uuid::to_string).collect();
    assert_eq!(order, expected, "created_at desc, then id desc");
    assert!(everything.logs.iter().all(|log| log.service == "catalog"));
    assert_eq!(everything.logs[0].created_at, "2024-01-04T10:00:00.000000Z");
    assert_eq!(everything.logs[0].detail_json, "{}");

    // The limit cuts the list, never the total.
    let first_two = system::operation_logs(&pool, "catalog", &LogFilter::default(), 2).await.unwrap();
    assert_eq!((first_two.logs.len(), first_two.total), (2, 5));
    let none = system::operation_logs(&pool, "catalog", &LogFilter::default(), 0).await.unwrap();
    assert_eq!((none.logs.len(), none.total), (0, 5));

    let filtered = |action: &str, actor: &str, target_type: &str, target_id: &str, since: &str, until: &str| {
        let filter = LogFilter::parse(action, actor, target_type, target_id, since, until).unwrap();
        let pool = pool.clone();
        async move {
            let part = system::operation_logs(&pool, "catalog", &filter, 100).await.unwrap();
            assert_eq!(part.total as usize, part.logs.len());
            part.logs.into_iter().map(|log| log.id).collect::<Vec<_>>()
        }
    };
    let id = |index: usize| ids[index].to_string();
    assert_eq!(filtered("balance.adjust", "", "", "", "", "").await, [id(3), id(2)]);
    assert_eq!(filtered("balance", "", "", "", "", "").await, Vec::<String>::new(), "the action is exact");
    assert_eq!(filtered("", "alice", "", "", "", "").await, [id(4), id(2), id(0)], "actor: any case");
    // % and _ in the actor are literal characters, not wildcards.
    assert_eq!(filtered("", "bob_100%", "", "", "", "").await, [id(1)]);
    assert_eq!(filtered("", "", "product", "p1", "", "").await, [id(4), id(1), id(0)]);
    assert_eq!(filtered("", "", "customer", "", "", "").await, [id(3), id(2)]);
    // Both bounds are inclusive, in any offset.
    assert_eq!(
        filtered("", "", "", "", "2024-01-02T10:00:00Z", "2024-01-03T18:00:00+08:00").await,
        [id(3), id(2), id(1)]
    );

    // The part answers the same through its request.
    let part = SystemPart::new("catalog", pool.clone(), |_pool, _window| async { Ok(Default::default()) });
    let answer = part
        .logs_part(&OperationLogsPartRequest { limit: 1, actor: "ALICE".into(), ..Default::default() })
        .await
        .unwrap();
    assert_eq!((answer.logs.len(), answer.total), (1, 3));
    assert_eq!(answer.logs[0].id, id(4));
    let error = part
        .logs_part(&OperationLogsPartRequest { since: "last week".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert!(error.to_string().contains("since"), "{error}");

    // The instance registered itself with its service name and host.
    let instances = system::live_instances(&pool).await.unwrap();
    let me = instances.iter().find(|instance| instance.instance_id == service.instance.id.to_string()).unwrap();
    assert_eq!(me.service, "oplogdemo");
    assert_eq!(me.hostname, rustbill_shared::leader::hostname());
    // Leader roles: the migration role was released; a taken one shows
    // its holder and when its lease ends.
    assert!(service.leader.try_acquire("demo_job").await.unwrap());
    let roles = system::leader_roles(&pool).await.unwrap();
    let migration = roles.iter().find(|role| role.role == "migration:oplogdemo").unwrap();
    assert_eq!((migration.holder.as_str(), migration.expires_at.as_str()), ("", ""));
    let job = roles.iter().find(|role| role.role == "demo_job").unwrap();
    assert_eq!(job.holder, service.instance.id.to_string());
    assert!(at(&job.expires_at) > Utc::now());
    // A stale instance is not running.
    sqlx::query(
        "update bus.instance_heartbeat set heartbeat_at = now() - interval '31 seconds' where instance_id = $1",
    )
    .bind(service.instance.id)
    .execute(&pool)
    .await
    .unwrap();
    let instances = system::live_instances(&pool).await.unwrap();
    assert!(instances.iter().all(|instance| instance.instance_id != service.instance.id.to_string()));
    pool.close().await;
}
