//! The Rune engine against real scripts: the spec's examples, complete
//! fixtures of the four plugin types, the return conventions, the cache and
//! hot reload, and hostile scripts running next to good calls.
//!
//! No database: `HostEnv::new(handle, None)` keeps plugin state in memory.
//! The webhook example posts to a real HTTP server on loopback.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustbill_plugins::engine::*;
use rustbill_plugins::host::HostEnv;
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn engine_with(limits: EngineLimits) -> Engine {
    let env = Arc::new(HostEnv::new(tokio::runtime::Handle::current(), None));
    Engine::new(env, limits).expect("engine")
}

fn engine() -> Engine {
    engine_with(EngineLimits::default())
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(manifest_dir().join("tests/plugins/scripts").join(name)).expect("fixture")
}

fn example(name: &str) -> String {
    std::fs::read_to_string(manifest_dir().join("../../plugins/examples").join(name)).expect("example script")
}

fn script(interface: &str, plugin_type: PluginType, source: &str) -> ScriptRef {
    ScriptRef::new(interface, "test", plugin_type, source)
}

async fn call(engine: &Engine, script: &ScriptRef, function: &str, config: Json, args: Json) -> RawReturn {
    match engine.call(script, function, &config, &args).await {
        Ok(raw) => raw,
        Err(error) => panic!("{function} failed: {error}"),
    }
}

/// One HTTP request as the test server saw it.
#[derive(Debug)]
struct Received {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A loopback HTTP/1.1 server answering every request with 200 and
/// `reply`, reporting each request on the returned channel.
async fn http_server(reply: &'static str) -> (String, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, content_length) = loop {
                    let Ok(read) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..read]);
                    if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                        let length = head
                            .lines()
                            .filter_map(|line| line.split_once(':'))
                            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                            .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while buffer.len() < head_end + content_length {
                    let Ok(read) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if read == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..read]);
                }
                let head = String::from_utf8_lossy(&buffer[..head_end - 4]).to_string();
                let mut lines = head.lines();
                let request_line = lines.next().unwrap_or_default().to_string();
                let headers = lines
                    .filter_map(|line| line.split_once(':'))
                    .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
                    .collect();
                let end = (head_end + content_length).min(buffer.len());
                let body = String::from_utf8_lossy(&buffer[head_end..end]).to_string();
                sender.send(Received { request_line, headers, body }).ok();
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
                stream.write_all(response.as_bytes()).await.ok();
                stream.shutdown().await.ok();
            });
        }
    });
    (format!("http://{address}"), receiver)
}

// ───────────────────────────── the spec's examples ─────────────────────────────

/// The text of the spec's example that starts with `// <file>`, without
/// mdBook's `#![allow(unused)] fn main() { … }` wrapper.
fn spec_example(file: &str) -> Option<String> {
    let spec = manifest_dir().join("../../../shared/spec/rustbill-docs.md");
    let text = std::fs::read_to_string(spec).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|line| line.starts_with(&format!("// {file} ")))?;
    // The wrapper's closing brace is the line before the next "示例" heading.
    let heading = lines[start..].iter().position(|line| line.starts_with("示例"))? + start;
    assert_eq!(lines[heading - 1], "}", "the wrapper closes right before the next example");
    Some(lines[start..heading - 1].join("\n") + "\n")
}

