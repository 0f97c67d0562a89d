//! Upgrades and downgrades of active services (`PreviewPlanChange`,
//! `ChangePlan`, `CancelPlanChange`).
//!
//! Immediate changes are prorated to the second over the current paid
//! period: the customer is credited what the period cost for the seconds
//! left, and charged the new product's price for the same seconds. A net
//! charge becomes a `plan_change` invoice paid from the balance; the change
//! takes effect when that invoice is settled (the payment's outbox event,
//! so a crash between the debit and the change cannot lose either). A net
//! credit goes to the balance through the outbox (payments credits it
//! once) and the change takes effect at once. Changes at period end are
//! scheduled: the renewal of the next period is invoiced at the new price
//! and the change takes effect when it is paid. Every applied change
//! publishes `order_plan_changed`, on which the provisioner calls the
//! provider's `resize` action.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::order::*;
use rustbill_proto::product::ProductInfo;
use rustbill_shared::ids::{format_time, parse_id};
use rustbill_shared::principal::Caller;
use rustbill_shared::{AppError, AppResult, Money, oplog};
use serde_json::json;
use sqlx::{AssertSqlSafe, PgConnection};
use uuid::Uuid;

use crate::invoices::{self, INVOICE_COLUMNS, InvoiceRow};
use crate::order_service::visible_order;
use crate::store::{self, OrderRow};
use crate::{State, events, pricing, status};
use rustbill_proto::internal::payments::StartOrderPaymentRequest;

/// The prorated amounts of a change at `at` within the period
/// `[start, end)`: (seconds left, seconds in the period, credit, charge).
/// `period_cost` is what the current plan costs for the whole period,
/// `new_price` the new plan's price for it. Both parts round half-up to the
/// cent on their own, so the credit never exceeds what the period cost.
pub fn prorate(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    at: DateTime<Utc>,
    period_cost: Decimal,
    new_price: Decimal,
) -> AppResult<(i64, i64, Decimal, Decimal)> {
    let total = (end - start).num_seconds();
    if total <= 0 {
        return Err(AppError::FailedPrecondition("the service has no current period".into()));
    }
    let left = (end - at).num_seconds().clamp(0, total);
    let part = |amount: Decimal| Money::from_decimal(amount * Decimal::from(left) / Decimal::from(total)).as_decimal();
    Ok((left, total, part(period_cost), part(new_price)))
}

/// A priced change, before anything is written.
struct Quoted {
    order: OrderRow,
    to: ProductInfo,
    timing: String,
    effective_at: DateTime<Utc>,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    seconds_left: i64,
    period_seconds: i64,
    credit: Decimal,
    charge: Decimal,
    new_list: Decimal,
    new_spec: serde_json::Value,
}

impl Quoted {
    fn net(&self) -> Decimal {
        self.charge - self.credit
    }

    fn to_wire(&self) -> PlanChangeQuote {
        let money = |value: Decimal| Money::from_decimal(value).to_string();
        PlanChangeQuote {
            order_id: self.order.id.to_string(),
            from_product_id: self.order.product_id.to_string(),
            to_product_id: self.to.id.clone(),
            timing: self.timing.clone(),
            effective_at: format_time(self.effective_at),
            period_start: format_time(self.period_start),
            period_end: format_time(self.period_end),
            seconds_left: self.seconds_left,
            period_seconds: self.period_seconds,
            credit_amount: money(self.credit),
            charge_amount: money(self.charge),
            net_amount: money(self.net()),
            new_list_amount: money(self.new_list),
        }
    }
}

