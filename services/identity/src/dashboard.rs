//! Identity's part of the admin dashboard (RustBill extension): customers.

use rustbill_proto::internal::system::DashboardPart;
use rustbill_shared::AppResult;
use rustbill_shared::system::{self, Window};
use sqlx::PgPool;

/// customers_total, customers_active; series customers_created.
pub async fn dashboard(pool: PgPool, window: Window) -> AppResult<DashboardPart> {
    let (total, active): (i64, i64) =
        sqlx::query_as("select count(*), count(*) filter (where is_active) from customers").fetch_one(&pool).await?;
    let created = system::daily(
        &pool,
        "customers_created",
        "select (created_at at time zone 'UTC')::date, count(*)::numeric from customers
         where created_at >= $1 group by 1",
        &window,
    )
    .await?;
    Ok(DashboardPart {
        counters: vec![system::counter("customers_total", total), system::counter("customers_active", active)],
        series: vec![created],
    })
}
