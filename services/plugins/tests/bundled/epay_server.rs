//! An epay (易支付) server on loopback, written from the protocol's
//! published rules: it checks the signature of every payment URL it is sent
//! to, answers order queries and refunds, and produces correctly signed
//! notifications when a test "pays".

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use md5::{Digest, Md5};
use serde_json::json;

use crate::support::http_server::{HttpServer, Recorded, Reply, responder};

pub const PID: &str = "1001";
pub const KEY: &str = "epay-merchant-key-0123456789";

#[derive(Debug, Clone)]
pub struct Order {
    pub money: String,
    pub name: String,
    pub pay_type: String,
    pub notify_url: String,
    pub trade_no: String,
    pub paid: bool,
    pub refunded: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    orders: HashMap<String, Order>,
    next_trade: u64,
}

pub struct EpayServer {
    pub http: HttpServer,
    state: Arc<Mutex<State>>,
}

/// The protocol's signature: sorted non-empty params without sign and
/// sign_type, `k=v&…`, the key appended, MD5 lowercase hex.
pub fn sign(params: &BTreeMap<String, String>, key: &str) -> String {
    let text = params
        .iter()
        .filter(|(name, value)| *name != "sign" && *name != "sign_type" && !value.is_empty())
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(Md5::digest(format!("{text}{key}").as_bytes()))
}

fn params(text: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(text.as_bytes()).into_owned().collect()
}

fn json_reply(value: serde_json::Value) -> Reply {
    Reply::new(200, value.to_string()).header("content-type", "application/json")
}

fn handle(state: &Mutex<State>, request: &Recorded) -> Reply {
    let (path, query) = request.target.split_once('?').unwrap_or((request.target.as_str(), ""));
    let mut fields = params(query);
    if request.method == "POST" {
        fields.extend(params(&request.body_text()));
    }
    let mut state = state.lock().unwrap();
    match (path, fields.get("act").map(String::as_str)) {
        ("/submit.php", _) => {
            let required = ["pid", "type", "out_trade_no", "notify_url", "name", "money", "sign"];
            if let Some(missing) = required.iter().find(|name| fields.get(**name).is_none_or(String::is_empty)) {
                return Reply::new(400, format!("missing {missing}"));
            }
            if fields["pid"] != PID || fields.get("sign_type").map(String::as_str) != Some("MD5") {
                return Reply::new(400, "unknown merchant or sign_type");
            }
            if fields["sign"] != sign(&fields, KEY) {
                return Reply::new(400, "签名校验失败 / bad signature");
            }
            let money: f64 = fields["money"].parse().unwrap_or(0.0);
            if money <= 0.0 {
                return Reply::new(400, "bad money");
            }
            state.next_trade += 1;
            let trade_no = format!("2026112300{:04}", state.next_trade);
            state.orders.entry(fields["out_trade_no"].clone()).or_insert(Order {
                money: fields["money"].clone(),
                name: fields["name"].clone(),
                pay_type: fields["type"].clone(),
                notify_url: fields["notify_url"].clone(),
                trade_no,
                paid: false,
                refunded: Vec::new(),
            });
            Reply::new(200, "<html><body>收银台 / cashier</body></html>").header("content-type", "text/html")
        }
        ("/api.php", Some("order")) => {
            if fields.get("pid").map(String::as_str) != Some(PID) || fields.get("key").map(String::as_str) != Some(KEY)
            {
                return json_reply(json!({"code": -1, "msg": "KEY校验失败"}));
            }
            let number = fields.get("out_trade_no").cloned().unwrap_or_default();
            match state.orders.get(&number) {
                None => json_reply(json!({"code": -1, "msg": "订单号不存在"})),
                Some(order) => json_reply(json!({
                    "code": 1, "msg": "查询订单号成功！", "trade_no": order.trade_no, "out_trade_no": number,
                    "type": order.pay_type, "pid": PID, "addtime": "2026-11-23 10:00:00",
                    "endtime": if order.paid { "2026-11-23 10:01:00" } else { "" },
                    "name": order.name, "money": order.money, "status": if order.paid { 1 } else { 0 },
                })),
            }
        }
        ("/api.php", Some("refund")) => {
            if request.method != "POST" {
                return json_reply(json!({"code": -1, "msg": "POST only"}));
            }
            if fields.get("pid").map(String::as_str) != Some(PID) || fields.get("key").map(String::as_str) != Some(KEY)
            {
                return json_reply(json!({"code": -1, "msg": "KEY校验失败"}));
            }
            let number = fields.get("out_trade_no").cloned().unwrap_or_default();
            let money = fields.get("money").cloned().unwrap_or_default();
            let Some(order) = state.orders.get_mut(&number) else {
                return json_reply(json!({"code": -1, "msg": "订单号不存在"}));
            };
            let total: f64 = order.money.parse().unwrap_or(0.0);
            let done: f64 = order.refunded.iter().map(|m| m.parse::<f64>().unwrap_or(0.0)).sum();
            let asked: f64 = money.parse().unwrap_or(0.0);
            if !order.paid || asked <= 0.0 || done + asked > total + 1e-9 {
                return json_reply(json!({"code": -1, "msg": "退款金额超过可退金额"}));
            }
            order.refunded.push(money);
            json_reply(json!({"code": 1, "msg": "退款成功"}))
        }
        _ => Reply::new(404, "not found"),
    }
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

    /// The customer pays: the order is marked paid and the notification
    /// the gateway sends is returned as its query string (signed).
    pub fn pay(&self, out_trade_no: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let order = state.orders.get_mut(out_trade_no).expect("an order opened through submit.php");
        order.paid = true;
        let order = order.clone();
        notification(out_trade_no, &order.trade_no, &order.money, &order.pay_type, &order.name, PID, KEY)
    }
}

/// A notification query string signed with `key`.
pub fn notification(
    out_trade_no: &str,
    trade_no: &str,
    money: &str,
    pay_type: &str,
    name: &str,
    pid: &str,
    key: &str,
) -> String {
    let mut fields = BTreeMap::new();
    for (name, value) in [
        ("pid", pid),
        ("trade_no", trade_no),
        ("out_trade_no", out_trade_no),
        ("type", pay_type),
        ("name", name),
        ("money", money),
        ("trade_status", "TRADE_SUCCESS"),
    ] {
        fields.insert(name.to_string(), value.to_string());
    }
    let signature = sign(&fields, key);
    fields.insert("sign".into(), signature);
    fields.insert("sign_type".into(), "MD5".into());
    form_urlencoded::Serializer::new(String::new()).extend_pairs(fields.iter()).finish()
}
