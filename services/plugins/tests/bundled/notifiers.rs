//! notifier-webhook against an HTTP receiver that verifies the signature;
//! notifier-email against an SMTP server (STARTTLS).

use std::sync::Arc;

use hmac::{Hmac, Mac};
use rustbill_plugins::engine::{Engine, EngineLimits, EventFilter, PluginType, parse_done, parse_templates};
use rustbill_plugins::host::{HostEnv, SmtpOptions};
use serde_json::{Value as Json, json};
use sha2::Sha256;

use crate::common::{bundled, call, engine, script};
use crate::support::http_server::{HttpServer, Recorded, Reply, responder};
use crate::support::pki::Pki;
use crate::support::smtp_server::{SmtpMode, SmtpServer};

const SECRET: &str = "whsec-0123456789";

fn event(event_id: &str) -> Json {
    json!({
        "event_id": event_id, "event_type": "order.paid", "title": "订单已支付 / Order paid",
        "body": "Order O-1 is paid.", "recipient": "alice@example.com",
        "data": {"order_id": "O-1", "amount": "59.00"},
    })
}

/// What a receiver does: recompute the HMAC over "<timestamp>.<raw body>".
fn verify(request: &Recorded, secret: &str) -> bool {
    let (Some(timestamp), Some(signature)) =
        (request.header("x-rustbill-timestamp"), request.header("x-rustbill-signature"))
    else {
        return false;
    };
    let Some(hex_signature) = signature.strip_prefix("sha256=") else { return false };
    let Ok(expected) = hex::decode(hex_signature) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&request.body);
    mac.verify_slice(&expected).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_and_failures_are_failures() {
    let engine = engine();
    engine.check(PluginType::Notifier, &bundled("notifier-webhook.rn")).expect("contract");
    let receiver = HttpServer::start(responder(|request, _| {
        if request.target == "/fail" { Reply::new(500, "receiver down") } else { Reply::new(204, "") }
    }))
    .await;
    let webhook = script("hook-1", "notifier-webhook.rn");
    let config = json!({ "url": receiver.url("/hooks"), "secret": SECRET, "events": "order.paid, instance.ready" });

    let raw = call(&engine, &webhook, "send", &config, event("evt-1")).await;
    parse_done(PluginType::Notifier, raw).expect("sent");
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!((request.method.as_str(), request.target.as_str()), ("POST", "/hooks"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-rustbill-event"), Some("order.paid"));
    assert_eq!(request.header("x-rustbill-event-id"), Some("evt-1"));
    assert!(verify(request, SECRET), "the receiver verifies the signature");
    assert!(!verify(request, "another-secret"), "a wrong secret does not verify");
    let mut tampered = request.clone();
    tampered.body = request.body_text().replace("59.00", "0.01").into_bytes();
    assert!(!verify(&tampered, SECRET), "an edited body does not verify");
    let body: Json = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["event_id"], "evt-1");
    assert_eq!(body["title"], "订单已支付 / Order paid");
    assert_eq!(body["recipient"], "alice@example.com");
    assert_eq!(body["data"]["amount"], "59.00");
    assert!(body["sent_at"].as_str().unwrap().ends_with('Z'));

    // Without a secret: no signature headers.
    let unsigned = json!({ "url": receiver.url("/hooks") });
    parse_done(PluginType::Notifier, call(&engine, &webhook, "send", &unsigned, event("evt-2")).await).unwrap();
    let last = receiver.requests().pop().unwrap();
    assert!(last.header("x-rustbill-signature").is_none() && last.header("x-rustbill-timestamp").is_none());

    // A 500 or a closed port is a failed send (the caller retries).
    let failing = json!({ "url": receiver.url("/fail"), "secret": SECRET });
    let failure = parse_done(PluginType::Notifier, call(&engine, &webhook, "send", &failing, event("evt-3")).await)
        .expect_err("a 500 is a failure");
    assert!(failure.message.contains("500"), "{}", failure.message);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = json!({ "url": format!("http://{}/x", closed.local_addr().unwrap()) });
    drop(closed);
    assert!(parse_done(PluginType::Notifier, call(&engine, &webhook, "send", &dead, event("evt-4")).await).is_err());
    let bad_url = json!({ "url": "ftp://example.com" });
    assert!(parse_done(PluginType::Notifier, call(&engine, &webhook, "send", &bad_url, event("evt-5")).await).is_err());

    // Event filter and templates.
    let filter =
        EventFilter::from_return(call(&engine, &webhook, "supported_events", &config, json!({})).await).unwrap();
    assert_eq!(filter, EventFilter::Only(vec!["order.paid".into(), "instance.ready".into()]));
    assert!(filter.accepts("order.paid") && !filter.accepts("order.created"));
    let all =
        EventFilter::from_return(call(&engine, &webhook, "supported_events", &unsigned, json!({})).await).unwrap();
    assert_eq!(all, EventFilter::All);
    let templates = parse_templates(call(&engine, &webhook, "templates", &config, json!({})).await).unwrap();
    assert!(templates["instance.ready"]["title"].as_str().unwrap().contains("Server ready"));
}

/// An RFC 2047 subject (`=?utf-8?b?…?=` words, possibly folded) as text.
fn decode_subject(raw: &str) -> String {
    use base64::Engine as _;
    let mut text = String::new();
    for word in raw.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        match lower.strip_prefix("=?utf-8?b?").and_then(|rest| rest.strip_suffix("?=")) {
            Some(_) => {
                let encoded = &word["=?utf-8?b?".len()..word.len() - 2];
                let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64 word");
                text.push_str(&String::from_utf8(bytes).expect("utf-8"));
            }
            None => {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(word);
            }
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_arrive_over_smtp_with_starttls() {
    let pki = Pki::new();
    let server = SmtpServer::start(SmtpMode::StartTls(pki.server_acceptor())).await;
    let env = HostEnv::new(tokio::runtime::Handle::current(), None)
        .with_smtp(SmtpOptions { extra_root_certs_pem: vec![pki.ca_pem.clone()], ..SmtpOptions::default() });
    let engine = Engine::new(Arc::new(env), EngineLimits::default()).unwrap();
    engine.check(PluginType::Notifier, &bundled("notifier-email.rn")).expect("contract");
    let email = script("mail-1", "notifier-email.rn");
    let config = json!({
        "smtp_host": "localhost", "smtp_port": server.port().to_string(), "from": "RustBill <billing@example.com>",
        "username": "billing", "password": "smtp-pass", "encryption": "starttls",
    });

    parse_done(PluginType::Notifier, call(&engine, &email, "send", &config, event("evt-1")).await).expect("sent");
    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert!(mail.tls, "upgraded with STARTTLS");
    assert_eq!(mail.rcpt_to, ["alice@example.com"]);
    assert!(mail.mail_from.contains("billing@example.com"));
    assert!(mail.body().contains("Order O-1 is paid."), "{}", mail.data);
    assert_eq!(decode_subject(&mail.header("subject").expect("a subject")), "订单已支付 / Order paid");

    for recipient in ["", "not-an-address", "a@b@c.d"] {
        let mut bad = event("evt-x");
        bad["recipient"] = json!(recipient);
        let failure = parse_done(PluginType::Notifier, call(&engine, &email, "send", &config, bad).await);
        assert!(failure.is_err(), "{recipient:?} is refused");
    }
    assert_eq!(server.received().len(), 1, "nothing else was sent");

    // A server that is not there: the call fails (VM error from smtp_send).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut down = config.clone();
    down["smtp_port"] = json!(closed.local_addr().unwrap().port().to_string());
    drop(closed);
    assert!(engine.call(&email, "send", &down, &event("evt-9")).await.is_err());

    let health = call(&engine, &email, "health_check", &json!({"smtp_host": "x"}), json!({})).await;
    assert!(rustbill_plugins::engine::parse_health(PluginType::Notifier, health).is_err());
}
