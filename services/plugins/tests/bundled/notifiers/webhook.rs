//! notifier-webhook against a real HTTP receiver on loopback that verifies
//! the HMAC-SHA256 signature the way a customer's endpoint would.

use hmac::{Hmac, Mac};
use rustbill_plugins::engine::{
    EventFilter, FailureKind, PluginType, parse_config_schema, parse_done, parse_health, parse_templates, parse_version,
};
use serde_json::{Value as Json, json};
use sha2::Sha256;

use super::{call, engine, is_bilingual, script};
use crate::support::http_server::{HttpServer, Recorded, Reply, responder};

const FILE: &str = "notifier-webhook.rn";
const SECRET: &str = "whsec-0123456789abcdef";

fn event(event_id: &str) -> Json {
    json!({
        "event_id": event_id,
        "event_type": "order.paid",
        "title": "订单已支付 / Order paid",
        "body": "订单 O-1 已支付。\nOrder O-1 is paid.",
        "recipient": "alice@example.com",
        "data": {"order_id": "O-1", "amount": "59.00", "quantity": 2, "trial": false, "items": [{"sku": "vps-1"}]},
    })
}

/// A receiver answering every request with `status`.
async fn receiver(status: u16) -> HttpServer {
    HttpServer::start(responder(move |_, _| Reply::new(status, if status < 300 { "ok" } else { "receiver says no" })))
        .await
}

/// What a receiver does: HMAC-SHA256 over "<timestamp>.<raw body>" with its
/// secret, compared in constant time with the `sha256=<hex>` header.
fn verify(request: &Recorded, secret: &str) -> bool {
    let (Some(timestamp), Some(signature)) =
        (request.header("x-rustbill-timestamp"), request.header("x-rustbill-signature"))
    else {
        return false;
    };
    let Some(hex_signature) = signature.strip_prefix("sha256=") else { return false };
    let Ok(expected) = hex::decode(hex_signature) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    mac.verify_slice(&expected).is_ok()
}

