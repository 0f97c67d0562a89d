//! The order pipeline through the edge with the real services: create →
//! pay (balance or the epay gateway and its callback URL) → provision
//! through the provider plugin → instance; the saga when the provider
//! refuses; duplicate and concurrent callbacks; concurrent balance
//! payments; the ledger always summing to the balance.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use rustbill_proto::balance::balance_service_client::BalanceServiceClient;
use rustbill_proto::balance::*;
use rustbill_proto::customer::UpdateCustomerRequest;
use rustbill_proto::customer::customer_service_client::CustomerServiceClient;
use rustbill_proto::instance::instance_service_client::InstanceServiceClient;
use rustbill_proto::instance::*;
use rustbill_proto::order::order_service_client::OrderServiceClient;
use rustbill_proto::order::*;
use rustbill_proto::payment::payment_service_client::PaymentServiceClient;
use rustbill_proto::payment::*;
use rustbill_proto::product::product_service_client::ProductServiceClient;
use rustbill_proto::product::*;
use rustbill_system_tests::flows::{self, Customer};
use rustbill_system_tests::{TestServer, bearer, session};
use tonic::Code;
use tonic::transport::Channel;

use crate::epay_server::{self, EpayServer};

const PROVIDER: &str = include_str!("../../fixtures/plugins/provider-demo.rn");
const YIPAY: &str = include_str!("../../../plugins/gateway-yipay.rn");

/// How long the pipeline may take to settle an order.
pub(crate) const SETTLE: Duration = Duration::from_secs(30);

pub(crate) struct Shop {
    pub(crate) server: TestServer,
    pub(crate) _plugins: tempfile::TempDir,
    pub(crate) admin: String,
    pub(crate) channel: Channel,
    pub(crate) provider: String,
    pub(crate) product: ProductInfo,
    pub(crate) epay: Option<(EpayServer, String)>,
}

impl Shop {
    /// A server with the demo provider (its config extended by
    /// `provider_config`), a 10.00/month product, and optionally the epay
    /// gateway against a local epay server.
    pub(crate) async fn open(provider_config: &str, with_epay: bool) -> Self {
        Self::open_with(provider_config, with_epay, &[]).await
    }

