//! The orders service's part of the admin dashboard (RustBill extension):
//! orders by status, instances, unpaid invoices, orders created and paid
//! per day.

use rust_decimal::Decimal;
use rustbill_proto::internal::system::DashboardPart;
use rustbill_shared::AppResult;
use rustbill_shared::system::{self, Window};
use sqlx::PgPool;

/// orders_total, orders_pending_payment (status `pending`),
/// orders_provisioning, orders_active, instances_running,
/// instances_suspended, invoices_unpaid (issued or overdue) and
/// invoices_unpaid_amount (their totals, tax included); series
/// orders_created (by `created_at`) and orders_paid (by `paid_at`).
pub async fn dashboard(pool: PgPool, window: Window) -> AppResult<DashboardPart> {
    let (total, pending, provisioning, active): (i64, i64, i64, i64) = sqlx::query_as(
        "select count(*),
                count(*) filter (where status = 'pending'),
                count(*) filter (where status = 'provisioning'),
                count(*) filter (where status = 'active')
         from orders",
    )
    .fetch_one(&pool)
    .await?;
    let (running, suspended): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where status = 'running'), count(*) filter (where status = 'suspended')
         from instances",
    )
    .fetch_one(&pool)
    .await?;
    let (unpaid, unpaid_amount): (i64, Decimal) = sqlx::query_as(
        "select count(*), coalesce(sum(total_amount), 0) from invoices where status in ('issued', 'overdue')",
    )
    .fetch_one(&pool)
    .await?;
    let created = system::daily(
        &pool,
        "orders_created",
        "select (created_at at time zone 'UTC')::date, count(*)::numeric from orders
         where created_at >= $1 group by 1",
        &window,
    )
    .await?;
    let paid = system::daily(
        &pool,
        "orders_paid",
        "select (paid_at at time zone 'UTC')::date, count(*)::numeric from orders
         where paid_at >= $1 group by 1",
        &window,
    )
    .await?;
    Ok(DashboardPart {
        counters: vec![
            system::counter("orders_total", total),
            system::counter("orders_pending_payment", pending),
            system::counter("orders_provisioning", provisioning),
            system::counter("orders_active", active),
            system::counter("instances_running", running),
            system::counter("instances_suspended", suspended),
            system::counter("invoices_unpaid", unpaid),
            system::money_counter("invoices_unpaid_amount", unpaid_amount),
        ],
        series: vec![created, paid],
    })
}
