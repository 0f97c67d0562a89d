//! Exact totals of orders and instances per customer and status, kept by
//! triggers in the writing transaction (migration 0003_counters): a list's total and
//! the dashboard's counters read a few hundred counter rows instead of
//! counting up to a million rows per call.
//!
//! Writers append deltas; `rustbill_shared::counters::run_folder` folds them
//! into the counters a few times a second on every instance. [`total`] sums counters and pending
//! deltas in one statement (one snapshot), so it is exact at any moment,
//! whether or not a fold has run.

use rustbill_shared::AppResult;
use sqlx::PgPool;
use uuid::Uuid;

/// What the counters count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Order,
    Instance,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Order => "order",
            Kind::Instance => "instance",
        }
    }
}

/// The exact number of `kind` rows of `customer` (all customers when
/// `None`) in any of `statuses` (every status when empty).
pub async fn total(pool: &PgPool, kind: Kind, customer: Option<Uuid>, statuses: &[&str]) -> AppResult<i64> {
    // Only the conditions asked for, so each shape gets its own plan (an
    // `$n is null or …` condition would keep the key out of the plan).
    let mut query = sqlx::QueryBuilder::new("select coalesce(sum(n), 0)::bigint from (");
    for (index, table) in ["status_counts", "status_count_deltas"].into_iter().enumerate() {
        if index > 0 {
            query.push(" union all ");
        }
        query.push(format!("select n from {table} where kind = ")).push_bind(kind.name());
        if let Some(customer) = customer {
            query.push(" and customer_id = ").push_bind(customer);
        }
        if !statuses.is_empty() {
            let statuses: Vec<String> = statuses.iter().map(|status| (*status).to_string()).collect();
            query.push(" and status = any(").push_bind(statuses).push(")");
        }
    }
    query.push(") counted");
    Ok(query.build_query_scalar().fetch_one(pool).await?)
}

/// The exact number of `kind` rows per status, all customers.
pub async fn by_status(pool: &PgPool, kind: Kind) -> AppResult<std::collections::HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select status, coalesce(sum(n), 0)::bigint from (
             select status, n from status_counts where kind = $1
             union all
             select status, n from status_count_deltas where kind = $1
         ) counted group by status",
    )
    .bind(kind.name())
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}
