//! The bundled gateways (`plugins/gateway-*.rn`) run by the real engine:
//! gateway-yipay against an epay server on loopback, gateway-banktransfer's
//! manual reconciliation with its state in PostgreSQL.

mod banktransfer;
mod epay_server;
mod yipay;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustbill_plugins::engine::{
    Engine, EngineLimits, PluginFailure, PluginType, RawReturn, ScriptRef, parse_config_schema, parse_gateway_result,
};
use rustbill_plugins::host::HostEnv;
use rustbill_plugins::http::{HttpPolicy, OutboundHttp};
use serde_json::{Value as Json, json};

/// Short timeouts and backoffs: failing calls end quickly.
fn fast_http() -> Arc<OutboundHttp> {
    Arc::new(OutboundHttp::new(HttpPolicy {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        backoff_initial: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        ..HttpPolicy::default()
    }))
}

/// An engine whose plugin state is `pool`'s `plugins.plugin_state`, or
/// kept in memory without one.
fn engine_with(pool: Option<sqlx::PgPool>) -> Engine {
    let env = Arc::new(HostEnv::new(tokio::runtime::Handle::current(), pool).with_http(fast_http()));
    Engine::new(env, EngineLimits::default()).expect("engine")
}

fn engine() -> Engine {
    engine_with(None)
}

/// The text of `plugins/<file>`.
fn bundled(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../plugins").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn script(interface_id: &str, file: &str) -> ScriptRef {
    let (plugin_type, plugin_id) = PluginType::from_file_name(file).expect("a plugin file name");
    assert_eq!(plugin_type, PluginType::Gateway, "{file}");
    ScriptRef::new(interface_id, plugin_id, plugin_type, bundled(file))
}

/// Calls `function(config ⊕ args)`; an engine error (compile, runtime,
/// limits) fails the test, what the script returned is given back.
async fn call(engine: &Engine, script: &ScriptRef, function: &str, config: &Json, args: Json) -> RawReturn {
    engine.call(script, function, config, &args).await.unwrap_or_else(|error| panic!("{function}: {error}"))
}

/// A call decoded with the gateway convention (`Err`/`"ERROR: …"` →
/// failure).
async fn call_json(
    engine: &Engine,
    script: &ScriptRef,
    function: &str,
    config: &Json,
    args: Json,
) -> Result<Json, PluginFailure> {
    parse_gateway_result(call(engine, script, function, config, args).await)
}

/// The business arguments of `create_payment` (CONTRACT.md).
fn payment_args(payment_id: &str, amount: &str, method: &str) -> Json {
    json!({
        "payment_id": payment_id, "description": "VPS 2核4G 月付", "amount": amount, "currency": "CNY",
        "notify_url": "https://billing.example.com/callback/0197a1b2-iface", "return_url": "https://billing.example.com/pay/done?x=1&y=2",
        "client_ip": "203.0.113.7", "method": method,
    })
}

fn rfc3339(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|error| panic!("not RFC 3339 ({error}): {text}"))
}

/// Both bundled gateways compile, pass the gateway contract (7 functions,
/// 2 parameters each) and report version 1.0.0; their config schemas are
/// what the Admin UI needs to render the forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_gateways_pass_the_contract_and_describe_their_config() {
    let engine = engine();

    let yipay = engine.check(PluginType::Gateway, &bundled("gateway-yipay.rn")).expect("gateway-yipay contract");
    assert_eq!(yipay.version.as_deref(), Some("1.0.0"));
    assert!(!yipay.has_admin_page);
    let bank = engine.check(PluginType::Gateway, &bundled("gateway-banktransfer.rn")).expect("banktransfer contract");
    assert_eq!(bank.version.as_deref(), Some("1.0.0"));
    assert!(bank.has_admin_page);
    for function in ["confirm_receipt", "confirm_refund", "list_payments"] {
        assert!(bank.functions.iter().any(|name| name == function), "{function} in {:?}", bank.functions);
    }

    // A script that misses a contract function is refused: the check is real.
    let broken = bundled("gateway-yipay.rn").replace("fn refund(", "fn refund_payment(");
    let error = engine.check(PluginType::Gateway, &broken).expect_err("refund is missing");
    assert!(error.to_string().contains("refund"), "{error}");

    let schema = |file: &'static str| {
        let engine = engine.clone();
        async move {
            let raw = call(&engine, &script("schema", file), "config_schema", &json!({}), json!({})).await;
            parse_config_schema(raw).expect("a JSON schema")
        }
    };
    let yipay = schema("gateway-yipay.rn").await;
    assert_eq!(yipay["required"], json!(["api_url", "pid", "key"]));
    assert_eq!(yipay["properties"]["key"]["format"], "password", "the key is a secret");
    assert_eq!(yipay["properties"]["default_type"]["enum"], json!(["alipay", "wxpay", "qqpay"]));
    assert_eq!(yipay["properties"]["pid"]["type"], "string");
    let bank = schema("gateway-banktransfer.rn").await;
    assert_eq!(bank["required"], json!(["bank_name", "account_name", "account_number"]));
    for field in ["bank_name", "account_name", "account_number", "instructions_extra"] {
        assert_eq!(bank["properties"][field]["type"], "string", "{field}");
    }
}
