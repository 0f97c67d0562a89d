//! The plugins service against a real PostgreSQL: two scanners at once on
//! one database, and the internal PluginRuntime over real gRPC with signed
//! service principals (typed results, errors, limits).

use std::sync::Arc;
use std::time::Duration;

use rustbill_plugins::scanner::Scanner;
use rustbill_proto::internal::plugins::plugin_runtime_service_client::PluginRuntimeServiceClient;
use rustbill_proto::internal::plugins::*;
use rustbill_shared::Config;
use rustbill_shared::principal::{AdminRole, Caller, InternalSigner, Principal};
use rustbill_shared::testkit::TestDb;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::{Code, Request};
use uuid::Uuid;

const DEMO: &str = include_str!("../../../../tests/fixtures/plugins/provider-demo.rn");

fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.jwt.secret = Some(SecretString::from("plugins-service-test-secret-0123456789".to_string()));
    config.plugins.plugins_dir = dir.to_path_buf();
    config.plugins.health_check_interval_secs = 0;
    config.plugins.call_timeout_secs = 5;
    config.plugins.instruction_budget = 2_000_000;
    config
}

/// Inserts an enabled interface of the definition `plugin_id`.
async fn interface(pool: &sqlx::PgPool, plugin_id: &str, config: serde_json::Value, enabled: bool) -> String {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into plugin_interfaces (id, plugin_def_id, plugin_type, plugin_id, display_name, config,
                                        config_schema, enabled, script_source, script_hash, plugin_version)
         select $1, id, plugin_type, plugin_id, $3, $4, config_schema, $5, script_source, script_hash, version
         from plugins where plugin_id = $2",
    )
    .bind(id)
    .bind(plugin_id)
    .bind(format!("{plugin_id} {id}"))
    .bind(config)
    .bind(enabled)
    .execute(pool)
    .await
    .unwrap();
    id.to_string()
}

#[tokio::test]
async fn two_scanners_at_once_keep_one_definition_and_one_script() {
    let db = TestDb::new().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("provider-demo.rn"), DEMO).unwrap();
    let config = config(dir.path());
    let database = rustbill_plugins::prepare(&config, db.url()).await.unwrap();
    let pool = database.pool.clone();
    let engine_a = rustbill_plugins::build_engine(&config, &pool).unwrap();
    let engine_b = rustbill_plugins::build_engine(&config, &pool).unwrap();
    let a = Scanner::new(pool.clone(), engine_a, dir.path());
    let b = Scanner::new(pool.clone(), engine_b, dir.path());
    let (first, second) = tokio::join!(a.scan(), b.scan());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.inserted.len() + second.inserted.len(), 1, "{first:?} {second:?}");
    let iface = interface(&pool, "demo", serde_json::json!({"api_url": "https://x"}), true).await;

    // Many versions raced by both scanners: one row, the last script wins
    // everywhere, no error.
    for generation in 2..6 {
        let text = DEMO.replace("\"1.0.0\"", &format!("\"1.{generation}.0\""));
        std::fs::write(dir.path().join("provider-demo.rn"), &text).unwrap();
        let (x, y) = tokio::join!(a.scan(), b.scan());
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x.upgraded.len() + y.upgraded.len(), 1, "generation {generation}: {x:?} {y:?}");
        assert!(x.failed.is_empty() && y.failed.is_empty());
    }
    let (count, version): (i64, String) =
        sqlx::query_as("select count(*), max(version) from plugins").fetch_one(&pool).await.unwrap();
    assert_eq!((count, version.as_str()), (1, "1.5.0"));
    let (script, plugin_version): (String, String) =
        sqlx::query_as("select script_source, plugin_version from plugin_interfaces where id = $1::uuid")
            .bind(&iface)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(script.contains("\"1.5.0\""));
    assert_eq!(plugin_version, "1.5.0");
}

struct Service {
    channel: Channel,
    signer: InternalSigner,
    pool: sqlx::PgPool,
    stop: CancellationToken,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

impl Service {
    async fn start(extra: &[(&str, &str)]) -> Self {
        let db = TestDb::new().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("provider-demo.rn"), DEMO).unwrap();
        for (name, text) in extra {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let config = Arc::new(config(dir.path()));
        let database = rustbill_plugins::prepare(&config, db.url()).await.unwrap();
        let pool = database.pool.clone();
        let (listener, addr) = rustbill_shared::grpc::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let stop = CancellationToken::new();
        let token = stop.clone();
        let serve_config = config.clone();
        tokio::spawn(async move {
            rustbill_plugins::serve(
                serve_config,
                database,
                listener,
                token.cancelled_owned(),
                CancellationToken::new(),
            )
            .await
            .expect("plugins service");
        });
        // The listener is bound before the start-up scan ends; wait for it.
        let expected = 1 + extra.len() as i64;
        let scanned = pool.clone();
        rustbill_shared::testkit::wait_for("the start-up scan", Duration::from_secs(30), || {
            let pool = scanned.clone();
            async move {
                let count: i64 = sqlx::query_scalar("select count(*) from plugins").fetch_one(&pool).await.unwrap();
                (count == expected).then_some(())
            }
        })
        .await;
        let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
        let signer = InternalSigner::new(&config.internal_secret(), 60);
        Self { channel, signer, pool, stop, _db: db, _dir: dir }
    }

    fn client(&self) -> PluginRuntimeServiceClient<Channel> {
        PluginRuntimeServiceClient::new(self.channel.clone())
    }

    fn as_service<T>(&self, message: T) -> Request<T> {
        self.as_principal(Principal::Service { name: "orders".into() }, message)
    }

