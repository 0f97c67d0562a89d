//! The balance ledger: every movement of a customer's balance is one
//! `balance_transactions` row written under the account's row lock, with
//! the balance before and after. Nothing else changes `balance_accounts`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::balance::BalanceTransactionInfo;
use rustbill_shared::ids::format_time;
use rustbill_shared::{AppError, AppResult, Money};
use sqlx::AssertSqlSafe;
use sqlx::PgConnection;
use uuid::Uuid;

/// Ledger row types (`BalanceTransactionInfo.transaction_type`).
pub const RECHARGE: &str = "recharge";
pub const PAYMENT: &str = "payment";
pub const REFUND: &str = "refund";
pub const MANUAL_ADJUST: &str = "manual_adjust";
pub const TYPES: &[&str] = &[RECHARGE, PAYMENT, REFUND, MANUAL_ADJUST];

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub amount: Decimal,
    pub balance_before: Decimal,
    pub balance_after: Decimal,
    pub transaction_type: String,
    pub reference_id: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

pub const ENTRY_COLUMNS: &str =
    "id, customer_id, amount, balance_before, balance_after, transaction_type, reference_id, description, created_at";

impl Entry {
    pub fn to_info(&self) -> BalanceTransactionInfo {
        BalanceTransactionInfo {
            id: self.id.to_string(),
            customer_id: self.customer_id.to_string(),
            amount: Money::from_decimal(self.amount).to_string(),
            balance_after: Money::from_decimal(self.balance_after).to_string(),
            transaction_type: self.transaction_type.clone(),
            reference_id: self.reference_id.clone(),
            description: self.description.clone(),
            created_at: format_time(self.created_at),
            balance_before: Money::from_decimal(self.balance_before).to_string(),
        }
    }
}

/// Locks the customer's account (creating it at 0.00) and returns its
/// balance. Every balance movement of one customer is serialised here.
pub async fn lock_account(connection: &mut PgConnection, customer_id: Uuid, currency: &str) -> AppResult<Decimal> {
    sqlx::query("insert into balance_accounts (customer_id, currency) values ($1, $2) on conflict do nothing")
        .bind(customer_id)
        .bind(currency)
        .execute(&mut *connection)
        .await?;
    let balance: Decimal = sqlx::query_scalar("select balance from balance_accounts where customer_id = $1 for update")
        .bind(customer_id)
        .fetch_one(&mut *connection)
        .await?;
    Ok(balance)
}

/// One movement. `floor` is the lowest balance allowed afterwards
/// (`-credit_limit` for payments and debits); `None` for credits.
pub struct Movement<'a> {
    pub customer_id: Uuid,
    pub currency: &'a str,
    pub amount: Decimal,
    pub floor: Option<Decimal>,
    pub transaction_type: &'a str,
    pub reference_id: String,
    pub description: String,
}

/// Applies `movement` inside the caller's transaction. A debit that would
/// take the balance below its floor is FailedPrecondition and writes
/// nothing; a second movement of the same type for the same reference is
/// AlreadyExists.
pub async fn apply(connection: &mut PgConnection, movement: Movement<'_>) -> AppResult<Entry> {
    if movement.amount.is_zero() {
        return Err(AppError::invalid_field("amount", "must not be zero"));
    }
    let before = lock_account(connection, movement.customer_id, movement.currency).await?;
    let after = before + movement.amount;
    if let Some(floor) = movement.floor
        && movement.amount.is_sign_negative()
        && after < floor
    {
        return Err(AppError::FailedPrecondition(format!(
            "insufficient balance: {} available (balance plus credit limit), {} needed",
            Money::from_decimal(before - floor),
            Money::from_decimal(-movement.amount)
        )));
    }
    let entry: Option<Entry> = sqlx::query_as(AssertSqlSafe(format!(
        "insert into balance_transactions
           (id, customer_id, amount, balance_before, balance_after, transaction_type, reference_id, description)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (customer_id, transaction_type, reference_id) do nothing
         returning {ENTRY_COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(movement.customer_id)
    .bind(movement.amount)
    .bind(before)
    .bind(after)
    .bind(movement.transaction_type)
    .bind(&movement.reference_id)
    .bind(&movement.description)
    .fetch_optional(&mut *connection)
    .await?;
    let entry = entry.ok_or_else(|| {
        AppError::AlreadyExists(format!(
            "this {} was already applied to the balance ({})",
            movement.transaction_type, movement.reference_id
        ))
    })?;
    sqlx::query("update balance_accounts set balance = $2, updated_at = now() where customer_id = $1")
        .bind(movement.customer_id)
        .bind(after)
        .execute(&mut *connection)
        .await?;
    Ok(entry)
}
