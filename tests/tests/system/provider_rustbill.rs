//! provider-rustbill against a second RustBill stack: the downstream's
//! script calls the upstream's edge over gRPC-Web with a customer API key
//! of the upstream: identity, the upstream's provider list and prices, its
//! catalog, its balance, and the whole order pipeline (order paid from the
//! upstream balance, provisioned by the upstream's provider, actions and
//! termination run there).

use std::sync::Arc;
use std::time::Duration;

use rustbill_plugins::engine::{
    Engine, EngineLimits, InstanceAction, PluginType, RawReturn, ScriptRef, parse_health, parse_provider_result,
    parse_spec_template,
};
use rustbill_plugins::host::HostEnv;
use rustbill_proto::balance::AdjustBalanceRequest;
use rustbill_proto::balance::balance_service_client::BalanceServiceClient;
use rustbill_proto::downstream::CreateApiKeyRequest;
use rustbill_proto::downstream::api_key_service_client::ApiKeyServiceClient;
use rustbill_proto::instance::ListInstancesRequest;
use rustbill_proto::instance::instance_service_client::InstanceServiceClient;
use rustbill_proto::integration::ImportUpstreamInstanceRequest;
use rustbill_proto::integration::integration_service_client::IntegrationServiceClient;
use rustbill_system_tests::flows;
use rustbill_system_tests::{bearer, session};
use serde_json::{Value as Json, json};

const SCRIPT: &str = include_str!("../../../plugins/provider-rustbill.rn");
const DEMO: &str = include_str!("../../fixtures/plugins/provider-demo.rn");

