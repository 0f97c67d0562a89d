//! The payments service's part of the admin dashboard (RustBill
//! extension): balances held, revenue and refunds per day.

use rust_decimal::Decimal;
use rustbill_proto::internal::system::DashboardPart;
use rustbill_shared::AppResult;
use rustbill_shared::system::{self, Window};
use sqlx::PgPool;

/// balance_total (every customer's balance); series revenue (payments of
/// orders and invoices that succeeded, through a gateway or from the
/// balance, by the day they were paid; later refunds do not take them out
/// again, they show in `refunds`) and refunds (by the day of the refund).
/// Balance recharges are not revenue: the money counts when the balance is
/// spent on an order or invoice, so it is never counted twice.
pub async fn dashboard(pool: PgPool, window: Window) -> AppResult<DashboardPart> {
    let balance: Decimal =
        sqlx::query_scalar("select coalesce(sum(balance), 0) from balance_accounts").fetch_one(&pool).await?;
    let revenue = system::daily(
        &pool,
        "revenue",
        // The running sums the triggers keep (migration 0003_counters),
        // with the deltas not folded yet: exact, and a few rows per day.
        "select day, sum(amount) from (
             select day, amount from daily_sums where series = 'revenue' and day >= ($1 at time zone 'UTC')::date
             union all
             select day, amount from daily_sum_deltas where series = 'revenue' and day >= ($1 at time zone 'UTC')::date
         ) summed group by day",
        &window,
    )
    .await?;
    let refunds = system::daily(
        &pool,
        "refunds",
        "select (created_at at time zone 'UTC')::date, sum(amount) from refunds where created_at >= $1 group by 1",
        &window,
    )
    .await?;
    Ok(DashboardPart {
        counters: vec![system::money_counter("balance_total", balance)],
        series: vec![revenue, refunds],
    })
}
