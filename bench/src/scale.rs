//! The spec's performance table at scale (HA guide §11: 1M orders, 50
//! customers, one PostgreSQL): a data generator that loads orders with their
//! payments, instances and invoices through `COPY`, and a driver that calls
//! the edge with real gRPC clients for each operation of the table and runs
//! the same SQL through `pgbench` in the same run as the baseline.
//!
//! [`run`] does it all and returns a [`Report`]; `make bench` runs it at
//! full size (`--bin scale`, which also writes `docs/PERFORMANCE.md`), and
//! `make test` at a small size (`bench/tests/scale.rs`), so it cannot rot.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{Datelike, Utc};
use rustbill_proto::balance::AdjustBalanceRequest;
use rustbill_proto::balance::balance_service_client::BalanceServiceClient;
use rustbill_proto::common::PageRequest;
use rustbill_proto::customer::CreateCustomerRequest;
use rustbill_proto::customer::customer_service_client::CustomerServiceClient;
use rustbill_proto::downstream::CreateApiKeyRequest;
use rustbill_proto::downstream::api_key_service_client::ApiKeyServiceClient;
use rustbill_proto::order::order_service_client::OrderServiceClient;
use rustbill_proto::order::{CreateOrderRequest, ListOrdersRequest, ServerSpec};
use rustbill_proto::product::CreateProductRequest;
use rustbill_proto::product::product_service_client::ProductServiceClient;
use rustbill_proto::system::GetDashboardRequest;
use rustbill_proto::system::system_service_client::SystemServiceClient;
use sqlx::{Connection, PgConnection};
use tonic::transport::Channel;
use uuid::Uuid;

use crate::{ADMIN_PASSWORD, Stats, admin_session, enabled_interface, measure, percentile, with_cookie};

const PROVIDER: &str = include_str!("../../tests/fixtures/plugins/provider-demo.rn");
const YIPAY: &str = include_str!("../../plugins/gateway-yipay.rn");
/// The epay merchant the bench's gateway interface is configured with.
const EPAY_PID: &str = "1001";
const EPAY_KEY: &str = "bench-epay-key-0123456789";

/// How big and how long.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Orders generated (the spec: 1,000,000).
    pub orders: usize,
    /// Customers they belong to (the spec: 50).
    pub customers: usize,
    /// Measured calls per operation.
    pub calls: usize,
    /// Concurrent callers (and pgbench clients).
    pub concurrency: usize,
    /// Orders pushed through the pipeline for the sustained rate.
    pub pipeline_orders: usize,
    /// Seconds pgbench runs each statement.
    pub pgbench_secs: u64,
}

impl Settings {
    /// From `BENCH_SCALE_ORDERS` (1,000,000), `BENCH_SCALE_CUSTOMERS` (50),
    /// `BENCH_CALLS` (2,000), `BENCH_CONCURRENCY` (8),
    /// `BENCH_PIPELINE_ORDERS` (2,000), `BENCH_PGBENCH_SECS` (10).
    pub fn from_env() -> Self {
        use crate::env_number;
        Self {
            orders: env_number("BENCH_SCALE_ORDERS", 1_000_000),
            customers: env_number("BENCH_SCALE_CUSTOMERS", 50).max(1),
            calls: env_number("BENCH_CALLS", 2_000).max(1),
            concurrency: env_number("BENCH_CONCURRENCY", 8).max(1),
            pipeline_orders: env_number("BENCH_PIPELINE_ORDERS", 2_000),
            pgbench_secs: env_number("BENCH_PGBENCH_SECS", 10) as u64,
        }
    }
}

/// One operation of the table: through the edge, and its SQL in pgbench.
#[derive(Debug, Clone)]
pub struct Row {
    pub operation: &'static str,
    /// The spec's figure in milliseconds.
    pub spec_ms: f64,
    /// p50 with one caller alone (compared with the spec's figure).
    pub single_p50_ms: f64,
    /// p50 and p99 with `concurrency` callers.
    pub edge_p50_ms: f64,
    pub edge_p99_ms: f64,
    pub edge_per_sec: f64,
    pub calls: usize,
    /// pgbench on the same statements: p50, p99, transactions per second.
    pub pgbench: Option<(f64, f64, f64)>,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub settings: Settings,
    /// Rows loaded per table.
    pub loaded: BTreeMap<String, i64>,
    pub load_time: Duration,
    pub rows: Vec<Row>,
    /// Orders created, paid and provisioned per second.
    pub pipeline_per_sec: f64,
    /// rustbill-server's resident memory once started, and its peak over
    /// the run (kB).
    pub rss_idle_kb: u64,
    pub rss_peak_kb: u64,
    pub machine: String,
    /// PostgreSQL's version and durability settings during the run.
    pub database: String,
}

impl Report {
    /// The results as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| operation | spec p50 | target p50 (¼ spec) | edge p50, 1 caller | edge p50, {n} callers | edge p99, {n} callers | edge req/s | pgbench p50 | pgbench p99 | pgbench tx/s | edge ÷ pgbench rate |",
            n = self.settings.concurrency
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for row in &self.rows {
            let (pg50, pg99, pgrate, ratio) = match row.pgbench {
                Some((p50, p99, rate)) => (
                    format!("{p50:.2} ms"),
                    format!("{p99:.2} ms"),
                    format!("{rate:.0}"),
                    format!("{:.2}", row.edge_per_sec / rate),
                ),
                None => ("–".into(), "–".into(), "–".into(), "–".into()),
            };
            let _ = writeln!(
                out,
                "| {} | {:.0} ms | {:.2} ms | {:.2} ms{} | {:.2} ms | {:.2} ms | {:.0} | {pg50} | {pg99} | {pgrate} | {ratio} |",
                row.operation,
                row.spec_ms,
                row.spec_ms / 4.0,
                row.single_p50_ms,
                if row.single_p50_ms <= row.spec_ms / 4.0 { "" } else { " (over)" },
                row.edge_p50_ms,
                row.edge_p99_ms,
                row.edge_per_sec,
            );
        }
        let _ = writeln!(
            out,
            "\nSustained pipeline (created → paid → provisioned → active, test provider): **{:.0} orders/s** over {} orders (target ≥ 1,000).",
            self.pipeline_per_sec, self.settings.pipeline_orders
        );
        let mb = |kb: u64| kb as f64 / 1024.0;
        let _ = writeln!(
            out,
            "\nrustbill-server resident memory: **{:.0} MB idle** after start (target < 150 MB), \
             **{:.0} MB at its peak** over the whole run (target < 512 MB).",
            mb(self.rss_idle_kb),
            mb(self.rss_peak_kb)
        );
        out
    }
}