/// What the current period cost on the current plan: its price, less the
/// coupon discount given on this period (the renewal line's, or the
/// order's own for the first period).
async fn period_cost(connection: &mut PgConnection, order: &OrderRow) -> AppResult<Decimal> {
    let discount: Option<Decimal> = sqlx::query_scalar(
        "select i.discount_amount from invoice_items i
         where i.customer_id = $1 and i.order_id = $2 and i.period_start = $3",
    )
    .bind(order.customer_id)
    .bind(order.id)
    .bind(order.period_start)
    .fetch_optional(&mut *connection)
    .await?;
    let discount = discount.unwrap_or(order.discount_amount);
    Ok((order.list_price() - discount).max(Decimal::ZERO))
}

async fn quote(
    state: &State,
    caller: &Caller,
    connection: &mut PgConnection,
    order: OrderRow,
    to_product: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Quoted> {
    if order.status != status::ACTIVE {
        return Err(AppError::FailedPrecondition(format!(
            "only an active service changes plan; this one is {}",
            order.status
        )));
    }
    let (Some(period_start), Some(period_end)) = (order.period_start, order.period_end) else {
        return Err(AppError::FailedPrecondition("the service has no current period".into()));
    };
    if to_product == order.product_id {
        return Err(AppError::invalid_field("product_id", "the service is on this product already"));
    }
    let (from, to) =
        tokio::join!(state.clients.product(caller, order.product_id), state.clients.product(caller, to_product));
    let to = to.map_err(|error| match error {
        AppError::NotFound(_) => AppError::invalid_field("product_id", "no such product"),
        other => other,
    })?;
    if !to.is_active {
        return Err(AppError::invalid_field("product_id", "the product is not on sale"));
    }
    if to.interface_id != order.provider_interface_id.to_string() {
        return Err(AppError::invalid_field(
            "product_id",
            "the product is served by another provider; a server cannot move there by resizing",
        ));
    }
    // A product since deleted keeps the default timing.
    let timing = match from.map(|product| product.plan_change_timing) {
        Ok(timing) if timing == "period_end" => "period_end".to_string(),
        _ => "immediate".to_string(),
    };
    let template = state.clients.spec_template(caller, order.provider_interface_id).await?;
    // The configuration carries over (region, OS, extras); the sizes are
    // the new product's.
    let current = store::spec_from_json(&order.server_spec);
    let requested = ServerSpec {
        region: current.region,
        os: current.os,
        extra_specs: current.extra_specs.into_iter().filter(|(key, _)| !to.specs.contains_key(key)).collect(),
        ..Default::default()
    };
    let priced = pricing::price(&to, &template, &requested, &order.billing_cycle)?;
    let (effective_at, seconds_left, period_seconds, credit, charge) = if timing == "immediate" {
        let cost = period_cost(connection, &order).await?;
        let (left, total, credit, charge) = prorate(period_start, period_end, now, cost, priced.amount)?;
        (now, left, total, credit, charge)
    } else {
        (period_end, 0, (period_end - period_start).num_seconds(), Decimal::ZERO, Decimal::ZERO)
    };
    Ok(Quoted {
        to,
        timing,
        effective_at,
        period_start,
        period_end,
        seconds_left,
        period_seconds,
        credit,
        charge,
        new_list: priced.amount,
        new_spec: store::spec_to_json(&priced.spec),
        order,
    })
}

#[derive(Debug, sqlx::FromRow)]
pub struct ChangeRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub order_id: Uuid,
    pub to_product_id: Uuid,
    pub to_product_name: String,
    pub to_list_amount: Decimal,
    pub to_server_spec: serde_json::Value,
    pub status: String,
    pub effective_at: DateTime<Utc>,
    pub invoice_id: Option<Uuid>,
}

const CHANGE_COLUMNS: &str = "id, customer_id, order_id, to_product_id, to_product_name, to_list_amount, \
                              to_server_spec, status, effective_at, invoice_id";

/// The order's open change (awaiting payment or scheduled), locked.
pub async fn open_change(connection: &mut PgConnection, order: &OrderRow) -> AppResult<Option<ChangeRow>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "select {CHANGE_COLUMNS} from plan_changes
         where customer_id = $1 and order_id = $2 and status in ('awaiting_payment', 'scheduled') for update"
    )))
    .bind(order.customer_id)
    .bind(order.id)
    .fetch_optional(connection)
    .await?)
}

