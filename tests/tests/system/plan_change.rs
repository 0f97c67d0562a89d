//! Upgrades and downgrades through the edge: prorated to the second at
//! the period's boundaries and in the middle, a net charge paid from the
//! balance before the change takes effect, a net credit to the balance, a
//! change at period end carried by the renewal, the provider's resize, and
//! the refusals.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::billing::billing_service_client::BillingServiceClient;
use rustbill_proto::billing::{ListInvoicesRequest, RunBillingRequest};
use rustbill_proto::order::*;
use rustbill_proto::product::product_service_client::ProductServiceClient;
use rustbill_proto::product::{CreateProductRequest, ProductInfo, UpdateProductRequest};
use rustbill_system_tests::flows::Customer;
use rustbill_system_tests::{bearer, session};
use tonic::Code;

use crate::orders::{SETTLE, Shop};

fn money(text: &str) -> Decimal {
    Decimal::from_str(text).expect("decimal")
}

async fn product(shop: &Shop, name: &str, monthly: &str, interface: &str) -> ProductInfo {
    ProductServiceClient::new(shop.channel.clone())
        .create_product(session(
            CreateProductRequest {
                name: name.into(),
                price_per_month: monthly.into(),
                interface_id: interface.into(),
                ..Default::default()
            },
            &shop.admin,
        ))
        .await
        .expect("create product")
        .into_inner()
        .product
        .expect("product")
}

/// Moves the order's paid period so that `now` is `elapsed` into a period
/// of `total` (a test cannot wait a month).
async fn place_in_period(shop: &Shop, order_id: &str, elapsed: chrono::Duration, total: chrono::Duration) {
    let pool = shop.server.pool().await;
    let start = Utc::now() - elapsed;
    sqlx::query("update orders.orders set period_start = $2, period_end = $3 where id = $1::uuid")
        .bind(order_id)
        .bind(start)
        .bind(start + total)
        .execute(&pool)
        .await
        .expect("move the period");
    pool.close().await;
}

async fn quote(shop: &Shop, who: &Customer, order_id: &str, product_id: &str) -> PlanChangeQuote {
    shop.orders()
        .preview_plan_change(bearer(
            PreviewPlanChangeRequest { order_id: order_id.into(), product_id: product_id.into() },
            &who.access_token,
        ))
        .await
        .expect("preview")
        .into_inner()
        .quote
        .expect("quote")
}

async fn change(
    shop: &Shop,
    who: &Customer,
    order_id: &str,
    product_id: &str,
) -> Result<ChangePlanResponse, tonic::Status> {
    Ok(shop
        .orders()
        .change_plan(bearer(
            ChangePlanRequest { order_id: order_id.into(), product_id: product_id.into() },
            &who.access_token,
        ))
        .await?
        .into_inner())
}