/// `docs/PERFORMANCE.md`: the machine, the data, the table.
pub fn document(report: &Report) -> String {
    let loaded: Vec<String> = report.loaded.iter().map(|(table, rows)| format!("{table} {rows}")).collect();
    format!(
        "# Performance\n\n\
         Written by `make bench` (`cargo run --release -p rustbill-bench --bin scale`); do not edit by hand.\n\n\
         - Machine: {}\n\
         - Database: {}, on the same machine\n\
         - Data: {} orders over {} customers, loaded with COPY in {:.1} s ({})\n\
         - Load: {} calls per operation by {} concurrent callers through the edge (gRPC over HTTP/2), \
         and a quarter as many by one caller alone (the latency compared with the spec); \
         pgbench with as many clients, {} s per statement, on the same database in the same run\n\
         - Targets (issue 12): p50 at most a quarter of the spec's figure, at least half of pgbench's rate, \
         ≥ 1,000 orders/s through the pipeline, rustbill-server under 150 MB idle and 512 MB under load\n\n{}\n{}",
        report.machine,
        report.database,
        report.settings.orders,
        report.settings.customers,
        report.load_time.as_secs_f64(),
        loaded.join(", "),
        report.settings.calls,
        report.settings.concurrency,
        report.settings.pgbench_secs,
        report.markdown(),
        report.shortfalls()
    )
}

/// Why an operation misses a target, from what was measured and profiled
/// on the 2-core machine this was tuned on (see the issue 12 notes).
fn why(operation: &str) -> (&'static str, &'static str) {
    // (why the p50 of one caller is over, why the rate is under half of pgbench's)
    const HOPS: &str = "every call crosses three gRPC hops (client → edge, edge → identity to resolve the \
        credential, edge → orders), each with HTTP/2 framing, a loopback TCP round trip and a task switch, on the \
        same two cores as PostgreSQL and the load generator; pgbench sends the bare statements over one connection. \
        With the statements now sub-millisecond (exact totals from counters, not `count(*)`), that stack is most of \
        the cost. Halving it means fewer hops (an in-process channel between the edge and the services when they \
        share a process, or a principal cache at the edge), not faster SQL";
    match operation {
        "customer's own orders" | "admin: all orders" => (
            "the credential, the exact total and the page are three small statements, but the call crosses \
             three gRPC hops (see the rate below)",
            HOPS,
        ),
        "order list, page of 100" => (
            "a page N deep skips N × 100 entries of the ordering index (read from the index alone, not the \
             rows) and sends 100 orders through two hops. Page numbers are the wire contract (`PageRequest.page`, \
             which the portal sends); a cursor would make any page cost the same, but the spec has no field for it",
            HOPS,
        ),
        "dashboard (counts over 6 tables)" => (
            "GetDashboard asks every service for its part over gRPC and merges them; each part now reads counters \
             and per-day sums instead of counting rows",
            "the same hops as the lists, times six parts",
        ),
        "create order (paid from the balance)" => (
            "before the order exists it takes five service calls (the API key, the product, the customer, the \
             provider's template, and its price from the provider's Rune script), then two transactions in two \
             services (the order; the payment with its debit, ledger row, operation log and event), each a durable \
             commit. A 1 ms order would need those answers cached, which for the customer's state and the price \
             would trade correctness for speed",
            "pgbench runs the same statements without the five round trips and the Rune call",
        ),
        "payment callback" => (
            "the gateway plugin checks the signature in a Rune VM (plugins service), then payments marks the \
             payment paid and publishes its event in one durable transaction; the HTTP request crosses the edge and \
             two services",
            "pgbench runs the same statements without the Rune call and the hops",
        ),
        _ => ("", ""),
    }
}

impl Report {
    /// The targets not met, each with why.
    pub fn shortfalls(&self) -> String {
        let mut out = String::from("## Targets not met, and why\n\n");
        let mut any = false;
        for row in &self.rows {
            let (slow, rate) = why(row.operation);
            if row.single_p50_ms > row.spec_ms / 4.0 {
                any = true;
                let _ = writeln!(
                    out,
                    "- **{}**: p50 {:.2} ms against {:.2} ms: {slow}.",
                    row.operation,
                    row.single_p50_ms,
                    row.spec_ms / 4.0
                );
            }
            if let Some((_, _, pg_rate)) = row.pgbench
                && row.edge_per_sec < pg_rate / 2.0
            {
                any = true;
                let _ = writeln!(
                    out,
                    "- **{}**: {:.0} calls/s through the edge against {:.0} of pgbench ({:.2}): {rate}.",
                    row.operation,
                    row.edge_per_sec,
                    pg_rate,
                    row.edge_per_sec / pg_rate
                );
            }
        }
        if self.pipeline_per_sec < 1000.0 {
            any = true;
            let create = self
                .rows
                .iter()
                .find(|row| row.operation.starts_with("create order"))
                .map_or(0.0, |row| row.edge_per_sec);
            let _ = writeln!(
                out,
                "- **Sustained pipeline**: {:.0} orders/s against 1,000. Creating orders alone saturates this \
                 machine at {create:.0}/s; each order then crosses two outbox hops (payment → order paid, \
                 paid → provisioned) and notify, and the provider's `create_instance` runs in a Rune VM through the \
                 plugins service. Each of the pipeline's two consumers handles several orders at once per \
                 instance (a quarter of the pool, at most 8: 5 with this run's pool of 20), so provider \
                 latency no longer serialises it, but on two cores shared with PostgreSQL the whole chain is \
                 CPU-bound: 1,000 orders/s needs more cores or instances, not a different design.",
                self.pipeline_per_sec
            );
        }
        if self.rss_idle_kb > 150 * 1024 || self.rss_peak_kb > 512 * 1024 {
            any = true;
            let _ = writeln!(out, "- **Memory**: over its limit (see above).");
        }
        if !any {
            out.push_str("Every target is met.\n");
        }
        out
    }
}

