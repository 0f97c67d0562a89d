//! gateway-yipay against the epay server of `epay_server.rs`.

use std::collections::BTreeMap;

use rustbill_plugins::engine::{
    Engine, PaymentCreated, PaymentState, PaymentUpdate, PluginType, ScriptRef, parse_health,
};
use serde_json::{Value as Json, json};

use super::epay_server::{self, EpayServer, KEY, Notification, PID};
use super::{call, call_json, engine, payment_args, rfc3339, script};
use crate::support::http_server::Reply;

fn config(server: &EpayServer) -> Json {
    json!({ "api_url": format!("{}/", server.base_url()), "pid": PID, "key": KEY, "default_type": "alipay", "site_name": "RustBill 测试" })
}

/// `handle_callback`'s arguments for a GET notification.
fn get_notification(query: &str) -> Json {
    json!({ "payload": query, "query": query, "body": "", "http_method": "GET", "content_type": "", "headers": {} })
}

/// … and for the form-POST flavour.
fn post_notification(form: &str) -> Json {
    json!({ "payload": form, "query": "", "body": form, "http_method": "POST",
            "content_type": "application/x-www-form-urlencoded", "headers": {"content-type": "application/x-www-form-urlencoded"} })
}

struct Yipay {
    engine: Engine,
    script: ScriptRef,
    config: Json,
}

impl Yipay {
    fn new(server: &EpayServer, interface_id: &str) -> Self {
        Self { engine: engine(), script: script(interface_id, "gateway-yipay.rn"), config: config(server) }
    }

    async fn created(&self, args: Json) -> Result<PaymentCreated, rustbill_plugins::engine::PluginFailure> {
        PaymentCreated::from_return(call(&self.engine, &self.script, "create_payment", &self.config, args).await)
    }

    async fn update(
        &self,
        function: &str,
        args: Json,
    ) -> Result<PaymentUpdate, rustbill_plugins::engine::PluginFailure> {
        PaymentUpdate::from_return(call(&self.engine, &self.script, function, &self.config, args).await)
    }

    async fn query(&self, payment_id: &str) -> Result<PaymentUpdate, rustbill_plugins::engine::PluginFailure> {
        self.update("query_payment", json!({"payment_id": payment_id, "gateway_payment_id": payment_id})).await
    }

    async fn notify(&self, query: &str) -> Result<PaymentUpdate, rustbill_plugins::engine::PluginFailure> {
        self.update("handle_callback", get_notification(query)).await
    }

    async fn refund(&self, payment_id: &str, refund_id: &str, amount: &str) -> PaymentUpdate {
        let args = json!({"payment_id": payment_id, "gateway_payment_id": payment_id, "refund_id": refund_id,
                          "amount": amount, "reason": "customer request"});
        self.update("refund", args).await.unwrap_or_else(|error| panic!("refund {amount}: {error}"))
    }

    /// create_payment, then the customer opens the URL (the order exists at
    /// the gateway).
    async fn open(&self, server: &EpayServer, payment_id: &str, amount: &str) -> epay_server::Order {
        let created = self.created(payment_args(payment_id, amount, "")).await.expect("create_payment");
        let page = reqwest::get(created.payment_url.expect("a payment URL")).await.unwrap();
        assert_eq!(page.status(), 200, "{}", page.text().await.unwrap());
        server.order(payment_id).expect("the gateway opened the order")
    }
}

fn raw_json(update: &PaymentUpdate) -> Json {
    let raw = update.raw_response.as_deref().expect("raw_response");
    serde_json::from_str(raw).unwrap_or_else(|error| panic!("raw_response is not JSON ({error}): {raw}"))
}

