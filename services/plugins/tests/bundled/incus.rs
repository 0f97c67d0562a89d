//! provider-incus against an Incus API server over mTLS.

use rustbill_plugins::engine::{
    ActionOutcome, DetailSection, InstanceAction, InstanceCreated, PluginType, RawReturn, parse_health,
    parse_provider_result,
};
use serde_json::{Value as Json, json};

use crate::common::{bundled, call, engine, script};
use crate::incus_server::IncusServer;
use crate::support::pki::Pki;

fn config(server: &IncusServer, pki: &Pki) -> Json {
    json!({
        "api_url": server.url(), "cert_pem": pki.client.cert, "key_pem": pki.client.key, "server_ca_pem": pki.ca_pem,
        "project": "customers", "storage_pool": "fast", "image": "debian/12", "region": "hk-1",
        "price_per_core": "10", "price_per_gb_ram": "5", "price_per_gb_disk": "0.5", "currency": "CNY",
    })
}

fn provider(raw: RawReturn) -> Json {
    parse_provider_result(raw).expect("provider result")
}

fn failure(raw: RawReturn) -> String {
    parse_provider_result(raw).expect_err("a provider failure").message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incus_instances_are_created_driven_and_deleted() {
    let engine = engine();
    engine.check(PluginType::FirstPartyProvider, &bundled("provider-incus.rn")).expect("contract");
    let pki = Pki::new();
    let server = IncusServer::start(&pki).await;
    let config = config(&server, &pki);
    let incus = script("incus-1", "provider-incus.rn");

    // Trusted with our certificate; a certificate from another CA is not.
    let healthy = call(&engine, &incus, "health_check", &config, json!({})).await;
    assert!(parse_health(PluginType::FirstPartyProvider, healthy).expect("healthy"));
    let mut rogue = config.clone();
    rogue["cert_pem"] = json!(pki.rogue_client.cert);
    rogue["key_pem"] = json!(pki.rogue_client.key);
    let refused = call(&engine, &incus, "health_check", &rogue, json!({})).await;
    assert!(parse_health(PluginType::FirstPartyProvider, refused).is_err());

    // Create: limits, disk, image and project as Incus expects them.
    let spec = json!({"cpu_cores": 2, "memory_gb": 4, "disk_gb": 40, "os": "debian/12", "region": "hk-1"});
    let mut args = spec.clone();
    args["instance_id"] = json!("0193-abc");
    args["hostname"] = json!("Web_01.example");
    args["password"] = json!("s3cret pass");
    let created =
        InstanceCreated::from_return(call(&engine, &incus, "create_instance", &config, args).await).expect("created");
    assert_eq!(created.instance_id, "web-01-example");
    assert_eq!(created.status, "running");
    let ip = created.ip_address.clone().expect("an IPv4");
    assert!(ip.starts_with("10.20.0."), "{ip}");
    let instance = server.instance("web-01-example").expect("on the server");
    assert_eq!(instance.project, "customers");
    assert_eq!(instance.config["limits.cpu"], "2");
    assert_eq!(instance.config["limits.memory"], "4GiB");
    assert!(instance.config["cloud-init.user-data"].as_str().unwrap().contains("s3cret pass"));
    assert_eq!(instance.devices["root"]["size"], "40GiB");
    assert_eq!(instance.devices["root"]["pool"], "fast");
    assert_eq!(instance.source["alias"], "debian/12");
    assert_eq!(instance.status, "Running");

    let target = json!({"instance_id": "web-01-example"});
    let status = provider(call(&engine, &incus, "get_instance_status", &config, target.clone()).await);
    assert_eq!((status["status"].as_str(), status["ip_address"].as_str()), (Some("running"), Some(ip.as_str())));

    // Actions change the server's state.
    let act = |action: &str| {
        let mut args = target.clone();
        args["action"] = json!(action);
        args
    };
    let stopped =
        ActionOutcome::from_return(call(&engine, &incus, "execute_action", &config, act("stop")).await).unwrap();
    assert!(stopped.success && stopped.message == "stop: stopped", "{stopped:?}");
    assert_eq!(server.instance("web-01-example").unwrap().status, "Stopped");
    let again = failure(call(&engine, &incus, "execute_action", &config, act("stop")).await);
    assert!(again.contains("already stopped"), "{again}");
    let started =
        ActionOutcome::from_return(call(&engine, &incus, "execute_action", &config, act("start")).await).unwrap();
    assert_eq!(started.message, "start: running");
    let restarted =
        ActionOutcome::from_return(call(&engine, &incus, "execute_action", &config, act("restart")).await).unwrap();
    assert!(restarted.success);
    let unknown = failure(call(&engine, &incus, "execute_action", &config, act("explode")).await);
    assert!(unknown.contains("unknown action"), "{unknown}");

    // The customer's view.
    let mut view = spec.clone();
    view["instance_id"] = json!("web-01-example");
    view["status"] = json!("running");
    view["ip_address"] = json!(ip);
    let actions =
        InstanceAction::list_from_return(call(&engine, &incus, "instance_actions", &config, view.clone()).await)
            .unwrap();
    let enabled: Vec<_> = actions.iter().filter(|a| a.enabled).map(|a| a.id.as_str()).collect();
    assert_eq!(enabled, ["restart", "stop", "force_stop"]);
    assert!(!actions.iter().find(|a| a.id == "force_stop").unwrap().confirmation.is_empty());
    let sections =
        DetailSection::list_from_return(call(&engine, &incus, "instance_detail_sections", &config, view).await)
            .unwrap();
    assert!(sections[0].content_html.as_deref().unwrap().contains(&ip));
    assert_eq!(sections[0].data_json["memory_gb"], "4");

    // Terminate: forced off, deleted, and gone afterwards.
    let deleted = provider(call(&engine, &incus, "terminate_instance", &config, target.clone()).await);
    assert_eq!(deleted, "deleted");
    assert!(server.instance("web-01-example").is_none());
    let gone = provider(call(&engine, &incus, "get_instance_status", &config, target.clone()).await);
    assert_eq!(gone["status"], "terminated");
    assert_eq!(provider(call(&engine, &incus, "terminate_instance", &config, target).await), "already gone");

    // Incus's own errors come back as the provider's failure.
    let mut missing = spec.clone();
    missing["instance_id"] = json!("x1");
    missing["os"] = json!("gentoo/nope");
    let error = failure(call(&engine, &incus, "create_instance", &config, missing).await);
    assert!(error.contains("Image \"gentoo/nope\" not found"), "{error}");
    let error = failure(call(&engine, &incus, "create_instance", &config, json!({"instance_id": "x2"})).await);
    assert!(error.contains("cpu_cores"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incus_prices_templates_and_an_unreachable_server() {
    let engine = engine();
    let pki = Pki::new();
    let server = IncusServer::start(&pki).await;
    let config = config(&server, &pki);
    let incus = script("incus-2", "provider-incus.rn");
    let spec = |cycle: &str| json!({"cpu_cores": 2, "memory_gb": 4, "disk_gb": 40, "billing_cycle": cycle});
    // 2×10 + 4×5 + 40×0.5 = 60 a month.
    let monthly = provider(call(&engine, &incus, "query_price", &config, spec("monthly")).await);
    assert_eq!((monthly["amount"].as_str(), monthly["currency"].as_str()), (Some("60.00"), Some("CNY")));
    let yearly = provider(call(&engine, &incus, "query_price", &config, spec("yearly")).await);
    assert_eq!(yearly["amount"], "720.00");
    let error = failure(call(&engine, &incus, "query_price", &config, spec("weekly")).await);
    assert!(error.contains("weekly"));

    let products = provider(call(&engine, &incus, "sync_products", &config, json!({})).await);
    assert_eq!(products.as_array().unwrap().len(), 3);
    assert_eq!(products[1]["prices"]["monthly"], "60.00");
    let template =
        rustbill_plugins::engine::parse_spec_template(call(&engine, &incus, "spec_template", &config, json!({})).await)
            .unwrap();
    assert_eq!(template["groups"][0]["fields"][0]["key"], "cpu_cores");
    assert_eq!(template["groups"][1]["fields"][1]["default_value"], "hk-1");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut down = config.clone();
    down["api_url"] = json!(format!("https://localhost:{}", closed.local_addr().unwrap().port()));
    drop(closed);
    let error = failure(call(&engine, &incus, "get_instance_status", &down, json!({"instance_id": "a"})).await);
    assert!(error.contains("Connection refused") || error.contains("connect"), "{error}");
}
