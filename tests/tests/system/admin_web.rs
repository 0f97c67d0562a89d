//! The admin web app (`web/admin`, served by the edge) in headless Chromium,
//! driven by Playwright (`web/admin/e2e/admin.mjs`) against the real stack:
//! an operator's day from login to a plugin script edit. The script asserts
//! what the pages show; this test then checks that the clicks really
//! changed the system (database rows through the owning services' schemas).
//! Screenshots of every page land in `target/tmp/admin-e2e/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rustbill_system_tests::{ADMIN_PASSWORD, ADMIN_USERNAME, flows};

const PROVIDER: &str = include_str!("../../fixtures/plugins/provider-demo.rn");

fn web_admin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/admin").canonicalize().expect("web/admin exists")
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_day_in_the_admin_app() {
    let (server, _plugins) = flows::server_with_plugins_and(&[("provider-demo.rn", PROVIDER)], &[]).await;
    let provider_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plugins/provider-demo.rn");
    let artifacts = run_browser(
        "admin.mjs",
        &server,
        "admin-e2e",
        &[("E2E_PROVIDER_SCRIPT", provider_script.to_str().expect("utf-8 path"))],
        Duration::from_secs(600),
    )
    .await;

    // What the pages did, as the services stored it.
    let pool = server.pool().await;
    let product: (String, bool) =
        sqlx::query_as("select name, is_active from catalog.products where name = 'E2E VPS Small'")
            .fetch_one(&pool)
            .await
            .expect("the product created in the app exists");
    assert!(product.1, "the product is active");
    let (customer_id,): (uuid::Uuid,) =
        sqlx::query_as("select id from identity.customers where email = 'e2e.customer@example.com'")
            .fetch_one(&pool)
            .await
            .expect("the customer created in the app exists");
    let refunded: i64 =
        sqlx::query_scalar("select count(*) from payments.payments where customer_id = $1 and status = 'refunded'")
            .bind(customer_id)
            .fetch_one(&pool)
            .await
            .expect("payments");
    assert_eq!(refunded, 1, "the order's payment was refunded from the app");
    let notes: i64 = sqlx::query_scalar(
        "select count(*) from notify.ticket_replies r join notify.tickets t on t.id = r.ticket_id
         where t.customer_id = $1 and r.is_internal",
    )
    .bind(customer_id)
    .fetch_one(&pool)
    .await
    .expect("ticket replies");
    assert_eq!(notes, 1, "the internal note was stored as internal");
    let overridden: bool = sqlx::query_scalar(
        "select script_overridden and script_source like '%done v2%'
         from plugins.plugin_interfaces where display_name = 'E2E Demo'",
    )
    .fetch_one(&pool)
    .await
    .expect("the interface created in the app");
    assert!(overridden, "the edited script is stored on the interface");
    let role: String = sqlx::query_scalar("select role from identity.admin_users where username = 'olga'")
        .fetch_one(&pool)
        .await
        .expect("the operator created in the app");
    assert_eq!(role, "operator");
    for page in ["dashboard", "products", "customers", "orders", "instance", "payments", "tickets", "plugins"] {
        assert!(artifacts.join(format!("{page}.png")).is_file(), "screenshot of {page}");
    }
}

