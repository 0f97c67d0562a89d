//! What the catalog and the admin form see: the contract, the
//! configuration schema, prices, the spec template and synced products.

use rustbill_plugins::engine::{PluginType, parse_config_schema, parse_spec_template};
use serde_json::{Value as Json, json};

use super::harness::{Setup, engine, failure, source, success};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_passes_the_first_party_provider_contract() {
    let info = engine().check(PluginType::FirstPartyProvider, &source()).expect("contract");
    assert_eq!(info.version.as_deref(), Some("1.0.0"));
    for function in PluginType::FirstPartyProvider.required_functions() {
        assert!(info.functions.iter().any(|found| found == function), "{function} missing from {:?}", info.functions);
    }
    // The file name makes it a first-party provider with id `incus`.
    assert_eq!(
        PluginType::from_file_name("provider-incus.rn").unwrap(),
        (PluginType::FirstPartyProvider, "incus".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_form_hides_the_key_and_requires_the_connection() {
    let setup = Setup::new("incus-schema").await;
    let schema = parse_config_schema(setup.call("config_schema", json!({})).await).expect("schema");
    assert_eq!(schema["required"], json!(["api_url", "cert_pem", "key_pem"]));
    assert_eq!(schema["properties"]["key_pem"]["format"], "password");
    assert_eq!(schema["properties"]["cert_pem"].get("format"), None);
    assert_eq!(schema["properties"]["instance_type"]["enum"], json!(["container", "virtual-machine"]));
    for key in ["server_cert_pem", "project", "storage_pool", "network", "image", "price_per_core", "multiplier_yearly"]
    {
        assert_eq!(schema["properties"][key]["type"], "string", "{key}");
    }
}

fn spec(cores: u32, memory: u32, disk: u32, cycle: &str) -> Json {
    json!({"cpu_cores": cores, "memory_gb": memory, "disk_gb": disk, "bandwidth_mbps": 0, "region": "", "os": "",
           "billing_cycle": cycle})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_are_exact_decimals_per_billing_cycle() {
    let setup = Setup::new("incus-prices").await;
    // 2×10 + 4×5 + 40×0.5 = 60 a month.
    let monthly = setup.ok("query_price", spec(2, 4, 40, "monthly")).await;
    assert_eq!(monthly, json!({"amount": "60.00", "currency": "CNY", "billing_cycle": "monthly"}));
    assert_eq!(setup.ok("query_price", spec(2, 4, 40, "quarterly")).await["amount"], "180.00");
    assert_eq!(setup.ok("query_price", spec(2, 4, 40, "yearly")).await["amount"], "720.00");

    // Sub-cent unit prices and discounted multipliers, without float
    // error: 1.99 + 3×9.99 + 2×0.333 + 500×0.005 = 35.126 a month → 35.13;
    // × 2.85 = 100.1091 → 100.11; × 11.5 = 403.949 → 403.95.
    let config = setup.config_with(json!({
        "price_base": "1.99", "price_per_core": "9.99", "price_per_gb_ram": "0.333", "price_per_gb_disk": "0.005",
        "multiplier_quarterly": "2.85", "multiplier_yearly": "11.5", "currency": "USD",
    }));
    let price = |cycle: &str| {
        let setup = &setup;
        let config = config.clone();
        let cycle = cycle.to_string();
        async move { success(setup.call_with(&config, "query_price", spec(3, 2, 500, &cycle)).await) }
    };
    assert_eq!(price("monthly").await["amount"], "35.13");
    assert_eq!(price("quarterly").await, json!({"amount": "100.11", "currency": "USD", "billing_cycle": "quarterly"}));
    assert_eq!(price("yearly").await["amount"], "403.95");
    // Half a cent is rounded up: 10 × 0.0025 = 0.025.
    let half =
        setup.config_with(json!({"price_per_core": "0", "price_per_gb_ram": "0", "price_per_gb_disk": "0.0025"}));
    assert_eq!(success(setup.call_with(&half, "query_price", spec(1, 1, 10, "monthly")).await)["amount"], "0.03");

    let unknown = setup.failure("query_price", spec(2, 4, 40, "weekly")).await;
    assert!(unknown.contains("unknown billing cycle weekly"), "{unknown}");
    let too_big = setup.failure("query_price", spec(64, 4, 40, "monthly")).await;
    assert!(too_big.contains("cpu_cores must be 1 to 16, got 64"), "{too_big}");
    let no_memory = setup.failure("query_price", spec(2, 0, 40, "monthly")).await;
    assert!(no_memory.contains("memory_gb"), "{no_memory}");
    let broken = setup.config_with(json!({"price_per_core": "ten"}));
    let bad_price = failure(setup.call_with(&broken, "query_price", spec(2, 4, 40, "monthly")).await);
    assert!(bad_price.contains("price_per_core is not a decimal amount: ten"), "{bad_price}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_template_offers_the_configured_images_regions_and_limits() {
    let setup = Setup::new("incus-template").await;
    let config = setup.config_with(json!({"max_cpu_cores": "8", "max_disk_gb": "200"}));
    let template = parse_spec_template(setup.call_with(&config, "spec_template", json!({})).await).expect("template");
    let compute = &template["groups"][0];
    let keys: Vec<&str> = compute["fields"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["cpu_cores", "memory_gb", "disk_gb"]);
    for field in compute["fields"].as_array().unwrap() {
        assert_eq!(field["field_type"], "slider");
        assert_eq!(field["group"], "compute");
    }
    assert_eq!((compute["fields"][0]["min"].as_i64(), compute["fields"][0]["max"].as_i64()), (Some(1), Some(8)));
    assert_eq!(compute["fields"][1]["max"], 64);
    assert_eq!((compute["fields"][2]["min"].as_i64(), compute["fields"][2]["max"].as_i64()), (Some(10), Some(200)));

    let system = &template["groups"][1]["fields"];
    assert_eq!(system[0]["key"], "os");
    assert_eq!(system[0]["default_value"], "debian/12");
    assert_eq!(
        system[0]["options"],
        json!([
            {"value": "debian/12", "label": "Debian 12", "description": ""},
            {"value": "ubuntu/24.04", "label": "Ubuntu 24.04", "description": ""},
            {"value": "alpine/3.20", "label": "Alpine 3.20", "description": ""},
        ])
    );
    assert_eq!(system[1]["key"], "region");
    assert_eq!(system[1]["field_type"], "region");
    assert_eq!(system[1]["default_value"], "hk-1");
    let regions: Vec<&str> =
        system[1]["options"].as_array().unwrap().iter().map(|o| o["value"].as_str().unwrap()).collect();
    assert_eq!(regions, ["hk-1", "sg-1"]);

    let broken = setup.config_with(json!({"max_cpu_cores": "lots"}));
    let error = failure(setup.call_with(&broken, "spec_template", json!({})).await);
    assert!(error.contains("max_cpu_cores"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synced_products_are_the_configured_plans_with_their_prices() {
    let setup = Setup::new("incus-products").await;
    let config = setup.config_with(json!({"plans": "1:1:20, 2:4:40", "multiplier_quarterly": "2.85"}));
    let products = success(setup.call_with(&config, "sync_products", json!({})).await);
    assert_eq!(
        products,
        json!([
            {
                "id": "incus-1c-1g-20g", "name": "1C1G 20G", "description": "1 vCPU, 1 GB RAM, 20 GB disk",
                "specs": {"cpu_cores": "1", "memory_gb": "1", "disk_gb": "20", "region": "hk-1"},
                // 10 + 5 + 20×0.5 = 25 a month.
                "prices": {"monthly": "25.00", "quarterly": "71.25", "yearly": "300.00"},
                "currency": "CNY",
            },
            {
                "id": "incus-2c-4g-40g", "name": "2C4G 40G", "description": "2 vCPU, 4 GB RAM, 40 GB disk",
                "specs": {"cpu_cores": "2", "memory_gb": "4", "disk_gb": "40", "region": "hk-1"},
                "prices": {"monthly": "60.00", "quarterly": "171.00", "yearly": "720.00"},
                "currency": "CNY",
            },
        ])
    );
    let defaults = setup.ok("sync_products", json!({})).await;
    assert_eq!(defaults.as_array().map(Vec::len), Some(3));

    let broken = setup.config_with(json!({"plans": "1:1:20, 2:4"}));
    let error = failure(setup.call_with(&broken, "sync_products", json!({})).await);
    assert!(error.contains("plans: 2:4 is not cores:memory_gb:disk_gb"), "{error}");
}