/// Test-only entry points appended to the bundled script: a raw
/// `grpc_web_call` and the script's pure helpers.
const PROBES: &str = r#"
fn probe_call(merged, _unused) {
    let headers = rustbill_host::json_stringify(#{ authorization: `Bearer ${rustbill_host::json_get(merged, "api_key")}` });
    rustbill_host::grpc_web_call(rustbill_host::json_get(merged, "api_url"), rustbill_host::json_get(merged, "method"), rustbill_host::json_get(merged, "body"), headers)
}

fn probe_resale(merged, _unused) {
    resale(merged, rustbill_host::json_get(merged, "price"))
}

fn probe_status(merged, _unused) {
    normalized_status(rustbill_host::json_get(merged, "status"))
}
"#;

async fn call(engine: &Engine, script: &ScriptRef, function: &str, config: &Json, args: Json) -> RawReturn {
    engine.call(script, function, config, &args).await.unwrap_or_else(|e| panic!("{function}: {e}"))
}

/// The failure a provider function reported (`"ERROR: <this>"`).
fn failure(function: &str, raw: RawReturn) -> String {
    parse_provider_result(raw).map(|ok| panic!("{function} succeeded: {ok}")).unwrap_err().message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reselling_from_an_upstream_rustbill() {
    // The upstream: a RustBill with an enabled provider priced at 10.00.
    let (upstream, _plugins) =
        flows::server_with_plugins(&[("provider-demo.rn", DEMO), ("provider-rustbill.rn", SCRIPT)]).await;
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
    assert!(key.starts_with("rk_live_"), "{key}");

    // The downstream's engine runs the bundled script.
    let env = Arc::new(HostEnv::new(tokio::runtime::Handle::current(), None));
    let engine = Engine::new(env, EngineLimits::default()).unwrap();
    let info = engine.check(PluginType::UpstreamProvider, SCRIPT).expect("the 15-function contract");
    assert_eq!(info.version.as_deref(), Some("1.0.0"));
    let script = ScriptRef::new("resell-1", "rustbill", PluginType::UpstreamProvider, SCRIPT);
    let config = json!({ "api_url": upstream.edge, "api_key": key, "markup_percent": "20", "currency": "CNY" });

    // health_check is GetMe with the key.
    let healthy = call(&engine, &script, "health_check", &config, json!({})).await;
    assert!(parse_health(PluginType::UpstreamProvider, healthy).expect("the key works upstream"));
    let mut wrong = config.clone();
    wrong["api_key"] = json!("rk_live_not-a-real-key");
    let refused =
        parse_health(PluginType::UpstreamProvider, call(&engine, &script, "health_check", &wrong, json!({})).await)
            .expect_err("a wrong key is refused");
    assert!(refused.message.starts_with("Unauthenticated: "), "{}", refused.message);
    let refused = failure("initialize", call(&engine, &script, "initialize", &wrong, json!({})).await);
    assert!(refused.starts_with("Unauthenticated: "), "{refused}");

    // Prices and templates come from the upstream's provider, with markup.
    let spec = json!({"cpu_cores": 2, "memory_gb": 4, "disk_gb": 40, "region": "hk", "os": "debian-12", "billing_cycle": "monthly"});
    let quote =
        parse_provider_result(call(&engine, &script, "query_price", &config, spec.clone()).await).expect("a quote");
    assert_eq!(quote["amount"], "12.00", "10.00 upstream + 20%");
    assert_eq!(quote["currency"], "CNY");
    assert_eq!(quote["billing_cycle"], "monthly");
    let mut pinned = config.clone();
    pinned["upstream_interface_id"] = json!(offered_id);
    pinned["markup_percent"] = json!("12.5");
    let quote = parse_provider_result(call(&engine, &script, "query_price", &pinned, spec.clone()).await)
        .expect("a quote from the configured upstream interface");
    assert_eq!(quote["amount"], "11.25", "10.00 upstream + 12.5%");
    let template = parse_spec_template(call(&engine, &script, "spec_template", &config, json!({})).await)
        .expect("the upstream's template");
    assert_eq!(template["groups"][0]["fields"][0]["key"], "cpu_cores");
    let mut unknown = config.clone();
    unknown["upstream_interface_id"] = json!("00000000-0000-0000-0000-000000000000");
    let missing = failure("spec_template", call(&engine, &script, "spec_template", &unknown, json!({})).await);
    assert_eq!(missing, "NotFound: the upstream provider interface is not offered");

    // The upstream's catalog, resold with the markup; the upstream product
    // id travels in the specs (what create_instance orders).
    let mut catalog = rustbill_proto::product::product_service_client::ProductServiceClient::new(channel.clone());
    let upstream_product = catalog
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
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    let products = parse_provider_result(call(&engine, &script, "sync_products", &config, json!({})).await)
        .expect("the upstream's products");
    assert_eq!(products.as_array().unwrap().len(), 1, "{products}");
    assert_eq!(products[0]["id"], upstream_product.id);
    assert_eq!(products[0]["name"], "Upstream 2C4G");
    assert_eq!(products[0]["description"], "from the upstream");
    assert_eq!(products[0]["prices"]["monthly"], "12.00");
    assert_eq!(products[0]["prices"]["yearly"], "120.00");
    assert_eq!(products[0]["currency"], "CNY");
    assert_eq!(products[0]["specs"], json!({"region": "hk", "upstream_product_id": upstream_product.id}));

    // The reseller's account upstream pays its orders there.
    let balance = parse_provider_result(call(&engine, &script, "get_upstream_balance", &config, json!({})).await)
        .expect("the upstream balance");
    assert_eq!(balance, json!({"balance": "0.00", "currency": "CNY"}));
    BalanceServiceClient::new(channel.clone())
        .adjust_balance(session(
            AdjustBalanceRequest {
                customer_id: reseller.customer_id.clone(),
                amount: "25.00".into(),
                description: "reseller deposit".into(),
            },
            &admin,
        ))
        .await
        .unwrap();

    // create_instance orders upstream, paid from that balance; the upstream
    // provisions through its own provider.
    let mut order = spec.clone();
    order["order_id"] = json!("downstream-order-1");
    order["instance_id"] = json!("local-1");
    let unknown_product =
        failure("create_instance", call(&engine, &script, "create_instance", &config, order.clone()).await);
    assert!(unknown_product.contains("needs upstream_product_id"), "{unknown_product}");
    order["extra_specs"] = json!({"upstream_product_id": upstream_product.id});
    let created = parse_provider_result(call(&engine, &script, "create_instance", &config, order.clone()).await)
        .expect("an upstream order");
    let instance_id = created["instance_id"].as_str().unwrap().to_string();
    let by_id = json!({"instance_id": instance_id});
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = call(&engine, &script, "get_instance_status", &config, by_id.clone()).await;
        let status = parse_provider_result(status).expect("a status");
        if status["status"] == "running" {
            assert_eq!(status["ip_address"], "192.0.2.10", "the upstream provider's address");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "upstream instance not running: {status}\n{}", upstream.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let balance = parse_provider_result(call(&engine, &script, "get_upstream_balance", &config, json!({})).await)
        .expect("the upstream balance");
    assert_eq!(balance["balance"], "15.00", "25.00 less the upstream's 10.00");
    let listed = parse_provider_result(call(&engine, &script, "sync_upstream_instances", &config, json!({})).await)
        .expect("upstream instances");
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let imported =
        parse_provider_result(call(&engine, &script, "import_upstream_instance", &config, by_id.clone()).await)
            .expect("import");
    assert_eq!(imported["status"], "running");

    // IntegrationService.ImportUpstreamInstance stores it locally, as an
    // order of a customer (here the upstream imports from itself through
    // its own edge, an upstream provider interface like any other).
    let resold = flows::enabled_interface(
        &upstream,
        &admin,
        "rustbill",
        "Self",
        &json!({ "api_url": upstream.edge, "api_key": key, "markup_percent": "0", "currency": "CNY" }).to_string(),
    )
    .await;
    let local_product = catalog
        .create_product(session(
            rustbill_proto::product::CreateProductRequest {
                name: "Resold 2C4G".into(),
                price_per_month: "12.00".into(),
                interface_id: resold.clone(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    let owner = flows::register_customer(&upstream, "imported_owner").await;
    let mut integration = IntegrationServiceClient::new(channel.clone());
    let import = ImportUpstreamInstanceRequest {
        interface_id: resold.clone(),
        instance_id: instance_id.clone(),
        customer_id: owner.customer_id.clone(),
        product_id: local_product.id.clone(),
    };
    let first = integration.import_upstream_instance(session(import.clone(), &admin)).await.unwrap().into_inner();
    assert_eq!((first.status.as_str(), first.ip_address.as_str()), ("running", "192.0.2.10"));
    let again = integration.import_upstream_instance(session(import.clone(), &admin)).await.unwrap().into_inner();
    assert_eq!(again.instance_id, first.instance_id, "importing twice stores it once");
    let owned = InstanceServiceClient::new(channel.clone())
        .list_instances(bearer(ListInstancesRequest::default(), &owner.access_token))
        .await
        .unwrap()
        .into_inner()
        .instances;
    assert_eq!(owned.iter().map(|instance| instance.id.as_str()).collect::<Vec<_>>(), [first.instance_id.as_str()]);
    let missing_owner = integration
        .import_upstream_instance(session(
            ImportUpstreamInstanceRequest { customer_id: String::new(), ..import.clone() },
            &admin,
        ))
        .await
        .expect_err("an owner is required");
    assert_eq!(missing_owner.code(), tonic::Code::InvalidArgument);
    let wrong_product = integration
        .import_upstream_instance(session(
            ImportUpstreamInstanceRequest { product_id: upstream_product.id.clone(), ..import },
            &admin,
        ))
        .await
        .expect_err("the product of another provider");
    assert_eq!(wrong_product.code(), tonic::Code::InvalidArgument);

    // Its actions are the upstream's, run there.
    let actions =
        InstanceAction::list_from_return(call(&engine, &script, "instance_actions", &config, by_id.clone()).await)
            .unwrap();
    assert_eq!(actions.iter().map(|action| action.id.as_str()).collect::<Vec<_>>(), ["reboot"]);
    let mut reboot = by_id.clone();
    reboot["action"] = json!("reboot");
    reboot["params"] = json!({});
    let outcome = parse_provider_result(call(&engine, &script, "execute_action", &config, reboot).await)
        .expect("the upstream ran the action");
    assert_eq!(outcome["success"], true);
    assert_eq!(outcome["message"], "done reboot");
    let mut explode = by_id.clone();
    explode["action"] = json!("explode");
    let refused = failure("execute_action", call(&engine, &script, "execute_action", &config, explode).await);
    assert!(refused.starts_with("InvalidArgument: "), "{refused}");

    // Termination ends it upstream, once.
    let ended = call(&engine, &script, "terminate_instance", &config, by_id.clone()).await;
    parse_provider_result(ended).expect("terminated upstream");
    let status = parse_provider_result(call(&engine, &script, "get_instance_status", &config, by_id.clone()).await)
        .expect("a status");
    assert_eq!(status["status"], "terminated");

    // An order the upstream balance cannot pay is refused there.
    for _ in 0..2 {
        let _ = call(&engine, &script, "create_instance", &config, order.clone()).await;
    }
    let broke = failure("create_instance", call(&engine, &script, "create_instance", &config, order.clone()).await);
    assert!(broke.starts_with("FailedPrecondition: insufficient balance"), "{broke}");

    let no_id = failure("get_instance_status", call(&engine, &script, "get_instance_status", &config, json!({})).await);
    assert_eq!(no_id, "instance_id is required");

    // Instances the upstream does not know.
    let unknown = json!({"instance_id": "0190b3a4-0000-7000-8000-0000000000ff", "action": "reboot"});
    let action = failure("execute_action", call(&engine, &script, "execute_action", &config, unknown.clone()).await);
    assert!(action.starts_with("NotFound: "), "{action}");
    let status = call(&engine, &script, "get_instance_status", &config, unknown).await;
    assert_eq!(parse_provider_result(status).expect("gone"), json!("terminated"));

    // grpc_web_call itself, against the real edge.
    let probe = ScriptRef::new("probe", "rustbill", PluginType::UpstreamProvider, format!("{SCRIPT}{PROBES}"));
    let answer = |config: Json, method: &str, body: &str| {
        let (engine, probe) = (engine.clone(), probe.clone());
        let args = json!({"method": method, "body": body});
        async move { parse_provider_result(call(&engine, &probe, "probe_call", &config, args).await) }
    };
    let me = answer(config.clone(), "rustbill.identity.IdentityService/GetMe", "{}").await.expect("GetMe");
    assert_eq!(me["code"], 0);
    assert_eq!(me["message"], "");
    assert_eq!(me["response"]["user"]["username"], "reseller");
    assert_eq!(me["response"]["user"]["customer_id"], reseller.customer_id, "proto field names");
    // camelCase requests are accepted; answers use proto names.
    let listed = answer(
        config.clone(),
        "/rustbill.product.ProductService/ListProducts",
        r#"{"isActive": true, "pagination": {"pageSize": 5}}"#,
    )
    .await
    .expect("ListProducts");
    let prices: Vec<&Json> =
        listed["response"]["products"].as_array().unwrap().iter().map(|product| &product["price_per_month"]).collect();
    assert_eq!(prices, [&json!("12.00"), &json!("10.00")], "newest first");
    assert_eq!(listed["response"]["meta"]["page_size"], 5);
    // gRPC errors come back as codes, with the message (trailers-only answers).
    let denied = answer(wrong.clone(), "rustbill.identity.IdentityService/GetMe", "").await.expect("an answer");
    assert_eq!(denied["code"], 16, "{denied}");
    assert_eq!(denied["response"], Json::Null);
    let missing = answer(
        config.clone(),
        "rustbill.order.OrderService/GetOrder",
        r#"{"id": "0190b3a4-0000-7000-8000-0000000000aa"}"#,
    )
    .await
    .expect("an answer");
    assert_eq!(missing, json!({"code": 5, "message": "order not found", "response": null}));
    // Malformed calls fail before anything is sent.
    let unknown = answer(config.clone(), "rustbill.identity.IdentityService/Nope", "{}").await.unwrap_err();
    assert_eq!(unknown.message, "grpc_web_call: rustbill.identity.IdentityService has no method Nope");
    let internal = answer(config.clone(), "rustbill.internal.auth.AuthService/Resolve", "{}").await.unwrap_err();
    assert!(internal.message.contains("unknown service rustbill.internal.auth.AuthService"), "{}", internal.message);
    let malformed =
        answer(config.clone(), "rustbill.identity.IdentityService/GetMe", "{\"nope\": 1}").await.unwrap_err();
    assert!(
        malformed.message.starts_with("grpc_web_call: request_json is not a rustbill.identity.GetMeRequest"),
        "{}",
        malformed.message
    );
    let not_json = answer(config.clone(), "rustbill.identity.IdentityService/GetMe", "{bad").await.unwrap_err();
    assert!(not_json.message.contains("request_json"), "{}", not_json.message);
    // A wrong base URL: the edge's own answer, or a server that is no edge.
    let mut elsewhere = config.clone();
    elsewhere["api_url"] = json!(format!("{}/not-the-edge", upstream.edge));
    let unrouted = answer(elsewhere.clone(), "rustbill.identity.IdentityService/GetMe", "{}").await.expect("an answer");
    assert_eq!(unrouted["code"], 12, "{unrouted}");
    let website = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    elsewhere["api_url"] = json!(format!("http://{}", website.local_addr().unwrap()));
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut connection, _)) = website.accept().await {
            let mut request = [0u8; 4096];
            let _ = connection.read(&mut request).await;
            let page =
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 6\r\nconnection: close\r\n\r\n<html>";
            let _ = connection.write_all(page.as_bytes()).await;
        }
    });
    let html = answer(elsewhere, "rustbill.identity.IdentityService/GetMe", "{}").await.unwrap_err();
    assert!(html.message.contains("answered \"text/html\", not application/grpc-web+proto"), "{}", html.message);

    // The script's pure helpers: exact markup, half-up to cents; statuses.
    for (price, markup, resold) in [
        ("10.00", "20", "12.00"),
        ("9.99", "12.5", "11.24"),
        ("0.01", "50", "0.02"),
        ("100", "0", "100.00"),
        ("3.5", "", "3.50"),
        ("abc", "20", ""),
        ("-1", "20", ""),
    ] {
        let raw =
            call(&engine, &probe, "probe_resale", &json!({"price": price, "markup_percent": markup}), json!({})).await;
        assert_eq!(raw, RawReturn::Value(json!(resold)), "{price} + {markup}%");
    }
    for (upstream_status, status) in [
        ("active", "running"),
        ("Running", "running"),
        ("suspended", "stopped"),
        ("terminated", "terminated"),
        ("error", "error"),
        ("provisioning", "pending"),
    ] {
        let raw = call(&engine, &probe, "probe_status", &json!({"status": upstream_status}), json!({})).await;
        assert_eq!(raw, RawReturn::Value(json!(status)), "{upstream_status}");
    }
}

/// One request the canned upstream received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: String,
    payload: Vec<u8>,
}

fn grpc_web_frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut framed = vec![flag];
    framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    framed.extend_from_slice(payload);
    framed
}

fn upstream_instance(id: &str, order_id: &str, status: &str) -> rustbill_proto::instance::InstanceInfo {
    rustbill_proto::instance::InstanceInfo {
        id: id.into(),
        order_id: order_id.into(),
        status: status.into(),
        ip_address: "203.0.113.7".into(),
        product_name: "Upstream <2C4G>".into(),
        created_at: "2026-01-02T03:04:05Z".into(),
        ..Default::default()
    }
}

/// What the upstream's orders and payments services will answer (the
/// messages of proto/public), for the RPCs this version's upstream cannot
/// serve yet: `(grpc status, message, encoded response)`.
fn canned_answer(path: &str, payload: &[u8]) -> (u32, &'static str, Vec<u8>) {
    use prost::Message as _;
    use rustbill_proto::{balance, instance, order};
    match path {
        "/rustbill.order.OrderService/CreateOrder" => {
            let request = order::CreateOrderRequest::decode(payload).unwrap();
            // The product "p-late" is still being provisioned after payment.
            let id = if request.product_id == "p-late" { "o-2" } else { "o-1" };
            let order = order::OrderInfo { id: id.into(), status: "pending".into(), ..Default::default() };
            (0, "", order::CreateOrderResponse { order: Some(order), payment: None }.encode_to_vec())
        }
        "/rustbill.instance.InstanceService/ListInstances" => {
            let instances =
                vec![upstream_instance("u-1", "o-1", "active"), upstream_instance("u-2", "o-0", "suspended")];
            let meta = rustbill_proto::common::PageMeta { total: 2, page: 1, page_size: 100, total_pages: 1 };
            (0, "", instance::ListInstancesResponse { instances, meta: Some(meta) }.encode_to_vec())
        }
        "/rustbill.instance.InstanceService/GetInstance" => {
            match instance::GetInstanceRequest::decode(payload).unwrap().id.as_str() {
                "u-1" => {
                    let section = instance::InstanceDetailSection {
                        title: "Network".into(),
                        fields: vec![instance::InstanceDetailField {
                            key: "ipv4".into(),
                            value: "203.0.113.7".into(),
                            value_type: "text".into(),
                        }],
                        content_html: String::new(),
                    };
                    let answer = instance::GetInstanceResponse {
                        instance: Some(upstream_instance("u-1", "o-1", "active")),
                        sections: vec![section],
                        actions: Vec::new(),
                    };
                    (0, "", answer.encode_to_vec())
                }
                _ => (5, "instance%20not%20found", Vec::new()),
            }
        }
        "/rustbill.balance.BalanceService/GetBalance" => {
            let answer = balance::GetBalanceResponse {
                customer_id: "c-1".into(),
                balance: "123.45".into(),
                credit_limit: "0.00".into(),
            };
            (0, "", answer.encode_to_vec())
        }
        _ => (12, "", Vec::new()),
    }
}

/// The value of header `name` (any case) in a request head; `""` when absent.
fn header(head: &str, name: &str) -> String {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().to_string())
        .unwrap_or_default()
}

