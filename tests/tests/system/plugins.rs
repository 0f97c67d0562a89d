//! The plugins service through the edge: the scanner at start and on a
//! timer, IntegrationService CRUD with masked secrets and schema
//! validation, hot reload through UpdatePluginInterface and through the
//! file + scanner, health checks, admin pages and actions, provider calls,
//! permissions of all 22 RPCs, bad input that changes nothing, and
//! RestartServer.

use std::path::Path;
use std::time::Duration;

use rustbill_proto::common::EmptyRequest;
use rustbill_proto::integration::integration_service_client::IntegrationServiceClient;
use rustbill_proto::integration::*;
use rustbill_proto::order::ServerSpec;
use rustbill_shared::testkit::wait_for;
use rustbill_system_tests::flows;
use rustbill_system_tests::{Settings, TestServer, bearer, session};
use tonic::transport::Channel;
use tonic::{Code, Request};

const DEMO: &str = include_str!("../../fixtures/plugins/provider-demo.rn");
const BROKEN: &str = include_str!("../../fixtures/plugins/provider-broken.rn");
const WEBHOOK_EXAMPLE: &str = include_str!("../../../plugins/examples/notifier-webhook.rn");

/// A server whose plugins directory holds the demo provider, the spec's
/// webhook example, a broken script and a file with a bad name.
async fn server_with_plugins(dir: &Path, scan_secs: u64) -> TestServer {
    std::fs::write(dir.join("provider-demo.rn"), DEMO).unwrap();
    std::fs::write(dir.join("notifier-webhook.rn"), WEBHOOK_EXAMPLE).unwrap();
    std::fs::write(dir.join("provider-broken.rn"), BROKEN).unwrap();
    std::fs::write(dir.join("not-a-plugin.rn"), "fn main() {}").unwrap();
    TestServer::start_with(
        Settings::default()
            .with("RUSTBILL_RATE_LIMIT__ENABLED", "false")
            .with("RUSTBILL_PLUGINS__PLUGINS_DIR", dir.to_str().unwrap())
            .with("RUSTBILL_PLUGINS__SCAN_INTERVAL_SECS", &scan_secs.to_string())
            .with("RUSTBILL_PLUGINS__HEALTH_CHECK_INTERVAL_SECS", "0"),
    )
    .await
    .unwrap()
}

fn client(channel: &Channel) -> IntegrationServiceClient<Channel> {
    IntegrationServiceClient::new(channel.clone())
}

async fn plugin_id(channel: &Channel, admin: &str, plugin_id: &str) -> PluginDef {
    let plugins = client(channel)
        .list_plugins(session(ListPluginsRequest { plugin_type: None }, admin))
        .await
        .unwrap()
        .into_inner()
        .plugins;
    plugins.into_iter().find(|p| p.plugin_id == plugin_id).unwrap_or_else(|| panic!("plugin {plugin_id} listed"))
}

async fn create_demo(channel: &Channel, admin: &str, name: &str, config: &str) -> PluginInterfaceInfo {
    let demo = plugin_id(channel, admin, "demo").await;
    client(channel)
        .create_plugin_interface(session(
            CreatePluginInterfaceRequest {
                plugin_def_id: demo.id,
                display_name: name.into(),
                config_json: config.into(),
            },
            admin,
        ))
        .await
        .expect("create demo interface")
        .into_inner()
        .interface
        .unwrap()
}

async fn enable(channel: &Channel, admin: &str, id: &str) {
    client(channel)
        .toggle_plugin_interface(session(TogglePluginInterfaceRequest { interface_id: id.into(), enable: true }, admin))
        .await
        .expect("enable");
}

fn price_request(id: &str) -> QueryPriceRequest {
    QueryPriceRequest {
        interface_id: id.into(),
        cpu_cores: 2,
        memory_gb: 4,
        disk_gb: 40,
        bandwidth_mbps: 100,
        region: "hk".into(),
        os: "debian-12".into(),
        extra_specs: Default::default(),
    }
}

