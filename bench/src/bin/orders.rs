//! `make bench` (orders part): the order pipeline through the edge.
//!
//! - CreateOrder paid from the balance (an admin orders for a customer):
//!   catalog price, provider spec template and quote, the order row, the
//!   balance payment with its ledger row and event;
//! - end to end: from the first order created to the last one active
//!   (payment event → paid → provisioning through the provider plugin →
//!   instance → active), as orders per second;
//! - the same run's baseline: GetOrder through the edge (one indexed read);
//! - GenerateInvoices over `BENCH_SERVICES` (10,000) active services of
//!   1,000 customers renewing in the period, against the same rows selected
//!   and locked by one SQL statement.
//!
//! Environment: `BENCH_ORDERS` (default 1000), `BENCH_CONCURRENCY` (8).
//! Uses `DATABASE_URL` or a throwaway PostgreSQL from the system's binaries.

use std::time::{Duration, Instant};

use rustbill_bench::{admin_session, enabled_interface, env_number, measure, server_config, with_cookie};
use rustbill_proto::balance::AdjustBalanceRequest;
use rustbill_proto::balance::balance_service_client::BalanceServiceClient;
use rustbill_proto::customer::CreateCustomerRequest;
use rustbill_proto::customer::customer_service_client::CustomerServiceClient;
use rustbill_proto::order::order_service_client::OrderServiceClient;
use rustbill_proto::order::{CreateOrderRequest, GetOrderRequest, ServerSpec};
use rustbill_proto::product::CreateProductRequest;
use rustbill_proto::product::product_service_client::ProductServiceClient;
use rustbill_shared::testkit::TestDb;
use tonic::transport::Channel;

