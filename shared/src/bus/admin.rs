//! The admin view of the bus: parked deliveries, queue depth, retention,
//! subscriptions. Exposed to admins over gRPC by the services.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{BusResult, ParkedDelivery, validate_name};

/// Deletes at most this many rows per statement, so retention never holds
/// long locks or builds one huge transaction.
const PURGE_CHUNK: i64 = 5000;

/// The backlog of one consumer.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct QueueDepth {
    pub consumer: String,
    /// Deliveries waiting (including those being handled and those waiting
    /// for a retry).
    pub pending: i64,
    /// Pending deliveries currently claimed by an instance.
    pub in_flight: i64,
    /// Pending deliveries that failed at least once.
    pub retrying: i64,
    pub parked: i64,
    /// Age of the oldest pending delivery, in seconds.
    #[sqlx(rename = "oldest_pending_secs")]
    oldest_pending_secs: Option<f64>,
}

impl QueueDepth {
    /// Age of the oldest pending delivery.
    pub fn oldest_pending_age(&self) -> Option<Duration> {
        self.oldest_pending_secs.map(|seconds| Duration::from_secs_f64(seconds.max(0.0)))
    }
}

/// What [`purge_done`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub deliveries: u64,
    pub events: u64,
}

/// Parked deliveries, most recently parked first; of one consumer or all.
pub async fn list_parked(pool: &PgPool, consumer: Option<&str>, limit: i64) -> BusResult<Vec<ParkedDelivery>> {
    let parked = sqlx::query_as(
        "select d.consumer, d.event_id, e.event_type, e.aggregate_id, e.customer_id, e.source,
                d.attempts, d.last_error, e.created_at, d.parked_at
         from bus.delivery d
         join bus.event_queue e on e.id = d.event_id
         where d.status = 'parked' and ($1::text is null or d.consumer = $1)
         order by d.parked_at desc nulls last, e.seq desc
         limit $2",
    )
    .bind(consumer)
    .bind(limit.clamp(0, 10_000))
    .fetch_all(pool)
    .await?;
    Ok(parked)
}

/// Puts a parked delivery back in the queue with a fresh attempt budget.
/// Returns false when no such parked delivery exists.
pub async fn retry_parked(pool: &PgPool, consumer: &str, event_id: Uuid) -> BusResult<bool> {
    let retried = sqlx::query(
        "update bus.delivery
         set status = 'pending', attempts = 0, next_attempt_at = now(), parked_at = null,
             locked_until = null, locked_by = null
         where consumer = $1 and event_id = $2 and status = 'parked'",
    )
    .bind(consumer)
    .bind(event_id)
    .execute(pool)
    .await?
    .rows_affected()
        > 0;
    if retried {
        tracing::info!(consumer, %event_id, "parked delivery put back in the queue");
    }
    Ok(retried)
}

/// Gives up on a parked delivery for good (marks it done without handling),
/// which unblocks the later events of its aggregate. Returns false when no
/// such parked delivery exists.
pub async fn dismiss_parked(pool: &PgPool, consumer: &str, event_id: Uuid) -> BusResult<bool> {
    let dismissed = sqlx::query(
        "update bus.delivery
         set status = 'done', done_at = now(),
             last_error = left('dismissed by an admin; last error: ' || coalesce(last_error, 'none'), 2048)
         where consumer = $1 and event_id = $2 and status = 'parked'",
    )
    .bind(consumer)
    .bind(event_id)
    .execute(pool)
    .await?
    .rows_affected()
        > 0;
    if dismissed {
        tracing::warn!(consumer, %event_id, "parked delivery dismissed without handling");
    }
    Ok(dismissed)
}