async fn price(channel: &Channel, who: &str, id: &str) -> String {
    client(channel).query_price(session(price_request(id), who)).await.expect("query price").into_inner().amount
}

async fn row_counts(server: &TestServer) -> (i64, i64, i64) {
    let pool = server.pool().await;
    let counts = sqlx::query_as(
        "select (select count(*) from plugins.plugins), (select count(*) from plugins.plugin_interfaces),
                (select count(*) from plugins.operation_logs)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    counts
}

#[tokio::test]
async fn scanner_interfaces_secrets_and_hot_reload() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_plugins(dir.path(), 1).await;
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;

    // The scanner took the two good files and skipped the others, and the
    // server started anyway.
    let plugins = client(&channel)
        .list_plugins(session(ListPluginsRequest { plugin_type: None }, &admin))
        .await
        .unwrap()
        .into_inner()
        .plugins;
    let mut names: Vec<_> =
        plugins.iter().map(|p| format!("{}:{}:{}", p.plugin_type, p.plugin_id, p.version)).collect();
    names.sort();
    assert_eq!(names, ["first_party_provider:demo:1.0.0", "notifier:webhook:1.0.0"]);
    let log = server.log();
    assert!(log.contains("provider-broken.rn") && log.contains("plugin file skipped"), "{log}");
    let only_gateways = client(&channel)
        .list_plugins(session(ListPluginsRequest { plugin_type: Some("gateway".into()) }, &admin))
        .await
        .unwrap()
        .into_inner()
        .plugins;
    assert!(only_gateways.is_empty());

    // Create: the schema comes from the script; the secret is masked.
    let created =
        create_demo(&channel, &admin, "Demo HK", r#"{"api_url":"https://demo.example","api_token":"tok-SECRET-1"}"#)
            .await;
    assert!(!created.enabled, "interfaces start disabled");
    assert!(created.config_schema.contains("\"api_token\""), "{}", created.config_schema);
    assert!(!created.config_json.contains("tok-SECRET-1"), "{}", created.config_json);
    assert!(created.config_json.contains("******"), "{}", created.config_json);
    assert_eq!(created.plugin_version, "1.0.0");
    assert!(created.has_admin_page);
    let listed = client(&channel)
        .list_plugin_interfaces(session(ListPluginInterfacesRequest { plugin_type: None }, &admin))
        .await
        .unwrap()
        .into_inner()
        .interfaces;
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].config_json.contains("tok-SECRET-1"));
    assert!(listed[0].script_source.is_empty(), "lists do not carry scripts");

    // Saving the form with the mask keeps the stored secret.
    client(&channel)
        .update_plugin_interface(session(
            UpdatePluginInterfaceRequest {
                interface_id: created.id.clone(),
                config_json: Some(
                    r#"{"api_url":"https://demo2.example","api_token":"******","base_price":"10.00"}"#.into(),
                ),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("update with the mask");
    let pool = server.pool().await;
    let stored: serde_json::Value =
        sqlx::query_scalar("select config from plugins.plugin_interfaces where id = $1::uuid")
            .bind(&created.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored["api_token"], "tok-SECRET-1");
    assert_eq!(stored["api_url"], "https://demo2.example");
    let logged: String = sqlx::query_scalar("select string_agg(detail::text, ' ') from plugins.operation_logs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(logged.contains("api_token") && !logged.contains("tok-SECRET-1"), "{logged}");
    assert!(!server.log().contains("tok-SECRET-1"), "the secret is not in the server's log");

    // Disabled interfaces are not usable; enabled ones are.
    let error = client(&channel).query_price(session(price_request(&created.id), &admin)).await.unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition, "{error:?}");
    enable(&channel, &admin, &created.id).await;
    assert_eq!(price(&channel, &admin, &created.id).await, "10.00");

    // Hot reload 1: a new script through UpdatePluginInterface.
    let edited = DEMO
        .replace(r#"let base = if base == "" { "10.00" } else { base };"#, r#"let base = "12.50";"#)
        .replace(r#""1.0.0""#, r#""1.0.1-edited""#);
    assert_ne!(edited, DEMO);
    let updated = client(&channel)
        .update_plugin_interface(session(
            UpdatePluginInterfaceRequest {
                interface_id: created.id.clone(),
                script_source: Some(edited.clone()),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("update script")
        .into_inner()
        .interface
        .unwrap();
    assert!(updated.script_overridden);
    assert_eq!(updated.plugin_version, "1.0.1-edited", "the interface reports the version it runs");
    assert_eq!(price(&channel, &admin, &created.id).await, "12.50");

    // A script that breaks the contract is refused and changes nothing.
    let before = row_counts(&server).await;
    let error = client(&channel)
        .update_plugin_interface(session(
            UpdatePluginInterfaceRequest {
                interface_id: created.id.clone(),
                script_source: Some(DEMO.replace("fn query_price(", "fn quote_price(")),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.message().contains("query_price"), "{}", error.message());
    assert_eq!(row_counts(&server).await, before);
    assert_eq!(price(&channel, &admin, &created.id).await, "12.50");

    // Back to the definition's script, then hot reload 2: the file changes
    // and the scanner (every second here) brings it to the interface.
    let reverted = client(&channel)
        .update_plugin_interface(session(
            UpdatePluginInterfaceRequest {
                interface_id: created.id.clone(),
                script_source: Some(String::new()),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("revert to the definition's script");
    assert_eq!(reverted.get_ref().interface.as_ref().map(|i| i.plugin_version.as_str()), Some("1.0.0"));
    assert_eq!(price(&channel, &admin, &created.id).await, "10.00");
    let upgraded = DEMO
        .replace(r#"let base = if base == "" { "10.00" } else { base };"#, r#"let base = "99.00";"#)
        .replace(r#""1.0.0""#, r#""1.1.0""#)
        .replace(r#""base_price":{"type":"string"}"#, r#""base_price":{"type":"string"},"zone":{"type":"string"}"#);
    std::fs::write(dir.path().join("provider-demo.rn"), &upgraded).unwrap();
    let channel_for_wait = channel.clone();
    let (admin_for_wait, id_for_wait) = (admin.clone(), created.id.clone());
    wait_for("the scanner to deliver the new script", Duration::from_secs(30), || {
        let (channel, admin, id) = (channel_for_wait.clone(), admin_for_wait.clone(), id_for_wait.clone());
        async move { (price(&channel, &admin, &id).await == "99.00").then_some(()) }
    })
    .await;
    let interface = client(&channel)
        .get_plugin_interface(session(GetPluginInterfaceRequest { interface_id: created.id.clone() }, &admin))
        .await
        .unwrap()
        .into_inner()
        .interface
        .unwrap();
    assert_eq!(interface.plugin_version, "1.1.0", "a higher version cascades");
    assert!(interface.config_schema.contains("zone"), "{}", interface.config_schema);
    assert!(interface.script_source.contains("99.00"));
    assert!(interface.script_error.is_empty());
    assert_eq!(plugin_id(&channel, &admin, "demo").await.version, "1.1.0");

    // A broken edit of the file keeps the last good script running.
    std::fs::write(dir.path().join("provider-demo.rn"), "fn config_schema(").unwrap();
    let pool_for_wait = pool.clone();
    wait_for("the scanner to record the load error", Duration::from_secs(30), || {
        let pool = pool_for_wait.clone();
        async move {
            let error: Option<String> =
                sqlx::query_scalar("select load_error from plugins.plugins where plugin_id = 'demo'")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            error.map(|_| ())
        }
    })
    .await;
    assert_eq!(price(&channel, &admin, &created.id).await, "99.00");
    // Admins see the definition's file, schema and why the file is refused.
    let definition = plugin_id(&channel, &admin, "demo").await;
    assert_eq!(definition.file_name, "provider-demo.rn");
    assert!(definition.config_schema.contains("zone"), "{}", definition.config_schema);
    assert!(!definition.load_error.is_empty(), "the load error is listed");
    pool.close().await;
}

#[tokio::test]
async fn health_pages_actions_and_provider_calls() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_plugins(dir.path(), 300).await;
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    let good = create_demo(&channel, &admin, "Good", r#"{"api_url":"https://demo.example"}"#).await;
    let bad = create_demo(&channel, &admin, "Bad", r#"{"api_url":"ftp://nowhere"}"#).await;
    enable(&channel, &admin, &good.id).await;

    let health = client(&channel)
        .check_plugin_health(session(CheckPluginHealthRequest { interface_id: good.id.clone() }, &admin))
        .await
        .unwrap()
        .into_inner();
    assert!(health.is_healthy && health.error.is_none() && !health.checked_at.is_empty(), "{health:?}");
    let health = client(&channel)
        .check_plugin_health(session(CheckPluginHealthRequest { interface_id: bad.id.clone() }, &admin))
        .await
        .unwrap()
        .into_inner();
    assert!(!health.is_healthy && health.error.is_some(), "{health:?}");
    let recorded = client(&channel)
        .get_plugin_interface(session(GetPluginInterfaceRequest { interface_id: bad.id.clone() }, &admin))
        .await
        .unwrap()
        .into_inner()
        .interface
        .unwrap();
    assert!(!recorded.is_healthy && recorded.last_check_at.is_some() && recorded.health_error.is_some());

    let page = client(&channel)
        .get_plugin_admin_page(session(GetPluginAdminPageRequest { interface_id: good.id.clone() }, &admin))
        .await
        .unwrap()
        .into_inner();
    assert!(page.html_content.contains("https://demo.example"), "{page:?}");
    assert_eq!(page.title, "Good");

    let echoed = client(&channel)
        .call_plugin_action(session(
            CallPluginActionRequest {
                interface_id: good.id.clone(),
                function: "echo".into(),
                args_json: r#"{"text":"hello"}"#.into(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let echoed: serde_json::Value = serde_json::from_str(&echoed.result_json).unwrap();
    assert_eq!(echoed["echo"], "hello");
    for (function, code) in
        [("create_instance", Code::InvalidArgument), ("nope", Code::NotFound), ("a b", Code::InvalidArgument)]
    {
        let error = client(&channel)
            .call_plugin_action(session(
                CallPluginActionRequest {
                    interface_id: good.id.clone(),
                    function: function.into(),
                    args_json: "{}".into(),
                },
                &admin,
            ))
            .await
            .unwrap_err();
        assert_eq!(error.code(), code, "{function}: {error:?}");
    }

    // Calls to a dead host open its breaker (5 failures), visible to
    // admins; other hosts are unaffected.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let fetch = |url: String| CallPluginActionRequest {
        interface_id: good.id.clone(),
        function: "fetch".into(),
        args_json: serde_json::json!({ "url": url }).to_string(),
    };
    let mut opened = None;
    for _ in 0..8 {
        let answer = client(&channel).call_plugin_action(session(fetch(format!("http://{dead_addr}/x")), &admin)).await;
        let answer: serde_json::Value = serde_json::from_str(&answer.unwrap().into_inner().result_json).unwrap();
        assert!(answer["body"].as_str().unwrap().starts_with("ERROR:"), "{answer}");
        let breakers = client(&channel)
            .list_circuit_breakers(session(EmptyRequest {}, &admin))
            .await
            .unwrap()
            .into_inner()
            .breakers;
        if let Some(breaker) = breakers.into_iter().find(|b| b.host == dead_addr.to_string() && b.state == "open") {
            opened = Some(breaker);
            break;
        }
    }
    let opened = opened.expect("the dead host's breaker opens");
    assert!(opened.consecutive_failures >= 5 && !opened.opened_at.is_empty(), "{opened:?}");
    let error = client(&channel)
        .list_circuit_breakers(bearer(EmptyRequest {}, &flows::register_customer(&server, "erin").await.access_token))
        .await;
    assert_eq!(error.unwrap_err().code(), Code::PermissionDenied);

    // Providers: the portal's list (customers too), typed calls.
    let customer = flows::register_customer(&server, "carol").await;
    let providers = client(&channel)
        .list_providers(bearer(EmptyRequest {}, &customer.access_token))
        .await
        .unwrap()
        .into_inner()
        .providers;
    assert_eq!(providers.len(), 1, "only enabled interfaces");
    assert_eq!(providers[0].provider_type, "first_party");
    let template = providers[0].spec_template.as_ref().expect("template");
    assert_eq!(template.groups[0].fields[1].options[1].value, "ubuntu-24.04");
    assert_eq!(template.groups[0].fields[0].max, Some(16));
    let quote = client(&channel)
        .query_price(bearer(price_request(&good.id), &customer.access_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (quote.amount.as_str(), quote.currency.as_str(), quote.billing_cycle.as_str()),
        ("10.00", "CNY", "monthly")
    );

    let created = client(&channel)
        .create_upstream_instance(session(
            UpstreamOrderRequest {
                interface_id: good.id.clone(),
                server_spec: Some(ServerSpec { cpu_cores: 1, memory_gb: 1, disk_gb: 10, ..Default::default() }),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(created.provider_instance_id.starts_with("demo-"), "{created:?}");
    assert_eq!(created.ip_address, "192.0.2.10");
    let status = client(&channel)
        .get_instance_status(session(
            InstanceStatusRequest { interface_id: good.id.clone(), instance_id: created.provider_instance_id },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((status.status.as_str(), status.ip_address.as_str()), ("running", "192.0.2.10"));
    let gone = client(&channel)
        .get_instance_status(session(
            InstanceStatusRequest { interface_id: good.id.clone(), instance_id: "gone".into() },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(gone.status, "terminated");

    // Upstream-only RPCs refuse a first-party provider.
    let error = client(&channel)
        .get_upstream_balance(session(GetUpstreamBalanceRequest { interface_id: good.id.clone() }, &admin))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition, "{error:?}");
    // Synced products are stored by the catalog service.
    let synced = client(&channel)
        .sync_products(session(SyncProductsRequest { interface_id: good.id.clone(), group_id: String::new() }, &admin))
        .await
        .expect("synced through the catalog")
        .into_inner();
    assert_eq!(synced.count, 1);
    assert_eq!(synced.synced[0].name, "Small");
    assert_eq!(synced.synced[0].interface_id, good.id);

    // Enabling an interface whose config misses a required field fails.
    let incomplete = create_demo(&channel, &admin, "Incomplete", "{}").await;
    let error = client(&channel)
        .toggle_plugin_interface(session(
            TogglePluginInterfaceRequest { interface_id: incomplete.id.clone(), enable: true },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert!(error.message().contains("api_url"), "{}", error.message());

    // Delete.
    client(&channel)
        .delete_plugin_interface(session(DeletePluginInterfaceRequest { interface_id: incomplete.id.clone() }, &admin))
        .await
        .unwrap();
    let error = client(&channel)
        .get_plugin_interface(session(GetPluginInterfaceRequest { interface_id: incomplete.id }, &admin))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_plugins(dir.path(), 300).await;
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    let existing = create_demo(&channel, &admin, "Taken", r#"{"api_url":"https://a"}"#).await;
    let demo = plugin_id(&channel, &admin, "demo").await;
    let before = row_counts(&server).await;

    let create = |def: &str, name: &str, config: &str| CreatePluginInterfaceRequest {
        plugin_def_id: def.into(),
        display_name: name.into(),
        config_json: config.into(),
    };
    let cases = [
        (create("not-a-uuid", "x", "{}"), Code::InvalidArgument),
        (create("", "x", "{}"), Code::InvalidArgument),
        (create("01900000-0000-7000-8000-000000000000", "x", "{}"), Code::NotFound),
        (create(&demo.id, "", "{}"), Code::InvalidArgument),
        (create(&demo.id, &"n".repeat(101), "{}"), Code::InvalidArgument),
        (create(&demo.id, "Taken", "{}"), Code::AlreadyExists),
        (create(&demo.id, "x", "{not json"), Code::InvalidArgument),
        (create(&demo.id, "x", "[1,2]"), Code::InvalidArgument),
        (create(&demo.id, "x", r#"{"api_url": 5}"#), Code::InvalidArgument),
        (create(&demo.id, "x", r#"{"api_token":"******"}"#), Code::InvalidArgument),
    ];
    for (request, code) in cases {
        let description = format!("{request:?}");
        let error = client(&channel).create_plugin_interface(session(request, &admin)).await.unwrap_err();
        assert_eq!(error.code(), code, "{description}: {error:?}");
    }
    let error = client(&channel)
        .update_plugin_interface(session(
            UpdatePluginInterfaceRequest { interface_id: existing.id.clone(), ..Default::default() },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument, "an empty update");
    let error = client(&channel)
        .update_plugin_interface(session(
            UpdatePluginInterfaceRequest {
                interface_id: existing.id.clone(),
                script_source: Some("fn config_schema(".into()),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    let error = client(&channel)
        .list_plugins(session(ListPluginsRequest { plugin_type: Some("bogus".into()) }, &admin))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    let error = client(&channel)
        .call_plugin_action(session(
            CallPluginActionRequest {
                interface_id: existing.id.clone(),
                function: "echo".into(),
                args_json: "[]".into(),
            },
            &admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(row_counts(&server).await, before, "nothing was written");
}

#[tokio::test]
async fn every_integration_rpc_checks_its_caller() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_plugins(dir.path(), 300).await;
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    let pool = server.pool().await;
    let hash: String = sqlx::query_scalar("select password_hash from identity.admin_users where username = 'admin'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into identity.admin_users (id, username, display_name, password_hash, role)
         values ($1, 'oscar', 'Oscar', $2, 'operator')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(hash)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let operator = flows::admin_cookie(channel.clone(), "oscar", rustbill_system_tests::ADMIN_PASSWORD).await;
    let customer = flows::register_customer(&server, "dave").await;
    let iface = create_demo(&channel, &admin, "Perm", r#"{"api_url":"https://a"}"#).await;
    enable(&channel, &admin, &iface.id).await;
    let id = iface.id.clone();

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Rule {
        // Any logged-in caller.
        Authenticated,
        // Admins and operators.
        Admin,
        // The admin role only.
        AdminOnly,
    }
    let expect = |rule: Rule, who: &str| -> Option<Code> {
        match (who, rule) {
            ("anonymous", _) => Some(Code::Unauthenticated),
            ("customer", Rule::Authenticated) => None,
            ("customer", _) => Some(Code::PermissionDenied),
            ("operator", Rule::AdminOnly) => Some(Code::PermissionDenied),
            _ => None,
        }
    };
    fn request<T>(who: &str, message: T, customer: &str, operator: &str, admin: &str) -> Request<T> {
        match who {
            "anonymous" => Request::new(message),
            "customer" => bearer(message, customer),
            "operator" => session(message, operator),
            _ => session(message, admin),
        }
    }
    // Successful outcomes that are not OK for reasons other than
    // permission (e.g. a missing catalog service) count as "allowed".
    let allowed = |result: Result<(), tonic::Status>| match result {
        Ok(()) => None,
        Err(status) if matches!(status.code(), Code::Unauthenticated | Code::PermissionDenied) => Some(status.code()),
        Err(_) => None,
    };
    for who in ["anonymous", "customer", "operator", "admin"] {
        let mut c = client(&channel);
        macro_rules! check {
            ($rule:expr, $call:ident, $message:expr) => {{
                let message = request(who, $message, &customer.access_token, &operator, &admin);
                let outcome = allowed(c.$call(message).await.map(|_| ()));
                assert_eq!(outcome, expect($rule, who), "{} as {who}", stringify!($call));
            }};
        }
        check!(Rule::Authenticated, list_providers, EmptyRequest {});
        check!(Rule::Authenticated, list_gateways, EmptyRequest {});
        check!(Rule::Admin, list_notifiers, EmptyRequest {});
        check!(Rule::Admin, list_plugins, ListPluginsRequest { plugin_type: None });
        check!(Rule::Admin, get_plugin, GetPluginRequest { id: iface.plugin_def_id.clone() });
        check!(Rule::Admin, list_plugin_interfaces, ListPluginInterfacesRequest { plugin_type: None });
        check!(Rule::Admin, get_plugin_interface, GetPluginInterfaceRequest { interface_id: id.clone() });
        check!(
            Rule::AdminOnly,
            create_plugin_interface,
            CreatePluginInterfaceRequest {
                plugin_def_id: iface.plugin_def_id.clone(),
                display_name: format!("by {who}"),
                config_json: "{}".into()
            }
        );
        check!(
            Rule::AdminOnly,
            update_plugin_interface,
            UpdatePluginInterfaceRequest {
                interface_id: id.clone(),
                display_name: Some(format!("Perm {who}")),
                ..Default::default()
            }
        );
        check!(
            Rule::AdminOnly,
            toggle_plugin_interface,
            TogglePluginInterfaceRequest { interface_id: id.clone(), enable: true }
        );
        check!(
            Rule::AdminOnly,
            delete_plugin_interface,
            DeletePluginInterfaceRequest { interface_id: "01900000-0000-7000-8000-000000000000".into() }
        );
        check!(Rule::Admin, check_plugin_health, CheckPluginHealthRequest { interface_id: id.clone() });
        check!(Rule::Admin, get_plugin_admin_page, GetPluginAdminPageRequest { interface_id: id.clone() });
        check!(
            Rule::AdminOnly,
            call_plugin_action,
            CallPluginActionRequest { interface_id: id.clone(), function: "echo".into(), args_json: "{}".into() }
        );
        check!(
            Rule::AdminOnly,
            sync_products,
            SyncProductsRequest { interface_id: id.clone(), group_id: String::new() }
        );
        check!(Rule::Authenticated, query_price, price_request(&id));
        check!(
            Rule::AdminOnly,
            create_upstream_instance,
            UpstreamOrderRequest { interface_id: id.clone(), server_spec: Some(ServerSpec::default()) }
        );
        check!(
            Rule::Admin,
            get_instance_status,
            InstanceStatusRequest { interface_id: id.clone(), instance_id: "x".into() }
        );
        check!(Rule::Admin, sync_upstream_instances, SyncUpstreamInstancesRequest { interface_id: id.clone() });
        check!(
            Rule::AdminOnly,
            import_upstream_instance,
            ImportUpstreamInstanceRequest { interface_id: id.clone(), instance_id: "x".into(), ..Default::default() }
        );
        check!(Rule::Admin, get_upstream_balance, GetUpstreamBalanceRequest { interface_id: id.clone() });
        if who != "admin" {
            check!(Rule::AdminOnly, restart_server, EmptyRequest {});
        }
    }
    // Customers see enabled gateways/providers only and never a config.
    let providers = client(&channel)
        .list_providers(bearer(EmptyRequest {}, &customer.access_token))
        .await
        .unwrap()
        .into_inner()
        .providers;
    assert_eq!(providers.len(), 1);
}

#[tokio::test]
async fn restart_server_stops_the_process_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = server_with_plugins(dir.path(), 300).await;
    let channel = server.channel().await;
    let admin = flows::bootstrap_admin(&server).await;
    client(&channel).restart_server(session(EmptyRequest {}, &admin)).await.expect("restart accepted");
    let status = server.wait_exit(Duration::from_secs(30)).await.expect("the server exits");
    assert!(status.success(), "a requested restart is a clean exit: {status:?}");
    let log = server.log();
    assert!(log.contains("restart requested"), "{log}");
    let pool = server.pool().await;
    let logged: i64 = sqlx::query_scalar("select count(*) from plugins.operation_logs where action = 'restart_server'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(logged, 1);
    let live: i64 = sqlx::query_scalar("select count(*) from bus.instance_heartbeat").fetch_one(&pool).await.unwrap();
    assert_eq!(live, 0, "every service left cleanly");
}