/// Puts `change` into effect on `order`, in the caller's transaction: the
/// product, its price from the next renewal on and the configuration; the
/// provisioner resizes the server on `order_plan_changed`.
pub async fn apply(
    connection: &mut PgConnection,
    caller: &Caller,
    order: &OrderRow,
    change: &ChangeRow,
) -> AppResult<()> {
    sqlx::query(
        "update orders set product_id = $3, product_name = $4, list_amount = $5, server_spec = $6, updated_at = now()
         where customer_id = $1 and id = $2",
    )
    .bind(order.customer_id)
    .bind(order.id)
    .bind(change.to_product_id)
    .bind(&change.to_product_name)
    .bind(change.to_list_amount)
    .bind(&change.to_server_spec)
    .execute(&mut *connection)
    .await?;
    sqlx::query("update plan_changes set status = 'applied', applied_at = now() where customer_id = $1 and id = $2")
        .bind(change.customer_id)
        .bind(change.id)
        .execute(&mut *connection)
        .await?;
    let mut payload = order.notice();
    payload["plan_change_id"] = json!(change.id);
    payload["from_product_id"] = json!(order.product_id);
    payload["to_product_id"] = json!(change.to_product_id);
    payload["product_name"] = json!(change.to_product_name);
    payload["server_spec"] = change.to_server_spec.clone();
    events::publish(connection, caller, events::ORDER_PLAN_CHANGED, order.id, order.customer_id, payload).await?;
    Ok(())
}

/// On a settled invoice: applies the change it paid for, if any.
pub async fn settle_invoice(connection: &mut PgConnection, caller: &Caller, invoice: &InvoiceRow) -> AppResult<()> {
    let change: Option<ChangeRow> = sqlx::query_as(AssertSqlSafe(format!(
        "select {CHANGE_COLUMNS} from plan_changes
         where customer_id = $1 and invoice_id = $2 and status = 'awaiting_payment' for update"
    )))
    .bind(invoice.customer_id)
    .bind(invoice.id)
    .fetch_optional(&mut *connection)
    .await?;
    let Some(change) = change else {
        return Ok(());
    };
    let Some(order) = store::lock_order(connection, change.order_id).await? else {
        return Ok(());
    };
    apply(connection, caller, &order, &change).await
}

/// On a renewal of `order` from `period_start` being paid: applies the
/// change scheduled for then, if any.
pub async fn settle_renewal(
    connection: &mut PgConnection,
    caller: &Caller,
    order: &OrderRow,
    period_start: DateTime<Utc>,
) -> AppResult<()> {
    if let Some(change) = open_change(connection, order).await?
        && change.status == "scheduled"
        && change.effective_at == period_start
    {
        apply(connection, caller, order, &change).await?;
    }
    Ok(())
}

/// The scheduled change a renewal starting at `period_start` is priced at.
pub async fn scheduled_for(
    connection: &mut PgConnection,
    order: &OrderRow,
    period_start: DateTime<Utc>,
) -> AppResult<Option<(String, Decimal)>> {
    Ok(sqlx::query_as(
        "select to_product_name, to_list_amount from plan_changes
         where customer_id = $1 and order_id = $2 and status = 'scheduled' and effective_at = $3",
    )
    .bind(order.customer_id)
    .bind(order.id)
    .bind(period_start)
    .fetch_optional(connection)
    .await?)
}

pub async fn preview(state: &State, caller: &Caller, request: PreviewPlanChangeRequest) -> AppResult<PlanChangeQuote> {
    let order_id = parse_id("order_id", &request.order_id)?;
    let product_id = parse_id("product_id", &request.product_id)?;
    let order = visible_order(state, caller, order_id).await?;
    let mut connection = state.pool.acquire().await?;
    Ok(quote(state, caller, &mut connection, order, product_id, Utc::now()).await?.to_wire())
}