/// The payment URL carries every protocol field, URL-encoded, signed the
/// way the gateway checks it: the gateway opens the order with the exact
/// amount, name, method and URLs, and refuses an edited URL or one signed
/// with another key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_url_is_signed_and_accepted_by_the_gateway() {
    let server = EpayServer::start().await;
    let yipay = Yipay::new(&server, "yipay-url");

    let mut args = payment_args("P1001", "59", "");
    args["description"] = json!("VPS 2核4G 月付 & more +1 =x 100%");
    let created = yipay.created(args).await.expect("create_payment");
    assert_eq!(created.gateway_payment_id, "P1001");
    assert_eq!((created.qr_code.as_deref(), created.instructions.as_deref()), (None, None));
    let url = created.payment_url.expect("a payment URL");
    let prefix = format!("{}/submit.php?", server.base_url());
    assert!(url.starts_with(&prefix), "{url} (no double slash after the configured api_url/)");

    // The parameters as the gateway decodes them, and our own check of the
    // signature (md-5 in Rust, independent of the script's md5_hex).
    let query = &url[prefix.len()..];
    let fields = epay_server::params(query);
    let expected: BTreeMap<String, String> = [
        ("money", "59.00"),
        ("name", "VPS 2核4G 月付 & more +1 =x 100%"),
        ("notify_url", "https://billing.example.com/callback/0197a1b2-iface"),
        ("out_trade_no", "P1001"),
        ("pid", PID),
        ("return_url", "https://billing.example.com/pay/done?x=1&y=2"),
        ("sitename", "RustBill 测试"),
        ("type", "alipay"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect();
    let mut unsigned = fields.clone();
    let signature = unsigned.remove("sign").expect("sign");
    assert_eq!(unsigned.remove("sign_type").as_deref(), Some("MD5"));
    assert_eq!(unsigned, expected);
    assert_eq!(signature, epay_server::sign(&expected, KEY));

    // The gateway accepts it and opens the order.
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200, "{}", page.text().await.unwrap());
    let order = server.order("P1001").expect("the gateway opened the order");
    assert_eq!(
        (order.money.as_str(), order.name.as_str(), order.pay_type.as_str(), order.sitename.as_str()),
        ("59.00", "VPS 2核4G 月付 & more +1 =x 100%", "alipay", "RustBill 测试")
    );
    assert_eq!(order.notify_url, "https://billing.example.com/callback/0197a1b2-iface");
    assert_eq!(order.return_url, "https://billing.example.com/pay/done?x=1&y=2");

    // Edited URLs are refused: the amount, or an added parameter.
    let cheaper = url.replace("money=59.00", "money=0.01");
    assert_ne!(cheaper, url);
    let reply = reqwest::get(&cheaper).await.unwrap();
    assert_eq!(reply.status(), 400);
    assert!(reply.text().await.unwrap().contains("签名校验失败"));
    assert_eq!(reqwest::get(format!("{url}&param=extra")).await.unwrap().status(), 400);
    assert_eq!(server.order("P1001").unwrap().money, "59.00");

    // The customer's method wins over default_type.
    let wx = yipay.created(payment_args("P1002", "12.30", "wxpay")).await.unwrap();
    let wx_url = wx.payment_url.unwrap();
    assert_eq!(reqwest::get(&wx_url).await.unwrap().status(), 200);
    assert_eq!(server.order("P1002").unwrap().pay_type, "wxpay");
    assert_eq!(server.order("P1002").unwrap().money, "12.30");

    // Signed with another key: the gateway refuses it.
    let mut other = yipay.config.clone();
    other["key"] = json!("someone-else's-key");
    let raw = call(&yipay.engine, &yipay.script, "create_payment", &other, payment_args("P1003", "5.00", "")).await;
    let forged = PaymentCreated::from_return(raw).unwrap().payment_url.unwrap();
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), 400);
    assert!(server.order("P1003").is_none());
    assert_eq!(server.order_count(), 2, "only P1001 and P1002 were opened");
}

/// The order query follows the gateway: unknown until the customer opens
/// the page (a clear error), pending, then paid with the gateway's trade
/// number and its time in RFC 3339 (the gateway's clock is UTC+8 unless
/// configured otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_reports_pending_then_paid() {
    let server = EpayServer::start().await;
    let yipay = Yipay::new(&server, "yipay-query");

    yipay.created(payment_args("P2001", "88.80", "")).await.unwrap();
    let unknown = yipay.query("P2001").await.expect_err("the gateway does not know the order yet");
    assert!(unknown.message.contains("订单号不存在") && unknown.message.contains("-1"), "{}", unknown.message);

    let order = yipay.open(&server, "P2001", "88.80").await;
    let pending = yipay.query("P2001").await.unwrap();
    assert_eq!(pending.status, PaymentState::Pending);
    assert_eq!(pending.payment_id, "P2001");
    assert_eq!(pending.paid_at, None);
    assert_eq!(pending.gateway_tx_id.as_deref(), Some(order.trade_no.as_str()));

    server.pay("P2001");
    let paid = yipay.query("P2001").await.unwrap();
    assert_eq!(paid.status, PaymentState::Success);
    assert_eq!(paid.gateway_tx_id.as_deref(), Some(order.trade_no.as_str()));
    assert_eq!(paid.paid_at.as_deref(), Some("2026-11-23T10:01:00+08:00"));
    rfc3339(paid.paid_at.as_deref().unwrap());
    assert_eq!(raw_json(&paid)["money"], "88.80", "the gateway's amount goes back for comparison");

    let mut utc = yipay.config.clone();
    utc["time_offset"] = json!("+00:00");
    let raw = call(&yipay.engine, &yipay.script, "query_payment", &utc, json!({"payment_id": "P2001"})).await;
    assert_eq!(PaymentUpdate::from_return(raw).unwrap().paid_at.as_deref(), Some("2026-11-23T10:01:00+00:00"));

    // A notification arriving after the query found the payment is a
    // duplicate with the same paid_at.
    let notified =
        yipay.notify(&epay_server::Notification::of(&server.order("P2001").unwrap()).signed(KEY)).await.unwrap();
    assert_eq!(notified.status, PaymentState::Success);
    assert_eq!(notified.paid_at, paid.paid_at);
    assert_eq!(raw_json(&notified)["duplicate"], true);
}

