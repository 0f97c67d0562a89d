//! The microservice run mode: `rustbill-identity`, `rustbill-payments`,
//! `rustbill-plugins`, `rustbill-catalog`, `rustbill-orders`,
//! `rustbill-notify` and `rustbill-edge` as seven separate processes on one
//! database, each
//! configured only by environment variables, called through the edge; an
//! order goes through the whole pipeline across them.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use rustbill_proto::balance::AdjustBalanceRequest;
use rustbill_proto::balance::balance_service_client::BalanceServiceClient;
use rustbill_proto::customer::customer_service_client::CustomerServiceClient;
use rustbill_proto::customer::{CreateCustomerRequest, GetCustomerRequest, ListCustomersRequest};
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::{GetMeRequest, LoginRequest};
use rustbill_proto::internal::balances::GetBalanceRequest;
use rustbill_proto::internal::balances::balances_service_client::BalancesServiceClient;
use rustbill_proto::order::order_service_client::OrderServiceClient;
use rustbill_proto::order::{CreateOrderRequest, GetOrderRequest, ServerSpec};
use rustbill_proto::product::CreateProductRequest;
use rustbill_proto::product::product_service_client::ProductServiceClient;
use rustbill_shared::testkit::{TestDb, wait_for};
use rustbill_system_tests::{ADMIN_PASSWORD, ADMIN_USERNAME, JWT_SECRET, binary, flows, session};
use tokio::process::{Child, Command};
use tonic::Code;
use tonic::transport::Channel;

/// How long the processes may take to start and to notice each other.
const DEADLINE: Duration = Duration::from_secs(30);

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Process {
    name: &'static str,
    child: Mutex<Child>,
    log: PathBuf,
}

impl Process {
    /// The exit status, once the process has exited.
    fn exited(&self) -> Option<ExitStatus> {
        self.child.lock().unwrap().try_wait().ok().flatten()
    }
}

/// The seven processes on one fresh database (also used by
/// `system_service`). Children are killed when
/// this is dropped (`kill_on_drop`), before the database is dropped.
pub(crate) struct Deployment {
    processes: Vec<Process>,
    pub(crate) database: TestDb,
    edge: String,
    pub(crate) identity_url: String,
    payments_url: String,
    _workdir: tempfile::TempDir,
}

