//! `instance list`: provisioned servers with their order and provider.

use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use crate::commands::{parse_id, time};
use crate::context::{CliResult, Context};
use crate::output::Listing;

const STATUSES: &[&str] = &["provisioning", "running", "stopped", "suspended", "terminated", "error"];

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Lists instances (newest first).
    List {
        #[arg(long)]
        status: Option<String>,
        /// Only this customer's instances (id).
        #[arg(long)]
        customer: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

type InstanceRow = (Uuid, Uuid, Uuid, String, String, String, String, chrono::DateTime<chrono::Utc>);

pub async fn run(context: &Context, command: InstanceCommand) -> CliResult {
    let InstanceCommand::List { status, customer, limit } = command;
    listing(context, status, customer, limit).await?.print(context.format);
    Ok(())
}

/// Instances, newest first (the `instance list` rows; also the TUI's tab).
pub async fn listing(
    context: &Context,
    status: Option<String>,
    customer: Option<String>,
    limit: i64,
) -> CliResult<Listing> {
    crate::commands::check_status(status.as_deref(), STATUSES)?;
    crate::commands::check_limit(limit)?;
    let customer = customer.map(|id| parse_id("customer", &id)).transpose()?;
    let rows: Vec<InstanceRow> = sqlx::query_as(
        "select id, customer_id, order_id, product_name, provider_instance_id, status, ip_address, created_at
         from orders.instances
         where ($1::text is null or status = $1) and ($2::uuid is null or customer_id = $2)
         order by created_at desc, id desc limit $3",
    )
    .bind(status)
    .bind(customer)
    .bind(limit)
    .fetch_all(&context.pool)
    .await?;
    let mut listing = Listing::new(&[
        "id",
        "customer_id",
        "order_id",
        "product",
        "provider_instance_id",
        "status",
        "ip_address",
        "created_at",
    ]);
    for (id, customer_id, order_id, product, provider_id, status, ip, created) in rows {
        listing.row(vec![
            json!(id),
            json!(customer_id),
            json!(order_id),
            json!(product),
            json!(provider_id),
            json!(status),
            json!(ip),
            time(Some(created)),
        ]);
    }
    Ok(listing)
}