fn with_header(request: &Recorded, name: &str, value: &str) -> Recorded {
    let mut changed = request.clone();
    for (key, existing) in &mut changed.headers {
        if key.eq_ignore_ascii_case(name) {
            *existing = value.to_string();
        }
    }
    changed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_passes_the_notifier_contract() {
    let engine = engine();
    let info = engine.check(PluginType::Notifier, &super::bundled(FILE)).expect("notifier contract");
    assert_eq!(info.version.as_deref(), Some("1.0.0"));
    for function in ["config_schema", "initialize", "send", "supported_events", "templates", "health_check"] {
        assert!(info.functions.iter().any(|f| f == function), "{function} in {:?}", info.functions);
    }

    let hook = script("hook-contract", FILE);
    assert_eq!(parse_version(call(&engine, &hook, "version", &json!({}), json!({})).await).unwrap(), "1.0.0");
    let schema = parse_config_schema(call(&engine, &hook, "config_schema", &json!({}), json!({})).await).unwrap();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["url"]));
    assert_eq!(schema["properties"]["url"]["type"], "string");
    assert_eq!(schema["properties"]["secret"]["format"], "password", "the secret is masked in the admin UI");
    assert_eq!(schema["properties"]["events"]["type"], "string");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhooks_carry_the_event_and_verify() {
    let engine = engine();
    let server = receiver(204).await;
    let hook = script("hook-signed", FILE);
    let config = json!({ "url": server.url("/hooks/rustbill?tenant=7"), "secret": SECRET });

    let before = chrono::Utc::now().timestamp();
    parse_done(PluginType::Notifier, call(&engine, &hook, "send", &config, event("evt-1")).await).expect("delivered");
    let after = chrono::Utc::now().timestamp();

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one POST per send");
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/hooks/rustbill?tenant=7", "path and query kept");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-rustbill-event"), Some("order.paid"));
    assert_eq!(request.header("x-rustbill-event-id"), Some("evt-1"));

    // The JSON body: every field, the payload with its JSON types kept.
    let body: Json = serde_json::from_slice(&request.body).expect("a JSON body");
    let fields: Vec<&str> = {
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    };
    assert_eq!(fields, ["body", "data", "event_id", "event_type", "recipient", "sent_at", "title"]);
    assert_eq!(body["event_id"], "evt-1");
    assert_eq!(body["event_type"], "order.paid");
    assert_eq!(body["title"], "订单已支付 / Order paid");
    assert_eq!(body["body"], "订单 O-1 已支付。\nOrder O-1 is paid.");
    assert_eq!(body["recipient"], "alice@example.com");
    assert_eq!(body["data"], event("x")["data"], "data arrives as the event's object, types kept");
    let sent_at = chrono::DateTime::parse_from_rfc3339(body["sent_at"].as_str().expect("sent_at")).expect("RFC 3339");
    assert!((before..=after).contains(&sent_at.timestamp()), "sent_at {sent_at} is the time of sending");

    // The signature: fresh timestamp, verifies with the secret only.
    let timestamp: i64 = request.header("x-rustbill-timestamp").expect("timestamp").parse().expect("unix seconds");
    assert!((before..=after).contains(&timestamp), "timestamp {timestamp} not in {before}..={after}");
    let signature = request.header("x-rustbill-signature").expect("signature");
    assert!(signature.starts_with("sha256=") && signature.len() == 7 + 64, "{signature}");
    assert!(verify(request, SECRET), "the receiver verifies the signature");
    assert!(!verify(request, "whsec-wrong"), "a wrong secret does not verify");
    assert!(!verify(request, ""), "an empty secret does not verify");
    let mut edited = request.clone();
    edited.body = request.body_text().replace("59.00", "0.01").into_bytes();
    assert_ne!(edited.body, request.body);
    assert!(!verify(&edited, SECRET), "an edited body does not verify");
    let replayed = with_header(request, "x-rustbill-timestamp", &(timestamp + 600).to_string());
    assert!(!verify(&replayed, SECRET), "the timestamp is covered by the signature");

    // Each delivery is signed afresh, with its own event id.
    parse_done(PluginType::Notifier, call(&engine, &hook, "send", &config, event("evt-2")).await).expect("delivered");
    let second = server.requests().pop().unwrap();
    assert_eq!(server.request_count(), 2);
    assert_eq!(second.header("x-rustbill-event-id"), Some("evt-2"));
    assert!(verify(&second, SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_nothing_is_signed() {
    let engine = engine();
    let server = receiver(200).await;
    let hook = script("hook-unsigned", FILE);
    let config = json!({ "url": server.url("/plain") });

    parse_done(PluginType::Notifier, call(&engine, &hook, "send", &config, event("evt-plain")).await).expect("sent");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.header("x-rustbill-signature"), None);
    assert_eq!(request.header("x-rustbill-timestamp"), None);
    assert_eq!(request.header("x-rustbill-event-id"), Some("evt-plain"));
    assert!(!verify(request, SECRET));
    let body: Json = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["event_id"], "evt-plain");
    assert_eq!(body["data"]["order_id"], "O-1");

    // An event without data still sends an object.
    let mut bare = event("evt-bare");
    bare.as_object_mut().unwrap().remove("data");
    parse_done(PluginType::Notifier, call(&engine, &hook, "send", &config, bare).await).expect("sent");
    let body: Json = serde_json::from_slice(&server.requests().pop().unwrap().body).unwrap();
    assert_eq!(body["data"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_errors_and_unreachable_receivers_fail_the_send() {
    let engine = engine();
    let hook = script("hook-failures", FILE);

    for status in [500, 404, 401] {
        let server = receiver(status).await;
        let config = json!({ "url": server.url("/hooks"), "secret": SECRET });
        let raw = call(&engine, &hook, "send", &config, event(&format!("evt-{status}"))).await;
        let failure = parse_done(PluginType::Notifier, raw).expect_err("a non-2xx answer is a failed send");
        assert_eq!(failure.kind, FailureKind::Reported, "an Err(..) of the script");
        assert!(failure.message.contains(&status.to_string()), "{status}: {}", failure.message);
        assert_eq!(server.request_count(), 1, "{status}: the request did reach the receiver, once");
    }

    // A 2xx with a body is a success (the body is ignored).
    let fine = receiver(200).await;
    let config = json!({ "url": fine.url("/hooks") });
    parse_done(PluginType::Notifier, call(&engine, &hook, "send", &config, event("evt-200")).await).expect("200");

    // Nothing listening: the host reports the connect error, the send fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = json!({ "url": format!("http://{}/hooks", closed.local_addr().unwrap()) });
    drop(closed);
    let failure = parse_done(PluginType::Notifier, call(&engine, &hook, "send", &dead, event("evt-dead")).await)
        .expect_err("connection refused is a failed send");
    assert!(failure.message.starts_with("webhook not delivered"), "{}", failure.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_are_checked_and_health_checks_send_nothing() {
    let engine = engine();
    let server = receiver(204).await;
    let hook = script("hook-health", FILE);

    let valid = [
        server.url("/hooks"),
        "https://hooks.example.com/rustbill".to_string(),
        "HTTPS://hooks.example.com".to_string(),
        "http://user:pw@hooks.example.com:8443/x?y=1#z".to_string(),
        "http://[::1]:8080/hooks".to_string(),
    ];
    for url in &valid {
        let config = json!({ "url": url, "secret": SECRET });
        let health = call(&engine, &hook, "health_check", &config, json!({})).await;
        assert_eq!(parse_health(PluginType::Notifier, health), Ok(true), "{url}");
        let init = call(&engine, &hook, "initialize", &config, json!({})).await;
        assert!(parse_done(PluginType::Notifier, init).is_ok(), "{url}");
    }
    assert_eq!(server.request_count(), 0, "health checks and initialize post nothing");

    let invalid = [
        "",
        "ftp://hooks.example.com/x",
        "hooks.example.com/x",
        "http://",
        "https:///path",
        "http://:8080/x",
        "http://host:/x",
        "http://host:99999/x",
        "http://host:port/x",
        "http://bad host/x",
        "http://[::1/x",
    ];
    for url in invalid {
        let config = json!({ "url": url });
        let health = call(&engine, &hook, "health_check", &config, json!({})).await;
        assert!(parse_health(PluginType::Notifier, health).is_err(), "health_check accepted {url:?}");
        let sent = call(&engine, &hook, "send", &config, event("evt-bad-url")).await;
        assert!(parse_done(PluginType::Notifier, sent).is_err(), "send accepted {url:?}");
    }
    let missing = call(&engine, &hook, "health_check", &json!({}), json!({})).await;
    let failure = parse_health(PluginType::Notifier, missing).unwrap_err();
    assert!(failure.message.contains("url"), "{}", failure.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supported_events_follow_the_config_and_templates_are_bilingual() {
    let engine = engine();
    let hook = script("hook-events", FILE);

    let listed = json!({ "url": "https://hooks.example.com", "events": " order.paid, instance.ready,,order.paid " });
    let filter = EventFilter::from_return(call(&engine, &hook, "supported_events", &listed, json!({})).await).unwrap();
    assert_eq!(filter, EventFilter::Only(vec!["order.paid".into(), "instance.ready".into()]));
    assert!(filter.accepts("instance.ready") && !filter.accepts("order.created"));
    for everything in [json!({ "url": "https://x.example" }), json!({ "events": "  " }), json!({ "events": " , " })] {
        let raw = call(&engine, &hook, "supported_events", &everything, json!({})).await;
        assert_eq!(EventFilter::from_return(raw).unwrap(), EventFilter::All, "{everything}");
    }

    let templates = parse_templates(call(&engine, &hook, "templates", &json!({}), json!({})).await).unwrap();
    for event_type in ["order.created", "order.paid", "order.cancelled", "payment.succeeded", "instance.ready"] {
        let template = templates.get(event_type).unwrap_or_else(|| panic!("no template for {event_type}"));
        let title = template["title"].as_str().expect("title");
        let body = template["body"].as_str().expect("body");
        assert!(is_bilingual(title) && is_bilingual(body), "{event_type}: {title} / {body}");
    }
    for (event_type, template) in &templates {
        let object = template.as_object().unwrap_or_else(|| panic!("{event_type} is not an object"));
        assert!(object["title"].is_string() && object["body"].is_string(), "{event_type}: {template}");
    }
    assert!(templates["instance.ready"]["body"].as_str().unwrap().contains("{ip_address}"));
    assert!(templates["order.paid"]["title"].as_str().unwrap().contains("Order paid"));
}
