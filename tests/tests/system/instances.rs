//! Two instances of every service on one database (two `rustbill-server`
//! processes, each running all the services and an edge):
//! - orders placed concurrently through both edges go through the outbox
//!   pipeline exactly once;
//! - both instances consume the outbox: with one process frozen the other
//!   handles everything, and the other way round (`bus.delivery.handled_by`
//!   names the instance that finished each delivery);
//! - when the instance holding a leader role is killed with SIGKILL another
//!   instance takes the role over within 30 s.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use rustbill_proto::order::GetOrderRequest;
use rustbill_proto::order::order_service_client::OrderServiceClient;
use rustbill_shared::testkit::wait_for;
use rustbill_system_tests::{bearer, session};
use tonic::transport::Channel;
use uuid::Uuid;

use rustbill_system_tests::flows::Customer;

use crate::orders::{SETTLE, Shop};

/// The leader role the test takes away (orders' unpaid-order scan).
const ROLE: &str = "order_timeouts";

async fn status_of(channel: &Channel, admin: &str, id: &str) -> String {
    OrderServiceClient::new(channel.clone())
        .get_order(session(GetOrderRequest { id: id.into() }, admin))
        .await
        .expect("get order")
        .into_inner()
        .order
        .expect("order")
        .status
}

async fn active(channel: &Channel, admin: &str, id: &str) {
    let what = format!("order {id} to become active");
    wait_for(&what, SETTLE, || async { (status_of(channel, admin, id).await == "active").then_some(()) }).await;
}

/// The role's holder and how many seconds ago it renewed the lease.
async fn holder(pool: &sqlx::PgPool) -> Option<(Uuid, f64)> {
    sqlx::query_as::<_, (Option<Uuid>, f64)>(
        "select holder, extract(epoch from now() - heartbeat_at)::float8 from bus.leader_role where role = $1",
    )
    .bind(ROLE)
    .fetch_optional(pool)
    .await
    .expect("leader role")
    .and_then(|(holder, age)| holder.map(|holder| (holder, age)))
}

/// Instance ids registered so far, one per service per process.
async fn instance_ids(pool: &sqlx::PgPool) -> HashSet<Uuid> {
    sqlx::query_scalar("select instance_id from bus.instance_heartbeat where service <> ''")
        .fetch_all(pool)
        .await
        .expect("instances")
        .into_iter()
        .collect()
}

/// Places `count` balance-paid orders at once through `channel` and waits
/// until all are active; returns their ids.
async fn place(shop: &Shop, customer: &Customer, channel: &Channel, count: usize) -> Vec<String> {
    let creating = (0..count).map(|_| {
        let mut client = OrderServiceClient::new(channel.clone());
        let request = bearer(shop.order_request("balance"), &customer.access_token);
        async move { client.create_order(request).await.expect("create order").into_inner().order.expect("order").id }
    });
    let ids = futures::future::join_all(creating).await;
    for id in &ids {
        active(channel, &shop.admin, id).await;
    }
    ids
}

/// Deliveries finished since `since`, per consumer and handling instance.
async fn handled_since(pool: &sqlx::PgPool, since: chrono::DateTime<chrono::Utc>) -> Vec<(String, Option<Uuid>, i64)> {
    sqlx::query_as(
        "select consumer, handled_by, count(*) from bus.delivery
         where status = 'done' and done_at >= $1
         group by consumer, handled_by order by consumer, handled_by",
    )
    .bind(since)
    .fetch_all(pool)
    .await
    .expect("deliveries")
}

/// Every order of `customer` (`count` of them) was provisioned once and
/// debited once, and the ledger sums to the balance.
async fn exactly_once(shop: &Shop, pool: &sqlx::PgPool, customer: &Customer, count: usize) {
    let per_order: Vec<i64> =
        sqlx::query_scalar("select count(*) from orders.instances where customer_id = $1::uuid group by order_id")
            .bind(&customer.customer_id)
            .fetch_all(pool)
            .await
            .expect("instances");
    assert_eq!(per_order, vec![1; count], "one instance per order");
    let debits: i64 = sqlx::query_scalar(
        "select count(*) from payments.balance_transactions where customer_id = $1::uuid and transaction_type = 'payment'",
    )
    .bind(&customer.customer_id)
    .fetch_one(pool)
    .await
    .expect("debits");
    assert_eq!(debits, count as i64, "one debit per order");
    shop.assert_ledger_balances(customer).await;
}

