//! The notify service's part of the admin dashboard (RustBill extension):
//! open tickets, parked deliveries, and parked outbox events (the shared
//! `bus` schema, which every service may read).

use rustbill_proto::internal::system::DashboardPart;
use rustbill_shared::AppResult;
use rustbill_shared::system::{self, Window};
use sqlx::PgPool;

/// tickets_open (pending or processing), deliveries_parked (notifications
/// given up on), events_parked (outbox deliveries of any consumer parked
/// after too many failures).
pub async fn dashboard(pool: PgPool, _window: Window) -> AppResult<DashboardPart> {
    let open: i64 = sqlx::query_scalar("select count(*) from tickets where status not in ('resolved', 'closed')")
        .fetch_one(&pool)
        .await?;
    let deliveries: i64 =
        sqlx::query_scalar("select count(*) from deliveries where status = 'parked'").fetch_one(&pool).await?;
    let events: i64 =
        sqlx::query_scalar("select count(*) from bus.delivery where status = 'parked'").fetch_one(&pool).await?;
    Ok(DashboardPart {
        counters: vec![
            system::counter("tickets_open", open),
            system::counter("deliveries_parked", deliveries),
            system::counter("events_parked", events),
        ],
        series: Vec::new(),
    })
}
