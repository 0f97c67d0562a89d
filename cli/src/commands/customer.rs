//! `customer list|show|adjust-balance`: customers from identity's schema
//! with their balance from payments'; adjustments go through the payments
//! service's own rules (ledger entry with the credit-limit floor, operation
//! log, `payments.balance_adjusted` event) in one transaction.

use clap::Subcommand;
use rust_decimal::Decimal;
use rustbill_payments::balance_service::{adjust_balance, check_adjustment};
use rustbill_shared::Money;
use serde_json::json;
use uuid::Uuid;

use crate::commands::time;
use crate::context::{CliResult, Context, input};
use crate::output::{Listing, done, print_record};

#[derive(Debug, Subcommand)]
pub enum CustomerCommand {
    /// Lists customers with their balance.
    List {
        /// Only customers whose name or e-mail contains this.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// One customer: details, users, balance and the latest ledger entries.
    Show { customer: String },
    /// Credits (positive) or debits (negative) a customer's balance.
    AdjustBalance {
        customer: String,
        /// Signed amount, e.g. 50.00 or -12.5.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// Why the balance changes (kept in the ledger).
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(context: &Context, command: CustomerCommand) -> CliResult {
    match command {
        CustomerCommand::List { search, limit } => {
            listing(context, search.as_deref(), limit).await?.print(context.format);
            Ok(())
        }
        CustomerCommand::Show { customer } => show(context, &customer).await,
        CustomerCommand::AdjustBalance { customer, amount, reason } => {
            adjust(context, &customer, &amount, &reason).await
        }
    }
}

type CustomerRow = (Uuid, String, String, String, Decimal, bool, bool, chrono::DateTime<chrono::Utc>, Option<Decimal>);

const CUSTOMER_SELECT: &str =
    "select c.id, c.name, c.email, c.company, c.credit_limit, c.is_active, c.can_create_api_keys,
        c.created_at, b.balance
     from identity.customers c left join payments.balance_accounts b on b.customer_id = c.id";

/// Customers with their balance (the `customer list` rows; also the TUI's tab).
pub async fn listing(context: &Context, search: Option<&str>, limit: i64) -> CliResult<Listing> {
    crate::commands::check_limit(limit)?;
    let pattern = crate::commands::like_pattern(search);
    let rows: Vec<CustomerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{CUSTOMER_SELECT}
         where $1::text is null or c.name ilike $1 or c.email ilike $1
         order by c.created_at desc limit $2"
    )))
    .bind(pattern)
    .bind(limit)
    .fetch_all(&context.pool)
    .await?;
    let mut listing =
        Listing::new(&["id", "name", "email", "company", "balance", "credit_limit", "active", "created_at"]);
    for (id, name, email, company, credit_limit, active, _, created, balance) in rows {
        listing.row(vec![
            json!(id),
            json!(name),
            json!(email),
            json!(company),
            json!(Money::from_decimal(balance.unwrap_or_default()).to_string()),
            json!(Money::from_decimal(credit_limit).to_string()),
            json!(active),
            time(Some(created)),
        ]);
    }
    Ok(listing)
}

/// A customer by id or exact e-mail.
async fn find(context: &Context, key: &str) -> CliResult<CustomerRow> {
    let key = key.trim();
    let row: Option<CustomerRow> = match Uuid::parse_str(key) {
        Ok(id) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{CUSTOMER_SELECT} where c.id = $1")))
                .bind(id)
                .fetch_optional(&context.pool)
                .await?
        }
        Err(_) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{CUSTOMER_SELECT} where lower(c.email) = lower($1)")))
                .bind(key)
                .fetch_optional(&context.pool)
                .await?
        }
    };
    row.ok_or_else(|| input(format!("no customer {key:?} (give its id or e-mail; see `rustbill-cli customer list`)")))
}

async fn show(context: &Context, key: &str) -> CliResult {
    let (id, name, email, company, credit_limit, active, api_keys, created, balance) = find(context, key).await?;
    let users: Vec<(String, String, bool)> = sqlx::query_as(
        "select username, email, is_active from identity.customer_users where customer_id = $1 order by created_at",
    )
    .bind(id)
    .fetch_all(&context.pool)
    .await?;
    let ledger: Vec<(chrono::DateTime<chrono::Utc>, String, Decimal, Decimal, String)> = sqlx::query_as(
        "select created_at, transaction_type, amount, balance_after, description
         from payments.balance_transactions where customer_id = $1 order by created_at desc, id desc limit 10",
    )
    .bind(id)
    .fetch_all(&context.pool)
    .await?;
    let orders: i64 = sqlx::query_scalar("select count(*) from orders.orders where customer_id = $1")
        .bind(id)
        .fetch_one(&context.pool)
        .await
        .unwrap_or(0);
    let record = json!({
        "id": id,
        "name": name,
        "email": email,
        "company": company,
        "active": active,
        "can_create_api_keys": api_keys,
        "balance": Money::from_decimal(balance.unwrap_or_default()).to_string(),
        "credit_limit": Money::from_decimal(credit_limit).to_string(),
        "orders": orders,
        "created_at": time(Some(created)),
        "users": users.iter().map(|(username, email, active)| json!({ "username": username, "email": email, "active": active })).collect::<Vec<_>>(),
        "ledger": ledger.iter().map(|(at, kind, amount, after, description)| json!({
            "at": time(Some(*at)),
            "type": kind,
            "amount": Money::from_decimal(*amount).to_string(),
            "balance_after": Money::from_decimal(*after).to_string(),
            "description": description,
        })).collect::<Vec<_>>(),
    });
    print_record(context.format, &record);
    Ok(())
}

async fn adjust(context: &Context, key: &str, amount: &str, reason: &str) -> CliResult {
    // The input first: a bad amount changes nothing and names the field.
    check_adjustment(amount, reason).map_err(|error| input(error.to_string().replace("description:", "reason:")))?;
    let (id, name, _, _, credit_limit, ..) = find(context, key).await?;
    let mut transaction = context.begin_in("payments").await?;
    let entry = adjust_balance(
        &mut transaction,
        &context.caller(),
        &context.config.payments.currency,
        id,
        credit_limit,
        amount,
        reason,
    )
    .await?;
    transaction.commit().await?;
    let balance = Money::from_decimal(entry.balance_after).to_string();
    let change = Money::from_decimal(entry.amount).to_string();
    done(
        context.format,
        &format!("{name}: {change} → balance {balance}"),
        json!({ "customer_id": id, "amount": change, "balance": balance, "transaction_id": entry.id }),
    );
    Ok(())
}