    fn as_principal<T>(&self, principal: Principal, message: T) -> Request<T> {
        let mut request = Request::new(message);
        self.signer.attach(&Caller::new(principal, "test-request", "127.0.0.1"), &mut request);
        request
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn spec() -> ServerSpec {
    ServerSpec {
        cpu_cores: 2,
        memory_gb: 4,
        disk_gb: 40,
        region: "hk".into(),
        os: "debian-12".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_runtime_answers_typed_results_and_clear_errors() {
    let service = Service::start(&[]).await;
    let id =
        interface(&service.pool, "demo", serde_json::json!({"api_url": "https://x", "base_price": "7.5"}), true).await;
    let off = interface(&service.pool, "demo", serde_json::json!({"api_url": "https://x"}), false).await;
    let mut client = service.client();

    let quote = client
        .query_price(service.as_service(QueryPriceCall {
            interface_id: id.clone(),
            server_spec: Some(spec()),
            billing_cycle: "yearly".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (quote.amount.as_str(), quote.currency.as_str(), quote.billing_cycle.as_str()),
        ("7.50", "CNY", "yearly")
    );

    let created = client
        .create_instance(service.as_service(CreateInstanceCall {
            interface_id: id.clone(),
            server_spec: Some(spec()),
            instance_id: "local-1".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((created.instance_id.as_str(), created.ip_address.as_str()), ("demo-local-1", "192.0.2.10"));
    let status = client
        .instance_status(
            service.as_service(InstanceCall { interface_id: id.clone(), instance_id: "demo-local-1".into() }),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.state(), InstanceState::Running);
    let products = client
        .sync_products(service.as_service(InterfaceCall { interface_id: id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(products.products.len(), 1);
    assert_eq!(products.products[0].prices["monthly"], "5.00");
    let actions = client
        .instance_actions(service.as_service(InstanceViewCall {
            interface_id: id.clone(),
            instance_id: "demo-local-1".into(),
            status: "running".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(actions.actions[0].id, "reboot");
    let sections = client
        .instance_detail_sections(service.as_service(InstanceViewCall {
            interface_id: id.clone(),
            instance_id: "demo-local-1".into(),
            ip_address: "192.0.2.10".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sections.sections[0].content_html.as_deref(), Some("<p>192.0.2.10</p>"));
    let template = client
        .spec_template(service.as_service(InterfaceCall { interface_id: id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert!(template.template_json.contains("cpu_cores"));

    // The script's own failure: FAILED_PRECONDITION with its text.
    let error = client
        .execute_action(service.as_service(ExecuteActionCall {
            interface_id: id.clone(),
            instance_id: "demo-local-1".into(),
            action: "explode".into(),
            params_json: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert!(error.message().contains("action not supported"), "{}", error.message());
    let done = client
        .execute_action(service.as_service(ExecuteActionCall {
            interface_id: id.clone(),
            instance_id: "demo-local-1".into(),
            action: "reboot".into(),
            params_json: "{}".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(done.success && done.message == "done reboot", "{done:?}");

    // Wrong type, disabled, unknown, malformed, wrong caller.
    let error = client
        .create_payment(service.as_service(CreatePaymentCall {
            interface_id: id.clone(),
            payment_id: "p1".into(),
            amount: "1.00".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition, "a provider is not a gateway");
    let error = client
        .query_price(service.as_service(QueryPriceCall { interface_id: off.clone(), ..Default::default() }))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert!(error.message().contains("disabled"));
    let error = client
        .query_price(
            service.as_service(QueryPriceCall { interface_id: Uuid::now_v7().to_string(), ..Default::default() }),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    let error = client
        .query_price(service.as_service(QueryPriceCall { interface_id: "nope".into(), ..Default::default() }))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    let admin = Principal::Admin {
        user_id: Uuid::now_v7(),
        username: "admin".into(),
        role: AdminRole::Admin,
        session_id: Uuid::now_v7(),
    };
    let error = client
        .query_price(service.as_principal(admin, QueryPriceCall { interface_id: id.clone(), ..Default::default() }))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::PermissionDenied, "internal RPCs are for services only");
    let error = client
        .query_price(Request::new(QueryPriceCall { interface_id: id.clone(), ..Default::default() }))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated, "unsigned calls are refused");
}

#[tokio::test]
async fn a_hostile_interface_fails_its_calls_while_others_are_served() {
    // The demo provider with a query_price that never ends.
    let looping = DEMO.replace(
        "fn query_price(merged, _unused) {",
        "fn query_price(merged, _unused) {\n    let n = 0;\n    loop { n += 1; }\n",
    );
    let service = Service::start(&[("provider-looping.rn", looping.as_str())]).await;
    let good = interface(&service.pool, "demo", serde_json::json!({"api_url": "https://x"}), true).await;
    let bad = interface(&service.pool, "looping", serde_json::json!({"api_url": "https://x"}), true).await;
    let call = |id: String| {
        let mut client = service.client();
        let request =
            service.as_service(QueryPriceCall { interface_id: id, server_spec: Some(spec()), ..Default::default() });
        async move { client.query_price(request).await }
    };
    let started = std::time::Instant::now();
    let (bad_1, bad_2, good_1, good_2, good_3) =
        tokio::join!(call(bad.clone()), call(bad.clone()), call(good.clone()), call(good.clone()), call(good.clone()));
    for result in [bad_1, bad_2] {
        let error = result.unwrap_err();
        assert_eq!(error.code(), Code::FailedPrecondition, "{error:?}");
        assert!(error.message().contains("instruction budget"), "{}", error.message());
    }
    for result in [good_1, good_2, good_3] {
        assert_eq!(result.unwrap().into_inner().amount, "10.00");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "within the call timeout");
}
