//! The outbox bus against a real PostgreSQL.
//!
//! Run with `cargo test -p rustbill-shared --features testkit --test integration bus::`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use rustbill_shared::bus::{self, Consumer, ConsumerConfig, Event, Handler, HandlerError, NewEvent};
use rustbill_shared::testkit::{TestDb, wait_for};
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{Notify, oneshot, watch};
use uuid::Uuid;

const DEADLINE: Duration = Duration::from_secs(30);

/// A fresh database with the bus installed and the tables test handlers
/// write their effects into.
async fn setup() -> (TestDb, PgPool) {
    let db = TestDb::new().await.expect("test database");
    let pool = db.pool().await.expect("pool");
    bus::install(&pool).await.expect("install the bus");
    // Installing twice is harmless.
    bus::install(&pool).await.expect("install the bus again");
    for statement in [
        // The handler's database effect: one row per (consumer, event).
        "create table effects (
             consumer text not null,
             event_id uuid not null,
             aggregate_id uuid not null,
             n integer,
             primary key (consumer, event_id))",
        // Per-aggregate position, to check ordering inside the handler.
        "create table progress (
             consumer text not null,
             aggregate_id uuid not null,
             last_n integer not null,
             primary key (consumer, aggregate_id))",
        // A non-idempotent looking effect: credit an account.
        "create table balances (account uuid primary key, amount bigint not null)",
    ] {
        sqlx::query(statement).execute(&pool).await.expect("create test table");
    }
    (db, pool)
}

fn fast_config() -> ConsumerConfig {
    ConsumerConfig {
        poll_interval: Duration::from_millis(50),
        backoff_base: Duration::ZERO,
        backoff_cap: Duration::ZERO,
        ..ConsumerConfig::default()
    }
}

/// Makes the first call of the handler stop after writing its effect, report
/// its backend pid and wait for `release`.
struct Stall {
    pid: oneshot::Sender<i32>,
    release: Arc<Notify>,
}

/// A test handler that records what it sees and can be told to misbehave.
#[derive(Clone)]
struct Probe {
    consumer: &'static str,
    calls: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Event>>>,
    /// Aggregates being handled right now, across every instance.
    in_flight: Arc<Mutex<HashSet<Uuid>>>,
    violations: Arc<Mutex<Vec<String>>>,
    /// Events that fail with this error (until removed).
    fail: Arc<Mutex<HashMap<Uuid, HandlerError>>>,
    /// Events whose next call panics.
    panic_once: Arc<Mutex<HashSet<Uuid>>>,
    stall: Arc<Mutex<Option<Stall>>>,
    /// Pause a little inside the handler, to interleave instances.
    jitter: bool,
    /// Which instance this clone serves, and how many events each handled.
    instance: usize,
    per_instance: Arc<Mutex<HashMap<usize, usize>>>,
}

