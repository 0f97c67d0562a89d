//! Unpaid orders are cancelled after `[orders].payment_timeout_hours`
//! (spec HA guide §4.4), by one instance at a time (leader role
//! `order_timeouts`). Each cancellation publishes `order_cancelled`; a
//! payment that still arrives afterwards is given back (see `consumer`).

use std::time::Duration;

use rustbill_shared::db::ServiceDb;
use rustbill_shared::principal::{Caller, Principal};
use serde_json::json;
use sqlx::{AssertSqlSafe, PgPool};

use crate::events;
use crate::store::{ORDER_COLUMNS, OrderRow};

pub const ROLE: &str = "order_timeouts";
/// Orders cancelled per transaction.
const BATCH: i64 = 200;

/// Cancels every order unpaid for longer than `timeout`; returns how many.
/// Rows are claimed with SKIP LOCKED, so concurrent runs never cancel one
/// order twice and never wait on a payment in progress.
pub async fn cancel_expired(pool: &PgPool, timeout: Duration) -> anyhow::Result<u64> {
    let caller = Caller::new(Principal::Service { name: "orders".into() }, "", "");
    let seconds = timeout.as_secs_f64();
    let mut cancelled = 0;
    loop {
        let mut transaction = pool.begin().await?;
        let rows: Vec<OrderRow> = sqlx::query_as(AssertSqlSafe(format!(
            "with expired as (
                 select customer_id, id from orders
                 where status = 'pending' and created_at < now() - make_interval(secs => $1)
                 order by created_at
                 limit $2
                 for update skip locked)
             update orders o set status = 'cancelled', cancel_reason = 'not paid in time', updated_at = now()
             from expired where o.customer_id = expired.customer_id and o.id = expired.id
             returning {}",
            ORDER_COLUMNS.split(',').map(|column| format!("o.{}", column.trim())).collect::<Vec<_>>().join(", ")
        )))
        .bind(seconds)
        .bind(BATCH)
        .fetch_all(&mut *transaction)
        .await?;
        for order in &rows {
            if order.coupon_kind.is_some() {
                // Never paid: the coupon's use is given back.
                crate::coupons::release(&mut transaction, order.id).await?;
            }
            let mut payload = order.notice();
            payload["reason"] = json!("not paid in time");
            payload["refund"] = serde_json::Value::Null;
            events::publish(&mut transaction, &caller, events::ORDER_CANCELLED, order.id, order.customer_id, payload)
                .await?;
        }
        transaction.commit().await?;
        cancelled += rows.len() as u64;
        if (rows.len() as i64) < BATCH {
            return Ok(cancelled);
        }
    }
}

/// Runs [`cancel_expired`] every `interval` while this instance holds the
/// role, until `shutdown`.
pub async fn run(
    database: ServiceDb,
    timeout: Duration,
    interval: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let campaign =
        database.leader.spawn_campaign(ROLE.to_string(), rustbill_shared::leader::RENEW_INTERVAL, shutdown.clone());
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        if !rustbill_shared::leader::leads(&database.leader, ROLE).await {
            continue;
        }
        match cancel_expired(&database.pool, timeout).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "cancelled unpaid orders"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "order timeout scan failed"),
        }
    }
    campaign.await.ok();
}
