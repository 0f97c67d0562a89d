//! Two instances of every service on one database (two `rustbill-server`
//! processes, each running all the services and an edge): orders placed
//! through both edges go through the outbox pipeline exactly once, and when
//! the instance holding a leader role is killed with SIGKILL another
//! instance takes the role over once its 30 s lease has run out.

use std::time::{Duration, Instant};

use rustbill_proto::order::GetOrderRequest;
use rustbill_proto::order::order_service_client::OrderServiceClient;
use rustbill_shared::testkit::wait_for;
use rustbill_system_tests::{bearer, session};
use tonic::transport::Channel;
use uuid::Uuid;

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

async fn holder(pool: &sqlx::PgPool) -> Option<Uuid> {
    sqlx::query_scalar("select holder from bus.leader_role where role = $1")
        .bind(ROLE)
        .fetch_optional(pool)
        .await
        .expect("leader role")
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_outbox_and_a_killed_leader_is_replaced() {
    // The role is tried every 2 s, so a takeover happens as soon as the
    // lease allows.
    let mut shop = Shop::open_with("", false, &[("RUSTBILL_ORDERS__TIMEOUT_SCAN_INTERVAL_SECS", "2")]).await;
    let mut other = shop.server.another_instance().await.expect("second instance");
    let pool = shop.server.pool().await;
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

    // Eight orders paid from the balance, placed alternately through the
    // two edges; both instances' consumers work the outbox.
    let customer = shop.customer("ha_customer").await;
    shop.credit(&customer, "100.00").await;
    let channels = [shop.channel.clone(), other.channel().await];
    let mut ids = Vec::new();
    for turn in 0..8 {
        let created = OrderServiceClient::new(channels[turn % 2].clone())
            .create_order(bearer(shop.order_request("balance"), &customer.access_token))
            .await
            .expect("create order")
            .into_inner();
        ids.push(created.order.expect("order").id);
    }
    for id in &ids {
        active(&channels[1], &shop.admin, id).await;
    }
    // Exactly once: one instance and one debit per order, a ledger that sums.
    let per_order: Vec<i64> =
        sqlx::query_scalar("select count(*) from orders.instances where customer_id = $1::uuid group by order_id")
            .bind(&customer.customer_id)
            .fetch_all(&pool)
            .await
            .expect("instances");
    assert_eq!(per_order, vec![1; 8], "one instance per order");
    let debits: i64 = sqlx::query_scalar(
        "select count(*) from payments.balance_transactions where customer_id = $1::uuid and transaction_type = 'payment'",
    )
    .bind(&customer.customer_id)
    .fetch_one(&pool)
    .await
    .expect("debits");
    assert_eq!(debits, 8, "one debit per order");
    shop.assert_ledger_balances(&customer).await;
    let unfinished: i64 = sqlx::query_scalar("select count(*) from bus.delivery where status <> 'done'")
        .fetch_one(&pool)
        .await
        .expect("deliveries");
    assert_eq!(unfinished, 0, "every delivery done, none parked");

    // Kill whichever process holds the role.
    let old = wait_for("a holder of the role", Duration::from_secs(30), || holder(&pool)).await;
    let holder_is_first = shop.server.log().contains(&old.to_string());
    assert!(holder_is_first || other.log().contains(&old.to_string()), "the holder's log names it");
    let killed = Instant::now();
    if holder_is_first {
        shop.server.kill().await.expect("kill the first instance");
    } else {
        other.kill().await.expect("kill the second instance");
    }
    let new = wait_for("another instance to take the role", Duration::from_secs(60), || async {
        holder(&pool).await.filter(|new| *new != old)
    })
    .await;
    let took = killed.elapsed();
    println!("{ROLE}: taken over {:.1} s after the holder was killed (lease 30 s)", took.as_secs_f64());
    assert!(
        took <= Duration::from_secs(40),
        "the role came back after {took:?}: the 30 s lease plus one attempt should be enough"
    );
    let (survivor_log, survivor) =
        if holder_is_first { (other.log(), channels[1].clone()) } else { (shop.server.log(), channels[0].clone()) };
    assert!(survivor_log.contains(&new.to_string()), "the surviving process holds the role now");

    // The survivor keeps the pipeline going alone.
    let created = OrderServiceClient::new(survivor.clone())
        .create_order(bearer(shop.order_request("balance"), &customer.access_token))
        .await
        .expect("create order on the survivor")
        .into_inner();
    active(&survivor, &shop.admin, &created.order.expect("order").id).await;
}