/// Waits until no delivery is pending, then checks none was parked.
async fn settled(pool: &sqlx::PgPool) {
    wait_for("every delivery to be done", SETTLE, || async {
        let open: i64 = sqlx::query_scalar("select count(*) from bus.delivery where status = 'pending'")
            .fetch_one(pool)
            .await
            .expect("deliveries");
        (open == 0).then_some(())
    })
    .await;
    let parked: Vec<(String, String, Option<String>)> =
        sqlx::query_as("select consumer, status, last_error from bus.delivery where status <> 'done'")
            .fetch_all(pool)
            .await
            .expect("deliveries");
    assert!(parked.is_empty(), "deliveries not done: {parked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_outbox_and_a_killed_leader_is_replaced() {
    let mut shop = Shop::open_with("", false, &[]).await;
    let pool = shop.server.pool().await;
    let first_ids = instance_ids(&pool).await;
    let mut other = shop.server.another_instance().await.expect("second instance");
    wait_for("two instances of every service", Duration::from_secs(30), || async {
        let per_service: Vec<i64> = sqlx::query_scalar(
            "select count(*) from bus.instance_heartbeat where service <> '' group by service order by service",
        )
        .fetch_all(&pool)
        .await
        .expect("instances");
        (per_service.len() == 6 && per_service.iter().all(|count| *count == 2)).then_some(())
    })
    .await;
    let second_ids: HashSet<Uuid> = instance_ids(&pool).await.difference(&first_ids).copied().collect();
    assert_eq!((first_ids.len(), second_ids.len()), (6, 6), "six services per process");

    let customer = shop.customer("ha_customer").await;
    shop.credit(&customer, "200.00").await;
    let channels = [shop.channel.clone(), other.channel().await];

    // Twelve orders at once, half through each edge: both processes'
    // consumers race for the same deliveries.
    let (a, b) = tokio::join!(place(&shop, &customer, &channels[0], 6), place(&shop, &customer, &channels[1], 6));
    let mut count = a.len() + b.len();
    settled(&pool).await;

    // Each process alone: freeze one, the other does all the work.
    for (frozen, working, ids) in [(0, 1, &second_ids), (1, 0, &first_ids)] {
        let since: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("select now()").fetch_one(&pool).await.expect("now");
        if frozen == 0 { shop.server.pause() } else { other.pause() }.expect("freeze a process");
        count += place(&shop, &customer, &channels[working], 2).await.len();
        settled(&pool).await;
        if frozen == 0 { shop.server.resume() } else { other.resume() }.expect("resume the process");
        let handled = handled_since(&pool, since).await;
        let consumers: HashSet<&str> = handled.iter().map(|(consumer, _, _)| consumer.as_str()).collect();
        assert!(
            ["orders.payments", "orders.provisioner", "notify.broadcast"].iter().all(|name| consumers.contains(name)),
            "the pipeline's consumers all worked: {handled:?}"
        );
        for (consumer, by, _) in &handled {
            assert!(
                by.is_some_and(|by| ids.contains(&by)),
                "{consumer}: a delivery was handled by {by:?}, not by the running process ({ids:?})"
            );
        }
        println!("process {} alone handled {handled:?}", working + 1);
    }

    // Exactly once: one instance and one debit per order, a ledger that sums.
    exactly_once(&shop, &pool, &customer, count).await;
    settled(&pool).await;
    let by_process: Vec<(Option<Uuid>, i64)> =
        sqlx::query_as("select handled_by, count(*) from bus.delivery group by handled_by")
            .fetch_all(&pool)
            .await
            .expect("deliveries");
    let of = |ids: &HashSet<Uuid>| -> i64 {
        by_process.iter().filter(|(by, _)| by.is_some_and(|by| ids.contains(&by))).map(|(_, n)| n).sum()
    };
    println!("deliveries handled: first process {}, second process {}", of(&first_ids), of(&second_ids));

    // Kill whichever process holds the role, at least a second after its
    // last renewal (renewals come every 10 s; the lease is 30 s from the
    // last one).
    let (old, age) = wait_for("a holder of the role", Duration::from_secs(30), || async {
        holder(&pool).await.filter(|(_, age)| *age >= 1.0)
    })
    .await;
    let holder_is_first = first_ids.contains(&old);
    assert!(holder_is_first || second_ids.contains(&old), "the holder {old} is one of the processes' instances");
    let killed = Instant::now();
    if holder_is_first {
        shop.server.kill().await.expect("kill the first instance");
    } else {
        other.kill().await.expect("kill the second instance");
    }
    let (new, _) = wait_for("another instance to take the role", Duration::from_secs(60), || async {
        holder(&pool).await.filter(|(new, _)| *new != old)
    })
    .await;
    let took = killed.elapsed();
    println!(
        "{ROLE}: taken over {:.1} s after the holder was killed {age:.1} s after its last renewal (lease 30 s)",
        took.as_secs_f64()
    );
    assert!(took <= Duration::from_secs(30), "the role came back after {took:?}, more than 30 s");
    assert!(
        if holder_is_first { second_ids.contains(&new) } else { first_ids.contains(&new) },
        "the surviving process holds the role now"
    );
    let survivor = if holder_is_first { channels[1].clone() } else { channels[0].clone() };

    // The survivor keeps the pipeline going alone.
    let created = OrderServiceClient::new(survivor.clone())
        .create_order(bearer(shop.order_request("balance"), &customer.access_token))
        .await
        .expect("create order on the survivor")
        .into_inner();
    active(&survivor, &shop.admin, &created.order.expect("order").id).await;
}

/// A client behind a balancer of two edges: each call goes to the next
/// edge; a call refused because an edge is going away (UNAVAILABLE, or the
/// connection failing) is retried on the other one, as clients retry. The
/// edge list is updated when an instance comes back on a new address, as a
/// balancer's health checks would.
struct Balanced {
    edges: std::sync::RwLock<Vec<String>>,
    turn: std::sync::atomic::AtomicUsize,
    retries: std::sync::atomic::AtomicUsize,
}

impl Balanced {
    fn next_edge(&self) -> String {
        let edges = self.edges.read().unwrap();
        edges[self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % edges.len()].clone()
    }

    async fn create(&self, request: &rustbill_proto::order::CreateOrderRequest, token: &str) -> Result<String, String> {
        let mut last = String::new();
        for attempt in 0..20 {
            if attempt > 0 {
                self.retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let channel = match Channel::from_shared(self.next_edge()).expect("edge url").connect().await {
                Ok(channel) => channel,
                Err(error) => {
                    last = format!("connect: {error}");
                    continue;
                }
            };
            match OrderServiceClient::new(channel).create_order(bearer(request.clone(), token)).await {
                Ok(created) => return Ok(created.into_inner().order.expect("order").id),
                Err(status) if status.code() == tonic::Code::Unavailable => last = format!("{status:?}"),
                Err(status) => return Err(format!("{status:?}")),
            }
        }
        Err(format!("no edge took the call: {last}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_loses_no_retried_request_and_no_event() {
    let mut shop = Shop::open_with("", false, &[]).await;
    let pool = shop.server.pool().await;
    let mut other = shop.server.another_instance().await.expect("second instance");
    let customer = shop.customer("rolling_customer").await;
    shop.credit(&customer, "1000.00").await;

    // Orders keep coming while first one process, then the other, is
    // stopped with SIGTERM and started again (new addresses: the balancer
    // learns them, as Caddy's health checks would).
    let request = shop.order_request("balance");
    let token = customer.access_token.clone();
    let mut ids = Vec::new();
    let balanced = Balanced {
        edges: std::sync::RwLock::new(vec![shop.server.edge.clone(), other.edge.clone()]),
        turn: std::sync::atomic::AtomicUsize::new(0),
        retries: std::sync::atomic::AtomicUsize::new(0),
    };
    for restarting in 0..2 {
        let restarted = AtomicBool::new(false);
        // Orders go on until the restart is over, and a few more after it.
        let placing = async {
            let mut placed = Vec::new();
            let mut after = 0;
            while after < 4 {
                if restarted.load(std::sync::atomic::Ordering::Relaxed) {
                    after += 1;
                }
                placed.push(balanced.create(&request, &token).await.expect("an order placed with retries"));
            }
            placed
        };
        let restart = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let server = if restarting == 0 { &mut shop.server } else { &mut other };
            server.restart().await.expect("a clean restart");
            balanced.edges.write().unwrap()[restarting] = server.edge.clone();
            restarted.store(true, std::sync::atomic::Ordering::Relaxed);
        };
        let (placed, ()) = tokio::join!(placing, restart);
        ids.extend(placed);
    }
    let retries = balanced.retries.load(std::sync::atomic::Ordering::Relaxed);
    println!("{} orders placed across two rolling restarts, {retries} calls retried on the other edge", ids.len());
    assert!(retries > 0, "the load overlapped the restarts");

    // No event lost: every order active with one instance and one debit.
    shop.channel = shop.server.channel().await;
    let channel = shop.channel.clone();
    for id in &ids {
        active(&channel, &shop.admin, id).await;
    }
    settled(&pool).await;
    exactly_once(&shop, &pool, &customer, ids.len()).await;
    // The stopped processes left cleanly: no heartbeat of theirs and no role
    // held by an instance that is gone.
    let stale: i64 = sqlx::query_scalar(
        "select count(*) from bus.leader_role r
         where r.holder is not null
           and not exists (select 1 from bus.instance_heartbeat h where h.instance_id = r.holder)",
    )
    .fetch_one(&pool)
    .await
    .expect("roles");
    assert_eq!(stale, 0, "roles of stopped instances were released");
    let instances: i64 = sqlx::query_scalar("select count(*) from bus.instance_heartbeat where service <> ''")
        .fetch_one(&pool)
        .await
        .expect("instances");
    assert_eq!(instances, 12, "two processes of six services registered, the stopped ones deregistered");
}