/// A minimal HTTP/1.1 gRPC-Web server answering [`canned_answer`].
async fn canned_upstream() -> (String, Arc<std::sync::Mutex<Vec<Seen>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut connection, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head, body) = loop {
                    let read = connection.read(&mut chunk).await.unwrap();
                    assert!(read > 0, "the client hung up mid-request");
                    buffer.extend_from_slice(&chunk[..read]);
                    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
                    let length: usize = header(&head, "content-length").parse().unwrap_or(0);
                    while buffer.len() < end + 4 + length {
                        let read = connection.read(&mut chunk).await.unwrap();
                        buffer.extend_from_slice(&chunk[..read]);
                    }
                    break (head, buffer[end + 4..end + 4 + length].to_vec());
                };
                let path = head.split(' ').nth(1).unwrap_or_default().to_string();
                let authorization = header(&head, "authorization");
                assert_eq!(header(&head, "content-type"), "application/grpc-web+proto");
                assert_eq!(header(&head, "x-grpc-web"), "1");
                assert_eq!(body[0], 0, "an uncompressed data frame");
                let payload = body[5..].to_vec();
                let (code, message, data) = canned_answer(&path, &payload);
                log.lock().unwrap().push(Seen { path, authorization, payload });
                let mut answer = if code == 0 { grpc_web_frame(0, &data) } else { Vec::new() };
                answer.extend(grpc_web_frame(
                    0x80,
                    format!("grpc-status: {code}\r\ngrpc-message: {message}\r\n").as_bytes(),
                ));
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    answer.len()
                );
                connection.write_all(head.as_bytes()).await.unwrap();
                connection.write_all(&answer).await.unwrap();
            });
        }
    });
    (url, seen)
}

