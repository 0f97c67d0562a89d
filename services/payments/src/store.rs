//! Payment rows and their wire form.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::payment::PaymentRecord;
use rustbill_shared::ids::{format_optional_time, format_time};
use rustbill_shared::{AppError, AppResult, Money};
use sqlx::AssertSqlSafe;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Payment statuses (spec: pending → success / failed / refunded).
pub const PENDING: &str = "pending";
pub const SUCCESS: &str = "success";
pub const FAILED: &str = "failed";
pub const REFUNDED: &str = "refunded";
pub const STATUSES: &[&str] = &[PENDING, SUCCESS, FAILED, REFUNDED];

/// The pseudo gateway that pays from the customer's balance.
pub const BALANCE_GATEWAY: &str = "balance";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub purpose: String,
    pub order_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub amount: Decimal,
    pub currency: String,
    pub gateway_interface_id: String,
    pub gateway_payment_id: String,
    pub gateway_tx_id: Option<String>,
    pub status: String,
    pub refunded_amount: Decimal,
    pub description: String,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const COLUMNS: &str = "id, customer_id, purpose, order_id, invoice_id, amount, currency, gateway_interface_id,
    gateway_payment_id, gateway_tx_id, status, refunded_amount, description, paid_at, created_at, updated_at";

impl PaymentRow {
    pub fn to_record(&self) -> PaymentRecord {
        PaymentRecord {
            id: self.id.to_string(),
            order_id: self.order_id.map(|id| id.to_string()).unwrap_or_default(),
            invoice_id: self.invoice_id.map(|id| id.to_string()).unwrap_or_default(),
            amount: Money::from_decimal(self.amount).to_string(),
            currency: self.currency.clone(),
            gateway_interface_id: self.gateway_interface_id.clone(),
            gateway_payment_id: self.gateway_payment_id.clone(),
            gateway_tx_id: self.gateway_tx_id.clone().unwrap_or_default(),
            status: self.status.clone(),
            paid_at: format_optional_time(self.paid_at),
            created_at: format_time(self.created_at),
            updated_at: format_time(self.updated_at),
            refunded_amount: Money::from_decimal(self.refunded_amount).to_string(),
            customer_id: self.customer_id.to_string(),
            purpose: self.purpose.clone(),
        }
    }

    /// What can still be refunded.
    pub fn refundable(&self) -> Decimal {
        self.amount - self.refunded_amount
    }

    /// The aggregate its events are ordered by: the order, the invoice, or
    /// the payment itself for a recharge.
    pub fn aggregate_id(&self) -> Uuid {
        self.order_id.or(self.invoice_id).unwrap_or(self.id)
    }
}

pub async fn find(pool: &PgPool, id: Uuid) -> AppResult<PaymentRow> {
    sqlx::query_as(AssertSqlSafe(format!("select {COLUMNS} from payments where id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| AppError::not_found("payment not found"))
}

/// The payment under a row lock, in the caller's transaction.
pub async fn lock(connection: &mut PgConnection, customer_id: Uuid, id: Uuid) -> AppResult<PaymentRow> {
    sqlx::query_as(AssertSqlSafe(format!(
        "select {COLUMNS} from payments where customer_id = $1 and id = $2 for update"
    )))
    .bind(customer_id)
    .bind(id)
    .fetch_optional(connection)
    .await?
    .ok_or_else(|| AppError::not_found("payment not found"))
}
