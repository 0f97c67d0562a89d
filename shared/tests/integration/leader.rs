//! Leader roles and instance heartbeats against a real PostgreSQL.
//!
//! Run with `cargo test -p rustbill-shared --features testkit --test integration leader::`.
//! Lease expiry is simulated by moving timestamps back with SQL instead of
//! waiting 30 s.

use std::time::Duration;

use rustbill_shared::bus;
use rustbill_shared::leader::{InstanceIdentity, LeaderElection};
use rustbill_shared::testkit::{TestDb, wait_for};
use sqlx::PgPool;
use uuid::Uuid;

const DEADLINE: Duration = Duration::from_secs(30);

async fn setup() -> (TestDb, PgPool) {
    let db = TestDb::new().await.expect("test database");
    let pool = db.pool().await.expect("pool");
    bus::install(&pool).await.expect("install the bus schema");
    (db, pool)
}

/// Two instances of a service, each with its own pool.
async fn two_candidates(db: &TestDb) -> (LeaderElection, LeaderElection) {
    let mut elections = Vec::new();
    for _ in 0..2 {
        let pool = db.pool().await.expect("pool");
        let instance = InstanceIdentity::register(&pool).await.expect("register instance");
        elections.push(LeaderElection::new(pool, instance));
    }
    let second = elections.pop().expect("two");
    let first = elections.pop().expect("two");
    (first, second)
}

async fn age_role(pool: &PgPool, role: &str, seconds: i32) {
    sqlx::query("update bus.leader_role set heartbeat_at = now() - make_interval(secs => $2) where role = $1")
        .bind(role)
        .bind(seconds)
        .execute(pool)
        .await
        .expect("age the role");
}

