//! `order list|show`: orders with their status, payment and instance.

use clap::Subcommand;
use rust_decimal::Decimal;
use rustbill_shared::Money;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::commands::{parse_id, time};
use crate::context::{CliResult, Context, input};
use crate::output::{Listing, print_record};

const STATUSES: &[&str] =
    &["pending", "paid", "provisioning", "active", "suspended", "cancelled", "refunded", "completed", "terminated"];

#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Lists orders (newest first).
    List {
        /// Only orders in this status.
        #[arg(long)]
        status: Option<String>,
        /// Only this customer's orders (id).
        #[arg(long)]
        customer: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// One order with its payments and instance.
    Show { order: String },
}

pub async fn run(context: &Context, command: OrderCommand) -> CliResult {
    match command {
        OrderCommand::List { status, customer, limit } => {
            list(context, status.as_deref(), customer.as_deref(), limit).await
        }
        OrderCommand::Show { order } => show(context, &order).await,
    }
}

type PaymentRow = (Uuid, String, Decimal, String, Decimal, Option<chrono::DateTime<chrono::Utc>>);
type OrderRow = (Uuid, Uuid, String, String, Decimal, String, String, String, chrono::DateTime<chrono::Utc>);

async fn list(context: &Context, status: Option<&str>, customer: Option<&str>, limit: i64) -> CliResult {
    crate::commands::check_status(status, STATUSES)?;
    crate::commands::check_limit(limit)?;
    let customer = customer.map(|id| parse_id("customer", id)).transpose()?;
    let rows: Vec<OrderRow> = sqlx::query_as(
        "select id, customer_id, product_name, status, amount, currency, billing_cycle, gateway_interface_id, created_at
         from orders.orders
         where ($1::text is null or status = $1) and ($2::uuid is null or customer_id = $2)
         order by created_at desc, id desc limit $3",
    )
    .bind(status)
    .bind(customer)
    .bind(limit)
    .fetch_all(&context.pool)
    .await?;
    let mut listing =
        Listing::new(&["id", "customer_id", "product", "status", "amount", "billing_cycle", "gateway", "created_at"]);
    for (id, customer_id, product, status, amount, currency, cycle, gateway, created) in rows {
        listing.row(vec![
            json!(id),
            json!(customer_id),
            json!(product),
            json!(status),
            json!(format!("{} {currency}", Money::from_decimal(amount))),
            json!(cycle),
            json!(gateway),
            time(Some(created)),
        ]);
    }
    listing.print(context.format);
    Ok(())
}

async fn show(context: &Context, order: &str) -> CliResult {
    let id = parse_id("order", order)?;
    let row: Option<(Value,)> = sqlx::query_as(
        "select jsonb_build_object(
                 'id', o.id, 'customer_id', o.customer_id, 'customer_email', o.customer_email,
                 'product_id', o.product_id, 'product_name', o.product_name, 'status', o.status,
                 'amount', o.amount::text, 'paid_amount', o.paid_amount::text, 'currency', o.currency,
                 'billing_cycle', o.billing_cycle, 'gateway', o.gateway_interface_id,
                 'provider_interface_id', o.provider_interface_id, 'server_spec', o.server_spec,
                 'notes', o.notes, 'cancel_reason', o.cancel_reason, 'paid_at', o.paid_at,
                 'created_at', o.created_at, 'updated_at', o.updated_at)
         from orders.orders o where o.id = $1",
    )
    .bind(id)
    .fetch_optional(&context.pool)
    .await?;
    let Some((mut record,)) = row else {
        return Err(input(format!("no order {id} (see `rustbill-cli order list`)")));
    };
    let payments: Vec<PaymentRow> = sqlx::query_as(
        "select id, gateway_interface_id, amount, status, refunded_amount, paid_at
         from payments.payments where order_id = $1 order by created_at",
    )
    .bind(id)
    .fetch_all(&context.pool)
    .await?;
    let instance: Option<(Uuid, String, String, String)> =
        sqlx::query_as("select id, provider_instance_id, status, ip_address from orders.instances where order_id = $1")
            .bind(id)
            .fetch_optional(&context.pool)
            .await?;
    record["payments"] = json!(
        payments
            .iter()
            .map(|(id, gateway, amount, status, refunded, paid)| json!({
                "id": id,
                "gateway": gateway,
                "amount": Money::from_decimal(*amount).to_string(),
                "status": status,
                "refunded": Money::from_decimal(*refunded).to_string(),
                "paid_at": time(*paid),
            }))
            .collect::<Vec<_>>()
    );
    record["instance"] = instance.map_or(Value::Null, |(id, provider_id, status, ip)| {
        json!({ "id": id, "provider_instance_id": provider_id, "status": status, "ip_address": ip })
    });
    print_record(context.format, &record);
    Ok(())
}
