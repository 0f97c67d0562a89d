//! The catalog's part of the admin dashboard (RustBill extension).

use rustbill_proto::internal::system::DashboardPart;
use rustbill_shared::AppResult;
use rustbill_shared::system::{self, Window};
use sqlx::PgPool;

/// products_total, products_active.
pub async fn dashboard(pool: PgPool, _window: Window) -> AppResult<DashboardPart> {
    let (total, active): (i64, i64) =
        sqlx::query_as("select count(*), count(*) filter (where is_active) from products").fetch_one(&pool).await?;
    Ok(DashboardPart {
        counters: vec![system::counter("products_total", total), system::counter("products_active", active)],
        series: Vec::new(),
    })
}