/// An admin turns on two-factor authentication in the app and signs in
/// with a code and with a recovery code, sends a parked webhook again from
/// the delivery log, creates a coupon and upgrades a customer's service
/// (`web/admin/e2e/security.mjs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_webhook_replay_coupons_and_plan_change_in_the_app() {
    let shop = crate::orders::Shop::open("", false).await;
    let server = &shop.server;
    // A webhook receiver that was down: one delivery to it was parked; the
    // admin sends it again from the delivery log.
    let receiver = crate::http_server::HttpServer::start(crate::http_server::responder(|_, _| {
        crate::http_server::Reply::new(200, "ok")
    }))
    .await;
    let config = serde_json::json!({ "url": receiver.url("/hook"), "secret": "e2e-secret" }).to_string();
    let channel = flows::enabled_interface(server, &shop.admin, "webhook", "Ops hook", &config).await;
    // An active 10.00/month service the admin upgrades to 20.00/month.
    let medium = rustbill_proto::product::product_service_client::ProductServiceClient::new(shop.channel.clone())
        .create_product(rustbill_system_tests::session(
            rustbill_proto::product::CreateProductRequest {
                name: "VPS M".into(),
                price_per_month: "20.00".into(),
                interface_id: shop.provider.clone(),
                ..Default::default()
            },
            &shop.admin,
        ))
        .await
        .expect("product")
        .into_inner()
        .product
        .expect("product");
    let customer = shop.customer("ursula_upgrade").await;
    shop.credit(&customer, "100.00").await;
    let order = shop.order(&customer, "balance").await.expect("order").order.expect("order");
    shop.settled(&order.id, "active").await;
    let pool = server.pool().await;
    let delivery = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into notify.deliveries (id, event_id, event_type, channel_id, channel_name, title, body, status,
                                        attempts, last_error)
         values ($1, $2, 'order_paid', $3::uuid, 'Ops hook', 'Order paid', 'Order o-1 is paid.', 'parked', 5,
                 'webhook not delivered: HTTP 500 Internal Server Error')",
    )
    .bind(delivery)
    .bind(uuid::Uuid::now_v7())
    .bind(&channel)
    .execute(&pool)
    .await
    .expect("a parked delivery");
    let delivery_id = delivery.to_string();
    let artifacts = run_browser(
        "security.mjs",
        server,
        "admin-security-e2e",
        &[("E2E_ORDER_ID", order.id.as_str()), ("E2E_DELIVERY_ID", delivery_id.as_str())],
        Duration::from_secs(300),
    )
    .await;
    let (status, replays): (String, i32) =
        sqlx::query_as("select status, replays from notify.deliveries where id = $1")
            .bind(delivery)
            .fetch_one(&pool)
            .await
            .expect("the delivery");
    assert_eq!((status.as_str(), replays), ("sent", 1), "sent again from the app");
    let replayed: Vec<_> = receiver
        .requests()
        .into_iter()
        .filter(|request| request.header("x-rustbill-delivery-id") == Some(delivery.to_string().as_str()))
        .collect();
    assert_eq!(replayed.len(), 1);
    assert!(replayed[0].header("x-rustbill-signature").is_some_and(|value| value.starts_with("sha256=")));
    let (enabled, used, left): (bool, i64, i64) = sqlx::query_as(
        "select u.totp_enabled_at is not null,
                (select count(*) from identity.admin_recovery_codes c where c.admin_user_id = u.id and c.used_at is not null),
                (select count(*) from identity.admin_recovery_codes c where c.admin_user_id = u.id and c.used_at is null)
         from identity.admin_users u where u.username = $1",
    )
    .bind(ADMIN_USERNAME)
    .fetch_one(&pool)
    .await
    .expect("the admin");
    assert_eq!((enabled, used, left), (true, 1, 9), "TOTP on, one recovery code used");
    let coupon: (String, bool, Option<i32>, Option<i32>) = sqlx::query_as(
        "select duration, is_active, duration_periods, max_per_customer from orders.coupons where code = 'E2E-TEN'",
    )
    .fetch_one(&pool)
    .await
    .expect("the coupon created in the app");
    assert_eq!(coupon, ("repeating".to_string(), false, Some(3), Some(1)));
    // The upgrade's prorated charge is paid from the balance; then it applies.
    let deadline = tokio::time::Instant::now() + crate::orders::SETTLE;
    while shop.get_order(&order.id).await.product_id != medium.id {
        assert!(tokio::time::Instant::now() < deadline, "the plan change from the app did not take effect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shop.balance_of(&customer).await < rust_decimal::Decimal::new(9000, 2), "the upgrade was charged");
    for page in ["security", "login-totp", "deliveries", "delivery", "coupons", "plan-change"] {
        assert!(artifacts.join(format!("{page}.png")).is_file(), "screenshot of {page}");
    }
}

/// Runs `web/admin/e2e/<script>` in headless Chromium against `server`
/// (signing in as the bootstrap admin), with `env` on top; fails the test
/// with both outputs and the server log when it fails. The directory of its
/// screenshots.
async fn run_browser(
    script: &str,
    server: &rustbill_system_tests::TestServer,
    artifacts_name: &str,
    env: &[(&str, &str)],
    limit: Duration,
) -> PathBuf {
    let app = web_admin();
    assert!(
        app.join("dist/index.html").is_file() && app.join("../node_modules/playwright-core").is_dir(),
        "the admin app is not built: run `make test` (or ./deploy/dev/build-web.sh) first"
    );
    assert!(Path::new("/usr/bin/chromium").is_file(), "Chromium is missing: run ./deploy/dev/ensure-deps.sh --test");
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join(artifacts_name);
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    let mut command = tokio::process::Command::new(rustbill_system_tests::node());
    command
        .arg(app.join("e2e").join(script))
        .current_dir(&app)
        .env("RUSTBILL_EDGE", &server.edge)
        .env("RUSTBILL_ADMIN_USER", ADMIN_USERNAME)
        .env("RUSTBILL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("E2E_ARTIFACTS", &artifacts)
        .env("CHROMIUM", "/usr/bin/chromium")
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(limit, command.output())
        .await
        .unwrap_or_else(|_| panic!("the browser run finishes within {} s", limit.as_secs()))
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser run failed ({}); screenshots in {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log (tail)\n{}",
        output.status,
        artifacts.display(),
        tail(&server.log(), 80)
    );
    artifacts
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
