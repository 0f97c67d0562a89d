//! Consumers: claiming, handling, retrying and parking deliveries.

use std::future::Future;
use std::ops::AddAssign;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use rand::Rng;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use tracing::Instrument;
use uuid::Uuid;

use super::{BusError, BusResult, CHANNEL, Event, truncate_error, validate_name};

/// Why a handler did not finish its work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Might work later (a service is down, a row is locked): retried with
    /// backoff, parked after `max_attempts`.
    #[error("{0}")]
    Retry(String),
    /// Can never work (malformed payload, unknown reference): parked at once.
    #[error("{0}")]
    Poison(String),
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        Self::Retry(format!("database error: {error}"))
    }
}

impl From<anyhow::Error> for HandlerError {
    fn from(error: anyhow::Error) -> Self {
        Self::Retry(format!("{error:#}"))
    }
}

/// What a consumer does with each event.
///
/// The handler gets the consumer's transaction; the delivery is marked done
/// in that same transaction after the handler returns `Ok`, so its database
/// writes and the done mark commit or roll back together. Effects outside
/// the database may happen more than once (a crash after the external call
/// but before commit): make them idempotent with [`Event::id`] as the key.
/// A handler must return `Ok(())` for event types it does not know.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        event: &'a Event,
        transaction: &'a mut Transaction<'static, Postgres>,
    ) -> BoxFuture<'a, Result<(), HandlerError>>;
}

impl<H: Handler + ?Sized> Handler for Arc<H> {
    fn handle<'a>(
        &'a self,
        event: &'a Event,
        transaction: &'a mut Transaction<'static, Postgres>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        (**self).handle(event, transaction)
    }
}

/// Tuning of a consumer; the defaults suit production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// Deliveries claimed at once (default 16).
    pub batch_size: u32,
    /// Longest wait between polls when no notification arrives (default 1 s).
    pub poll_interval: Duration,
    /// How long a claim is protected from other instances (default 30 s):
    /// the delay before the deliveries of a crashed instance are retried.
    pub lease: Duration,
    /// Attempts before a delivery is parked (default 10).
    pub max_attempts: u32,
    /// First retry delay, doubled each attempt (default 1 s).
    pub backoff_base: Duration,
    /// Longest retry delay (default 5 min).
    pub backoff_cap: Duration,
    /// A handler running longer fails with a retry (default 60 s).
    pub handler_timeout: Duration,
    /// Deliveries of one batch handled at once (default 1). A batch holds
    /// at most one event per aggregate, so each aggregate's events still
    /// run one after the other, in order; only different aggregates overlap.
    pub concurrency: usize,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        Self {
            batch_size: 16,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            max_attempts: 10,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(300),
            handler_timeout: Duration::from_secs(60),
            concurrency: 1,
        }
    }
}

/// Counts of one [`Consumer::drain`] (or of one batch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Deliveries claimed.
    pub claimed: usize,
    /// Handled and marked done.
    pub delivered: usize,
    /// Failed and rescheduled.
    pub failed: usize,
    /// Failed and parked.
    pub parked: usize,
    /// Left for later: the aggregate was busy, the claim was lost to another
    /// instance, or the consumer was stopping.
    pub skipped: usize,
}

impl AddAssign for DrainReport {
    fn add_assign(&mut self, other: Self) {
        self.claimed += other.claimed;
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.parked += other.parked;
        self.skipped += other.skipped;
    }
}

/// The retry delay after the `attempt`-th failure (from 1): exponential from
/// `base`, capped at `cap`, with "equal jitter" (half fixed, half random) so
/// instances retrying together spread out.
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(31);
    let full = base.saturating_mul(1u32 << exponent).min(cap);
    let half = full / 2;
    half + half.mul_f64(rand::rng().random_range(0.0..=1.0))
}