/// The order and instance paths of the script, read against the messages
/// the upstream's orders and payments services will serve (proto/public):
/// a canned gRPC-Web server stands in for them until they exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_and_instances_read_the_upstream_wire_format() {
    use prost::Message as _;
    let (url, seen) = canned_upstream().await;
    let env = Arc::new(HostEnv::new(tokio::runtime::Handle::current(), None));
    let engine = Engine::new(env, EngineLimits::default()).unwrap();
    let script = ScriptRef::new("resell-2", "rustbill", PluginType::UpstreamProvider, SCRIPT);
    let config = json!({ "api_url": url, "api_key": "rk_live_fake", "markup_percent": "20", "currency": "CNY" });
    let ok = |function: &'static str, raw: RawReturn| {
        parse_provider_result(raw).unwrap_or_else(|failure| panic!("{function}: {}", failure.message))
    };

    // create_instance: CreateOrder paid from the balance, then the order's
    // instance.
    let order = json!({
        "cpu_cores": 2, "memory_gb": 4, "disk_gb": 40, "bandwidth_mbps": 100, "region": "hk", "os": "debian-12",
        "extra_specs": {"upstream_product_id": "p-9", "ipv6": true}, "billing_cycle": "yearly",
        "order_id": "downstream-7", "instance_id": "local-1",
    });
    let created = ok("create_instance", call(&engine, &script, "create_instance", &config, order.clone()).await);
    assert_eq!(
        created,
        json!({"instance_id": "u-1", "status": "running", "ip_address": "203.0.113.7", "created_at": "2026-01-02T03:04:05Z"})
    );
    let requests = seen.lock().unwrap().clone();
    let paths: Vec<&str> = requests.iter().map(|seen| seen.path.as_str()).collect();
    assert_eq!(paths, ["/rustbill.order.OrderService/CreateOrder", "/rustbill.instance.InstanceService/ListInstances"]);
    assert!(requests.iter().all(|seen| seen.authorization == "Bearer rk_live_fake"));
    let sent = rustbill_proto::order::CreateOrderRequest::decode(requests[0].payload.as_slice()).unwrap();
    assert_eq!(sent.product_id, "p-9");
    assert_eq!(sent.provider_interface_id, "", "the upstream derives it from the product");
    assert_eq!((sent.currency.as_str(), sent.billing_cycle.as_str()), ("CNY", "yearly"));
    assert_eq!(sent.notes, "downstream order downstream-7");
    let spec = sent.server_spec.unwrap();
    assert_eq!((spec.cpu_cores, spec.memory_gb, spec.disk_gb, spec.bandwidth_mbps), (2, 4, 40, 100));
    assert_eq!((spec.region.as_str(), spec.os.as_str()), ("hk", "debian-12"));
    assert_eq!(spec.extra_specs, [("ipv6".to_string(), "true".to_string())].into());
    assert_eq!(sent.gateway_interface_id, "balance", "paid from the reseller's upstream balance");
    let listed = rustbill_proto::instance::ListInstancesRequest::decode(requests[1].payload.as_slice()).unwrap();
    assert_eq!(listed.pagination.map(|page| (page.page, page.page_size)), Some((1, 100)));

    // Paid but not provisioned yet: the order id stands for the instance.
    let mut late = order.clone();
    late["extra_specs"]["upstream_product_id"] = json!("p-late");
    let pending = ok("create_instance", call(&engine, &script, "create_instance", &config, late).await);
    assert_eq!(pending["instance_id"], "order:o-2");
    assert_eq!(pending["status"], "pending");

    // Status, by upstream instance id or by order while provisioning.
    let status = |id: &'static str| {
        let (engine, script, config) = (engine.clone(), script.clone(), config.clone());
        async move { call(&engine, &script, "get_instance_status", &config, json!({"instance_id": id})).await }
    };
    let running = json!({"status": "running", "ip_address": "203.0.113.7"});
    assert_eq!(ok("get_instance_status", status("u-1").await), running);
    assert_eq!(ok("get_instance_status", status("order:o-1").await), running);
    assert_eq!(ok("get_instance_status", status("order:o-2").await), "pending");
    assert_eq!(ok("get_instance_status", status("gone").await), "terminated", "NotFound upstream: gone");

    // Detail sections: ours (escaped) and the upstream provider's own.
    let sections = rustbill_plugins::engine::DetailSection::list_from_return(
        call(&engine, &script, "instance_detail_sections", &config, json!({"instance_id": "u-1"})).await,
    )
    .unwrap();
    assert_eq!(sections.len(), 2);
    assert!(sections[0].content_html.as_deref().unwrap().contains("Upstream &lt;2C4G&gt;"), "{sections:?}");
    assert_eq!(sections[0].data_json["status"], "active");
    assert_eq!((sections[1].title.as_str(), sections[1].order), ("Network", 2));
    assert_eq!(sections[1].data_json, json!({"ipv4": "203.0.113.7"}));
    assert!(sections[1].content_html.as_deref().unwrap().contains("<dt>ipv4</dt><dd>203.0.113.7</dd>"));

    // The upstream's instances, and one imported.
    let instances =
        ok("sync_upstream_instances", call(&engine, &script, "sync_upstream_instances", &config, json!({})).await);
    assert_eq!(instances[0]["instance_id"], "u-1");
    assert_eq!(instances[1]["instance_id"], "u-2");
    assert_eq!(instances[1]["status"], "stopped", "suspended upstream");
    let imported = ok(
        "import_upstream_instance",
        call(&engine, &script, "import_upstream_instance", &config, json!({"instance_id": "u-1"})).await,
    );
    assert_eq!(imported, created);
    let early = failure(
        "import_upstream_instance",
        call(&engine, &script, "import_upstream_instance", &config, json!({"instance_id": "order:o-2"})).await,
    );
    assert!(early.starts_with("FailedPrecondition: "), "{early}");
    let missing = failure(
        "import_upstream_instance",
        call(&engine, &script, "import_upstream_instance", &config, json!({"instance_id": "gone"})).await,
    );
    assert_eq!(missing, "NotFound: instance not found");

    // The balance the payments service will serve.
    let balance = ok("get_upstream_balance", call(&engine, &script, "get_upstream_balance", &config, json!({})).await);
    assert_eq!(balance, json!({"balance": "123.45", "currency": "CNY"}));
}
