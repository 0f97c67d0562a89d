//! Coupons through the edge: created by an admin, previewed and redeemed by
//! customers at CreateOrder, carried by renewal invoices for as many
//! periods as they last, refused with a reason when they do not apply, and
//! their limits held under concurrent orders.

use std::str::FromStr;

use chrono::Utc;
use rust_decimal::Decimal;
use rustbill_proto::billing::billing_service_client::BillingServiceClient;
use rustbill_proto::billing::coupon_service_client::CouponServiceClient;
use rustbill_proto::billing::*;
use rustbill_proto::order::{CreateOrderRequest, DeleteOrderRequest};
use rustbill_proto::product::product_group_service_client::ProductGroupServiceClient;
use rustbill_proto::product::product_service_client::ProductServiceClient;
use rustbill_proto::product::{CreateProductGroupRequest, UpdateProductRequest};
use rustbill_system_tests::{bearer, session};
use tonic::Code;
use tonic::transport::Channel;

use crate::orders::Shop;

fn coupons(shop: &Shop) -> CouponServiceClient<Channel> {
    CouponServiceClient::new(shop.channel.clone())
}

fn money(text: &str) -> Decimal {
    Decimal::from_str(text).expect("decimal")
}

async fn create(shop: &Shop, request: CreateCouponRequest) -> Result<CouponInfo, tonic::Status> {
    Ok(coupons(shop).create_coupon(session(request, &shop.admin)).await?.into_inner().coupon.expect("coupon"))
}

fn percent(code: &str, value: &str) -> CreateCouponRequest {
    CreateCouponRequest {
        code: code.into(),
        kind: "percent".into(),
        value: value.into(),
        duration: "once".into(),
        ..Default::default()
    }
}

fn with_coupon(shop: &Shop, gateway: &str, code: &str) -> CreateOrderRequest {
    CreateOrderRequest { coupon_code: code.into(), ..shop.order_request(gateway) }
}

async fn run_billing(shop: &Shop, as_of: chrono::DateTime<Utc>) -> RunBillingResponse {
    BillingServiceClient::new(shop.channel.clone())
        .run_billing(session(RunBillingRequest { as_of: as_of.to_rfc3339() }, &shop.admin))
        .await
        .expect("run billing")
        .into_inner()
}

async fn period_end(shop: &Shop, order_id: &str) -> chrono::DateTime<Utc> {
    let pool = shop.server.pool().await;
    let end: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("select period_end from orders.orders where id = $1::uuid")
            .bind(order_id)
            .fetch_one(&pool)
            .await
            .expect("period end");
    pool.close().await;
    end.expect("an active order has a period")
}