    /// [`Shop::open`] with more server settings (`RUSTBILL_…`).
    pub(crate) async fn open_with(provider_config: &str, with_epay: bool, settings: &[(&str, &str)]) -> Self {
        let (server, plugins) = flows::server_with_plugins_and(
            &[
                ("provider-demo.rn", PROVIDER),
                ("gateway-yipay.rn", YIPAY),
                ("notifier-webhook.rn", include_str!("../../../plugins/notifier-webhook.rn")),
                ("notifier-email.rn", include_str!("../../../plugins/notifier-email.rn")),
            ],
            settings,
        )
        .await;
        let admin = flows::bootstrap_admin(&server).await;
        let config = format!(r#"{{"api_url":"https://demo.example","base_price":"8.00"{provider_config}}}"#);
        let provider = flows::enabled_interface(&server, &admin, "demo", "Demo", &config).await;
        let epay = if with_epay {
            let epay = EpayServer::start().await;
            let config = serde_json::json!({
                "api_url": format!("{}/", epay.base_url()),
                "pid": epay_server::PID,
                "key": epay_server::KEY,
                "default_type": "alipay",
            });
            let gateway = flows::enabled_interface(&server, &admin, "yipay", "Epay", &config.to_string()).await;
            Some((epay, gateway))
        } else {
            None
        };
        let channel = server.channel().await;
        let product = ProductServiceClient::new(channel.clone())
            .create_product(session(
                CreateProductRequest {
                    name: "VPS S".into(),
                    description: "A small server".into(),
                    price_per_month: "10.00".into(),
                    interface_id: provider.clone(),
                    billing_cycles: [("monthly", "10.00"), ("yearly", "100.00")]
                        .into_iter()
                        .map(|(cycle, price)| (cycle.to_string(), price.to_string()))
                        .collect(),
                    ..Default::default()
                },
                &admin,
            ))
            .await
            .expect("create product")
            .into_inner()
            .product
            .expect("product");
        Self { server, _plugins: plugins, admin, channel, provider, product, epay }
    }

    pub(crate) fn orders(&self) -> OrderServiceClient<Channel> {
        OrderServiceClient::new(self.channel.clone())
    }

    pub(crate) fn balance(&self) -> BalanceServiceClient<Channel> {
        BalanceServiceClient::new(self.channel.clone())
    }

    pub(crate) fn payments(&self) -> PaymentServiceClient<Channel> {
        PaymentServiceClient::new(self.channel.clone())
    }

    pub(crate) fn instances(&self) -> InstanceServiceClient<Channel> {
        InstanceServiceClient::new(self.channel.clone())
    }

    pub(crate) fn gateway(&self) -> &str {
        &self.epay.as_ref().expect("epay configured").1
    }

    pub(crate) fn epay(&self) -> &EpayServer {
        &self.epay.as_ref().expect("epay configured").0
    }

    pub(crate) async fn customer(&self, name: &str) -> Customer {
        flows::register_customer(&self.server, name).await
    }

    pub(crate) async fn credit(&self, customer: &Customer, amount: &str) {
        self.balance()
            .adjust_balance(session(
                AdjustBalanceRequest {
                    customer_id: customer.customer_id.clone(),
                    amount: amount.into(),
                    description: "test top-up".into(),
                },
                &self.admin,
            ))
            .await
            .expect("adjust balance");
    }

    pub(crate) fn order_request(&self, gateway: &str) -> CreateOrderRequest {
        CreateOrderRequest {
            product_id: self.product.id.clone(),
            currency: "CNY".into(),
            gateway_interface_id: gateway.into(),
            billing_cycle: "monthly".into(),
            server_spec: Some(ServerSpec {
                extra_specs: [("os".to_string(), "debian-12".to_string())].into_iter().collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub(crate) async fn order(&self, customer: &Customer, gateway: &str) -> Result<CreateOrderResponse, tonic::Status> {
        self.orders()
            .create_order(bearer(self.order_request(gateway), &customer.access_token))
            .await
            .map(tonic::Response::into_inner)
    }

    pub(crate) async fn get_order(&self, id: &str) -> OrderInfo {
        self.orders()
            .get_order(session(GetOrderRequest { id: id.into() }, &self.admin))
            .await
            .expect("get order")
            .into_inner()
            .order
            .expect("order")
    }

    /// Waits until the order reaches `status` (failing on another final one).
    pub(crate) async fn settled(&self, id: &str, status: &str) -> OrderInfo {
        let deadline = tokio::time::Instant::now() + SETTLE;
        loop {
            let order = self.get_order(id).await;
            if order.status == status {
                return order;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "order {id} is {} after {SETTLE:?}, expected {status}; server log:\n{}",
                order.status,
                self.server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn balance_of(&self, customer: &Customer) -> Decimal {
        let balance = self
            .balance()
            .get_balance(bearer(GetBalanceRequest::default(), &customer.access_token))
            .await
            .expect("get balance")
            .into_inner();
        Decimal::from_str(&balance.balance).expect("decimal balance")
    }

    /// The customer's ledger, newest first.
    pub(crate) async fn ledger(&self, customer: &Customer) -> Vec<BalanceTransactionInfo> {
        self.balance()
            .list_balance_transactions(bearer(
                ListBalanceTransactionsRequest {
                    pagination: Some(rustbill_proto::common::PageRequest { page: 1, page_size: 100 }),
                    ..Default::default()
                },
                &customer.access_token,
            ))
            .await
            .expect("ledger")
            .into_inner()
            .transactions
    }

    /// The ledger sums to the balance, and each row's before + amount = after.
    pub(crate) async fn assert_ledger_balances(&self, customer: &Customer) -> Vec<BalanceTransactionInfo> {
        let ledger = self.ledger(customer).await;
        let money = |text: &str| Decimal::from_str(text).expect("decimal");
        let sum: Decimal = ledger.iter().map(|row| money(&row.amount)).sum();
        assert_eq!(sum, self.balance_of(customer).await, "ledger {ledger:?}");
        for row in &ledger {
            assert_eq!(money(&row.balance_before) + money(&row.amount), money(&row.balance_after), "{row:?}");
        }
        ledger
    }

    /// Sends the epay notification for `payment_id` to the edge's callback
    /// URL; returns the HTTP status and body.
    pub(crate) async fn notify(&self, query: &str) -> (u16, String) {
        let url = format!("{}/callback/{}?{query}", self.server.edge, self.gateway());
        let response = reqwest::Client::new().get(url).send().await.expect("callback request");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// The customer follows the payment URL (the epay server opens the
    /// order) and pays; returns the notification epay would send.
    pub(crate) async fn pay_at_epay(&self, payment_url: &str, payment_id: &str) -> String {
        let opened = reqwest::Client::new().get(payment_url).send().await.expect("open the payment page");
        assert!(opened.status().is_success(), "epay refused the payment URL: {}", opened.status());
        self.epay().pay(payment_id)
    }

    pub(crate) async fn count(&self, sql: &str) -> i64 {
        let pool = self.server.pool().await;
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&pool).await.expect(sql);
        pool.close().await;
        count
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_from_the_balance_gives_a_running_instance() {
    let shop = Shop::open("", false).await;
    let alice = shop.customer("alice_bal").await;
    let bob = shop.customer("bob_bal").await;
    shop.credit(&alice, "100.00").await;

    let created = shop.order(&alice, "balance").await.expect("create order");
    let order = created.order.expect("order");
    assert_eq!(order.amount, "10.00", "the catalog's monthly price");
    assert_eq!(order.customer_id, alice.customer_id, "taken from the token");
    assert_eq!(order.provider_interface_id, shop.provider, "taken from the product");
    assert_eq!(created.payment.expect("payment info").gateway_interface_id, "balance");

    let active = shop.settled(&order.id, "active").await;
    assert!(active.provider_instance_id.starts_with("demo-"), "{active:?}");
    assert!(!active.gateway_payment_id.is_empty());
    assert_eq!(shop.balance_of(&alice).await, Decimal::new(9000, 2));
    let ledger = shop.assert_ledger_balances(&alice).await;
    let kinds: Vec<&str> = ledger.iter().map(|row| row.transaction_type.as_str()).collect();
    assert_eq!(kinds, ["payment", "manual_adjust"]);

    // The instance, as the customer sees it.
    let instances = shop
        .instances()
        .list_instances(bearer(ListInstancesRequest::default(), &alice.access_token))
        .await
        .expect("list instances")
        .into_inner();
    assert_eq!(instances.meta.expect("meta").total, 1);
    let instance = instances.instances[0].clone();
    assert_eq!((instance.status.as_str(), instance.ip_address.as_str()), ("running", "192.0.2.10"));
    assert_eq!(instance.order_id, order.id);
    assert_eq!(instance.server_spec.get("os").map(String::as_str), Some("debian-12"));
    // Found by its order (the admin app's order page), and by no other.
    let by_order = |order_id: &str| {
        let (mut instances, admin) = (shop.instances(), shop.admin.clone());
        let request = ListInstancesRequest { order_id: order_id.into(), ..Default::default() };
        async move { instances.list_instances(session(request, &admin)).await }
    };
    let found = by_order(&order.id).await.expect("by order").into_inner().instances;
    assert_eq!(found.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), [instance.id.as_str()]);
    let none = by_order(&uuid::Uuid::now_v7().to_string()).await.expect("by another order").into_inner();
    assert!(none.instances.is_empty());
    let bad = by_order("not-an-id").await.expect_err("a bad order id");
    assert_eq!(bad.code(), Code::InvalidArgument);
    let detail = shop
        .instances()
        .get_instance(bearer(GetInstanceRequest { id: instance.id.clone() }, &alice.access_token))
        .await
        .expect("get instance")
        .into_inner();
    assert_eq!(detail.sections[0].title, "Server");
    assert!(detail.sections[0].content_html.contains("192.0.2.10"));
    assert_eq!(detail.actions[0].id, "reboot");
    assert_eq!(detail.actions[0].enabled, Some(true));

    // The catalog keeps a product that a live order uses: deleting it only
    // takes it off sale.
    let deleted = ProductServiceClient::new(shop.channel.clone())
        .delete_product(session(DeleteProductRequest { id: shop.product.id.clone() }, &shop.admin))
        .await
        .expect("delete product")
        .into_inner();
    assert!(deleted.deactivated, "a live order uses it");
    let kept = ProductServiceClient::new(shop.channel.clone())
        .get_product(session(GetProductRequest { id: shop.product.id.clone() }, &shop.admin))
        .await
        .expect("still there")
        .into_inner()
        .product
        .expect("product");
    assert!(!kept.is_active);

    // Another customer sees none of it.
    let hidden = shop
        .orders()
        .get_order(bearer(GetOrderRequest { id: order.id.clone() }, &bob.access_token))
        .await
        .expect_err("bob cannot read alice's order");
    assert_eq!(hidden.code(), Code::NotFound);
    let hidden = shop
        .instances()
        .get_instance(bearer(GetInstanceRequest { id: instance.id.clone() }, &bob.access_token))
        .await
        .expect_err("bob cannot read alice's instance");
    assert_eq!(hidden.code(), Code::NotFound);
    let bobs = shop
        .orders()
        .list_orders(bearer(
            ListOrdersRequest { customer_id: Some(alice.customer_id.clone()), ..Default::default() },
            &bob.access_token,
        ))
        .await
        .expect("list orders")
        .into_inner();
    assert_eq!(bobs.meta.expect("meta").total, 0, "a customer's customer_id filter is ignored");

    let refreshed = shop
        .instances()
        .refresh_instance_status(bearer(RefreshInstanceStatusRequest { id: instance.id.clone() }, &alice.access_token))
        .await
        .expect("refresh")
        .into_inner()
        .instance
        .expect("instance");
    assert_eq!((refreshed.status.as_str(), refreshed.ip_address.as_str()), ("running", "192.0.2.10"));

    // Actions through the provider, termination only when confirmed.
    let rebooted = shop
        .instances()
        .execute_instance_action(bearer(
            ExecuteInstanceActionRequest {
                id: instance.id.clone(),
                action: "reboot".into(),
                params_json: String::new(),
            },
            &alice.access_token,
        ))
        .await
        .expect("reboot")
        .into_inner();
    assert!(rebooted.success);
    assert_eq!(rebooted.message, "done reboot");
    let unknown = shop
        .instances()
        .execute_instance_action(bearer(
            ExecuteInstanceActionRequest {
                id: instance.id.clone(),
                action: "explode".into(),
                params_json: String::new(),
            },
            &alice.access_token,
        ))
        .await
        .expect_err("not an offered action");
    assert_eq!(unknown.code(), Code::InvalidArgument);
    let unconfirmed = shop
        .instances()
        .terminate_instance(bearer(
            TerminateInstanceRequest { id: instance.id.clone(), confirm: false },
            &alice.access_token,
        ))
        .await
        .expect_err("terminate needs confirmation");
    assert_eq!(unconfirmed.code(), Code::InvalidArgument);
    let terminated = shop
        .instances()
        .terminate_instance(bearer(
            TerminateInstanceRequest { id: instance.id.clone(), confirm: true },
            &alice.access_token,
        ))
        .await
        .expect("terminate")
        .into_inner()
        .instance
        .expect("instance");
    assert_eq!(terminated.status, "terminated");
    assert_eq!(shop.get_order(&order.id).await.status, "terminated");

    // Exactly one of each pipeline event.
    for (event, expected) in [
        ("payments.payment_succeeded", 1),
        ("order_paid", 1),
        ("order_provisioned", 1),
        ("instance.terminated", 1),
        ("order_cancelled", 0),
    ] {
        let count = shop.count(&format!("select count(*) from bus.event_queue where event_type = '{event}'")).await;
        assert_eq!(count, expected, "{event}");
    }
    let provisioned: serde_json::Value = {
        let pool = shop.server.pool().await;
        sqlx::query_scalar("select payload from bus.event_queue where event_type = 'order_provisioned'")
            .fetch_one(&pool)
            .await
            .expect("event")
    };
    assert_eq!(provisioned["customer_email"], alice.email.as_str());
    assert_eq!(provisioned["product_name"], "VPS S");
    assert_eq!(provisioned["amount"], "10.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_through_epay_and_its_callback_url() {
    let shop = Shop::open("", true).await;
    let carol = shop.customer("carol_epay").await;
    let created = shop.order(&carol, shop.gateway()).await.expect("create order with a gateway");
    let order = created.order.expect("order");
    let payment = created.payment.expect("payment info");
    assert!(payment.payment_url.starts_with(&shop.epay().base_url()), "{payment:?}");
    assert_eq!(shop.get_order(&order.id).await.status, "pending");

    let notification = shop.pay_at_epay(&payment.payment_url, &payment.payment_id).await;
    // A forged notification (another amount, signed with a wrong key) is
    // refused and changes nothing.
    let forged = epay_server::Notification::of(&shop.epay().order(&payment.payment_id).expect("epay order"))
        .with("money", "0.01")
        .signed("wrong-key");
    assert_eq!(shop.notify(&forged).await, (400, "fail".to_string()));
    assert_eq!(shop.get_order(&order.id).await.status, "pending");

    assert_eq!(shop.notify(&notification).await, (200, "success".to_string()));
    let active = shop.settled(&order.id, "active").await;
    assert_eq!(active.gateway_interface_id, shop.gateway());
    // epay notifies again (it retries until it reads "success"): same answer,
    // nothing happens twice.
    assert_eq!(shop.notify(&notification).await, (200, "success".to_string()));
    let record = shop
        .payments()
        .get_payment(bearer(GetPaymentRequest { id: payment.payment_id.clone() }, &carol.access_token))
        .await
        .expect("get payment")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!((record.status.as_str(), record.amount.as_str()), ("success", "10.00"));
    assert!(!record.gateway_tx_id.is_empty());
    assert_eq!(shop.count("select count(*) from orders.instances").await, 1);
    assert_eq!(shop.count("select count(*) from bus.event_queue where event_type = 'order_paid'").await, 1);

    // A balance recharge through the same gateway credits the ledger once.
    let recharge = shop
        .balance()
        .recharge(bearer(
            RechargeRequest {
                amount: "20.00".into(),
                gateway_interface_id: shop.gateway().into(),
                return_url: String::new(),
            },
            &carol.access_token,
        ))
        .await
        .expect("recharge")
        .into_inner();
    let notification = shop.pay_at_epay(&recharge.payment_url, &recharge.payment_id).await;
    for _ in 0..3 {
        assert_eq!(shop.notify(&notification).await, (200, "success".to_string()));
    }
    assert_eq!(shop.balance_of(&carol).await, Decimal::new(2000, 2));
    let ledger = shop.assert_ledger_balances(&carol).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (ledger[0].transaction_type.as_str(), ledger[0].reference_id.as_str()),
        ("recharge", recharge.payment_id.as_str())
    );
    let bad_recharge = shop
        .balance()
        .recharge(bearer(
            RechargeRequest {
                amount: "-5".into(),
                gateway_interface_id: shop.gateway().into(),
                return_url: String::new(),
            },
            &carol.access_token,
        ))
        .await
        .expect_err("negative recharge");
    assert_eq!(bad_recharge.code(), Code::InvalidArgument);

    // A partial refund through the gateway, then never more than what is left.
    let refunded = shop
        .payments()
        .refund_payment(session(
            RefundPaymentRequest { payment_id: record.id.clone(), amount: "4.00".into(), ..Default::default() },
            &shop.admin,
        ))
        .await
        .expect("partial refund")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!((refunded.status.as_str(), refunded.refunded_amount.as_str()), ("success", "4.00"));
    let too_much = shop
        .payments()
        .refund_payment(session(
            RefundPaymentRequest { payment_id: record.id.clone(), amount: "6.01".into(), ..Default::default() },
            &shop.admin,
        ))
        .await
        .expect_err("more than is left");
    assert_eq!(too_much.code(), Code::InvalidArgument);
    let by_customer = shop
        .payments()
        .refund_payment(bearer(
            RefundPaymentRequest { payment_id: record.id.clone(), ..Default::default() },
            &carol.access_token,
        ))
        .await
        .expect_err("customers cannot refund");
    assert_eq!(by_customer.code(), Code::PermissionDenied);
    let rest = shop
        .payments()
        .refund_payment(session(
            RefundPaymentRequest { payment_id: record.id.clone(), ..Default::default() },
            &shop.admin,
        ))
        .await
        .expect("refund the rest")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!((rest.status.as_str(), rest.refunded_amount.as_str()), ("refunded", "10.00"));
    let epay_refunds: Vec<String> = shop
        .epay()
        .order(&payment.payment_id)
        .expect("epay order")
        .refunds
        .iter()
        .map(|refund| refund.money.clone())
        .collect();
    assert_eq!(epay_refunds, ["4.00", "6.00"], "both refunds went through epay");
    // A fully refunded live order is marked refunded.
    shop.settled(&order.id, "refunded").await;

    // A notification that never arrives: the admin asks the gateway, which
    // reconciles the payment; then refunds it to the balance.
    let created = shop.order(&carol, shop.gateway()).await.expect("third order");
    let (quiet_order, quiet_payment) = (created.order.expect("order"), created.payment.expect("payment"));
    shop.pay_at_epay(&quiet_payment.payment_url, &quiet_payment.payment_id).await;
    let queried = shop
        .payments()
        .query_payment_status(session(
            QueryPaymentStatusRequest { payment_id: quiet_payment.payment_id.clone() },
            &shop.admin,
        ))
        .await
        .expect("query status")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!(queried.status, "success");
    shop.settled(&quiet_order.id, "active").await;
    let balance_before = shop.balance_of(&carol).await;
    let to_balance = shop
        .payments()
        .refund_payment(session(
            RefundPaymentRequest {
                payment_id: quiet_payment.payment_id.clone(),
                to_balance: true,
                reason: "goodwill".into(),
                ..Default::default()
            },
            &shop.admin,
        ))
        .await
        .expect("refund to the balance")
        .into_inner()
        .payment
        .expect("payment");
    assert_eq!(to_balance.status, "refunded");
    assert_eq!(shop.balance_of(&carol).await, balance_before + Decimal::new(1000, 2));
    assert_eq!(shop.ledger(&carol).await[0].transaction_type, "refund");
    shop.assert_ledger_balances(&carol).await;
    assert!(shop.epay().order(&quiet_payment.payment_id).expect("epay order").refunds.is_empty(), "not through epay");

    // A payment that arrives after its order was cancelled is given back
    // through the gateway.
    let created = shop.order(&carol, shop.gateway()).await.expect("second order");
    let (late_order, late_payment) = (created.order.expect("order"), created.payment.expect("payment"));
    shop.orders()
        .update_order(session(
            UpdateOrderRequest { id: late_order.id.clone(), status: Some("cancelled".into()), ..Default::default() },
            &shop.admin,
        ))
        .await
        .expect("admin cancels the unpaid order");
    let notification = shop.pay_at_epay(&late_payment.payment_url, &late_payment.payment_id).await;
    assert_eq!(shop.notify(&notification).await, (200, "success".to_string()));
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let payment = shop
            .payments()
            .get_payment(session(GetPaymentRequest { id: late_payment.payment_id.clone() }, &shop.admin))
            .await
            .expect("get payment")
            .into_inner()
            .payment
            .expect("payment");
        if payment.status == "refunded" {
            assert_eq!(payment.refunded_amount, "10.00");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "late payment not refunded: {payment:?}\n{}",
            shop.server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(shop.get_order(&late_order.id).await.status, "cancelled");
    assert_eq!(shop.count("select count(*) from orders.instances").await, 2, "no server for the cancelled order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_failure_cancels_and_refunds() {
    let shop = Shop::open(r#","fail_create":"true""#, false).await;
    let dave = shop.customer("dave_fail").await;
    shop.credit(&dave, "50.00").await;
    let order = shop.order(&dave, "balance").await.expect("create order").order.expect("order");
    let cancelled = shop.settled(&order.id, "cancelled").await;
    assert_eq!(cancelled.amount, "10.00");
    // The refund is asynchronous (payments consumes order_cancelled).
    let deadline = tokio::time::Instant::now() + SETTLE;
    while shop.balance_of(&dave).await != Decimal::new(5000, 2) {
        assert!(tokio::time::Instant::now() < deadline, "no refund; log:\n{}", shop.server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ledger = shop.assert_ledger_balances(&dave).await;
    let kinds: Vec<(&str, &str)> =
        ledger.iter().map(|row| (row.transaction_type.as_str(), row.amount.as_str())).collect();
    assert_eq!(kinds, [("refund", "10.00"), ("payment", "-10.00"), ("manual_adjust", "50.00")]);
    let payments = shop
        .payments()
        .list_payments(bearer(
            ListPaymentsRequest { order_id: Some(order.id.clone()), ..Default::default() },
            &dave.access_token,
        ))
        .await
        .expect("list payments")
        .into_inner()
        .payments;
    assert_eq!(payments.len(), 1);
    assert_eq!((payments[0].status.as_str(), payments[0].refunded_amount.as_str()), ("refunded", "10.00"));
    assert_eq!(shop.count("select count(*) from orders.instances").await, 0);
    let reason: String = {
        let pool = shop.server.pool().await;
        sqlx::query_scalar("select payload->>'reason' from bus.event_queue where event_type = 'order_cancelled'")
            .fetch_one(&pool)
            .await
            .expect("one order_cancelled")
    };
    assert!(reason.contains("no capacity left"), "{reason}");
    // A paid-and-refunded order is not deletable (it took money).
    let refused = shop
        .orders()
        .delete_order(session(DeleteOrderRequest { id: order.id.clone() }, &shop.admin))
        .await
        .expect_err("took money");
    assert_eq!(refused.code(), Code::FailedPrecondition);
}

/// 1,000 notifications at once, ten for each of 100 payments: each payment
/// succeeds once, each order is provisioned once, nothing else moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicate_callbacks_change_each_payment_once() {
    let shop = Shop::open("", true).await;
    let erin = shop.customer("erin_many").await;
    let mut notifications = Vec::new();
    let mut orders = Vec::new();
    for _ in 0..100 {
        let created = shop.order(&erin, shop.gateway()).await.expect("create order");
        let payment = created.payment.expect("payment");
        notifications.push(shop.pay_at_epay(&payment.payment_url, &payment.payment_id).await);
        orders.push(created.order.expect("order").id);
    }
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(100));
    let mut calls = tokio::task::JoinSet::new();
    for round in 0..10 {
        for (index, notification) in notifications.iter().enumerate() {
            // Interleave the duplicates so the same payment is hit by
            // callbacks in flight at the same time.
            let url = format!("{}/callback/{}?{notification}", shop.server.edge, shop.gateway());
            let (client, semaphore) = (client.clone(), semaphore.clone());
            calls.spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("semaphore");
                let response = client.get(url).send().await.expect("callback");
                (round, index, response.status().as_u16(), response.text().await.unwrap_or_default())
            });
        }
    }
    let mut answers = HashMap::new();
    while let Some(joined) = calls.join_next().await {
        let (_, _, status, body) = joined.expect("callback task");
        *answers.entry((status, body)).or_insert(0) += 1;
    }
    assert_eq!(answers, HashMap::from([((200, "success".to_string()), 1000)]), "every notification is acknowledged");
    for id in &orders {
        shop.settled(id, "active").await;
    }
    assert_eq!(shop.count("select count(*) from payments.payments where status = 'success'").await, 100);
    for event in ["payments.payment_succeeded", "order_paid", "order_provisioned"] {
        let count = shop.count(&format!("select count(*) from bus.event_queue where event_type = '{event}'")).await;
        assert_eq!(count, 100, "{event}");
    }
    assert_eq!(shop.count("select count(*) from orders.instances").await, 100);
    assert_eq!(
        shop.count("select count(*) from bus.event_queue where event_type = 'orders.refund_requested'").await,
        0
    );
    assert_eq!(shop.count("select count(*) from bus.delivery where status = 'parked'").await, 0, "nothing parked");
    // No balance moved: gateway payments do not touch the ledger.
    assert_eq!(shop.balance_of(&erin).await, Decimal::ZERO);
    assert!(shop.ledger(&erin).await.is_empty());
}

/// Orders paid from one balance at once never take it below minus the
/// credit limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_balance_payments_respect_the_credit_limit() {
    let shop = Shop::open("", false).await;
    let frank = shop.customer("frank_credit").await;
    shop.credit(&frank, "25.00").await;
    CustomerServiceClient::new(shop.channel.clone())
        .update_customer(session(
            UpdateCustomerRequest {
                id: frank.customer_id.clone(),
                credit_limit: Some("10.00".into()),
                ..Default::default()
            },
            &shop.admin,
        ))
        .await
        .expect("credit limit");
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (orders, request, token) = (shop.orders(), shop.order_request("balance"), frank.access_token.clone());
        attempts.spawn(async move {
            let mut orders = orders;
            orders.create_order(bearer(request, &token)).await.map(|response| response.into_inner())
        });
    }
    let (mut paid, mut refused) = (Vec::new(), 0);
    while let Some(joined) = attempts.join_next().await {
        match joined.expect("task") {
            Ok(created) => paid.push(created.order.expect("order").id),
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                assert!(status.message().contains("insufficient balance"), "{status:?}");
                refused += 1;
            }
        }
    }
    // 25 + 10 of credit covers three orders of 10.
    assert_eq!((paid.len(), refused), (3, 3));
    assert_eq!(shop.balance_of(&frank).await, Decimal::new(-500, 2));
    shop.assert_ledger_balances(&frank).await;
    for id in &paid {
        shop.settled(id, "active").await;
    }
    // Refused orders left nothing behind.
    assert_eq!(shop.count("select count(*) from orders.orders").await, 3);

    // An admin debit (a negative adjustment) may use the credit that is
    // left, and no more.
    shop.credit(&frank, "-5.00").await;
    assert_eq!(shop.balance_of(&frank).await, Decimal::new(-1000, 2));
    let error = shop
        .balance()
        .adjust_balance(session(
            AdjustBalanceRequest {
                customer_id: frank.customer_id.clone(),
                amount: "-0.01".into(),
                description: "one cent too many".into(),
            },
            &shop.admin,
        ))
        .await
        .expect_err("beyond the credit limit");
    assert_eq!(error.code(), Code::FailedPrecondition, "{error:?}");
    assert_eq!(shop.balance_of(&frank).await, Decimal::new(-1000, 2));
    shop.assert_ledger_balances(&frank).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_orders_are_refused_and_change_nothing() {
    let shop = Shop::open("", false).await;
    let gina = shop.customer("gina_bad").await;
    shop.credit(&gina, "5.00").await;
    let base = shop.order_request("balance");
    let spec = |pairs: &[(&str, &str)]| {
        Some(ServerSpec {
            extra_specs: pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect(),
            ..Default::default()
        })
    };
    let cases = [
        (CreateOrderRequest { product_id: "not-a-uuid".into(), ..base.clone() }, Code::InvalidArgument),
        (CreateOrderRequest { product_id: uuid::Uuid::now_v7().to_string(), ..base.clone() }, Code::NotFound),
        (CreateOrderRequest { billing_cycle: "weekly".into(), ..base.clone() }, Code::InvalidArgument),
        (CreateOrderRequest { billing_cycle: "quarterly".into(), ..base.clone() }, Code::InvalidArgument),
        (CreateOrderRequest { currency: "USD".into(), ..base.clone() }, Code::InvalidArgument),
        (CreateOrderRequest { server_spec: spec(&[("os", "plan9")]), ..base.clone() }, Code::InvalidArgument),
        (
            CreateOrderRequest { server_spec: spec(&[("os", "debian-12"), ("cpu_cores", "99")]), ..base.clone() },
            Code::InvalidArgument,
        ),
        (CreateOrderRequest { server_spec: spec(&[]), ..base.clone() }, Code::InvalidArgument),
        (CreateOrderRequest { gateway_interface_id: "paypal".into(), ..base.clone() }, Code::InvalidArgument),
        (CreateOrderRequest { gateway_interface_id: uuid::Uuid::now_v7().to_string(), ..base.clone() }, Code::NotFound),
        // 5.00 does not pay 10.00.
        (base.clone(), Code::FailedPrecondition),
    ];
    for (request, code) in cases {
        let error =
            shop.orders().create_order(bearer(request.clone(), &gina.access_token)).await.expect_err("a bad order");
        assert_eq!(error.code(), code, "{request:?}: {error:?}");
    }
    let anonymous = shop.orders().create_order(base.clone()).await.expect_err("anonymous");
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    assert_eq!(shop.count("select count(*) from orders.orders").await, 0);
    assert_eq!(shop.balance_of(&gina).await, Decimal::new(500, 2));

    // Status changes follow the state machine; customers cannot make them.
    let order = shop.order(&gina, "").await.expect("unpaid order").order.expect("order");
    let update =
        |status: &str| UpdateOrderRequest { id: order.id.clone(), status: Some(status.into()), ..Default::default() };
    let customer_update =
        shop.orders().update_order(bearer(update("cancelled"), &gina.access_token)).await.expect_err("customer");
    assert_eq!(customer_update.code(), Code::PermissionDenied);
    for status in ["active", "completed", "refunded", "terminated", "shipped"] {
        let error = shop.orders().update_order(session(update(status), &shop.admin)).await.expect_err(status);
        assert_eq!(error.code(), Code::InvalidArgument, "{status}");
    }
    let paying_twice = shop
        .orders()
        .pay_order(bearer(
            PayOrderRequest { order_id: order.id.clone(), gateway_interface_id: "balance".into() },
            &gina.access_token,
        ))
        .await
        .expect_err("5.00 does not pay 10.00");
    assert_eq!(paying_twice.code(), Code::FailedPrecondition);
    let cancelled = shop
        .orders()
        .update_order(session(update("cancelled"), &shop.admin))
        .await
        .expect("cancel")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(cancelled.status, "cancelled");
    let pay_cancelled = shop
        .orders()
        .pay_order(bearer(
            PayOrderRequest { order_id: order.id.clone(), gateway_interface_id: "balance".into() },
            &gina.access_token,
        ))
        .await
        .expect_err("cancelled orders are not paid");
    assert_eq!(pay_cancelled.code(), Code::InvalidArgument);
    shop.orders()
        .delete_order(session(DeleteOrderRequest { id: order.id.clone() }, &shop.admin))
        .await
        .expect("an order that never took money can be deleted");
    assert_eq!(shop.count("select count(*) from orders.orders").await, 0);
    assert_eq!(shop.balance_of(&gina).await, Decimal::new(500, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaid_orders_time_out_once() {
    let (server, plugins) = flows::server_with_plugins_and(
        &[("provider-demo.rn", PROVIDER)],
        &[("RUSTBILL_ORDERS__PAYMENT_TIMEOUT_HOURS", "0"), ("RUSTBILL_ORDERS__TIMEOUT_SCAN_INTERVAL_SECS", "1")],
    )
    .await;
    let admin = flows::bootstrap_admin(&server).await;
    let provider =
        flows::enabled_interface(&server, &admin, "demo", "Demo", r#"{"api_url":"https://demo.example"}"#).await;
    let channel = server.channel().await;
    let product = ProductServiceClient::new(channel.clone())
        .create_product(session(
            CreateProductRequest {
                name: "VPS T".into(),
                price_per_month: "10.00".into(),
                interface_id: provider,
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("product")
        .into_inner()
        .product
        .expect("product");
    let hana = flows::register_customer(&server, "hana_late").await;
    let order = OrderServiceClient::new(channel.clone())
        .create_order(bearer(
            CreateOrderRequest {
                product_id: product.id,
                server_spec: Some(ServerSpec {
                    extra_specs: [("os".to_string(), "debian-12".to_string())].into_iter().collect(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &hana.access_token,
        ))
        .await
        .expect("order")
        .into_inner()
        .order
        .expect("order");
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let status = OrderServiceClient::new(channel.clone())
            .get_order(bearer(GetOrderRequest { id: order.id.clone() }, &hana.access_token))
            .await
            .expect("get")
            .into_inner()
            .order
            .expect("order")
            .status;
        if status == "cancelled" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pool = server.pool().await;
    let cancelled: i64 =
        sqlx::query_scalar("select count(*) from bus.event_queue where event_type = 'order_cancelled' and payload->>'reason' = 'not paid in time'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(cancelled, 1, "one cancellation even though the scan keeps running");
    pool.close().await;
    drop(plugins);
}

/// The server is killed (SIGKILL) while orders are being created, paid and
/// provisioned, then started again on the same database: every order that
/// took money ends active with exactly one instance, no order without a
/// payment is provisioned, nothing is paid or provisioned twice, and the
/// ledger still sums to the balance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_pipeline_loses_nothing_and_repeats_nothing() {
    let mut shop = Shop::open("", false).await;
    let ivan = shop.customer("ivan_crash").await;
    shop.credit(&ivan, "300.00").await;
    let mut creating = tokio::task::JoinSet::new();
    for _ in 0..24 {
        let (mut orders, request, token) = (shop.orders(), shop.order_request("balance"), ivan.access_token.clone());
        creating.spawn(async move { orders.create_order(bearer(request, &token)).await.map(|_| ()) });
    }
    // Crash once a third of the orders came back; the rest are in flight.
    let mut answered = 0;
    while answered < 8 {
        if creating.join_next().await.is_none() {
            break;
        }
        answered += 1;
    }
    shop.server.crash_and_restart().await.expect("restart after the crash");
    while creating.join_next().await.is_some() {}
    shop.channel = shop.server.channel().await;

    // Converges: every paid order is provisioned (deliveries the dead
    // instance held are retried once their 30 s lease runs out).
    let pool = shop.server.pool().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let unsettled: i64 = sqlx::query_scalar(
            "select count(*) from orders.orders o
             where exists (select 1 from payments.payments p where p.order_id = o.id and p.status = 'success')
               and o.status <> 'active'",
        )
        .fetch_one(&pool)
        .await
        .expect("count");
        if unsettled == 0 {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            let stuck: Vec<(String, String)> = sqlx::query_as(
                "select o.id::text, o.status from orders.orders o
                 where exists (select 1 from payments.payments p where p.order_id = o.id and p.status = 'success')
                   and o.status <> 'active'",
            )
            .fetch_all(&pool)
            .await
            .expect("stuck orders");
            let deliveries: Vec<String> = sqlx::query_scalar(
                "select format('%s %s %s attempts=%s error=%s locked_until=%s now=%s', consumer, event_id, status,
                               attempts, last_error, locked_until, now())
                 from bus.delivery where status <> 'done'",
            )
            .fetch_all(&pool)
            .await
            .expect("deliveries");
            let activity: Vec<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                "select state, wait_event_type, left(query, 200) from pg_stat_activity where datname = current_database()",
            )
            .fetch_all(&pool)
            .await
            .expect("activity");
            panic!(
                "{unsettled} paid orders not active: {stuck:?}; open deliveries: {deliveries:?}; activity: {activity:#?}\nlog:\n{}",
                shop.server.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let paid: i64 = sqlx::query_scalar("select count(*) from payments.payments where status = 'success'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert!(paid >= 8, "the answered orders were paid: {paid}");
    let scalar = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.expect(sql) }
    };
    assert_eq!(scalar("select count(*) from orders.orders where status = 'active'").await, paid);
    assert_eq!(scalar("select count(*) from orders.instances").await, paid, "one instance per paid order");
    assert_eq!(
        scalar("select count(*) from orders.orders where status <> 'active' and payment_id is not null").await,
        0,
        "no order paid but not provisioned"
    );
    for event in ["payments.payment_succeeded", "order_paid", "order_provisioned"] {
        let count: i64 = sqlx::query_scalar("select count(*) from bus.event_queue where event_type = $1")
            .bind(event)
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(count, paid, "{event}");
    }
    assert_eq!(scalar("select count(*) from bus.event_queue where event_type = 'order_cancelled'").await, 0);
    let spent = Decimal::from(paid) * Decimal::new(1000, 2);
    assert_eq!(shop.balance_of(&ivan).await, Decimal::new(30000, 2) - spent);
    shop.assert_ledger_balances(&ivan).await;
    pool.close().await;
}

/// Who may do what with orders, payments, balances and instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_rpcs_check_their_caller() {
    let shop = Shop::open("", false).await;
    let pool = shop.server.pool().await;
    let hash: String = sqlx::query_scalar("select password_hash from identity.admin_users where username = 'admin'")
        .fetch_one(&pool)
        .await
        .expect("hash");
    sqlx::query(
        "insert into identity.admin_users (id, username, display_name, password_hash, role)
         values ($1, 'otto', 'Otto', $2, 'operator')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(hash)
    .execute(&pool)
    .await
    .expect("operator");
    pool.close().await;
    let operator = flows::admin_cookie(shop.channel.clone(), "otto", rustbill_system_tests::ADMIN_PASSWORD).await;
    let (kim, lee) = (shop.customer("kim_auth").await, shop.customer("lee_auth").await);
    shop.credit(&kim, "30.00").await;
    let order = shop.order(&kim, "balance").await.expect("order").order.expect("order");
    shop.settled(&order.id, "active").await;
    let payment_id = shop
        .payments()
        .list_payments(bearer(ListPaymentsRequest::default(), &kim.access_token))
        .await
        .expect("kim's payments")
        .into_inner()
        .payments[0]
        .id
        .clone();

    let adjust = |customer: &Customer| AdjustBalanceRequest {
        customer_id: customer.customer_id.clone(),
        amount: "1.00".into(),
        description: "test".into(),
    };
    // Admin-only money movements.
    for (who, outcome) in
        [("anonymous", Code::Unauthenticated), ("kim", Code::PermissionDenied), ("operator", Code::PermissionDenied)]
    {
        let request = |message| match who {
            "anonymous" => tonic::Request::new(message),
            "kim" => bearer(message, &kim.access_token),
            _ => session(message, &operator),
        };
        let error = shop.balance().adjust_balance(request(adjust(&kim))).await.expect_err(who);
        assert_eq!(error.code(), outcome, "AdjustBalance by {who}");
        let refund = RefundPaymentRequest { payment_id: payment_id.clone(), ..Default::default() };
        let request = |message| match who {
            "anonymous" => tonic::Request::new(message),
            "kim" => bearer(message, &kim.access_token),
            _ => session(message, &operator),
        };
        let error = shop.payments().refund_payment(request(refund)).await.expect_err(who);
        assert_eq!(error.code(), outcome, "RefundPayment by {who}");
        let update =
            UpdateOrderRequest { id: order.id.clone(), status: Some("suspended".into()), ..Default::default() };
        let request = |message| match who {
            "anonymous" => tonic::Request::new(message),
            "kim" => bearer(message, &kim.access_token),
            _ => session(message, &operator),
        };
        let error = shop.orders().update_order(request(update)).await.expect_err(who);
        assert_eq!(error.code(), outcome, "UpdateOrder status by {who}");
    }
    // Operators read everything and may annotate orders.
    let notes = shop
        .orders()
        .update_order(session(
            UpdateOrderRequest {
                id: order.id.clone(),
                notes: Some("called the customer".into()),
                ..Default::default()
            },
            &operator,
        ))
        .await
        .expect("operator notes")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(notes.notes, "called the customer");
    let all = shop
        .payments()
        .list_payments(session(ListPaymentsRequest::default(), &operator))
        .await
        .expect("operator lists payments")
        .into_inner();
    assert_eq!(all.meta.expect("meta").total, 1);
    for (customer, expected) in [(&kim, 1), (&lee, 0)] {
        let filtered = shop
            .payments()
            .list_payments(session(
                ListPaymentsRequest { customer_id: Some(customer.customer_id.clone()), ..Default::default() },
                &operator,
            ))
            .await
            .expect("payments of one customer")
            .into_inner();
        assert_eq!(filtered.meta.expect("meta").total, expected);
    }
    let query = shop
        .payments()
        .query_payment_status(bearer(QueryPaymentStatusRequest { payment_id: payment_id.clone() }, &kim.access_token))
        .await
        .expect_err("customers do not query gateways");
    assert_eq!(query.code(), Code::PermissionDenied);

    // Customers are scoped to themselves, whatever ids they send.
    let theirs = shop
        .balance()
        .get_balance(bearer(GetBalanceRequest { customer_id: kim.customer_id.clone() }, &lee.access_token))
        .await
        .expect("lee's own balance")
        .into_inner();
    assert_eq!((theirs.customer_id.as_str(), theirs.balance.as_str()), (lee.customer_id.as_str(), "0.00"));
    let ledger = shop
        .balance()
        .list_balance_transactions(bearer(
            ListBalanceTransactionsRequest { customer_id: kim.customer_id.clone(), ..Default::default() },
            &lee.access_token,
        ))
        .await
        .expect("lee's ledger")
        .into_inner();
    assert_eq!(ledger.meta.expect("meta").total, 0);
    let payments_of_kim = shop
        .payments()
        .list_payments(bearer(
            ListPaymentsRequest { customer_id: Some(kim.customer_id.clone()), ..Default::default() },
            &lee.access_token,
        ))
        .await
        .expect("lee's own payments")
        .into_inner();
    assert_eq!(payments_of_kim.meta.expect("meta").total, 0);
    let hidden = shop
        .payments()
        .get_payment(bearer(GetPaymentRequest { id: payment_id.clone() }, &lee.access_token))
        .await
        .expect_err("kim's payment");
    assert_eq!(hidden.code(), Code::NotFound);
    let paying_for_kim = shop
        .orders()
        .pay_order(bearer(
            PayOrderRequest { order_id: order.id.clone(), gateway_interface_id: "balance".into() },
            &lee.access_token,
        ))
        .await
        .expect_err("kim's order");
    assert_eq!(paying_for_kim.code(), Code::NotFound);
    let recharge_by_admin = shop
        .balance()
        .recharge(session(
            RechargeRequest {
                amount: "5.00".into(),
                gateway_interface_id: uuid::Uuid::now_v7().to_string(),
                ..Default::default()
            },
            &shop.admin,
        ))
        .await
        .expect_err("admins have no balance to recharge");
    assert_eq!(recharge_by_admin.code(), Code::PermissionDenied);
    for (name, result) in [
        ("ListOrders", shop.orders().list_orders(ListOrdersRequest::default()).await.map(|_| ())),
        ("ListInstances", shop.instances().list_instances(ListInstancesRequest::default()).await.map(|_| ())),
        ("GetBalance", shop.balance().get_balance(GetBalanceRequest::default()).await.map(|_| ())),
        ("ListPayments", shop.payments().list_payments(ListPaymentsRequest::default()).await.map(|_| ())),
    ] {
        assert_eq!(result.expect_err(name).code(), Code::Unauthenticated, "{name} anonymously");
    }
    // And nothing moved: kim's 30.00 less the one order.
    assert_eq!(shop.balance_of(&kim).await, Decimal::new(2000, 2));
    shop.assert_ledger_balances(&kim).await;
}