/// A correctly signed notification is believed and answered `success`;
/// repeats are answered the same way without recording twice; forged or
/// tampered ones are errors and never a success, and leave no trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_verified_and_idempotent() {
    let server = EpayServer::start().await;
    let yipay = Yipay::new(&server, "yipay-notify");
    let order = yipay.open(&server, "P3001", "59.00").await;
    let genuine = Notification::of(&order);

    // Forgeries first: none of them may count as the payment.
    let mut flipped = genuine.signed(KEY);
    let sign_at = flipped.find("sign=").unwrap() + "sign=".len();
    let first = &flipped[sign_at..sign_at + 1];
    let replacement = if first == "0" { "1" } else { "0" };
    flipped.replace_range(sign_at..sign_at + 1, replacement);
    let forgeries: Vec<(String, &str)> = vec![
        // Amount edited after signing.
        (genuine.signed(KEY).replace("money=59.00", "money=5900.00"), "invalid signature"),
        // Signed with a key that is not the merchant's.
        (genuine.signed("not-the-key"), "invalid signature"),
        // One character of the signature changed.
        (flipped, "invalid signature"),
        // No signature at all.
        (epay_server::encode(&genuine.fields), "unsigned"),
        // Another merchant's notification, correctly signed.
        (genuine.clone().with("pid", "2002").signed(KEY), "another merchant"),
        // An unknown signature scheme.
        (genuine.signed(KEY).replace("sign_type=MD5", "sign_type=RSA"), "sign_type"),
        // Signed with the right key but for another amount than the payment.
        (genuine.clone().with("money", "0.01").signed(KEY), "amount mismatch"),
    ];
    for (forged, reason) in forgeries {
        match yipay.notify(&forged).await {
            Ok(update) => panic!("forged notification accepted as {:?}: {forged}", update.status),
            Err(failure) => assert!(failure.message.contains(reason), "{forged}: {}", failure.message),
        }
    }
    // Signed and ours, but not a successful trade: not a success.
    let waiting = yipay.notify(&genuine.clone().with("trade_status", "WAIT_BUYER_PAY").signed(KEY)).await.unwrap();
    assert_eq!((waiting.status, waiting.reply.as_deref()), (PaymentState::Pending, Some("success")));

    // The genuine notification: success, the gateway's trade number, the
    // amount for comparison, and the body epay expects.
    let query = server.pay("P3001");
    let update = yipay.notify(&query).await.expect("a valid notification");
    assert_eq!(update.status, PaymentState::Success);
    assert_eq!(update.payment_id, "P3001");
    assert_eq!(update.gateway_tx_id.as_deref(), Some(order.trade_no.as_str()));
    assert_eq!(update.reply.as_deref(), Some("success"));
    let reported = raw_json(&update);
    assert_eq!(reported["money"], "59.00");
    assert_eq!(reported["trade_status"], "TRADE_SUCCESS");
    assert_eq!(reported["duplicate"], false, "the forgeries above recorded nothing");
    let paid_at = update.paid_at.clone().expect("paid_at");
    rfc3339(&paid_at);

    // Gateways repeat notifications until they read `success`: the same
    // answer, recognised as a repeat, with the first paid_at.
    for repeat in [yipay.notify(&query).await, yipay.update("handle_callback", post_notification(&query)).await] {
        let repeat = repeat.expect("a repeated notification");
        assert_eq!((repeat.status, repeat.reply.as_deref()), (PaymentState::Success, Some("success")));
        assert_eq!(repeat.gateway_tx_id, update.gateway_tx_id);
        assert_eq!(repeat.paid_at.as_deref(), Some(paid_at.as_str()));
        assert_eq!(raw_json(&repeat)["duplicate"], true);
    }

    // A payment the script did not create (e.g. before a state loss) is
    // still verified by signature and merchant; its amount goes back in
    // raw_response for the payments service to compare.
    let other = yipay.open(&server, "P3002", "10.00").await;
    let fresh = Yipay::new(&server, "yipay-notify-other");
    let update = fresh.update("handle_callback", post_notification(&server.pay("P3002"))).await.unwrap();
    assert_eq!(update.status, PaymentState::Success);
    assert_eq!(update.gateway_tx_id.as_deref(), Some(other.trade_no.as_str()));
    assert_eq!(raw_json(&update)["money"], "10.00");
    assert!(fresh.notify("").await.expect_err("empty").message.contains("empty"));
}