impl Deployment {
    pub(crate) async fn start() -> Self {
        let database = TestDb::new().await.unwrap();
        let workdir = tempfile::tempdir().unwrap();
        let mut ports = Vec::new();
        while ports.len() < 7 {
            let port = free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let (identity_port, payments_port, edge_port, plugins_port, catalog_port, orders_port, notify_port) =
            (ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6]);
        // The bundled plugins plus the demo provider the pipeline runs on.
        let plugins_dir = workdir.path().join("plugins");
        std::fs::create_dir(&plugins_dir).unwrap();
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins")).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, plugins_dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        std::fs::write(plugins_dir.join("provider-demo.rn"), include_str!("../../fixtures/plugins/provider-demo.rn"))
            .unwrap();
        let identity_url = format!("http://127.0.0.1:{identity_port}");
        let payments_url = format!("http://127.0.0.1:{payments_port}");
        let env: Vec<(&str, String)> = vec![
            ("RUSTBILL_DB__URL", database.url().to_string()),
            ("RUSTBILL_JWT__SECRET", JWT_SECRET.to_string()),
            ("RUSTBILL_BOOTSTRAP__ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
            ("RUSTBILL_SERVICES__IDENTITY__LISTEN", format!("127.0.0.1:{identity_port}")),
            ("RUSTBILL_SERVICES__IDENTITY__URL", identity_url.clone()),
            ("RUSTBILL_SERVICES__PAYMENTS__LISTEN", format!("127.0.0.1:{payments_port}")),
            ("RUSTBILL_SERVICES__PAYMENTS__URL", payments_url.clone()),
            ("RUSTBILL_SERVICES__PLUGINS__LISTEN", format!("127.0.0.1:{plugins_port}")),
            ("RUSTBILL_SERVICES__PLUGINS__URL", format!("http://127.0.0.1:{plugins_port}")),
            ("RUSTBILL_SERVICES__CATALOG__LISTEN", format!("127.0.0.1:{catalog_port}")),
            ("RUSTBILL_SERVICES__CATALOG__URL", format!("http://127.0.0.1:{catalog_port}")),
            ("RUSTBILL_SERVICES__ORDERS__LISTEN", format!("127.0.0.1:{orders_port}")),
            ("RUSTBILL_SERVICES__ORDERS__URL", format!("http://127.0.0.1:{orders_port}")),
            ("RUSTBILL_SERVICES__NOTIFY__LISTEN", format!("127.0.0.1:{notify_port}")),
            ("RUSTBILL_SERVICES__NOTIFY__URL", format!("http://127.0.0.1:{notify_port}")),
            ("RUSTBILL_PLUGINS__PLUGINS_DIR", plugins_dir.display().to_string()),
            ("RUSTBILL_SERVER__PORT", edge_port.to_string()),
            ("RUSTBILL_RATE_LIMIT__ENABLED", "false".to_string()),
            ("CONFIG_FILE", workdir.path().join("absent.toml").display().to_string()),
            ("LOCAL_CONFIG_FILE", workdir.path().join("absent.local.toml").display().to_string()),
        ];
        // Identity and payments start at the same time: both migrate the
        // shared `bus` schema concurrently.
        let mut processes = Vec::new();
        for name in [
            "rustbill-identity",
            "rustbill-payments",
            "rustbill-plugins",
            "rustbill-catalog",
            "rustbill-orders",
            "rustbill-notify",
            "rustbill-edge",
        ] {
            let log = workdir.path().join(format!("{name}.log"));
            let file = std::fs::File::create(&log).unwrap();
            let mut command = Command::new(binary(name).unwrap());
            command
                .current_dir(workdir.path())
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("RUST_LOG", std::env::var("RUSTBILL_TEST_LOG").unwrap_or_else(|_| "info".into()))
                .stdin(Stdio::null())
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .kill_on_drop(true);
            for (key, value) in &env {
                command.env(key, value);
            }
            let child = command.spawn().unwrap_or_else(|error| panic!("failed to start {name}: {error}"));
            processes.push(Process { name, child: Mutex::new(child), log });
        }
        Self {
            processes,
            database,
            edge: format!("http://127.0.0.1:{edge_port}"),
            identity_url,
            payments_url,
            _workdir: workdir,
        }
    }

    /// Every process's output so far, for failure messages.
    pub(crate) fn logs(&self) -> String {
        self.processes
            .iter()
            .map(|process| {
                let text = std::fs::read_to_string(&process.log).unwrap_or_default();
                format!("----- {} -----\n{text}", process.name)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn process(&self, name: &str) -> &Process {
        self.processes.iter().find(|process| process.name == name).expect("a started process")
    }

    /// Fails at once, with the logs, when a process that should run exited.
    pub(crate) fn assert_running(&self, except: Option<&str>) {
        let exited: Vec<String> = self
            .processes
            .iter()
            .filter(|process| Some(process.name) != except)
            .filter_map(|process| process.exited().map(|status| format!("{} exited with {status}", process.name)))
            .collect();
        assert!(exited.is_empty(), "{}\n{}", exited.join("; "), self.logs());
    }

    /// Waits until `/ready` answers `status`; returns its body. Fails with
    /// the processes' logs when it does not within the deadline or when a
    /// process that should run exits.
    pub(crate) async fn wait_ready(&self, status: u16, except: Option<&str>) -> String {
        let last = Mutex::new(None);
        let what = format!("/ready to answer {status}");
        let wait = wait_for(&what, DEADLINE + Duration::from_secs(10), || {
            self.assert_running(except);
            let url = format!("{}/ready", self.edge);
            let last = &last;
            async move {
                let response = reqwest::get(url).await.ok()?;
                let code = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                *last.lock().unwrap() = Some((code, body.clone()));
                (code == status).then_some(body)
            }
        });
        match tokio::time::timeout(DEADLINE, wait).await {
            Ok(body) => body,
            Err(_) => panic!(
                "/ready did not answer {status} within {DEADLINE:?}; last answer {:?}\n{}",
                last.lock().unwrap(),
                self.logs()
            ),
        }
    }

    pub(crate) async fn channel(&self) -> Channel {
        Channel::from_shared(self.edge.clone()).unwrap().connect().await.expect("connect to the edge")
    }

    /// Stops one process with SIGTERM and waits (bounded) for it to exit.
    pub(crate) async fn stop(&self, name: &str) -> ExitStatus {
        let process = self.process(name);
        let pid = process.child.lock().unwrap().id().expect("the process is running");
        let killed = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
        assert!(killed.success(), "kill -TERM {pid}");
        wait_for(&format!("{name} to exit after SIGTERM"), Duration::from_secs(30), || async { process.exited() }).await
    }
}

#[tokio::test]
async fn seven_processes_on_one_database_serve_through_the_edge() {
    let deployment = Deployment::start().await;
    let ready = deployment.wait_ready(200, None).await;
    assert_eq!(ready, "READY");
    deployment.assert_running(None);

    // Both services migrated the shared bus (once) and their own schemas.
    let pool = deployment.database.pool().await.unwrap();
    let bus_versions: Vec<i64> =
        sqlx::query_scalar("select version from bus._sqlx_migrations order by version").fetch_all(&pool).await.unwrap();
    let bus_files =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/migrations/bus")).unwrap().count();
    assert_eq!(bus_versions.len(), bus_files, "every bus migration applied once: {bus_versions:?}");
    for schema in ["identity", "payments", "plugins", "catalog", "orders", "notify"] {
        let migrated: bool = sqlx::query_scalar("select to_regclass($1) is not null")
            .bind(format!("{schema}._sqlx_migrations"))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(migrated, "{schema} migrated its schema");
    }

    // Through the edge: admin login, then customers with balances read
    // from the payments process.
    let channel = deployment.channel().await;
    let cookie = flows::admin_cookie(channel.clone(), ADMIN_USERNAME, ADMIN_PASSWORD).await;

    // The plugins process scanned the bundled plugins.
    let plugins =
        rustbill_proto::integration::integration_service_client::IntegrationServiceClient::new(channel.clone())
            .list_plugins(session(rustbill_proto::integration::ListPluginsRequest { plugin_type: None }, &cookie))
            .await
            .unwrap_or_else(|status| panic!("ListPlugins: {status:?}\n{}", deployment.logs()))
            .into_inner()
            .plugins;
    let mut ids: Vec<_> = plugins.iter().map(|p| p.plugin_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["banktransfer", "demo", "email", "incus", "rustbill", "webhook", "yipay"]);
    let mut customers = CustomerServiceClient::new(channel.clone());
    let created = customers
        .create_customer(session(
            CreateCustomerRequest {
                name: "Split Services Ltd".into(),
                credit_limit: "50.00".into(),
                ..Default::default()
            },
            &cookie,
        ))
        .await
        .unwrap_or_else(|status| panic!("CreateCustomer: {status:?}\n{}", deployment.logs()))
        .into_inner()
        .customer
        .expect("created customer");
    assert_eq!(created.balance, "0.00");
    let got = customers
        .get_customer(session(GetCustomerRequest { id: created.id.clone() }, &cookie))
        .await
        .expect("GetCustomer")
        .into_inner()
        .customer
        .expect("customer");
    assert_eq!(
        (got.name.as_str(), got.balance.as_str(), got.credit_limit.as_str()),
        ("Split Services Ltd", "0.00", "50.00")
    );

    // The balance is the payments service's: a change there shows up.
    sqlx::query("insert into payments.balance_accounts (customer_id, balance) values ($1::uuid, 12.34)")
        .bind(&created.id)
        .execute(&pool)
        .await
        .unwrap();
    let got = customers
        .get_customer(session(GetCustomerRequest { id: created.id.clone() }, &cookie))
        .await
        .expect("GetCustomer")
        .into_inner()
        .customer
        .unwrap();
    assert_eq!(got.balance, "12.34");
    let listed = customers
        .list_customers(session(ListCustomersRequest::default(), &cookie))
        .await
        .expect("ListCustomers")
        .into_inner();
    let entry = listed.customers.iter().find(|customer| customer.id == created.id).expect("listed");
    assert_eq!(entry.balance, "12.34");

    // An order across the processes: catalog prices it, payments takes it
    // from the balance, orders provisions through the plugins process.
    let provider =
        flows::enabled_interface_on(channel.clone(), &cookie, "demo", "Demo", r#"{"api_url":"https://demo.example"}"#)
            .await;
    let product = ProductServiceClient::new(channel.clone())
        .create_product(session(
            CreateProductRequest {
                name: "Split VPS".into(),
                price_per_month: "7.50".into(),
                interface_id: provider,
                ..Default::default()
            },
            &cookie,
        ))
        .await
        .unwrap_or_else(|status| panic!("CreateProduct: {status:?}\n{}", deployment.logs()))
        .into_inner()
        .product
        .unwrap();
    BalanceServiceClient::new(channel.clone())
        .adjust_balance(session(
            AdjustBalanceRequest {
                customer_id: created.id.clone(),
                amount: "10.00".into(),
                description: "top-up".into(),
            },
            &cookie,
        ))
        .await
        .unwrap_or_else(|status| panic!("AdjustBalance: {status:?}\n{}", deployment.logs()));
    let mut orders = OrderServiceClient::new(channel.clone());
    let order = orders
        .create_order(session(
            CreateOrderRequest {
                customer_id: created.id.clone(),
                product_id: product.id,
                gateway_interface_id: "balance".into(),
                server_spec: Some(ServerSpec {
                    extra_specs: [("os".to_string(), "debian-12".to_string())].into_iter().collect(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &cookie,
        ))
        .await
        .unwrap_or_else(|status| panic!("CreateOrder: {status:?}\n{}", deployment.logs()))
        .into_inner()
        .order
        .unwrap();
    assert_eq!(order.amount, "7.50");
    wait_for("the order to become active across the processes", DEADLINE, || {
        let mut orders = orders.clone();
        let (id, cookie) = (order.id.clone(), cookie.clone());
        async move {
            let status = orders
                .get_order(session(GetOrderRequest { id }, &cookie))
                .await
                .map(|response| response.into_inner().order.unwrap().status)
                .unwrap_or_default();
            (status == "active").then_some(())
        }
    })
    .await;

    // The services' own ports refuse calls that did not come through the
    // edge, even with the admin's cookie and even for public RPCs.
    let mut direct_identity = IdentityServiceClient::connect(deployment.identity_url.clone()).await.unwrap();
    let status = direct_identity.get_me(GetMeRequest {}).await.expect_err("no principal");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status =
        direct_identity.get_me(session(GetMeRequest {}, &cookie)).await.expect_err("cookie is not a principal");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = direct_identity
        .login(LoginRequest {
            username: ADMIN_USERNAME.into(),
            password: ADMIN_PASSWORD.into(),
            user_type: "admin".into(),
        })
        .await
        .expect_err("no principal");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let mut direct_payments = BalancesServiceClient::connect(deployment.payments_url.clone()).await.unwrap();
    let status = direct_payments
        .get_balance(GetBalanceRequest { customer_id: created.id.clone() })
        .await
        .expect_err("no principal");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // Payments goes away: balances are unavailable, never made up; the
    // rest of identity keeps working; the edge is no longer ready.
    let status = deployment.stop("rustbill-payments").await;
    assert!(status.success(), "payments exits cleanly on SIGTERM: {status}\n{}", deployment.logs());
    let error = customers
        .get_customer(session(GetCustomerRequest { id: created.id.clone() }, &cookie))
        .await
        .expect_err("no balance without payments");
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    let error = customers
        .list_customers(session(ListCustomersRequest::default(), &cookie))
        .await
        .expect_err("no balances without payments");
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    let me = IdentityServiceClient::new(channel.clone())
        .get_me(session(GetMeRequest {}, &cookie))
        .await
        .expect("GetMe needs no balance")
        .into_inner()
        .user
        .unwrap();
    assert_eq!(me.username, ADMIN_USERNAME);
    let not_ready = deployment.wait_ready(503, Some("rustbill-payments")).await;
    assert!(not_ready.contains("payments"), "{not_ready}");
    assert!(!not_ready.contains("identity"), "identity is still serving: {not_ready}");
    deployment.assert_running(Some("rustbill-payments"));
    pool.close().await;
}
