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
    let app = web_admin();
    assert!(
        app.join("dist/index.html").is_file() && app.join("../node_modules/playwright-core").is_dir(),
        "the admin app is not built: run `make test` (or ./deploy/dev/build-web.sh) first"
    );
    assert!(Path::new("/usr/bin/chromium").is_file(), "Chromium is missing: run ./deploy/dev/ensure-deps.sh --test");
    let (server, _plugins) = flows::server_with_plugins_and(&[("provider-demo.rn", PROVIDER)], &[]).await;
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("admin-e2e");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");

    let run = tokio::process::Command::new(rustbill_system_tests::node())
        .arg(app.join("e2e/admin.mjs"))
        .current_dir(&app)
        .env("RUSTBILL_EDGE", &server.edge)
        .env("RUSTBILL_ADMIN_USER", ADMIN_USERNAME)
        .env("RUSTBILL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("E2E_ARTIFACTS", &artifacts)
        .env("E2E_PROVIDER_SCRIPT", Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plugins/provider-demo.rn"))
        .env("CHROMIUM", "/usr/bin/chromium")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the browser run finishes within 10 minutes")
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

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