/// Refunds go to the gateway with the trade number learned from the
/// notification and RustBill's refund number; the gateway's refusals are
/// `failed` with its message, and a full refund shows in the order query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_are_made_at_the_gateway() {
    let server = EpayServer::start().await;
    let yipay = Yipay::new(&server, "yipay-refund");
    let order = yipay.open(&server, "P4001", "59.00").await;

    // Not paid yet: the gateway refuses.
    let refused = yipay.refund("P4001", "R0", "1.00").await;
    assert_eq!(refused.status, PaymentState::Failed);
    assert!(refused.raw_response.as_deref().unwrap().contains("订单未支付"), "{refused:?}");

    yipay.notify(&server.pay("P4001")).await.unwrap();
    let refunded = yipay.refund("P4001", "R1", "20").await;
    assert_eq!(refunded.status, PaymentState::Refunded);
    assert_eq!(refunded.gateway_tx_id.as_deref(), Some(order.trade_no.as_str()));
    let refunds = server.order("P4001").unwrap().refunds;
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        (refunds[0].money.as_str(), refunds[0].out_refund_no.as_str(), refunds[0].by_trade_no),
        ("20.00", "R1", true)
    );
    assert_eq!(refunded.refund_id.as_deref(), Some(refunds[0].refund_no.as_str()));

    // More than what is left: refused, nothing more refunded.
    let too_much = yipay.refund("P4001", "R2", "50.00").await;
    assert_eq!(too_much.status, PaymentState::Failed);
    assert!(too_much.raw_response.as_deref().unwrap().contains("退款金额超过可退金额"));
    assert_eq!(server.order("P4001").unwrap().refunds.len(), 1);

    // The same refund number again is not a second refund.
    assert_eq!(yipay.refund("P4001", "R1", "20.00").await.status, PaymentState::Refunded);
    assert_eq!(server.order("P4001").unwrap().refunds.len(), 1);

    // The rest: the order is fully refunded at the gateway.
    assert_eq!(yipay.refund("P4001", "R3", "39.00").await.status, PaymentState::Refunded);
    assert_eq!(server.order("P4001").unwrap().status, 2);
    assert_eq!(yipay.query("P4001").await.unwrap().status, PaymentState::Refunded);

    // Bad amounts never reach the gateway.
    let requests = server.http.request_count();
    for amount in ["0", "-5", "abc", "1.001", ""] {
        let args = json!({"payment_id": "P4001", "gateway_payment_id": "P4001", "refund_id": "R9", "amount": amount});
        let error = yipay.update("refund", args).await.expect_err("a bad refund amount");
        assert!(error.message.contains("refund amount"), "{amount}: {}", error.message);
    }
    assert_eq!(server.http.request_count(), requests);
}

