//! An epay (易支付) merchant API on loopback, written from the protocol's
//! published rules (MD5 flavour): `submit.php` checks the signature of the
//! payment URL it is sent to and opens the order, `api.php?act=order`
//! answers order queries, `api.php?act=refund` refunds (POST form, at most
//! what was paid, idempotent per `out_refund_no`), and [`EpayServer::pay`]
//! marks an order paid and returns the signed notification the gateway
//! would send to `notify_url`.
//!
//! For browser tests the cashier page `submit.php` shows has a pay button:
//! its form posts to `pay.php`, which marks the order paid, sends the
//! signed notification to `notify_url` (an HTTP GET, as epay does, from a
//! background task) and sends the payer on to `return_url`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use md5::{Digest, Md5};
use serde_json::json;

use crate::support::http_server::{HttpServer, Recorded, Reply, responder};

pub const PID: &str = "1001";
pub const KEY: &str = "epay-merchant-key-0123456789";
/// When [`EpayServer::pay`] says the order was paid (the gateway's local
/// time, `endtime` of order queries).
pub const PAID_TIME: &str = "2026-11-23 10:01:00";
const CREATED_TIME: &str = "2026-11-23 10:00:00";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub money: String,
    pub out_refund_no: String,
    /// Whether the request named the gateway's trade_no.
    pub by_trade_no: bool,
    pub refund_no: String,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub out_trade_no: String,
    pub money: String,
    pub name: String,
    pub pay_type: String,
    pub notify_url: String,
    pub return_url: String,
    pub sitename: String,
    pub trade_no: String,
    /// 0 unpaid, 1 paid, 2 fully refunded.
    pub status: u8,
    pub refunds: Vec<Refund>,
}

#[derive(Default)]
struct State {
    orders: HashMap<String, Order>,
    next_number: u64,
    /// When set, every `api.php` request gets this reply.
    api_override: Option<Reply>,
}

pub struct EpayServer {
    pub http: HttpServer,
    state: Arc<Mutex<State>>,
}

/// The protocol's signature: non-empty params except `sign`/`sign_type`,
/// sorted by name (byte order = ASCII), `k=v&…` with raw values, the key
/// appended, MD5, lowercase hex.
pub fn sign(params: &BTreeMap<String, String>, key: &str) -> String {
    let text = params
        .iter()
        .filter(|(name, value)| *name != "sign" && *name != "sign_type" && !value.is_empty())
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(Md5::digest(format!("{text}{key}").as_bytes()))
}

/// A form or query string as sorted pairs (requests repeating a name are
/// refused by [`handle`], so which value would win does not matter).
pub fn params(text: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(text.as_bytes()).into_owned() {
        fields.entry(name).or_insert(value);
    }
    fields
}

fn has_duplicates(text: &str) -> bool {
    let mut names: Vec<String> = form_urlencoded::parse(text.as_bytes()).map(|(name, _)| name.into_owned()).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    names.len() != count
}

/// Cents of a decimal with at most two places.
pub fn cents(money: &str) -> Option<u64> {
    let (whole, fraction) = money.split_once('.').unwrap_or((money, ""));
    if whole.is_empty() || fraction.len() > 2 || (money.contains('.') && fraction.is_empty()) {
        return None;
    }
    if !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fraction = format!("{fraction:0<2}");
    Some(whole.parse::<u64>().ok()? * 100 + fraction.parse::<u64>().ok()?)
}

fn json_reply(value: serde_json::Value) -> Reply {
    Reply::new(200, value.to_string()).header("content-type", "application/json; charset=utf-8")
}

fn error(code: i64, message: &str) -> Reply {
    json_reply(json!({"code": code, "msg": message}))
}

fn merchant_ok(fields: &BTreeMap<String, String>) -> bool {
    fields.get("pid").map(String::as_str) == Some(PID) && fields.get("key").map(String::as_str) == Some(KEY)
}

fn handle(state: &Mutex<State>, request: &Recorded) -> Reply {
    let (path, query) = request.target.split_once('?').unwrap_or((request.target.as_str(), ""));
    let body = request.body_text();
    if has_duplicates(query) || has_duplicates(&body) {
        return Reply::new(400, "duplicate parameters");
    }
    let mut fields = params(query);
    if request.method == "POST" {
        for (name, value) in params(&body) {
            fields.entry(name).or_insert(value);
        }
    }
    let mut state = state.lock().unwrap();
    if path == "/api.php" {
        if let Some(reply) = &state.api_override {
            return reply.clone();
        }
    }
    match (path, fields.get("act").map(String::as_str)) {
        ("/submit.php", _) => submit(&mut state, &fields),
        ("/pay.php", _) if request.method == "POST" => cashier_pay(&mut state, &fields),
        ("/api.php", Some("order")) => order_query(&state, &fields),
        ("/api.php", Some("refund")) if request.method == "POST" => refund(&mut state, &fields),
        ("/api.php", Some("refund")) => error(-1, "请使用POST方式提交"),
        _ => Reply::new(404, "not found"),
    }
}