pub async fn change(state: &State, caller: &Caller, request: ChangePlanRequest) -> AppResult<ChangePlanResponse> {
    let order_id = parse_id("order_id", &request.order_id)?;
    let product_id = parse_id("product_id", &request.product_id)?;
    // Visibility first (another customer's order answers as unknown).
    visible_order(state, caller, order_id).await?;
    let mut transaction = state.pool.begin().await?;
    let order =
        store::lock_order(&mut transaction, order_id).await?.ok_or_else(|| AppError::not_found("order not found"))?;
    if open_change(&mut transaction, &order).await?.is_some() {
        return Err(AppError::FailedPrecondition(
            "a plan change of this service is already pending; cancel it or wait for it".into(),
        ));
    }
    let quoted = quote(state, caller, &mut transaction, order, product_id, Utc::now()).await?;
    let change_id = Uuid::now_v7();
    let insert = |status: &'static str, invoice: Option<Uuid>| {
        sqlx::query(
            "insert into plan_changes (id, customer_id, order_id, from_product_id, to_product_id, to_product_name,
                                       to_list_amount, to_server_spec, timing, status, effective_at, credit_amount,
                                       charge_amount, invoice_id)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(change_id)
        .bind(quoted.order.customer_id)
        .bind(quoted.order.id)
        .bind(quoted.order.product_id)
        .bind(Uuid::parse_str(&quoted.to.id).unwrap_or_default())
        .bind(quoted.to.name.clone())
        .bind(quoted.new_list)
        .bind(quoted.new_spec.clone())
        .bind(quoted.timing.clone())
        .bind(status)
        .bind(quoted.effective_at)
        .bind(quoted.credit)
        .bind(quoted.charge)
        .bind(invoice)
    };
    let detail = json!({ "to_product_id": quoted.to.id, "timing": quoted.timing,
                         "net": Money::from_decimal(quoted.net()).to_string() });
    oplog::record(&mut transaction, caller, "order.change_plan", "order", &order_id.to_string(), detail).await?;

    if quoted.timing == "period_end" {
        let invoiced: bool = sqlx::query_scalar(
            "select exists (select 1 from invoice_items where customer_id = $1 and order_id = $2 and period_start = $3)",
        )
        .bind(quoted.order.customer_id)
        .bind(quoted.order.id)
        .bind(quoted.period_end)
        .fetch_one(&mut *transaction)
        .await?;
        if invoiced {
            return Err(AppError::FailedPrecondition(
                "the next period is invoiced already; change the plan once it has begun".into(),
            ));
        }
        insert("scheduled", None).execute(&mut *transaction).await?;
        transaction.commit().await?;
        return respond(state, quoted, "scheduled", None).await;
    }

    let net = quoted.net();
    if net <= Decimal::ZERO {
        insert("awaiting_payment", None).execute(&mut *transaction).await?;
        let change: ChangeRow = sqlx::query_as(AssertSqlSafe(format!(
            "select {CHANGE_COLUMNS} from plan_changes where customer_id = $1 and id = $2"
        )))
        .bind(quoted.order.customer_id)
        .bind(change_id)
        .fetch_one(&mut *transaction)
        .await?;
        apply(&mut transaction, caller, &quoted.order, &change).await?;
        if net < Decimal::ZERO {
            events::publish(
                &mut transaction,
                caller,
                events::BALANCE_CREDIT_REQUESTED,
                change_id,
                quoted.order.customer_id,
                json!({
                    "customer_id": quoted.order.customer_id,
                    "amount": Money::from_decimal(-net).to_string(),
                    "currency": quoted.order.currency,
                    "description": format!(
                        "套餐变更退款 / Plan change credit: {} → {}",
                        quoted.order.product_name, quoted.to.name
                    ),
                    "order_id": quoted.order.id,
                }),
            )
            .await?;
        }
        transaction.commit().await?;
        return respond(state, quoted, "applied", None).await;
    }

    // A net charge: an invoice for the prorated difference, paid from the
    // balance now; the change waits for the payment.
    let invoice_id = Uuid::now_v7();
    let region = store::spec_from_json(&quoted.order.server_spec).region;
    let (tax_region, rate) = invoices::tax_rate(&state.config.billing, &region);
    let totals = invoices::totals(&state.config.billing, net, rate);
    let today = quoted.effective_at.date_naive();
    sqlx::query(
        "insert into invoices (id, customer_id, kind, status, billing_period_start, billing_period_end, amount,
                               tax_amount, total_amount, tax_rate, tax_region, currency, due_date, customer_email)
         values ($1, $2, 'plan_change', 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $3, $11)",
    )
    .bind(invoice_id)
    .bind(quoted.order.customer_id)
    .bind(today)
    .bind(quoted.period_end.date_naive().max(today))
    .bind(totals.amount)
    .bind(totals.tax_amount)
    .bind(totals.total_amount)
    .bind(totals.tax_rate)
    .bind(&tax_region)
    .bind(&quoted.order.currency)
    .bind(&quoted.order.customer_email)
    .execute(&mut *transaction)
    .await?;
    let lines = [(
        format!(
            "{} → {} ({} – {}, {}/{} s)",
            quoted.order.product_name,
            quoted.to.name,
            quoted.effective_at.format("%Y-%m-%d %H:%M:%S"),
            quoted.period_end.format("%Y-%m-%d %H:%M:%S"),
            quoted.seconds_left,
            quoted.period_seconds
        ),
        net,
    )];
    for (position, (description, amount)) in lines.iter().enumerate() {
        sqlx::query(
            "insert into invoice_items (id, customer_id, invoice_id, position, description, quantity, unit_price, amount)
             values ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(quoted.order.customer_id)
        .bind(invoice_id)
        .bind(i32::try_from(position).unwrap_or(0))
        .bind(description)
        .bind(*amount)
        .execute(&mut *transaction)
        .await?;
    }
    let invoice = invoices::issue(&mut transaction, &state.config.billing, invoice_id, quoted.effective_at).await?;
    events::publish(
        &mut transaction,
        caller,
        events::INVOICE_ISSUED,
        invoice_id,
        invoice.customer_id,
        invoice.notice(),
    )
    .await?;
    insert("awaiting_payment", Some(invoice_id)).execute(&mut *transaction).await?;
    transaction.commit().await?;

    let paid = state
        .clients
        .start_payment(
            caller,
            StartOrderPaymentRequest {
                invoice_id: invoice_id.to_string(),
                customer_id: invoice.customer_id.to_string(),
                amount: Money::from_decimal(invoice.total_amount).to_string(),
                currency: invoice.currency.clone(),
                gateway_interface_id: "balance".into(),
                description: format!("invoice {}", invoice.invoice_number.clone().unwrap_or_default()),
                ..Default::default()
            },
        )
        .await;
    if let Err(error) = paid {
        // Nothing was taken: the invoice and the change are withdrawn.
        let mut transaction = state.pool.begin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "update invoices set status = 'cancelled', updated_at = now()
             where customer_id = $1 and id = $2 and status = 'issued' returning {INVOICE_COLUMNS}"
        )))
        .bind(invoice.customer_id)
        .bind(invoice_id)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("update plan_changes set status = 'cancelled' where customer_id = $1 and id = $2")
            .bind(invoice.customer_id)
            .bind(change_id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        return Err(match error {
            AppError::FailedPrecondition(message) => AppError::FailedPrecondition(format!(
                "the balance does not cover the prorated charge of {}: {message}",
                Money::from_decimal(invoice.total_amount)
            )),
            other => other,
        });
    }
    respond(state, quoted, "awaiting_payment", Some(invoice_id)).await
}