/// Generates the data, starts a server on it and measures.
pub async fn run(settings: Settings) -> anyhow::Result<Report> {
    let plugins = tempfile::tempdir()?;
    std::fs::write(plugins.path().join("provider-demo.rn"), PROVIDER)?;
    std::fs::write(plugins.path().join("gateway-yipay.rn"), YIPAY)?;
    // The real binary in its own process, so its memory is its own.
    let mut server = rustbill_system_tests::TestServer::start_with(
        rustbill_system_tests::Settings::default()
            .with("RUSTBILL_RATE_LIMIT__ENABLED", "false")
            .with("RUSTBILL_SERVER__MAX_CONCURRENCY", "256")
            .with("RUSTBILL_PLUGINS__PLUGINS_DIR", &plugins.path().display().to_string())
            .with("RUSTBILL_BOOTSTRAP__ADMIN_PASSWORD", ADMIN_PASSWORD)
            // The configuration's defaults (the system tests use fewer).
            .with("RUSTBILL_DB__MIN_CONNECTIONS", "2")
            .with("RUSTBILL_DB__MAX_CONNECTIONS", "20"),
    )
    .await?;
    let pid = server.pid().context("the server has exited")?;
    let database = server.database.clone();
    let edge = Channel::from_shared(server.edge.clone())?.connect().await?;
    // Idle: started, migrated, nothing asked of it yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle_kb = memory(pid)?.0;
    let (cookie, _) = admin_session(&edge).await?;
    let interface =
        enabled_interface(&edge, &cookie, "demo", "Bench", r#"{"api_url":"https://bench.example"}"#).await?;
    // An epay gateway: creating a payment only signs a URL, and its
    // notifications are checked by signature, so no network is needed.
    let gateway = enabled_interface(
        &edge,
        &cookie,
        "yipay",
        "Bench epay",
        &format!(r#"{{"api_url":"https://pay.bench.example/","pid":"{EPAY_PID}","key":"{EPAY_KEY}","default_type":"alipay"}}"#),
    )
    .await?;
    let product = ProductServiceClient::new(edge.clone())
        .create_product(with_cookie(
            CreateProductRequest {
                name: "Bench VPS".into(),
                price_per_month: "10.00".into(),
                interface_id: interface.clone(),
                ..Default::default()
            },
            &cookie,
        ))
        .await?
        .into_inner()
        .product
        .context("no product")?
        .id;

    // The customers, each with money and an API key of its own.
    let mut customers = Vec::new();
    for index in 0..settings.customers {
        let id = CustomerServiceClient::new(edge.clone())
            .create_customer(with_cookie(
                CreateCustomerRequest {
                    name: format!("Bench customer {index}"),
                    email: format!("bench{index}@example.com"),
                    ..Default::default()
                },
                &cookie,
            ))
            .await?
            .into_inner()
            .customer
            .context("no customer")?
            .id;
        BalanceServiceClient::new(edge.clone())
            .adjust_balance(with_cookie(
                AdjustBalanceRequest {
                    customer_id: id.clone(),
                    amount: "9000000.00".into(),
                    description: "bench".into(),
                },
                &cookie,
            ))
            .await?;
        let key = ApiKeyServiceClient::new(edge.clone())
            .create_api_key(with_cookie(CreateApiKeyRequest { name: "bench".into(), customer_id: id.clone() }, &cookie))
            .await?
            .into_inner()
            .api_key;
        customers.push((Uuid::parse_str(&id)?, key));
    }

    let started = Instant::now();
    let ids: Vec<Uuid> = customers.iter().map(|(id, _)| *id).collect();
    let loaded =
        generate(database.url(), settings.orders, &ids, Uuid::parse_str(&product)?, Uuid::parse_str(&interface)?)
            .await?;
    let load_time = started.elapsed();
    check_totals_and_deep_page(&edge, &cookie, database.url(), loaded["orders.orders"]).await?;
    let pool = database.pool().await?;
    let (version, fsync, synchronous_commit): (String, String, String) = sqlx::query_as(
        "select current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit')",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    let database_settings = format!("PostgreSQL {version} (fsync {fsync}, synchronous_commit {synchronous_commit})");

    let concurrency = settings.concurrency;
    let calls = settings.calls;
    let mut rows = Vec::new();
    let pgbench = Pgbench::find();

    // 1. A customer's own orders (first page, with the exact total).
    // The customers' API keys, shared by every operation's callers.
    let customer_keys: std::sync::Arc<Vec<String>> =
        std::sync::Arc::new(customers.iter().map(|(_, key)| key.clone()).collect());
    let keys = customer_keys.clone();
    let channel = edge.clone();
    let (single, stats) = measure_both("customer: own orders", calls, concurrency, move |index| {
        let mut client = OrderServiceClient::new(channel.clone());
        let request = bearer(ListOrdersRequest::default(), &keys[index % keys.len()]);
        async move {
            client.list_orders(request).await?;
            Ok(())
        }
    })
    .await?;
    // The statements ListOrders runs: the exact total from the counters,
    // then the first page.
    let sql = "\\set c random(0, :customers - 1)\n\
               select coalesce(sum(n), 0)::bigint from (\n\
                 select n from orders.status_counts where kind = 'order' and customer_id = (select id from public.bench_customers where n = :c)\n\
                 union all select n from orders.status_count_deltas where kind = 'order' and customer_id = (select id from public.bench_customers where n = :c)) counted;\n\
               select o.* from orders.orders o where o.customer_id = (select id from public.bench_customers where n = :c)\n\
               order by o.created_at desc, o.id desc limit 20;\n";
    rows.push(row("customer's own orders", 8.0, &single, &stats, pgbench.run(database.url(), sql, &settings).await?));

    // 2. An admin's view of all orders (first page, exact total).
    let (channel, auth) = (edge.clone(), cookie.clone());
    let (single, stats) = measure_both("admin: all orders", calls, concurrency, move |_| {
        let mut client = OrderServiceClient::new(channel.clone());
        let request = with_cookie(ListOrdersRequest::default(), &auth);
        async move {
            client.list_orders(request).await?;
            Ok(())
        }
    })
    .await?;
    let sql =
        format!("{ALL_ORDERS_TOTAL}select o.* from orders.orders o order by o.created_at desc, o.id desc limit 20;\n");
    rows.push(row("admin: all orders", 45.0, &single, &stats, pgbench.run(database.url(), &sql, &settings).await?));

    // 3. A page of 100 orders, anywhere in the list.
    let pages = (settings.orders / 100).clamp(1, 1000);
    let (channel, auth) = (edge.clone(), cookie.clone());
    let (single, stats) = measure_both("order list, page of 100", calls, concurrency, move |index| {
        let mut client = OrderServiceClient::new(channel.clone());
        let page = u32::try_from(index % pages).unwrap_or(0) + 1;
        let request = with_cookie(
            ListOrdersRequest { pagination: Some(PageRequest { page, page_size: 100 }), ..Default::default() },
            &auth,
        );
        async move {
            client.list_orders(request).await?;
            Ok(())
        }
    })
    .await?;
    let sql = format!(
        "\\set p random(1, {})\n\
         {ALL_ORDERS_TOTAL}\
         select o.* from orders.orders o where id in (\n\
           select id from orders.orders order by created_at desc, id desc limit 100 offset :p * 100)\n\
         order by o.created_at desc, o.id desc;\n",
        pages - 1
    );
    rows.push(row(
        "order list, page of 100",
        12.0,
        &single,
        &stats,
        pgbench.run(database.url(), &sql, &settings).await?,
    ));

    // 4. The dashboard's counters over six tables.
    let (channel, auth) = (edge.clone(), cookie.clone());
    let (single, stats) = measure_both("dashboard", calls.min(500), concurrency, move |_| {
        let mut client = SystemServiceClient::new(channel.clone());
        let request = with_cookie(GetDashboardRequest { days: 30 }, &auth);
        async move {
            client.get_dashboard(request).await?;
            Ok(())
        }
    })
    .await?;
    let sql = DASHBOARD_SQL;
    rows.push(row(
        "dashboard (counts over 6 tables)",
        120.0,
        &single,
        &stats,
        pgbench.run(database.url(), sql, &settings).await?,
    ));

    // 5. Creating an order paid from the balance (the customer's own key).
    let order = CreateOrderRequest {
        product_id: product.clone(),
        gateway_interface_id: "balance".into(),
        server_spec: Some(ServerSpec {
            extra_specs: [("os".to_string(), "debian-12".to_string())].into_iter().collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let keys = customer_keys.clone();
    let (channel, request) = (edge.clone(), order.clone());
    let (single, stats) =
        measure_both("create order", calls.min(settings.pipeline_orders.max(1)), concurrency, move |index| {
            let mut client = OrderServiceClient::new(channel.clone());
            let request = bearer(request.clone(), &keys[index % keys.len()]);
            async move {
                client.create_order(request).await?;
                Ok(())
            }
        })
        .await?;
    rows.push(row(
        "create order (paid from the balance)",
        4.0,
        &single,
        &stats,
        pgbench.run(database.url(), CREATE_ORDER_SQL, &settings).await?,
    ));

    // 6. The gateway's payment notification for an order: signature, the
    // payment marked paid, the order paid, its event (the pipeline then
    // provisions it, not measured here).
    let keys = customer_keys.clone();
    let mut notifications = Vec::new();
    // Warm-ups and the single caller's calls use notifications too.
    for index in 0..calls + concurrency + single_calls(calls) + 1 {
        let created = OrderServiceClient::new(edge.clone())
            .create_order(bearer(
                CreateOrderRequest { gateway_interface_id: gateway.clone(), ..order.clone() },
                &keys[index % keys.len()],
            ))
            .await?
            .into_inner();
        let payment = created.payment.context("a gateway order starts its payment")?;
        notifications.push(epay_notification(&payment.payment_url, &format!("BENCH{index:08}"))?);
    }
    let url = format!("{}/callback/{gateway}", server.edge);
    let http = reqwest::Client::new();
    let notifications = std::sync::Arc::new(notifications);
    // Each notification once (warm-up calls included): a repeated one is
    // the cheap "already paid" answer.
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (single, stats) = measure_both("payment callback", calls, concurrency, move |_| {
        let taken = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request = http.get(format!("{url}?{}", notifications[taken % notifications.len()]));
        async move {
            let response = request.send().await?;
            let status = response.status();
            let body = response.text().await?;
            anyhow::ensure!(status.is_success() && body == "success", "callback answered {status}: {body}");
            Ok(())
        }
    })
    .await?;
    rows.push(row(
        "payment callback",
        3.0,
        &single,
        &stats,
        pgbench.run(database.url(), CALLBACK_SQL, &settings).await?,
    ));

    // 7. Sustained: orders created, paid and provisioned per second.
    let pool = database.pool().await?;
    wait_active(&pool, Duration::from_secs(600)).await?;
    let before: i64 =
        sqlx::query_scalar("select count(*) from orders.orders where status = 'active'").fetch_one(&pool).await?;
    let keys = customer_keys.clone();
    let (channel, request) = (edge.clone(), order.clone());
    let began = Instant::now();
    measure("pipeline", settings.pipeline_orders, concurrency, move |index| {
        let mut client = OrderServiceClient::new(channel.clone());
        let request = bearer(request.clone(), &keys[index % keys.len()]);
        async move {
            client.create_order(request).await?;
            Ok(())
        }
    })
    .await?;
    let expected = before + i64::try_from(settings.pipeline_orders + concurrency.min(settings.pipeline_orders))?;
    loop {
        let active: i64 =
            sqlx::query_scalar("select count(*) from orders.orders where status = 'active'").fetch_one(&pool).await?;
        if active >= expected {
            break;
        }
        anyhow::ensure!(began.elapsed() < Duration::from_secs(900), "only {active} of {expected} orders active");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pipeline_per_sec = settings.pipeline_orders as f64 / began.elapsed().as_secs_f64();
    pool.close().await;
    // The most the server's memory held at any moment of the run.
    let rss_peak_kb = memory(pid)?.1;
    let status = server.stop().await?;
    anyhow::ensure!(status.success(), "the server exited with {status}");

    Ok(Report {
        settings,
        loaded,
        load_time,
        rows,
        pipeline_per_sec,
        rss_idle_kb,
        rss_peak_kb,
        machine: machine(),
        database: database_settings,
    })
}

/// A process's resident memory now and at its peak (VmRSS, VmHWM), in kB.
fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// The exact number of orders, as ListOrders reads it (see orders' `counts`).
const ALL_ORDERS_TOTAL: &str = "select coalesce(sum(n), 0)::bigint from (\n\
    select n from orders.status_counts where kind = 'order'\n\
    union all select n from orders.status_count_deltas where kind = 'order') counted;\n";

/// Every statement GetDashboard runs, over all services' parts, for a
/// 30-day window.
const DASHBOARD_SQL: &str = "select status, coalesce(sum(n), 0)::bigint from (select status, n from orders.status_counts where kind = 'order'\n\
      union all select status, n from orders.status_count_deltas where kind = 'order') counted group by status;\n\
    select status, coalesce(sum(n), 0)::bigint from (select status, n from orders.status_counts where kind = 'instance'\n\
      union all select status, n from orders.status_count_deltas where kind = 'instance') counted group by status;\n\
    select count(*), coalesce(sum(total_amount), 0) from orders.invoices where status in ('issued', 'overdue');\n\
    select day, sum(n)::numeric from (select day, n from orders.daily_counts where series = 'orders_created' and day >= (date_trunc('day', now()) - interval '29 days')::date\n\
      union all select day, n from orders.daily_count_deltas where series = 'orders_created' and day >= (date_trunc('day', now()) - interval '29 days')::date) counted group by day;\n\
    select day, sum(n)::numeric from (select day, n from orders.daily_counts where series = 'orders_paid' and day >= (date_trunc('day', now()) - interval '29 days')::date\n\
      union all select day, n from orders.daily_count_deltas where series = 'orders_paid' and day >= (date_trunc('day', now()) - interval '29 days')::date) counted group by day;\n\
    select coalesce(sum(balance), 0) from payments.balance_accounts;\n\
    select day, sum(amount) from (select day, amount from payments.daily_sums where series = 'revenue' and day >= (date_trunc('day', now()) - interval '29 days')::date\n\
      union all select day, amount from payments.daily_sum_deltas where series = 'revenue' and day >= (date_trunc('day', now()) - interval '29 days')::date) summed group by day;\n\
    select (created_at at time zone 'UTC')::date, sum(amount) from payments.refunds where created_at >= date_trunc('day', now()) - interval '29 days' group by 1;\n\
    select count(*), count(*) filter (where is_active) from identity.customers;\n\
    select (created_at at time zone 'UTC')::date, count(*)::numeric from identity.customers where created_at >= date_trunc('day', now()) - interval '29 days' group by 1;\n\
    select count(*), count(*) filter (where is_active) from catalog.products;\n\
    select count(*) from notify.tickets where status not in ('resolved', 'closed');\n\
    select count(*) from notify.deliveries where status = 'parked';\n\
    select count(*) from bus.delivery where status = 'parked';\n";

/// Before measuring, what a user would check: the list's total is the
/// number of orders loaded, and a page deep in the list holds exactly the
/// rows at that position.
async fn check_totals_and_deep_page(
    edge: &Channel,
    cookie: &str,
    database_url: &str,
    orders: i64,
) -> anyhow::Result<()> {
    let size = 100u32;
    let page = u32::try_from((orders / i64::from(size)) * 3 / 4)?.max(1);
    let listed = OrderServiceClient::new(edge.clone())
        .list_orders(with_cookie(
            ListOrdersRequest { pagination: Some(PageRequest { page, page_size: size }), ..Default::default() },
            cookie,
        ))
        .await?
        .into_inner();
    let total = listed.meta.context("no paging metadata")?.total;
    anyhow::ensure!(total == u64::try_from(orders)?, "ListOrders says {total} orders, {orders} were loaded");
    let mut connection = PgConnection::connect(database_url).await?;
    let expected: Vec<Uuid> =
        sqlx::query_scalar("select id from orders.orders order by created_at desc, id desc limit $1 offset $2")
            .bind(i64::from(size))
            .bind(i64::from(page - 1) * i64::from(size))
            .fetch_all(&mut connection)
            .await?;
    connection.close().await?;
    let got: Vec<Uuid> = listed.orders.iter().map(|order| Uuid::parse_str(&order.id)).collect::<Result<_, _>>()?;
    anyhow::ensure!(got == expected, "page {page} of ListOrders is not the rows at that position");
    Ok(())
}

/// The statements one CreateOrder paid from the balance runs, in the same
/// transactions, as the services run them (taken from PostgreSQL's
/// statement log): the API key (identity), the product (catalog), the
/// customer (identity), the provider's interface twice (plugins: template
/// and price), the order (orders), the payment with its debit, ledger row,
/// operation log and event (payments), the order's gateway and the order
/// read back (orders). The event's type has no subscriber, so nothing
/// consumes these orders; they stay pending.
const CREATE_ORDER_SQL: &str = "\\set c random(0, :customers - 1)\n\
    select k.id, k.customer_id, k.enabled, k.revoked_at, k.expires_at, k.last_used_at, c.is_active from identity.api_keys k\n\
      join identity.customers c on c.id = k.customer_id where k.customer_id = (select id from public.bench_customers where n = :c) limit 1;\n\
    select p.id, p.name, p.interface_id from catalog.products p order by p.created_at limit 1 \\gset p_\n\
    select id, name, email, credit_limit, is_active from identity.customers where id = (select id from public.bench_customers where n = :c) \\gset c_\n\
    select id, config, script_hash, enabled from plugins.plugin_interfaces where id = ':p_interface_id';\n\
    select id, config, script_hash, enabled from plugins.plugin_interfaces where id = ':p_interface_id';\n\
    begin;\n\
    insert into orders.orders (id, customer_id, product_id, product_name, provider_interface_id, amount, currency, billing_cycle,\n\
      gateway_interface_id, instance_id, customer_email)\n\
      values (gen_random_uuid(), ':c_id', ':p_id', ':p_name', ':p_interface_id', 10.00, 'CNY', 'monthly', '', gen_random_uuid(), ':c_email')\n\
      returning id as order_id \\gset\n\
    commit;\n\
    begin;\n\
    insert into payments.payments (id, customer_id, purpose, order_id, amount, currency, gateway_interface_id, description)\n\
      values (gen_random_uuid(), ':c_id', 'order', ':order_id', 10.00, 'CNY', 'balance', ':p_name') returning id as payment_id \\gset\n\
    select balance from payments.balance_accounts where customer_id = ':c_id' for update;\n\
    insert into payments.balance_transactions (id, customer_id, amount, balance_before, balance_after, transaction_type, reference_id, description)\n\
      select gen_random_uuid(), customer_id, -10.00, balance, balance - 10.00, 'payment', ':payment_id', 'order' from payments.balance_accounts\n\
      where customer_id = ':c_id';\n\
    update payments.balance_accounts set balance = balance - 10.00, updated_at = now() where customer_id = ':c_id';\n\
    update payments.payments set status = 'success', paid_at = now(), updated_at = now() where customer_id = ':c_id' and id = ':payment_id';\n\
    insert into payments.operation_logs (id, actor_kind, actor_label, action, target_type, target_id)\n\
      values (gen_random_uuid(), 'api_key', 'pgbench', 'payment.balance', 'payment', ':payment_id');\n\
    select pg_advisory_xact_lock(hashtext('order'), hashtext(':order_id'));\n\
    insert into bus.event_queue (id, event_type, aggregate_id, customer_id, payload, source)\n\
      values (gen_random_uuid(), 'bench.pgbench', ':order_id', ':c_id', '{}', 'pgbench');\n\
    commit;\n\
    update orders.orders set gateway_interface_id = 'balance', updated_at = now()\n\
      where customer_id = ':c_id' and id = ':order_id' and status = 'pending';\n\
    select * from orders.orders where id = ':order_id';\n";

/// The statements a gateway's payment notification runs (from PostgreSQL's
/// statement log): the gateway interface and the plugin's state
/// (signature check), then in one transaction the payment locked and
/// marked paid, and its event (the order follows in the pipeline); against
/// the payment of a random paid order of a random customer, writing the
/// values it already has, so the data stays as it was.
const CALLBACK_SQL: &str = "\\set c random(0, :customers - 1)\n\
    \\set k random(0, 99)\n\
    select id, config, script_hash, enabled from plugins.plugin_interfaces where plugin_id = 'yipay' limit 1 \\gset g_\n\
    select value from plugins.plugin_state where interface_id = ':g_id' limit 1;\n\
    select id as order_id, customer_id as c_id, payment_id from orders.orders\n\
      where customer_id = (select id from public.bench_customers where n = :c) and status = 'active'\n\
      order by created_at desc, id desc limit 1 offset :k \\gset\n\
    begin;\n\
    select id, status, amount from payments.payments where customer_id = ':c_id' and id = ':payment_id' for update;\n\
    update payments.payments set status = status, gateway_tx_id = gateway_tx_id, paid_at = paid_at, updated_at = now()\n\
      where customer_id = ':c_id' and id = ':payment_id';\n\
    select pg_advisory_xact_lock(hashtext('order'), hashtext(':order_id'));\n\
    insert into bus.event_queue (id, event_type, aggregate_id, customer_id, payload, source)\n\
      values (gen_random_uuid(), 'bench.pgbench', ':order_id', ':c_id', '{}', 'pgbench');\n\
    commit;\n";

/// Calls made by one caller alone, for the latency without queueing.
fn single_calls(calls: usize) -> usize {
    (calls / 4).max(10)
}

/// `call` measured twice: by one caller alone (the latency the spec's
/// figures describe), then by `concurrency` callers (throughput, and the
/// latency under load).
async fn measure_both<F, Fut>(name: &str, calls: usize, concurrency: usize, call: F) -> anyhow::Result<(Stats, Stats)>
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let single = measure(&format!("{name} (1 caller)"), single_calls(calls), 1, call.clone()).await?;
    single.print();
    let loaded = measure(&format!("{name} ({concurrency} callers)"), calls, concurrency, call).await?;
    Ok((single, loaded))
}

fn row(operation: &'static str, spec_ms: f64, single: &Stats, stats: &Stats, pgbench: Option<(f64, f64, f64)>) -> Row {
    stats.print();
    Row {
        operation,
        spec_ms,
        single_p50_ms: single.percentile(0.50).as_secs_f64() * 1e3,
        edge_p50_ms: stats.percentile(0.50).as_secs_f64() * 1e3,
        edge_p99_ms: stats.percentile(0.99).as_secs_f64() * 1e3,
        edge_per_sec: stats.samples.len() as f64 / stats.wall.as_secs_f64(),
        calls: stats.samples.len(),
        pgbench,
    }
}

/// The notification epay sends when the payment behind `payment_url` (the
/// page the gateway plugin signed) is paid, as a signed query string.
fn epay_notification(payment_url: &str, trade_no: &str) -> anyhow::Result<String> {
    use md5::{Digest, Md5};
    let query = payment_url.split_once('?').map(|(_, query)| query).context("payment URL without a query")?;
    let sent: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let field = |name: &str| sent.get(name).cloned().with_context(|| format!("payment URL without {name}"));
    let mut fields = BTreeMap::new();
    fields.insert("pid".to_string(), EPAY_PID.to_string());
    fields.insert("trade_no".to_string(), trade_no.to_string());
    fields.insert("out_trade_no".to_string(), field("out_trade_no")?);
    fields.insert("type".to_string(), field("type")?);
    fields.insert("name".to_string(), field("name")?);
    fields.insert("money".to_string(), field("money")?);
    fields.insert("trade_status".to_string(), "TRADE_SUCCESS".to_string());
    // epay's MD5 signature: non-empty fields sorted by name, `k=v&…`, the
    // key appended.
    let text: Vec<String> =
        fields.iter().filter(|(_, value)| !value.is_empty()).map(|(name, value)| format!("{name}={value}")).collect();
    let sign = hex::encode(Md5::digest(format!("{}{EPAY_KEY}", text.join("&")).as_bytes()));
    fields.insert("sign".to_string(), sign);
    fields.insert("sign_type".to_string(), "MD5".to_string());
    Ok(form_urlencoded::Serializer::new(String::new()).extend_pairs(fields.iter()).finish())
}

/// `message` with a customer's API key.
fn bearer<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {key}").parse().expect("ascii key"));
    request
}

/// Waits until no order is between paid and active.
async fn wait_active(pool: &sqlx::PgPool, timeout: Duration) -> anyhow::Result<()> {
    let began = Instant::now();
    loop {
        let open: i64 =
            sqlx::query_scalar("select count(*) from orders.orders where status in ('paid', 'provisioning')")
                .fetch_one(pool)
                .await?;
        if open == 0 {
            return Ok(());
        }
        anyhow::ensure!(began.elapsed() < timeout, "{open} orders still on their way to active");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Loads `orders` orders spread over `customers` (newest last, one every 30
/// s back from now): 90% active with their payment and running instance,
/// 5% pending, 5% cancelled; one order in ten (all active) also has a paid
/// renewal invoice (one item, its own payment). Streams CSV through `COPY`
/// and returns the rows per table.
pub async fn generate(
    database_url: &str,
    orders: usize,
    customers: &[Uuid],
    product: Uuid,
    interface: Uuid,
) -> anyhow::Result<BTreeMap<String, i64>> {
    const CHUNK: usize = 1 << 20;
    let mut connection = PgConnection::connect(database_url).await?;
    let now = Utc::now();
    let mut order_rows = String::new();
    let mut payment_rows = String::new();
    let mut instance_rows = String::new();
    let mut invoice_rows = String::new();
    let mut item_rows = String::new();
    let mut numbers: BTreeMap<i32, i64> = BTreeMap::new();

    let mut orders_copy = connection
        .copy_in_raw(
            "copy orders.orders (id, customer_id, product_id, product_name, provider_interface_id, provider_instance_id,
                                 status, amount, currency, billing_cycle, gateway_interface_id, payment_id, paid_amount,
                                 instance_id, paid_at, created_at, updated_at, period_start, period_end)
             from stdin with (format csv)",
        )
        .await?;
    // The other tables are written after the orders' COPY ends (one COPY
    // per connection at a time); their rows are kept meanwhile.
    for index in 0..orders {
        let customer = customers[index % customers.len()];
        let created = now - chrono::Duration::seconds(30 * i64::try_from(orders - index)?);
        let created_text = created.to_rfc3339();
        let order = Uuid::now_v7();
        let instance = Uuid::now_v7();
        let status = match index % 20 {
            0 => "cancelled",
            1 => "pending",
            _ => "active",
        };
        let active = status == "active";
        let payment = active.then(Uuid::now_v7);
        let period_end = created + chrono::Duration::days(30);
        let _ = writeln!(
            order_rows,
            "{order},{customer},{product},Bench VPS,{interface},\"{}\",{status},10.00,CNY,monthly,\"{}\",{},{},{instance},{},{created_text},{created_text},{},{}",
            if active { format!("bench-{index}") } else { String::new() },
            if active { "bench-import" } else { "" },
            payment.map(|id| id.to_string()).unwrap_or_default(),
            if active { "10.00" } else { "0" },
            if active { created_text.as_str() } else { "" },
            if active { created_text.as_str() } else { "" },
            if active { period_end.to_rfc3339() } else { String::new() },
        );
        if let Some(payment) = payment {
            let _ = writeln!(
                payment_rows,
                "{payment},{customer},order,{order},,10.00,CNY,bench-import,tx-{payment},success,{created_text},{created_text},{created_text}"
            );
            let _ = writeln!(
                instance_rows,
                "{instance},{customer},{order},{product},Bench VPS,{interface},bench-{index},running,10.0.{}.{},{created_text},{created_text}",
                (index / 250) % 250,
                index % 250 + 1,
            );
            if index % 10 == 2 {
                let invoice = Uuid::now_v7();
                let invoice_payment = Uuid::now_v7();
                let year = created.year();
                let number = numbers.entry(year).or_insert(0);
                *number += 1;
                let start = created.date_naive();
                let end = period_end.date_naive();
                let _ = writeln!(
                    invoice_rows,
                    "{invoice},{customer},INV-{year}-{number:06},renewal,paid,{start},{end},10.00,0,10.00,CNY,{start},{created_text},{created_text},{invoice_payment},{created_text},{created_text}"
                );
                let _ = writeln!(
                    item_rows,
                    "{},{customer},{invoice},1,Bench VPS renewal,1,10.00,10.00,{order},{created_text},{}",
                    Uuid::now_v7(),
                    period_end.to_rfc3339()
                );
                let _ = writeln!(
                    payment_rows,
                    "{invoice_payment},{customer},invoice,,{invoice},10.00,CNY,bench-import,tx-{invoice_payment},success,{created_text},{created_text},{created_text}"
                );
            }
        }
        if order_rows.len() >= CHUNK {
            orders_copy.send(std::mem::take(&mut order_rows).into_bytes()).await?;
        }
    }
    orders_copy.send(order_rows.into_bytes()).await?;
    orders_copy.finish().await?;

    for (statement, rows) in [
        (
            "copy payments.payments (id, customer_id, purpose, order_id, invoice_id, amount, currency, gateway_interface_id,
                                     gateway_tx_id, status, paid_at, created_at, updated_at)
             from stdin with (format csv)",
            payment_rows,
        ),
        (
            "copy orders.instances (id, customer_id, order_id, product_id, product_name, provider_interface_id,
                                    provider_instance_id, status, ip_address, created_at, updated_at)
             from stdin with (format csv)",
            instance_rows,
        ),
        (
            "copy orders.invoices (id, customer_id, invoice_number, kind, status, billing_period_start, billing_period_end,
                                   amount, tax_amount, total_amount, currency, due_date, issued_at, paid_at, payment_id,
                                   created_at, updated_at)
             from stdin with (format csv)",
            invoice_rows,
        ),
        (
            "copy orders.invoice_items (id, customer_id, invoice_id, position, description, quantity, unit_price, amount,
                                        order_id, period_start, period_end)
             from stdin with (format csv)",
            item_rows,
        ),
    ] {
        let mut copy = connection.copy_in_raw(statement).await?;
        let bytes = rows.into_bytes();
        for chunk in bytes.chunks(CHUNK) {
            copy.send(chunk).await?;
        }
        copy.finish().await?;
    }
    // Keep invoice numbers gapless: the last number given per year.
    for (year, last) in &numbers {
        sqlx::query(
            "insert into orders.invoice_numbers (year, last) values ($1, $2)
             on conflict (year) do update set last = greatest(orders.invoice_numbers.last, excluded.last)",
        )
        .bind(year)
        .bind(last)
        .execute(&mut connection)
        .await?;
    }
    // pgbench picks customers by number.
    sqlx::query("create table if not exists public.bench_customers (n integer primary key, id uuid not null)")
        .execute(&mut connection)
        .await?;
    for (index, customer) in customers.iter().enumerate() {
        sqlx::query("insert into public.bench_customers (n, id) values ($1, $2) on conflict (n) do update set id = $2")
            .bind(i32::try_from(index)?)
            .bind(customer)
            .execute(&mut connection)
            .await?;
    }
    // What autovacuum does to freshly loaded tables soon after: statistics,
    // and the visibility map that lets index-only scans skip the heap.
    sqlx::query(
        "vacuum (analyze) orders.orders, orders.instances, orders.invoices, orders.invoice_items, payments.payments,
                          orders.status_count_deltas",
    )
    .execute(&mut connection)
    .await?;
    sqlx::query("select orders.fold_counters(), payments.fold_counters()").execute(&mut connection).await?;
    sqlx::query("analyze").execute(&mut connection).await?;
    let mut loaded = BTreeMap::new();
    for table in ["orders.orders", "payments.payments", "orders.instances", "orders.invoices", "orders.invoice_items"] {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
            .fetch_one(&mut connection)
            .await?;
        loaded.insert(table.to_string(), count);
    }
    connection.close().await?;
    Ok(loaded)
}

/// The system's `pgbench`, if any.
struct Pgbench(Option<std::path::PathBuf>);

impl Pgbench {
    fn find() -> Self {
        let on_path = std::env::var_os("PATH").map(|path| {
            std::env::split_paths(&path).map(|dir| dir.join("pgbench")).find(|candidate| candidate.is_file())
        });
        let found = on_path.flatten().or_else(|| {
            let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .flatten()
                .map(|entry| entry.path().join("bin/pgbench"))
                .filter(|candidate| candidate.is_file())
                .collect();
            versions.sort();
            versions.pop()
        });
        Self(found)
    }

    /// Runs `script` for the configured time with the configured clients
    /// and returns p50, p99 (ms) and transactions per second, from the
    /// per-transaction log.
    async fn run(
        &self,
        database_url: &str,
        script: &str,
        settings: &Settings,
    ) -> anyhow::Result<Option<(f64, f64, f64)>> {
        let Some(pgbench) = &self.0 else { return Ok(None) };
        let directory = tempfile::tempdir()?;
        let file = directory.path().join("script.sql");
        std::fs::write(&file, script)?;
        let output = tokio::process::Command::new(pgbench)
            .current_dir(directory.path())
            .args(["-n", "-l", "-D"])
            .arg(format!("customers={}", settings.customers))
            .args(["-c", &settings.concurrency.to_string(), "-j", "2", "-T", &settings.pgbench_secs.max(1).to_string()])
            .arg("-f")
            .arg(&file)
            .arg(libpq_url(database_url))
            .output()
            .await?;
        anyhow::ensure!(output.status.success(), "pgbench failed: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8_lossy(&output.stdout);
        let tps = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("tps = "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse::<f64>().ok())
            .context("no tps in pgbench's output")?;
        Ok(Some(pgbench_percentiles(directory.path()).map(|(p50, p99)| (p50, p99, tps))?))
    }
}

/// `url` with only the query parameters libpq knows (sqlx adds its own,
/// such as `statement-cache-capacity`, which libpq refuses).
fn libpq_url(url: &str) -> String {
    const LIBPQ: [&str; 9] =
        ["host", "hostaddr", "port", "dbname", "user", "password", "sslmode", "options", "application_name"];
    let Some((base, query)) = url.split_once('?') else { return url.to_string() };
    let kept: Vec<&str> =
        query.split('&').filter(|pair| LIBPQ.contains(&pair.split_once('=').map_or(*pair, |(key, _)| key))).collect();
    if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) }
}

/// p50 and p99 (ms) from pgbench's per-transaction logs in `directory`
/// (`client_id transaction_no time_us script_no time_epoch time_us`).
fn pgbench_percentiles(directory: &Path) -> anyhow::Result<(f64, f64)> {
    let mut samples = Vec::new();
    for entry in std::fs::read_dir(directory)? {
        let path = entry?.path();
        if !path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("pgbench_log")) {
            continue;
        }
        for line in std::fs::read_to_string(&path)?.lines() {
            if let Some(micros) = line.split_whitespace().nth(2).and_then(|field| field.parse::<u64>().ok()) {
                samples.push(Duration::from_micros(micros));
            }
        }
    }
    anyhow::ensure!(!samples.is_empty(), "pgbench wrote no transaction log");
    Ok((percentile(&samples, 0.50).as_secs_f64() * 1e3, percentile(&samples, 0.99).as_secs_f64() * 1e3))
}

/// CPU model, cores, memory and PostgreSQL version of this machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|line| {
                line.strip_prefix("model name").map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|count| count.get()).unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|line| line.strip_prefix("MemTotal:").map(|rest| rest.trim().to_string()))
        })
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {memory} memory")
}