fn submit(state: &mut State, fields: &BTreeMap<String, String>) -> Reply {
    for name in ["pid", "type", "out_trade_no", "notify_url", "name", "money", "sign", "sign_type"] {
        if fields.get(name).is_none_or(String::is_empty) {
            return Reply::new(400, format!("缺少参数 {name}"));
        }
    }
    if fields["pid"] != PID {
        return Reply::new(400, "商户不存在 / unknown merchant");
    }
    if fields["sign_type"] != "MD5" {
        return Reply::new(400, "unsupported sign_type");
    }
    if fields["sign"] != sign(fields, KEY) {
        return Reply::new(400, "签名校验失败 / bad signature");
    }
    if !["alipay", "wxpay", "qqpay"].contains(&fields["type"].as_str()) {
        return Reply::new(400, "支付方式不存在 / unknown type");
    }
    if cents(&fields["money"]).is_none_or(|cents| cents == 0) {
        return Reply::new(400, "金额不合法 / bad money");
    }
    let number = fields["out_trade_no"].clone();
    if let Some(existing) = state.orders.get(&number) {
        // Opening the page again is fine; another amount is not.
        if existing.money != fields["money"] {
            return Reply::new(400, "订单号已存在 / out_trade_no exists");
        }
    } else {
        state.next_number += 1;
        let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
        let order = Order {
            out_trade_no: number.clone(),
            money: get("money"),
            name: get("name"),
            pay_type: get("type"),
            notify_url: get("notify_url"),
            return_url: get("return_url"),
            sitename: get("sitename"),
            trade_no: format!("20261123100000{:05}", state.next_number),
            status: 0,
            refunds: Vec::new(),
        };
        state.orders.insert(number.clone(), order);
    }
    let order = &state.orders[&number];
    let page = format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>收银台 / cashier</title></head>
<body><h1>收银台 / cashier</h1><p>{name}</p><p>¥ <span id="money">{money}</span></p>
<form method="post" action="/pay.php"><input type="hidden" name="out_trade_no" value="{number}">
<button type="submit">确认支付 / Pay</button></form></body></html>"#,
        name = html_escape(&order.name),
        money = html_escape(&order.money),
        number = html_escape(&number),
    );
    Reply::new(200, page).header("content-type", "text/html; charset=utf-8")
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The payer confirms on the cashier page: paid, the notification goes
/// out, and the payer is sent back to the merchant.
fn cashier_pay(state: &mut State, fields: &BTreeMap<String, String>) -> Reply {
    let number = fields.get("out_trade_no").cloned().unwrap_or_default();
    let Some(order) = state.orders.get_mut(&number) else {
        return Reply::new(404, "订单号不存在 / no such order");
    };
    if order.status == 0 {
        order.status = 1;
        let notification = Notification::of(order).signed(KEY);
        let separator = if order.notify_url.contains('?') { '&' } else { '?' };
        let url = format!("{}{separator}{notification}", order.notify_url);
        tokio::spawn(async move {
            // Like epay: the merchant answers "success", or it is asked again.
            for _ in 0..5 {
                let delivered = match reqwest::get(&url).await {
                    Ok(response) => response.text().await.is_ok_and(|text| text.trim() == "success"),
                    Err(_) => false,
                };
                if delivered {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        });
    }
    if order.return_url.is_empty() {
        Reply::new(200, "<!doctype html><html><body><h1>支付成功 / Paid</h1></body></html>")
            .header("content-type", "text/html; charset=utf-8")
    } else {
        Reply::new(302, "").header("location", &order.return_url)
    }
}

fn order_query(state: &State, fields: &BTreeMap<String, String>) -> Reply {
    if !merchant_ok(fields) {
        return error(-3, "KEY校验失败");
    }
    let number = fields.get("out_trade_no").cloned().unwrap_or_default();
    let Some(order) = state.orders.get(&number) else {
        return error(-1, "订单号不存在");
    };
    json_reply(json!({
        "code": 1, "msg": "查询订单号成功！", "trade_no": order.trade_no, "out_trade_no": number,
        "type": order.pay_type, "pid": PID, "addtime": CREATED_TIME,
        "endtime": if order.status == 0 { "" } else { PAID_TIME },
        "name": order.name, "money": order.money, "status": order.status,
    }))
}

fn refund(state: &mut State, fields: &BTreeMap<String, String>) -> Reply {
    if !merchant_ok(fields) {
        return error(-3, "KEY校验失败");
    }
    let by_trade_no = fields.get("trade_no").filter(|value| !value.is_empty());
    let number = match (by_trade_no, fields.get("out_trade_no").filter(|value| !value.is_empty())) {
        (Some(trade_no), out_trade_no) => {
            let Some(order) = state.orders.values().find(|order| &order.trade_no == trade_no) else {
                return error(-1, "订单号不存在");
            };
            if out_trade_no.is_some_and(|number| *number != order.out_trade_no) {
                return error(-1, "订单号不匹配");
            }
            order.out_trade_no.clone()
        }
        (None, Some(number)) => number.clone(),
        (None, None) => return error(-1, "缺少订单号"),
    };
    let Some(order) = state.orders.get_mut(&number) else {
        return error(-1, "订单号不存在");
    };
    let out_refund_no = fields.get("out_refund_no").cloned().unwrap_or_default();
    if !out_refund_no.is_empty() {
        if let Some(done) = order.refunds.iter().find(|refund| refund.out_refund_no == out_refund_no) {
            return json_reply(json!({"code": 1, "msg": "退款成功", "refund_no": done.refund_no}));
        }
    }
    if order.status != 1 {
        return error(-1, "订单未支付或已全额退款");
    }
    let Some(asked) = fields.get("money").and_then(|money| cents(money)).filter(|asked| *asked > 0) else {
        return error(-1, "退款金额不合法");
    };
    let total = cents(&order.money).unwrap_or(0);
    let done: u64 = order.refunds.iter().map(|refund| cents(&refund.money).unwrap_or(0)).sum();
    if done + asked > total {
        return error(-1, "退款金额超过可退金额");
    }
    let refund_no = format!("RF{}{:02}", order.trade_no, order.refunds.len() + 1);
    order.refunds.push(Refund {
        money: fields["money"].clone(),
        out_refund_no,
        by_trade_no: by_trade_no.is_some(),
        refund_no: refund_no.clone(),
    });
    if done + asked == total {
        order.status = 2;
    }
    json_reply(json!({"code": 1, "msg": "退款成功", "refund_no": refund_no}))
}

impl EpayServer {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let http = HttpServer::start(responder(move |request, _| handle(&shared, request))).await;
        Self { http, state }
    }

    pub fn base_url(&self) -> String {
        self.http.url("")
    }

    pub fn order(&self, out_trade_no: &str) -> Option<Order> {
        self.state.lock().unwrap().orders.get(out_trade_no).cloned()
    }

    pub fn order_count(&self) -> usize {
        self.state.lock().unwrap().orders.len()
    }

    /// Every later `api.php` request gets `reply` (`None`: normal service).
    pub fn override_api(&self, reply: Option<Reply>) {
        self.state.lock().unwrap().api_override = reply;
    }

    /// The customer pays: the order is marked paid and the notification
    /// the gateway sends to `notify_url` is returned as its query string.
    pub fn pay(&self, out_trade_no: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let order = state.orders.get_mut(out_trade_no).expect("an order opened through submit.php");
        order.status = 1;
        let order = order.clone();
        Notification::of(&order).signed(KEY)
    }
}

/// A notification's fields, to be signed (possibly wrongly) by a test.
#[derive(Debug, Clone)]
pub struct Notification {
    pub fields: BTreeMap<String, String>,
}

impl Notification {
    pub fn of(order: &Order) -> Self {
        let mut fields = BTreeMap::new();
        for (name, value) in [
            ("pid", PID),
            ("trade_no", order.trade_no.as_str()),
            ("out_trade_no", order.out_trade_no.as_str()),
            ("type", order.pay_type.as_str()),
            ("name", order.name.as_str()),
            ("money", order.money.as_str()),
            ("trade_status", "TRADE_SUCCESS"),
        ] {
            fields.insert(name.to_string(), value.to_string());
        }
        Self { fields }
    }

    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.fields.insert(name.to_string(), value.to_string());
        self
    }

    /// The query string with `sign` (made with `key`) and `sign_type=MD5`.
    pub fn signed(&self, key: &str) -> String {
        let mut fields = self.fields.clone();
        fields.insert("sign".into(), sign(&self.fields, key));
        fields.insert("sign_type".into(), "MD5".into());
        encode(&fields)
    }
}

pub fn encode(fields: &BTreeMap<String, String>) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(fields.iter()).finish()
}
