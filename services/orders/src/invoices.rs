//! Invoices: rows and wire form, the invoice state machine, gapless
//! numbers, and tax.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use rustbill_proto::billing::{InvoiceInfo, InvoiceItemInfo};
use rustbill_shared::config::BillingConfig;
use rustbill_shared::ids::{format_optional_time, format_time};
use rustbill_shared::{AppError, AppResult, Money};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

pub const DRAFT: &str = "draft";
pub const ISSUED: &str = "issued";
pub const PAID: &str = "paid";
pub const OVERDUE: &str = "overdue";
pub const CANCELLED: &str = "cancelled";
pub const STATUSES: &[&str] = &[DRAFT, ISSUED, PAID, OVERDUE, CANCELLED];

/// The spec's invoice states: draft → issued → paid / overdue → cancelled.
pub fn can_move(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        (DRAFT, ISSUED | CANCELLED) | (ISSUED, PAID | OVERDUE | CANCELLED) | (OVERDUE, PAID | CANCELLED)
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub invoice_number: Option<String>,
    pub kind: String,
    pub status: String,
    pub billing_period_start: NaiveDate,
    pub billing_period_end: NaiveDate,
    pub amount: Decimal,
    pub tax_amount: Decimal,
    pub total_amount: Decimal,
    pub tax_rate: Decimal,
    pub tax_region: String,
    pub currency: String,
    pub due_date: NaiveDate,
    pub notes: String,
    pub customer_email: String,
    pub issued_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub overdue_at: Option<DateTime<Utc>>,
    pub payment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub discount_amount: Decimal,
}

pub const INVOICE_COLUMNS: &str = "id, customer_id, invoice_number, kind, status, billing_period_start,
    billing_period_end, amount, tax_amount, total_amount, tax_rate, tax_region, currency, due_date, notes,
    customer_email, issued_at, paid_at, overdue_at, payment_id, created_at, updated_at, discount_amount";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub position: i32,
    pub description: String,
    pub quantity: i32,
    pub unit_price: Decimal,
    pub amount: Decimal,
    pub order_id: Option<Uuid>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub discount_amount: Decimal,
    pub coupon_code: String,
}

pub const ITEM_COLUMNS: &str = "id, invoice_id, position, description, quantity, unit_price, amount, order_id, \
                                period_start, period_end, discount_amount, coupon_code";

fn money(value: Decimal) -> String {
    Money::from_decimal(value).to_string()
}

impl InvoiceRow {
    pub fn to_info(&self, items: &[ItemRow]) -> InvoiceInfo {
        InvoiceInfo {
            id: self.id.to_string(),
            invoice_number: self.invoice_number.clone().unwrap_or_default(),
            customer_id: self.customer_id.to_string(),
            billing_period_start: self.billing_period_start.to_string(),
            billing_period_end: self.billing_period_end.to_string(),
            amount: money(self.amount),
            tax_amount: money(self.tax_amount),
            total_amount: money(self.total_amount),
            status: self.status.clone(),
            issued_at: format_optional_time(self.issued_at),
            paid_at: format_optional_time(self.paid_at),
            due_date: self.due_date.to_string(),
            notes: self.notes.clone(),
            created_at: format_time(self.created_at),
            updated_at: format_time(self.updated_at),
            items: items
                .iter()
                .map(|item| InvoiceItemInfo {
                    id: item.id.to_string(),
                    description: item.description.clone(),
                    quantity: u32::try_from(item.quantity).unwrap_or(0),
                    unit_price: money(item.unit_price),
                    amount: money(item.amount),
                    discount_amount: money(item.discount_amount),
                    coupon_code: item.coupon_code.clone(),
                })
                .collect(),
            kind: self.kind.clone(),
            currency: self.currency.clone(),
            tax_rate: money(self.tax_rate),
            discount_amount: money(self.discount_amount),
        }
    }

    /// What a notification about this invoice needs.
    pub fn notice(&self) -> serde_json::Value {
        serde_json::json!({
            "invoice_id": self.id,
            "invoice_number": self.invoice_number,
            "customer_id": self.customer_id,
            "customer_email": self.customer_email,
            "total_amount": money(self.total_amount),
            "currency": self.currency,
            "due_date": self.due_date.to_string(),
            "status": self.status,
        })
    }
}

pub async fn find(pool: &PgPool, id: Uuid) -> AppResult<InvoiceRow> {
    sqlx::query_as(AssertSqlSafe(format!("select {INVOICE_COLUMNS} from invoices where id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| AppError::not_found("invoice not found"))
}

pub async fn lock(connection: &mut PgConnection, id: Uuid) -> AppResult<Option<InvoiceRow>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!("select {INVOICE_COLUMNS} from invoices where id = $1 for update")))
        .bind(id)
        .fetch_optional(connection)
        .await?)
}