#[test]
fn example_files_are_the_spec_text_unchanged() {
    for file in ["notifier-webhook.rn", "provider-example.rn"] {
        match spec_example(file) {
            Some(from_spec) => assert_eq!(example(file), from_spec, "{file} differs from the spec"),
            None => eprintln!("spec text not found next to the repository; skipped comparing {file}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_notifier_webhook_loads_unchanged_and_runs() {
    let engine = engine();
    let source = example("notifier-webhook.rn");
    let info = engine.check(PluginType::Notifier, &source).expect("the spec's webhook example passes the contract");
    assert_eq!(info.version.as_deref(), Some("1.0.0"));
    assert!(!info.has_admin_page);

    let (url, mut requests) = http_server("{}").await;
    let script = script("webhook-1", PluginType::Notifier, &source);
    let config = json!({"url": format!("{url}/hook"), "secret": ""});

    let schema =
        parse_config_schema(call(&engine, &script, "config_schema", config.clone(), Json::Null).await).expect("schema");
    assert_eq!(schema["required"], json!(["url"]));
    assert_eq!(parse_version(call(&engine, &script, "version", config.clone(), Json::Null).await).unwrap(), "1.0.0");
    parse_done(PluginType::Notifier, call(&engine, &script, "initialize", config.clone(), Json::Null).await)
        .expect("initialize");
    let events = EventFilter::from_return(call(&engine, &script, "supported_events", config.clone(), Json::Null).await);
    assert_eq!(events.unwrap(), EventFilter::All);
    assert!(parse_templates(call(&engine, &script, "templates", config.clone(), Json::Null).await).unwrap().is_empty());
    assert!(
        parse_health(PluginType::Notifier, call(&engine, &script, "health_check", config.clone(), Json::Null).await)
            .unwrap()
    );

    // `send` reads the config (url) and the message fields from ONE merged JSON.
    let message =
        json!({"event_type": "order.paid", "title": "Paid", "body": "Order 42 paid", "recipient": "a@example.com"});
    let raw = call(&engine, &script, "send", config.clone(), message).await;
    assert_eq!(raw, RawReturn::Ok(Json::Null));
    parse_notifier_result(raw).expect("send succeeded");
    let received = tokio::time::timeout(Duration::from_secs(10), requests.recv()).await.unwrap().unwrap();
    assert_eq!(received.request_line, "POST /hook HTTP/1.1");
    assert_eq!(received.header("content-type"), Some("application/json"));
    let payload: Json = serde_json::from_str(&received.body).expect("the example posts JSON");
    assert_eq!(
        payload,
        json!({"event_type": "order.paid", "title": "Paid", "body": "Order 42 paid", "recipient": "a@example.com"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_provider_example_loads_unchanged_and_runs() {
    let engine = engine();
    let source = example("provider-example.rn");
    let info =
        engine.check(PluginType::FirstPartyProvider, &source).expect("the spec's provider example passes the contract");
    assert_eq!(info.version.as_deref(), Some("1.0.0"));
    assert_eq!(info.functions.len(), 13);

    let (url, mut requests) = http_server(r#"[{"id":"p1","name":"Small"}]"#).await;
    let script = script("provider-1", PluginType::FirstPartyProvider, &source);
    let config = json!({"api_url": url, "api_token": "tok-123"});

    let schema = parse_config_schema(call(&engine, &script, "config_schema", config.clone(), Json::Null).await);
    assert_eq!(schema.unwrap()["properties"]["api_token"]["format"], "password");
    let template = parse_spec_template(call(&engine, &script, "spec_template", config.clone(), Json::Null).await);
    let template = template.expect("spec_template is a JSON object string");
    assert_eq!(template["groups"][0]["fields"][0]["key"], "cpu_cores");
    assert_eq!(template["groups"][1]["fields"][0]["field_type"], "region");
    parse_done(PluginType::FirstPartyProvider, call(&engine, &script, "initialize", config.clone(), Json::Null).await)
        .expect("initialize returns \"OK\"");

    // sync_products: config keys reach the script and it reaches the network.
    let products = parse_provider_result(call(&engine, &script, "sync_products", config.clone(), Json::Null).await);
    assert_eq!(products.unwrap(), json!([{"id": "p1", "name": "Small"}]));
    let received = tokio::time::timeout(Duration::from_secs(10), requests.recv()).await.unwrap().unwrap();
    assert_eq!(received.request_line, "POST /products HTTP/1.1");
    assert_eq!(received.header("authorization"), Some("Bearer tok-123"));

    let price = parse_provider_result(call(&engine, &script, "query_price", config.clone(), Json::Null).await);
    assert_eq!(price.unwrap()["currency"], "CNY");

    // create_instance: business arguments merged with the config.
    let created = InstanceCreated::from_return(
        call(&engine, &script, "create_instance", config.clone(), json!({"order_id": "o-7", "cpu_cores": "4"})).await,
    )
    .expect("created");
    assert_eq!(created.instance_id, "inst-o-7");
    assert_eq!(created.ip_address.as_deref(), Some("1.2.3.4"));
    assert_eq!(created.created_at, None);

    let state = InstanceState::from_return(
        call(&engine, &script, "get_instance_status", config.clone(), json!({"instance_id": "inst-o-7"})).await,
    );
    assert_eq!(state.unwrap(), InstanceState::Running);
    let terminated = ActionOutcome::from_return(
        call(&engine, &script, "terminate_instance", config.clone(), json!({"instance_id": "inst-o-7"})).await,
    );
    assert!(terminated.unwrap().success);
    let action = ActionOutcome::from_return(
        call(&engine, &script, "execute_action", config.clone(), json!({"instance_id": "i", "action": "start"})).await,
    );
    assert!(action.unwrap().success);
    assert!(
        parse_health(
            PluginType::FirstPartyProvider,
            call(&engine, &script, "health_check", config.clone(), Json::Null).await
        )
        .unwrap()
    );

    // Nested business arguments: json_get's path syntax reaches into them.
    let sections = DetailSection::list_from_return(
        call(
            &engine,
            &script,
            "instance_detail_sections",
            config.clone(),
            json!({"server_spec": {"cpu_cores": 4, "memory_gb": 8}}),
        )
        .await,
    )
    .expect("sections");
    assert_eq!(sections.len(), 1);
    assert_eq!(sections[0].content_html.as_deref(), Some("<div>CPU: 4 cores, Memory: 8 GB</div>"));

    let running = InstanceAction::list_from_return(
        call(&engine, &script, "instance_actions", config.clone(), json!({"status": "running"})).await,
    )
    .unwrap();
    assert_eq!(running.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["stop", "reboot"]);
    assert_eq!(running[0].confirmation, "Are you sure?");
    let stopped = InstanceAction::list_from_return(
        call(&engine, &script, "instance_actions", config, json!({"status": "stopped"})).await,
    )
    .unwrap();
    assert_eq!(stopped[0].style, ActionStyle::Primary);
}

// ───────────────────────────────── contract ─────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_plugin_type_accepts_a_complete_script() {
    let engine = engine();
    for (plugin_type, file) in [
        (PluginType::Gateway, "gateway-complete.rn"),
        (PluginType::Notifier, "notifier-complete.rn"),
        (PluginType::FirstPartyProvider, "provider-first-party.rn"),
        (PluginType::UpstreamProvider, "provider-upstream.rn"),
    ] {
        let info = engine.check(plugin_type, &fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        for required in plugin_type.required_functions() {
            assert!(info.functions.iter().any(|f| f == required), "{file} lacks {required}");
        }
    }
    let gateway = engine.check(PluginType::Gateway, &fixture("gateway-complete.rn")).unwrap();
    assert_eq!(gateway.version.as_deref(), Some("2.1.0"));
    assert!(gateway.has_admin_page);
    assert_eq!(gateway.hash, script_hash(&fixture("gateway-complete.rn")));
    // The first-party script is not an upstream provider: three functions short.
    let Err(EngineError::Contract { violations, .. }) =
        engine.check(PluginType::UpstreamProvider, &fixture("provider-first-party.rn"))
    else {
        panic!("a first-party script is not an upstream provider");
    };
    let missing: Vec<_> = violations
        .iter()
        .map(|v| match v {
            ContractViolation::Missing { function, .. } => function.as_str(),
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(missing, ["sync_upstream_instances", "import_upstream_instance", "get_upstream_balance"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_violations_are_reported_by_name() {
    let engine = engine();
    let complete = fixture("gateway-complete.rn");

    // A missing function.
    let without_refund = complete.replace("async fn refund(merged, _unused)", "async fn refund_later(merged, _unused)");
    let error = engine.check(PluginType::Gateway, &without_refund).unwrap_err();
    assert_eq!(
        error,
        EngineError::Contract {
            plugin_type: PluginType::Gateway,
            violations: vec![ContractViolation::Missing { function: "refund".into(), similar: None }],
        }
    );
    assert!(error.to_string().contains("missing required function `refund`"), "{error}");

    // A misnamed function: named, with the lookalike.
    let misnamed = complete.replace("async fn create_payment(", "async fn createPayment(");
    let error = engine.check(PluginType::Gateway, &misnamed).unwrap_err();
    assert!(error.to_string().contains("missing required function `create_payment` (found `createPayment`"), "{error}");

    // Wrong parameter counts, for a required and an optional function.
    let one_parameter = complete
        .replace("fn health_check(merged, _unused)", "fn health_check(merged)")
        .replace("fn version(_config, _unused)", "fn version()");
    let Err(EngineError::Contract { violations, .. }) = engine.check(PluginType::Gateway, &one_parameter) else {
        panic!("wrong arity must be refused");
    };
    assert_eq!(
        violations,
        vec![
            ContractViolation::WrongArity { function: "health_check".into(), expected: 2, found: 1 },
            ContractViolation::WrongArity { function: "version".into(), expected: 2, found: 0 },
        ]
    );

    // Syntax errors come back with Rune's diagnostics (file, line, column).
    let broken = complete.replace("fn initialize(merged, _unused) {", "fn initialize(merged, _unused) { let = ;");
    let Err(EngineError::Compile(diagnostics)) = engine.check(PluginType::Gateway, &broken) else {
        panic!("a syntax error must not compile");
    };
    assert!(diagnostics.contains("check.rn:"), "{diagnostics}");

    // A call to a function that does not exist, or takes the wrong arguments.
    let script = script("gw", PluginType::Gateway, &complete);
    assert_eq!(
        engine.call(&script, "no_such_fn", &json!({}), &json!({})).await.unwrap_err(),
        EngineError::NoSuchFunction("no_such_fn".into())
    );
    assert_eq!(
        engine.call(&script, "helper", &json!({}), &json!({})).await.unwrap_err(),
        EngineError::WrongArity { function: "helper".into(), found: 1 }
    );
}

// ───────────────────────────── merge and returns ────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_and_arguments_arrive_as_one_json_string_and_unit() {
    let engine = engine();
    let script = script("gw-merge", PluginType::Gateway, &fixture("gateway-complete.rn"));
    let raw = call(
        &engine,
        &script,
        "echo",
        json!({"api_url": "https://pay.example.com", "key": "secret", "amount": "from-config"}),
        json!({"payment_id": "p-1", "amount": "9.90"}),
    )
    .await;
    let RawReturn::Value(value) = raw else { panic!("echo returns an object") };
    assert_eq!(value["second_is_unit"], json!(true));
    let merged = value["merged"].as_str().expect("the first argument is a string");
    let merged: Json = serde_json::from_str(merged).expect("holding JSON");
    assert_eq!(
        merged,
        json!({"api_url": "https://pay.example.com", "key": "secret", "payment_id": "p-1", "amount": "9.90"})
    );
    // Only objects can be merged.
    let error = engine.call(&script, "echo", &json!(["not", "an", "object"]), &json!({})).await.unwrap_err();
    assert!(matches!(error, EngineError::InvalidArguments(_)), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_conventions_become_typed_results() {
    let engine = engine();
    let gateway = script("gw-returns", PluginType::Gateway, &fixture("gateway-complete.rn"));
    let config = json!({"api_url": "https://pay.example.com"});

    // A Rune object with Some/None.
    let created = PaymentCreated::from_return(
        call(&engine, &gateway, "create_payment", config.clone(), json!({"payment_id": "p1"})).await,
    )
    .unwrap();
    assert_eq!(
        created,
        PaymentCreated {
            gateway_payment_id: "gw-p1".into(),
            payment_url: Some("https://pay.example.com/pay/p1".into()),
            qr_code: None,
            instructions: None,
        }
    );
    // A JSON string.
    let raw = call(&engine, &gateway, "query_payment", config.clone(), json!({"payment_id": "p1"})).await;
    assert!(matches!(&raw, RawReturn::Value(Json::String(_))), "{raw:?}");
    let update = PaymentUpdate::from_return(raw).unwrap();
    assert_eq!((update.status, update.gateway_tx_id.as_deref()), (PaymentState::Success, Some("tx-1")));
    // "ERROR: …" from a gateway.
    let failure = PaymentUpdate::from_return(
        call(&engine, &gateway, "handle_callback", config.clone(), json!({"payload": "sign=bad"})).await,
    )
    .unwrap_err();
    assert_eq!(failure, PluginFailure::reported("invalid signature"));
    let ok = PaymentUpdate::from_return(
        call(&engine, &gateway, "handle_callback", config.clone(), json!({"payload": "sign=ok", "payment_id": "p1"}))
            .await,
    )
    .unwrap();
    assert_eq!(ok.raw_response.as_deref(), Some("sign=ok"));
    // Err(..) and Ok(object).
    let declined =
        call(&engine, &gateway, "refund", config.clone(), json!({"payment_id": "p1", "amount": "500"})).await;
    assert_eq!(declined, RawReturn::Err(json!("refund declined: amount over limit")));
    assert_eq!(parse_gateway_result(declined).unwrap_err().kind, FailureKind::Reported);
    let refunded = PaymentUpdate::from_return(
        call(&engine, &gateway, "refund", config.clone(), json!({"payment_id": "p1", "amount": "5"})).await,
    )
    .unwrap();
    assert_eq!(refunded.status, PaymentState::Refunded);
    // Ok(true) / Ok(()).
    assert_eq!(call(&engine, &gateway, "health_check", config.clone(), Json::Null).await, RawReturn::Ok(json!(true)));
    assert_eq!(call(&engine, &gateway, "initialize", config.clone(), Json::Null).await, RawReturn::Ok(Json::Null));

    // Notifier: Err(..) for failure, a list of events.
    let notifier = script("nt-returns", PluginType::Notifier, &fixture("notifier-complete.rn"));
    let failed = parse_notifier_result(call(&engine, &notifier, "send", json!({}), json!({"recipient": ""})).await);
    assert_eq!(failed.unwrap_err(), PluginFailure::reported("no recipient"));
    let events =
        EventFilter::from_return(call(&engine, &notifier, "supported_events", json!({}), Json::Null).await).unwrap();
    assert!(events.accepts("order.paid") && !events.accepts("order.created"));
    let templates = parse_templates(call(&engine, &notifier, "templates", json!({}), Json::Null).await).unwrap();
    assert_eq!(templates["order.paid"], "Order ${order_id} paid");

    // Provider: plain strings, "ERROR: …", and what breaks the convention.
    let provider = script("pv-returns", PluginType::UpstreamProvider, &fixture("provider-upstream.rn"));
    let no_capacity = InstanceCreated::from_return(
        call(&engine, &provider, "create_instance", json!({}), json!({"cpu": "64", "order_id": "o"})).await,
    )
    .unwrap_err();
    assert_eq!(no_capacity, PluginFailure::reported("no capacity for 64 cores"));
    let wrong =
        parse_provider_result(call(&engine, &provider, "wrong_shape", json!({}), Json::Null).await).unwrap_err();
    assert_eq!(wrong.kind, FailureKind::BadReturn);
    let balance = parse_provider_result(call(&engine, &provider, "get_upstream_balance", json!({}), Json::Null).await);
    assert_eq!(balance.unwrap(), json!({"balance": "100.00", "currency": "CNY"}));
    let imported = InstanceCreated::from_return(
        call(&engine, &provider, "import_upstream_instance", json!({}), json!({"upstream_instance_id": "up-9"})).await,
    )
    .unwrap();
    assert_eq!(imported.instance_id, "up-9");
}

// ──────────────────────────────── cache / reload ────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_once_per_interface_and_hash_and_reloaded_after_evict() {
    let engine = engine();
    let version = |n: u32| {
        fixture("notifier-complete.rn").replace(
            "fn health_check(merged, _unused) {\n    Ok(true)\n}",
            &format!("fn health_check(merged, _unused) {{\n    Ok({n})\n}}"),
        )
    };
    let v1 = script("nt-cache", PluginType::Notifier, &version(1));
    assert_eq!(engine.compilations(), 0);
    for _ in 0..5 {
        assert_eq!(call(&engine, &v1, "health_check", json!({}), Json::Null).await, RawReturn::Ok(json!(1)));
    }
    assert_eq!(engine.compilations(), 1, "five calls, one compile");
    assert!(engine.is_cached(&v1));

    // Another interface with the same source has its own entry.
    let other = script("nt-cache-2", PluginType::Notifier, &version(1));
    call(&engine, &other, "health_check", json!({}), Json::Null).await;
    assert_eq!(engine.compilations(), 2);

    // Concurrent first calls of a new interface compile once.
    let fresh = script("nt-cache-3", PluginType::Notifier, &version(1));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let engine = engine.clone();
            let fresh = fresh.clone();
            tokio::spawn(async move { engine.call(&fresh, "health_check", &json!({}), &Json::Null).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), RawReturn::Ok(json!(1)));
    }
    assert_eq!(engine.compilations(), 3);

    // Hot reload: the interface's script changes; evict; the next call runs the new code.
    let v2 = script("nt-cache", PluginType::Notifier, &version(2));
    engine.evict("nt-cache");
    assert!(!engine.is_cached(&v1));
    assert_eq!(call(&engine, &v2, "health_check", json!({}), Json::Null).await, RawReturn::Ok(json!(2)));
    assert_eq!(engine.compilations(), 4);
    assert_eq!(call(&engine, &v2, "health_check", json!({}), Json::Null).await, RawReturn::Ok(json!(2)));
    assert_eq!(engine.compilations(), 4);

    // A changed hash also recompiles without an explicit evict.
    let v3 = script("nt-cache", PluginType::Notifier, &version(3));
    assert_eq!(call(&engine, &v3, "health_check", json!({}), Json::Null).await, RawReturn::Ok(json!(3)));
    assert_eq!(engine.compilations(), 5);

    // Evicting with the same source recompiles it.
    engine.evict("nt-cache");
    call(&engine, &v3, "health_check", json!({}), Json::Null).await;
    assert_eq!(engine.compilations(), 6);

    // A broken script is not recompiled on every call, until evicted.
    let broken = script("nt-broken", PluginType::Notifier, "fn config_schema(a, b) {");
    for _ in 0..3 {
        assert!(matches!(
            engine.call(&broken, "config_schema", &json!({}), &Json::Null).await,
            Err(EngineError::Compile(_))
        ));
    }
    assert_eq!(engine.compilations(), 7);
}

// ──────────────────────────────── containment ────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_scripts_fail_alone_while_good_calls_succeed() {
    let engine = engine();
    let hostile = script("hostile", PluginType::Notifier, &fixture("hostile.rn"));
    let good = script("good", PluginType::Notifier, &fixture("hostile.rn"));
    let limits = engine.limits();
    let started = Instant::now();

    let hostile_calls: Vec<_> = [
        "endless_loop",
        "deep_recursion",
        "huge_allocation",
        "nested_value",
        "explicit_panic",
        "runtime_error",
        "bad_method",
    ]
    .into_iter()
    .map(|function| {
        let engine = engine.clone();
        let hostile = hostile.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = engine.call(&hostile, function, &json!({}), &json!({})).await;
            (function, result, started.elapsed())
        })
    })
    .collect();
    let good_calls: Vec<_> = (0..8)
        .map(|n| {
            let engine = engine.clone();
            let good = good.clone();
            tokio::spawn(async move { engine.call(&good, "work", &json!({}), &json!({"n": 1000 + n})).await })
        })
        .collect();

    for (n, call) in good_calls.into_iter().enumerate() {
        let expected = (0..1000 + n as i64).sum::<i64>();
        assert_eq!(call.await.unwrap().unwrap(), RawReturn::Value(json!(expected)), "good call {n}");
    }
    for call in hostile_calls {
        let (function, result, elapsed) = call.await.unwrap();
        let error = result.expect_err(function);
        assert!(elapsed < limits.timeout, "{function} took {elapsed:?}");
        match function {
            "endless_loop" => assert_eq!(error, EngineError::BudgetExhausted { instructions: limits.instructions }),
            // The VM's call stack lives on the heap: the memory cap ends it
            // (or the budget, should frames get cheaper).
            "deep_recursion" => assert!(
                matches!(error, EngineError::MemoryLimit { .. } | EngineError::BudgetExhausted { .. }),
                "{error}"
            ),
            "huge_allocation" | "nested_value" => {
                assert_eq!(error, EngineError::MemoryLimit { bytes: limits.memory_bytes })
            }
            "explicit_panic" => assert!(
                matches!(&error, EngineError::Panicked(m) if m.starts_with("in `explicit_panic`: the script gave up (line 67")),
                "{error}"
            ),
            "runtime_error" => assert_eq!(
                error,
                EngineError::Runtime("in `runtime_error`: Division by zero (line 72: `1 / zero`)".into())
            ),
            // Rune names the missing method by hash; the snippet shows the call.
            "bad_method" => assert!(
                matches!(&error, EngineError::Runtime(m) if m.contains("Missing instance function")
                    && m.contains("`merged.no_such_method()`")),
                "{error}"
            ),
            _ => unreachable!(),
        }
    }
    eprintln!("hostile and good calls together took {:?}", started.elapsed());

    // The engine still serves afterwards, the hostile interface included.
    assert_eq!(call(&engine, &hostile, "work", json!({}), json!({"n": 10})).await, RawReturn::Value(json!(45)));
    assert_eq!(call(&engine, &good, "health_check", json!({}), Json::Null).await, RawReturn::Ok(json!(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_configurable_and_timeouts_answer_on_time() {
    // A budget larger than the timeout allows: the caller gets Timeout on
    // time; the abandoned thread ends when the budget does.
    let engine = engine_with(EngineLimits {
        instructions: 20_000_000,
        timeout: Duration::from_millis(300),
        ..EngineLimits::default()
    });
    let hostile = script("hostile-timeout", PluginType::Notifier, &fixture("hostile.rn"));
    let started = Instant::now();
    let error = engine.call(&hostile, "endless_loop", &json!({}), &json!({})).await.unwrap_err();
    assert_eq!(error, EngineError::Timeout(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(2), "answered after {:?}", started.elapsed());

    // Small budget and memory cap.
    let tight = engine_with(EngineLimits { instructions: 5_000, memory_bytes: 256 * 1024, ..EngineLimits::default() });
    let hostile = script("hostile-tight", PluginType::Notifier, &fixture("hostile.rn"));
    assert_eq!(
        tight.call(&hostile, "work", &json!({}), &json!({"n": 100000})).await.unwrap_err(),
        EngineError::BudgetExhausted { instructions: 5_000 }
    );
    assert_eq!(tight.call(&hostile, "work", &json!({}), &json!({"n": 10})).await.unwrap(), RawReturn::Value(json!(45)));
    assert_eq!(
        tight.call(&hostile, "huge_allocation", &json!({}), &json!({})).await.unwrap_err(),
        EngineError::MemoryLimit { bytes: 256 * 1024 }
    );
    // The business arguments count against the memory cap too.
    let big = "x".repeat(512 * 1024);
    assert_eq!(
        tight.call(&hostile, "work", &json!({}), &json!({"blob": big})).await.unwrap_err(),
        EngineError::MemoryLimit { bytes: 256 * 1024 }
    );

    // Concurrency cap: calls beyond it wait for a slot.
    let one_at_a_time = engine_with(EngineLimits { max_concurrent_calls: 1, ..EngineLimits::default() });
    let serial = script("serial", PluginType::Notifier, &fixture("hostile.rn"));
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let engine = one_at_a_time.clone();
            let script = serial.clone();
            tokio::spawn(async move { engine.call(&script, "work", &json!({}), &json!({"n": 100})).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), RawReturn::Value(json!(4950)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constructs_rune_cannot_bound_are_refused_at_compile_time() {
    let engine = engine();
    let base = fixture("notifier-complete.rn");
    let cases = [
        ("fn f(a, b) {\n    let v = [1, 2];\n    v.iter().map(|x| x * 2).collect::<Vec>()\n}", "line 3", "closures"),
        (
            "fn f(a, b) {\n    let k = 2;\n    let v = [1, 2];\n    v.iter().map(|x| x * k).collect::<Vec>()\n}",
            "line 4",
            "closures",
        ),
        ("fn g(x) { x }\nfn f(a, b) {\n    let h = g;\n    h(1)\n}", "line 3", "functions used as values"),
        ("fn f(a, b) {\n    yield 1;\n}", "line 2", "generators"),
        ("async fn g() { 1 }\nasync fn f(a, b) {\n    g().await\n}", "line 3", ".await"),
        ("struct S;\nimpl S {\n    fn q(self) { 1 }\n}", "line 2", "`impl` blocks"),
    ];
    for (code, line, what) in cases {
        let source = format!("{base}\n{code}\n");
        let offset = base.lines().count() + 1;
        let expected_line = format!("line {}", line.trim_start_matches("line ").parse::<usize>().unwrap() + offset);
        match engine.check(PluginType::Notifier, &source) {
            Err(EngineError::Compile(message)) => {
                assert!(message.contains(what), "{code}: {message}");
                assert!(message.contains(&expected_line), "{code}: {message} (expected {expected_line})");
            }
            other => panic!("{code} must be refused, got {other:?}"),
        }
    }
    // Native functions as values are fine: they never call back.
    let native = format!("{base}\nfn f(a, b) {{\n    let len = String::len;\n    len(\"abc\")\n}}\n");
    let native = script("native-fn", PluginType::Notifier, &native);
    assert_eq!(call(&engine, &native, "f", json!({}), Json::Null).await, RawReturn::Value(json!(3)));

    // Trusted scripts may opt in.
    let trusting = engine_with(EngineLimits { allow_callbacks: true, ..EngineLimits::default() });
    let closures =
        format!("{base}\nfn f(a, b) {{\n    let v = [1, 2];\n    v.iter().map(|x| x * 2).collect::<Vec>()\n}}\n");
    let closures = script("closures", PluginType::Notifier, &closures);
    assert_eq!(call(&trusting, &closures, "f", json!({}), Json::Null).await, RawReturn::Value(json!([2, 4])));

    // Nesting that would overflow the compiler's stack is refused, not fatal.
    for bomb in [
        format!("fn f(a, b) {{ {}0{} }}", "-(".repeat(5000), ")".repeat(5000)),
        format!("fn f(a, b) {{ 0{} }}", " + 1".repeat(20000)),
        format!("fn f(a, b) {{ {}0{} }}", "{ ".repeat(5000), " }".repeat(5000)),
    ] {
        let source = format!("{base}\n{bomb}\n");
        assert!(matches!(engine.check(PluginType::Notifier, &source), Err(EngineError::Compile(_))));
    }
}
