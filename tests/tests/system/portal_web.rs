//! The customer portal (`web/consumer`) in headless Chromium, driven by
//! Playwright (`web/consumer/e2e/portal.mjs`), against the real stack with
//! the portal deployed as in production: its static build behind Caddy,
//! configured by the shipped `deploy/caddy/Caddyfile` (only the domain, the
//! edge address and the site root are filled in).
//!
//! A new customer registers with the code e-mailed through a real SMTP
//! server, browses the catalog, configures and orders a server, pays
//! through the epay gateway (its cashier page, with the notification sent
//! by the gateway) and through a bank transfer (receipt confirmed by the
//! operator), sees the instances become active, recharges the balance,
//! downloads and pays an invoice, opens a ticket and reads the answer,
//! creates, uses and revokes an API key, and changes the password. The
//! script asks this harness for what only the far side knows (the e-mail,
//! the operator's actions) with `ASK <json>` lines on its standard output,
//! answered on its standard input. Screenshots land in
//! `target/tmp/portal-e2e/`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rustbill_proto::billing::GenerateInvoicesRequest;
use rustbill_proto::billing::billing_service_client::BillingServiceClient;
use rustbill_proto::integration::CallPluginActionRequest;
use rustbill_proto::integration::integration_service_client::IntegrationServiceClient;
use rustbill_proto::payment::QueryPaymentStatusRequest;
use rustbill_proto::payment::payment_service_client::PaymentServiceClient;
use rustbill_proto::product::CreateProductRequest;
use rustbill_proto::product::product_category_service_client::ProductCategoryServiceClient;
use rustbill_proto::product::product_group_service_client::ProductGroupServiceClient;
use rustbill_proto::product::product_service_client::ProductServiceClient;
use rustbill_proto::product::{CreateProductCategoryRequest, CreateProductGroupRequest};
use rustbill_proto::ticket::ticket_service_client::TicketServiceClient;
use rustbill_proto::ticket::{CreateReplyRequest, ListTicketsRequest};
use rustbill_system_tests::{TestServer, flows, session};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::epay_server::{self, EpayServer};
use crate::smtp_server::{SmtpMode, SmtpServer};

const PROVIDER: &str = include_str!("../../fixtures/plugins/provider-demo.rn");
const YIPAY: &str = include_str!("../../../plugins/gateway-yipay.rn");
const BANK: &str = include_str!("../../../plugins/gateway-banktransfer.rn");
const EMAIL: &str = include_str!("../../../plugins/notifier-email.rn");

fn web() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web").canonicalize().expect("web/ exists")
}

