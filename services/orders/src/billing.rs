//! The billing cycle: renewal invoices before a service period ends (paid
//! from the balance when it covers them), overdue marks, suspension and
//! termination of unpaid services, and settling a paid invoice (the period
//! is extended, a suspended service comes back).
//!
//! Every step is guarded by the status it changes under a row lock, and the
//! event it publishes commits with it: a second run (on this instance or
//! another) finds nothing left to do and publishes nothing. A renewal
//! period is billed once: one invoice item per (order, period start),
//! enforced by a unique index.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::internal::payments::StartOrderPaymentRequest;
use rustbill_proto::internal::plugins::{ExecuteActionCall, InstanceCall};
use rustbill_shared::db::ServiceDb;
use rustbill_shared::principal::{Caller, Principal};
use rustbill_shared::{AppError, AppResult, Money};
use serde_json::json;
use sqlx::{AssertSqlSafe, PgConnection};
use uuid::Uuid;

use crate::State;
use crate::events;
use crate::invoices::{self, INVOICE_COLUMNS, InvoiceRow};
use crate::pricing::cycle_months;
use crate::store::{self, INSTANCE_COLUMNS, InstanceRow, OrderRow};

pub const ROLE: &str = "billing";

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    pub renewals_issued: u32,
    pub paid_from_balance: u32,
    pub overdue: u32,
    pub suspended: u32,
    pub terminated: u32,
}

fn service_caller() -> Caller {
    Caller::new(Principal::Service { name: "orders".into() }, "", "")
}

/// Runs the cycle as of `now`.
pub async fn run(state: &State, now: DateTime<Utc>) -> AppResult<RunReport> {
    let mut report = RunReport::default();
    renew(state, now, &mut report).await?;
    mark_overdue(state, now, &mut report).await?;
    suspend(state, now, &mut report).await?;
    terminate(state, now, &mut report).await?;
    Ok(report)
}

/// One renewal line: the order, its next period, and the (product name,
/// price) of a plan change scheduled for it.
type RenewalLine<'a> = (&'a OrderRow, DateTime<Utc>, DateTime<Utc>, Option<(String, Decimal)>);