const PROVIDER: &str = include_str!("../../../tests/fixtures/plugins/provider-demo.rn");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let orders = env_number("BENCH_ORDERS", 1000);
    let concurrency = env_number("BENCH_CONCURRENCY", 8).max(1);

    let plugins = tempfile::tempdir()?;
    std::fs::write(plugins.path().join("provider-demo.rn"), PROVIDER)?;
    let database = TestDb::new().await?;
    let server = rustbill_server::Server::start(server_config(database.url(), Some(plugins.path()))).await?;
    let edge = Channel::from_shared(format!("http://{}", server.edge_addr))?.connect().await?;
    let (cookie, _) = admin_session(&edge).await?;

    // A provider interface, a product, a customer with money.
    let interface =
        enabled_interface(&edge, &cookie, "demo", "Bench", r#"{"api_url":"https://bench.example"}"#).await?;
    let product = ProductServiceClient::new(edge.clone())
        .create_product(with_cookie(
            CreateProductRequest {
                name: "Bench VPS".into(),
                price_per_month: "10.00".into(),
                interface_id: interface,
                ..Default::default()
            },
            &cookie,
        ))
        .await?
        .into_inner()
        .product
        .ok_or_else(|| anyhow::anyhow!("no product"))?
        .id;
    let customer = CustomerServiceClient::new(edge.clone())
        .create_customer(with_cookie(
            CreateCustomerRequest { name: "Bench Ltd".into(), email: "bench@example.com".into(), ..Default::default() },
            &cookie,
        ))
        .await?
        .into_inner()
        .customer
        .ok_or_else(|| anyhow::anyhow!("no customer"))?
        .id;
    BalanceServiceClient::new(edge.clone())
        .adjust_balance(with_cookie(
            AdjustBalanceRequest {
                customer_id: customer.clone(),
                amount: "9000000.00".into(),
                description: "bench".into(),
            },
            &cookie,
        ))
        .await?;

    let request = CreateOrderRequest {
        customer_id: customer,
        product_id: product,
        gateway_interface_id: "balance".into(),
        server_spec: Some(ServerSpec {
            extra_specs: [("os".to_string(), "debian-12".to_string())].into_iter().collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let first = OrderServiceClient::new(edge.clone())
        .create_order(with_cookie(request.clone(), &cookie))
        .await?
        .into_inner()
        .order
        .ok_or_else(|| anyhow::anyhow!("no order"))?
        .id;

    println!("rustbill-bench orders: orders={orders} concurrency={concurrency}");
    let (channel, auth) = (edge.clone(), cookie.clone());
    let baseline = measure("GetOrder through the edge (baseline)", orders.min(3000) * 3, concurrency, move |_| {
        let mut client = OrderServiceClient::new(channel.clone());
        let request = with_cookie(GetOrderRequest { id: first.clone() }, &auth);
        async move {
            client.get_order(request).await?;
            Ok(())
        }
    })
    .await?;
    baseline.print();

    let (channel, auth) = (edge.clone(), cookie.clone());
    let started = Instant::now();
    let created = measure("CreateOrder paid from the balance", orders, concurrency, move |_| {
        let mut client = OrderServiceClient::new(channel.clone());
        let request = with_cookie(request.clone(), &auth);
        async move {
            client.create_order(request).await?;
            Ok(())
        }
    })
    .await?;
    created.print();

    // Until every order is active: the pipeline's sustained rate.
    let pool = database.pool().await?;
    // The measured orders, the warm-up ones and the first.
    let expected = i64::try_from(orders + concurrency.min(orders) + 1)?;
    loop {
        let active: i64 =
            sqlx::query_scalar("select count(*) from orders.orders where status = 'active'").fetch_one(&pool).await?;
        if active >= expected {
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "only {active} of {expected} orders active");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let end_to_end = started.elapsed();
    println!(
        "{:<40} n={:<6} {:>9.1} orders/s (created → paid → provisioned → active, {:.2} s)",
        "pipeline end to end",
        orders,
        orders as f64 / end_to_end.as_secs_f64(),
        end_to_end.as_secs_f64()
    );
    let (sum, balance): (rust_decimal::Decimal, rust_decimal::Decimal) = sqlx::query_as(
        "select (select sum(amount) from payments.balance_transactions), (select sum(balance) from payments.balance_accounts)",
    )
    .fetch_one(&pool)
    .await?;
    anyhow::ensure!(sum == balance, "the ledger ({sum}) does not sum to the balance ({balance})");

    // GenerateInvoices over `BENCH_SERVICES` active services (default
    // 10,000) of 1,000 customers, all renewing in the period; baseline: the
    // same rows read by one SQL statement.
    let services = env_number("BENCH_SERVICES", 10_000);
    sqlx::query(
        "insert into orders.orders (id, customer_id, product_id, product_name, provider_interface_id, server_spec,
                                    status, amount, currency, billing_cycle, instance_id, customer_email,
                                    period_start, period_end)
         select gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad((n % 1000)::text, 12, '0'))::uuid,
                gen_random_uuid(), 'Bench VPS', gen_random_uuid(), '{}'::jsonb, 'active', 10.00, 'CNY', 'monthly',
                gen_random_uuid(), '', now() - interval '20 days', now() + interval '10 days' + (n % 7) * interval '1 hour'
         from generate_series(1, $1::int) as n",
    )
    .bind(i32::try_from(services)?)
    .execute(&pool)
    .await?;
    sqlx::query("analyze orders.orders").execute(&pool).await?;
    let today = chrono::Utc::now().date_naive();
    let (start, end) = (today + chrono::Duration::days(5), today + chrono::Duration::days(15));
    let begin = Instant::now();
    let rows: i64 = sqlx::query_scalar(
        "select count(*) from (select o.id from orders.orders o
          where o.status = 'active' and o.period_end >= $1::date and o.period_end < $2::date + 1
            and not exists (select 1 from orders.invoice_items i
                            where i.customer_id = o.customer_id and i.order_id = o.id and i.period_start = o.period_end)
          for update) locked",
    )
    .bind(start)
    .bind(end)
    .fetch_one(&pool)
    .await?;
    let baseline = begin.elapsed();
    let begin = Instant::now();
    let generated = rustbill_proto::billing::billing_service_client::BillingServiceClient::new(edge.clone())
        .generate_invoices(with_cookie(
            rustbill_proto::billing::GenerateInvoicesRequest {
                billing_period_start: start.to_string(),
                billing_period_end: end.to_string(),
            },
            &cookie,
        ))
        .await?
        .into_inner()
        .generated_count;
    let took = begin.elapsed();
    let items: i64 = sqlx::query_scalar("select count(*) from orders.invoice_items").fetch_one(&pool).await?;
    println!(
        "{:<40} services={services} invoices={generated} items={items}: {:.2} s, {:.0} invoices/s, {:.0} services/s",
        "GenerateInvoices",
        took.as_secs_f64(),
        f64::from(generated) / took.as_secs_f64(),
        items as f64 / took.as_secs_f64(),
    );
    println!(
        "{:<40} {rows} rows selected and locked by one statement: {:.3} s (the floor)",
        "  baseline",
        baseline.as_secs_f64()
    );
    pool.close().await;
    server.run_until(async {}).await?;
    Ok(())
}