/// What a gateway in trouble answers becomes a clear error (or `failed`
/// for a refused refund), never a success or a silent pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_errors_are_reported() {
    let server = EpayServer::start().await;
    let yipay = Yipay::new(&server, "yipay-errors");
    yipay.open(&server, "P5001", "30.00").await;
    yipay.notify(&server.pay("P5001")).await.unwrap();

    // Wrong merchant key.
    let mut bad_key = yipay.config.clone();
    bad_key["key"] = json!("wrong");
    let raw = call(&yipay.engine, &yipay.script, "query_payment", &bad_key, json!({"payment_id": "P5001"})).await;
    let error = PaymentUpdate::from_return(raw).expect_err("bad key");
    assert!(error.message.contains("KEY校验失败") && error.message.contains("-3"), "{}", error.message);
    let raw =
        call(&yipay.engine, &yipay.script, "refund", &bad_key, json!({"payment_id": "P5001", "amount": "1.00"})).await;
    let refused = PaymentUpdate::from_return(raw).unwrap();
    assert_eq!(refused.status, PaymentState::Failed);
    assert!(refused.raw_response.unwrap().contains("KEY校验失败"));
    assert!(server.order("P5001").unwrap().refunds.is_empty());

    // An HTTP error, then an answer that is not the epay API.
    server.override_api(Some(Reply::new(500, "internal error")));
    let error = yipay.query("P5001").await.expect_err("HTTP 500");
    assert!(error.message.contains("500"), "{}", error.message);
    server.override_api(Some(Reply::new(200, "<html>maintenance</html>")));
    let error = yipay.query("P5001").await.expect_err("not JSON");
    assert!(error.message.contains("unexpected answer") && error.message.contains("maintenance"), "{}", error.message);
    let error = yipay
        .update("refund", json!({"payment_id": "P5001", "amount": "1.00", "refund_id": "R1"}))
        .await
        .expect_err("not JSON");
    assert!(error.message.contains("unexpected answer"), "{}", error.message);
    // A long answer is cut (on a character boundary) in the message.
    server.override_api(Some(Reply::new(200, format!("<html>x{}</html>", "维护中".repeat(400)))));
    let error = yipay.query("P5001").await.expect_err("not JSON");
    assert!(error.message.ends_with('…') && error.message.len() < 500, "{}", error.message);
    server.override_api(None);
    assert_eq!(yipay.query("P5001").await.unwrap().status, PaymentState::Success, "back to normal");

    // Nobody listening: the refund's outcome is unknown, which is an error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut gone = yipay.config.clone();
    gone["api_url"] = json!(dead);
    let raw =
        call(&yipay.engine, &yipay.script, "refund", &gone, json!({"payment_id": "P5001", "amount": "1.00"})).await;
    let error = PaymentUpdate::from_return(raw).expect_err("unreachable");
    assert!(error.message.contains("state unknown"), "{}", error.message);
}

/// health_check is healthy only when the epay API answers with the
/// configured merchant; each problem comes back with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_the_gateway() {
    let server = EpayServer::start().await;
    let yipay = Yipay::new(&server, "yipay-health");
    let health = |config: Json| {
        let (engine, script) = (yipay.engine.clone(), yipay.script.clone());
        async move { parse_health(PluginType::Gateway, call(&engine, &script, "health_check", &config, json!({})).await) }
    };

    assert!(health(yipay.config.clone()).await.expect("healthy"));
    assert!(server.http.requests().iter().any(|request| request.target.contains("act=order")));

    let mut bad_key = yipay.config.clone();
    bad_key["key"] = json!("wrong");
    let error = health(bad_key).await.expect_err("wrong key");
    assert!(error.message.contains("credentials") && error.message.contains("KEY校验失败"), "{}", error.message);

    server.override_api(Some(Reply::new(200, "<html>a blog</html>")));
    let error = health(yipay.config.clone()).await.expect_err("not an epay API");
    assert!(error.message.contains("does not answer the epay API"), "{}", error.message);
    server.override_api(None);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut gone = yipay.config.clone();
    gone["api_url"] = json!(dead);
    let error = health(gone).await.expect_err("unreachable");
    assert!(error.message.contains("unreachable"), "{}", error.message);

    let error = health(json!({"api_url": "ftp://x", "pid": PID, "key": KEY})).await.expect_err("bad URL");
    assert!(error.message.contains("api_url"), "{}", error.message);
}

/// Bad business input and incomplete configuration are refused before
/// anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_and_configuration_are_refused() {
    let server = EpayServer::start().await;
    let yipay = Yipay::new(&server, "yipay-input");
    for amount in ["0", "0.00", "-1", "", "1.234", "abc", "1.", ".5", "1e3"] {
        let error = yipay.created(payment_args("P6001", amount, "")).await.expect_err("a bad amount");
        assert!(error.message.contains("amount"), "{amount:?}: {}", error.message);
    }
    let error = yipay.created(payment_args("", "1.00", "")).await.expect_err("no payment_id");
    assert!(error.message.contains("payment_id"), "{}", error.message);

    for (field, reason) in [("key", "key is not configured"), ("pid", "pid is not configured"), ("api_url", "api_url")]
    {
        let mut config = yipay.config.clone();
        config[field] = json!("");
        let raw =
            call(&yipay.engine, &yipay.script, "create_payment", &config, payment_args("P6002", "1.00", "")).await;
        let error = PaymentCreated::from_return(raw).expect_err("incomplete config");
        assert!(error.message.contains(reason), "{field}: {}", error.message);
        let error =
            call_json(&yipay.engine, &yipay.script, "initialize", &config, json!({})).await.expect_err("initialize");
        assert!(error.message.contains(reason), "{field}: {}", error.message);
    }
    call_json(&yipay.engine, &yipay.script, "initialize", &yipay.config, json!({})).await.expect("a complete config");
    assert_eq!(server.http.request_count(), 0, "nothing was sent");
}