pub async fn items(connection: &mut PgConnection, invoice_id: Uuid) -> AppResult<Vec<ItemRow>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "select {ITEM_COLUMNS} from invoice_items where invoice_id = $1 order by position"
    )))
    .bind(invoice_id)
    .fetch_all(connection)
    .await?)
}

/// Takes the next number of `year`, in the caller's transaction: the row
/// lock queues concurrent issuers, a rollback returns the number, so the
/// numbers of a year have no gaps.
pub async fn take_number(connection: &mut PgConnection, prefix: &str, year: i32) -> AppResult<String> {
    let number: i64 = sqlx::query_scalar(
        "insert into invoice_numbers (year, last) values ($1, 1)
         on conflict (year) do update set last = invoice_numbers.last + 1
         returning last",
    )
    .bind(year)
    .fetch_one(connection)
    .await?;
    Ok(format!("{prefix}-{year}-{number:06}"))
}

/// Issues a draft (or a just-inserted invoice): number, issued_at.
pub async fn issue(
    connection: &mut PgConnection,
    config: &BillingConfig,
    invoice: Uuid,
    at: DateTime<Utc>,
) -> AppResult<InvoiceRow> {
    let number = take_number(connection, &config.invoice_prefix, at.year()).await?;
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "update invoices set status = 'issued', invoice_number = $2, issued_at = $3, updated_at = now()
         where id = $1 returning {INVOICE_COLUMNS}"
    )))
    .bind(invoice)
    .bind(number)
    .bind(at)
    .fetch_one(connection)
    .await?)
}

/// Amounts of an invoice: net, tax, total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub amount: Decimal,
    pub tax_amount: Decimal,
    pub total_amount: Decimal,
    pub tax_rate: Decimal,
}

/// The tax rate (percent) for `region`, else the "default" rate, else 0.
pub fn tax_rate(config: &BillingConfig, region: &str) -> (String, Decimal) {
    let lookup = |key: &str| {
        config
            .tax_rates
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .and_then(|(_, rate)| rate.trim().parse::<Decimal>().ok())
    };
    match lookup(region) {
        Some(rate) if !region.is_empty() => (region.to_ascii_lowercase(), rate),
        _ => ("default".into(), lookup("default").unwrap_or_default()),
    }
}

/// Totals of `lines` (the sum of the items) at `rate` percent: added to the
/// net when prices exclude tax, taken out of them when they include it.
/// Half-up to cents.
pub fn totals(config: &BillingConfig, lines: Decimal, rate: Decimal) -> Totals {
    let cents = |value: Decimal| value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let hundred = Decimal::ONE_HUNDRED;
    if config.prices_include_tax {
        let tax = cents(lines * rate / (hundred + rate));
        Totals { amount: lines - tax, tax_amount: tax, total_amount: lines, tax_rate: rate }
    } else {
        let tax = cents(lines * rate / hundred);
        Totals { amount: lines, tax_amount: tax, total_amount: lines + tax, tax_rate: rate }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(include: bool) -> BillingConfig {
        BillingConfig {
            prices_include_tax: include,
            tax_rates: [("default".to_string(), "13".to_string()), ("hk".to_string(), "0".to_string())]
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn tax_is_added_or_taken_out_half_up() {
        let added = totals(&config(false), Decimal::new(10000, 2), Decimal::from(13));
        assert_eq!(
            (added.amount, added.tax_amount, added.total_amount),
            (Decimal::new(10000, 2), Decimal::new(1300, 2), Decimal::new(11300, 2))
        );
        let inside = totals(&config(true), Decimal::new(11300, 2), Decimal::from(13));
        assert_eq!(
            (inside.amount, inside.tax_amount, inside.total_amount),
            (Decimal::new(10000, 2), Decimal::new(1300, 2), Decimal::new(11300, 2))
        );
        // 0.05 × 10% = 0.005 → 0.01
        let half = totals(&config(false), Decimal::new(5, 2), Decimal::from(10));
        assert_eq!(half.tax_amount, Decimal::new(1, 2));
    }

    #[test]
    fn regions_fall_back_to_the_default_rate() {
        assert_eq!(tax_rate(&config(false), "HK"), ("hk".to_string(), Decimal::ZERO));
        assert_eq!(tax_rate(&config(false), "us-west"), ("default".to_string(), Decimal::from(13)));
        assert_eq!(tax_rate(&config(false), ""), ("default".to_string(), Decimal::from(13)));
    }

    #[test]
    fn invoice_states_follow_the_spec() {
        assert!(can_move(DRAFT, ISSUED));
        assert!(can_move(OVERDUE, PAID));
        assert!(!can_move(PAID, CANCELLED));
        assert!(!can_move(DRAFT, PAID));
        assert!(!can_move(CANCELLED, ISSUED));
    }
}