async fn respond(
    state: &State,
    quoted: Quoted,
    status: &str,
    invoice_id: Option<Uuid>,
) -> AppResult<ChangePlanResponse> {
    let order = store::find_order(&state.pool, quoted.order.id).await?;
    Ok(ChangePlanResponse {
        quote: Some(quoted.to_wire()),
        status: status.to_string(),
        invoice_id: invoice_id.map(|id| id.to_string()).unwrap_or_default(),
        order: Some(order.to_info()),
    })
}

pub async fn cancel(state: &State, caller: &Caller, request: CancelPlanChangeRequest) -> AppResult<()> {
    let order_id = parse_id("order_id", &request.order_id)?;
    let order = visible_order(state, caller, order_id).await?;
    let mut transaction = state.pool.begin().await?;
    match open_change(&mut transaction, &order).await? {
        Some(change) if change.status == "scheduled" => {
            let invoiced: bool = sqlx::query_scalar(
                "select exists (select 1 from invoice_items
                                where customer_id = $1 and order_id = $2 and period_start = $3)",
            )
            .bind(order.customer_id)
            .bind(order.id)
            .bind(change.effective_at)
            .fetch_one(&mut *transaction)
            .await?;
            if invoiced {
                return Err(AppError::FailedPrecondition("the renewal at the new price is invoiced already".into()));
            }
            sqlx::query("update plan_changes set status = 'cancelled' where customer_id = $1 and id = $2")
                .bind(change.customer_id)
                .bind(change.id)
                .execute(&mut *transaction)
                .await?;
            oplog::record(
                &mut transaction,
                caller,
                "order.cancel_plan_change",
                "order",
                &order_id.to_string(),
                json!({}),
            )
            .await?;
            transaction.commit().await?;
            Ok(())
        }
        Some(_) => Err(AppError::FailedPrecondition("the change is being paid for; it cannot be cancelled".into())),
        None => Err(AppError::FailedPrecondition("no plan change is pending".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn money(text: &str) -> Decimal {
        Money::parse(text).expect("money").as_decimal()
    }

    #[test]
    fn proration_is_exact_to_the_second_at_the_boundaries() {
        let start = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single().expect("time");
        let end = Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).single().expect("time");
        let total = 31 * 24 * 3600;
        // At the very start: the whole period either way.
        assert_eq!(
            prorate(start, end, start, money("10.00"), money("20.00")).unwrap(),
            (total, total, money("10.00"), money("20.00"))
        );
        // At the very end, and after it: nothing.
        assert_eq!(
            prorate(start, end, end, money("10.00"), money("20.00")).unwrap(),
            (0, total, Decimal::ZERO, Decimal::ZERO)
        );
        assert_eq!(
            prorate(start, end, end + chrono::Duration::days(1), money("10.00"), money("20.00")).unwrap().2,
            Decimal::ZERO
        );
        // One second in: 2,678,399 of 2,678,400 seconds left.
        let one = prorate(start, end, start + chrono::Duration::seconds(1), money("10.00"), money("20.00")).unwrap();
        assert_eq!((one.0, one.2, one.3), (total - 1, money("10.00"), money("20.00")));
        // Half way: 15.5 days of 31.
        let half =
            prorate(start, end, start + chrono::Duration::seconds(total / 2), money("10.00"), money("20.00")).unwrap();
        assert_eq!((half.2, half.3), (money("5.00"), money("10.00")));
        // A third: 3.333… rounds half-up to the cent.
        let third =
            prorate(start, end, end - chrono::Duration::seconds(total / 3), money("10.00"), money("0.05")).unwrap();
        assert_eq!((third.2, third.3), (money("3.33"), money("0.02")));
        // No period: refused.
        assert!(prorate(end, start, start, money("1.00"), money("1.00")).is_err());
    }
}