impl Probe {
    fn new(consumer: &'static str) -> Self {
        Self {
            consumer,
            calls: Arc::default(),
            seen: Arc::default(),
            in_flight: Arc::default(),
            violations: Arc::default(),
            fail: Arc::default(),
            panic_once: Arc::default(),
            stall: Arc::default(),
            jitter: false,
            instance: 0,
            per_instance: Arc::default(),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }

    fn violation(&self, message: String) {
        self.violations.lock().unwrap().push(message);
    }

    async fn work(&self, event: &Event, transaction: &mut Transaction<'static, Postgres>) -> Result<(), HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(event.clone());
        if self.panic_once.lock().unwrap().remove(&event.id) {
            panic!("boom in {}", event.id);
        }
        if let Some(error) = self.fail.lock().unwrap().get(&event.id).cloned() {
            return Err(error);
        }
        let n = event.payload.get("n").and_then(serde_json::Value::as_i64).map(|n| n as i32);
        // Idempotent: the event id is the key of the effect.
        let inserted: Option<i32> = sqlx::query_scalar(
            "insert into effects (consumer, event_id, aggregate_id, n) values ($1, $2, $3, $4)
             on conflict do nothing returning 1",
        )
        .bind(self.consumer)
        .bind(event.id)
        .bind(event.aggregate_id)
        .bind(n)
        .fetch_optional(&mut **transaction)
        .await?;
        if inserted.is_none() {
            return Ok(());
        }
        let stall = self.stall.lock().unwrap().take();
        if let Some(stall) = stall {
            let pid: i32 = sqlx::query_scalar("select pg_backend_pid()").fetch_one(&mut **transaction).await?;
            stall.pid.send(pid).ok();
            stall.release.notified().await;
        }

        // Serialisation per aggregate, across every instance of the consumer.
        if !self.in_flight.lock().unwrap().insert(event.aggregate_id) {
            self.violation(format!("aggregate {} handled concurrently", event.aggregate_id));
        }
        let result = self.ordered_effects(event, n, transaction).await;
        self.in_flight.lock().unwrap().remove(&event.aggregate_id);
        *self.per_instance.lock().unwrap().entry(self.instance).or_default() += 1;
        result
    }

    async fn ordered_effects(
        &self,
        event: &Event,
        n: Option<i32>,
        transaction: &mut Transaction<'static, Postgres>,
    ) -> Result<(), HandlerError> {
        if self.jitter {
            let pause = rand::random_range(0..3);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        if let Some(n) = n {
            sqlx::query(
                "insert into progress (consumer, aggregate_id, last_n) values ($1, $2, 0) on conflict do nothing",
            )
            .bind(self.consumer)
            .bind(event.aggregate_id)
            .execute(&mut **transaction)
            .await?;
            let last: i32 =
                sqlx::query_scalar("select last_n from progress where consumer = $1 and aggregate_id = $2 for update")
                    .bind(self.consumer)
                    .bind(event.aggregate_id)
                    .fetch_one(&mut **transaction)
                    .await?;
            if n != last + 1 {
                self.violation(format!("aggregate {}: got n={n} after n={last}", event.aggregate_id));
            }
            sqlx::query("update progress set last_n = $3 where consumer = $1 and aggregate_id = $2")
                .bind(self.consumer)
                .bind(event.aggregate_id)
                .bind(n)
                .execute(&mut **transaction)
                .await?;
        }
        if let Some(amount) = event.payload.get("amount").and_then(serde_json::Value::as_i64) {
            sqlx::query(
                "insert into balances (account, amount) values ($1, $2)
                 on conflict (account) do update set amount = balances.amount + excluded.amount",
            )
            .bind(event.aggregate_id)
            .bind(amount)
            .execute(&mut **transaction)
            .await?;
        }
        Ok(())
    }
}

impl Handler for Probe {
    fn handle<'a>(
        &'a self,
        event: &'a Event,
        transaction: &'a mut Transaction<'static, Postgres>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.work(event, transaction))
    }
}

/// Publishes one event in its own committed transaction.
async fn publish(pool: &PgPool, event_type: &str, aggregate_id: Uuid, payload: serde_json::Value) -> Uuid {
    let mut transaction = pool.begin().await.expect("begin");
    let id = bus::publish(&mut transaction, &NewEvent::new("tests", event_type, aggregate_id, payload))
        .await
        .expect("publish");
    transaction.commit().await.expect("commit");
    id
}

async fn effects(pool: &PgPool, consumer: &str) -> i64 {
    sqlx::query_scalar("select count(*) from effects where consumer = $1")
        .bind(consumer)
        .fetch_one(pool)
        .await
        .expect("count effects")
}

async fn delivery(pool: &PgPool, consumer: &str, event_id: Uuid) -> (String, i32, Option<String>) {
    sqlx::query_as("select status, attempts, last_error from bus.delivery where consumer = $1 and event_id = $2")
        .bind(consumer)
        .bind(event_id)
        .fetch_one(pool)
        .await
        .expect("delivery row")
}

