//! List totals come from counters the writers keep (orders migration 0003)
//! and deep pages are found through the ordering index: both must stay
//! exactly what counting and ordering the rows says, under concurrent
//! orders, status changes and folds, and without waiting for a fold.

use std::collections::HashSet;

use futures::future::join_all;
use rustbill_proto::common::PageRequest;
use rustbill_proto::instance::ListInstancesRequest;
use rustbill_proto::order::*;
use rustbill_system_tests::flows::Customer;
use rustbill_system_tests::{bearer, session};

use crate::orders::Shop;

/// Every (filter, total) the admin and the customers see, against
/// `count(*)` over the rows.
async fn assert_totals_exact(shop: &Shop, customers: &[&Customer]) {
    let pool = shop.server.pool().await;
    let count = |sql: String| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(&pool).await.expect("count") }
    };
    let statuses = ["", "pending", "paid", "provisioning", "active", "cancelled", "refunded"];
    for status in statuses {
        let filter = if status.is_empty() { String::new() } else { format!(" and status = '{status}'") };
        let listed = shop
            .orders()
            .list_orders(session(ListOrdersRequest { status: Some(status.into()), ..Default::default() }, &shop.admin))
            .await
            .expect("admin list")
            .into_inner();
        let expected = count(format!("select count(*) from orders.orders where true{filter}")).await;
        assert_eq!(listed.meta.expect("meta").total, expected as u64, "admin, status {status:?}");
        for customer in customers {
            let own = shop
                .orders()
                .list_orders(bearer(
                    ListOrdersRequest { status: Some(status.into()), ..Default::default() },
                    &customer.access_token,
                ))
                .await
                .expect("own list")
                .into_inner();
            let expected = count(format!(
                "select count(*) from orders.orders where customer_id = '{}'{filter}",
                customer.customer_id
            ))
            .await;
            assert_eq!(own.meta.expect("meta").total, expected as u64, "{}, status {status:?}", customer.username);
            let by_admin = shop
                .orders()
                .list_orders(session(
                    ListOrdersRequest {
                        status: Some(status.into()),
                        customer_id: Some(customer.customer_id.clone()),
                        ..Default::default()
                    },
                    &shop.admin,
                ))
                .await
                .expect("admin list by customer")
                .into_inner();
            assert_eq!(by_admin.meta.expect("meta").total, expected as u64, "admin on {}", customer.username);
        }
    }
    for (status, filter) in [("", ""), ("running", " and status = 'running'")] {
        let listed = shop
            .instances()
            .list_instances(session(ListInstancesRequest { status: status.into(), ..Default::default() }, &shop.admin))
            .await
            .expect("instances")
            .into_inner();
        let expected = count(format!("select count(*) from orders.instances where true{filter}")).await;
        assert_eq!(listed.meta.expect("meta").total, expected as u64, "instances, status {status:?}");
    }
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_totals_and_deep_pages_stay_exact_under_concurrent_writes() {
    let shop = Shop::open("", false).await;
    let alice = shop.customer("totals-alice").await;
    let bob = shop.customer("totals-bob").await;
    for customer in [&alice, &bob] {
        shop.credit(customer, "1000.00").await;
    }
    let pool = shop.server.pool().await;

    // Writers: each customer places orders paid from the balance (pending →
    // paid → provisioning → active, each a counted move) and unpaid ones,
    // while the admin cancels unpaid ones and the test folds the counters
    // as fast as it can on top of the server's own folding.
    let writers = [&alice, &bob].map(|customer| {
        let shop = &shop;
        async move {
            let mut unpaid = Vec::new();
            for index in 0..12 {
                let gateway = if index % 3 == 0 { "" } else { "balance" };
                let created = shop.order(customer, gateway).await.expect("order").order.expect("order");
                if gateway.is_empty() {
                    unpaid.push(created.id);
                }
            }
            for id in unpaid.iter().step_by(2) {
                shop.orders()
                    .update_order(session(
                        UpdateOrderRequest { id: id.clone(), status: Some("cancelled".into()), ..Default::default() },
                        &shop.admin,
                    ))
                    .await
                    .expect("cancel");
            }
        }
    });
    let folding = tokio_util::sync::CancellationToken::new();
    let folder = {
        let (pool, stop) = (pool.clone(), folding.clone());
        tokio::spawn(async move {
            let mut folds = 0;
            while !stop.is_cancelled() {
                sqlx::query("select orders.fold_counters()").execute(&pool).await.expect("fold");
                folds += 1;
            }
            folds
        })
    };
    join_all(writers).await;
    // Right after the writes, before any fold: the totals are exact.
    assert_totals_exact(&shop, &[&alice, &bob]).await;
    folding.cancel();
    assert!(folder.await.expect("folder") > 0);

    // Once the pipeline has settled, exact again (more moves, more folds).
    rustbill_shared::testkit::wait_for("paid orders to become active", crate::orders::SETTLE, || {
        let pool = pool.clone();
        async move {
            let open: i64 =
                sqlx::query_scalar("select count(*) from orders.orders where status in ('paid', 'provisioning')")
                    .fetch_one(&pool)
                    .await
                    .ok()?;
            (open == 0).then_some(())
        }
    })
    .await;
    assert_totals_exact(&shop, &[&alice, &bob]).await;
    let active: i64 = sqlx::query_scalar("select count(*) from orders.orders where status = 'active'")
        .fetch_one(&pool)
        .await
        .expect("active");
    assert_eq!(active, 16, "8 paid orders per customer");

    // Every page, walked page by page (7 a page, so pages past the first
    // go through the id-first path), is exactly the ordered rows: nothing
    // missing, nothing twice, in order; the page past the end is empty.
    let expected: Vec<String> =
        sqlx::query_scalar("select id::text from orders.orders order by created_at desc, id desc")
            .fetch_all(&pool)
            .await
            .expect("ordered ids");
    let mut walked = Vec::new();
    let mut page = 1;
    loop {
        let listed = shop
            .orders()
            .list_orders(session(
                ListOrdersRequest { pagination: Some(PageRequest { page, page_size: 7 }), ..Default::default() },
                &shop.admin,
            ))
            .await
            .expect("page")
            .into_inner();
        let meta = listed.meta.expect("meta");
        assert_eq!(meta.total, expected.len() as u64);
        assert_eq!(meta.total_pages as usize, expected.len().div_ceil(7));
        if listed.orders.is_empty() {
            assert_eq!(page as usize, expected.len().div_ceil(7) + 1, "the first empty page is the one past the end");
            break;
        }
        walked.extend(listed.orders.into_iter().map(|order| order.id));
        page += 1;
    }
    assert_eq!(walked, expected);
    assert_eq!(walked.iter().collect::<HashSet<_>>().len(), walked.len());

    // A customer's own deep page: only their orders, at their position.
    let own: Vec<String> = sqlx::query_scalar(
        "select id::text from orders.orders where customer_id = $1::uuid order by created_at desc, id desc",
    )
    .bind(&alice.customer_id)
    .fetch_all(&pool)
    .await
    .expect("alice's ids");
    let third = shop
        .orders()
        .list_orders(bearer(
            ListOrdersRequest { pagination: Some(PageRequest { page: 3, page_size: 5 }), ..Default::default() },
            &alice.access_token,
        ))
        .await
        .expect("alice's third page")
        .into_inner();
    let ids: Vec<String> = third.orders.into_iter().map(|order| order.id).collect();
    assert_eq!(ids, own[10..own.len().min(15)].to_vec());
    assert_eq!(third.meta.expect("meta").total, own.len() as u64);
    pool.close().await;
}
