//! gateway-yipay against an epay server; gateway-banktransfer's manual
//! reconciliation.

use rustbill_plugins::engine::{PaymentCreated, PaymentState, PaymentUpdate, PluginType};
use serde_json::{Value as Json, json};

use crate::common::{bundled, call, engine, script};
use crate::epay_server::{EpayServer, KEY, PID, notification};

fn config(server: &EpayServer) -> Json {
    json!({ "api_url": server.base_url(), "pid": PID, "key": KEY, "default_type": "alipay", "site_name": "RustBill 测试" })
}

fn payment(id: &str, amount: &str) -> Json {
    json!({
        "payment_id": id, "description": "VPS 2核4G 月付", "amount": amount, "currency": "CNY",
        "notify_url": "https://billing.example.com/callback/iface", "return_url": "https://billing.example.com/return",
        "client_ip": "203.0.113.7", "method": "",
    })
}

fn callback(query: &str) -> Json {
    json!({ "payload": query, "query": query, "body": "", "http_method": "GET", "content_type": "", "headers": {} })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yipay_pays_queries_verifies_notifications_and_refunds() {
    let engine = engine();
    let info = engine.check(PluginType::Gateway, &bundled("gateway-yipay.rn")).expect("contract");
    assert_eq!(info.version.as_deref(), Some("1.0.0"));
    let server = EpayServer::start().await;
    let config = config(&server);
    let yipay = script("yipay-1", "gateway-yipay.rn");

    // The payment URL is accepted by the gateway: signature, amount, name.
    let raw = call(&engine, &yipay, "create_payment", &config, payment("P1001", "59.00")).await;
    let created = PaymentCreated::from_return(raw).expect("created");
    assert_eq!(created.gateway_payment_id, "P1001");
    let url = created.payment_url.expect("a payment URL");
    assert!(url.starts_with(&format!("{}/submit.php?", server.base_url())), "{url}");
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200, "{}", page.text().await.unwrap());
    let order = server.order("P1001").expect("the gateway opened the order");
    assert_eq!(
        (order.money.as_str(), order.name.as_str(), order.pay_type.as_str()),
        ("59.00", "VPS 2核4G 月付", "alipay")
    );
    assert_eq!(order.notify_url, "https://billing.example.com/callback/iface");

    // A URL whose amount was edited is refused by the gateway.
    let tampered = url.replace("money=59.00", "money=0.01");
    assert_ne!(tampered, url);
    assert_eq!(reqwest::get(&tampered).await.unwrap().status(), 400);

    // Not paid yet.
    let pending = PaymentUpdate::from_return(
        call(&engine, &yipay, "query_payment", &config, json!({"payment_id": "P1001"})).await,
    )
    .expect("query");
    assert_eq!(pending.status, PaymentState::Pending);

    // Pay: the signed notification is believed, and answered `success`.
    let notify = server.pay("P1001");
    let update = PaymentUpdate::from_return(call(&engine, &yipay, "handle_callback", &config, callback(&notify)).await)
        .expect("a valid notification");
    assert_eq!(update.status, PaymentState::Success);
    assert_eq!(update.payment_id, "P1001");
    assert_eq!(update.gateway_tx_id.as_deref(), Some(order.trade_no.as_str()));
    assert_eq!(update.reply.as_deref(), Some("success"));
    let reported: Json = serde_json::from_str(update.raw_response.as_deref().unwrap()).unwrap();
    assert_eq!(reported["money"], "59.00", "the amount goes back for comparison");

    // The same notification again (gateways retry): same answer.
    let again = PaymentUpdate::from_return(call(&engine, &yipay, "handle_callback", &config, callback(&notify)).await)
        .expect("duplicate");
    assert_eq!((again.status, again.reply.as_deref()), (PaymentState::Success, Some("success")));

    // Forgeries: an edited amount, a wrong key, another merchant, no sign.
    let forged_amount = notify.replace("money=59.00", "money=0.01");
    assert_ne!(forged_amount, notify);
    let wrong_key = notification("P1001", &order.trade_no, "59.00", "alipay", "x", PID, "not-the-key");
    let other_pid = notification("P1001", &order.trade_no, "59.00", "alipay", "x", "2002", KEY);
    let unsigned = "pid=1001&out_trade_no=P1001&trade_status=TRADE_SUCCESS&money=59.00".to_string();
    for (forged, reason) in [
        (forged_amount, "invalid signature"),
        (wrong_key, "invalid signature"),
        (other_pid, "another merchant"),
        (unsigned, "unsigned"),
    ] {
        let failure =
            PaymentUpdate::from_return(call(&engine, &yipay, "handle_callback", &config, callback(&forged)).await)
                .expect_err("a forged notification is never a success");
        assert!(failure.message.contains(reason), "{forged}: {}", failure.message);
    }

    // The form-POST flavour of the notification works too.
    let posted = json!({ "payload": notify, "query": "", "body": notify, "http_method": "POST",
                         "content_type": "application/x-www-form-urlencoded", "headers": {} });
    let update = PaymentUpdate::from_return(call(&engine, &yipay, "handle_callback", &config, posted).await).unwrap();
    assert_eq!(update.status, PaymentState::Success);

    // Paid according to the order query.
    let paid = PaymentUpdate::from_return(
        call(&engine, &yipay, "query_payment", &config, json!({"payment_id": "P1001"})).await,
    )
    .unwrap();
    assert_eq!(paid.status, PaymentState::Success);
    assert_eq!(paid.gateway_tx_id.as_deref(), Some(order.trade_no.as_str()));
    assert!(paid.paid_at.is_some());

    // Refund part, then more than what is left.
    let refund = |amount: &str| json!({"payment_id": "P1001", "gateway_payment_id": "P1001", "refund_id": "R1", "amount": amount, "reason": "test"});
    let refunded = PaymentUpdate::from_return(call(&engine, &yipay, "refund", &config, refund("20.00")).await).unwrap();
    assert_eq!(refunded.status, PaymentState::Refunded);
    assert_eq!(server.order("P1001").unwrap().refunded, ["20.00"]);
    let refused = PaymentUpdate::from_return(call(&engine, &yipay, "refund", &config, refund("50.00")).await).unwrap();
    assert_eq!(refused.status, PaymentState::Failed);
    assert!(refused.raw_response.unwrap().contains("退款金额超过可退金额"));
    assert_eq!(server.order("P1001").unwrap().refunded, ["20.00"], "nothing more was refunded");

    // Unknown orders and bad keys are errors, not silent states.
    let error = PaymentUpdate::from_return(
        call(&engine, &yipay, "query_payment", &config, json!({"payment_id": "NOPE"})).await,
    )
    .expect_err("unknown order");
    assert!(error.message.contains("订单号不存在"), "{}", error.message);
    let mut bad_key = config.clone();
    bad_key["key"] = json!("wrong");
    let error = PaymentUpdate::from_return(
        call(&engine, &yipay, "query_payment", &bad_key, json!({"payment_id": "P1001"})).await,
    )
    .expect_err("bad key");
    assert!(error.message.contains("KEY"), "{}", error.message);

    // Bad business input.
    for amount in ["0.00", "-1", ""] {
        let error =
            PaymentCreated::from_return(call(&engine, &yipay, "create_payment", &config, payment("P2", amount)).await)
                .expect_err("bad amount");
        assert!(error.message.contains("amount"), "{}", error.message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yipay_health_follows_the_gateway() {
    let engine = engine();
    let server = EpayServer::start().await;
    let yipay = script("yipay-health", "gateway-yipay.rn");
    let health = |config: Json| {
        let (engine, yipay) = (engine.clone(), yipay.clone());
        async move {
            let raw = call(&engine, &yipay, "health_check", &config, json!({})).await;
            rustbill_plugins::engine::parse_health(PluginType::Gateway, raw)
        }
    };
    assert!(health(config(&server)).await.expect("healthy"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let error = health(json!({"api_url": dead, "pid": PID, "key": KEY})).await.expect_err("unreachable");
    assert!(error.message.contains("Connection refused"), "{}", error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_transfers_wait_for_an_admin_to_confirm_the_exact_amount() {
    let engine = engine();
    let info = engine.check(PluginType::Gateway, &bundled("gateway-banktransfer.rn")).expect("contract");
    assert!(info.has_admin_page);
    let bank = script("bank-1", "gateway-banktransfer.rn");
    let config =
        json!({ "bank_name": "招商银行 上海分行", "account_name": "RustBill Ltd", "account_number": "6214 0000 1234" });
    let action = |function: &'static str, args: Json| {
        let (engine, bank, config) = (engine.clone(), bank.clone(), config.clone());
        async move {
            let raw = call(&engine, &bank, function, &config, args).await;
            rustbill_plugins::engine::parse_gateway_result(raw)
        }
    };
    let query = || async {
        PaymentUpdate::from_return(call(&engine, &bank, "query_payment", &config, json!({"payment_id": "P77"})).await)
            .unwrap()
    };

    let created =
        PaymentCreated::from_return(call(&engine, &bank, "create_payment", &config, payment("P77", "120.00")).await)
            .unwrap();
    assert!(created.payment_url.is_none());
    let instructions = created.instructions.expect("instructions");
    for needle in ["120.00", "P77", "6214 0000 1234", "招商银行", "reference"] {
        assert!(instructions.contains(needle), "{needle} in {instructions}");
    }
    assert_eq!(query().await.status, PaymentState::Pending);

    // No callbacks exist for transfers.
    let error = PaymentUpdate::from_return(call(&engine, &bank, "handle_callback", &config, callback("x=1")).await);
    assert!(error.is_err());

    // Wrong amount, unknown payment, missing reference: refused.
    let wrong = action("confirm_receipt", json!({"payment_id": "P77", "amount": "12.00", "reference": "stmt-1"})).await;
    assert!(wrong.unwrap_err().message.contains("does not match"));
    let unknown =
        action("confirm_receipt", json!({"payment_id": "P78", "amount": "120.00", "reference": "stmt-1"})).await;
    assert!(unknown.unwrap_err().message.contains("no bank transfer payment"));
    let missing = action("confirm_receipt", json!({"payment_id": "P77", "amount": "120.00"})).await;
    assert!(missing.is_err());
    assert_eq!(query().await.status, PaymentState::Pending, "nothing was confirmed");

    action("confirm_receipt", json!({"payment_id": "P77", "amount": "120.00", "reference": "stmt-42"})).await.unwrap();
    let paid = query().await;
    assert_eq!(paid.status, PaymentState::Success);
    assert_eq!(paid.gateway_tx_id.as_deref(), Some("stmt-42"));
    assert!(paid.paid_at.is_some());
    let twice =
        action("confirm_receipt", json!({"payment_id": "P77", "amount": "120.00", "reference": "stmt-43"})).await;
    assert!(twice.unwrap_err().message.contains("already confirmed"));

    // Manual refund: pending until confirmed by hand.
    let refund = json!({"payment_id": "P77", "gateway_payment_id": "P77", "refund_id": "R9", "amount": "120.00", "reason": "cancel"});
    let requested = PaymentUpdate::from_return(call(&engine, &bank, "refund", &config, refund).await).unwrap();
    assert_eq!(requested.status, PaymentState::Pending);
    action("confirm_refund", json!({"payment_id": "P77"})).await.unwrap();
    assert_eq!(query().await.status, PaymentState::Refunded);

    let page = call(&engine, &bank, "admin_page", &config, json!({})).await;
    let page = rustbill_plugins::engine::parse_gateway_result(page).unwrap();
    assert!(page.as_str().unwrap().contains("confirm_receipt"));
}
