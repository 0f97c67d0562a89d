//! `rustbill-cli` run as a user runs it, against a real PostgreSQL: every
//! command, with the database checked afterwards, and the errors a user
//! makes (unknown user, bad amount, unknown status, …) answered with exit
//! code 2, a message naming the problem, and nothing changed.

mod support;

use std::path::Path;

use rust_decimal::Decimal;
use sqlx::PgPool;
use support::{Cli, WEBHOOK, customer};
use uuid::Uuid;

#[tokio::test]
async fn database_status_and_migration() {
    let cli = Cli::new().await;
    // Before any migration: every schema has pending migrations, and the
    // commands that need tables say what to do.
    let status = cli.json(&["db", "status"]).await;
    let schemas = status.as_array().expect("schemas");
    assert_eq!(schemas.len(), 7, "bus and six services");
    assert!(schemas.iter().all(|schema| !schema["pending"].as_array().expect("pending").is_empty()));
    cli.refused(&["user", "list"], "rustbill-cli db migrate").await;

    let text = cli.ok(&["db", "migrate"]).await;
    assert!(text.contains("every schema is current"), "{text}");
    let status = cli.json(&["db", "status"]).await;
    for schema in status.as_array().expect("schemas") {
        assert_eq!(schema["pending"], serde_json::json!([]), "{schema}");
        assert!(!schema["applied"].as_array().expect("applied").is_empty(), "{schema}");
    }
    // Migrating again changes nothing; the CLI left no instance behind.
    assert!(cli.ok(&["db", "migrate"]).await.contains("0 migration(s) applied"));
    let pool = cli.pool().await;
    let instances: i64 =
        sqlx::query_scalar("select count(*) from bus.instance_heartbeat").fetch_one(&pool).await.unwrap();
    assert_eq!(instances, 0, "db migrate deregisters the instances it used");
    let table = cli.ok(&["db", "status"]).await;
    assert!(table.contains("identity") && table.contains("none"), "{table}");
}