fn shutdown_signal() -> (watch::Sender<bool>, impl Fn() -> BoxFuture<'static, ()>) {
    let (sender, receiver) = watch::channel(false);
    let make = move || -> BoxFuture<'static, ()> {
        let mut receiver = receiver.clone();
        Box::pin(async move {
            receiver.wait_for(|stop| *stop).await.ok();
        })
    };
    (sender, make)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_events_are_never_delivered_and_committed_ones_once() {
    let (_db, pool) = setup().await;
    let probe = Probe::new("tests.once");
    let consumer = Consumer::register(pool.clone(), "tests.once", &["thing_happened"], probe.clone(), fast_config())
        .await
        .expect("register");

    let aggregate = Uuid::now_v7();
    let mut transaction = pool.begin().await.unwrap();
    bus::publish(&mut transaction, &NewEvent::new("tests", "thing_happened", aggregate, json!({"n": 1})))
        .await
        .unwrap();
    transaction.rollback().await.unwrap();
    let report = consumer.drain().await.unwrap();
    assert_eq!(report.delivered, 0);
    let events: i64 = sqlx::query_scalar("select count(*) from bus.event_queue").fetch_one(&pool).await.unwrap();
    assert_eq!(events, 0, "a rolled-back event must not exist");

    let customer = Uuid::now_v7();
    let event =
        NewEvent::new("payments", "thing_happened", aggregate, json!({"n": 1})).customer(customer).request_id("req-42");
    let mut transaction = pool.begin().await.unwrap();
    let id = bus::publish(&mut transaction, &event).await.unwrap();
    transaction.commit().await.unwrap();
    assert_eq!(id, event.id);

    let report = consumer.drain().await.unwrap();
    assert_eq!((report.claimed, report.delivered, report.failed), (1, 1, 0));
    assert_eq!(consumer.drain().await.unwrap().claimed, 0, "delivered once, not again");
    assert_eq!(effects(&pool, "tests.once").await, 1);
    assert_eq!(probe.calls(), 1);

    let seen = probe.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.id, id);
    assert_eq!(seen.event_type, "thing_happened");
    assert_eq!(seen.aggregate_id, aggregate);
    assert_eq!(seen.customer_id, Some(customer));
    assert_eq!(seen.source, "payments");
    assert_eq!(seen.request_id.as_deref(), Some("req-42"));
    assert_eq!(seen.payload, json!({"n": 1}));
    assert_eq!(seen.attempt, 1);
    let (status, attempts, last_error) = delivery(&pool, "tests.once", id).await;
    assert_eq!((status.as_str(), attempts, last_error), ("done", 1, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_wakes_an_idle_consumer_before_the_poll_interval() {
    let (_db, pool) = setup().await;
    let probe = Probe::new("tests.wake");
    let config = ConsumerConfig { poll_interval: Duration::from_secs(120), ..ConsumerConfig::default() };
    let consumer = Consumer::register(pool.clone(), "tests.wake", &["woken"], probe.clone(), config).await.unwrap();
    let (stop, shutdown) = shutdown_signal();
    let worker = tokio::spawn(consumer.run(shutdown()));

    // Wait until the consumer listens, so the notification cannot be missed.
    wait_for("the consumer to listen", DEADLINE, || async {
        let listening: i64 =
            sqlx::query_scalar("select count(*) from pg_stat_activity where query ilike 'listen %rustbill_bus%'")
                .fetch_one(&pool)
                .await
                .ok()?;
        (listening > 0).then_some(())
    })
    .await;
    publish(&pool, "woken", Uuid::now_v7(), json!({})).await;
    // Far sooner than the 120 s poll interval.
    wait_for("the notified event to be handled", Duration::from_secs(10), || async {
        (effects(&pool, "tests.wake").await == 1).then_some(())
    })
    .await;

    stop.send(true).unwrap();
    tokio::time::timeout(DEADLINE, worker).await.expect("consumer stops on shutdown").expect("no panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_instances_handle_every_event_once_and_in_order_per_aggregate() {
    const AGGREGATES: usize = 20;
    const PER_AGGREGATE: i32 = 10;
    let (db, pool) = setup().await;
    let mut probe = Probe::new("orders.provisioner");
    probe.jitter = true;
    let config = ConsumerConfig { batch_size: 16, poll_interval: Duration::from_millis(50), ..fast_config() };

    // Four instances, each with its own pool, as four processes would have.
    let (stop, shutdown) = shutdown_signal();
    let mut workers = Vec::new();
    let mut pools = Vec::new();
    for instance in 0..4 {
        let instance_pool = db.pool().await.unwrap();
        let mut handler = probe.clone();
        handler.instance = instance;
        let consumer =
            Consumer::register(instance_pool.clone(), "orders.provisioner", &["order_paid"], handler, config.clone())
                .await
                .unwrap();
        workers.push(tokio::spawn(consumer.run(shutdown())));
        pools.push(instance_pool);
    }

    // Two publishers at once, each owning half of the aggregates and
    // publishing their events in order, one transaction each.
    let aggregates: Vec<Uuid> = (0..AGGREGATES).map(|_| Uuid::now_v7()).collect();
    let mut publishers = Vec::new();
    for half in aggregates.chunks(AGGREGATES / 2) {
        let half = half.to_vec();
        let pool = pool.clone();
        publishers.push(tokio::spawn(async move {
            for n in 1..=PER_AGGREGATE {
                for aggregate in &half {
                    publish(&pool, "order_paid", *aggregate, json!({ "n": n })).await;
                }
            }
        }));
    }
    for publisher in publishers {
        publisher.await.unwrap();
    }

    let total = (AGGREGATES as i64) * i64::from(PER_AGGREGATE);
    wait_for("every event to be handled", Duration::from_secs(60), || async {
        (effects(&pool, "orders.provisioner").await == total).then_some(())
    })
    .await;
    stop.send(true).unwrap();
    for worker in workers {
        tokio::time::timeout(DEADLINE, worker).await.expect("instance stops").expect("no panic");
    }

    assert_eq!(probe.violations(), Vec::<String>::new());
    assert_eq!(probe.calls() as i64, total, "every event handled exactly once (no retries, no duplicates)");
    let (done, open, max_attempts): (i64, i64, i32) = sqlx::query_as(
        "select count(*) filter (where status = 'done'), count(*) filter (where status <> 'done'), max(attempts)
         from bus.delivery where consumer = 'orders.provisioner'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((done, open, max_attempts), (total, 0, 1));
    let positions: Vec<i32> = sqlx::query_scalar("select last_n from progress where consumer = 'orders.provisioner'")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(positions, vec![PER_AGGREGATE; AGGREGATES]);
    let per_instance = probe.per_instance.lock().unwrap().clone();
    assert!(per_instance.len() >= 2, "the instances shared the work: {per_instance:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_consumer_gets_every_event() {
    let (_db, pool) = setup().await;
    let notify = Probe::new("notify.orders");
    let audit = Probe::new("audit.orders");
    let first = Consumer::register(
        pool.clone(),
        "notify.orders",
        &["order_provisioned", "order_cancelled"],
        notify.clone(),
        fast_config(),
    )
    .await
    .unwrap();
    let second = Consumer::register(pool.clone(), "audit.orders", &["order_provisioned"], audit.clone(), fast_config())
        .await
        .unwrap();
    for _ in 0..10 {
        publish(&pool, "order_provisioned", Uuid::now_v7(), json!({})).await;
    }
    publish(&pool, "order_cancelled", Uuid::now_v7(), json!({})).await;
    publish(&pool, "nobody_listens", Uuid::now_v7(), json!({})).await;

    assert_eq!(first.drain().await.unwrap().delivered, 11);
    assert_eq!(second.drain().await.unwrap().delivered, 10);
    assert_eq!(effects(&pool, "notify.orders").await, 11);
    assert_eq!(effects(&pool, "audit.orders").await, 10);
    let subscriptions: Vec<(String, String)> = bus::subscriptions(&pool)
        .await
        .unwrap()
        .into_iter()
        .filter(|(consumer, _)| consumer.ends_with(".orders") && !consumer.starts_with("orders."))
        .collect();
    assert_eq!(subscriptions.len(), 3, "{subscriptions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_subscriber_gets_only_new_events_unless_backfilled() {
    let (_db, pool) = setup().await;
    let before = publish(&pool, "late_type", Uuid::now_v7(), json!({})).await;
    let probe = Probe::new("tests.late");
    let consumer =
        Consumer::register(pool.clone(), "tests.late", &["late_type"], probe.clone(), fast_config()).await.unwrap();
    let after = publish(&pool, "late_type", Uuid::now_v7(), json!({})).await;
    assert_eq!(consumer.drain().await.unwrap().delivered, 1);
    assert_eq!(probe.seen.lock().unwrap()[0].id, after);

    let created = bus::backfill(&pool, "tests.late", chrono::DateTime::UNIX_EPOCH).await.unwrap();
    assert_eq!(created, 1, "only the event it has no delivery for");
    assert_eq!(consumer.drain().await.unwrap().delivered, 1);
    assert_eq!(probe.seen.lock().unwrap()[1].id, before);
    assert_eq!(effects(&pool, "tests.late").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishers_of_one_aggregate_are_serialised_until_commit() {
    let (_db, pool) = setup().await;
    let aggregate = Uuid::now_v7();
    let mut first = pool.begin().await.unwrap();
    let first_id = bus::publish(&mut first, &NewEvent::new("tests", "step", aggregate, json!({}))).await.unwrap();

    let second_pool = pool.clone();
    let second = tokio::spawn(async move { publish(&second_pool, "step", aggregate, json!({})).await });
    wait_for("the second publisher to wait for the first", DEADLINE, || async {
        let waiting: i64 =
            sqlx::query_scalar("select count(*) from pg_locks where locktype = 'advisory' and not granted")
                .fetch_one(&pool)
                .await
                .ok()?;
        (waiting == 1).then_some(())
    })
    .await;
    // A different aggregate is not blocked.
    publish(&pool, "step", Uuid::now_v7(), json!({})).await;
    assert!(!second.is_finished());

    first.commit().await.unwrap();
    let second_id = tokio::time::timeout(DEADLINE, second).await.unwrap().unwrap();
    let order: Vec<Uuid> = sqlx::query_scalar("select id from bus.event_queue where aggregate_id = $1 order by seq")
        .bind(aggregate)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(order, vec![first_id, second_id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_consumer_task_is_redelivered_after_its_lease_expires() {
    let (db, pool) = setup().await;
    let probe = Probe::new("tests.crash");
    let (pid_sender, pid_receiver) = oneshot::channel();
    *probe.stall.lock().unwrap() = Some(Stall { pid: pid_sender, release: Arc::new(Notify::new()) });
    let first = Consumer::register(db.pool().await.unwrap(), "tests.crash", &["crashy"], probe.clone(), fast_config())
        .await
        .unwrap();
    let event_id = publish(&pool, "crashy", Uuid::now_v7(), json!({})).await;

    // The first instance dies in the middle of the handler.
    let crashed = tokio::spawn(async move { first.drain().await });
    tokio::time::timeout(DEADLINE, pid_receiver).await.expect("handler started").unwrap();
    crashed.abort();
    assert!(crashed.await.unwrap_err().is_cancelled());

    // Its lease (30 s) still protects the claim: nobody else takes it.
    let second = Consumer::register(db.pool().await.unwrap(), "tests.crash", &["crashy"], probe.clone(), fast_config())
        .await
        .unwrap();
    assert_eq!(second.drain().await.unwrap().claimed, 0);
    assert_eq!(effects(&pool, "tests.crash").await, 0, "the crashed transaction rolled back");

    // Once the lease runs out, another instance delivers it.
    sqlx::query("update bus.delivery set locked_until = now() - interval '1 second' where event_id = $1")
        .bind(event_id)
        .execute(&pool)
        .await
        .unwrap();
    let report = second.drain().await.unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(effects(&pool, "tests.crash").await, 1);
    let (status, attempts, last_error) = delivery(&pool, "tests.crash", event_id).await;
    assert_eq!((status.as_str(), attempts), ("done", 2));
    assert!(last_error.unwrap_or_default().contains("lease expired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_is_redelivered_once_the_lease_runs_out() {
    let (db, pool) = setup().await;
    let probe = Probe::new("tests.killed");
    let release = Arc::new(Notify::new());
    let (pid_sender, pid_receiver) = oneshot::channel();
    *probe.stall.lock().unwrap() = Some(Stall { pid: pid_sender, release: release.clone() });
    let config = ConsumerConfig { lease: Duration::from_secs(1), ..fast_config() };
    let first = Consumer::register(db.pool().await.unwrap(), "tests.killed", &["killy"], probe.clone(), config.clone())
        .await
        .unwrap();
    let event_id = publish(&pool, "killy", Uuid::now_v7(), json!({})).await;
    let stuck = tokio::spawn(async move { first.drain().await });
    let pid = tokio::time::timeout(DEADLINE, pid_receiver).await.expect("handler started").unwrap();

    let killed: bool = sqlx::query_scalar("select pg_terminate_backend($1)").bind(pid).fetch_one(&pool).await.unwrap();
    assert!(killed);

    let second =
        Consumer::register(db.pool().await.unwrap(), "tests.killed", &["killy"], probe.clone(), config).await.unwrap();
    wait_for("another instance to deliver after the lease", DEADLINE, || async {
        let report = second.drain().await.ok()?;
        (report.delivered == 1).then_some(())
    })
    .await;

    // The first handler wakes up on a dead connection: its work is lost and
    // it must not disturb the finished delivery.
    release.notify_one();
    let outcome = tokio::time::timeout(DEADLINE, stuck).await.expect("stuck drain returns").expect("no panic");
    if let Ok(report) = outcome {
        assert_eq!(report.delivered, 0);
    }
    assert_eq!(effects(&pool, "tests.killed").await, 1, "effect applied exactly once");
    let (status, attempts, _) = delivery(&pool, "tests.killed", event_id).await;
    assert_eq!((status.as_str(), attempts), ("done", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_delivery_changes_nothing() {
    let (_db, pool) = setup().await;
    let probe = Probe::new("payments.credit");
    let consumer =
        Consumer::register(pool.clone(), "payments.credit", &["credit"], probe.clone(), fast_config()).await.unwrap();
    let account = Uuid::now_v7();
    let event_id = publish(&pool, "credit", account, json!({"amount": 5})).await;
    assert_eq!(consumer.drain().await.unwrap().delivered, 1);

    // At-least-once: the same event comes again.
    sqlx::query("update bus.delivery set status = 'pending', done_at = null where event_id = $1")
        .bind(event_id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(consumer.drain().await.unwrap().delivered, 1);
    assert_eq!(probe.calls(), 2, "the handler did run twice");

    let balance: i64 = sqlx::query_scalar("select amount from balances where account = $1")
        .bind(account)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(balance, 5, "credited once");
    assert_eq!(effects(&pool, "payments.credit").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_parked_while_other_aggregates_keep_flowing() {
    let (_db, pool) = setup().await;
    let probe = Probe::new("orders.poisoned");
    let config = ConsumerConfig { max_attempts: 3, ..fast_config() };
    let consumer =
        Consumer::register(pool.clone(), "orders.poisoned", &["order_paid"], probe.clone(), config).await.unwrap();
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let poison = publish(&pool, "order_paid", a, json!({"n": 1})).await;
    probe.fail.lock().unwrap().insert(poison, HandlerError::Retry("provider said no".into()));
    publish(&pool, "order_paid", b, json!({"n": 1})).await;
    let blocked = publish(&pool, "order_paid", a, json!({"n": 2})).await;
    publish(&pool, "order_paid", c, json!({"n": 1})).await;

    let report = consumer.drain().await.unwrap();
    assert_eq!((report.delivered, report.failed, report.parked), (2, 2, 1), "{report:?}");
    let (status, attempts, last_error) = delivery(&pool, "orders.poisoned", poison).await;
    assert_eq!((status.as_str(), attempts, last_error.as_deref()), ("parked", 3, Some("provider said no")));
    // Order is kept: the later event of the parked aggregate waits.
    assert_eq!(delivery(&pool, "orders.poisoned", blocked).await.0, "pending");

    let parked = bus::list_parked(&pool, Some("orders.poisoned"), 10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!((parked[0].event_id, parked[0].aggregate_id, parked[0].attempts), (poison, a, 3));
    assert_eq!(parked[0].event_type, "order_paid");
    assert!(parked[0].parked_at.is_some());
    assert_eq!(bus::list_parked(&pool, None, 10).await.unwrap().len(), 1);
    assert!(bus::list_parked(&pool, Some("someone.else"), 10).await.unwrap().is_empty());

    let depth = bus::queue_depth(&pool).await.unwrap();
    let mine = depth.iter().find(|depth| depth.consumer == "orders.poisoned").expect("depth row");
    assert_eq!((mine.pending, mine.parked, mine.in_flight), (1, 1, 0));
    assert!(mine.oldest_pending_age().is_some());

    // New events of other aggregates still flow.
    publish(&pool, "order_paid", b, json!({"n": 2})).await;
    assert_eq!(consumer.drain().await.unwrap().delivered, 1);

    // Fixed: an admin retries it, and the aggregate resumes in order.
    probe.fail.lock().unwrap().clear();
    assert!(bus::retry_parked(&pool, "orders.poisoned", poison).await.unwrap());
    assert!(!bus::retry_parked(&pool, "orders.poisoned", poison).await.unwrap(), "no longer parked");
    let report = consumer.drain().await.unwrap();
    assert_eq!(report.delivered, 2);
    assert_eq!(delivery(&pool, "orders.poisoned", blocked).await.0, "done");
    assert!(bus::list_parked(&pool, None, 10).await.unwrap().is_empty());
    assert_eq!(probe.violations(), Vec::<String>::new());
    assert_eq!(effects(&pool, "orders.poisoned").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_error_parks_at_once_and_dismissing_unblocks_the_aggregate() {
    let (_db, pool) = setup().await;
    let probe = Probe::new("tests.dismiss");
    let consumer =
        Consumer::register(pool.clone(), "tests.dismiss", &["thing"], probe.clone(), fast_config()).await.unwrap();
    let aggregate = Uuid::now_v7();
    let poison = publish(&pool, "thing", aggregate, json!({})).await;
    probe.fail.lock().unwrap().insert(poison, HandlerError::Poison("payload is nonsense".into()));
    let next = publish(&pool, "thing", aggregate, json!({})).await;

    let report = consumer.drain().await.unwrap();
    assert_eq!((report.parked, report.delivered), (1, 0));
    assert_eq!(delivery(&pool, "tests.dismiss", poison).await.1, 1, "parked after one attempt");

    assert!(bus::dismiss_parked(&pool, "tests.dismiss", poison).await.unwrap());
    assert_eq!(consumer.drain().await.unwrap().delivered, 1);
    assert_eq!(delivery(&pool, "tests.dismiss", next).await.0, "done");
    let (status, _, last_error) = delivery(&pool, "tests.dismiss", poison).await;
    assert_eq!(status, "done");
    assert!(last_error.unwrap_or_default().starts_with("dismissed by an admin"));
    assert_eq!(effects(&pool, "tests.dismiss").await, 1, "the dismissed event was never handled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_back_off_and_keep_only_two_kilobytes_of_error() {
    let (_db, pool) = setup().await;
    let probe = Probe::new("tests.backoff");
    let config = ConsumerConfig { backoff_base: Duration::from_secs(2), ..ConsumerConfig::default() };
    let consumer = Consumer::register(pool.clone(), "tests.backoff", &["slow"], probe.clone(), config).await.unwrap();
    let event_id = publish(&pool, "slow", Uuid::now_v7(), json!({})).await;
    probe.fail.lock().unwrap().insert(event_id, HandlerError::Retry("x".repeat(5000)));

    let report = consumer.drain().await.unwrap();
    assert_eq!((report.failed, report.parked), (1, 0));
    let (delay, error_len): (f64, i32) = sqlx::query_as(
        "select extract(epoch from next_attempt_at - now())::float8, length(last_error)
         from bus.delivery where event_id = $1",
    )
    .bind(event_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!((0.5..=2.0).contains(&delay), "first retry in 1 to 2 s, got {delay}");
    assert_eq!(error_len, 2048);
    assert_eq!(consumer.drain().await.unwrap().claimed, 0, "not due yet");

    probe.fail.lock().unwrap().clear();
    sqlx::query("update bus.delivery set next_attempt_at = now() where event_id = $1")
        .bind(event_id)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(consumer.drain().await.unwrap().delivered, 1);
    assert_eq!(delivery(&pool, "tests.backoff", event_id).await.1, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_counts_as_a_failure_and_the_worker_survives() {
    let (_db, pool) = setup().await;
    let probe = Probe::new("tests.panic");
    let consumer =
        Consumer::register(pool.clone(), "tests.panic", &["explosive"], probe.clone(), fast_config()).await.unwrap();
    let (stop, shutdown) = shutdown_signal();
    let worker = tokio::spawn(consumer.run(shutdown()));

    let aggregate = Uuid::now_v7();
    let mut transaction = pool.begin().await.unwrap();
    let event = NewEvent::new("tests", "explosive", aggregate, json!({"n": 1}));
    probe.panic_once.lock().unwrap().insert(event.id);
    bus::publish(&mut transaction, &event).await.unwrap();
    transaction.commit().await.unwrap();

    wait_for("the event to be handled after the panic", DEADLINE, || async {
        (effects(&pool, "tests.panic").await == 1).then_some(())
    })
    .await;
    let (status, attempts, last_error) = delivery(&pool, "tests.panic", event.id).await;
    assert_eq!((status.as_str(), attempts), ("done", 2));
    assert!(last_error.unwrap_or_default().contains("handler panicked: boom"));

    // The same worker keeps going.
    publish(&pool, "explosive", aggregate, json!({"n": 2})).await;
    wait_for("the next event to be handled", DEADLINE, || async {
        (effects(&pool, "tests.panic").await == 2).then_some(())
    })
    .await;
    assert!(!worker.is_finished());
    stop.send(true).unwrap();
    tokio::time::timeout(DEADLINE, worker).await.expect("worker stops").expect("worker did not panic");
    assert_eq!(probe.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_keeps_crashing_its_consumer_is_parked() {
    let (_db, pool) = setup().await;
    let probe = Probe::new("tests.crashloop");
    let config = ConsumerConfig { max_attempts: 3, ..fast_config() };
    let consumer =
        Consumer::register(pool.clone(), "tests.crashloop", &["fatal"], probe.clone(), config).await.unwrap();
    let event_id = publish(&pool, "fatal", Uuid::now_v7(), json!({})).await;
    // Three claims, each ended by a crash: attempts used up, lease expired.
    sqlx::query(
        "update bus.delivery set attempts = 3, locked_by = gen_random_uuid(),
                locked_until = now() - interval '1 second'
         where event_id = $1",
    )
    .bind(event_id)
    .execute(&pool)
    .await
    .unwrap();
    let report = consumer.drain().await.unwrap();
    assert_eq!((report.parked, report.delivered), (1, 0));
    assert_eq!(probe.calls(), 0, "not handed to the handler again");
    let (status, _, last_error) = delivery(&pool, "tests.crashloop", event_id).await;
    assert_eq!(status, "parked");
    assert!(last_error.unwrap_or_default().starts_with("gave up after 3 attempts"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purging_keeps_what_a_consumer_still_needs() {
    let (_db, pool) = setup().await;
    let first =
        Consumer::register(pool.clone(), "tests.purge_a", &["kept"], Probe::new("tests.purge_a"), fast_config())
            .await
            .unwrap();
    let second =
        Consumer::register(pool.clone(), "tests.purge_b", &["kept"], Probe::new("tests.purge_b"), fast_config())
            .await
            .unwrap();
    for _ in 0..3 {
        publish(&pool, "kept", Uuid::now_v7(), json!({})).await;
    }
    publish(&pool, "unsubscribed_type", Uuid::now_v7(), json!({})).await;
    assert_eq!(first.drain().await.unwrap().delivered, 3);

    let report = bus::purge_done(&pool, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(report, bus::PurgeReport::default(), "nothing is old enough");

    let report = bus::purge_done(&pool, Duration::ZERO).await.unwrap();
    assert_eq!((report.deliveries, report.events), (3, 1), "consumer b still needs the three events");
    assert_eq!(second.drain().await.unwrap().delivered, 3);
    let report = bus::purge_done(&pool, Duration::ZERO).await.unwrap();
    assert_eq!((report.deliveries, report.events), (3, 3));
    let left: i64 = sqlx::query_scalar("select count(*) from bus.event_queue").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribing_stops_new_deliveries() {
    let (_db, pool) = setup().await;
    let consumer = Consumer::register(
        pool.clone(),
        "tests.unsub",
        &["a_type", "b_type"],
        Probe::new("tests.unsub"),
        fast_config(),
    )
    .await
    .unwrap();
    assert!(bus::unsubscribe(&pool, "tests.unsub", "b_type").await.unwrap());
    assert!(!bus::unsubscribe(&pool, "tests.unsub", "b_type").await.unwrap());
    publish(&pool, "a_type", Uuid::now_v7(), json!({})).await;
    publish(&pool, "b_type", Uuid::now_v7(), json!({})).await;
    assert_eq!(consumer.drain().await.unwrap().delivered, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_are_refused() {
    let (_db, pool) = setup().await;
    let refused = Consumer::register(pool.clone(), "Bad Name", &["thing"], Probe::new("x"), fast_config()).await;
    assert!(matches!(refused, Err(bus::BusError::Invalid(_))));
    let refused = Consumer::register(pool.clone(), "tests.none", &[], Probe::new("x"), fast_config()).await;
    assert!(matches!(refused, Err(bus::BusError::Invalid(_))));
    let mut connection = pool.acquire().await.unwrap();
    let refused = bus::publish(&mut connection, &NewEvent::new("tests", "", Uuid::now_v7(), json!({}))).await;
    assert!(matches!(refused, Err(bus::BusError::Invalid(_))));
}
