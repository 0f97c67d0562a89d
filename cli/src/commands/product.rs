//! `product list`: the catalog with group, provider interface and prices.

use clap::Subcommand;
use rust_decimal::Decimal;
use rustbill_shared::Money;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::commands::time;
use crate::context::{CliResult, Context};
use crate::output::Listing;

#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Lists products (newest first).
    List {
        /// Only products on sale.
        #[arg(long)]
        active: bool,
        /// Only products whose name contains this.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

type ProductRow = (Uuid, String, Option<String>, Uuid, Decimal, Value, bool, chrono::DateTime<chrono::Utc>);

pub async fn run(context: &Context, command: ProductCommand) -> CliResult {
    let ProductCommand::List { active, search, limit } = command;
    listing(context, active, search, limit).await?.print(context.format);
    Ok(())
}

/// Products, newest first (the `product list` rows; also the TUI's tab).
pub async fn listing(context: &Context, active: bool, search: Option<String>, limit: i64) -> CliResult<Listing> {
    crate::commands::check_limit(limit)?;
    let pattern = crate::commands::like_pattern(search.as_deref());
    let rows: Vec<ProductRow> = sqlx::query_as(
        "select p.id, p.name, g.name, p.interface_id, p.price_per_month, p.billing_cycles, p.is_active, p.created_at
         from catalog.products p left join catalog.product_groups g on g.id = p.group_id
         where (not $1 or p.is_active) and ($2::text is null or p.name ilike $2)
         order by p.created_at desc, p.id desc limit $3",
    )
    .bind(active)
    .bind(pattern)
    .bind(limit)
    .fetch_all(&context.pool)
    .await?;
    let mut listing = Listing::new(&[
        "id",
        "name",
        "group",
        "interface_id",
        "price_per_month",
        "billing_cycles",
        "active",
        "created_at",
    ]);
    for (id, name, group, interface, price, cycles, is_active, created) in rows {
        let cycles = cycles
            .as_object()
            .map(|cycles| {
                cycles
                    .iter()
                    .map(|(cycle, price)| format!("{cycle}={}", crate::output::text(price)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        listing.row(vec![
            json!(id),
            json!(name),
            json!(group.unwrap_or_default()),
            json!(interface),
            json!(Money::from_decimal(price).to_string()),
            json!(cycles),
            json!(is_active),
            time(Some(created)),
        ]);
    }
    Ok(listing)
}