/// The quote's amounts are its own seconds applied to the two prices.
fn assert_prorated(quote: &PlanChangeQuote, period_cost: &str, new_price: &str) {
    let part = |price: &str| {
        (money(price) * Decimal::from(quote.seconds_left) / Decimal::from(quote.period_seconds))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    assert_eq!(money(&quote.credit_amount), part(period_cost), "{quote:?}");
    assert_eq!(money(&quote.charge_amount), part(new_price), "{quote:?}");
    assert_eq!(money(&quote.net_amount), money(&quote.charge_amount) - money(&quote.credit_amount));
}

async fn wait_for_product(shop: &Shop, order_id: &str, product_id: &str) -> OrderInfo {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let order = shop.get_order(order_id).await;
        if order.product_id == product_id {
            return order;
        }
        assert!(tokio::time::Instant::now() < deadline, "the change did not take effect: {order:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_resize(shop: &Shop, order_id: &str, changes: i64) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let done = shop
            .count(&format!(
                "select count(*) from orders.plan_changes where order_id = '{order_id}' and resize_status = 'done'"
            ))
            .await;
        if done == changes {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{done} of {changes} resizes done");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_balance(shop: &Shop, who: &Customer, expected: &str) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    while shop.balance_of(who).await != money(expected) {
        assert!(tokio::time::Instant::now() < deadline, "balance {} != {expected}", shop.balance_of(who).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_changes_are_prorated_to_the_second() {
    let shop = Shop::open("", false).await;
    let medium = product(&shop, "VPS M", "20.00", &shop.provider).await;
    let tiny = product(&shop, "VPS XS", "5.00", &shop.provider).await;
    let ann = shop.customer("ann_upgrade").await;
    shop.credit(&ann, "100.00").await;
    let order = shop.order(&ann, "balance").await.expect("order").order.expect("order");
    shop.settled(&order.id, "active").await;
    assert_eq!(shop.balance_of(&ann).await, money("90.00"));

    // Boundaries: at the first second of a 30-day period the whole period
    // is credited and charged; past its end nothing is.
    let month = chrono::Duration::days(30);
    place_in_period(&shop, &order.id, chrono::Duration::zero(), month).await;
    let start = quote(&shop, &ann, &order.id, &medium.id).await;
    assert_eq!(start.period_seconds, 30 * 24 * 3600);
    assert!(start.period_seconds - start.seconds_left <= 5, "{start:?}");
    assert_eq!((start.credit_amount.as_str(), start.charge_amount.as_str()), ("10.00", "20.00"));
    assert_eq!((start.timing.as_str(), start.new_list_amount.as_str()), ("immediate", "20.00"));
    place_in_period(&shop, &order.id, month + chrono::Duration::hours(1), month).await;
    let after = quote(&shop, &ann, &order.id, &medium.id).await;
    assert_eq!((after.seconds_left, after.net_amount.as_str()), (0, "0.00"));
    // A third of the way: each part its own seconds, rounded to the cent.
    place_in_period(&shop, &order.id, chrono::Duration::days(10), month).await;
    let third = quote(&shop, &ann, &order.id, &medium.id).await;
    assert_prorated(&third, "10.00", "20.00");
    assert!((money("6.66")..=money("6.67")).contains(&money(&third.credit_amount)), "{third:?}");

    // Half way: an upgrade costs 10.00 − 5.00; two at once, one goes.
    place_in_period(&shop, &order.id, chrono::Duration::days(15), month).await;
    let (first, second) =
        tokio::join!(change(&shop, &ann, &order.id, &medium.id), change(&shop, &ann, &order.id, &medium.id));
    let (done, refused) = match (first, second) {
        (Ok(done), Err(refused)) | (Err(refused), Ok(done)) => (done, refused),
        other => panic!("exactly one change goes through: {other:?}"),
    };
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(done.status, "awaiting_payment");
    let upgrade = done.quote.expect("quote");
    assert_prorated(&upgrade, "10.00", "20.00");
    assert_eq!(upgrade.net_amount, "5.00");
    let changed = wait_for_product(&shop, &order.id, &medium.id).await;
    assert_eq!((changed.product_name.as_str(), changed.list_amount.as_str()), ("VPS M", "20.00"));
    assert_eq!(shop.balance_of(&ann).await, money("85.00"));
    wait_for_resize(&shop, &order.id, 1).await;
    let invoices = BillingServiceClient::new(shop.channel.clone())
        .list_invoices(bearer(ListInvoicesRequest::default(), &ann.access_token))
        .await
        .expect("invoices")
        .into_inner()
        .invoices;
    assert_eq!(invoices.len(), 1);
    assert_eq!(
        (invoices[0].kind.as_str(), invoices[0].status.as_str(), invoices[0].total_amount.as_str()),
        ("plan_change", "paid", "5.00")
    );
    assert!(invoices[0].items[0].description.starts_with("VPS S → VPS M"), "{:?}", invoices[0].items);

    // Half way again, down to 5.00: 10.00 back, 2.50 charged, 7.50 to the
    // balance, in effect at once.
    place_in_period(&shop, &order.id, chrono::Duration::days(15), month).await;
    let down = change(&shop, &ann, &order.id, &tiny.id).await.expect("downgrade");
    assert_eq!(down.status, "applied");
    let quoted = down.quote.expect("quote");
    assert_prorated(&quoted, "20.00", "5.00");
    assert_eq!(quoted.net_amount, "-7.50");
    assert_eq!(down.order.expect("order").product_id, tiny.id);
    wait_for_balance(&shop, &ann, "92.50").await;
    shop.assert_ledger_balances(&ann).await;
    wait_for_resize(&shop, &order.id, 2).await;
    let spec: serde_json::Value = {
        let pool = shop.server.pool().await;
        sqlx::query_scalar("select server_spec from orders.instances where order_id = $1::uuid")
            .bind(&order.id)
            .fetch_one(&pool)
            .await
            .expect("instance")
    };
    assert_eq!(spec["os"], "debian-12", "the configuration carries over: {spec}");
    // Each applied change is an event (customers are told; the server resized).
    assert_eq!(shop.count("select count(*) from bus.event_queue where event_type = 'order_plan_changed'").await, 2);
    assert_eq!(
        shop.count("select count(*) from bus.subscription where event_type = 'order_plan_changed'").await,
        2,
        "the provisioner and notify"
    );

    // Refusals change nothing.
    let bob = shop.customer("bob_upgrade").await;
    for (who, product_id, code, what) in [
        (&ann, tiny.id.as_str(), Code::InvalidArgument, "the same product"),
        (&ann, "not-a-uuid", Code::InvalidArgument, "a bad id"),
        (&bob, medium.id.as_str(), Code::NotFound, "another customer's order"),
    ] {
        let error = change(&shop, who, &order.id, product_id).await.expect_err(what);
        assert_eq!(error.code(), code, "{what}: {error:?}");
    }
    let elsewhere = flows_interface(&shop).await;
    let other = product(&shop, "Other VPS", "15.00", &elsewhere).await;
    let error = change(&shop, &ann, &order.id, &other.id).await.expect_err("another provider");
    assert_eq!(error.code(), Code::InvalidArgument);
    // An upgrade the balance cannot pay: refused, the invoice withdrawn.
    let poor = shop.customer("poor_upgrade").await;
    shop.credit(&poor, "10.00").await;
    let small = shop.order(&poor, "balance").await.expect("order").order.expect("order");
    shop.settled(&small.id, "active").await;
    place_in_period(&shop, &small.id, chrono::Duration::days(1), month).await;
    let error = change(&shop, &poor, &small.id, &medium.id).await.expect_err("no money");
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert!(error.message().contains("balance"), "{}", error.message());
    assert_eq!(shop.get_order(&small.id).await.product_id, shop.product.id);
    assert_eq!(
        shop.count(&format!(
            "select count(*) from orders.invoices where customer_id = '{}' and status = 'cancelled'",
            poor.customer_id
        ))
        .await,
        1
    );
    assert_eq!(shop.balance_of(&poor).await, Decimal::ZERO);
}

async fn flows_interface(shop: &Shop) -> String {
    let config = r#"{"api_url":"https://elsewhere.example","base_price":"8.00"}"#;
    rustbill_system_tests::flows::enabled_interface(&shop.server, &shop.admin, "demo", "Elsewhere", config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_at_period_end_rides_on_the_renewal() {
    let shop = Shop::open("", false).await;
    ProductServiceClient::new(shop.channel.clone())
        .update_product(session(
            UpdateProductRequest {
                id: shop.product.id.clone(),
                plan_change_timing: Some("period_end".into()),
                ..Default::default()
            },
            &shop.admin,
        ))
        .await
        .expect("timing");
    let bad = ProductServiceClient::new(shop.channel.clone())
        .update_product(session(
            UpdateProductRequest {
                id: shop.product.id.clone(),
                plan_change_timing: Some("later".into()),
                ..Default::default()
            },
            &shop.admin,
        ))
        .await
        .expect_err("bad timing");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let medium = product(&shop, "VPS M", "20.00", &shop.provider).await;
    let cid = shop.customer("cid_later").await;
    shop.credit(&cid, "100.00").await;
    let order = shop.order(&cid, "balance").await.expect("order").order.expect("order");
    shop.settled(&order.id, "active").await;

    let scheduled = change(&shop, &cid, &order.id, &medium.id).await.expect("schedule");
    assert_eq!(scheduled.status, "scheduled");
    let quoted = scheduled.quote.expect("quote");
    assert_eq!((quoted.timing.as_str(), quoted.net_amount.as_str()), ("period_end", "0.00"));
    assert_eq!(quoted.effective_at, quoted.period_end);
    assert_eq!(shop.get_order(&order.id).await.product_id, shop.product.id, "nothing changes before the end");
    // One pending change at a time; it can be withdrawn, once.
    let again = change(&shop, &cid, &order.id, &medium.id).await.expect_err("pending");
    assert_eq!(again.code(), Code::FailedPrecondition);
    shop.orders()
        .cancel_plan_change(bearer(CancelPlanChangeRequest { order_id: order.id.clone() }, &cid.access_token))
        .await
        .expect("cancel");
    let twice = shop
        .orders()
        .cancel_plan_change(bearer(CancelPlanChangeRequest { order_id: order.id.clone() }, &cid.access_token))
        .await
        .expect_err("nothing pending");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    change(&shop, &cid, &order.id, &medium.id).await.expect("schedule again");

    // The renewal is invoiced at the new price; paid, the change is made.
    let end: DateTime<Utc> = DateTime::parse_from_rfc3339(&quoted.period_end).expect("time").with_timezone(&Utc);
    let report = BillingServiceClient::new(shop.channel.clone())
        .run_billing(session(RunBillingRequest { as_of: (end - chrono::Duration::days(6)).to_rfc3339() }, &shop.admin))
        .await
        .expect("run billing")
        .into_inner();
    assert_eq!((report.renewals_issued, report.paid_from_balance), (1, 1));
    let changed = wait_for_product(&shop, &order.id, &medium.id).await;
    assert_eq!(changed.list_amount, "20.00");
    let invoices = BillingServiceClient::new(shop.channel.clone())
        .list_invoices(bearer(ListInvoicesRequest::default(), &cid.access_token))
        .await
        .expect("invoices")
        .into_inner()
        .invoices;
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].total_amount, "20.00");
    assert!(invoices[0].items[0].description.starts_with("VPS M ("), "{:?}", invoices[0].items);
    assert_eq!(shop.balance_of(&cid).await, money("70.00"));
    wait_for_resize(&shop, &order.id, 1).await;
}