/// Inserts an issued renewal invoice of `orders` (all of one customer) in
/// the caller's transaction; `None` when every period is billed already.
pub async fn invoice_renewals(
    connection: &mut PgConnection,
    state: &State,
    caller: &Caller,
    orders: &[OrderRow],
    kind: &str,
    period: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    now: DateTime<Utc>,
) -> AppResult<Option<InvoiceRow>> {
    let mut lines: Vec<RenewalLine<'_>> = Vec::new();
    for order in orders {
        let (Some(start), Some(months)) = (order.period_end, cycle_months(&order.billing_cycle)) else {
            continue;
        };
        if order.billing_cycle == "one_time" {
            continue;
        }
        let billed: bool = sqlx::query_scalar(
            "select exists (select 1 from invoice_items where customer_id = $1 and order_id = $2 and period_start = $3)",
        )
        .bind(order.customer_id)
        .bind(order.id)
        .bind(start)
        .fetch_one(&mut *connection)
        .await?;
        if billed {
            continue;
        }
        let end = start
            .checked_add_months(chrono::Months::new(months))
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("period end out of range")))?;
        // A plan change scheduled for this period prices it.
        let plan = crate::plan_change::scheduled_for(&mut *connection, order, start).await?;
        lines.push((order, start, end, plan));
    }
    let Some((first, first_start)) = lines.first().map(|(order, start, _, _)| (*order, *start)) else {
        return Ok(None);
    };
    let price = |order: &OrderRow, plan: &Option<(String, Decimal)>| {
        plan.as_ref().map_or_else(|| order.list_price(), |(_, list)| *list)
    };
    let region = store::spec_from_json(&first.server_spec).region;
    let (tax_region, rate) = invoices::tax_rate(&state.config.billing, &region);
    // Each line at the list price, less the order's coupon while it has
    // periods left (the terms it was redeemed with).
    let discounts: Vec<Decimal> = lines
        .iter()
        .map(|(order, _, _, plan)| match (&order.coupon_kind, order.coupon_value) {
            (Some(kind), Some(value)) if order.coupon_periods_left.is_none_or(|left| left > 0) => {
                crate::coupons::discount(kind, value, price(order, plan))
            }
            _ => Decimal::ZERO,
        })
        .collect();
    let discount: Decimal = discounts.iter().copied().sum();
    let net: Decimal = lines.iter().map(|(order, _, _, plan)| price(order, plan)).sum::<Decimal>() - discount;
    let totals = invoices::totals(&state.config.billing, net, rate);
    let (period_start, period_end) = period.unwrap_or_else(|| {
        let end = lines.iter().map(|(_, _, end, _)| *end).max().unwrap_or(first_start);
        (first_start.date_naive(), end.date_naive())
    });
    let due = lines.iter().map(|(_, start, _, _)| *start).min().unwrap_or(first_start).date_naive();
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into invoices (id, customer_id, kind, status, billing_period_start, billing_period_end, amount,
                               tax_amount, total_amount, tax_rate, tax_region, currency, due_date, customer_email,
                               discount_amount)
         values ($1, $2, $3, 'draft', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(id)
    .bind(first.customer_id)
    .bind(kind)
    .bind(period_start)
    .bind(period_end)
    .bind(totals.amount)
    .bind(totals.tax_amount)
    .bind(totals.total_amount)
    .bind(totals.tax_rate)
    .bind(&tax_region)
    .bind(&first.currency)
    .bind(due)
    .bind(&first.customer_email)
    .bind(discount)
    .execute(&mut *connection)
    .await?;
    for (position, ((order, start, end, plan), line_discount)) in lines.iter().zip(&discounts).enumerate() {
        let name = plan.as_ref().map_or(order.product_name.as_str(), |(name, _)| name.as_str());
        sqlx::query(
            "insert into invoice_items (id, customer_id, invoice_id, position, description, quantity, unit_price, amount,
                                        order_id, period_start, period_end, discount_amount, coupon_code)
             values ($1, $2, $3, $4, $5, 1, $6, $6, $7, $8, $9, $10, $11)",
        )
        .bind(Uuid::now_v7())
        .bind(order.customer_id)
        .bind(id)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .bind(format!("{} ({} – {})", name, start.date_naive(), end.date_naive()))
        .bind(price(order, plan))
        .bind(order.id)
        .bind(start)
        .bind(end)
        .bind(line_discount)
        .bind(if line_discount.is_zero() { "" } else { order.coupon_code.as_str() })
        .execute(&mut *connection)
        .await?;
        if !line_discount.is_zero() && order.coupon_periods_left.is_some() {
            // This renewal used one of the coupon's periods.
            sqlx::query(
                "update orders set coupon_periods_left = coupon_periods_left - 1
                 where customer_id = $1 and id = $2 and coupon_periods_left > 0",
            )
            .bind(order.customer_id)
            .bind(order.id)
            .execute(&mut *connection)
            .await?;
        }
    }
    let invoice = invoices::issue(connection, &state.config.billing, id, now).await?;
    events::publish(connection, caller, events::INVOICE_ISSUED, id, invoice.customer_id, invoice.notice()).await?;
    Ok(Some(invoice))
}

async fn renew(state: &State, now: DateTime<Utc>, report: &mut RunReport) -> AppResult<()> {
    let caller = service_caller();
    let lead = i32::try_from(state.config.billing.renew_days_before).unwrap_or(i32::MAX);
    let due: Vec<Uuid> = sqlx::query_scalar(
        "select o.id from orders o
         where o.status = 'active' and o.period_end is not null and o.billing_cycle <> 'one_time'
           and o.period_end - make_interval(days => $2) <= $1
           and not exists (select 1 from invoice_items i
                           where i.customer_id = o.customer_id and i.order_id = o.id and i.period_start = o.period_end)
         order by o.period_end",
    )
    .bind(now)
    .bind(lead)
    .fetch_all(&state.pool)
    .await?;
    for order_id in due {
        let mut transaction = state.pool.begin().await?;
        // The order's row lock serialises two runs on the same order.
        let Some(order) = store::lock_order(&mut transaction, order_id).await? else {
            continue;
        };
        if order.status != crate::status::ACTIVE {
            continue;
        }
        let issued = invoice_renewals(&mut transaction, state, &caller, &[order], "renewal", None, now).await?;
        transaction.commit().await?;
        let Some(invoice) = issued else {
            continue;
        };
        report.renewals_issued += 1;
        // Paid at once when the balance (and credit) covers it; otherwise
        // the customer pays it through a gateway before the due date.
        let paid = state
            .clients
            .start_payment(
                &caller,
                StartOrderPaymentRequest {
                    invoice_id: invoice.id.to_string(),
                    customer_id: invoice.customer_id.to_string(),
                    amount: Money::from_decimal(invoice.total_amount).to_string(),
                    currency: invoice.currency.clone(),
                    gateway_interface_id: "balance".into(),
                    description: format!("invoice {}", invoice.invoice_number.clone().unwrap_or_default()),
                    ..Default::default()
                },
            )
            .await;
        match paid {
            Ok(_) => report.paid_from_balance += 1,
            Err(AppError::FailedPrecondition(_)) => {}
            Err(error) => tracing::warn!(invoice_id = %invoice.id, %error, "paying a renewal from the balance failed"),
        }
    }
    Ok(())
}