/// One named subscriber of the bus (e.g. `orders.provisioner`). Cheap to
/// clone; every clone, in this process or another, shares the same
/// deliveries.
#[derive(Clone)]
pub struct Consumer {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    pool: PgPool,
    /// Recorded as `handled_by` on the deliveries this consumer finishes.
    instance_id: Option<Uuid>,
    name: String,
    event_types: Vec<String>,
    handler: Arc<dyn Handler>,
    config: ConsumerConfig,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Consumer")
            .field("name", &self.inner.name)
            .field("event_types", &self.inner.event_types)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What became of one claimed delivery.
enum Outcome {
    Delivered,
    Failed,
    Parked,
    Skipped,
}

impl Consumer {
    /// Subscribes consumer `name` to `event_types` (adding to any earlier
    /// subscription; see [`super::unsubscribe`]) and returns a consumer that
    /// handles its deliveries with `handler`. Only events published from now
    /// on are delivered; [`super::backfill`] replays older ones on request.
    pub async fn register<H: Handler>(
        pool: PgPool,
        name: &str,
        event_types: &[&str],
        handler: H,
        config: ConsumerConfig,
    ) -> BusResult<Self> {
        validate_name("consumer name", name)?;
        if event_types.is_empty() {
            return Err(BusError::Invalid(format!("consumer {name} subscribes to no event type")));
        }
        for event_type in event_types {
            validate_name("event type", event_type)?;
        }
        if config.batch_size == 0 || config.max_attempts == 0 {
            return Err(BusError::Invalid("batch_size and max_attempts must be at least 1".into()));
        }
        let event_types: Vec<String> = event_types.iter().map(|event_type| event_type.to_string()).collect();
        let added = sqlx::query(
            "insert into bus.subscription (consumer, event_type)
             select $1, event_type from unnest($2::text[]) as event_type
             on conflict do nothing",
        )
        .bind(name)
        .bind(&event_types)
        .execute(&pool)
        .await?
        .rows_affected();
        if added > 0 {
            tracing::info!(consumer = name, event_types = ?event_types, "consumer subscribed");
        }
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                instance_id: None,
                name: name.to_string(),
                event_types,
                handler: Arc::new(handler),
                config,
            }),
        })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Records `instance_id` (this process's [`crate::leader::InstanceIdentity`])
    /// as `handled_by` on every delivery this consumer finishes.
    #[must_use]
    pub fn on_instance(mut self, instance_id: Uuid) -> Self {
        Arc::make_mut(&mut self.inner).instance_id = Some(instance_id);
        self
    }

    pub fn config(&self) -> &ConsumerConfig {
        &self.inner.config
    }

    /// Handles deliveries until `shutdown` completes: claims batches while
    /// there is work, otherwise waits for a `NOTIFY` of a subscribed event
    /// type or the poll interval, whichever comes first. On shutdown the
    /// event in hand is finished and the rest of the batch released. Database
    /// errors are logged and retried; they never end the loop.
    pub async fn run<S>(self, shutdown: S)
    where
        S: Future<Output = ()> + Send,
    {
        let consumer = self.inner.name.as_str();
        let mut shutdown = std::pin::pin!(shutdown);
        let stop = AtomicBool::new(false);
        let mut listener: Option<PgListener> = None;
        let mut listen_again_at = tokio::time::Instant::now();
        let mut exclude: Vec<Uuid> = Vec::new();
        let mut errors: u32 = 0;
        tracing::info!(consumer, "consumer started");
        loop {
            if listener.is_none() && tokio::time::Instant::now() >= listen_again_at {
                match self.listen().await {
                    Ok(connected) => listener = Some(connected),
                    Err(error) => {
                        tracing::warn!(consumer, %error, "failed to listen for bus notifications; polling only");
                        listen_again_at = tokio::time::Instant::now() + Duration::from_secs(30);
                    }
                }
            }

            let mut stopping = false;
            let result = {
                let batch = self.batch(&mut exclude, &stop);
                let mut batch = std::pin::pin!(batch);
                tokio::select! {
                    result = &mut batch => result,
                    () = &mut shutdown => {
                        // Finish the event in hand, release the rest.
                        stopping = true;
                        stop.store(true, Ordering::Relaxed);
                        batch.await
                    }
                }
            };
            if stopping {
                break;
            }
            let pause = match result {
                Ok(report) if report.claimed > 0 => {
                    errors = 0;
                    continue;
                }
                Ok(_) => {
                    errors = 0;
                    self.inner.config.poll_interval
                }
                Err(error) => {
                    errors = errors.saturating_add(1);
                    tracing::warn!(consumer, %error, errors, "bus batch failed");
                    backoff_delay(errors, self.inner.config.poll_interval, Duration::from_secs(30))
                }
            };
            // Idle: events skipped in this busy spell become eligible again.
            exclude.clear();
            tokio::select! {
                () = &mut shutdown => break,
                () = self.wait_for_notification(&mut listener, pause) => {}
            }
        }
        tracing::info!(consumer, "consumer stopped");
    }

    /// Handles everything deliverable now (including retries that are due,
    /// so with a zero backoff a failing event is retried until parked) and
    /// returns the counts. Tests use it instead of waiting for [`Self::run`].
    pub async fn drain(&self) -> BusResult<DrainReport> {
        let stop = AtomicBool::new(false);
        let mut exclude = Vec::new();
        let mut total = DrainReport::default();
        loop {
            let report = self.batch(&mut exclude, &stop).await?;
            total += report;
            if report.claimed == 0 {
                return Ok(total);
            }
        }
    }

    /// A dedicated connection for `LISTEN`, outside the service pool so it
    /// does not take one of its connections for ever.
    async fn listen(&self) -> sqlx::Result<PgListener> {
        let options = (*self.inner.pool.connect_options()).clone();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.ignore_pool_close_event(true);
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    /// Waits until a subscribed event type is notified, `timeout` passes, or
    /// the listener's connection is lost (notifications may have been missed,
    /// so the caller polls).
    async fn wait_for_notification(&self, listener: &mut Option<PgListener>, timeout: Duration) {
        let Some(connected) = listener.as_mut() else {
            tokio::time::sleep(timeout).await;
            return;
        };
        let deadline = tokio::time::sleep(timeout);
        let mut deadline = std::pin::pin!(deadline);
        let failed = loop {
            tokio::select! {
                () = &mut deadline => break None,
                received = connected.try_recv() => match received {
                    Ok(Some(notification)) => {
                        if self.inner.event_types.iter().any(|event_type| event_type == notification.payload()) {
                            break None;
                        }
                    }
                    // Reconnected; anything sent meanwhile is lost.
                    Ok(None) => break None,
                    Err(error) => break Some(error),
                }
            }
        };
        if let Some(error) = failed {
            tracing::warn!(consumer = %self.inner.name, %error, "bus listener failed; polling only for now");
            *listener = None;
        }
    }

    /// Claims one batch and handles it, event by event.
    async fn batch(&self, exclude: &mut Vec<Uuid>, stop: &AtomicBool) -> BusResult<DrainReport> {
        use futures::StreamExt;
        let token = Uuid::now_v7();
        let events = self.claim(token, exclude).await?;
        let mut report = DrainReport { claimed: events.len(), ..DrainReport::default() };
        // Started in claim order, up to `concurrency` at a time. After a
        // database error or on shutdown nothing more starts; deliveries in
        // hand finish.
        let failed = AtomicBool::new(false);
        // Indices, not references, go through the stream: a closure taking
        // `&Event` would have to be higher-ranked, which `tokio::spawn`'s
        // `Send` check cannot see through.
        let (events_ref, failed_ref) = (&events, &failed);
        let outcomes: Vec<(usize, Option<BusResult<Outcome>>)> = futures::stream::iter(0..events.len())
            .map(|index| {
                let (event, failed) = (&events_ref[index], failed_ref);
                async move {
                    if stop.load(Ordering::Relaxed) || failed.load(Ordering::Relaxed) {
                        return (index, None);
                    }
                    let outcome = self.deliver(token, event).await;
                    if outcome.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    (index, Some(outcome))
                }
            })
            .buffer_unordered(self.inner.config.concurrency.max(1))
            .collect()
            .await;
        let mut give_back = Vec::new();
        let mut error = None;
        for (index, outcome) in outcomes {
            match outcome {
                Some(Ok(Outcome::Delivered)) => report.delivered += 1,
                Some(Ok(Outcome::Failed)) => report.failed += 1,
                Some(Ok(Outcome::Parked)) => report.parked += 1,
                Some(Ok(Outcome::Skipped)) => {
                    report.skipped += 1;
                    exclude.push(events[index].id);
                }
                None => {
                    report.skipped += 1;
                    give_back.push(events[index].id);
                }
                // The database is unwell: give the claim back (its lease
                // would expire anyway) and let the caller retry.
                Some(Err(failure)) => {
                    give_back.push(events[index].id);
                    error.get_or_insert(failure);
                }
            }
        }
        if let Err(release_error) = self.release(token, &give_back).await {
            if error.is_none() {
                return Err(release_error.into());
            }
            tracing::debug!(consumer = %self.inner.name, error = %release_error, "failed to release claims");
        }
        match error {
            Some(failure) => Err(failure),
            None => Ok(report),
        }
    }

    /// Claims up to `batch_size` deliveries: pending, due, not leased, not
    /// excluded, and with no earlier open event of the same aggregate (so at
    /// most one event per aggregate is in flight for this consumer). Counts
    /// the attempt now, so a delivery whose consumer keeps dying is parked
    /// eventually; a delivery still holding an expired lease is one whose
    /// last attempt ended without an outcome, which `last_error` records.
    async fn claim(&self, token: Uuid, exclude: &[Uuid]) -> sqlx::Result<Vec<Event>> {
        let config = &self.inner.config;
        let mut events: Vec<Event> = sqlx::query_as(
            "with candidate as (
                 select d.consumer, d.event_id
                 from bus.delivery d
                 where d.consumer = $1
                   and d.status = 'pending'
                   and d.next_attempt_at <= now()
                   and (d.locked_until is null or d.locked_until <= now())
                   and d.event_id <> all($2)
                   and not exists (
                       select 1 from bus.delivery earlier
                       where earlier.consumer = d.consumer
                         and earlier.aggregate_id = d.aggregate_id
                         and earlier.event_seq < d.event_seq
                         and earlier.status <> 'done')
                 order by d.event_seq
                 limit $3
                 for update of d skip locked
             )
             update bus.delivery d
             set locked_until = now() + make_interval(secs => $4),
                 locked_by = $5,
                 attempts = d.attempts + 1,
                 last_error = case when d.locked_until is not null
                                   then 'lease expired without an outcome (consumer crashed, hung or lost its connection)'
                                   else d.last_error end
             from candidate c, bus.event_queue e
             where d.consumer = c.consumer and d.event_id = c.event_id and e.id = d.event_id
             returning e.id, e.seq, e.event_type, e.aggregate_id, e.customer_id, e.payload, e.source,
                       e.request_id, e.traceparent, e.created_at, d.attempts as attempt",
        )
        .bind(&self.inner.name)
        .bind(exclude)
        .bind(i64::from(config.batch_size))
        .bind(config.lease.as_secs_f64())
        .bind(token)
        .fetch_all(&self.inner.pool)
        .await?;
        events.sort_by_key(|event| event.seq);
        if !events.is_empty() {
            tracing::debug!(consumer = %self.inner.name, claimed = events.len(), "claimed deliveries");
        }
        Ok(events)
    }

    /// Gives claims back untouched (the attempt did not happen).
    async fn release(&self, token: Uuid, event_ids: &[Uuid]) -> sqlx::Result<()> {
        if event_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "update bus.delivery
             set locked_until = null, locked_by = null, attempts = greatest(attempts - 1, 0)
             where consumer = $1 and event_id = any($2) and locked_by = $3 and status = 'pending'",
        )
        .bind(&self.inner.name)
        .bind(event_ids)
        .bind(token)
        .execute(&self.inner.pool)
        .await?;
        Ok(())
    }

    /// Delivers one claimed event in its own transaction.
    async fn deliver(&self, token: Uuid, event: &Event) -> BusResult<Outcome> {
        let consumer = self.inner.name.as_str();
        let config = &self.inner.config;
        let span = tracing::info_span!(
            "bus_delivery",
            otel.name = %format!("{consumer} {}", event.event_type),
            otel.kind = "consumer",
            consumer,
            event_id = %event.id,
            event_type = %event.event_type,
            aggregate_id = %event.aggregate_id,
            attempt = event.attempt,
            handled_by = tracing::field::Empty,
        );
        if let Some(parent) = event.traceparent.as_deref().and_then(crate::telemetry::TraceParent::parse) {
            crate::telemetry::set_parent(&span, &parent);
        }
        if let Some(instance) = self.inner.instance_id {
            span.record("handled_by", tracing::field::display(instance));
        }

        if u32::try_from(event.attempt).unwrap_or(u32::MAX) > config.max_attempts {
            // Only reachable when earlier attempts ended without an outcome.
            let message = format!(
                "gave up after {} attempts: the last ones ended without an outcome \
                 (consumer crashed, hung or lost its connection)",
                config.max_attempts
            );
            return self.record_failure(token, event, &message, true).instrument(span).await;
        }

        let mut transaction = self.inner.pool.begin().await?;
        // Serialise per aggregate, whatever happens to leases. The idle
        // timeout lets the server end this transaction (and free its locks)
        // if this process vanishes without closing its connection.
        let idle_timeout_ms = (config.handler_timeout + Duration::from_secs(30)).as_millis().to_string();
        let locked: bool = sqlx::query_scalar(
            "select pg_try_advisory_xact_lock(hashtext($1), hashtext($2::text))
                    and set_config('idle_in_transaction_session_timeout', $3, true) is not null",
        )
        .bind(consumer)
        .bind(event.aggregate_id)
        .bind(&idle_timeout_ms)
        .fetch_one(&mut *transaction)
        .await?;
        if !locked {
            transaction.rollback().await?;
            self.release(token, &[event.id]).await?;
            span.in_scope(|| tracing::debug!("aggregate busy; delivery left for later"));
            return Ok(Outcome::Skipped);
        }
        // Still ours and still pending? (The lease may have expired and been
        // taken over while earlier events of the batch ran.) This waits for
        // the row lock rather than skipping: another instance's claim query
        // may hold it for a moment (PostgreSQL keeps rows locked by
        // `FOR UPDATE` even when its recheck then rejects them), while any
        // longer holder, a handler, also holds the advisory lock taken above.
        let owned: Option<i32> = sqlx::query_scalar(
            "select 1 from bus.delivery
             where consumer = $1 and event_id = $2 and status = 'pending' and locked_by = $3
             for update",
        )
        .bind(consumer)
        .bind(event.id)
        .bind(token)
        .fetch_optional(&mut *transaction)
        .await?;
        if owned.is_none() {
            transaction.rollback().await?;
            span.in_scope(|| tracing::debug!("claim taken over by another instance; skipped"));
            return Ok(Outcome::Skipped);
        }

        let handled = {
            let handling = AssertUnwindSafe(self.inner.handler.handle(event, &mut transaction)).catch_unwind();
            match tokio::time::timeout(config.handler_timeout, handling).instrument(span.clone()).await {
                Ok(Ok(result)) => result,
                Ok(Err(panic)) => Err(HandlerError::Retry(format!("handler panicked: {}", panic_message(&panic)))),
                Err(_) => Err(HandlerError::Retry(format!(
                    "handler timed out after {} ms",
                    config.handler_timeout.as_millis()
                ))),
            }
        };

        let failure = match handled {
            Ok(()) => match self.mark_done(token, event, transaction).await {
                Ok(()) => {
                    span.in_scope(|| tracing::debug!("event delivered"));
                    return Ok(Outcome::Delivered);
                }
                Err(error) => HandlerError::Retry(format!("failed to commit the delivery: {error}")),
            },
            Err(error) => {
                if let Err(rollback_error) = transaction.rollback().await {
                    // The connection goes back to the pool, which rolls it
                    // back or drops it.
                    span.in_scope(|| tracing::debug!(error = %rollback_error, "rollback failed"));
                }
                error
            }
        };
        let (message, poison) = match &failure {
            HandlerError::Retry(message) => (message.as_str(), false),
            HandlerError::Poison(message) => (message.as_str(), true),
        };
        self.record_failure(token, event, message, poison).instrument(span).await
    }

    async fn mark_done(
        &self,
        token: Uuid,
        event: &Event,
        mut transaction: Transaction<'static, Postgres>,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "update bus.delivery
             set status = 'done', done_at = now(), locked_until = null, locked_by = null, handled_by = $4
             where consumer = $1 and event_id = $2 and locked_by = $3",
        )
        .bind(&self.inner.name)
        .bind(event.id)
        .bind(token)
        .bind(self.inner.instance_id)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await
    }

    /// Records a failed attempt: reschedules with backoff, or parks when the
    /// error is poison or attempts are used up. A no-op when the claim is no
    /// longer ours (another instance took it over after our lease expired).
    async fn record_failure(&self, token: Uuid, event: &Event, message: &str, poison: bool) -> BusResult<Outcome> {
        let config = &self.inner.config;
        let attempt = u32::try_from(event.attempt).unwrap_or(u32::MAX);
        let delay = backoff_delay(attempt, config.backoff_base, config.backoff_cap);
        let message = truncate_error(message);
        let status: Option<String> = sqlx::query_scalar(
            "update bus.delivery
             set status = case when $4 or attempts >= $5 then 'parked' else 'pending' end,
                 parked_at = case when $4 or attempts >= $5 then now() end,
                 last_error = $3,
                 next_attempt_at = now() + make_interval(secs => $6),
                 locked_until = null,
                 locked_by = null
             where consumer = $1 and event_id = $2 and locked_by = $7 and status = 'pending'
             returning status",
        )
        .bind(&self.inner.name)
        .bind(event.id)
        .bind(&message)
        .bind(poison)
        .bind(i32::try_from(config.max_attempts).unwrap_or(i32::MAX))
        .bind(delay.as_secs_f64())
        .bind(token)
        .fetch_optional(&self.inner.pool)
        .await?;
        Ok(match status.as_deref() {
            Some("parked") => {
                tracing::error!(error = %message, "event parked after failing");
                Outcome::Parked
            }
            Some(_) => {
                tracing::warn!(error = %message, retry_in_ms = delay.as_millis() as u64, "event failed; will retry");
                Outcome::Failed
            }
            None => {
                tracing::debug!(error = %message, "event failed but its claim was taken over; not recorded");
                Outcome::Skipped
            }
        })
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(300);
        for attempt in 1..=40 {
            let full = base.saturating_mul(1u32 << (attempt - 1).min(31)).min(cap);
            let delay = backoff_delay(attempt, base, cap);
            assert!(
                delay >= full / 2 && delay <= full,
                "attempt {attempt}: {delay:?} not in [{:?}, {full:?}]",
                full / 2
            );
        }
        assert!(backoff_delay(1, base, cap) <= Duration::from_secs(1));
        assert!(backoff_delay(10, base, cap) >= Duration::from_secs(150));
        assert_eq!(backoff_delay(3, Duration::ZERO, cap), Duration::ZERO);
    }

    #[test]
    fn panic_messages_are_read() {
        let caught = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(panic_message(&caught), "boom 1");
        let caught = std::panic::catch_unwind(|| std::panic::panic_any(7)).unwrap_err();
        assert_eq!(panic_message(&caught), "non-string panic payload");
    }
}