#[tokio::test]
async fn staff_users() {
    let cli = Cli::new().await;
    cli.ok(&["db", "migrate"]).await;
    let pool = cli.pool().await;

    cli.refused(&["user", "create", "--username", "olga", "--password", "short"], "password").await;
    cli.refused(&["user", "create", "--username", "olga", "--password", "Olga-Pass-1", "--role", "root"], "role").await;
    cli.ok(&["user", "create", "--username", "admin", "--password", "Admin-Pass-1", "--role", "admin"]).await;
    cli.ok(&["user", "create", "--username", "olga", "--password", "Olga-Pass-1", "--email", "olga@example.com"]).await;
    cli.refused(&["user", "create", "--username", "OLGA", "--password", "Olga-Pass-2"], "already exists").await;

    let users = cli.json(&["user", "list"]).await;
    let olga = users.as_array().unwrap().iter().find(|user| user["username"] == "olga").expect("olga listed");
    assert_eq!(olga["role"], "operator", "the default role");
    assert_eq!(olga["email"], "olga@example.com");
    assert_eq!(olga["active"], true);
    assert!(cli.ok(&["user", "list"]).await.contains("olga"), "the table names her");

    // A session that must end with the new password.
    let olga_id: Uuid = sqlx::query_scalar("select id from identity.admin_users where username = 'olga'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into identity.sessions (id, admin_user_id, token_hash, expires_at)
         values ($1, $2, '\\x01', now() + interval '1 hour')",
    )
    .bind(Uuid::now_v7())
    .bind(olga_id)
    .execute(&pool)
    .await
    .unwrap();
    let before: String = sqlx::query_scalar("select password_hash from identity.admin_users where id = $1")
        .bind(olga_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    cli.refused(&["user", "passwd", "nobody", "--new-password", "Whatever-123"], "no staff user named \"nobody\"")
        .await;
    cli.refused(&["user", "passwd", "olga", "--new-password", "2short"], "new-password").await;
    let text = cli.ok(&["user", "passwd", "olga", "--new-password", "Olga-New-Pass-2"]).await;
    assert!(text.contains("1 session(s) ended"), "{text}");
    let after: String = sqlx::query_scalar("select password_hash from identity.admin_users where id = $1")
        .bind(olga_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_ne!(before, after);
    assert!(
        rustbill_identity::passwords::verify("Olga-New-Pass-2".into(), Some(after)).await.unwrap(),
        "the new password works"
    );
    let live: i64 =
        sqlx::query_scalar("select count(*) from identity.sessions where admin_user_id = $1 and revoked_at is null")
            .bind(olga_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(live, 0);

    // Olga lost her authenticator: the operator turns her TOTP off.
    sqlx::query(
        "update identity.admin_users set totp_secret = 'JBSWY3DPEHPK3PXP', totp_enabled_at = now() where id = $1",
    )
    .bind(olga_id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("insert into identity.admin_recovery_codes (id, admin_user_id, code_hash) values ($1, $2, '\\x02')")
        .bind(Uuid::now_v7())
        .bind(olga_id)
        .execute(&pool)
        .await
        .unwrap();
    cli.refused(&["user", "reset-2fa", "nobody"], "no staff user named").await;
    let text = cli.ok(&["user", "reset-2fa", "olga"]).await;
    assert!(text.contains("two-factor authentication of olga is off"), "{text}");
    let (secret, codes): (Option<String>, i64) = sqlx::query_as(
        "select totp_secret, (select count(*) from identity.admin_recovery_codes where admin_user_id = u.id)
         from identity.admin_users u where id = $1",
    )
    .bind(olga_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((secret, codes), (None, 0));

    cli.ok(&["user", "disable", "olga"]).await;
    let active: bool = sqlx::query_scalar("select is_active from identity.admin_users where id = $1")
        .bind(olga_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!active);
    cli.ok(&["user", "enable", "olga"]).await;
    // The last active admin cannot be disabled.
    cli.refused(&["user", "disable", "admin"], "last active admin").await;
    cli.refused(&["user", "disable", "ghost"], "no staff user").await;
    // Delete: the user and their sessions go; the last admin stays.
    cli.ok(&["user", "create", "--username", "temp", "--password", "Temp-Pass-1"]).await;
    cli.ok(&["user", "delete", "temp"]).await;
    let gone: i64 = sqlx::query_scalar("select count(*) from identity.admin_users where username = 'temp'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(gone, 0);
    cli.refused(&["user", "delete", "temp"], "no staff user").await;
    cli.refused(&["user", "delete", "admin"], "last active admin").await;
    let logged: i64 = sqlx::query_scalar(
        "select count(*) from identity.operation_logs where actor_kind = 'service' and target_id = $1",
    )
    .bind(olga_id.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(logged, 5, "create, password, 2FA reset, disable, enable are in the operation log");
}

async fn balance(pool: &PgPool, customer: Uuid) -> Decimal {
    sqlx::query_scalar("select coalesce((select balance from payments.balance_accounts where customer_id = $1), 0)")
        .bind(customer)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn customers_and_the_ledger() {
    let cli = Cli::new().await;
    cli.ok(&["db", "migrate"]).await;
    let pool = cli.pool().await;
    let acme = customer(&pool, "Acme Hosting", "ops@acme.example", "10.00").await;
    customer(&pool, "Bolt Cloud", "hi@bolt.example", "0").await;

    let listed = cli.json(&["customer", "list"]).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let found = cli.json(&["customer", "list", "--search", "acme"]).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["balance"], "0.00");

    let acme_id = acme.to_string();
    cli.ok(&["customer", "adjust-balance", &acme_id, "--amount", "25.50", "--reason", "goodwill credit"]).await;
    assert_eq!(balance(&pool, acme).await, Decimal::new(2550, 2));
    // Bad input changes nothing.
    cli.refused(&["customer", "adjust-balance", &acme_id, "--amount", "abc", "--reason", "x"], "amount").await;
    cli.refused(&["customer", "adjust-balance", &acme_id, "--amount", "0", "--reason", "x"], "amount").await;
    cli.refused(&["customer", "adjust-balance", &acme_id, "--amount", "1.234", "--reason", "x"], "amount").await;
    cli.refused(&["customer", "adjust-balance", &acme_id, "--amount", "5", "--reason", " "], "reason").await;
    cli.refused(&["customer", "adjust-balance", "nobody@example.com", "--amount", "5", "--reason", "x"], "no customer")
        .await;
    // The credit limit is the floor: 25.50 + 10.00 available.
    cli.refused(
        &["customer", "adjust-balance", &acme_id, "--amount", "-40", "--reason", "too much"],
        "insufficient balance",
    )
    .await;
    assert_eq!(balance(&pool, acme).await, Decimal::new(2550, 2), "refused adjustments changed nothing");
    let debit = cli
        .json(&["customer", "adjust-balance", "OPS@acme.example", "--amount", "-30", "--reason", "migration fee"])
        .await;
    assert_eq!(debit["balance"], "-4.50");
    assert_eq!(balance(&pool, acme).await, Decimal::new(-450, 2));

    // The ledger sums to the balance, and each change was announced.
    let (entries, sum): (i64, Decimal) = sqlx::query_as(
        "select count(*), coalesce(sum(amount), 0) from payments.balance_transactions
         where customer_id = $1 and transaction_type = 'manual_adjust'",
    )
    .bind(acme)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((entries, sum), (2, Decimal::new(-450, 2)));
    let events: i64 = sqlx::query_scalar(
        "select count(*) from bus.event_queue where event_type = 'payments.balance_adjusted' and customer_id = $1",
    )
    .bind(acme)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(events, 2);

    let shown = cli.json(&["customer", "show", &acme_id]).await;
    assert_eq!(shown["balance"], "-4.50");
    assert_eq!(shown["credit_limit"], "10.00");
    assert_eq!(shown["ledger"].as_array().unwrap().len(), 2);
    assert_eq!(shown["ledger"][0]["description"], "migration fee", "newest first");
    cli.refused(&["customer", "show", "01234567-89ab-7def-8123-456789abcdef"], "no customer").await;
}

#[tokio::test]
async fn catalog_orders_instances() {
    let cli = Cli::new().await;
    cli.ok(&["db", "migrate"]).await;
    let pool = cli.pool().await;
    let customer_id = customer(&pool, "Acme Hosting", "ops@acme.example", "0").await;
    let interface = Uuid::now_v7();
    let product = Uuid::now_v7();
    sqlx::query(
        "insert into catalog.products (id, name, price_per_month, interface_id, billing_cycles)
         values ($1, 'HK VPS', 8.00, $2, '{\"monthly\": \"8.00\", \"yearly\": \"80.00\"}')",
    )
    .bind(product)
    .bind(interface)
    .execute(&pool)
    .await
    .unwrap();
    let products = cli.json(&["product", "list", "--active"]).await;
    assert_eq!(products[0]["name"], "HK VPS");
    assert_eq!(products[0]["price_per_month"], "8.00");
    assert!(products[0]["billing_cycles"].as_str().unwrap().contains("yearly=80.00"));

    let order = Uuid::now_v7();
    let instance = Uuid::now_v7();
    sqlx::query(
        "insert into orders.orders (id, customer_id, product_id, product_name, provider_interface_id, status, amount,
                                    currency, billing_cycle, instance_id, gateway_interface_id)
         values ($1, $2, $3, 'HK VPS', $4, 'active', 8.00, 'CNY', 'monthly', $5, 'balance')",
    )
    .bind(order)
    .bind(customer_id)
    .bind(product)
    .bind(interface)
    .bind(instance)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into orders.instances (id, customer_id, order_id, product_id, product_name, provider_interface_id,
                                       provider_instance_id, status, ip_address)
         values ($1, $2, $3, $4, 'HK VPS', $5, 'demo-1', 'running', '192.0.2.10')",
    )
    .bind(instance)
    .bind(customer_id)
    .bind(order)
    .bind(product)
    .bind(interface)
    .execute(&pool)
    .await
    .unwrap();

    let orders = cli.json(&["order", "list", "--status", "active"]).await;
    assert_eq!(orders.as_array().unwrap().len(), 1);
    assert_eq!(orders[0]["amount"], "8.00 CNY");
    assert_eq!(cli.json(&["order", "list", "--status", "pending"]).await, serde_json::json!([]));
    cli.refused(&["order", "list", "--status", "bogus"], "status").await;
    cli.refused(&["order", "list", "--customer", "acme"], "not a UUID").await;
    let shown = cli.json(&["order", "show", &order.to_string()]).await;
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["instance"]["ip_address"], "192.0.2.10");
    cli.refused(&["order", "show", &Uuid::now_v7().to_string()], "no order").await;
    cli.refused(&["order", "show", "12"], "not a UUID").await;

    let instances = cli.json(&["instance", "list", "--customer", &customer_id.to_string()]).await;
    assert_eq!(instances[0]["provider_instance_id"], "demo-1");
    assert_eq!(instances[0]["status"], "running");
    cli.refused(&["instance", "list", "--status", "on"], "status").await;
    assert!(cli.ok(&["instance", "list"]).await.contains("192.0.2.10"));
}

#[tokio::test]
async fn plugins_events_and_leaders() {
    let cli = Cli::new().await;
    cli.ok(&["db", "migrate"]).await;
    let pool = cli.pool().await;
    let definition = support::webhook_definition(&pool).await;
    let hooks = support::interface(&pool, definition, "Hooks", WEBHOOK, "{}").await;
    support::interface(&pool, definition, "Broken", "pub fn send( {", "{}").await;

    let listed = cli.json(&["plugin", "list"]).await;
    assert_eq!(listed["plugins"][0]["plugin_id"], "webhook");
    assert_eq!(listed["interfaces"].as_array().unwrap().len(), 2);
    // Incomplete config, broken script, unknown name: refused, nothing changed.
    cli.refused(&["plugin", "enable", "Hooks"], "config is incomplete").await;
    cli.refused(&["plugin", "enable", "broken"], "script cannot run").await;
    cli.refused(&["plugin", "enable", "nope"], "no plugin interface named").await;
    let enabled: i64 = sqlx::query_scalar("select count(*) from plugins.plugin_interfaces where enabled")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(enabled, 0);
    sqlx::query("update plugins.plugin_interfaces set config = '{\"url\": \"https://hooks.example/x\"}' where id = $1")
        .bind(hooks)
        .execute(&pool)
        .await
        .unwrap();
    cli.ok(&["plugin", "enable", &hooks.to_string()]).await;
    let is_enabled = || async {
        sqlx::query_scalar::<_, bool>("select enabled from plugins.plugin_interfaces where id = $1")
            .bind(hooks)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert!(is_enabled().await);
    // Check: one good, one broken → exit 2, and the table says which.
    let output = cli.run(&["plugin", "check"]).await;
    assert_eq!(output.status.code(), Some(2));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("Hooks") && table.contains("ok") && table.contains("cannot run"), "{table}");
    let one = cli.json(&["plugin", "check", "Hooks"]).await;
    assert_eq!(one[0]["result"], "ok");
    cli.ok(&["plugin", "disable", "hooks"]).await;
    assert!(!is_enabled().await);

    // The outbox: a parked delivery, retried once.
    let event = Uuid::now_v7();
    sqlx::query(
        "insert into bus.event_queue (id, event_type, aggregate_id, source, payload)
         values ($1, 'order.paid', $2, 'orders', '{}')",
    )
    .bind(event)
    .bind(Uuid::now_v7())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into bus.delivery (consumer, event_id, aggregate_id, event_seq, status, attempts, last_error, parked_at)
         select 'orders.provisioning', id, aggregate_id, seq, 'parked', 5, 'provider down', now()
         from bus.event_queue where id = $1",
    )
    .bind(event)
    .execute(&pool)
    .await
    .unwrap();
    let listed = cli.json(&["events", "list"]).await;
    assert_eq!(listed["parked"][0]["event_id"], event.to_string());
    assert_eq!(listed["parked"][0]["last_error"], "provider down");
    assert!(cli.ok(&["events", "list"]).await.contains("provider down"));
    cli.ok(&["events", "retry", &event.to_string()]).await;
    let (status, attempts): (String, i32) =
        sqlx::query_as("select status, attempts from bus.delivery where event_id = $1")
            .bind(event)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("pending", 0));
    cli.refused(&["events", "retry", &event.to_string()], "no parked delivery").await;
    cli.refused(&["events", "retry", "x"], "not a UUID").await;

    // Leaders.
    let holder = Uuid::now_v7();
    sqlx::query("insert into bus.instance_heartbeat (instance_id, service, hostname) values ($1, 'orders', 'node-1')")
        .bind(holder)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("insert into bus.leader_role (role, holder) values ('billing', $1)")
        .bind(holder)
        .execute(&pool)
        .await
        .unwrap();
    let leaders = cli.json(&["leader", "status"]).await;
    assert_eq!(leaders["roles"][0]["role"], "billing");
    assert_eq!(leaders["roles"][0]["service"], "orders");
    assert_eq!(leaders["roles"][0]["alive"], true);
    assert_eq!(leaders["instances"][0]["hostname"], "node-1");
}

#[tokio::test]
async fn configuration_comes_from_the_servers_files_and_environment() {
    let cli = Cli::new().await;
    cli.ok(&["db", "migrate"]).await;
    // config.toml in the working directory, as for the servers.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("config.toml"), format!("[db]\nurl = \"{}\"\n", cli.db.url())).expect("config");
    let run = |env: Option<(&str, &str)>| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rustbill-cli"));
        command
            .args(["user", "list", "--output", "json"])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        if let Some((key, value)) = env {
            command.env(key, value);
        }
        command.output()
    };
    let output = run(None).await.expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "[]");
    // RUSTBILL_DB__URL overrides the file.
    let output = run(Some(("RUSTBILL_DB__URL", "postgres://nobody@127.0.0.1:1/none"))).await.expect("runs");
    assert_eq!(output.status.code(), Some(1), "an unreachable database is a failure, not bad input");
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot connect to PostgreSQL"));
}

#[tokio::test]
async fn no_database_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_rustbill-cli"))
        .args(["user", "list"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUSTBILL_DB__EMBEDDED_DIR", dir.path().join("none").to_str().expect("utf-8"))
        .output()
        .await
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no database") && stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(Path::new(env!("CARGO_BIN_EXE_rustbill-cli")).is_file());
}