async fn mark_overdue(state: &State, now: DateTime<Utc>, report: &mut RunReport) -> AppResult<()> {
    let caller = service_caller();
    let mut transaction = state.pool.begin().await?;
    let rows: Vec<InvoiceRow> = sqlx::query_as(AssertSqlSafe(format!(
        "with late as (
             select customer_id, id from invoices
             where status = 'issued' and due_date < ($1::timestamptz at time zone 'UTC')::date
             for update skip locked)
         update invoices i set status = 'overdue', overdue_at = $1, updated_at = now()
         from late where i.customer_id = late.customer_id and i.id = late.id
         returning {}",
        INVOICE_COLUMNS.split(',').map(|column| format!("i.{}", column.trim())).collect::<Vec<_>>().join(", ")
    )))
    .bind(now)
    .fetch_all(&mut *transaction)
    .await?;
    for invoice in &rows {
        events::publish(
            &mut transaction,
            &caller,
            events::BILLING_OVERDUE,
            invoice.id,
            invoice.customer_id,
            invoice.notice(),
        )
        .await?;
    }
    transaction.commit().await?;
    report.overdue += u32::try_from(rows.len()).unwrap_or(u32::MAX);
    Ok(())
}

/// Orders with an overdue renewal whose due date is at least `days` old,
/// in `status`.
async fn overdue_orders(state: &State, now: DateTime<Utc>, days: u32, status: &str) -> AppResult<Vec<(Uuid, Uuid)>> {
    Ok(sqlx::query_as(
        "select distinct o.id, inv.id from orders o
         join invoice_items it on it.customer_id = o.customer_id and it.order_id = o.id
         join invoices inv on inv.customer_id = it.customer_id and inv.id = it.invoice_id
         where inv.status = 'overdue' and o.status = $3
           and inv.due_date + $2 <= ($1::timestamptz at time zone 'UTC')::date",
    )
    .bind(now)
    .bind(i32::try_from(days).unwrap_or(i32::MAX))
    .bind(status)
    .fetch_all(&state.pool)
    .await?)
}

async fn instance_of(connection: &mut PgConnection, order: &OrderRow) -> AppResult<Option<InstanceRow>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "select {INSTANCE_COLUMNS} from instances where customer_id = $1 and order_id = $2 for update"
    )))
    .bind(order.customer_id)
    .bind(order.id)
    .fetch_optional(connection)
    .await?)
}

/// Runs the first of `actions` the provider offers for the instance (best
/// effort: billing state changes do not wait for a provider).
pub async fn power(state: &State, instance: &InstanceRow, actions: &[&str]) {
    let caller = service_caller();
    let view = rustbill_proto::internal::plugins::InstanceViewCall {
        interface_id: instance.provider_interface_id.to_string(),
        instance_id: instance.provider_instance_id.clone(),
        status: instance.status.clone(),
        ip_address: instance.ip_address.clone(),
        server_spec: None,
    };
    let offered = match state.clients.instance_actions(&caller, view).await {
        Ok(offered) => offered,
        Err(error) => {
            tracing::warn!(instance_id = %instance.id, %error, "cannot ask the provider for its actions");
            return;
        }
    };
    let Some(action) = actions.iter().find(|action| offered.iter().any(|offer| offer.id == **action && offer.enabled))
    else {
        return;
    };
    let call = ExecuteActionCall {
        interface_id: instance.provider_interface_id.to_string(),
        instance_id: instance.provider_instance_id.clone(),
        action: action.to_string(),
        params_json: "{}".into(),
    };
    if let Err(error) = state.clients.execute_action(&caller, call).await {
        tracing::warn!(instance_id = %instance.id, action, %error, "provider action failed");
    }
}

