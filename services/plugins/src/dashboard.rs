//! The plugins service's part of the admin dashboard (RustBill extension).

use rustbill_proto::internal::system::DashboardPart;
use rustbill_shared::AppResult;
use rustbill_shared::system::{self, Window};
use sqlx::PgPool;

/// plugin_interfaces_enabled, plugin_interfaces_unhealthy (enabled
/// interfaces whose last health check failed; never checked is not
/// unhealthy).
pub async fn dashboard(pool: PgPool, _window: Window) -> AppResult<DashboardPart> {
    let (enabled, unhealthy): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where enabled),
                count(*) filter (where enabled and last_check_at is not null and not is_healthy)
         from plugin_interfaces",
    )
    .fetch_one(&pool)
    .await?;
    Ok(DashboardPart {
        counters: vec![
            system::counter("plugin_interfaces_enabled", enabled),
            system::counter("plugin_interfaces_unhealthy", unhealthy),
        ],
        series: Vec::new(),
    })
}