fn caddy() -> PathBuf {
    ["/usr/bin/caddy", "/usr/local/bin/caddy"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .expect("Caddy is missing: run ./deploy/dev/ensure-deps.sh --test")
}

/// The shop the customer finds: a provider, two gateways, e-mail, and a
/// product in a category and group.
struct Shop {
    server: TestServer,
    _plugins: tempfile::TempDir,
    admin: String,
    smtp: SmtpServer,
    _epay: EpayServer,
    bank: String,
}

async fn open_shop(portal_dir: &Path, public_url: &str) -> Shop {
    let (server, plugins) = flows::server_with_plugins_and(
        &[
            ("provider-demo.rn", PROVIDER),
            ("gateway-yipay.rn", YIPAY),
            ("gateway-banktransfer.rn", BANK),
            ("notifier-email.rn", EMAIL),
        ],
        &[
            ("RUSTBILL_SERVER__PORTAL_DIR", portal_dir.to_str().expect("utf-8 path")),
            // Gateways notify through Caddy, as on a real site.
            ("RUSTBILL_PAYMENTS__PUBLIC_URL", public_url),
        ],
    )
    .await;
    let admin = flows::bootstrap_admin(&server).await;
    let provider = flows::enabled_interface(
        &server,
        &admin,
        "demo",
        "Demo Cloud",
        r#"{"api_url":"https://demo.example","base_price":"8.00"}"#,
    )
    .await;
    let epay = EpayServer::start().await;
    let config = json!({
        "api_url": format!("{}/", epay.base_url()),
        "pid": epay_server::PID,
        "key": epay_server::KEY,
        "default_type": "alipay",
    });
    flows::enabled_interface(&server, &admin, "yipay", "Alipay (epay)", &config.to_string()).await;
    let config = json!({
        "bank_name": "Example Bank, Shanghai branch",
        "account_name": "RustBill Hosting Ltd",
        "account_number": "6222 0000 1111 2222",
    });
    let bank = flows::enabled_interface(&server, &admin, "banktransfer", "Bank transfer", &config.to_string()).await;
    let smtp = SmtpServer::start(SmtpMode::Plain).await;
    let mail = json!({
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port(),
        "from": "RustBill <billing@example.com>",
        "encryption": "none",
    });
    flows::enabled_interface(&server, &admin, "email", "Mail", &mail.to_string()).await;

    let channel = server.channel().await;
    let category = ProductCategoryServiceClient::new(channel.clone())
        .create_product_category(session(
            CreateProductCategoryRequest {
                name: "Cloud servers".into(),
                description: "KVM virtual servers".into(),
                sort_order: 1,
            },
            &admin,
        ))
        .await
        .expect("create category")
        .into_inner()
        .category
        .expect("category");
    let group = ProductGroupServiceClient::new(channel.clone())
        .create_product_group(session(
            CreateProductGroupRequest {
                name: "Hong Kong".into(),
                description: "CN2 GIA".into(),
                sort_order: 1,
                category_id: category.id,
            },
            &admin,
        ))
        .await
        .expect("create group")
        .into_inner()
        .group
        .expect("group");
    ProductServiceClient::new(channel)
        .create_product(session(
            CreateProductRequest {
                name: "HK VPS Starter".into(),
                description: "2 cores, 2 GB, NVMe".into(),
                price_per_month: "8.00".into(),
                interface_id: provider,
                group_id: Some(group.id),
                billing_cycles: [("monthly", "8.00"), ("yearly", "80.00")]
                    .into_iter()
                    .map(|(cycle, price)| (cycle.to_string(), price.to_string()))
                    .collect(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("create product");
    // A welcome coupon the customer uses on the second order.
    rustbill_proto::billing::coupon_service_client::CouponServiceClient::new(server.channel().await)
        .create_coupon(session(
            rustbill_proto::billing::CreateCouponRequest {
                code: "WELCOME10".into(),
                kind: "percent".into(),
                value: "10".into(),
                duration: "once".into(),
                max_per_customer: 1,
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("create coupon");
    Shop { server, _plugins: plugins, admin, smtp, _epay: epay, bank }
}

/// The shipped Caddyfile for this machine: the site on a loopback port,
/// the edge where the test server listens, the portal build in `root`.
fn caddyfile(port: u16, edge: &str, root: &Path) -> String {
    let shipped = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/caddy/Caddyfile"))
        .expect("deploy/caddy/Caddyfile");
    let edge = edge.trim_start_matches("http://");
    let site = shipped
        .replace("your-domain.com {", &format!("http://127.0.0.1:{port} {{"))
        .replace("127.0.0.1:50051", edge)
        .replace("/var/www/rustbill-consumer", root.to_str().expect("utf-8 path"));
    assert!(site.contains(&format!("127.0.0.1:{port}")) && site.contains(edge), "the Caddyfile has the expected shape");
    // No admin endpoint (tests run side by side), nothing saved.
    format!("{{\n\tadmin off\n}}\n\n{site}")
}

struct Caddy {
    child: tokio::process::Child,
    url: String,
}

async fn start_caddy(port: u16, edge: &str, dist: &Path, work: &Path) -> Caddy {
    // The site root is a copy of the build with this site's config.json,
    // as an operator deploys it.
    let root = work.join("site");
    copy_dir(dist, &root);
    let config = json!({
        "appTitle": "RustBill Cloud",
        "endpoints": [],
        "grpcEndpoint": "",
        "adminUrl": format!("{edge}/admin"),
    });
    std::fs::write(root.join("config.json"), serde_json::to_vec_pretty(&config).expect("json")).expect("config.json");
    let file = work.join("Caddyfile");
    std::fs::write(&file, caddyfile(port, edge, &root)).expect("write Caddyfile");
    let log = std::fs::File::create(work.join("caddy.log")).expect("caddy log");
    let child = tokio::process::Command::new(caddy())
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&file)
        .env("HOME", work)
        .env("XDG_DATA_HOME", work.join("data"))
        .env("XDG_CONFIG_HOME", work.join("config"))
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start caddy");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = reqwest::get(format!("{url}/health")).await {
            if response.status().is_success() {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Caddy did not come up: {}",
            std::fs::read_to_string(work.join("caddy.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Caddy { child, url }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Answers one question of the browser script.
async fn answer(shop: &Shop, question: &Value) -> Value {
    let channel = shop.server.channel().await;
    match question["ask"].as_str().unwrap_or_default() {
        // The verification code, from the e-mail the SMTP server received.
        "mail_code" => {
            let email = question["email"].as_str().expect("email");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            let mail = loop {
                if let Some(mail) =
                    shop.smtp.received().into_iter().find(|mail| mail.rcpt_to.iter().any(|to| to == email))
                {
                    break mail;
                }
                assert!(tokio::time::Instant::now() < deadline, "no e-mail reached {email}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            let body = crate::notify::decoded_body(&mail);
            let code = body
                .split(|c: char| !c.is_ascii_digit())
                .find(|run| run.len() == 6)
                .unwrap_or_else(|| panic!("a 6-digit code in {body}"));
            json!({ "code": code })
        }
        // The operator finds the transfer on the bank statement.
        "confirm_bank_transfer" => {
            let order_id = question["order_id"].as_str().expect("order_id");
            let pool = shop.server.pool().await;
            let (payment_id, amount): (uuid::Uuid, String) = sqlx::query_as(
                "select id, amount::text from payments.payments
                 where order_id = $1::uuid and gateway_interface_id = $2 and status = 'pending'",
            )
            .bind(order_id)
            .bind(&shop.bank)
            .fetch_one(&pool)
            .await
            .expect("the pending bank-transfer payment");
            pool.close().await;
            let args = json!({ "payment_id": payment_id, "amount": amount, "reference": "STATEMENT-0001" });
            IntegrationServiceClient::new(channel.clone())
                .call_plugin_action(session(
                    CallPluginActionRequest {
                        interface_id: shop.bank.clone(),
                        function: "confirm_receipt".into(),
                        args_json: args.to_string(),
                    },
                    &shop.admin,
                ))
                .await
                .expect("confirm receipt");
            // As the admin app does after the confirmation: sync the payment.
            let synced = PaymentServiceClient::new(channel)
                .query_payment_status(session(
                    QueryPaymentStatusRequest { payment_id: payment_id.to_string() },
                    &shop.admin,
                ))
                .await
                .expect("query payment status")
                .into_inner()
                .payment
                .expect("payment");
            assert_eq!(synced.status, "success", "the confirmed transfer pays the order");
            json!({ "payment_id": payment_id })
        }
        // The billing run bills the next month of the customer's servers.
        "generate_invoices" => {
            let today = chrono::Utc::now().date_naive();
            let generated = BillingServiceClient::new(channel)
                .generate_invoices(session(
                    GenerateInvoicesRequest {
                        billing_period_start: today.to_string(),
                        billing_period_end: (today + chrono::Days::new(45)).to_string(),
                    },
                    &shop.admin,
                ))
                .await
                .expect("generate invoices")
                .into_inner()
                .generated_count;
            json!({ "generated": generated })
        }
        // Support answers the customer's newest ticket.
        "answer_ticket" => {
            let mut tickets = TicketServiceClient::new(channel);
            let newest = tickets
                .list_tickets(session(ListTicketsRequest::default(), &shop.admin))
                .await
                .expect("list tickets")
                .into_inner()
                .tickets
                .into_iter()
                .next()
                .expect("the customer's ticket");
            tickets
                .create_reply(session(
                    CreateReplyRequest {
                        ticket_id: newest.id.clone(),
                        content: question["content"].as_str().expect("content").into(),
                        is_internal: false,
                    },
                    &shop.admin,
                ))
                .await
                .expect("staff reply");
            json!({ "ticket_id": newest.id })
        }
        // The operator enables API access for the customer.
        "allow_api_keys" => {
            let pool = shop.server.pool().await;
            let customer_id: uuid::Uuid = sqlx::query_scalar("select id from identity.customers where email = $1")
                .bind(question["email"].as_str().expect("email"))
                .fetch_one(&pool)
                .await
                .expect("the customer");
            pool.close().await;
            flows::allow_api_keys(&shop.server, &shop.admin, &customer_id.to_string()).await;
            json!({})
        }
        other => panic!("the script asked something unknown: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_customer_in_the_portal() {
    let web = web();
    let dist = web.join("consumer/dist");
    assert!(
        dist.join("index.html").is_file() && web.join("node_modules/playwright-core").is_dir(),
        "the portal is not built: run `make test` (or ./deploy/dev/build-web.sh) first"
    );
    assert!(Path::new("/usr/bin/chromium").is_file(), "Chromium is missing: run ./deploy/dev/ensure-deps.sh --test");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let shop = open_shop(&dist, &format!("http://127.0.0.1:{port}")).await;
    let work = tempfile::tempdir().expect("work dir");

    // `make run`'s way: the edge itself serves the build, client-side
    // routes included, and leaves gRPC paths alone.
    let page = reqwest::get(format!("{}/dashboard/orders", shop.server.edge)).await.expect("portal from the edge");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("page").contains("<div id=\"root\">"), "the portal's index.html");

    let caddy = start_caddy(port, &shop.server.edge, &dist, work.path()).await;
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-e2e");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");

    let mut child = tokio::process::Command::new(rustbill_system_tests::node())
        .arg(web.join("consumer/e2e/portal.mjs"))
        .current_dir(web.join("consumer"))
        .env("PORTAL_URL", &caddy.url)
        .env("RUSTBILL_EDGE", &caddy.url)
        .env("E2E_ARTIFACTS", &artifacts)
        .env("CHROMIUM", "/usr/bin/chromium")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
        text
    });
    let mut transcript = String::new();
    let conversation = async {
        while let Some(line) = lines.next_line().await.expect("read the script's output") {
            println!("{line}");
            transcript.push_str(&line);
            transcript.push('\n');
            if let Some(question) = line.strip_prefix("ASK ") {
                let question: Value = serde_json::from_str(question).expect("a JSON question");
                let reply = answer(&shop, &question).await;
                stdin.write_all(format!("{reply}\n").as_bytes()).await.expect("answer the script");
                stdin.flush().await.expect("flush");
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(600), conversation)
        .await
        .expect("the browser run finishes within 10 minutes");
    let status = child.wait().await.expect("node exits");
    let stderr = stderr_task.await.unwrap_or_default();
    assert!(
        status.success(),
        "the browser run failed ({status}); screenshots in {}\n--- stderr\n{stderr}\n--- server log (tail)\n{}\n--- caddy log (tail)\n{}",
        artifacts.display(),
        tail(&shop.server.log(), 80),
        tail(&std::fs::read_to_string(work.path().join("caddy.log")).unwrap_or_default(), 20),
    );
    drop(caddy.child);

    // What the pages did, as the services stored it.
    let pool = shop.server.pool().await;
    let (customer_id,): (uuid::Uuid,) =
        sqlx::query_as("select id from identity.customers where email = 'mei.portal@example.com'")
            .fetch_one(&pool)
            .await
            .expect("the customer registered in the portal");
    let orders: Vec<(String, i64)> = sqlx::query_as(
        "select o.status, (select count(*) from orders.instances i where i.order_id = o.id)
         from orders.orders o where o.customer_id = $1 order by o.created_at",
    )
    .bind(customer_id)
    .fetch_all(&pool)
    .await
    .expect("orders");
    assert_eq!(orders, vec![("active".to_string(), 1), ("active".to_string(), 1)], "two servers, one instance each");
    let paid: Vec<(String, String)> = sqlx::query_as(
        "select purpose, status from payments.payments where customer_id = $1 and status = 'success'
         order by created_at",
    )
    .bind(customer_id)
    .fetch_all(&pool)
    .await
    .expect("payments");
    let purposes: Vec<&str> = paid.iter().map(|(purpose, _)| purpose.as_str()).collect();
    assert_eq!(purposes, ["order", "order", "recharge", "invoice"], "epay, bank transfer, recharge, invoice");
    let discounted: (String, String, String) = sqlx::query_as(
        "select amount::text, list_amount::text, discount_amount::text from orders.orders
         where customer_id = $1 and coupon_code = 'WELCOME10'",
    )
    .bind(customer_id)
    .fetch_one(&pool)
    .await
    .expect("the order with the coupon");
    assert_eq!(discounted, ("72.00".into(), "80.00".into(), "8.00".into()), "10 % off the yearly price");
    let paid_invoices: i64 =
        sqlx::query_scalar("select count(*) from orders.invoices where customer_id = $1 and status = 'paid'")
            .bind(customer_id)
            .fetch_one(&pool)
            .await
            .expect("invoices");
    assert_eq!(paid_invoices, 1, "the renewal invoice was paid from the portal");
    let tickets: i64 = sqlx::query_scalar("select count(*) from notify.tickets where customer_id = $1")
        .bind(customer_id)
        .fetch_one(&pool)
        .await
        .expect("tickets");
    assert_eq!(tickets, 1);
    let keys: Vec<(bool, bool)> =
        sqlx::query_as("select enabled, revoked_at is not null from identity.api_keys where customer_id = $1")
            .bind(customer_id)
            .fetch_all(&pool)
            .await
            .expect("api keys");
    assert_eq!(keys, vec![(false, true)], "the one key was revoked");
    for page in ["home", "register", "product", "order-epay", "order-bank", "instance", "invoice", "balance", "ticket"]
    {
        assert!(artifacts.join(format!("{page}.png")).is_file(), "screenshot of {page}");
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
