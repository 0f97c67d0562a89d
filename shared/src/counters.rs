//! Folding of exact counters kept by triggers (the orders schema's order
//! and instance counts and daily series, the payments schema's revenue per
//! day). Writers append deltas in their own transactions; every instance of
//! a service folds them into the counters a few times a second with its
//! schema's `fold_counters()`. Readers add counters and pending deltas in
//! one statement, so a figure is exact whether or not a fold has run; the
//! fold only keeps the deltas few, so reads stay short.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// How often deltas are folded.
pub const FOLD_EVERY: Duration = Duration::from_millis(250);

/// Folds the pending deltas of the pool's schema; how many it moved (0 when
/// another instance is folding at the moment).
pub async fn fold(pool: &PgPool) -> crate::AppResult<i64> {
    Ok(sqlx::query_scalar("select fold_counters()").fetch_one(pool).await?)
}

/// Folds every [`FOLD_EVERY`] until `stop`. Every instance runs it: folds
/// exclude each other (an advisory lock) and any one of them is correct.
pub async fn run_folder(pool: PgPool, stop: CancellationToken) {
    let mut tick = tokio::time::interval(FOLD_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Said once when folding starts failing and once when it works again,
    // not four times a second.
    let mut failing = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match fold(&pool).await {
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "folding the counters failed; figures stay exact, reads get slower until it works");
            }
            Ok(_) if failing => {
                failing = false;
                tracing::info!("folding the counters works again");
            }
            _ => {}
        }
    }
}