/// The backlog of every consumer that is subscribed or still has
/// deliveries, by name.
pub async fn queue_depth(pool: &PgPool) -> BusResult<Vec<QueueDepth>> {
    let depth = sqlx::query_as(
        "with consumers as (
             select consumer from bus.subscription
             union
             select distinct consumer from bus.delivery where status <> 'done'
         )
         select c.consumer,
                count(d.event_id) filter (where d.status = 'pending') as pending,
                count(d.event_id) filter (where d.status = 'pending' and d.locked_until > now()) as in_flight,
                count(d.event_id) filter (where d.status = 'pending' and d.attempts > 0
                                          and (d.locked_until is null or d.locked_until <= now())) as retrying,
                count(d.event_id) filter (where d.status = 'parked') as parked,
                extract(epoch from now() - min(d.created_at) filter (where d.status = 'pending'))::float8
                    as oldest_pending_secs
         from consumers c
         left join bus.delivery d on d.consumer = c.consumer and d.status <> 'done'
         group by c.consumer
         order by c.consumer",
    )
    .fetch_all(pool)
    .await?;
    Ok(depth)
}

/// Retention: deletes deliveries done more than `older_than` ago, then
/// events older than that with no delivery left (every consumer is done with
/// them, or nobody subscribed). Run it from a singleton job.
pub async fn purge_done(pool: &PgPool, older_than: Duration) -> BusResult<PurgeReport> {
    let seconds = older_than.as_secs_f64();
    let mut report = PurgeReport::default();
    loop {
        let deleted = sqlx::query(
            "delete from bus.delivery
             where (consumer, event_id) in (
                 select consumer, event_id from bus.delivery
                 where status = 'done' and done_at < now() - make_interval(secs => $1)
                 limit $2)",
        )
        .bind(seconds)
        .bind(PURGE_CHUNK)
        .execute(pool)
        .await?
        .rows_affected();
        report.deliveries += deleted;
        if deleted < PURGE_CHUNK as u64 {
            break;
        }
    }
    loop {
        let deleted = sqlx::query(
            "delete from bus.event_queue
             where id in (
                 select e.id from bus.event_queue e
                 where e.created_at < now() - make_interval(secs => $1)
                   and not exists (select 1 from bus.delivery d where d.event_id = e.id)
                 limit $2)",
        )
        .bind(seconds)
        .bind(PURGE_CHUNK)
        .execute(pool)
        .await?
        .rows_affected();
        report.events += deleted;
        if deleted < PURGE_CHUNK as u64 {
            break;
        }
    }
    if report.deliveries > 0 || report.events > 0 {
        tracing::info!(deliveries = report.deliveries, events = report.events, "purged done bus rows");
    }
    Ok(report)
}

/// Replays to `consumer` the events of its subscribed types published since
/// `since` that it has no delivery for (e.g. a consumer added after the
/// fact). They are delivered in `seq` order with the newer ones; an event
/// older than the consumer's done (or purged) deliveries of the same
/// aggregate is handled after them, so handlers must tolerate that. Returns
/// how many deliveries were created.
pub async fn backfill(pool: &PgPool, consumer: &str, since: DateTime<Utc>) -> BusResult<u64> {
    validate_name("consumer name", consumer)?;
    let created = sqlx::query(
        "insert into bus.delivery (consumer, event_id, aggregate_id, event_seq)
         select s.consumer, e.id, e.aggregate_id, e.seq
         from bus.subscription s
         join bus.event_queue e on e.event_type = s.event_type
         where s.consumer = $1 and e.created_at >= $2
         on conflict (consumer, event_id) do nothing",
    )
    .bind(consumer)
    .bind(since)
    .execute(pool)
    .await?
    .rows_affected();
    tracing::info!(consumer, %since, created, "backfilled deliveries");
    Ok(created)
}

/// Stops delivering `event_type` to `consumer` from now on. Deliveries
/// already created stay (handle, park or dismiss them).
pub async fn unsubscribe(pool: &PgPool, consumer: &str, event_type: &str) -> BusResult<bool> {
    let removed = sqlx::query("delete from bus.subscription where consumer = $1 and event_type = $2")
        .bind(consumer)
        .bind(event_type)
        .execute(pool)
        .await?
        .rows_affected()
        > 0;
    if removed {
        tracing::info!(consumer, event_type, "consumer unsubscribed");
    }
    Ok(removed)
}

/// The event types each consumer is subscribed to, as (consumer, event type).
pub async fn subscriptions(pool: &PgPool) -> BusResult<Vec<(String, String)>> {
    let rows = sqlx::query_as("select consumer, event_type from bus.subscription order by consumer, event_type")
        .fetch_all(pool)
        .await?;
    Ok(rows)
}