async fn suspend(state: &State, now: DateTime<Utc>, report: &mut RunReport) -> AppResult<()> {
    let caller = service_caller();
    for (order_id, invoice_id) in overdue_orders(state, now, state.config.billing.suspend_after_days, "active").await? {
        let mut transaction = state.pool.begin().await?;
        let Some(order) = store::lock_order(&mut transaction, order_id).await? else {
            continue;
        };
        if order.status != crate::status::ACTIVE {
            continue;
        }
        sqlx::query("update orders set status = 'suspended', updated_at = now() where customer_id = $1 and id = $2")
            .bind(order.customer_id)
            .bind(order.id)
            .execute(&mut *transaction)
            .await?;
        let instance = instance_of(&mut transaction, &order).await?;
        if let Some(instance) = &instance {
            sqlx::query(
                "update instances set status = 'suspended', updated_at = now()
                 where customer_id = $1 and id = $2 and status <> 'terminated'",
            )
            .bind(instance.customer_id)
            .bind(instance.id)
            .execute(&mut *transaction)
            .await?;
        }
        let mut payload = order.notice();
        payload["invoice_id"] = json!(invoice_id);
        payload["instance_id"] = json!(instance.as_ref().map(|instance| instance.id));
        events::publish(&mut transaction, &caller, events::INSTANCE_SUSPENDED, order.id, order.customer_id, payload)
            .await?;
        transaction.commit().await?;
        report.suspended += 1;
        if let Some(instance) = instance {
            power(state, &instance, &["suspend", "stop"]).await;
        }
    }
    Ok(())
}

async fn terminate(state: &State, now: DateTime<Utc>, report: &mut RunReport) -> AppResult<()> {
    let caller = service_caller();
    for (order_id, invoice_id) in
        overdue_orders(state, now, state.config.billing.terminate_after_days, "suspended").await?
    {
        let order = store::find_order(&state.pool, order_id).await?;
        let instance: Option<InstanceRow> = sqlx::query_as(AssertSqlSafe(format!(
            "select {INSTANCE_COLUMNS} from instances where customer_id = $1 and order_id = $2"
        )))
        .bind(order.customer_id)
        .bind(order.id)
        .fetch_optional(&state.pool)
        .await?;
        // The provider first: a failure leaves everything for the next run.
        if let Some(instance) = instance.as_ref().filter(|instance| instance.status != "terminated")
            && !instance.provider_instance_id.is_empty()
            && let Err(error) = state
                .clients
                .terminate_instance(
                    &caller,
                    InstanceCall {
                        interface_id: instance.provider_interface_id.to_string(),
                        instance_id: instance.provider_instance_id.clone(),
                    },
                )
                .await
        {
            tracing::warn!(order_id = %order.id, %error, "terminating an unpaid instance failed; retried next run");
            continue;
        }
        let mut transaction = state.pool.begin().await?;
        let Some(order) = store::lock_order(&mut transaction, order_id).await? else {
            continue;
        };
        if order.status != crate::status::SUSPENDED {
            continue;
        }
        sqlx::query("update orders set status = 'terminated', updated_at = now() where customer_id = $1 and id = $2")
            .bind(order.customer_id)
            .bind(order.id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "update instances set status = 'terminated', terminated_at = coalesce(terminated_at, now()), updated_at = now()
             where customer_id = $1 and order_id = $2",
        )
        .bind(order.customer_id)
        .bind(order.id)
        .execute(&mut *transaction)
        .await?;
        // The unpaid renewal is void: the service it would pay for ended.
        if let Some(invoice) = invoices::lock(&mut transaction, invoice_id).await?
            && invoices::can_move(&invoice.status, invoices::CANCELLED)
        {
            sqlx::query(
                "update invoices set status = 'cancelled', updated_at = now() where customer_id = $1 and id = $2",
            )
            .bind(invoice.customer_id)
            .bind(invoice.id)
            .execute(&mut *transaction)
            .await?;
        }
        let mut payload = order.notice();
        payload["invoice_id"] = json!(invoice_id);
        payload["instance_id"] = json!(instance.as_ref().map(|instance| instance.id));
        payload["reason"] = json!("not paid after the grace period");
        events::publish(&mut transaction, &caller, events::INSTANCE_TERMINATED, order.id, order.customer_id, payload)
            .await?;
        transaction.commit().await?;
        report.terminated += 1;
    }
    Ok(())
}