async fn wait_for_period_after(shop: &Shop, order_id: &str, end: chrono::DateTime<Utc>) {
    let deadline = tokio::time::Instant::now() + crate::orders::SETTLE;
    while period_end(shop, order_id).await <= end {
        assert!(tokio::time::Instant::now() < deadline, "the renewal was not paid");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupons_discount_orders_and_renewals_while_they_last() {
    let shop = Shop::open("", false).await;
    let mia = shop.customer("mia_coupon").await;
    shop.credit(&mia, "100.00").await;

    // 20 % off the first period and one renewal, once per customer.
    let spring = create(
        &shop,
        CreateCouponRequest {
            code: " spring20 ".into(),
            description: "春季促销 / Spring sale".into(),
            duration: "repeating".into(),
            duration_periods: 2,
            max_per_customer: 1,
            ..percent("", "20")
        },
    )
    .await
    .expect("create");
    assert_eq!((spring.code.as_str(), spring.value.as_str(), spring.redemptions), ("SPRING20", "20.00", 0));
    for (request, code, what) in [
        (percent("SPRING20", "10"), Code::AlreadyExists, "the same code"),
        (percent("FREE100", "100"), Code::InvalidArgument, "100 % off"),
        (CreateCouponRequest { kind: "bogus".into(), ..percent("BOGUS", "5") }, Code::InvalidArgument, "kind"),
        (percent("NO", "5"), Code::InvalidArgument, "code too short"),
        (percent("CHEAP", "0"), Code::InvalidArgument, "zero"),
        (
            CreateCouponRequest { duration: "repeating".into(), ..percent("REP0", "5") },
            Code::InvalidArgument,
            "0 periods",
        ),
        (
            CreateCouponRequest {
                starts_at: "2027-02-01T00:00:00Z".into(),
                expires_at: "2027-01-01T00:00:00Z".into(),
                ..percent("BACKWARDS", "5")
            },
            Code::InvalidArgument,
            "expires before it starts",
        ),
    ] {
        let error = create(&shop, request).await.expect_err(what);
        assert_eq!(error.code(), code, "{what}: {error:?}");
    }
    let denied =
        coupons(&shop).create_coupon(bearer(percent("MINE", "50"), &mia.access_token)).await.expect_err("a customer");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // The order form's preview: the price, the discount, what is left.
    let preview = coupons(&shop)
        .preview_coupon(bearer(
            PreviewCouponRequest { code: "Spring20".into(), product_id: shop.product.id.clone(), ..Default::default() },
            &mia.access_token,
        ))
        .await
        .expect("preview")
        .into_inner();
    assert_eq!(
        (preview.list_amount.as_str(), preview.discount_amount.as_str(), preview.amount.as_str()),
        ("10.00", "2.00", "8.00")
    );

    let order = shop
        .orders()
        .create_order(bearer(with_coupon(&shop, "balance", "spring20"), &mia.access_token))
        .await
        .expect("order with the coupon")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(
        (order.amount.as_str(), order.list_amount.as_str(), order.discount_amount.as_str()),
        ("8.00", "10.00", "2.00")
    );
    assert_eq!((order.coupon_code.as_str(), order.coupon_periods_left), ("SPRING20", 1));
    shop.settled(&order.id, "active").await;
    assert_eq!(shop.balance_of(&mia).await, money("92.00"));

    // Once per customer: refused, and nothing else happens.
    let orders_before = shop.count("select count(*) from orders.orders").await;
    let again = shop
        .orders()
        .create_order(bearer(with_coupon(&shop, "balance", "SPRING20"), &mia.access_token))
        .await
        .expect_err("used once already");
    assert_eq!(again.code(), Code::InvalidArgument);
    assert!(again.message().contains("already used"), "{}", again.message());
    assert_eq!(shop.count("select count(*) from orders.orders").await, orders_before);
    assert_eq!(shop.balance_of(&mia).await, money("92.00"));

    // The first renewal is discounted and says so; the second is not.
    let end = period_end(&shop, &order.id).await;
    assert_eq!(run_billing(&shop, end - chrono::Duration::days(6)).await.renewals_issued, 1);
    wait_for_period_after(&shop, &order.id, end).await;
    let second_end = period_end(&shop, &order.id).await;
    assert_eq!(run_billing(&shop, second_end - chrono::Duration::days(6)).await.renewals_issued, 1);
    wait_for_period_after(&shop, &order.id, second_end).await;
    let mut invoices = BillingServiceClient::new(shop.channel.clone())
        .list_invoices(bearer(ListInvoicesRequest::default(), &mia.access_token))
        .await
        .expect("invoices")
        .into_inner()
        .invoices;
    invoices.sort_by(|a, b| a.billing_period_start.cmp(&b.billing_period_start));
    let summary: Vec<(&str, &str, &str, &str)> = invoices
        .iter()
        .map(|invoice| {
            (
                invoice.amount.as_str(),
                invoice.discount_amount.as_str(),
                invoice.items[0].unit_price.as_str(),
                invoice.items[0].coupon_code.as_str(),
            )
        })
        .collect();
    assert_eq!(summary, [("8.00", "2.00", "10.00", "SPRING20"), ("10.00", "0.00", "10.00", "")]);
    assert_eq!(shop.balance_of(&mia).await, money("74.00"));
    shop.assert_ledger_balances(&mia).await;
    assert_eq!(shop.get_order(&order.id).await.coupon_periods_left, 0);
    let html = BillingServiceClient::new(shop.channel.clone())
        .render_invoice(bearer(
            RenderInvoiceRequest { id: invoices[0].id.clone(), locale: "en".into() },
            &mia.access_token,
        ))
        .await
        .expect("render")
        .into_inner()
        .html;
    assert!(html.contains("Coupon SPRING20") && html.contains("CNY 2.00"), "{html}");

    // Codes that do not apply say why, and change nothing.
    let nora = shop.customer("nora_coupon").await;
    shop.credit(&nora, "100.00").await;
    create(
        &shop,
        CreateCouponRequest { product_ids: vec![uuid::Uuid::now_v7().to_string()], ..percent("OTHERS", "10") },
    )
    .await
    .expect("for another product");
    create(&shop, CreateCouponRequest { expires_at: "2020-01-01T00:00:00Z".into(), ..percent("OLD2020", "10") })
        .await
        .expect("expired");
    create(&shop, CreateCouponRequest { starts_at: "2099-01-01T00:00:00Z".into(), ..percent("FUTURE", "10") })
        .await
        .expect("not yet");
    let big =
        create(&shop, CreateCouponRequest { kind: "fixed".into(), value: "10.00".into(), ..percent("TENOFF", "1") })
            .await
            .expect("as much as the price");
    let paused = create(&shop, percent("PAUSED", "10")).await.expect("paused");
    coupons(&shop)
        .update_coupon(session(
            UpdateCouponRequest { id: paused.id.clone(), is_active: Some(false), ..Default::default() },
            &shop.admin,
        ))
        .await
        .expect("deactivate");
    for (code, reason) in [
        ("NOSUCH", "no such coupon"),
        ("others", "does not apply to this product"),
        ("OLD2020", "expired"),
        ("FUTURE", "not valid yet"),
        ("TENOFF", "free"),
        ("PAUSED", "no longer valid"),
        ("bad code!", "letters, digits"),
    ] {
        let error = shop
            .orders()
            .create_order(bearer(with_coupon(&shop, "balance", code), &nora.access_token))
            .await
            .expect_err(code);
        assert_eq!(error.code(), Code::InvalidArgument, "{code}");
        assert!(error.message().contains(reason), "{code}: {}", error.message());
    }
    assert_eq!(shop.balance_of(&nora).await, money("100.00"));
    assert_eq!(shop.count("select count(*) from orders.coupon_redemptions").await, 1);

    // A coupon for a product group applies once the product is in it.
    let group = ProductGroupServiceClient::new(shop.channel.clone())
        .create_product_group(session(
            CreateProductGroupRequest { name: "Cloud VPS".into(), ..Default::default() },
            &shop.admin,
        ))
        .await
        .expect("group")
        .into_inner()
        .group
        .expect("group");
    create(&shop, CreateCouponRequest { group_ids: vec![group.id.clone()], ..percent("GROUP10", "10") })
        .await
        .expect("for the group");
    let outside = shop
        .orders()
        .create_order(bearer(with_coupon(&shop, "balance", "GROUP10"), &nora.access_token))
        .await
        .expect_err("not in the group yet");
    assert!(outside.message().contains("does not apply"), "{}", outside.message());
    ProductServiceClient::new(shop.channel.clone())
        .update_product(session(
            UpdateProductRequest {
                id: shop.product.id.clone(),
                group_id: Some(group.id.clone()),
                ..Default::default()
            },
            &shop.admin,
        ))
        .await
        .expect("into the group");
    let grouped = shop
        .orders()
        .create_order(bearer(with_coupon(&shop, "balance", "GROUP10"), &nora.access_token))
        .await
        .expect("in the group")
        .into_inner()
        .order
        .expect("order");
    assert_eq!((grouped.amount.as_str(), grouped.coupon_code.as_str()), ("9.00", "GROUP10"));

    // A used coupon cannot be deleted (deactivate it); an unused one can.
    let error = coupons(&shop)
        .delete_coupon(session(DeleteCouponRequest { id: spring.id.clone() }, &shop.admin))
        .await
        .expect_err("used");
    assert_eq!(error.code(), Code::FailedPrecondition);
    coupons(&shop)
        .delete_coupon(session(DeleteCouponRequest { id: big.id.clone() }, &shop.admin))
        .await
        .expect("unused");
    let listed = coupons(&shop)
        .list_coupons(session(ListCouponsRequest { search: Some("spring".into()), ..Default::default() }, &shop.admin))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.coupons.len(), 1);
    assert_eq!(listed.coupons[0].redemptions, 1);
    // Lowering the limit below what was used is refused.
    let error = coupons(&shop)
        .update_coupon(session(
            UpdateCouponRequest { id: spring.id.clone(), max_redemptions: Some(0), ..Default::default() },
            &shop.admin,
        ))
        .await;
    assert!(error.is_ok(), "0 means unlimited: {error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupon_limits_hold_under_concurrent_orders() {
    let shop = Shop::open("", false).await;
    create(
        &shop,
        CreateCouponRequest {
            kind: "fixed".into(),
            value: "3.00".into(),
            max_redemptions: 3,
            ..percent("LAUNCH3", "1")
        },
    )
    .await
    .expect("launch coupon");
    let mut customers = Vec::new();
    for index in 0..8 {
        let customer = shop.customer(&format!("rush_{index}")).await;
        shop.credit(&customer, "50.00").await;
        customers.push(customer);
    }
    // Eight customers at once, three uses.
    let mut attempts = tokio::task::JoinSet::new();
    for customer in &customers {
        let (mut orders, request, token) =
            (shop.orders(), with_coupon(&shop, "balance", "LAUNCH3"), customer.access_token.clone());
        attempts.spawn(async move { orders.create_order(bearer(request, &token)).await.map(|r| r.into_inner()) });
    }
    let mut won = Vec::new();
    let mut refused = 0;
    while let Some(joined) = attempts.join_next().await {
        match joined.expect("task") {
            Ok(created) => won.push(created.order.expect("order")),
            Err(error) => {
                assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
                assert!(error.message().contains("used up"), "{}", error.message());
                refused += 1;
            }
        }
    }
    assert_eq!((won.len(), refused), (3, 5));
    assert!(won.iter().all(|order| order.amount == "7.00"));
    assert_eq!(shop.count("select count(*) from orders.orders").await, 3, "no order without its coupon");
    assert_eq!(shop.count("select redemptions::bigint from orders.coupons where code = 'LAUNCH3'").await, 3);
    assert_eq!(shop.count("select count(*) from orders.coupon_redemptions").await, 3);
    for order in &won {
        shop.settled(&order.id, "active").await;
    }
    let mut charged = Decimal::ZERO;
    for customer in &customers {
        charged += money("50.00") - shop.balance_of(customer).await;
    }
    assert_eq!(charged, money("21.00"), "three orders at 7.00");

    // One customer, four orders at once, a coupon good once per customer.
    create(&shop, CreateCouponRequest { max_per_customer: 1, ..percent("ONCEEACH", "10") }).await.expect("coupon");
    let greedy = shop.customer("greedy_gus").await;
    shop.credit(&greedy, "50.00").await;
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (mut orders, request, token) =
            (shop.orders(), with_coupon(&shop, "balance", "ONCEEACH"), greedy.access_token.clone());
        attempts.spawn(async move { orders.create_order(bearer(request, &token)).await.map(|r| r.into_inner()) });
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = attempts.join_next().await {
        outcomes.push(joined.expect("task").map(|_| ()).map_err(|error| error.code()));
    }
    assert_eq!(outcomes.iter().filter(|outcome| outcome.is_ok()).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|outcome| **outcome == Err(Code::InvalidArgument)).count(), 3);

    // An order withdrawn before it is paid gives its use back.
    create(&shop, CreateCouponRequest { max_redemptions: 1, ..percent("SOLO", "10") }).await.expect("coupon");
    let pending = shop
        .orders()
        .create_order(bearer(with_coupon(&shop, "", "SOLO"), &greedy.access_token))
        .await
        .expect("unpaid order")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(pending.status, "pending");
    let used_up = shop
        .orders()
        .create_order(bearer(with_coupon(&shop, "", "SOLO"), &greedy.access_token))
        .await
        .expect_err("used up");
    assert!(used_up.message().contains("used up"), "{}", used_up.message());
    shop.orders()
        .delete_order(session(DeleteOrderRequest { id: pending.id.clone() }, &shop.admin))
        .await
        .expect("delete the unpaid order");
    assert_eq!(shop.count("select redemptions::bigint from orders.coupons where code = 'SOLO'").await, 0);
    shop.orders()
        .create_order(bearer(with_coupon(&shop, "", "SOLO"), &greedy.access_token))
        .await
        .expect("the use came back");
}
