//! The orders service's part of the admin dashboard (RustBill extension):
//! orders by status, instances, unpaid invoices, orders created and paid
//! per day.

use rust_decimal::Decimal;
use rustbill_proto::internal::system::DashboardPart;
use rustbill_shared::AppResult;
use rustbill_shared::system::{self, Window};
use sqlx::PgPool;

use crate::counts::{self, Kind};

/// orders_total, orders_pending_payment (status `pending`),
/// orders_provisioning, orders_active, instances_running,
/// instances_suspended, invoices_unpaid (issued or overdue) and
/// invoices_unpaid_amount (their totals, tax included); series
/// orders_created (by `created_at`) and orders_paid (by `paid_at`).
pub async fn dashboard(pool: PgPool, window: Window) -> AppResult<DashboardPart> {
    // Exact, from the counters the writers keep (see `counts`).
    let orders = counts::by_status(&pool, Kind::Order).await?;
    let instances = counts::by_status(&pool, Kind::Instance).await?;
    let of = |counted: &std::collections::HashMap<String, i64>, status: &str| counted.get(status).copied().unwrap_or(0);
    let total: i64 = orders.values().sum();
    let (pending, provisioning, active) = (of(&orders, "pending"), of(&orders, "provisioning"), of(&orders, "active"));
    let (running, suspended) = (of(&instances, "running"), of(&instances, "suspended"));
    let (unpaid, unpaid_amount): (i64, Decimal) = sqlx::query_as(
        "select count(*), coalesce(sum(total_amount), 0) from invoices where status in ('issued', 'overdue')",
    )
    .fetch_one(&pool)
    .await?;
    let created = system::daily(
        &pool,
        "orders_created",
        // Kept per day by triggers (migration 0003_counters), exact.
        "select day, sum(n)::numeric from (
             select day, n from daily_counts where series = 'orders_created' and day >= ($1 at time zone 'UTC')::date
             union all
             select day, n from daily_count_deltas where series = 'orders_created' and day >= ($1 at time zone 'UTC')::date
         ) counted group by day",
        &window,
    )
    .await?;
    let paid = system::daily(
        &pool,
        "orders_paid",
        "select day, sum(n)::numeric from (
             select day, n from daily_counts where series = 'orders_paid' and day >= ($1 at time zone 'UTC')::date
             union all
             select day, n from daily_count_deltas where series = 'orders_paid' and day >= ($1 at time zone 'UTC')::date
         ) counted group by day",
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