/// Marks `invoice` paid (by `payment_id`, or by hand when `None`), in the
/// caller's transaction: renewal periods are extended and suspended
/// services come back. Returns the instances to power on after commit.
/// `false` in the first place when the invoice is not payable.
pub async fn settle(
    connection: &mut PgConnection,
    caller: &Caller,
    invoice: &InvoiceRow,
    payment_id: Option<Uuid>,
) -> AppResult<Vec<InstanceRow>> {
    let paid: InvoiceRow = sqlx::query_as(AssertSqlSafe(format!(
        "update invoices set status = 'paid', paid_at = now(), payment_id = $3, updated_at = now()
         where customer_id = $1 and id = $2 returning {INVOICE_COLUMNS}"
    )))
    .bind(invoice.customer_id)
    .bind(invoice.id)
    .bind(payment_id)
    .fetch_one(&mut *connection)
    .await?;
    let mut resumed = Vec::new();
    for item in invoices::items(connection, invoice.id).await? {
        let (Some(order_id), Some(start), Some(end)) = (item.order_id, item.period_start, item.period_end) else {
            continue;
        };
        let Some(order) = store::lock_order(connection, order_id).await? else {
            continue;
        };
        if order.period_end != Some(start) {
            continue;
        }
        // A change scheduled for this period takes effect with it.
        crate::plan_change::settle_renewal(connection, caller, &order, start).await?;
        let status =
            if order.status == crate::status::SUSPENDED { crate::status::ACTIVE } else { order.status.as_str() };
        sqlx::query(
            "update orders set period_start = $3, period_end = $4, status = $5, updated_at = now()
             where customer_id = $1 and id = $2",
        )
        .bind(order.customer_id)
        .bind(order.id)
        .bind(start)
        .bind(end)
        .bind(status)
        .execute(&mut *connection)
        .await?;
        if order.status == crate::status::SUSPENDED {
            let instance: Option<InstanceRow> = sqlx::query_as(AssertSqlSafe(format!(
                "update instances set status = 'running', updated_at = now()
                 where customer_id = $1 and order_id = $2 and status = 'suspended' returning {INSTANCE_COLUMNS}"
            )))
            .bind(order.customer_id)
            .bind(order.id)
            .fetch_optional(&mut *connection)
            .await?;
            let mut payload = order.notice();
            payload["invoice_id"] = json!(invoice.id);
            payload["instance_id"] = json!(instance.as_ref().map(|instance| instance.id));
            events::publish(connection, caller, events::INSTANCE_UNSUSPENDED, order.id, order.customer_id, payload)
                .await?;
            resumed.extend(instance);
        }
    }
    crate::plan_change::settle_invoice(connection, caller, &paid).await?;
    events::publish(connection, caller, events::INVOICE_PAID, paid.id, paid.customer_id, paid.notice()).await?;
    Ok(resumed)
}

/// Runs the cycle every `[billing].run_interval_secs` while this instance
/// holds the `billing` role, until `shutdown`.
pub async fn run_loop(database: ServiceDb, state: State, shutdown: tokio_util::sync::CancellationToken) {
    let every = state.config.billing.run_interval_secs;
    if every == 0 {
        return;
    }
    let campaign =
        database.leader.spawn_campaign(ROLE.to_string(), rustbill_shared::leader::RENEW_INTERVAL, shutdown.clone());
    let mut ticker = tokio::time::interval(Duration::from_secs(every));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        if !rustbill_shared::leader::leads(&database.leader, ROLE).await {
            continue;
        }
        match run(&state, Utc::now()).await {
            Ok(report) if report != RunReport::default() => tracing::info!(?report, "billing run"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "billing run failed"),
        }
    }
    campaign.await.ok();
}
