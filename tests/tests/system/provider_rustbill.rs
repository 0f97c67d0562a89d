//! provider-rustbill against a second RustBill stack: the downstream's
//! script calls the upstream's edge over gRPC-Web with a customer API key
//! of the upstream. What the upstream serves in this version (identity,
//! its plugin service's provider list and prices, its catalog) is exercised for real;
//! what it does not serve yet (orders, instances, public balance)
//! must come back as a clear provider failure, never as made-up data.

use std::sync::Arc;

use rustbill_plugins::engine::{
    Engine, EngineLimits, PluginType, RawReturn, ScriptRef, parse_health, parse_provider_result,
};
use rustbill_plugins::host::HostEnv;
use rustbill_proto::downstream::CreateApiKeyRequest;
use rustbill_proto::downstream::api_key_service_client::ApiKeyServiceClient;
use rustbill_system_tests::flows;
use rustbill_system_tests::{bearer, session};
use serde_json::{Value as Json, json};

const SCRIPT: &str = include_str!("../../../plugins/provider-rustbill.rn");
const DEMO: &str = include_str!("../../fixtures/plugins/provider-demo.rn");

async fn call(engine: &Engine, script: &ScriptRef, function: &str, config: &Json, args: Json) -> RawReturn {
    engine.call(script, function, config, &args).await.unwrap_or_else(|e| panic!("{function}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reselling_from_an_upstream_rustbill() {
    // The upstream: a RustBill with an enabled provider priced at 10.00.
    let (upstream, _plugins) = flows::server_with_plugins(&[("provider-demo.rn", DEMO)]).await;
    let channel = upstream.channel().await;
    let admin = flows::bootstrap_admin(&upstream).await;
    let offered_id =
        flows::enabled_interface(&upstream, &admin, "demo", "HK", r#"{"api_url":"https://hk.example"}"#).await;

    // The reseller is a customer of the upstream with an API key.
    let reseller = flows::register_customer(&upstream, "reseller").await;
    flows::allow_api_keys(&upstream, &admin, &reseller.customer_id).await;
    let key = ApiKeyServiceClient::new(channel.clone())
        .create_api_key(bearer(
            CreateApiKeyRequest { name: "downstream".into(), customer_id: String::new() },
            &reseller.access_token,
        ))
        .await
        .unwrap()
        .into_inner()
        .api_key;

    // The downstream's engine runs the bundled script.
    let env = Arc::new(HostEnv::new(tokio::runtime::Handle::current(), None));
    let engine = Engine::new(env, EngineLimits::default()).unwrap();
    engine.check(PluginType::UpstreamProvider, SCRIPT).expect("the 15-function contract");
    let script = ScriptRef::new("resell-1", "rustbill", PluginType::UpstreamProvider, SCRIPT);
    let config = json!({ "api_url": upstream.edge, "api_key": key, "markup_percent": "20", "currency": "CNY" });

    let healthy = call(&engine, &script, "health_check", &config, json!({})).await;
    assert!(parse_health(PluginType::UpstreamProvider, healthy).expect("the key works upstream"));
    let mut wrong = config.clone();
    wrong["api_key"] = json!("rk_live_not-a-real-key");
    let refused =
        parse_health(PluginType::UpstreamProvider, call(&engine, &script, "health_check", &wrong, json!({})).await)
            .expect_err("a wrong key is refused");
    assert!(refused.message.contains("Unauthenticated"), "{}", refused.message);

    // Prices and templates come from the upstream's provider, with markup.
    let spec = json!({"cpu_cores": 2, "memory_gb": 4, "disk_gb": 40, "region": "hk", "os": "debian-12", "billing_cycle": "monthly"});
    let quote =
        parse_provider_result(call(&engine, &script, "query_price", &config, spec.clone()).await).expect("a quote");
    assert_eq!(quote["amount"], "12.00", "10.00 upstream + 20%");
    assert_eq!(quote["currency"], "CNY");
    let template = rustbill_plugins::engine::parse_spec_template(
        call(&engine, &script, "spec_template", &config, json!({})).await,
    )
    .expect("the upstream's template");
    assert_eq!(template["groups"][0]["fields"][0]["key"], "cpu_cores");

    // What this upstream version does not serve yet is a clear failure.
    let failure = |raw: RawReturn| parse_provider_result(raw).expect_err("not served upstream yet").message;
    let balance = failure(call(&engine, &script, "get_upstream_balance", &config, json!({})).await);
    assert!(balance.starts_with("Unimplemented"), "{balance}");
    // The upstream's catalog, resold with the markup.
    let mut catalog = rustbill_proto::product::product_service_client::ProductServiceClient::new(channel.clone());
    catalog
        .create_product(session(
            rustbill_proto::product::CreateProductRequest {
                name: "Upstream 2C4G".into(),
                description: "from the upstream".into(),
                price_per_month: "10.00".into(),
                interface_id: offered_id.clone(),
                billing_cycles: [("yearly".to_string(), "100.00".to_string())].into(),
                specs: [("region".to_string(), "hk".to_string())].into(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap();
    let products = parse_provider_result(call(&engine, &script, "sync_products", &config, json!({})).await)
        .expect("the upstream's products");
    assert_eq!(products.as_array().unwrap().len(), 1, "{products}");
    assert_eq!(products[0]["name"], "Upstream 2C4G");
    assert_eq!(products[0]["prices"]["monthly"], "12.00");
    assert_eq!(products[0]["prices"]["yearly"], "120.00");
    assert_eq!(products[0]["specs"]["region"], "hk");
    let mut order = spec.clone();
    order["instance_id"] = json!("local-1");
    let created = failure(call(&engine, &script, "create_instance", &config, order).await);
    assert!(created.starts_with("Unavailable"), "{created}");
    let listed = failure(call(&engine, &script, "sync_upstream_instances", &config, json!({})).await);
    assert!(listed.starts_with("Unavailable"), "{listed}");

    // A method the upstream does not have, and a malformed request.
    let bad = rustbill_plugins::engine::Engine::clone(&engine);
    let probe = ScriptRef::new(
        "probe",
        "rustbill",
        PluginType::UpstreamProvider,
        SCRIPT.replace(
            "fn health_check(merged, _unused) {",
            "pub fn probe(merged, _unused) {\n    rustbill_host::grpc_web_call(rustbill_host::json_get(merged, \"api_url\"), rustbill_host::json_get(merged, \"method\"), rustbill_host::json_get(merged, \"body\"), rustbill_host::json_stringify(#{authorization: `Bearer ${rustbill_host::json_get(merged, \"api_key\")}`}))\n}\n\nfn health_check(merged, _unused) {",
        ),
    );
    let answer = |method: &str, body: &str| {
        let (bad, probe, config) = (bad.clone(), probe.clone(), config.clone());
        let args = json!({"method": method, "body": body});
        async move { parse_provider_result(call(&bad, &probe, "probe", &config, args).await) }
    };
    let unknown = answer("rustbill.identity.IdentityService/Nope", "{}").await.unwrap_err();
    assert!(unknown.message.contains("no method Nope"), "{}", unknown.message);
    let malformed = answer("rustbill.identity.IdentityService/GetMe", "{\"nope\": 1}").await.unwrap_err();
    assert!(malformed.message.contains("GetMeRequest"), "{}", malformed.message);
    let me = answer("rustbill.identity.IdentityService/GetMe", "{}").await.expect("GetMe");
    assert_eq!(me["code"], 0);
    assert_eq!(me["response"]["user"]["username"], "reseller");
}