async fn age_instance(pool: &PgPool, instance: Uuid, seconds: i32) {
    sqlx::query(
        "update bus.instance_heartbeat set heartbeat_at = now() - make_interval(secs => $2) where instance_id = $1",
    )
    .bind(instance)
    .bind(seconds)
    .execute(pool)
    .await
    .expect("age the heartbeat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_of_two_candidates_wins() {
    let (db, pool) = setup().await;
    let (first, second) = two_candidates(&db).await;
    for round in 0..20 {
        let role = format!("billing:{round}");
        let (a, b) = tokio::join!(first.try_acquire(&role), second.try_acquire(&role));
        let (a, b) = (a.expect("first candidate"), b.expect("second candidate"));
        assert!(a ^ b, "round {round}: exactly one wins (first {a}, second {b})");
        let (winner, loser) = if a { (&first, &second) } else { (&second, &first) };
        assert_eq!(winner.holder(&role).await.unwrap(), Some(winner.instance_id()));
        assert!(winner.is_leader(&role).await);
        assert!(!loser.is_leader(&role).await);
        // Renewing keeps it; the loser keeps losing while the lease is live.
        assert!(winner.try_acquire(&role).await.unwrap());
        assert!(!loser.try_acquire(&role).await.unwrap());
    }
    let held: i64 = sqlx::query_scalar("select count(*) from bus.leader_role where holder is not null")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(held, 20, "every role has exactly one holder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releasing_lets_the_other_win() {
    let (db, _pool) = setup().await;
    let (first, second) = two_candidates(&db).await;
    assert!(first.try_acquire("event_timeouts").await.unwrap());
    assert!(!second.try_acquire("event_timeouts").await.unwrap());

    first.release("event_timeouts").await.unwrap();
    assert!(!first.is_leader("event_timeouts").await);
    assert_eq!(first.holder("event_timeouts").await.unwrap(), None);
    assert!(second.try_acquire("event_timeouts").await.unwrap());
    assert_eq!(second.holder("event_timeouts").await.unwrap(), Some(second.instance_id()));

    // A campaigning instance takes over soon after the holder gives up.
    let stop = tokio_util::sync::CancellationToken::new();
    let campaign = first.spawn_campaign("event_timeouts".to_string(), Duration::from_millis(50), stop.clone());
    second.release_all().await.unwrap();
    wait_for("the campaigning instance to take the role", DEADLINE, || async {
        first.is_leader("event_timeouts").await.then_some(())
    })
    .await;
    assert!(!second.try_acquire("event_timeouts").await.unwrap());
    // Stopping the campaign gives the role up at once.
    stop.cancel();
    campaign.await.unwrap();
    assert!(!first.is_leader("event_timeouts").await);
    assert!(second.try_acquire("event_timeouts").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_stops_renewing_is_replaced() {
    let (db, pool) = setup().await;
    let (first, second) = two_candidates(&db).await;
    assert!(first.try_acquire("billing").await.unwrap());
    assert!(!second.try_acquire("billing").await.unwrap());

    // 31 s without renewal: the 30 s lease has run out.
    age_role(&pool, "billing", 31).await;
    assert_eq!(first.holder("billing").await.unwrap(), None, "an expired lease has no holder");
    assert!(second.try_acquire("billing").await.unwrap());
    assert_eq!(second.holder("billing").await.unwrap(), Some(second.instance_id()));

    // The old holder finds out at its next renewal.
    assert!(first.is_leader("billing").await, "still believes it leads until it renews");
    assert!(!first.try_acquire("billing").await.unwrap());
    assert!(!first.is_leader("billing").await);

    // A lease that is merely old but not expired still protects the holder.
    age_role(&pool, "billing", 20).await;
    assert!(!first.try_acquire("billing").await.unwrap());
    let left = second.takeable_in("billing").await.unwrap();
    assert!(left > Duration::from_secs(9) && left <= Duration::from_secs(10), "{left:?} of the lease left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_takes_over_when_the_lease_ends_not_at_its_next_renewal() {
    let (db, pool) = setup().await;
    let (first, second) = two_candidates(&db).await;
    assert!(first.try_acquire("billing").await.unwrap());
    // The holder renewed 28 s ago and then died: 2 s of lease are left.
    age_role(&pool, "billing", 28).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let started = std::time::Instant::now();
    let campaign = second.spawn_campaign("billing".to_string(), Duration::from_secs(10), stop.clone());
    wait_for("the campaign to take the expired role", DEADLINE, || async {
        (second.holder("billing").await.unwrap() == Some(second.instance_id())).then_some(())
    })
    .await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1500), "taken after {took:?}, before the lease ended");
    assert!(took < Duration::from_secs(5), "taken after {took:?}: the campaign waited for its 10 s renewal");
    stop.cancel();
    campaign.await.unwrap();
    assert_eq!(second.holder("billing").await.unwrap(), None, "released on shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_a_stale_heartbeat_loses_to_a_live_one() {
    let (db, pool) = setup().await;
    let (first, second) = two_candidates(&db).await;

    // The holder's role lease is fresh, but its process stopped heartbeating.
    assert!(first.try_acquire("migration:orders").await.unwrap());
    age_instance(&pool, first.instance_id(), 60).await;
    assert!(second.try_acquire("migration:orders").await.unwrap(), "a live instance replaces a dead holder");
    assert!(!first.try_acquire("migration:orders").await.unwrap(), "the dead holder cannot take it back");
    assert_eq!(first.holder("migration:orders").await.unwrap(), Some(second.instance_id()));

    // A stale instance cannot take a free role either, however early it asks.
    assert!(!first.try_acquire("billing").await.unwrap(), "only live instances take part");
    assert!(second.try_acquire("billing").await.unwrap());

    // Once it heartbeats again it is a candidate like any other.
    let instance = InstanceIdentity { id: first.instance_id() };
    instance.beat(&pool).await.unwrap();
    assert!(first.try_acquire("reports").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_are_recorded_and_deregistered() {
    let (_db, pool) = setup().await;
    let instance = InstanceIdentity::register(&pool).await.unwrap();
    age_instance(&pool, instance.id, 60).await;
    instance.beat(&pool).await.unwrap();
    let age: f64 = sqlx::query_scalar(
        "select extract(epoch from now() - heartbeat_at)::float8 from bus.instance_heartbeat where instance_id = $1",
    )
    .bind(instance.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(age < 5.0, "beat refreshed the heartbeat ({age} s old)");
    let pool_max: i32 = sqlx::query_scalar("select pool_max from bus.instance_heartbeat where instance_id = $1")
        .bind(instance.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pool_max, 10);

    instance.deregister(&pool).await.unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from bus.instance_heartbeat where instance_id = $1")
        .bind(instance.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
